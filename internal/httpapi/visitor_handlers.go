package httpapi

import (
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/routing"
)

// Visitors is what the API needs of the widget's live page views.
type Visitors interface {
	Live(accountID string) []parley.LiveVisitor
	Invite(accountID, pv string, inv parley.Invitation) (parley.Invitation, error)
	Withdraw(p parley.Principal, pv string) error
}

// handleLiveVisitors lists the pages showing the brand's widget now,
// newest first (at most 200): LivePerson's and Zendesk Chat's visitor
// list, from which an agent invites someone to chat.
func (a *API) handleLiveVisitors(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	list := []parley.LiveVisitor{}
	if a.Visitors != nil {
		list = a.Visitors.Live(p.AccountID)
	}
	// Who is on the page, when the chat window knows: the contact's name
	// and email, from this account only.
	for i := range list {
		if v := list[i].Visitor; v != nil {
			c, err := a.store.FindConsumer(r.Context(), p.AccountID, v.ID)
			if parley.ErrorCode(err) == parley.ENOTFOUND {
				list[i].Visitor = nil // erased since
				continue
			} else if err != nil {
				return err
			}
			v.Name, v.Email = c.Name, c.Email
		}
	}
	// A query string may hold an email or a card number: masked as the
	// pages a conversation records are.
	if a.conv.Mask != nil {
		for i := range list {
			var err error
			if list[i].URL, err = a.conv.Mask(r.Context(), p.AccountID, list[i].URL, 2048); err != nil {
				return err
			}
			if list[i].Title, err = a.conv.Mask(r.Context(), p.AccountID, list[i].Title, 200); err != nil {
				return err
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"visitors": list})
	return nil
}

type inviteRequest struct {
	Text string `json:"text"`
}

// handleInviteVisitor puts a person's invitation on a visitor's page: the
// chat window shows it within 10 s, and the conversation the visitor
// starts by answering it is theirs.
func (a *API) handleInviteVisitor(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	if p.Kind != parley.PrincipalUser {
		return parley.Errorf(parley.EFORBIDDEN, "a person invites visitors: the conversation will be theirs")
	}
	var req inviteRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	req.Text = strings.TrimSpace(req.Text)
	if req.Text == "" || utf8.RuneCountInString(req.Text) > parley.MaxInvitationChars {
		return parley.Errorf(parley.EINVALID, "text must have 1 to %d characters", parley.MaxInvitationChars)
	}
	if err := checkName("text", req.Text); err != nil {
		return err
	}
	if a.Visitors == nil {
		return parley.Errorf(parley.ENOTFOUND, "visitor %q is not on the site any more", r.PathValue("pv"))
	}
	if a.Routing != nil && a.Routing.Presence(p.AccountID, p.ID) != routing.Online {
		return parley.Errorf(parley.ECONFLICT, "set yourself online to invite a visitor: the conversation will be yours")
	}
	u, err := a.store.FindUser(r.Context(), p.AccountID, p.ID)
	if err != nil {
		return err
	}
	inv := parley.Invitation{ID: parley.NewID("inv"), Text: req.Text, AgentID: u.ID, AgentName: u.Name, At: time.Now().UTC()}
	if inv.AgentName == "" {
		inv.AgentName = u.Email
	}
	inv, err = a.Visitors.Invite(p.AccountID, r.PathValue("pv"), inv)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, inv)
	return nil
}

// handleWithdrawInvitation takes back the invitation waiting on a
// visitor's page before they answer it (the agent who sent it, a
// supervisor or an admin): the page stops showing it within 10 s.
func (a *API) handleWithdrawInvitation(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	if a.Visitors == nil {
		return parley.Errorf(parley.ENOTFOUND, "no invitation waits on visitor %q", r.PathValue("pv"))
	}
	if err := a.Visitors.Withdraw(p, r.PathValue("pv")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
