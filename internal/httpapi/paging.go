package httpapi

import (
	"context"

	"github.com/parleychat/parley"
)

// pageSize is how many rows one store read returns when a handler walks a
// whole list.
const pageSize = 200

// eachConversation calls fn for every conversation of the account that f
// selects, a page at a time (f.After and f.Limit are its own).
func (a *API) eachConversation(ctx context.Context, accountID string, f parley.ConversationFilter, fn func(*parley.Conversation) error) error {
	f.After, f.Limit = "", pageSize
	for {
		page, err := a.store.ListConversations(ctx, accountID, f)
		if err != nil {
			return err
		}
		for _, c := range page {
			if err := fn(c); err != nil {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		f.After = page[len(page)-1].ID
	}
}

// allMessages reads a conversation's messages from first to last, a page
// at a time, with list (the store's, or the service's for a principal).
func allMessages(list func(afterSeq int64, limit int) ([]*parley.Message, error)) ([]*parley.Message, error) {
	out := []*parley.Message{}
	for seq := int64(0); ; {
		page, err := list(seq, 1000)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < 1000 {
			return out, nil
		}
		seq = page[len(page)-1].Seq
	}
}
