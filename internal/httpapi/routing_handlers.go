package httpapi

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/conversation"
	"github.com/parleychat/parley/internal/routing"
)

// handleAccept lets an agent take a waiting conversation from the queue
// (pick-from-queue mode, or ahead of auto-assignment).
func (a *API) handleAccept(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	if p.Kind != parley.PrincipalUser {
		return parley.Errorf(parley.EFORBIDDEN, "only a user can accept a conversation")
	}
	c, err := a.store.ClaimConversation(r.Context(), p.AccountID, r.PathValue("id"), p.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

type transferRequest struct {
	SkillID string `json:"skill_id"`
	AgentID string `json:"agent_id"`
	// Note, when given, is left on the conversation for the next agent
	// (a private note) before it moves.
	Note string `json:"note"`
}

// handleTransfer moves a conversation to another skill's queue or straight
// to a named agent. Its agent or a supervisor may transfer it. Every check
// happens before anything changes: a skill nobody has, or an agent who is
// not online or has no room, is refused and the conversation stays put.
func (a *API) handleTransfer(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req transferRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	if (req.SkillID == "") == (req.AgentID == "") {
		return parley.Errorf(parley.EINVALID, "give skill_id or agent_id, one of them")
	}
	ctx := r.Context()
	c, err := a.store.FindConversation(ctx, p.AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if c.State != parley.StateAssigned && c.State != parley.StateQueued {
		return parley.Errorf(parley.ECONFLICT, "a %s conversation cannot be transferred", c.State)
	}
	if !p.Can(parley.RoleSupervisor) && c.AssigneeID != p.ID {
		return parley.Errorf(parley.EFORBIDDEN, "only its agent or a supervisor may transfer this conversation")
	}
	users, err := a.store.ListUsers(ctx, p.AccountID)
	if err != nil {
		return err
	}
	if strings.TrimSpace(req.Note) != "" {
		m := parley.Message{Type: parley.MessageText, Text: req.Note}
		if err := m.Validate(a.conv.Limits()); err != nil {
			return err
		}
	}
	// addNote runs once every check has passed, just before the move.
	addNote := func() error {
		if strings.TrimSpace(req.Note) == "" {
			return nil
		}
		_, _, err := a.conv.AddNote(ctx, p, conversation.NoteInput{ConversationID: c.ID, Text: "Transfer note: " + req.Note})
		return err
	}
	requeue := parley.Requeue{ExpectAssignee: c.AssigneeID, Reason: "transfer"}
	if req.SkillID != "" {
		skilled := false
		for _, u := range users {
			for _, s := range u.Skills {
				skilled = skilled || (u.Active && s == req.SkillID)
			}
		}
		if !skilled {
			return parley.Errorf(parley.EINVALID, "no active agent has skill %q", req.SkillID)
		}
		requeue.Skill, requeue.ChangeSkill = req.SkillID, true
		if err := addNote(); err != nil {
			return err
		}
		moved, err := a.store.RequeueConversation(ctx, p.AccountID, c.ID, requeue)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, moved)
		return nil
	}
	var target *parley.User
	for _, u := range users {
		if u.ID == req.AgentID {
			target = u
		}
	}
	switch {
	case target == nil:
		return parley.Errorf(parley.ENOTFOUND, "user %q not found", req.AgentID)
	case !target.Active:
		return parley.Errorf(parley.ECONFLICT, "%s is deactivated", target.Name)
	case target.ID == c.AssigneeID:
		return parley.Errorf(parley.ECONFLICT, "the conversation is already %s's", target.Name)
	case a.Routing != nil && a.Routing.Presence(p.AccountID, target.ID) != routing.Online:
		return parley.Errorf(parley.ECONFLICT, "%s is not online", target.Name)
	}
	// The store checks capacity again, atomically; this early check keeps a
	// refused transfer from leaving its note behind.
	load, err := a.store.ListConversations(ctx, p.AccountID, parley.ConversationFilter{State: parley.StateAssigned, AssigneeID: target.ID, Limit: 200})
	if err != nil {
		return err
	}
	if len(load) >= target.MaxConcurrent {
		return parley.Errorf(parley.ECONFLICT, "%s has no room (%d of %d conversations)", target.Name, len(load), target.MaxConcurrent)
	}
	if err := addNote(); err != nil {
		return err
	}
	// One transaction: no router can take it between leaving one agent and
	// reaching the other.
	moved, err := a.store.ReassignConversation(ctx, p.AccountID, c.ID, c.AssigneeID, target.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, moved)
	return nil
}

type csatRequest struct {
	Score   int    `json:"score"`
	Comment string `json:"comment"`
}

// handleCSAT takes the visitor's answer to the post-conversation survey.
func (a *API) handleCSAT(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req csatRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	if err := a.conv.Rate(r.Context(), p, r.PathValue("id"), req.Score, req.Comment); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// TeamMember is what every agent may know of a colleague: enough to
// transfer to them.
type TeamMember struct {
	ID       string           `json:"id"`
	Name     string           `json:"name"`
	Role     parley.Role      `json:"role"`
	Skills   []string         `json:"skills"`
	Presence routing.Presence `json:"presence"`
}

// handleTeam lists the account's active users with their presence.
func (a *API) handleTeam(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	users, err := a.store.ListUsers(r.Context(), p.AccountID)
	if err != nil {
		return err
	}
	team := []TeamMember{}
	for _, u := range users {
		if !u.Active {
			continue
		}
		pr := routing.Offline
		if a.Routing != nil {
			pr = a.Routing.Presence(p.AccountID, u.ID)
		}
		team = append(team, TeamMember{ID: u.ID, Name: u.Name, Role: u.Role, Skills: u.Skills, Presence: pr})
	}
	writeJSON(w, http.StatusOK, map[string]any{"team": team})
	return nil
}

type noteRequest struct {
	Text     string   `json:"text"`
	Mentions []string `json:"mentions"` // user IDs of colleagues the note calls on
	// ClientID makes a retried request safe: the note already written
	// with it is answered (200) instead of a second one (201).
	ClientID string `json:"client_id"`
}

func (a *API) handleListNotes(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	if _, err := a.conv.Get(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	notes, err := a.store.ListNotes(r.Context(), p.AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"notes": notes})
	return nil
}

func (a *API) handleAddNote(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req noteRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	n, dup, err := a.conv.AddNote(r.Context(), p, conversation.NoteInput{ConversationID: r.PathValue("id"), Text: req.Text, Mentions: req.Mentions, ClientID: req.ClientID})
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if dup {
		status = http.StatusOK
	}
	writeJSON(w, status, n)
	return nil
}

var shortcutPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

type cannedRequest struct {
	Shortcut string `json:"shortcut"`
	Text     string `json:"text"`
}

func (a *API) handleListCanned(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	list, err := a.store.ListCannedResponses(r.Context(), p.AccountID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"canned_responses": list})
	return nil
}

// check validates a canned response as given.
func (req cannedRequest) check(limits parley.MessageLimits) error {
	if !shortcutPattern.MatchString(req.Shortcut) {
		return parley.Errorf(parley.EINVALID, "shortcut must be 1-40 of a-z, 0-9, _ and -, like \"hours\"")
	}
	m := parley.Message{Type: parley.MessageText, Text: req.Text}
	return m.Validate(limits)
}

func (a *API) handleCreateCanned(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req cannedRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	if err := req.check(a.conv.Limits()); err != nil {
		return err
	}
	c := &parley.CannedResponse{AccountID: p.AccountID, Shortcut: req.Shortcut, Text: req.Text}
	if err := a.store.CreateCannedResponse(r.Context(), c); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

// handleUpdateCanned replaces a canned response's shortcut and text.
func (a *API) handleUpdateCanned(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req cannedRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	if err := req.check(a.conv.Limits()); err != nil {
		return err
	}
	c := &parley.CannedResponse{ID: r.PathValue("id"), AccountID: p.AccountID, Shortcut: req.Shortcut, Text: req.Text}
	if err := a.store.UpdateCannedResponse(r.Context(), c); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (a *API) handleDeleteCanned(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	if err := a.store.DeleteCannedResponse(r.Context(), p.AccountID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// QueueStat is one queue's live state.
type QueueStat struct {
	SkillID            string `json:"skill_id"`
	SkillName          string `json:"skill_name"`
	Depth              int    `json:"depth"`
	LongestWaitSeconds int64  `json:"longest_wait_seconds"`
	// ExpectedWaitSeconds is how long a visitor joining the queue now may
	// wait, at the pace it was served in the last hour (docs/widget.md,
	// Place in line); absent when there is too little to tell.
	ExpectedWaitSeconds int64 `json:"expected_wait_seconds,omitempty"`
}

// AgentStat is one agent's live state.
type AgentStat struct {
	TeamMember
	Load int `json:"load"`
	Max  int `json:"max_concurrent"`
	// Reason and StatusSince: their away reason, and since when they have
	// had this presence, as their recorded status says (docs/routing.md,
	// Agent status).
	Reason      string     `json:"reason,omitempty"`
	Cause       string     `json:"cause,omitempty"`
	StatusSince *time.Time `json:"status_since,omitempty"`
	// Overdue counts their conversations whose visitor has waited on a
	// reply past the account's reply target.
	Overdue int `json:"overdue"`
}

// handleOverview is the supervisor's live picture: queue depth and longest
// wait per skill, agents with presence and load.
func (a *API) handleOverview(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	ctx := r.Context()
	skills, err := a.store.ListSkills(ctx, p.AccountID)
	if err != nil {
		return err
	}
	names := map[string]string{"": "General"}
	for _, s := range skills {
		names[s.ID] = s.Name
	}
	queues := map[string]*QueueStat{}
	now := time.Now()
	load := map[string]int{}
	for _, state := range []parley.ConversationState{parley.StateQueued, parley.StateAssigned} {
		err := a.eachConversation(ctx, p.AccountID, parley.ConversationFilter{State: state}, func(c *parley.Conversation) error {
			if state == parley.StateAssigned {
				load[c.AssigneeID]++
				return nil
			}
			q := queues[c.Skill]
			if q == nil {
				q = &QueueStat{SkillID: c.Skill, SkillName: names[c.Skill]}
				queues[c.Skill] = q
			}
			q.Depth++
			if c.QueuedAt != nil {
				if wait := int64(now.Sub(*c.QueuedAt).Seconds()); wait > q.LongestWaitSeconds {
					q.LongestWaitSeconds = wait
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	users, err := a.store.ListUsers(ctx, p.AccountID)
	if err != nil {
		return err
	}
	acc, err := a.store.FindAccount(ctx, p.AccountID)
	if err != nil {
		return err
	}
	overdue, err := conversation.Overdue(ctx, a.store, p.AccountID, acc.Settings, now)
	if err != nil {
		return err
	}
	late := map[string]int{}
	for c := range overdue {
		late[c.AssigneeID]++
	}
	spans, err := a.store.AgentStatuses(ctx, p.AccountID, time.Time{}, time.Time{})
	if err != nil {
		return err
	}
	current := map[string]*parley.AgentStatus{}
	for _, s := range spans {
		current[s.UserID] = s
	}
	agents := []AgentStat{}
	for _, u := range users {
		if !u.Active {
			continue
		}
		pr := routing.Offline
		if a.Routing != nil {
			pr = a.Routing.Presence(p.AccountID, u.ID)
		}
		st := AgentStat{TeamMember: TeamMember{ID: u.ID, Name: u.Name, Role: u.Role, Skills: u.Skills, Presence: pr}, Load: load[u.ID], Max: u.MaxConcurrent, Overdue: late[u.ID]}
		if c := current[u.ID]; c != nil && c.Status == string(pr) {
			st.Reason, st.Cause, st.StatusSince = c.Reason, c.Cause, &c.Since
		}
		agents = append(agents, st)
	}
	qs := []*QueueStat{}
	for _, q := range queues {
		if a.Routing != nil {
			wait, err := a.Routing.ExpectedWait(ctx, p.AccountID, q.SkillID, q.Depth+1)
			if err != nil {
				return err
			}
			q.ExpectedWaitSeconds = int64((wait + time.Second - 1) / time.Second)
		}
		qs = append(qs, q)
	}
	sort.Slice(qs, func(i, j int) bool { return qs[i].LongestWaitSeconds > qs[j].LongestWaitSeconds })
	writeJSON(w, http.StatusOK, map[string]any{"queues": qs, "agents": agents})
	return nil
}

// statusRequest sets someone's status.
type statusRequest struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// handleSetUserStatus lets a supervisor set a colleague's status — Offline
// for an agent who left Online at the end of a shift, which also puts
// their conversations back in the queue. Their consoles are told and show
// who did it (docs/routing.md, Agent status).
func (a *API) handleSetUserStatus(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req statusRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	if a.Routing == nil {
		return parley.Errorf(parley.EUNAVAILABLE, "routing is not running")
	}
	u, err := a.store.FindUser(r.Context(), p.AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if !u.Active {
		return parley.Errorf(parley.ECONFLICT, "%s is deactivated", u.Name)
	}
	if err := a.Routing.SetStatus(r.Context(), p.AccountID, u.ID, routing.Presence(req.Status), req.Reason, parley.CauseSupervisor, p.ID); err != nil {
		return err
	}
	spans, err := a.store.AgentStatuses(r.Context(), p.AccountID, time.Time{}, time.Time{})
	if err != nil {
		return err
	}
	for _, s := range spans {
		if s.UserID == u.ID {
			writeJSON(w, http.StatusOK, statusSpan{AgentStatus: s, Name: u.Name})
			return nil
		}
	}
	// Never online, and set offline: nothing to record.
	writeJSON(w, http.StatusOK, statusSpan{AgentStatus: &parley.AgentStatus{UserID: u.ID, Status: parley.StatusOffline, Cause: parley.CauseSupervisor}, Name: u.Name})
	return nil
}
