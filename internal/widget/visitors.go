package widget

import (
	"encoding/json"
	"net/http"
	"sort"

	"github.com/parleychat/parley"
)

// Live visitors (docs/widget.md): the pages showing the widget now, from
// the tracker's page views, and agents' invitations to their visitors. An
// invitation waits on its page view, on every node of a cluster, until
// the frame's next heartbeat takes it to the page; the visitor's answer
// takes it away (TakeInvitation), as do their dismissal, the staff's
// withdrawal (Withdraw) and its lapse (Config.InvitationFor), which every
// node sees at the same time.

// maxLive bounds the list an agent gets.
const maxLive = 200

// Live lists the account's pages showing the widget now, newest first.
func (h *Handler) Live(accountID string) []parley.LiveVisitor {
	t := h.tracker
	now := t.now()
	out := []parley.LiveVisitor{}
	t.mu.Lock()
	for pv, v := range t.views {
		if v.account != accountID || v.left || now.Sub(v.lastAlive) >= t.cfg.AliveWindow {
			continue
		}
		lv := parley.LiveVisitor{PV: pv, URL: v.url, Title: v.title, Since: v.loaded, Chatting: v.chatting, Declined: v.declined}
		if v.consumer != "" {
			lv.Visitor = &parley.LiveContact{ID: v.consumer}
		}
		if v.invitation != nil && !v.invitation.Lapsed(now) {
			inv := *v.invitation
			lv.Invitation = &inv
		}
		out = append(out, lv)
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Since.Equal(out[j].Since) {
			return out[i].Since.After(out[j].Since)
		}
		return out[i].PV < out[j].PV
	})
	if len(out) > maxLive {
		out = out[:maxLive]
	}
	return out
}

// Invite puts an agent's invitation on a page view still showing the
// widget; the frame shows it at its next heartbeat (10 s at most). It
// returns the invitation with the time it lapses.
func (h *Handler) Invite(accountID, pv string, inv parley.Invitation) (parley.Invitation, error) {
	t := h.tracker
	now := t.now()
	if inv.At.IsZero() {
		inv.At = now
	}
	inv.Until = inv.At.Add(t.cfg.InvitationFor)
	t.mu.Lock()
	v := t.views[pv]
	var err error
	switch {
	case v == nil || v.account != accountID || v.left || now.Sub(v.lastAlive) >= t.cfg.AliveWindow:
		err = parley.Errorf(parley.ENOTFOUND, "visitor %q is not on the site any more", pv)
	case v.chatting:
		err = parley.Errorf(parley.ECONFLICT, "this visitor is in a conversation already")
	case v.invitation != nil && !v.invitation.Lapsed(now):
		err = parley.Errorf(parley.ECONFLICT, "%s invited this visitor already", v.invitation.AgentName)
	default:
		v.invitation, v.declined = &inv, false
	}
	url := ""
	if v != nil {
		url = v.url
	}
	t.mu.Unlock()
	if err != nil {
		return parley.Invitation{}, err
	}
	t.shareBeacon(beacon{Account: accountID, PV: pv, Kind: "invitation", Invitation: &inv})
	t.record(accountID, parley.EventVisitorInvited, map[string]string{"pv": pv, "url": url, "agent_id": inv.AgentID, "invitation": inv.ID})
	return inv, nil
}

// Withdraw takes back the invitation waiting on a page view before the
// visitor answers it: the page stops showing it at its next heartbeat,
// and an answer already on its way opens a conversation the usual way.
// The agent who sent it may, and the brand's supervisors and admins.
func (h *Handler) Withdraw(p parley.Principal, pv string) error {
	may := func(inv *parley.Invitation) error {
		if inv.AgentID != p.ID && !p.Can(parley.RoleSupervisor) {
			return parley.Errorf(parley.EFORBIDDEN, "%s sent this invitation: they, a supervisor or an admin may withdraw it", inv.AgentName)
		}
		return nil
	}
	return h.tracker.withdraw(p.AccountID, pv, "", may, map[string]string{"by": p.ID})
}

