// Package automation runs brands' triage rules (parley.AutomationRule):
// when a conversation opens, a visitor writes, someone records the
// conversation's details or the visitor rates it, the rules whose
// conditions hold label it, raise its priority, route it to a skill,
// answer the visitor or call a colleague in (docs/routing.md, Automation
// rules).
//
// The node that stored an event runs the rules for it (the bus's local
// delivery), off the message path, in the order of each conversation's
// events. Every action is idempotent — a label already there, the same
// priority, the skill it is in, a message whose client ID the store has
// seen — so running a rule twice changes nothing more.
package automation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/sentiment"
)

// By names the automation as the author of what its rules change.
const By = "automation"

// Runner checks and applies the rules.
type Runner struct {
	store parley.Store
	log   *slog.Logger
	work  []chan *parley.Event

	mu    sync.Mutex
	rules map[string]*compiled // account ID → its rules, compiled
	// forgotten counts Forget calls: rules read from the store while one
	// happened may be the old ones, and are not kept.
	forgotten uint64

	// Available, when set, says whether a user is online with the router:
	// assign_agent gives a conversation only to someone at their desk.
	Available func(accountID, userID string) bool
	// Applied, when set, is told of each rule that matched (metrics).
	Applied func(accountID, rule string)
	now     func() time.Time
}

// compiled is an account's rules with their patterns compiled.
type compiled struct {
	rules    []parley.AutomationRule
	patterns map[string]*regexp.Regexp
	on       map[string]bool // the events some enabled rule runs on
	hours    *parley.BusinessHours
	// byHours: some rule asks about business hours, which for a
	// conversation waiting for a skill with its own are the skill's.
	byHours bool
}

// New returns a runner; feed it with OnEvent (local events) and Forget
// (every node's account.updated), and start Run.
func New(store parley.Store, log *slog.Logger) *Runner {
	r := &Runner{store: store, log: log, rules: map[string]*compiled{}, now: time.Now}
	for range 4 {
		r.work = append(r.work, make(chan *parley.Event, 1024))
	}
	return r
}

var fromConsumer = []byte(`"sender_kind":"consumer"`)

// OnEvent queues the events rules run on; it never blocks the bus. A full
// queue skips the rules of that event (logged), never the event.
func (r *Runner) OnEvent(e *parley.Event) {
	if e.Type == parley.EventAccountUpdated {
		r.Forget(e)
		return
	}
	on := ruleEvent(e)
	if on == "" {
		return
	}
	// An account known to have no rule for this event: nothing to queue
	// (most accounts, most messages).
	r.mu.Lock()
	c := r.rules[e.AccountID]
	r.mu.Unlock()
	if c != nil && !c.on[on] {
		return
	}
	h := fnv.New32a()
	h.Write([]byte(e.ConversationID))
	select {
	case r.work[h.Sum32()%uint32(len(r.work))] <- e:
	default:
		r.log.Warn("automation skipped: queue full", "conversation", e.ConversationID)
	}
}

// ruleEvent is the rules' event e sets off, "" when none.
func ruleEvent(e *parley.Event) string {
	switch e.Type {
	case parley.EventConversationOpened:
		return parley.RuleOnConversationOpened
	case parley.EventMessageCreated:
		if bytes.Contains(e.Data, fromConsumer) {
			return parley.RuleOnVisitorMessage
		}
	case parley.EventConversationFields:
		return parley.RuleOnFieldsChanged
	case parley.EventCSATSubmitted:
		return parley.RuleOnConversationRated
	case parley.EventConversationClosed:
		return parley.RuleOnConversationClosed
	case parley.EventConversationAssigned:
		return parley.RuleOnConversationAssigned
	case parley.EventReplyOverdue:
		return parley.RuleOnReplyOverdue
	}
	return ""
}

// Forget drops an account's compiled rules when its settings change (on
// any node).
func (r *Runner) Forget(e *parley.Event) {
	if e.Type != parley.EventAccountUpdated {
		return
	}
	r.mu.Lock()
	delete(r.rules, e.AccountID)
	r.forgotten++
	r.mu.Unlock()
}

// Run applies rules until ctx ends, one goroutine per queue.
func (r *Runner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, q := range r.work {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case e := <-q:
					if err := r.handle(ctx, e); err != nil && ctx.Err() == nil {
						r.log.Warn("automation failed", "conversation", e.ConversationID, "err", err)
					}
				}
			}
		}()
	}
	wg.Wait()
}

