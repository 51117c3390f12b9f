// Package routing assigns waiting conversations to agents: a queue per
// skill (priority, then first come first served), agents chosen by skill,
// presence and free capacity — least loaded first, longest idle on a tie —
// and conversations of agents who leave put back at the front. Decisions
// are made in memory; the store's ClaimConversation makes each one stick
// atomically, so no race gives a conversation two agents (docs/routing.md).
package routing

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parleychat/parley"
)

// Presence is whether an agent takes conversations.
type Presence string

// Presences.
const (
	Online  Presence = "online"
	Away    Presence = "away"
	Offline Presence = "offline"
)

// Config tunes the engine. Zero fields take the defaults.
type Config struct {
	Grace time.Duration // a disconnected agent keeps their conversations this long (default 60 s)
	Tick  time.Duration // how often grace periods are checked (default 1 s)
	// PeerBeat is how often, in a cluster, a node tells the others whom it
	// has connected when nothing changed (default 5 s); a node silent for
	// three beats is taken for gone.
	PeerBeat time.Duration
}

// person is what the engine knows of a user beyond the store: presence and
// connections. It survives reloads of the account from the store.
type person struct {
	presence     Presence
	connections  int
	lostAt       time.Time // when the last connection dropped
	lastAssigned time.Time
}

// agent is a user as routing sees them.
type agent struct {
	id     string
	skills map[string]bool
	max    int
	active bool
	load   int
	*person
}

// available reports whether the agent can take a conversation now.
// elsewhere is their presence on another node of a cluster ("" when they
// are connected to no other node): an agent connected anywhere counts,
// and any node may assign them work (the claim is the store's).
func (a *agent) available(now time.Time, grace time.Duration, elsewhere Presence) bool {
	present := a.connections > 0 || (!a.lostAt.IsZero() && now.Sub(a.lostAt) < grace)
	presence := a.presence
	if !present && elsewhere != "" {
		present, presence = true, elsewhere
	}
	return a.active && presence == Online && present && a.load < a.max
}

// better reports whether a should get the next conversation before b:
// fewer open conversations, then idle longer.
func (a *agent) better(b *agent) bool {
	if a.load != b.load {
		return a.load < b.load
	}
	if !a.lastAssigned.Equal(b.lastAssigned) {
		return a.lastAssigned.Before(b.lastAssigned)
	}
	return a.id < b.id
}

// account is one brand's queues and agents.
type account struct {
	autoAssign bool
	queues     map[string]*queue // by skill ID; "" is the general queue
	waiting    map[string]*waiting
	agents     map[string]*agent
	assignee   map[string]string   // conversation → agent
	bySkill    map[string][]*agent // built on demand; nil after a user changes
	served     map[string]*served  // by skill: recent assignments, for the estimated wait
	heads      []*waiting          // scratch space for decide
}

func newAccount() *account {
	return &account{queues: map[string]*queue{}, waiting: map[string]*waiting{}, agents: map[string]*agent{}, assignee: map[string]string{},
		served: map[string]*served{}}
}

// Engine routes the conversations of every account of a store.
type Engine struct {
	store parley.Store
	log   *slog.Logger
	cfg   Config
	now   func() time.Time
	// started is when the engine was made: the status sweep waits for
	// consoles to reconnect after a restart before it judges anyone gone.
	started time.Time

	mu       sync.Mutex
	accounts map[string]*account // loaded accounts
	people   map[string]*person  // "account/user" → presence and connections
	dirty    map[string]bool     // accounts to dispatch
	kick     chan struct{}

	// In a cluster (UsePeers): this node's ID, the other nodes' latest
	// snapshots, and whether this node's own changed since it last said.
	peers           Peers
	node            string
	remote          map[string]*peerView
	presenceChanged bool
	lastShared      time.Time
}

