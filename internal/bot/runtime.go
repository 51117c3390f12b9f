package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/bot/nlu"
)

// Runtime makes each account's bot a participant: it answers visitors in
// conversations that are with the bot, hands off into routing, and keeps
// the compiled brains current.
type Runtime struct {
	store parley.Store
	log   *slog.Logger
	call  Caller
	now   func() time.Time

	mu     sync.Mutex
	brains map[string]*entry // by account
	// canned holds each account's last index of canned responses, for
	// agents' suggestions (CannedIndex).
	canned map[string]*CannedIndex
	// past holds each account's index of past questions, for agents'
	// suggestions (PastReplies).
	past map[string]*pastEntry
	// withPeople holds conversations known to have left the bot (a
	// conversation never returns to it), so their visitors' messages cost
	// no lookup. Bounded: past maxWithPeople it starts afresh.
	withPeople map[string]struct{}
	// work queues per worker: a conversation always goes to the same
	// worker, so its turns run in order.
	work []chan *parley.Event
	// Answered is called after each turn with how long it took from the
	// visitor's message being stored (for metrics; may be nil).
	Answered func(band string, d time.Duration)
	// In a cluster a node may stop for good between a visitor's message
	// and the bot's answer, and no restart recovers the turn: every
	// RecoverEvery (0: only at start) the runtime answers what is still
	// unanswered, leaving alone messages younger than RecoverAfter (their
	// turn may be under way on another node).
	RecoverEvery, RecoverAfter time.Duration
	// Leads, when set, tells whether this node runs those periodic sweeps
	// (one node of a cluster does; see routing.Engine.Leads). The sweep at
	// start runs on every node.
	Leads func() bool
}

type entry struct {
	brain   *Brain // nil: no bot
	version int64
	checked time.Time
}

// recheck is how long a compiled brain is trusted before the stored
// version is compared again (edits through the API apply at once, by
// bot.updated; this catches edits made by `parley bot import` from
// another process).
const recheck = 5 * time.Second

// Caller makes the bot's outbound requests (a flow's webhook step, an
// external bot): a JSON POST of payload signed with secret, with
// webhook-id id, whose JSON reply is decoded into out.
type Caller func(ctx context.Context, url, secret, id string, payload, out any) error

// NewRuntime returns a runtime; call is how outbound requests are made,
// nil to refuse them.
func NewRuntime(store parley.Store, log *slog.Logger, call Caller) *Runtime {
	r := &Runtime{store: store, log: log, call: call, now: time.Now, brains: map[string]*entry{}, withPeople: map[string]struct{}{}}
	for range 4 {
		r.work = append(r.work, make(chan *parley.Event, 4096))
	}
	return r
}

// Run answers visitors until ctx ends.
func (r *Runtime) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, ch := range r.work {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case e := <-ch:
					if err := r.Turn(ctx, e); err != nil && ctx.Err() == nil {
						r.log.Warn("bot turn failed", "account", e.AccountID, "conversation", e.ConversationID, "err", err)
					}
				}
			}
		}()
	}
	catchUp := func() {
		if err := r.recoverBefore(ctx, r.now().Add(-r.RecoverAfter)); err != nil && ctx.Err() == nil {
			r.log.Warn("bot: recovering unanswered conversations", "err", err)
		}
	}
	catchUp()
	if r.RecoverEvery > 0 {
		tick := time.NewTicker(r.RecoverEvery)
		defer tick.Stop()
	sweep:
		for {
			select {
			case <-ctx.Done():
				break sweep
			case <-tick.C:
				if r.Leads == nil || r.Leads() {
					catchUp()
				}
			}
		}
	}
	wg.Wait()
}

// Recover queues a turn for every conversation with an enabled bot whose
// last message is the visitor's: a reply lost to a crash or a restart
// between the visitor's message and the bot's answer is given now. The
// bot's messages carry client IDs derived from the visitor's message, so a
// reply that did get stored is not sent again.
func (r *Runtime) Recover(ctx context.Context) error { return r.recoverBefore(ctx, r.now()) }