// rulesOf returns the account's compiled rules (cached until Forget).
func (r *Runner) rulesOf(ctx context.Context, accountID string) (*compiled, error) {
	r.mu.Lock()
	c := r.rules[accountID]
	gen := r.forgotten
	r.mu.Unlock()
	if c != nil {
		return c, nil
	}
	acc, err := r.store.FindAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	c = &compiled{rules: acc.Settings.AutomationRules, patterns: map[string]*regexp.Regexp{}, on: map[string]bool{}, hours: acc.Settings.BusinessHours}
	for _, rule := range c.rules {
		if !rule.Disabled {
			c.on[rule.Event] = true
		}
		rule.EachCondition(func(cond parley.RuleCondition) {
			c.byHours = c.byHours || cond.Field == parley.RuleFieldHours
			if cond.Operator == parley.RuleMatches {
				if re, err := regexp.Compile("(?i)" + cond.Value); err == nil {
					c.patterns[cond.Value] = re
				}
			}
		})
	}
	r.mu.Lock()
	if r.forgotten == gen {
		r.rules[accountID] = c
	}
	r.mu.Unlock()
	return c, nil
}

// facts are what conditions read: the conversation, its visitor and, for
// a message, its text.
type facts struct {
	conv     *parley.Conversation
	consumer *parley.Consumer
	message  string
	mood     sentiment.Mood // how the message sounds
	// rating is what the visitor's rating said (conversation_rated), as
	// its event has it: the conversation may have moved on (a comment
	// added) by the time the rules run.
	rating struct {
		Score   int    `json:"score"`
		Comment string `json:"comment"`
	}
	open bool // within the business hours of the conversation's skill, or the account's (no hours: always)
	// agent is who the conversation is assigned to: as the assignment's
	// event says (conversation_assigned), else as it is now.
	agent string
}

func (f facts) get(field string) string {
	switch field {
	case parley.RuleFieldMessage:
		return f.message
	case parley.RuleFieldSentiment:
		return string(f.mood)
	case parley.RuleFieldName:
		return f.consumer.Name
	case parley.RuleFieldEmail:
		return f.consumer.Email
	case parley.RuleFieldExternalID:
		return f.consumer.ExternalID
	case parley.RuleFieldChannel:
		return f.conv.Channel
	case parley.RuleFieldHours:
		if f.open {
			return "open"
		}
		return "closed"
	case parley.RuleFieldRating:
		if f.rating.Score == 0 {
			return ""
		}
		return strconv.Itoa(f.rating.Score)
	case parley.RuleFieldComment:
		return f.rating.Comment
	case parley.RuleFieldClose:
		return f.conv.CloseReason
	case parley.RuleFieldAgent:
		return f.agent
	case parley.RuleFieldPriority:
		return strconv.Itoa(f.conv.Priority)
	}
	if name, ok := strings.CutPrefix(field, parley.RuleFieldAttribute); ok {
		return f.consumer.Attributes[name]
	}
	if key, ok := strings.CutPrefix(field, parley.RuleFieldConversation); ok {
		return f.conv.Fields[key]
	}
	return ""
}

// holds says whether one condition holds; comparisons ignore case.
func (c *compiled) holds(cond parley.RuleCondition, f facts) bool {
	have := strings.ToLower(f.get(cond.Field))
	want := strings.ToLower(cond.Value)
	switch cond.Operator {
	case parley.RuleContains:
		return strings.Contains(have, want)
	case parley.RuleNotContains:
		return !strings.Contains(have, want)
	case parley.RuleEquals:
		return have == want
	case parley.RuleNotEquals:
		return have != want
	case parley.RuleMatches:
		re := c.patterns[cond.Value]
		return re != nil && re.MatchString(f.get(cond.Field))
	case parley.RuleIsSet:
		return have != ""
	case parley.RuleIsNotSet:
		return have == ""
	case parley.RuleAtMost, parley.RuleAtLeast:
		n, err1 := strconv.ParseFloat(strings.TrimSpace(have), 64)
		limit, err2 := strconv.ParseFloat(strings.TrimSpace(want), 64)
		if err1 != nil || err2 != nil {
			return false
		}
		return cond.Operator == parley.RuleAtMost && n <= limit || cond.Operator == parley.RuleAtLeast && n >= limit
	}
	return false
}

// matches says whether the rule's conditions hold for the facts: every
// one, or with match "any" at least one; and, when it has any_conditions,
// at least one of those too. A rule without conditions always matches.
func (c *compiled) matches(rule parley.AutomationRule, f facts) bool {
	if len(rule.AnyConditions) > 0 && !c.hold(rule.AnyConditions, true, f) {
		return false
	}
	return c.hold(rule.Conditions, rule.Match == parley.RuleMatchAny, f)
}

