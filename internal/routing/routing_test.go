package routing_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/localbus"
	"github.com/parleychat/parley/internal/routing"
	"github.com/parleychat/parley/internal/sqlstore"
)

type env struct {
	t        *testing.T
	store    *sqlstore.DB
	engines  []*routing.Engine
	account  *parley.Account
	consumer *parley.Consumer
	skills   []*parley.Skill
}

// newEnv starts `nodes` engines on one real SQLite store, as nodes of a
// cluster would share one database.
func newEnv(t *testing.T, nodes int, autoAssign bool) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	bus := localbus.New()
	store, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "p.db"), sqlstore.Options{Bus: bus})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: store}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var wg sync.WaitGroup
	for i := 0; i < nodes; i++ {
		eng := routing.New(store, log, routing.Config{Grace: 300 * time.Millisecond, Tick: 20 * time.Millisecond})
		bus.Subscribe(eng.OnEvent)
		e.engines = append(e.engines, eng)
		wg.Add(1)
		go func() { defer wg.Done(); eng.Run(ctx) }()
	}
	t.Cleanup(func() { cancel(); wg.Wait(); store.Close() })
	e.account = &parley.Account{Name: "A", Settings: parley.AccountSettings{AutoAssign: autoAssign}}
	store.CreateAccount(ctx, e.account)
	e.consumer = &parley.Consumer{AccountID: e.account.ID}
	store.CreateConsumer(ctx, e.consumer)
	for _, n := range []string{"billing", "returns", "spanish"} {
		s := &parley.Skill{AccountID: e.account.ID, Name: n}
		store.CreateSkill(ctx, s)
		e.skills = append(e.skills, s)
	}
	return e
}

func (e *env) agent(name string, max int, skills ...string) *parley.User {
	e.t.Helper()
	u := &parley.User{AccountID: e.account.ID, Email: name + "@a.test", Name: name, Role: parley.RoleAgent, MaxConcurrent: max, Active: true, Skills: skills}
	if err := e.store.CreateUser(context.Background(), u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// online connects the agent (to every node's engine) and sets them online.
func (e *env) online(u *parley.User) {
	for _, eng := range e.engines {
		eng.Connected(e.account.ID, u.ID)
		eng.SetPresence(context.Background(), e.account.ID, u.ID, routing.Online)
	}
}

func (e *env) open(skill string, priority int) *parley.Conversation {
	e.t.Helper()
	c, err := e.store.OpenConversation(context.Background(), e.account.ID, parley.ConversationOpen{ConsumerID: e.consumer.ID, Channel: parley.ChannelWeb, State: parley.StateQueued, Skill: skill, Priority: priority})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) conversations(state parley.ConversationState) []*parley.Conversation {
	var out []*parley.Conversation
	after := ""
	for {
		page, _ := e.store.ListConversations(context.Background(), e.account.ID, parley.ConversationFilter{State: state, After: after, Limit: 200})
		out = append(out, page...)
		if len(page) < 200 {
			return out
		}
		after = page[len(page)-1].ID
	}
}

// waitFor polls cond until it holds or fails the test after 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not before the deadline", what)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition with a deadline
	}
}

// assignments returns the assigned events' conversation → user, in order.
func (e *env) assignments() [][2]string {
	events, _ := e.store.ListEvents(context.Background(), e.account.ID, parley.EventFilter{Types: []string{parley.EventConversationAssigned}, Limit: 10000})
	var out [][2]string
	for _, ev := range events {
		var c parley.Conversation
		json.Unmarshal(ev.Data, &c)
		out = append(out, [2]string{c.ID, c.AssigneeID})
	}
	return out
}