// New returns an engine; Run starts it.
func New(store parley.Store, log *slog.Logger, cfg Config) *Engine {
	if cfg.Grace <= 0 {
		cfg.Grace = 60 * time.Second
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	if cfg.PeerBeat <= 0 {
		cfg.PeerBeat = defaultPeerBeat
	}
	return &Engine{store: store, log: log, cfg: cfg, now: time.Now, started: time.Now(), accounts: map[string]*account{},
		people: map[string]*person{}, dirty: map[string]bool{}, kick: make(chan struct{}, 1), remote: map[string]*peerView{}}
}

func (e *Engine) personLocked(accountID, userID string) *person {
	k := accountID + "/" + userID
	p := e.people[k]
	if p == nil {
		p = &person{presence: Offline}
		e.people[k] = p
	}
	return p
}

// kickLocked wakes the Run loop. Call with e.mu held.
func (e *Engine) kickLocked() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// wake schedules a dispatch of the account. Call with e.mu held.
func (e *Engine) wakeLocked(accountID string) {
	e.dirty[accountID] = true
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Connected records that a user opened a connection.
func (e *Engine) Connected(accountID, userID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.personLocked(accountID, userID)
	p.connections++
	p.lostAt = time.Time{}
	e.presenceChanged = true
	e.wakeLocked(accountID)
}

// Disconnected records that a user's connection closed. With none left,
// after the grace period, their conversations go back to the queue.
func (e *Engine) Disconnected(accountID, userID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.personLocked(accountID, userID)
	if p.connections > 0 {
		p.connections--
	}
	if p.connections == 0 {
		p.lostAt = e.now()
		e.presenceChanged = true
		e.kickLocked()
	}
}

// SetPresence sets whether a user takes conversations, by their own
// choice and without a reason (SetStatus).
func (e *Engine) SetPresence(ctx context.Context, accountID, userID string, pr Presence) error {
	return e.SetStatus(ctx, accountID, userID, pr, "", parley.CauseAgent, "")
}

// SetStatus sets whether a user takes conversations, with an away reason
// (one of the account's), why it changed and who changed it when not the
// person (a supervisor), and records it as their status (docs/routing.md,
// Agent status). Going offline puts their open conversations back in the
// queue at once.
func (e *Engine) SetStatus(ctx context.Context, accountID, userID string, pr Presence, reason, cause, by string) error {
	if pr != Online && pr != Away && pr != Offline {
		return parley.Errorf(parley.EINVALID, "presence must be online, away or offline")
	}
	if cause != parley.CauseAgent && cause != parley.CauseAutoAway && cause != parley.CauseSupervisor {
		return parley.Errorf(parley.EINVALID, "cause must be agent, auto_away or supervisor")
	}
	if cause == parley.CauseAutoAway && (pr != Away || reason != "") {
		return parley.Errorf(parley.EINVALID, "only away without a reason is set automatically")
	}
	var reasons []string
	if reason != "" {
		acc, err := e.store.FindAccount(ctx, accountID)
		if err != nil {
			return err
		}
		reasons = acc.Settings.AwayReasons
	}
	if err := parley.CheckStatus(string(pr), reason, reasons); err != nil {
		return err
	}
	if _, err := e.store.SetAgentStatus(ctx, accountID, userID, parley.StatusChange{Status: string(pr), Reason: reason, Cause: cause, By: by, At: e.now()}); err != nil {
		return err
	}
	e.mu.Lock()
	e.personLocked(accountID, userID).presence = pr
	e.presenceChanged = true
	e.wakeLocked(accountID)
	e.mu.Unlock()
	if pr == Offline {
		return e.requeueAgent(ctx, accountID, userID, "agent_offline")
	}
	return nil
}

// SweepStatuses records as offline the people whose status says they are
// at the console when no node has had a connection of theirs for the
// grace period: a closed tab, a lost network, a logout, a restart. It
// waits until the engine has run for the grace period and heard the other
// nodes, and leaves alone a status younger than that (set on a node whose
// snapshot has not come yet). Run by the node that leads.
func (e *Engine) SweepStatuses(ctx context.Context, now time.Time) error {
	settle := e.cfg.Grace
	if e.peers != nil {
		settle += e.peerExpiry()
	}
	if now.Sub(e.started) < settle {
		return nil
	}
	present, err := e.store.PresentAgents(ctx)
	if err != nil {
		return err
	}
	for _, st := range present {
		if now.Sub(st.Since) < settle {
			continue
		}
		e.mu.Lock()
		key := st.AccountID + "/" + st.UserID
		p := e.people[key]
		_, elsewhere := e.remoteLocked(key)
		here := p != nil && (p.connections > 0 || (!p.lostAt.IsZero() && now.Sub(p.lostAt) < e.cfg.Grace))
		at := now
		if p != nil && !p.lostAt.IsZero() && p.lostAt.After(st.Since) {
			at = p.lostAt // when they left, not when the sweep noticed
		}
		e.mu.Unlock()
		if here || elsewhere {
			continue
		}
		_, err := e.store.SetAgentStatus(ctx, st.AccountID, st.UserID, parley.StatusChange{
			Status: parley.StatusOffline, Cause: parley.CauseDisconnected, At: at, IfSince: st.Since})
		if err != nil && parley.ErrorCode(err) != parley.ENOTFOUND {
			return err
		}
	}
	return nil
}

// Tracker adapts the engine to the gateway's StaffTracker.
type Tracker struct{ *Engine }

// SetPresence takes a presence frame's state, reason and whether the
// console set it by itself (auto-away).
func (t Tracker) SetPresence(ctx context.Context, accountID, userID, presence, reason string, auto bool) error {
	cause := parley.CauseAgent
	if auto {
		cause = parley.CauseAutoAway
	}
	return t.Engine.SetStatus(ctx, accountID, userID, Presence(presence), reason, cause, "")
}

// AnyoneOnline reports whether a user of the account is online and
// connected, to this node or (in a cluster) another.
func (e *Engine) AnyoneOnline(accountID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	prefix := accountID + "/"
	for k, p := range e.people {
		if strings.HasPrefix(k, prefix) && p.presence == Online && p.connections > 0 {
			return true
		}
	}
	return e.anyoneOnlineRemoteLocked(accountID)
}

// Presence returns a user's presence: as this node knows it while the user
// is connected here, else as another node of the cluster reports it.
func (e *Engine) Presence(accountID, userID string) Presence {
	e.mu.Lock()
	defer e.mu.Unlock()
	key := accountID + "/" + userID
	p := e.people[key]
	if p != nil && p.connections > 0 {
		return p.presence
	}
	if pr, ok := e.remoteLocked(key); ok {
		return pr
	}
	if p != nil {
		return p.presence
	}
	return Offline
}

// requeueAgent puts every conversation assigned to the user back in the queue.
func (e *Engine) requeueAgent(ctx context.Context, accountID, userID, reason string) error {
	convs, err := e.store.ListConversations(ctx, accountID, parley.ConversationFilter{State: parley.StateAssigned, AssigneeID: userID, Limit: 200})
	if err != nil {
		return err
	}
	for _, c := range convs {
		_, err := e.store.RequeueConversation(ctx, accountID, c.ID, parley.Requeue{ExpectAssignee: userID, Reason: reason})
		if err != nil && parley.ErrorCode(err) != parley.ECONFLICT {
			return err
		}
	}
	return nil
}

// OnEvent keeps the loaded accounts current from the bus. It runs in the
// publisher's goroutine, so it only updates maps. Events arrive in commit
// order; every change is idempotent, so replays are harmless.
func (e *Engine) OnEvent(ev *parley.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	acc := e.accounts[ev.AccountID]
	switch ev.Type {
	case parley.EventConversationOpened, parley.EventConversationRequeued, parley.EventConversationAssigned, parley.EventConversationClosed,
		parley.EventConversationPriority:
		if acc == nil {
			e.wakeLocked(ev.AccountID) // loads from the store, which has the change
			return
		}
		var c parley.Conversation
		if json.Unmarshal(ev.Data, &c) != nil {
			return
		}
		e.applyLocked(acc, &c)
	case parley.EventUserCreated, parley.EventUserUpdated:
		var u parley.User
		if json.Unmarshal(ev.Data, &u) != nil {
			return
		}
		if !u.Active {
			// A deactivated user's conversations go back to the queue. Not
			// here: this runs in the publisher, which the requeue writes through.
			go func() {
				if err := e.requeueAgent(context.Background(), ev.AccountID, u.ID, "agent_deactivated"); err != nil {
					e.log.Warn("routing: requeue after deactivation", "user", u.ID, "err", err)
				}
			}()
		}
		if acc == nil {
			return
		}
		e.setUserLocked(acc, &u)
	case parley.EventAgentStatusChanged:
		// Every node's view of the person follows their status, whoever
		// set it and on whichever node: a supervisor on another node, or
		// the person's other console. A disconnect is not a choice: their
		// next console says what they want.
		var c parley.StatusChanged
		if json.Unmarshal(ev.Data, &c) != nil || c.Cause == parley.CauseDisconnected {
			return
		}
		p := e.personLocked(ev.AccountID, c.UserID)
		if p.presence != Presence(c.Status) {
			p.presence = Presence(c.Status)
			e.presenceChanged = true
			e.wakeLocked(ev.AccountID)
		}
	case parley.EventAccountUpdated:
		if acc == nil {
			return
		}
		var a parley.Account
		if json.Unmarshal(ev.Data, &a) == nil {
			acc.autoAssign = a.Settings.AutoAssign
		}
	default:
		return
	}
	e.wakeLocked(ev.AccountID)
}

// applyLocked brings the account's view of one conversation up to date.
func (e *Engine) applyLocked(acc *account, c *parley.Conversation) {
	// Leave the old place: a queue, or an agent's load.
	if w := acc.waiting[c.ID]; w != nil && (c.State != parley.StateQueued || w.skill != c.Skill || w.priority != c.Priority) {
		acc.queues[w.skill].remove(w)
		delete(acc.waiting, c.ID)
		if c.State == parley.StateAssigned {
			acc.servedFrom(w.skill, c) // the queue moved: its pace
		}
	}
	if who, ok := acc.assignee[c.ID]; ok && (c.State != parley.StateAssigned || who != c.AssigneeID) {
		if a := acc.agents[who]; a != nil && a.load > 0 {
			a.load--
		}
		delete(acc.assignee, c.ID)
	}
	// Take the new one.
	switch c.State {
	case parley.StateQueued:
		if acc.waiting[c.ID] == nil {
			queuedAt := c.CreatedAt
			if c.QueuedAt != nil {
				queuedAt = *c.QueuedAt
			}
			w := &waiting{id: c.ID, skill: c.Skill, priority: c.Priority, queuedAt: queuedAt}
			q := acc.queues[c.Skill]
			if q == nil {
				q = &queue{}
				acc.queues[c.Skill] = q
			}
			q.add(w)
			acc.waiting[c.ID] = w
		}
	case parley.StateAssigned:
		if _, ok := acc.assignee[c.ID]; !ok {
			acc.assignee[c.ID] = c.AssigneeID
			if a := acc.agents[c.AssigneeID]; a != nil {
				a.load++
				// Every node of a cluster sees the same assignments, so
				// ties between agents break the same way on all of them.
				if c.AssignedAt != nil && c.AssignedAt.After(a.lastAssigned) {
					a.lastAssigned = *c.AssignedAt
				}
			}
		}
	}
}

func (e *Engine) setUserLocked(acc *account, u *parley.User) {
	a := acc.agents[u.ID]
	if a == nil {
		a = &agent{id: u.ID, person: e.personLocked(u.AccountID, u.ID)}
		acc.agents[u.ID] = a
		for _, who := range acc.assignee {
			if who == u.ID {
				a.load++
			}
		}
	}
	a.skills = make(map[string]bool, len(u.Skills))
	for _, s := range u.Skills {
		a.skills[s] = true
	}
	a.max, a.active = u.MaxConcurrent, u.Active
	acc.bySkill = nil
}

// load reads an account's users and open conversations from the store.
// It holds e.mu while it reads, so no bus event slips between the read and
// the install (a reload stalls that account's events for its duration).
func (e *Engine) loadLocked(ctx context.Context, accountID string) (*account, error) {
	if acc := e.accounts[accountID]; acc != nil {
		return acc, nil
	}
	a, err := e.store.FindAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	acc := newAccount()
	acc.autoAssign = a.Settings.AutoAssign
	users, err := e.store.ListUsers(ctx, accountID)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		e.setUserLocked(acc, u)
	}
	for _, state := range []parley.ConversationState{parley.StateQueued, parley.StateAssigned} {
		after := ""
		for {
			page, err := e.store.ListConversations(ctx, accountID, parley.ConversationFilter{State: state, After: after, Limit: 200})
			if err != nil {
				return nil, err
			}
			for _, c := range page {
				e.applyLocked(acc, c)
				if c.State == parley.StateAssigned && c.QueuedAt != nil {
					acc.servedFrom(c.Skill, c) // it waited before: the queue's pace until this engine heard more
				}
			}
			if len(page) < 200 {
				break
			}
			after = page[len(page)-1].ID
		}
	}
	e.accounts[accountID] = acc
	return acc, nil
}

// servedFrom counts c's assignment in the pace of skill's queue.
func (acc *account) servedFrom(skill string, c *parley.Conversation) {
	if c.AssignedAt == nil {
		return
	}
	s := acc.served[skill]
	if s == nil {
		s = &served{}
		acc.served[skill] = s
	}
	s.add(*c.AssignedAt)
}

// decide picks the next assignment: the best waiting conversation for which
// an agent is available, and the best such agent. It changes nothing.
// Queue heads are tried best first, so the agents of only one skill are
// usually scanned.
func (acc *account) decide(now time.Time, grace time.Duration, elsewhere func(userID string) Presence) (*waiting, *agent) {
	if acc.bySkill == nil {
		acc.indexSkills()
	}
	heads := acc.heads[:0]
	for _, q := range acc.queues {
		if w := q.head(); w != nil {
			heads = append(heads, w)
		}
	}
	slices.SortFunc(heads, func(a, b *waiting) int {
		if a.before(b) {
			return -1
		}
		return 1
	})
	acc.heads = heads
	for _, w := range heads {
		var pick *agent
		for _, a := range acc.bySkill[w.skill] {
			if a.available(now, grace, elsewhere(a.id)) && (pick == nil || a.better(pick)) {
				pick = a
			}
		}
		if pick != nil {
			return w, pick
		}
	}
	return nil, nil
}

// indexSkills lists each skill's agents; "" lists everyone.
func (acc *account) indexSkills() {
	acc.bySkill = map[string][]*agent{}
	for _, a := range acc.agents {
		acc.bySkill[""] = append(acc.bySkill[""], a)
		for s := range a.skills {
			acc.bySkill[s] = append(acc.bySkill[s], a)
		}
	}
}

// Decide returns the next assignment for the account without making it;
// ok is false when nothing can be assigned now.
func (e *Engine) Decide(ctx context.Context, accountID string) (conversationID, userID string, ok bool, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	acc, err := e.loadLocked(ctx, accountID)
	if err != nil {
		return "", "", false, err
	}
	w, a := acc.decide(e.now(), e.cfg.Grace, e.elsewhereLocked(accountID))
	if w == nil {
		return "", "", false, nil
	}
	return w.id, a.id, true, nil
}

// Run assigns conversations until ctx ends.
func (e *Engine) Run(ctx context.Context) {
	if accounts, err := e.store.ListAccounts(ctx); err == nil {
		e.mu.Lock()
		for _, a := range accounts {
			e.wakeLocked(a.ID)
		}
		e.mu.Unlock()
	}
	tick := time.NewTicker(e.cfg.Tick)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.kick:
		case <-tick.C:
			e.checkGrace(ctx)
		}
		e.mu.Lock()
		share := e.peers != nil && (e.presenceChanged || e.now().Sub(e.lastShared) >= e.cfg.PeerBeat)
		e.mu.Unlock()
		if share {
			e.sharePresence()
		}
		e.mu.Lock()
		ids := make([]string, 0, len(e.dirty))
		for id := range e.dirty {
			ids = append(ids, id)
		}
		clear(e.dirty)
		e.mu.Unlock()
		for _, id := range ids {
			if err := e.dispatch(ctx, id); err != nil && ctx.Err() == nil {
				e.log.Warn("routing", "account", id, "err", err)
			}
		}
	}
}

