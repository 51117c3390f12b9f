package realtime

import (
	"encoding/json"
	"hash/maphash"
	"sync"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/conversation"
)

const hubShards = 64

// hub knows which connections follow which conversation and which follow
// an account's inbox. It is sharded so that fan-out for different
// conversations does not contend on one lock.
type hub struct {
	seed   maphash.Seed
	shards [hubShards]hubShard
}

type hubShard struct {
	mu            sync.RWMutex
	conversations map[string]map[*conn]struct{}
	inboxes       map[string]map[*conn]struct{} // account ID → agent connections
}

func newHub() *hub {
	h := &hub{seed: maphash.MakeSeed()}
	for i := range h.shards {
		h.shards[i].conversations = make(map[string]map[*conn]struct{})
		h.shards[i].inboxes = make(map[string]map[*conn]struct{})
	}
	return h
}

func (h *hub) shard(key string) *hubShard {
	return &h.shards[maphash.String(h.seed, key)%hubShards]
}

func add(m map[string]map[*conn]struct{}, key string, c *conn) {
	set := m[key]
	if set == nil {
		set = make(map[*conn]struct{})
		m[key] = set
	}
	set[c] = struct{}{}
}

func remove(m map[string]map[*conn]struct{}, key string, c *conn) {
	if set := m[key]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(m, key)
		}
	}
}

func (h *hub) follow(conversationID string, c *conn) {
	s := h.shard(conversationID)
	s.mu.Lock()
	add(s.conversations, conversationID, c)
	s.mu.Unlock()
}

func (h *hub) unfollow(conversationID string, c *conn) {
	s := h.shard(conversationID)
	s.mu.Lock()
	remove(s.conversations, conversationID, c)
	s.mu.Unlock()
}

func (h *hub) followInbox(accountID string, c *conn) {
	s := h.shard(accountID)
	s.mu.Lock()
	add(s.inboxes, accountID, c)
	s.mu.Unlock()
}

func (h *hub) unfollowInbox(accountID string, c *conn) {
	s := h.shard(accountID)
	s.mu.Lock()
	remove(s.inboxes, accountID, c)
	s.mu.Unlock()
}

// dispatch hands one event to every connection that follows it. The frame
// is encoded once; each connection gets the same bytes.
func (h *hub) dispatch(e *parley.Event) {
	frame := eventFrame(e)
	if frame == nil {
		return
	}
	it := item{kind: itemEvent, conversationID: e.ConversationID, seq: e.MessageSeq, frame: frame}
	staffOnly := e.Type == parley.EventNoteCreated // visitors never see notes
	if e.Type == conversation.EventTyping {
		var t conversation.TypingData
		json.Unmarshal(e.Data, &t)
		it.senderID = t.SenderID // the typist does not get their own indicator
	}
	if e.ConversationID != "" {
		s := h.shard(e.ConversationID)
		s.mu.RLock()
		for c := range s.conversations[e.ConversationID] {
			if c.principal.AccountID == e.AccountID && c.principal.ID != it.senderID && !(staffOnly && !c.principal.IsStaff()) {
				c.enqueue(it)
			}
		}
		s.mu.RUnlock()
	}
	if isConversationEvent(e.Type) {
		s := h.shard(e.AccountID)
		s.mu.RLock()
		inboxItem := it
		inboxItem.kind = itemInbox
		for c := range s.inboxes[e.AccountID] {
			c.enqueue(inboxItem)
		}
		s.mu.RUnlock()
	}
}

func isConversationEvent(t string) bool {
	switch t {
	case parley.EventConversationOpened, parley.EventConversationQueued, parley.EventConversationRequeued,
		parley.EventConversationAssigned, parley.EventConversationClosed:
		return true
	}
	return false
}