func TestRacingAssignmentsNeverDoubleOrOverfill(t *testing.T) {
	e := newEnv(t, 2, true) // two engines race, as two nodes would
	rng := rand.New(rand.NewPCG(1, 2))
	var agents []*parley.User
	for i := 0; i < 20; i++ {
		skills := []string{e.skills[rng.IntN(3)].ID}
		if rng.IntN(2) == 0 {
			skills = append(skills, e.skills[rng.IntN(3)].ID)
		}
		agents = append(agents, e.agent(fmt.Sprintf("agent%d", i), 1+rng.IntN(3), skills...))
	}
	var wg sync.WaitGroup
	// Conversations arrive from many goroutines while agents come and go.
	for g := 0; g < 10; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for i := 0; i < 30; i++ {
				skill := ""
				if r.IntN(4) > 0 {
					skill = e.skills[r.IntN(3)].ID
				}
				e.open(skill, r.IntN(3))
			}
		}()
	}
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 9))
			for i := 0; i < 15; i++ {
				a := agents[r.IntN(len(agents))]
				p := []routing.Presence{routing.Online, routing.Away, routing.Offline}[r.IntN(3)]
				for _, eng := range e.engines {
					eng.Connected(e.account.ID, a.ID)
					eng.SetPresence(context.Background(), e.account.ID, a.ID, p)
				}
			}
		}()
	}
	wg.Wait()
	for _, a := range agents {
		e.online(a)
	}

	// Settles with nothing stuck: no queued conversation has an agent with
	// its skill and room.
	byID := map[string]*parley.User{}
	for _, a := range agents {
		byID[a.ID] = a
	}
	stuck := func() string {
		load := map[string]int{}
		for _, c := range e.conversations(parley.StateAssigned) {
			load[c.AssigneeID]++
		}
		for _, c := range e.conversations(parley.StateQueued) {
			for _, a := range agents {
				has := c.Skill == ""
				for _, s := range a.Skills {
					has = has || s == c.Skill
				}
				if has && load[a.ID] < a.MaxConcurrent {
					return fmt.Sprintf("%s waits while %s has room", c.ID, a.Name)
				}
			}
		}
		return ""
	}
	waitFor(t, "routing settles", func() bool { return stuck() == "" })

	// Capacity is never exceeded, and each conversation has one agent.
	load := map[string]int{}
	for _, c := range e.conversations(parley.StateAssigned) {
		load[c.AssigneeID]++
		if c.Skill != "" {
			ok := false
			for _, s := range byID[c.AssigneeID].Skills {
				ok = ok || s == c.Skill
			}
			if !ok {
				t.Fatalf("%s (skill %s) went to %s without the skill", c.ID, c.Skill, byID[c.AssigneeID].Name)
			}
		}
	}
	for id, n := range load {
		if n > byID[id].MaxConcurrent {
			t.Fatalf("%s holds %d conversations; capacity %d", byID[id].Name, n, byID[id].MaxConcurrent)
		}
	}
	// In the event log, a conversation is never assigned again before it
	// was requeued: never two agents at once.
	events, _ := e.store.ListEvents(context.Background(), e.account.ID, parley.EventFilter{Limit: 100000,
		Types: []string{parley.EventConversationAssigned, parley.EventConversationRequeued}})
	holder := map[string]string{}
	for _, ev := range events {
		var c parley.Conversation
		json.Unmarshal(ev.Data, &c)
		if ev.Type == parley.EventConversationAssigned {
			if h := holder[c.ID]; h != "" {
				t.Fatalf("%s assigned to %s while %s held it", c.ID, c.AssigneeID, h)
			}
			holder[c.ID] = c.AssigneeID
		} else {
			holder[c.ID] = ""
		}
	}
}

func TestFIFOWithinPriority(t *testing.T) {
	e := newEnv(t, 1, true)
	a := e.agent("solo", 1)
	var want []string
	prios := []int{0, 0, 5, 0, 5, 0}
	var ids []string
	for _, p := range prios {
		ids = append(ids, e.open("", p).ID)
	}
	want = []string{ids[2], ids[4], ids[0], ids[1], ids[3], ids[5]}
	e.online(a)
	for i := range want {
		waitFor(t, "next assignment", func() bool { return len(e.assignments()) == i+1 })
		got := e.assignments()[i]
		if got[0] != want[i] {
			t.Fatalf("assignment %d went to %s, want %s (priority, then first come)", i, got[0], want[i])
		}
		e.store.CloseConversation(context.Background(), e.account.ID, got[0], parley.ConversationClose{Reason: "done"})
	}
}

func TestDisconnectedAgentsConversationsGoBackToTheFront(t *testing.T) {
	e := newEnv(t, 1, true)
	gone := e.agent("gone", 2)
	c1, c2 := e.open("", 0), e.open("", 0)
	e.online(gone)
	waitFor(t, "both assigned", func() bool { return len(e.conversations(parley.StateAssigned)) == 2 })
	c3 := e.open("", 0) // arrives after them
	e.engines[0].Disconnected(e.account.ID, gone.ID)
	waitFor(t, "requeued after the grace period", func() bool { return len(e.conversations(parley.StateQueued)) == 3 })

	next := e.agent("next", 2)
	e.online(next)
	waitFor(t, "two reassigned", func() bool { return len(e.assignments()) == 4 })
	got := e.assignments()[2:]
	if got[0][0] != c1.ID || got[1][0] != c2.ID || got[0][1] != next.ID {
		t.Fatalf("after the requeue: %v; want %s and %s (front of the queue) to %s, before %s", got, c1.ID, c2.ID, next.ID, c3.ID)
	}
}

func TestOfflineAgentsGetNothingAndPickModeWaits(t *testing.T) {
	e := newEnv(t, 1, false)
	a := e.agent("picker", 3)
	e.online(a)
	e.open("", 0)
	// Pick-from-queue: the engine proposes but never assigns.
	id, who, ok, err := e.engines[0].Decide(context.Background(), e.account.ID)
	if err != nil || !ok || who != a.ID || id == "" {
		t.Fatalf("Decide: %s %s %v %v", id, who, ok, err)
	}
	if n := len(e.assignments()); n != 0 {
		t.Fatalf("pick mode assigned %d", n)
	}
	if err := e.engines[0].SetPresence(context.Background(), e.account.ID, a.ID, routing.Away); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := e.engines[0].Decide(context.Background(), e.account.ID); ok {
		t.Fatal("an away agent was proposed")
	}
	if err := e.engines[0].SetPresence(context.Background(), e.account.ID, a.ID, "asleep"); parley.ErrorCode(err) != parley.EINVALID {
		t.Fatalf("bad presence: %v", err)
	}
}
