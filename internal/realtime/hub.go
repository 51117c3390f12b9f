package realtime

import (
	"encoding/json"
	"hash/maphash"
	"sync"

	"github.com/tidwall/gjson"

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
	if e.Type == parley.EventAgentStatusChanged {
		h.status(e)
		return
	}
	frame := eventFrame(e)
	if frame == nil {
		return
	}
	it := item{kind: itemEvent, conversationID: e.ConversationID, seq: e.MessageSeq, frame: frame}
	// Visitors never see notes, labels, priorities, snoozes or followers (nor ratings:
	// theirs is already theirs).
	staffOnly := e.Type == parley.EventNoteCreated || e.Type == parley.EventNoteRedacted || e.Type == parley.EventConversationLabeled || e.Type == parley.EventConversationFields || e.Type == parley.EventConversationPriority ||
		e.Type == parley.EventConversationSnoozed || e.Type == parley.EventConversationFollowed || e.Type == parley.EventCSATSubmitted || e.Type == parley.EventPageViewed
	visitorIt := it
	if isConversationEvent(e.Type) && staffFields(e.Data) {
		visitorIt.frame = withoutStaffFields(e)
	}
	if e.Type == conversation.EventTyping {
		var t conversation.TypingData
		json.Unmarshal(e.Data, &t)
		it.senderID = t.SenderID              // the typist does not get their own indicator
		staffOnly = staffOnly || t.Text != "" // a draft is for the agents alone
	}
	if e.Type == conversation.EventViewing { // the team's own: who has it open
		it.senderID, staffOnly = gjson.GetBytes(e.Data, "user_id").Str, true
	}
	if e.ConversationID != "" {
		s := h.shard(e.ConversationID)
		s.mu.RLock()
		for c := range s.conversations[e.ConversationID] {
			switch {
			case c.principal.AccountID != e.AccountID || c.principal.ID == it.senderID:
			case c.principal.IsStaff():
				c.enqueue(it)
			case !staffOnly && visitorIt.frame != nil:
				c.enqueue(visitorIt)
			}
		}
		s.mu.RUnlock()
	}
	if e.Type == parley.EventNoteCreated {
		h.mention(e)
	}
	if isConversationEvent(e.Type) || e.Type == parley.EventCSATSubmitted { // a rating: for the consoles
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

// mention tells the colleagues a note mentions, on every console they
// have open (those follow the account's inbox), with a mention frame —
// whether or not they follow the conversation.
func (h *hub) mention(e *parley.Event) {
	mentions := gjson.GetBytes(e.Data, "mentions").Array()
	if len(mentions) == 0 {
		return
	}
	author := gjson.GetBytes(e.Data, "author_id").Str
	frame := append(append([]byte(`{"type":"mention","note":`), e.Data...), '}')
	it := item{kind: itemInbox, conversationID: e.ConversationID, frame: frame}
	s := h.shard(e.AccountID)
	s.mu.RLock()
	defer s.mu.RUnlock()
	for c := range s.inboxes[e.AccountID] {
		if c.principal.AccountID != e.AccountID || c.principal.ID == author {
			continue
		}
		for _, m := range mentions {
			if m.Str == c.principal.ID {
				c.enqueue(it)
				break
			}
		}
	}
}

// status tells a person's consoles (those follow the account's inbox) that
// their status changed — in another tab, or by a supervisor — so every
// console's menu says what the router goes by.
func (h *hub) status(e *parley.Event) {
	user := gjson.GetBytes(e.Data, "user_id").Str
	if user == "" || gjson.GetBytes(e.Data, "cause").Str == parley.CauseDisconnected {
		return
	}
	frame := append(append([]byte(`{"type":"status","status":`), e.Data...), '}')
	it := item{kind: itemInbox, frame: frame}
	s := h.shard(e.AccountID)
	s.mu.RLock()
	defer s.mu.RUnlock()
	for c := range s.inboxes[e.AccountID] {
		if c.principal.AccountID == e.AccountID && c.principal.ID == user {
			c.enqueue(it)
		}
	}
}

// staffOnlyFields are the parts of a conversation its visitor does not
// see: the staff's labels, fields, snooze and followers.
var staffOnlyFields = []string{"labels", "fields", "snoozed_until", "snoozed_at", "followers"}

func staffFields(data []byte) bool {
	for _, r := range gjson.GetManyBytes(data, staffOnlyFields...) {
		if r.Exists() {
			return true
		}
	}
	return false
}

// withoutStaffFields is a conversation event's frame with the staff's
// fields taken out, for the conversation's visitor.
func withoutStaffFields(e *parley.Event) []byte {
	var data map[string]json.RawMessage
	if err := json.Unmarshal(e.Data, &data); err != nil {
		return nil
	}
	for _, f := range staffOnlyFields {
		delete(data, f)
	}
	cp := *e
	cp.Data = mustJSON(data)
	return eventFrame(&cp)
}

func isConversationEvent(t string) bool {
	switch t {
	case parley.EventConversationOpened, parley.EventConversationQueued, parley.EventConversationRequeued,
		parley.EventConversationAssigned, parley.EventConversationClosed, parley.EventConversationLabeled, parley.EventConversationFields, parley.EventConversationPriority,
		parley.EventConversationSnoozed, parley.EventConversationFollowed:
		return true
	}
	return false
}