// hold says whether every one of conds holds (or with anyOf, at least
// one); none is true.
func (c *compiled) hold(conds []parley.RuleCondition, anyOf bool, f facts) bool {
	if len(conds) == 0 {
		return true
	}
	for _, cond := range conds {
		if c.holds(cond, f) == anyOf {
			return anyOf // the first that holds (any), or fails (all), decides
		}
	}
	return !anyOf
}

func (r *Runner) handle(ctx context.Context, e *parley.Event) error {
	rules, err := r.rulesOf(ctx, e.AccountID)
	if err != nil {
		return err
	}
	on := ruleEvent(e)
	var wanted []parley.AutomationRule
	for _, rule := range rules.rules {
		if rule.Event == on && !rule.Disabled {
			wanted = append(wanted, rule)
		}
	}
	if len(wanted) == 0 {
		return nil // most accounts, most events: no read at all
	}
	conv, err := r.store.FindConversation(ctx, e.AccountID, e.ConversationID)
	if err != nil {
		return err
	}
	consumer, err := r.store.FindConsumer(ctx, e.AccountID, conv.ConsumerID)
	if err != nil {
		return err
	}
	hours := rules.hours
	if rules.byHours && conv.Skill != "" {
		skills, err := r.store.ListSkills(ctx, e.AccountID)
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(skills, func(s *parley.Skill) bool { return s.ID == conv.Skill }); i >= 0 {
			hours = parley.HoursOf(hours, skills[i])
		}
	}
	f := facts{conv: conv, consumer: consumer, open: hours.Open(r.now()), agent: conv.AssigneeID}
	if on == parley.RuleOnConversationAssigned {
		var assigned parley.Conversation
		if err := json.Unmarshal(e.Data, &assigned); err != nil {
			return err
		}
		f.agent = assigned.AssigneeID
	}
	if on == parley.RuleOnVisitorMessage {
		var m parley.Message
		if err := json.Unmarshal(e.Data, &m); err != nil {
			return err
		}
		if m.Type != parley.MessageText {
			return nil
		}
		f.message, f.mood = m.Text, sentiment.Of(sentiment.Score(m.Text))
	}
	if on == parley.RuleOnConversationRated {
		if err := json.Unmarshal(e.Data, &f.rating); err != nil {
			return err
		}
	}
	for _, rule := range wanted {
		if !rules.matches(rule, f) {
			continue
		}
		applied := parley.AutomationApplied{Rule: rule.Name, On: on, EventSeq: e.Seq}
		for _, a := range rule.Actions {
			outcome, err := r.act(ctx, conv, consumer.Name, rule, a, f)
			if err != nil {
				outcome = "failed: " + parley.ErrorMessage(err)
			}
			applied.Actions = append(applied.Actions, a.Type+" "+a.Value+": "+outcome)
			if c, err := r.store.FindConversation(ctx, e.AccountID, conv.ID); err == nil {
				conv = c // the next action sees what this one did
				f.conv = c
			}
		}
		data, _ := json.Marshal(applied)
		if err := r.store.AppendEvent(ctx, &parley.Event{AccountID: e.AccountID, Type: parley.EventAutomationApplied, ConversationID: conv.ID, Data: data}); err != nil {
			return err
		}
		if r.Applied != nil {
			r.Applied(e.AccountID, rule.Name)
		}
	}
	return nil
}

