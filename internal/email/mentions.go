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
	mailEachPerson(ctx, s, now, "mention", false, due,
		func(d parley.MentionDue) (string, string) { return d.AccountID, d.UserID },
		s.mailMentions,
		func(ctx context.Context, last parley.MentionDue) error {
			_, err := s.store.MarkMentionsEmailed(ctx, last.AccountID, last.UserID, last.NoteID)
			return err
		})
	return nil
}

// mailEachPerson sends each person the items due to them (oldest first)
// in one email, unless they are in the console, which tells them, or the
// mail server asked to wait for them; then records the last item mailed,
// even when the server refused for good (those items are given up).
// With told, items due while the person is in the console are recorded
// as known without an email (the console showed them as they came);
// without it they wait for the person to leave, or to mark them seen.
func mailEachPerson[T any](ctx context.Context, s *Service, now time.Time, kind string, told bool, due []T,
	whose func(T) (accountID, userID string), mail func(context.Context, []T, time.Time) error, record func(context.Context, T) error) {
	type person struct{ accountID, userID string }
	var order []person
	items := map[person][]T{}
	for _, d := range due {
		a, u := whose(d)
		k := person{a, u}
		if items[k] == nil {
			order = append(order, k)
		}
		items[k] = append(items[k], d)
	}
	for _, k := range order {
		if ctx.Err() != nil {
			return
		}
		key := kind + ":" + k.accountID + "/" + k.userID
		if s.Online != nil && s.Online(k.accountID, k.userID) {
			if told {
				if err := record(context.WithoutCancel(ctx), items[k][len(items[k])-1]); err != nil {
					s.log.Warn(kind+" emails: record", "user", k.userID, "err", err)
				}
			}
			continue // in the console: they see it there
		}
		if !s.retry.ready(key, now) {
			continue
		}
		if err := mail(ctx, items[k], now); err != nil {
			var perm *PermanentError
			if !errors.As(err, &perm) {
				s.retry.failed(key, now)
				s.log.Warn(kind+" emails: send", "user", k.userID, "err", err)
				continue
			}
			s.log.Warn(kind+" emails: refused for good", "user", k.userID, "err", err)
		}
		s.retry.done(key)
		if err := record(context.WithoutCancel(ctx), items[k][len(items[k])-1]); err != nil {
			s.log.Warn(kind+" emails: record", "user", k.userID, "err", err)
		}
	}
}

// colleague returns the address of a person of the brand, and the brand;
// a person without a usable address is a PermanentError.
func (s *Service) colleague(ctx context.Context, accountID, userID string) (*mail.Address, *parley.Account, error) {
	u, err := s.store.FindUser(ctx, accountID, userID)
	if err != nil {
		return nil, nil, err
	}
	to, err := mail.ParseAddress(u.Email)
	if err != nil {
		return nil, nil, &PermanentError{Err: fmt.Errorf("user %s has no usable address: %w", u.ID, err)}
	}
	to.Name = u.Name
	acc, err := s.store.FindAccount(ctx, accountID)
	if err != nil {
		return nil, nil, err
	}
	return to, acc, nil
}

// mailMentions sends one person the notes that mention them.
func (s *Service) mailMentions(ctx context.Context, notes []parley.MentionDue, now time.Time) error {
	first := notes[0]
	to, acc, err := s.colleague(ctx, first.AccountID, first.UserID)
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