// waitingInvitation is the invitation for a page's heartbeat to carry. One
// whose agent is no longer online (away, offline, signed out) is withdrawn
// rather than carried: the visitor would answer someone who is not there.
func (h *Handler) waitingInvitation(accountID, pv string) *parley.Invitation {
	t := h.tracker
	inv := t.pendingInvitation(accountID, pv)
	if inv == nil || h.AgentOnline == nil || h.AgentOnline(accountID, inv.AgentID) {
		return inv
	}
	err := t.withdraw(accountID, pv, inv.ID, nil, map[string]string{"reason": "agent_unavailable"})
	if err != nil && parley.ErrorCode(err) != parley.ENOTFOUND {
		h.log.Warn("widget: withdrawing an invitation", "err", err)
	}
	return nil
}

// withdraw takes the invitation off a page view — only the one with that
// ID when id is set — if may allows it, tells the other nodes and records
// visitor.invitation_withdrawn with the data given besides its own.
func (t *tracker) withdraw(accountID, pv, id string, may func(*parley.Invitation) error, data map[string]string) error {
	now := t.now()
	t.mu.Lock()
	v := t.views[pv]
	var inv *parley.Invitation
	var err error
	switch {
	case v == nil || v.account != accountID || v.invitation == nil || v.invitation.Lapsed(now) || (id != "" && v.invitation.ID != id):
		err = parley.Errorf(parley.ENOTFOUND, "no invitation waits on visitor %q: answered, declined, lapsed or never sent", pv)
	case may != nil:
		err = may(v.invitation)
	}
	if err == nil {
		inv, v.invitation = v.invitation, nil
	}
	url := ""
	if v != nil {
		url = v.url
	}
	t.mu.Unlock()
	if err != nil {
		return err
	}
	t.shareBeacon(beacon{Account: accountID, PV: pv, Kind: "invitation_withdrawn", Detail: inv.ID})
	data["pv"], data["url"], data["invitation"], data["agent_id"] = pv, url, inv.ID, inv.AgentID
	t.record(accountID, parley.EventInvitationWithdrawn, data)
	return nil
}

// TakeInvitation returns the account's invitation with that ID and takes
// it off its page view, or nil when there is none (answered already, or
// the page has gone).
func (h *Handler) TakeInvitation(accountID, id string) *parley.Invitation {
	t := h.tracker
	t.mu.Lock()
	var taken *parley.Invitation
	var pv string
	now := t.now()
	url := ""
	for k, v := range t.views {
		if v.account == accountID && v.invitation != nil && v.invitation.ID == id && !v.invitation.Lapsed(now) {
			taken, pv, url, v.invitation = v.invitation, k, v.url, nil
			break
		}
	}
	t.mu.Unlock()
	if taken != nil {
		t.shareBeacon(beacon{Account: accountID, PV: pv, Kind: "invitation_taken", Detail: id})
		t.record(accountID, parley.EventInvitationAnswered, map[string]string{"pv": pv, "url": url, "invitation": id, "agent_id": taken.AgentID})
	}
	return taken
}

// pendingInvitation is the invitation waiting on a page view, if any.
func (t *tracker) pendingInvitation(accountID, pv string) *parley.Invitation {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if v := t.views[pv]; v != nil && v.account == accountID && v.invitation != nil && !v.invitation.Lapsed(now) {
		inv := *v.invitation
		return &inv
	}
	return nil
}

// shareBeacon passes a beacon this node made to the other nodes.
func (t *tracker) shareBeacon(b beacon) {
	if t.share == nil {
		return
	}
	if raw, err := json.Marshal(b); err == nil {
		t.share(raw)
	}
}

// answerHeartbeat gives the frame the invitation waiting for its page:
// what the visitor sees of it (never the agent's ID); 204 when none
// waits. A frame showing an invitation the answer no longer carries
// takes it away.
func answerHeartbeat(w http.ResponseWriter, inv *parley.Invitation) {
	if inv == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{"invitation": map[string]string{"id": inv.ID, "text": inv.Text, "agent_name": inv.AgentName}})
}
