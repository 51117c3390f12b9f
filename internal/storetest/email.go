package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// ReplyEmails: the cursor starts at the log's end and moves only from
// where it is; a conversation has one pending email at most, and keeps
// its first due time; a message an email carried is not owed again; due
// emails come longest due first, across accounts; finishing writes the
// event once and only for a pending email; and every call keeps to its
// account.
func testReplyEmails(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	a := newFixture(t, s, "A")
	b := newFixture(t, s, "B")
	second := a.another(t, s)

	// The cursor starts where the log ends now: history is not mailed.
	evs, err := s.ListEvents(ctx, a.account.ID, parley.EventFilter{Limit: 1000})
	if err != nil || len(evs) == 0 {
		t.Fatalf("ListEvents = %d, %v", len(evs), err)
	}
	cur, err := s.EmailCursor(ctx, a.account.ID)
	if err != nil || cur != evs[len(evs)-1].Seq {
		t.Fatalf("EmailCursor = %d, %v; want %d (the log's end)", cur, err, evs[len(evs)-1].Seq)
	}
	if again, err := s.EmailCursor(ctx, a.account.ID); err != nil || again != cur {
		t.Fatalf("EmailCursor again = %d, %v; want %d", again, err, cur)
	}
	_, err = s.EmailCursor(ctx, "acc_missing")
	wantCode(t, err, parley.ENOTFOUND)
	// Turned on again later: the cursor jumps to the log's end.
	a.another(t, s)
	if err := s.StartEmailCursor(ctx, a.account.ID); err != nil {
		t.Fatal(err)
	}
	if moved, err := s.EmailCursor(ctx, a.account.ID); err != nil || moved != cur+1 {
		t.Fatalf("EmailCursor after StartEmailCursor = %d, %v; want %d", moved, err, cur+1)
	}
	cur++

	now := time.Now().UTC().Truncate(time.Millisecond)
	owe := func(conv string, seq int64, due time.Time) *parley.ReplyEmail {
		return &parley.ReplyEmail{ConversationID: conv, FromSeq: seq, DueAt: due}
	}
	if err := s.QueueReplyEmails(ctx, a.account.ID, []*parley.ReplyEmail{owe(a.conversation.ID, 2, now.Add(-time.Minute)), owe(second.ID, 1, now.Add(-2*time.Minute)),
		owe(b.conversation.ID, 1, now.Add(-3*time.Minute))}, cur, cur+5); err != nil {
		t.Fatal(err)
	}
	// From a cursor that is no longer where it was: nothing changes.
	err = s.QueueReplyEmails(ctx, a.account.ID, []*parley.ReplyEmail{owe(a.conversation.ID, 9, now.Add(-time.Hour))}, cur, cur+9)
	wantCode(t, err, parley.ECONFLICT)
	// A later message in a conversation with an email pending joins it.
	if err := s.QueueReplyEmails(ctx, a.account.ID, []*parley.ReplyEmail{owe(a.conversation.ID, 4, now.Add(time.Hour))}, cur+5, cur+7); err != nil {
		t.Fatal(err)
	}
	if got, err := s.EmailCursor(ctx, a.account.ID); err != nil || got != cur+7 {
		t.Fatalf("cursor = %d, %v; want %d", got, err, cur+7)
	}

	due, err := s.DueReplyEmails(ctx, now, 10)
	if err != nil {
		t.Fatal(err)
	}
	// B's conversation was named with A's account: left out.
	if len(due) != 2 || due[0].ConversationID != second.ID || due[1].ConversationID != a.conversation.ID {
		t.Fatalf("due = %+v; want A's second conversation, then its first", due)
	}
	first := due[1]
	if first.FromSeq != 2 || !first.DueAt.Equal(now.Add(-time.Minute)) || first.State != parley.ReplyEmailPending || first.AccountID != a.account.ID {
		t.Fatalf("pending email = %+v; want from seq 2, due a minute ago", first)
	}
	if d, _ := s.DueReplyEmails(ctx, now, 1); len(d) != 1 || d[0].ConversationID != second.ID {
		t.Fatalf("DueReplyEmails limit 1 = %+v", d)
	}

	// A retry stays pending, due later.
	first.Attempts, first.LastError, first.DueAt = 1, "451 try again", now.Add(time.Minute)
	if err := s.FinishReplyEmail(ctx, first); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.DueReplyEmails(ctx, now, 10); len(d) != 1 {
		t.Fatalf("after a retry, due = %+v; want only the other", d)
	}
	// Sent: the event, once.
	sent := now.Add(2 * time.Minute)
	first.State, first.LastError, first.ThroughSeq, first.Messages, first.SentAt = parley.ReplyEmailSent, "", 5, 2, &sent
	if err := s.FinishReplyEmail(ctx, first); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.FinishReplyEmail(ctx, first), parley.ECONFLICT)
	other := *due[0]
	other.AccountID = b.account.ID // another account's call cannot touch it
	other.State = parley.ReplyEmailSkipped
	wantCode(t, s.FinishReplyEmail(ctx, &other), parley.ECONFLICT)
	due[0].State, due[0].Attempts, due[0].LastError = parley.ReplyEmailFailed, 1, "550 no such mailbox"
	if err := s.FinishReplyEmail(ctx, due[0]); err != nil {
		t.Fatal(err)
	}
	evs, err = s.ListEvents(ctx, a.account.ID, parley.EventFilter{Types: []string{parley.EventEmailSent, parley.EventEmailFailed}, Limit: 10})
	if err != nil || len(evs) != 2 {
		t.Fatalf("email events = %d, %v; want 2", len(evs), err)
	}
	var report parley.EmailReport
	if evs[0].Type != parley.EventEmailSent || evs[0].ConversationID != a.conversation.ID || json.Unmarshal(evs[0].Data, &report) != nil ||
		report.EmailID != first.ID || report.Messages != 2 || report.ThroughSeq != 5 {
		t.Fatalf("email.sent = %+v (%s)", evs[0], evs[0].Data)
	}
	if evs[1].Type != parley.EventEmailFailed || evs[1].ConversationID != second.ID || json.Unmarshal(evs[1].Data, &report) != nil || report.Error != "550 no such mailbox" {
		t.Fatalf("email.failed = %+v (%s)", evs[1], evs[1].Data)
	}
	if evs, _ := s.ListEvents(ctx, b.account.ID, parley.EventFilter{Types: []string{parley.EventEmailSent, parley.EventEmailFailed}, Limit: 10}); len(evs) != 0 {
		t.Fatalf("B has email events: %+v", evs)
	}

	// Messages the sent email carried (through seq 5) are not owed
	// again; a later one is.
	if err := s.QueueReplyEmails(ctx, a.account.ID, []*parley.ReplyEmail{owe(a.conversation.ID, 5, now)}, cur+7, cur+8); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.DueReplyEmails(ctx, now.Add(time.Hour), 10); len(d) != 0 {
		t.Fatalf("a carried message is owed again: %+v", d)
	}
	if err := s.QueueReplyEmails(ctx, a.account.ID, []*parley.ReplyEmail{owe(a.conversation.ID, 6, now)}, cur+8, cur+9); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.DueReplyEmails(ctx, now.Add(time.Hour), 10); len(d) != 1 || d[0].FromSeq != 6 {
		t.Fatalf("a new message after the email = %+v; want one owed from seq 6", d)
	}

	list, err := s.ListReplyEmails(ctx, a.account.ID, a.conversation.ID)
	if err != nil || len(list) != 2 || list[0].State != parley.ReplyEmailSent || list[0].SentAt == nil || list[1].State != parley.ReplyEmailPending {
		t.Fatalf("ListReplyEmails = %+v, %v", list, err)
	}
	if list, _ := s.ListReplyEmails(ctx, b.account.ID, a.conversation.ID); len(list) != 0 {
		t.Fatalf("B lists A's emails: %+v", list)
	}

	// Reply addresses: one per conversation, the first token kept; the
	// token finds its account and conversation; another account's
	// conversation gets none.
	tok, err := s.ReplyAddress(ctx, a.account.ID, a.conversation.ID, "tok1")
	if err != nil || tok != "tok1" {
		t.Fatalf("ReplyAddress = %q, %v", tok, err)
	}
	if tok, err := s.ReplyAddress(ctx, a.account.ID, a.conversation.ID, "tok2"); err != nil || tok != "tok1" {
		t.Fatalf("ReplyAddress again = %q, %v; want the first token kept", tok, err)
	}
	_, err = s.ReplyAddress(ctx, b.account.ID, a.conversation.ID, "tok3")
	wantCode(t, err, parley.ENOTFOUND)
	if acc, conv, err := s.FindReplyAddress(ctx, "tok1"); err != nil || acc != a.account.ID || conv != a.conversation.ID {
		t.Fatalf("FindReplyAddress = %q %q %v", acc, conv, err)
	}
	for _, tok := range []string{"tok2", "tok3", ""} {
		_, _, err := s.FindReplyAddress(ctx, tok)
		wantCode(t, err, parley.ENOTFOUND)
	}
}