// recoverBefore is Recover for visitor messages stored before the time given.
func (r *Runtime) recoverBefore(ctx context.Context, before time.Time) error {
	accounts, err := r.store.ListAccounts(ctx)
	if err != nil {
		return err
	}
	for _, a := range accounts {
		b, err := r.Brain(ctx, a.ID)
		if err != nil {
			return err
		}
		if b == nil || !b.cfg.Enabled {
			continue
		}
		for after := ""; ; {
			owed, err := r.store.UnansweredByBot(ctx, a.ID, before, after, 200)
			if err != nil {
				return err
			}
			for _, m := range owed {
				data, _ := json.Marshal(m)
				r.OnEvent(&parley.Event{AccountID: a.ID, Type: parley.EventMessageCreated, ConversationID: m.ConversationID, MessageSeq: m.Seq, Data: data, CreatedAt: m.CreatedAt})
			}
			if len(owed) < 200 {
				break
			}
			after = owed[len(owed)-1].ConversationID
		}
	}
	return nil
}

// Cheap looks into event data before decoding it.
var (
	fromConsumer = []byte(`"sender_kind":"consumer"`)
	withBot      = []byte(`"state":"bot"`)
)

// Track keeps the runtime's caches right with changes made on any node of
// a cluster (a bot edited, a conversation taken by a person); OnEvent does
// it too, for the events it is given. It never blocks the bus.
func (r *Runtime) Track(e *parley.Event) {
	switch e.Type {
	case parley.EventBotUpdated, parley.EventConversationRequeued, parley.EventConversationAssigned, parley.EventConversationClosed:
		r.OnEvent(e)
	}
}

// OnEvent queues visitor messages and new conversations for the bot, and
// forgets a brain when its configuration changes. It never blocks the bus.
// In a cluster it gets the events of its own node only: the node that
// stored a visitor's message answers it.
func (r *Runtime) OnEvent(e *parley.Event) {
	switch e.Type {
	case parley.EventBotUpdated:
		r.mu.Lock()
		delete(r.brains, e.AccountID)
		r.mu.Unlock()
		return
	case parley.EventMessageCreated:
		// Only visitors' messages need an answer; a cheap look before decoding.
		if !bytes.Contains(e.Data, fromConsumer) || r.leftBot(e.ConversationID) {
			return
		}
	case parley.EventConversationOpened:
		if !bytes.Contains(e.Data, withBot) {
			r.markWithPeople(e.ConversationID)
			return
		}
	case parley.EventConversationRequeued, parley.EventConversationAssigned, parley.EventConversationClosed:
		r.markWithPeople(e.ConversationID)
		return
	default:
		return
	}
	h := fnv.New32a()
	h.Write([]byte(e.ConversationID))
	select {
	case r.work[h.Sum32()%uint32(len(r.work))] <- e:
	default:
		r.log.Warn("bot turn dropped: queue full", "conversation", e.ConversationID)
	}
}

const maxWithPeople = 200_000

func (r *Runtime) markWithPeople(conversationID string) {
	r.mu.Lock()
	if len(r.withPeople) >= maxWithPeople {
		r.withPeople = map[string]struct{}{}
	}
	r.withPeople[conversationID] = struct{}{}
	r.mu.Unlock()
}

func (r *Runtime) leftBot(conversationID string) bool {
	r.mu.Lock()
	_, ok := r.withPeople[conversationID]
	r.mu.Unlock()
	return ok
}

// Brain returns the account's compiled bot (enabled or not: admins test a
// bot before they turn it on), or nil when it has none.
func (r *Runtime) Brain(ctx context.Context, accountID string) (*Brain, error) {
	r.mu.Lock()
	e := r.brains[accountID]
	r.mu.Unlock()
	now := r.now()
	if e != nil && now.Sub(e.checked) < recheck {
		return e.brain, nil
	}
	rec, err := r.store.FindBot(ctx, accountID)
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		r.remember(accountID, &entry{checked: now})
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if e != nil && e.version == rec.Version {
		r.remember(accountID, &entry{brain: e.brain, version: e.version, checked: now})
		return e.brain, nil
	}
	var cfg Config
	if err := json.Unmarshal(rec.Config, &cfg); err != nil {
		return nil, fmt.Errorf("stored bot of %s: %w", accountID, err)
	}
	skills, err := SkillMap(ctx, r.store, accountID)
	if err != nil {
		return nil, err
	}
	b := Compile(&cfg, skills)
	r.remember(accountID, &entry{brain: b, version: rec.Version, checked: now})
	return b, nil
}