// dispatch makes every assignment the account allows now.
func (e *Engine) dispatch(ctx context.Context, accountID string) error {
	for {
		e.mu.Lock()
		acc, err := e.loadLocked(ctx, accountID)
		if err != nil {
			e.mu.Unlock()
			return err
		}
		if !acc.autoAssign {
			e.mu.Unlock()
			return nil
		}
		w, a := acc.decide(e.now(), e.cfg.Grace, e.elsewhereLocked(accountID))
		if w == nil {
			e.mu.Unlock()
			return nil
		}
		// Apply the decision in memory first, so the next decide does not
		// pick the same pair; the assigned event that follows is a no-op.
		acc.queues[w.skill].remove(w)
		delete(acc.waiting, w.id)
		acc.assignee[w.id] = a.id
		a.load++
		a.lastAssigned = e.now()
		e.mu.Unlock()

		if _, err := e.store.ClaimConversation(ctx, accountID, w.id, a.id); err != nil {
			if parley.ErrorCode(err) != parley.ECONFLICT {
				return err
			}
			// Someone else changed it first: forget this view, read the store again.
			e.mu.Lock()
			delete(e.accounts, accountID)
			e.mu.Unlock()
		}
	}
}

// checkGrace requeues the conversations of agents gone longer than the grace period.
func (e *Engine) checkGrace(ctx context.Context) {
	now := e.now()
	type gone struct{ account, user string }
	var list []gone
	e.mu.Lock()
	for k, p := range e.people {
		if p.connections == 0 && !p.lostAt.IsZero() && now.Sub(p.lostAt) >= e.cfg.Grace {
			p.lostAt = time.Time{}
			if _, elsewhere := e.remoteLocked(k); elsewhere {
				continue // reconnected to another node of the cluster: still here
			}
			acc, user, _ := strings.Cut(k, "/")
			list = append(list, gone{acc, user})
		}
	}
	e.mu.Unlock()
	for _, g := range list {
		if err := e.requeueAgent(ctx, g.account, g.user, "agent_disconnected"); err != nil {
			e.log.Warn("routing: requeue after disconnect", "user", g.user, "err", err)
		}
	}
}