// act does one action and says what came of it.
func (r *Runner) act(ctx context.Context, conv *parley.Conversation, visitor string, rule parley.AutomationRule, a parley.RuleAction, f facts) (string, error) {
	if conv.State == parley.StateClosed && a.Type != parley.RuleAddLabel && a.Type != parley.RuleNotify {
		return "skipped: the conversation is closed", nil
	}
	switch a.Type {
	case parley.RuleNotify:
		return r.notify(ctx, conv, rule, a.Value, f)
	case parley.RuleAddLabel:
		if slices.Contains(conv.Labels, a.Value) {
			return "unchanged", nil
		}
		acc, err := r.store.FindAccount(ctx, conv.AccountID)
		if err != nil {
			return "", err
		}
		labels, err := parley.ConversationLabels(acc.Settings.Labels, append(slices.Clone(conv.Labels), a.Value))
		if err != nil {
			return "", err
		}
		_, err = r.store.LabelConversation(ctx, conv.AccountID, conv.ID, labels, By)
		return "done", err
	case parley.RuleSetPriority:
		p, _ := strconv.Atoi(a.Value)
		if conv.Priority == p {
			return "unchanged", nil
		}
		_, err := r.store.SetPriority(ctx, conv.AccountID, conv.ID, p, By)
		return "done", err
	case parley.RuleSetSkill:
		switch {
		case conv.State == parley.StateAssigned:
			return "skipped: a person has it", nil
		case conv.State == parley.StateQueued && conv.Skill == a.Value:
			return "unchanged", nil
		}
		// Queued: it moves to that skill's queue, keeping its place in
		// time. With the bot: the bot steps back and people with that
		// skill take it — what a brand routing "refund" to billing means.
		_, err := r.store.RequeueConversation(ctx, conv.AccountID, conv.ID, parley.Requeue{Skill: a.Value, ChangeSkill: true, Reason: By})
		return "done", err
	case parley.RuleAssignAgent:
		switch {
		case conv.State == parley.StateAssigned && conv.AssigneeID == a.Value:
			return "unchanged", nil
		case conv.State == parley.StateAssigned:
			return "skipped: a person has it", nil
		case conv.State == parley.StateBot:
			return "skipped: with the bot (set_skill hands it to people)", nil
		case r.Available != nil && !r.Available(conv.AccountID, a.Value):
			return "skipped: not online; it waits in the queue", nil
		}
		// The store's claim checks they are active and have room, in the
		// same transaction as the assignment.
		_, err := r.store.ClaimConversation(ctx, conv.AccountID, conv.ID, a.Value)
		if parley.ErrorCode(err) == parley.ECONFLICT {
			return "skipped: " + parley.ErrorMessage(err), nil
		}
		return "done", err
	case parley.RuleClose:
		reason := a.Value
		if reason == "" {
			reason = "resolved"
		}
		_, err := r.store.CloseConversation(ctx, conv.AccountID, conv.ID, parley.ConversationClose{Reason: reason, ClosedBy: By})
		return "done", err
	case parley.RuleSendMessage:
		// The agent's placeholders name the person the conversation is
		// assigned to; none (or one since removed): their fallbacks.
		agent := ""
		if conv.AssigneeID != "" {
			if u, err := r.store.FindUser(ctx, conv.AccountID, conv.AssigneeID); err == nil {
				agent = u.Name
			}
		}
		// Once per conversation and rule: the client ID says which.
		_, dup, err := r.store.AppendMessage(ctx, &parley.Message{AccountID: conv.AccountID, ConversationID: conv.ID,
			SenderKind: parley.SenderSystem, ClientID: fmt.Sprintf("rule:%x", fnv64(rule.Name)), Type: parley.MessageText,
			Text: parley.FillPlaceholders(a.Value, parley.Placeholders(visitor, agent))})
		if dup {
			return "unchanged: sent before", err
		}
		return "done", err
	}
	return "", parley.Errorf(parley.EINVALID, "unknown action %q", a.Type)
}

// notify writes a private note on the conversation that mentions the
// user — who is told at once in the console, finds it under Mentions,
// and gets it by email while away (docs/email.md) — saying which rule and
// what set it off. Once per conversation and rule: a rating and the
// comment added to it later, or a second upset message, call on them
// once.
func (r *Runner) notify(ctx context.Context, conv *parley.Conversation, rule parley.AutomationRule, userID string, f facts) (string, error) {
	author := "Rule “" + rule.Name + "”"
	notes, err := r.store.ListNotes(ctx, conv.AccountID, conv.ID)
	if err != nil {
		return "", err
	}
	for _, n := range notes {
		if n.AuthorID == By && n.AuthorName == author && slices.Contains(n.Mentions, userID) {
			return "unchanged: notified before", nil
		}
	}
	u, err := r.store.FindUser(ctx, conv.AccountID, userID)
	if parley.ErrorCode(err) == parley.ENOTFOUND || err == nil && !u.Active {
		return "skipped: not an active user", nil
	} else if err != nil {
		return "", err
	}
	what := "a conversation opened"
	switch rule.Event {
	case parley.RuleOnVisitorMessage:
		what = "the visitor wrote “" + cut(f.message, 300) + "”"
	case parley.RuleOnFieldsChanged:
		what = "its details were recorded"
	case parley.RuleOnConversationClosed:
		what = "it was closed"
		if conv.CloseReason != "" {
			what += " (" + cut(conv.CloseReason, 200) + ")"
		}
	case parley.RuleOnConversationRated:
		what = fmt.Sprintf("rated %d of 5", f.rating.Score)
		if f.rating.Comment != "" {
			what += ": “" + cut(f.rating.Comment, 300) + "”"
		}
	}
	text := fmt.Sprintf("@%s: %s (%s).", u.Name, what, author)
	_, err = r.store.AddNote(ctx, &parley.Note{AccountID: conv.AccountID, ConversationID: conv.ID, AuthorID: By, AuthorName: author, Text: text, Mentions: []string{userID}})
	return "done", err
}

// cut shortens text to n characters.
func cut(text string, n int) string {
	if r := []rune(text); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return text
}

func fnv64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}