// CannedIndex returns an index of the account's canned responses in lang,
// built again only when the list (or the language) changed.
func (r *Runtime) CannedIndex(accountID string, lang *nlu.Language, canned []*parley.CannedResponse) *CannedIndex {
	key := cannedKey(lang, canned)
	r.mu.Lock()
	cx := r.canned[accountID]
	r.mu.Unlock()
	if cx != nil && cx.key == key {
		return cx
	}
	cx = NewCannedIndex(lang, canned)
	r.mu.Lock()
	if r.canned == nil {
		r.canned = map[string]*CannedIndex{}
	}
	r.canned[accountID] = cx
	r.mu.Unlock()
	return cx
}

func (r *Runtime) remember(accountID string, e *entry) {
	r.mu.Lock()
	r.brains[accountID] = e
	r.mu.Unlock()
}

// Enabled reports whether new conversations of the account start with the
// bot.
func (r *Runtime) Enabled(ctx context.Context, accountID string) bool {
	b, err := r.Brain(ctx, accountID)
	return err == nil && b != nil && b.cfg.Enabled
}

// SkillMap maps the account's skill names and IDs to IDs.
func SkillMap(ctx context.Context, store parley.Store, accountID string) (map[string]string, error) {
	skills, err := store.ListSkills(ctx, accountID)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, s := range skills {
		m[s.Name], m[s.ID] = s.ID, s.ID
	}
	return m, nil
}

// SenderID is the sender ID of the bot's messages.
const SenderID = "bot"

// Turn takes the bot's turn for one event (a visitor's message.created or a
// conversation.opened): Run calls it for each queued event, in order per
// conversation. Taking a turn twice sends nothing twice: the bot's
// messages carry client IDs derived from the event.
func (r *Runtime) Turn(ctx context.Context, e *parley.Event) error {
	b, err := r.Brain(ctx, e.AccountID)
	if err != nil || b == nil { // no bot at all: no conversation of the account is with one
		return err
	}
	c, err := r.store.FindConversation(ctx, e.AccountID, e.ConversationID)
	if err != nil {
		return err
	}
	if c.State != parley.StateBot {
		r.markWithPeople(c.ID)
		return nil
	}
	if !b.cfg.Enabled {
		// The bot was turned off while the visitor talked to it: people
		// take over rather than leave the visitor unanswered.
		_, err := r.store.RequeueConversation(ctx, c.AccountID, c.ID, parley.Requeue{Reason: "bot_disabled"})
		return err
	}
	switch e.Type {
	case parley.EventConversationOpened, parley.EventMessageCreated:
	default:
		return nil
	}
	if e.Type == parley.EventConversationOpened {
		if b.cfg.Greeting == "" {
			return nil
		}
		return r.apply(ctx, b, c, "greeting", &Session{}, Turn{Messages: []Out{{Text: b.cfg.Greeting, HTML: RenderMarkdown(b.cfg.Greeting)}}})
	}
	var m parley.Message
	if err := json.Unmarshal(e.Data, &m); err != nil {
		return err
	}
	if m.SenderKind != parley.SenderConsumer || m.Type != parley.MessageText {
		return nil // the bot answers visitors' words only, never itself
	}
	sess := &Session{}
	raw, err := r.store.FindBotSession(ctx, e.AccountID, c.ID)
	if err != nil {
		return err
	}
	if raw != nil {
		if err := json.Unmarshal(raw, sess); err != nil {
			sess = &Session{} // an unreadable session starts afresh
		}
	}
	if sess.Trigger == m.ID {
		return nil // answered already (a recovery after the answer was stored)
	}
	acc, err := r.store.FindAccount(ctx, e.AccountID)
	if err != nil {
		return err
	}
	env := Env{Open: acc.Settings.BusinessHours == nil || acc.Settings.BusinessHours.Open(r.now()), ConversationID: c.ID, ConsumerID: c.ConsumerID}
	if r.call != nil {
		// The n-th call of the turn answering message m is m.ID-n, so
		// when a crash loses a turn after its calls and the recovery at
		// start computes it again, the brand's server gets the same
		// webhook-id and can drop the repeat.
		secret, n := b.cfg.Secret, 0
		env.Call = func(ctx context.Context, url string, payload, out any) error {
			n++
			return r.call(ctx, url, secret, fmt.Sprintf("%s-%d", m.ID, n), payload, out)
		}
	}
	turn := b.Reply(ctx, sess, m.Text, env)
	if err := r.apply(ctx, b, c, m.ID, sess, turn); err != nil {
		return err
	}
	if r.Answered != nil && turn.Band != "" {
		r.Answered(turn.Band, r.now().Sub(m.CreatedAt))
	}
	return nil
}

