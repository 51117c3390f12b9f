package email

import (
	"context"
	"fmt"
	"net/mail"
	"time"

	"github.com/parleychat/parley"
)

// Follow emails (docs/email.md, Followers): a person who follows a
// conversation (Zendesk's followers, Chatwoot's participants) and is not
// in the console hears by email what its visitor and the brand's people
// wrote there, once it is MentionDelay old — as Chatwoot mails a
// participant a new message. One email per person and round, for every
// conversation they follow; follows_emailed says what they were sent.

// follows mails each person what is new in the conversations they follow.
func (s *Service) follows(ctx context.Context, now time.Time) error {
	due, err := s.store.DueFollowEmails(ctx, now.Add(-MaxAge), now.Add(-s.MentionDelay), 500)
	if err != nil {
		return err
	}
	// What becomes due while they are in the console, the console told
	// them as it came (a chime, the Following tab): it is not mailed later.
	mailEachPerson(ctx, s, now, "follow", true, due,
		func(d parley.FollowDue) (string, string) { return d.AccountID, d.UserID },
		s.mailFollows,
		func(ctx context.Context, last parley.FollowDue) error {
			_, err := s.store.MarkFollowsEmailed(ctx, last.AccountID, last.UserID, last.MessageID)
			return err
		})
	return nil
}

// mailFollows sends one person the messages of the conversations they
// follow, oldest first.
func (s *Service) mailFollows(ctx context.Context, msgs []parley.FollowDue, now time.Time) error {
	first := msgs[0]
	to, acc, err := s.colleague(ctx, first.AccountID, first.UserID)
	if err != nil {
		return err
	}
	conversations := map[string]bool{}
	var lines []Line
	for _, m := range msgs {
		conversations[m.ConversationID] = true
		who := m.Sender
		switch {
		case m.FromVisitor && who == "":
			who = "The visitor"
		case !m.FromVisitor && who == "":
			who = acc.Name
		case !m.FromVisitor && m.Visitor != "":
			who += " to " + m.Visitor
		}
		l := Line{Who: who, Text: m.Text, At: m.At}
		if s.ConsoleURL != "" {
			l.Link, l.LinkText = s.ConsoleURL+"#conversation="+m.ConversationID, "Open the conversation"
		}
		lines = append(lines, l)
	}
	subject := "New in a conversation you follow"
	if first.Visitor != "" && len(conversations) == 1 {
		subject = "New in your conversation with " + first.Visitor
	}
	intro := fmt.Sprintf("%d new messages at %s, in a conversation you follow:", len(msgs), acc.Name)
	if len(msgs) == 1 {
		intro = "A new message at " + acc.Name + ", in a conversation you follow:"
	}
	if len(conversations) > 1 {
		subject = fmt.Sprintf("New in %d conversations you follow", len(conversations))
		intro = fmt.Sprintf("%d new messages at %s, in %d conversations you follow:", len(msgs), acc.Name, len(conversations))
	}
	l := &Letter{
		From:    mail.Address{Name: acc.Name, Address: s.from},
		To:      *to,
		Subject: subject,
		Intro:   intro,
		Lines:   lines,
		Footer:  "The console's Following tab has these conversations. You get this email because you follow them and were away; stop following one with its Following button, or turn these emails off in your Profile.",
		ID:      "follow-" + msgs[len(msgs)-1].MessageID,
		Date:    now,
	}
	return s.deliver(ctx, l)
}
