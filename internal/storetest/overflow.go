package storetest

import (
	"context"
	"sync"
	"testing"

	"github.com/parleychat/parley"
)

// QueueOverflow: a skill's overflow is checked (a target of the account,
// not itself, no chain that comes back, a time in range), kept and read
// back, and so are its own hours; a conversation's queue_entered_at moves each time it enters a
// queue while queued_at keeps its place in line; and a requeue that
// expects it waiting in a skill leaves it alone once claimed.
func testQueueOverflow(t *testing.T, open Opener) {
	ctx := context.Background()
	rec := &recorder{}
	s := open(t, rec)
	f := newFixture(t, s, "A")
	other := newFixture(t, s, "B")
	mk := func(acc, name string) *parley.Skill {
		sk := &parley.Skill{AccountID: acc, Name: name}
		if err := s.CreateSkill(ctx, sk); err != nil {
			t.Fatal(err)
		}
		return sk
	}
	billing, payments, spanish := mk(f.account.ID, "billing"), mk(f.account.ID, "payments"), mk(f.account.ID, "spanish")
	theirs := mk(other.account.ID, "theirs")

	update := func(sk parley.Skill) error {
		_, err := s.ChangeSkill(ctx, sk.AccountID, sk.ID, func(cur *parley.Skill) error {
			cur.Name, cur.OverflowTo, cur.OverflowAfterSeconds, cur.OverflowUnstaffed = sk.Name, sk.OverflowTo, sk.OverflowAfterSeconds, sk.OverflowUnstaffed
			return nil
		})
		return err
	}
	withOverflow := func(sk *parley.Skill, to string, after int) parley.Skill {
		c := *sk
		c.OverflowTo, c.OverflowAfterSeconds = to, after
		return c
	}
	wantCode(t, update(withOverflow(billing, billing.ID, 60)), parley.EINVALID)
	wantCode(t, update(withOverflow(billing, theirs.ID, 60)), parley.EINVALID)
	wantCode(t, update(withOverflow(billing, payments.ID, 5)), parley.EINVALID)
	wantCode(t, update(withOverflow(billing, payments.ID, 86401)), parley.EINVALID)
	wantCode(t, update(withOverflow(billing, payments.ID, 0)), parley.EINVALID) // a target without a time
	if err := update(withOverflow(billing, payments.ID, 60)); err != nil {
		t.Fatal(err)
	}
	if err := update(withOverflow(payments, spanish.ID, 120)); err != nil {
		t.Fatal(err)
	}
	wantCode(t, update(withOverflow(spanish, billing.ID, 60)), parley.EINVALID) // spanish → billing → payments → spanish
	unstaffed := withOverflow(spanish, "", 0)
	unstaffed.OverflowUnstaffed = true
	wantCode(t, update(unstaffed), parley.EINVALID) // at once when no one is online, but no time
	unstaffed.OverflowAfterSeconds = 300            // to the general queue
	if err := update(unstaffed); err != nil {
		t.Fatal(err)
	}
	renamed := *spanish
	renamed.Name = "billing"
	wantCode(t, update(renamed), parley.ECONFLICT)
	missing := parley.Skill{AccountID: f.account.ID, ID: theirs.ID, Name: "x"}
	wantCode(t, update(missing), parley.ENOTFOUND)
	skills, err := s.ListSkills(ctx, f.account.ID)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*parley.Skill{}
	for _, sk := range skills {
		byName[sk.Name] = sk
	}
	if b := byName["billing"]; b.OverflowTo != payments.ID || b.OverflowAfterSeconds != 60 {
		t.Fatalf("billing = %+v", b)
	}
	if sp := byName["spanish"]; sp.OverflowTo != "" || sp.OverflowAfterSeconds != 300 || !sp.OverflowUnstaffed {
		t.Fatalf("spanish = %+v", sp)
	}
	updated := 0
	for _, e := range rec.snapshot() {
		if e.Type == parley.EventSkillUpdated && e.AccountID == f.account.ID {
			updated++
		}
	}
	if updated != 3 {
		t.Fatalf("%d skill.updated events; want 3 (one per change made)", updated)
	}

	// Two admins at once, one renaming, one changing the time: both kept.
	var wg sync.WaitGroup
	for _, change := range []func(*parley.Skill) error{
		func(sk *parley.Skill) error { sk.Name = "payments (EU)"; return nil },
		func(sk *parley.Skill) error { sk.OverflowAfterSeconds = 240; return nil },
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.ChangeSkill(ctx, f.account.ID, payments.ID, change); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	after, _ := s.ListSkills(ctx, f.account.ID)
	for _, sk := range after {
		if sk.ID == payments.ID && (sk.Name != "payments (EU)" || sk.OverflowAfterSeconds != 240 || sk.OverflowTo != spanish.ID) {
			t.Fatalf("after two changes at once: %+v", sk)
		}
	}

	// A skill's own hours: kept, read back, checked, and given back to
	// the brand's with nil; a new skill may have them from the start.
	madrid := &parley.BusinessHours{TimeZone: "Europe/Madrid", Days: map[string][][2]string{"mon": {{"09:00", "14:00"}, {"16:00", "19:00"}}},
		Holidays: []parley.Holiday{{Date: "2026-12-25", Name: "Navidad"}}}
	withHours := func(id string, h *parley.BusinessHours) (*parley.Skill, error) {
		return s.ChangeSkill(ctx, f.account.ID, id, func(sk *parley.Skill) error { sk.Hours = h; return nil })
	}
	if _, err := withHours(spanish.ID, madrid); err != nil {
		t.Fatal(err)
	}
	_, err = withHours(spanish.ID, &parley.BusinessHours{TimeZone: "Mars/Olympus"})
	wantCode(t, err, parley.EINVALID)
	night := &parley.Skill{AccountID: f.account.ID, Name: "night shift", Hours: &parley.BusinessHours{TimeZone: "UTC", Days: map[string][][2]string{"sat": {{"00:00", "06:00"}}}}}
	if err := s.CreateSkill(ctx, night); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.CreateSkill(ctx, &parley.Skill{AccountID: f.account.ID, Name: "bad", Hours: &parley.BusinessHours{TimeZone: "UTC", Days: map[string][][2]string{"mon": {{"18:00", "09:00"}}}}}), parley.EINVALID)
	hoursOf := func() map[string]*parley.BusinessHours {
		skills, err := s.ListSkills(ctx, f.account.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*parley.BusinessHours{}
		for _, sk := range skills {
			out[sk.ID] = sk.Hours
		}
		return out
	}
	got := hoursOf()
	if h := got[spanish.ID]; h == nil || h.TimeZone != "Europe/Madrid" || len(h.Days["mon"]) != 2 || h.Days["mon"][1] != [2]string{"16:00", "19:00"} || len(h.Holidays) != 1 || h.Holidays[0].Name != "Navidad" {
		t.Fatalf("spanish's hours read back: %+v", h)
	}
	if h := got[night.ID]; h == nil || h.Days["sat"][0] != [2]string{"00:00", "06:00"} {
		t.Fatalf("the night shift's hours: %+v", h)
	}
	if got[billing.ID] != nil {
		t.Fatalf("billing has hours it was never given: %+v", got[billing.ID])
	}
	if sk, err := withHours(spanish.ID, nil); err != nil || sk.Hours != nil || hoursOf()[spanish.ID] != nil {
		t.Fatalf("back to the brand's: %+v, %v", sk, err)
	}

	// Entering a queue; entering another; a requeue expecting it waiting
	// in a skill it left.
	c, err := s.OpenConversation(ctx, f.account.ID, parley.ConversationOpen{ConsumerID: f.consumer.ID, Channel: parley.ChannelWeb, State: parley.StateQueued, Skill: billing.ID})
	if err != nil {
		t.Fatal(err)
	}
	if c.QueueEnteredAt == nil || c.QueuedAt == nil || !c.QueueEnteredAt.Equal(*c.QueuedAt) {
		t.Fatalf("opened: queued_at %v, queue_entered_at %v", c.QueuedAt, c.QueueEnteredAt)
	}
	moved, err := s.RequeueConversation(ctx, f.account.ID, c.ID, parley.Requeue{ChangeSkill: true, Skill: payments.ID, Reason: "overflow", ExpectQueuedIn: billing.ID})
	if err != nil {
		t.Fatal(err)
	}
	if !moved.QueuedAt.Equal(*c.QueuedAt) || !moved.QueueEnteredAt.After(*c.QueueEnteredAt) || moved.Skill != payments.ID {
		t.Fatalf("moved: %+v", moved)
	}
	read, _ := s.FindConversation(ctx, f.account.ID, c.ID)
	if read.QueueEnteredAt == nil || !read.QueueEnteredAt.Equal(*moved.QueueEnteredAt) {
		t.Fatalf("read back queue_entered_at %v, want %v", read.QueueEnteredAt, moved.QueueEnteredAt)
	}
	_, err = s.RequeueConversation(ctx, f.account.ID, c.ID, parley.Requeue{ChangeSkill: true, Skill: "", Reason: "overflow", ExpectQueuedIn: billing.ID})
	wantCode(t, err, parley.ECONFLICT)
	agent := &parley.User{AccountID: f.account.ID, Email: "agent@overflow.test", Name: "Agent", Role: parley.RoleAgent, MaxConcurrent: 2, Active: true}
	if err := s.CreateUser(ctx, agent); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimConversation(ctx, f.account.ID, c.ID, agent.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.RequeueConversation(ctx, f.account.ID, c.ID, parley.Requeue{ChangeSkill: true, Skill: spanish.ID, Reason: "overflow", ExpectQueuedIn: payments.ID})
	wantCode(t, err, parley.ECONFLICT)
	if got, _ := s.FindConversation(ctx, f.account.ID, c.ID); got.State != parley.StateAssigned || got.AssigneeID != agent.ID || got.QueueEnteredAt != nil {
		t.Fatalf("claimed conversation after a late overflow: %+v", got)
	}
}
