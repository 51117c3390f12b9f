package conversation

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/parleychat/parley"
)

// Announcer tells visitors, in system messages, what happens to their
// conversation: an agent joined, they were transferred, they are still in
// line. Each message has a client ID derived from what it announces, so
// every node may announce and the visitor still sees it once.
type Announcer struct {
	store parley.Store
	log   *slog.Logger
	work  chan *parley.Event
	// noticed holds, per queued conversation, the client ID of the queue
	// notice this node posted for its current wait (NoticeWaiting's own,
	// which runs on one goroutine): the next ticks skip it instead of
	// writing it again to learn it is a resend.
	noticed map[string]string
}

// NewAnnouncer returns an announcer; feed it with OnEvent and start Run.
func NewAnnouncer(store parley.Store, log *slog.Logger) *Announcer {
	return &Announcer{store: store, log: log, work: make(chan *parley.Event, 4096), noticed: map[string]string{}}
}

// OnEvent queues conversation changes; it never blocks the bus. A full
// queue drops the announcement, never the change itself.
func (a *Announcer) OnEvent(e *parley.Event) {
	if e.Type != parley.EventConversationAssigned && e.Type != parley.EventConversationRequeued {
		return
	}
	select {
	case a.work <- e:
	default:
		a.log.Warn("announcement dropped: queue full", "conversation", e.ConversationID)
	}
}

// Run posts announcements until ctx ends.
func (a *Announcer) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-a.work:
			if err := a.announce(ctx, e); err != nil && ctx.Err() == nil {
				a.log.Warn("announcement failed", "conversation", e.ConversationID, "err", err)
			}
		}
	}
}

func (a *Announcer) announce(ctx context.Context, e *parley.Event) error {
	var c struct {
		parley.Conversation
		Reason string `json:"requeue_reason"`
	}
	if err := json.Unmarshal(e.Data, &c); err != nil {
		return err
	}
	var text string
	var notice *parley.Notice
	switch e.Type {
	case parley.EventConversationAssigned:
		u, err := a.store.FindUser(ctx, e.AccountID, c.AssigneeID)
		if err != nil {
			return err
		}
		text = u.Name + " joined the conversation"
		notice = &parley.Notice{Code: parley.NoticeAgentJoined, Args: map[string]string{"name": u.Name}}
	case parley.EventConversationRequeued:
		if c.Reason != "transfer" {
			return nil
		}
		text = "You are being transferred to another agent"
		notice = &parley.Notice{Code: parley.NoticeTransferred}
	}
	return a.system(ctx, e.AccountID, c.ID, fmt.Sprintf("%s:%d", e.Type, e.Seq), text, notice)
}

// system posts a system message: text in English for the console and the
// API, notice for the widget to say in the visitor's language.
func (a *Announcer) system(ctx context.Context, accountID, conversationID, clientID, text string, notice *parley.Notice) error {
	_, _, err := a.store.AppendMessage(ctx, &parley.Message{AccountID: accountID, ConversationID: conversationID,
		SenderKind: parley.SenderSystem, ClientID: clientID, Type: parley.MessageText, Text: text, Notice: notice})
	if parley.ErrorCode(err) == parley.ECONFLICT { // closed meanwhile: nothing to tell
		return nil
	}
	return err
}

// NoticeWaiting tells each visitor who has waited in the queue longer than
// the account's queue notice that they are still in line, once per wait.
func (a *Announcer) NoticeWaiting(ctx context.Context, now time.Time) error {
	accounts, err := a.store.ListAccounts(ctx)
	if err != nil {
		return err
	}
	noticed := map[string]string{} // of the conversations still waiting
	for _, acc := range accounts {
		after := acc.Settings.QueueNotice()
		if after <= 0 {
			continue
		}
		queued, err := a.queued(ctx, acc.ID)
		if err != nil {
			return err
		}
		for _, c := range queued {
			if c.QueuedAt == nil || now.Sub(*c.QueuedAt) < after {
				continue
			}
			// One notice per wait: the client ID names this wait's start.
			id := fmt.Sprintf("queue-notice:%d", c.QueuedAt.UnixMicro())
			if a.noticed[c.ID] != id {
				if err := a.system(ctx, acc.ID, c.ID, id, "Thanks for waiting — you're in line and an agent will be with you shortly.",
					&parley.Notice{Code: parley.NoticeInLine}); err != nil {
					return err
				}
			}
			noticed[c.ID] = id
		}
	}
	a.noticed = noticed
	return nil
}

// queued lists all the account's queued conversations, a page at a time
// (the list comes newest first: those who waited longest are on the last
// page).
func (a *Announcer) queued(ctx context.Context, accountID string) ([]*parley.Conversation, error) {
	var all []*parley.Conversation
	f := parley.ConversationFilter{State: parley.StateQueued, Limit: 200}
	for {
		page, err := a.store.ListConversations(ctx, accountID, f)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < f.Limit {
			return all, nil
		}
		f.After = page[len(page)-1].ID
	}
}