// apply carries out a turn — messages, session, visitor attributes,
// events, then a handoff or a close — in one store transaction, so a crash
// leaves all of it or none, and a repeated turn (recovery racing a live
// one) writes nothing.
func (r *Runtime) apply(ctx context.Context, b *Brain, c *parley.Conversation, trigger string, sess *Session, t Turn) error {
	sess.Trigger = trigger
	state, _ := json.Marshal(sess)
	bt := &parley.BotTurn{AccountID: c.AccountID, ConversationID: c.ID, Trigger: trigger, Session: state}
	for i, o := range t.Messages {
		m := &parley.Message{AccountID: c.AccountID, ConversationID: c.ID, SenderKind: parley.SenderBot, SenderID: SenderID,
			SenderName: b.cfg.Name, ClientID: fmt.Sprintf("bot:%s:%d", trigger, i), Type: parley.MessageText, Text: o.Text, HTML: o.HTML, Choices: o.Choices}
		if len(o.Choices) > 0 {
			m.Type = parley.MessageQuickReplies
			if o.Buttons {
				m.Type = parley.MessageButtons
			}
		}
		bt.Messages = append(bt.Messages, m)
	}
	if len(t.Attributes) > 0 {
		consumer, err := r.withAttributes(ctx, c, t.Attributes)
		if err != nil {
			return err
		}
		bt.Consumer = consumer
	}
	for _, ev := range t.Events {
		data, _ := json.Marshal(ev.Data)
		bt.Events = append(bt.Events, &parley.Event{Type: ev.Type, Data: data})
	}
	switch {
	case t.Handoff != nil:
		// The agent sees why, and what the bot understood, as a note.
		why, ok := handoffWhy[t.Handoff.Reason]
		if !ok {
			why = strings.ReplaceAll(t.Handoff.Reason, "_", " ")
		}
		note := "Handed over by the bot: " + why
		if t.Intent != "" {
			note += fmt.Sprintf(". Detected: %s", b.title(t.Intent))
			if t.Confidence > 0 {
				note += fmt.Sprintf(" (confidence %.0f%%)", t.Confidence*100)
			}
		}
		bt.Note = &parley.Note{AuthorID: SenderID, AuthorName: b.cfg.Name, Text: note}
		bt.Requeue = &parley.Requeue{Skill: t.Handoff.Skill, ChangeSkill: t.Handoff.Skill != "", Reason: "bot_handoff"}
	case t.Close:
		bt.Close = &parley.ConversationClose{Reason: "resolved by bot", ClosedBy: SenderID}
	}
	if _, err := r.store.ApplyBotTurn(ctx, bt); err != nil {
		if parley.ErrorCode(err) == parley.ECONFLICT { // closed meanwhile, or taken by a person
			return nil
		}
		return err
	}
	return nil
}

// withAttributes is the conversation's visitor with what a flow collected.
// handoffWhy is each handoff reason as the agent's note says it.
var handoffWhy = map[string]string{
	ReasonAsked:    "the visitor asked for a person",
	ReasonMisses:   "it did not understand the visitor",
	ReasonFlow:     "its flow hands over here",
	ReasonExternal: "the brand's own bot did not answer",
	ReasonWebhook:  "a flow's webhook call failed",
}

func (r *Runtime) withAttributes(ctx context.Context, c *parley.Conversation, attrs map[string]string) (*parley.Consumer, error) {
	consumer, err := r.store.FindConsumer(ctx, c.AccountID, c.ConsumerID)
	if err != nil {
		return nil, err
	}
	if consumer.Attributes == nil {
		consumer.Attributes = map[string]string{}
	}
	for k, v := range attrs {
		switch k {
		case "email":
			consumer.Email = v
		case "name":
			consumer.Name = v
		default:
			consumer.Attributes[k] = v
		}
	}
	return consumer, nil
}