// ExpectedWait is how long a conversation joining skill's queue now, at
// place (1: next), may wait at the pace the queue was served in the last
// hour; zero when there is too little to tell.
func (e *Engine) ExpectedWait(ctx context.Context, accountID, skill string, place int) (time.Duration, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	acc, err := e.loadLocked(ctx, accountID)
	if err != nil {
		return 0, err
	}
	s := acc.served[skill]
	if s == nil {
		return 0, nil
	}
	wait, _ := s.estimate(place, e.now())
	return wait, nil
}

// Place is where a waiting conversation stands in its skill's queue.
type Place struct {
	Position int // 1 is served next
	Waiting  int // in that queue, itself included
	// EstimatedWait is how long it may still wait, at the pace the queue
	// was served in the last hour; zero when there is too little to tell.
	EstimatedWait time.Duration
}

// QueuePosition says where a waiting conversation stands in its skill's
// queue; ok is false when it does not wait. The account is read from the
// store when this engine has not loaded it yet.
func (e *Engine) QueuePosition(ctx context.Context, accountID, conversationID string) (p Place, ok bool, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	acc, err := e.loadLocked(ctx, accountID)
	if err != nil {
		return Place{}, false, err
	}
	w := acc.waiting[conversationID]
	if w == nil {
		return Place{}, false, nil
	}
	q := acc.queues[w.skill]
	if q == nil {
		return Place{}, false, nil
	}
	p = Place{Position: 1, Waiting: len(*q)}
	for _, o := range *q {
		if o != w && o.before(w) {
			p.Position++
		}
	}
	if s := acc.served[w.skill]; s != nil {
		p.EstimatedWait, _ = s.estimate(p.Position, e.now())
	}
	return p, true, nil
}
