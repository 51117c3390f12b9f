package email

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"sync"
	"time"

	"github.com/parleychat/parley"
)

// Mentions by email (docs/email.md, Staff): a person mentioned in a note
// who is not in the console, and has not looked at their mentions after
// MentionDelay, gets one email listing them — as Chatwoot and Intercom
// tell teammates. Their mentions_seen (the console's Mentions tab) and
// mentions_emailed say what they know already.

// DefaultMentionDelay is how long a mention waits to be seen in the
// console before it is mailed.
const DefaultMentionDelay = 5 * time.Minute

// mentionRetry holds off a person whose mention email the mail server
// did not take for now.
type mentionRetry struct {
	mu    sync.Mutex
	until map[string]time.Time
	wait  map[string]time.Duration
}

func (r *mentionRetry) ready(key string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !now.Before(r.until[key])
}

func (r *mentionRetry) failed(key string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.until == nil {
		r.until, r.wait = map[string]time.Time{}, map[string]time.Duration{}
	}
	w := min(max(2*r.wait[key], time.Minute), time.Hour)
	r.wait[key], r.until[key] = w, now.Add(w)
}

func (r *mentionRetry) done(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.until, key)
	delete(r.wait, key)
}

// mentions mails each person their unseen mentions, at most one email
// per person per round.
func (s *Service) mentions(ctx context.Context, now time.Time) error {
	// A mention older than a day is left to the console: someone back
	// from a week away is not mailed the week.
	due, err := s.store.DueMentionEmails(ctx, now.Add(-MaxAge), now.Add(-s.MentionDelay), 200)
	if err != nil {
		return err
	}
	type person struct{ accountID, userID string }
	var order []person
	notes := map[person][]parley.MentionDue{}
	for _, d := range due {
		k := person{d.AccountID, d.UserID}
		if notes[k] == nil {
			order = append(order, k)
		}
		notes[k] = append(notes[k], d)
	}
	for _, k := range order {
		if ctx.Err() != nil {
			return nil
		}
		key := k.accountID + "/" + k.userID
		if (s.Online != nil && s.Online(k.accountID, k.userID)) || !s.retry.ready(key, now) {
			continue // in the console: they will see it there
		}
		if err := s.mailMentions(ctx, notes[k], now); err != nil {
			var perm *PermanentError
			if !errors.As(err, &perm) {
				s.retry.failed(key, now)
				s.log.Warn("mention emails: send", "user", k.userID, "err", err)
				continue
			}
			s.log.Warn("mention emails: refused for good", "user", k.userID, "err", err)
		}
		s.retry.done(key)
		last := notes[k][len(notes[k])-1].NoteID
		if _, err := s.store.MarkMentionsEmailed(context.WithoutCancel(ctx), k.accountID, k.userID, last); err != nil {
			s.log.Warn("mention emails: record", "user", k.userID, "err", err)
		}
	}
	return nil
}

// mailMentions sends one person the notes that mention them.
func (s *Service) mailMentions(ctx context.Context, notes []parley.MentionDue, now time.Time) error {
	first := notes[0]
	u, err := s.store.FindUser(ctx, first.AccountID, first.UserID)
	if err != nil {
		return err
	}
	to, err := mail.ParseAddress(u.Email)
	if err != nil {
		return &PermanentError{Err: fmt.Errorf("user %s has no usable address: %w", u.ID, err)}
	}
	to.Name = u.Name
	acc, err := s.store.FindAccount(ctx, first.AccountID)
	if err != nil {
		return err
	}
	var lines []Line
	for _, n := range notes {
		l := Line{Who: n.Author, Text: n.Text, At: n.At}
		if s.ConsoleURL != "" {
			l.Link, l.LinkText = s.ConsoleURL+"#conversation="+n.ConversationID, "Open the conversation"
		}
		lines = append(lines, l)
	}
	subject := first.Author + " mentioned you in a conversation"
	intro := first.Author + " mentioned you in a note at " + acc.Name + ":"
	if len(notes) > 1 {
		subject = fmt.Sprintf("You were mentioned in %d notes", len(notes))
		intro = fmt.Sprintf("You were mentioned in %d notes at %s:", len(notes), acc.Name)
	}
	l := &Letter{
		From:    mail.Address{Name: acc.Name, Address: s.from},
		To:      *to,
		Subject: subject,
		Intro:   intro,
		Lines:   lines,
		Footer:  "The console's Mentions tab has them, with their conversations. You get this email because you were away; turn these emails off in your Profile.",
		ID:      "mention-" + notes[len(notes)-1].NoteID,
		Date:    now,
	}
	return s.deliver(ctx, l)
}
