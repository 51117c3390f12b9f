package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/conversation"
)

type macroRequest struct {
	Name string `json:"name"`
	// ClientID makes a retried request safe: a macro that ran to its end
	// with it is answered from its macro.applied record, and one that
	// stopped part way runs again with its messages and notes taking
	// their client IDs from it, so the store drops them the second time.
	ClientID string `json:"client_id"`
}

type macroResult struct {
	Conversation *parley.Conversation `json:"conversation"`
	Steps        []string             `json:"steps"`
	// Replayed: the request repeated one already done (its client ID);
	// nothing ran again, and Steps are what the first one did.
	Replayed bool `json:"replayed"`
}

// macroActivityWindow is how many of a conversation's activity events, the
// first, a retried macro's record (macro.applied) is looked for in. Past
// them a retry runs again, as one that stopped part way does.
const macroActivityWindow = 1000

// handleApplyMacro runs one of the account's macros on a conversation, as
// the agent who applies it: each step is the call the agent would make
// (the same checks: a brand that requires labels refuses a close without
// one), in order. What can be known before the first step is checked
// first, so that the usual refusals change nothing: a label the brand has
// since removed, a close the brand would refuse (no label, a required
// field empty). A step that fails after that stops the macro; the steps
// before it stay, and the error says which step it was.
func (a *API) handleApplyMacro(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req macroRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	if len(req.ClientID) > 100 {
		return parley.Errorf(parley.EINVALID, "client_id has at most 100 bytes")
	}
	ctx := r.Context()
	acc, err := a.store.FindAccount(ctx, p.AccountID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(acc.Settings.Macros, func(m parley.Macro) bool { return strings.EqualFold(m.Name, strings.TrimSpace(req.Name)) })
	if i < 0 {
		return parley.Errorf(parley.ENOTFOUND, "macro %q not found", req.Name)
	}
	macro := acc.Settings.Macros[i]
	c, err := a.conv.Get(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	// A retry of a macro that ran to its end — its answer lost on the
	// way — gets that answer again, even once the macro has closed the
	// conversation; nothing runs twice.
	if done, err := a.macroDone(r, p, c.ID, req.ClientID); err != nil {
		return err
	} else if done != nil {
		writeJSON(w, http.StatusOK, macroResult{Conversation: c, Steps: done.Steps, Replayed: true})
		return nil
	}
	if c.State == parley.StateClosed {
		return parley.Errorf(parley.ECONFLICT, "conversation %q is closed", c.ID)
	}
	if p.Kind == parley.PrincipalUser && !p.Can(parley.RoleSupervisor) && c.AssigneeID != p.ID {
		return parley.Errorf(parley.EFORBIDDEN, "a macro is applied by the conversation's agent or a supervisor")
	}
	clientID := req.ClientID
	if clientID == "" {
		clientID = parley.NewID("mac")
	}
	visitor, err := a.store.FindConsumer(ctx, p.AccountID, c.ConsumerID)
	if err != nil {
		return err
	}
	if err := macroPreflight(macro, acc.Settings, p, c); err != nil {
		return err
	}
	values := parley.Placeholders(visitor.Name, p.Name)
	res := macroResult{Steps: []string{}}
	for j, step := range macro.Steps {
		step.Value = parley.FillPlaceholders(step.Value, values)
		if err := a.macroStep(r, p, c, step, clientID+":"+strconv.Itoa(j)); err != nil {
			return parley.Errorf(parley.ErrorCode(err), "macro %q, step %d (%s): %s", macro.Name, j+1, step.Type, parley.ErrorMessage(err))
		}
		res.Steps = append(res.Steps, step.Type+": done")
		if c, err = a.conv.Get(ctx, p, c.ID); err != nil {
			return err
		}
	}
	res.Conversation = c
	// The record that answers a retry, and the Activity's line. Every
	// step is done by now: a failure to record it is logged, not
	// answered, or the caller would retry what is already done.
	data, _ := json.Marshal(parley.MacroApplied{Macro: macro.Name, By: p.ID, ClientID: clientID, Steps: res.Steps})
	if err := a.store.AppendEvent(ctx, &parley.Event{AccountID: p.AccountID, Type: parley.EventMacroApplied, ConversationID: c.ID, Data: data}); err != nil {
		a.log.Error("macro applied, not recorded", "account", p.AccountID, "conversation", c.ID, "macro", macro.Name, "err", err)
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// macroDone finds the record of a macro applied to the conversation by p
// with clientID, or nil.
func (a *API) macroDone(r *http.Request, p parley.Principal, conversationID, clientID string) (*parley.MacroApplied, error) {
	if clientID == "" {
		return nil, nil
	}
	events, err := a.store.ConversationActivity(r.Context(), p.AccountID, conversationID, macroActivityWindow)
	if err != nil {
		return nil, err
	}
	for _, e := range slices.Backward(events) {
		if e.Type != parley.EventMacroApplied {
			continue
		}
		var done parley.MacroApplied
		if json.Unmarshal(e.Data, &done) == nil && done.ClientID == clientID && done.By == p.ID {
			return &done, nil
		}
	}
	return nil, nil
}

// macroPreflight refuses, before any step runs, a macro whose steps the
// brand's settings would refuse: a label it no longer has, or a close
// without a label it requires or with a required field empty (as the
// conversation will be after the macro's own labels).
func macroPreflight(macro parley.Macro, settings parley.AccountSettings, p parley.Principal, c *parley.Conversation) error {
	labels := slices.Clone(c.Labels)
	for j, step := range macro.Steps {
		refuse := func(err error) error {
			return parley.Errorf(parley.ErrorCode(err), "macro %q, step %d (%s): %s; nothing was done", macro.Name, j+1, step.Type, parley.ErrorMessage(err))
		}
		switch step.Type {
		case parley.RuleAddLabel:
			if _, err := parley.ConversationLabels(settings.Labels, []string{step.Value}); err != nil {
				return refuse(err)
			}
			if !slices.Contains(labels, step.Value) {
				labels = append(labels, step.Value)
			}
		case parley.MacroClose:
			if err := conversation.CloseRefusal(settings, p, labels, c.Fields); err != nil {
				return refuse(err)
			}
		}
	}
	return nil
}

func (a *API) macroStep(r *http.Request, p parley.Principal, c *parley.Conversation, step parley.RuleAction, clientID string) error {
	ctx := r.Context()
	switch step.Type {
	case parley.RuleAddLabel:
		if slices.Contains(c.Labels, step.Value) {
			return nil
		}
		_, err := a.conv.Label(ctx, p, c.ID, append(slices.Clone(c.Labels), step.Value))
		return err
	case parley.RuleSetPriority:
		n, _ := strconv.Atoi(step.Value)
		_, err := a.conv.SetPriority(ctx, p, c.ID, n)
		return err
	case parley.RuleSendMessage:
		_, _, err := a.conv.Send(ctx, p, conversation.SendInput{ConversationID: c.ID, ClientID: clientID, Text: step.Value})
		return err
	case parley.MacroAddNote:
		_, _, err := a.conv.AddNote(ctx, p, conversation.NoteInput{ConversationID: c.ID, Text: step.Value, ClientID: clientID})
		return err
	case parley.MacroClose:
		reason := step.Value
		if reason == "" {
			reason = "resolved"
		}
		_, err := a.conv.Close(ctx, p, c.ID, conversation.CloseInput{Reason: reason})
		return err
	}
	return parley.Errorf(parley.EINVALID, "unknown step %q", step.Type)
}
