package realtime

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/conversation"
)

type itemKind uint8

const (
	itemControl   itemKind = iota // a reply frame (ack, error, pong, ...)
	itemEvent                     // a frame for a followed conversation
	itemInbox                     // a conversation frame for the account's inbox
	itemSubscribe                 // start following: backfill, then live
	itemUnsubscribe
)

// item is one entry of a connection's outgoing queue.
type item struct {
	kind           itemKind
	conversationID string
	seq            int64 // message seq, for message frames
	afterSeq       int64 // for itemSubscribe
	// conv is, for itemSubscribe, the conversation as read before following
	// it: a change after that arrives as a live conversation frame.
	conv      *parley.Conversation
	requestID string
	frame     []byte
	senderID  string // for typing frames
}

// conn is one WebSocket client. Its reader handles frames in order; after
// five seconds without one, the reader parks the connection with the poller
// and ends, and the poller starts a new reader when bytes arrive (an idle
// connection holds no goroutine). Outgoing items wait in a queue that a
// writer goroutine drains; the writer runs only while there is something
// to write, and only one runs at a time, so it alone owns the outgoing
// frames and the per-conversation position (last seq sent): ordering logic
// lives in one place. It puts every frame waiting at the moment on the
// wire in one write.
type conn struct {
	g         *Gateway
	sock      *socket
	fd        int // the socket's descriptor, for the poller (-1: never parks)
	principal parley.Principal
	remote    string // the client's address (after trusted proxies)
	session   string // auth.SessionKey of the cookie it was opened with, if any
	ctx       context.Context
	cancel    context.CancelFunc

	// The reader's own (one reader at a time, handed over by the poller).
	lastFrame time.Time   // when the last frame arrived (idle timeout)
	idleTimer *time.Timer // wakes a parked connection at its idle timeout
	frame     frameCtx    // the frames' context (requestCtx)

	endMu sync.Mutex
	end   ending // why the connection ends, once something asked

	qmu     sync.Mutex
	queue   []item
	writing bool             // a writer goroutine is draining the queue
	wakeW   chan struct{}    // tells a lingering writer that items arrived or the end came
	closed  bool             // the connection is ending: no new writer starts
	last    map[string]int64 // conversation → last message seq written; the writer's
	wbuf    []byte           // frames encoded and not yet written; the writer's
	writers sync.WaitGroup

	mu        sync.Mutex
	following map[string]bool // conversations followed, for cleanup
	inbox     bool
	slow      atomic.Bool
}

// ending records the first reason given for ending a connection.
type ending struct {
	asked      bool
	code       ws.StatusCode
	reason     string
	abrupt     bool // no close frame: the network is gone (or Drop)
	peerClosed bool // the client sent its close frame; ours answers it
}

// closeWith asks the connection to end with a close frame (code, reason)
// once the frame being handled is finished and the queue is written. The
// first reason wins.
func (c *conn) closeWith(e ending) {
	c.endMu.Lock()
	if !c.end.asked {
		e.asked = true
		c.end = e
	}
	// Wake a reader blocked on the socket; under endMu so that a reader
	// cannot set a later deadline after missing this ending.
	c.sock.nc.SetReadDeadline(time.Unix(1, 0))
	c.endMu.Unlock()
	c.wakeParked()
}

// ending reports the connection's ending, if one was asked for.
func (c *conn) ending() (ending, bool) {
	c.endMu.Lock()
	defer c.endMu.Unlock()
	return c.end, c.end.asked
}

// enqueue adds an item without ever blocking. A client whose queue is full
// cannot keep up; it is disconnected and will resync on reconnect.
func (c *conn) enqueue(it item) {
	c.qmu.Lock()
	if c.closed || c.slow.Load() {
		c.qmu.Unlock()
		return
	}
	if len(c.queue) >= c.g.cfg.QueueSize {
		c.slow.Store(true)
		c.queue = nil // what it missed, it resyncs
		c.qmu.Unlock()
		c.g.metrics.SlowDisconnects.Inc()
		c.closeWith(ending{code: CloseTooSlow, reason: "client too slow; reconnect and resync"})
		return
	}
	c.queue = append(c.queue, it)
	start := !c.writing
	if start {
		c.writing = true
		c.writers.Add(1)
	}
	c.qmu.Unlock()
	if start {
		go c.drain()
		return
	}
	select {
	case c.wakeW <- struct{}{}:
	default:
	}
}

// writerLinger is how long a writer waits for more before it ends: under
// load one writer serves many messages; an idle connection frees it soon.
const writerLinger = 2 * time.Second

// flushAt is how many encoded bytes the writer collects before writing
// them even though more items wait.
const flushAt = 64 << 10

// stopWriting lets the running writer (if any) write what is queued (or
// drop it, when the network is gone) and end, and starts no other.
func (c *conn) stopWriting(drop bool) {
	c.qmu.Lock()
	c.closed = true
	if drop {
		c.queue = nil
	}
	c.qmu.Unlock()
	select {
	case c.wakeW <- struct{}{}:
	default:
	}
	c.writers.Wait()
}

// drain writes queued items until the queue stays empty (then the
// goroutine ends) or the connection breaks.
func (c *conn) drain() {
	defer c.writers.Done()
	var linger *time.Timer
	failed := false
	for {
		c.qmu.Lock()
		if len(c.queue) == 0 && !failed {
			c.qmu.Unlock()
			if err := c.flush(); err != nil {
				failed = true
				c.closeWith(ending{abrupt: true})
				continue
			}
			c.qmu.Lock()
			if len(c.queue) == 0 && !c.closed {
				c.qmu.Unlock()
				if linger == nil {
					linger = time.NewTimer(writerLinger)
					defer linger.Stop()
				} else {
					linger.Reset(writerLinger)
				}
				select {
				case <-c.wakeW:
					continue
				case <-linger.C:
				}
				c.qmu.Lock()
			}
		}
		if len(c.queue) == 0 || failed {
			c.queue, c.writing = nil, false // nothing held while idle
			c.wbuf = nil
			c.qmu.Unlock()
			return
		}
		it := c.queue[0]
		c.queue[0] = item{}
		c.queue = c.queue[1:]
		c.qmu.Unlock()
		if c.last == nil {
			c.last = make(map[string]int64)
		}
		if err := c.writeItem(it, c.last); err != nil {
			failed = true
			c.closeWith(ending{abrupt: true})
		}
	}
}

func (c *conn) reply(v any) { c.enqueue(item{kind: itemControl, frame: mustJSON(v)}) }

func (c *conn) replyError(id string, err error) {
	code := parley.ErrorCode(err)
	if code == parley.EINTERNAL && errors.Is(err, context.DeadlineExceeded) {
		// The store did not get to it in time (requestCtx): the client
		// may send it again; a send's client ID keeps that from storing
		// it twice.
		err = parley.Errorf(parley.EUNAVAILABLE, "the server did not finish the request in time (the limit is %s); send it again", c.g.cfg.RequestTimeout)
		code = parley.EUNAVAILABLE
	}
	if code == parley.EINTERNAL {
		c.g.log.Error("frame failed", "principal", c.principal.ID, "err", err)
	}
	c.g.metrics.FrameErrors.WithLabelValues(code).Inc()
	c.reply(errorFrame{Type: "error", ID: id, Code: code, Message: parley.ErrorMessage(err)})
}

func (c *conn) writeItem(it item, last map[string]int64) error {
	switch it.kind {
	case itemControl, itemInbox:
		return c.write(it.frame)
	case itemSubscribe:
		last[it.conversationID] = it.afterSeq
		seq, err := c.catchUp(it.conversationID, -1, last)
		if err != nil {
			return err
		}
		return c.write(mustJSON(subscribedFrame{Type: "subscribed", ID: it.requestID, ConversationID: it.conversationID, LastSeq: seq,
			State: it.conv.State, CloseReason: it.conv.CloseReason}))
	case itemUnsubscribe:
		delete(last, it.conversationID)
		return nil
	case itemEvent:
		pos, following := last[it.conversationID]
		if !following {
			// Not yet subscribed (the backfill will include it) or no longer.
			return nil
		}
		if it.seq == 0 {
			return c.write(it.frame) // typing, receipts, state changes
		}
		switch {
		case it.seq <= pos:
			return nil // already sent by a backfill
		case it.seq == pos+1:
			last[it.conversationID] = it.seq
			return c.write(it.frame)
		default:
			// A gap: something was missed (a notification lost, or this
			// node learned late). Recover from the store, never the bus.
			_, err := c.catchUp(it.conversationID, it.seq, last)
			return err
		}
	}
	return nil
}

// catchUp sends stored messages after the conversation's last written seq,
// up to upTo (or all, when upTo < 0), and returns the last seq written.
func (c *conn) catchUp(conversationID string, upTo int64, last map[string]int64) (int64, error) {
	for {
		pos := last[conversationID]
		if upTo >= 0 && pos >= upTo {
			return pos, nil
		}
		ctx, cancel := context.WithTimeout(c.ctx, c.g.cfg.RequestTimeout)
		msgs, err := c.g.store.ListMessages(ctx, c.principal.AccountID, conversationID, pos, 200)
		cancel()
		if err != nil {
			c.replyError("", err)
			return pos, nil
		}
		for _, m := range msgs {
			frame := append(append([]byte(`{"type":"message","conversation_id":`), mustJSON(conversationID)...), `,"message":`...)
			frame = append(append(frame, mustJSON(m)...), '}')
			if err := c.write(frame); err != nil {
				return pos, err
			}
			last[conversationID] = m.Seq
		}
		if len(msgs) < 200 {
			return last[conversationID], nil
		}
	}
}

// write encodes frame for the wire; flush (or the next item's write, once
// enough has collected) puts it there.
func (c *conn) write(frame []byte) error {
	c.wbuf = appendText(c.wbuf, frame)
	c.g.metrics.FramesOut.Inc()
	if len(c.wbuf) >= flushAt {
		return c.flush()
	}
	return nil
}

// flush writes the encoded frames in one write.
func (c *conn) flush() error {
	if len(c.wbuf) == 0 {
		return nil
	}
	err := c.sock.write(c.wbuf)
	c.wbuf = c.wbuf[:0]
	return err
}

// frameCtx is a context with the request deadline that successive frames
// share while most of their time is left.
type frameCtx struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// requestCtx is the context of the frame about to run: the connection's
// (which carries the principal, and ends with the connection) with a
// deadline RequestTimeout away, less at most a sixteenth of it. A context
// with a deadline of its own for every frame cost its timer's start and
// stop, 2.3 % of the server's CPU under parley bench's max
// (docs/performance.md, session 36); this one is made again when the
// deadline comes near, at 15 s a new one a second at most. A context
// outlives its frame by that much: nothing a frame starts may rely on it
// ending with the frame.
func (c *conn) requestCtx() context.Context {
	timeout := c.g.cfg.RequestTimeout
	if c.frame.ctx != nil {
		if until, _ := c.frame.ctx.Deadline(); c.frame.ctx.Err() == nil && time.Until(until) >= timeout-timeout/16 {
			return c.frame.ctx
		}
		c.frame.cancel() // lets the connection's context forget it
	}
	c.frame.ctx, c.frame.cancel = context.WithTimeout(c.ctx, timeout)
	return c.frame.ctx
}

// handle runs one client frame. Errors go back as error frames; the
// connection stays open.
func (c *conn) handle(f *inFrame) {
	c.g.metrics.FramesIn.WithLabelValues(frameLabel(f.Type)).Inc()
	ctx := c.requestCtx()
	p := c.principal
	switch f.Type {
	case "ping":
		c.reply(okFrame{Type: "pong", ID: f.ID})
	case "auth":
		c.replyError(f.ID, parley.Errorf(parley.ECONFLICT, "already authenticated"))
	case "subscribe":
		if f.ConversationID == "" {
			c.replyError(f.ID, parley.Errorf(parley.EINVALID, "conversation_id is required"))
			return
		}
		conv, err := c.g.conv.Get(ctx, p, f.ConversationID)
		if err != nil {
			c.replyError(f.ID, err)
			return
		}
		var after int64
		if f.AfterSeq != nil {
			after = *f.AfterSeq
		}
		if after < 0 || after > conv.LastSeq {
			c.replyError(f.ID, parley.Errorf(parley.EINVALID, "after_seq %d is beyond the last message (%d)", after, conv.LastSeq))
			return
		}
		c.mu.Lock()
		if len(c.following) >= c.g.cfg.MaxSubscriptions && !c.following[conv.ID] {
			c.mu.Unlock()
			c.replyError(f.ID, parley.Errorf(parley.ETOOLARGE, "a connection may follow at most %d conversations", c.g.cfg.MaxSubscriptions))
			return
		}
		c.following[conv.ID] = true
		c.mu.Unlock()
		// Follow first, then backfill: anything committed after the
		// backfill's read arrives live, anything before it is in the read.
		c.g.hub.follow(conv.ID, c)
		c.enqueue(item{kind: itemSubscribe, conversationID: conv.ID, afterSeq: after, requestID: f.ID, conv: conv})
	case "unsubscribe":
		c.mu.Lock()
		followed := c.following[f.ConversationID]
		delete(c.following, f.ConversationID)
		c.mu.Unlock()
		if !followed {
			c.replyError(f.ID, parley.Errorf(parley.ENOTFOUND, "not subscribed to %q", f.ConversationID))
			return
		}
		c.g.hub.unfollow(f.ConversationID, c)
		c.enqueue(item{kind: itemUnsubscribe, conversationID: f.ConversationID})
		c.reply(okFrame{Type: "unsubscribed", ID: f.ID})
	case "subscribe_inbox":
		if !p.IsStaff() {
			c.replyError(f.ID, parley.Errorf(parley.EFORBIDDEN, "only agents have an inbox"))
			return
		}
		c.mu.Lock()
		c.inbox = true
		c.mu.Unlock()
		c.g.hub.followInbox(p.AccountID, c)
		c.reply(okFrame{Type: "inbox_subscribed", ID: f.ID})
	case "open":
		conv, err := c.g.conv.Open(ctx, p, conversation.OpenInput{Skill: f.Skill, Engagement: f.Engagement, Invitation: f.Invitation})
		if err != nil {
			c.replyError(f.ID, err)
			return
		}
		c.reply(openedFrame{Type: "opened", ID: f.ID, Conversation: conv})
	case "send":
		c.send(ctx, f)
	case "typing":
		if f.Typing == nil {
			c.replyError(f.ID, parley.Errorf(parley.EINVALID, "typing (true or false) is required"))
			return
		}
		if err := c.g.conv.Typing(ctx, p, f.ConversationID, *f.Typing, f.Text); err != nil {
			c.replyError(f.ID, err)
		}
	case "viewing":
		if f.Viewing == nil {
			c.replyError(f.ID, parley.Errorf(parley.EINVALID, "viewing (true or false) is required"))
			return
		}
		if err := c.g.conv.Viewing(ctx, p, f.ConversationID, *f.Viewing); err != nil {
			c.replyError(f.ID, err)
		}
	case "presence":
		if p.Kind != parley.PrincipalUser || c.g.Staff == nil {
			c.replyError(f.ID, parley.Errorf(parley.EFORBIDDEN, "only agents have a presence"))
			return
		}
		if err := c.g.Staff.SetPresence(ctx, p.AccountID, p.ID, f.State, f.Reason, f.Auto); err != nil {
			c.replyError(f.ID, err)
			return
		}
		c.reply(okFrame{Type: "presence_set", ID: f.ID})
	case "receipt":
		if f.Seq == nil {
			c.replyError(f.ID, parley.Errorf(parley.EINVALID, "seq is required"))
			return
		}
		if _, err := c.g.conv.Receipt(ctx, p, f.ConversationID, f.Kind, *f.Seq); err != nil {
			c.replyError(f.ID, err)
		}
	case "":
		c.replyError(f.ID, parley.Errorf(parley.EINVALID, "frame has no type"))
	default:
		c.replyError(f.ID, parley.Errorf(parley.EINVALID, "unknown frame type %q", f.Type))
	}
}

// send stores a message and acknowledges it once it is durable.
func (c *conn) send(ctx context.Context, f *inFrame) {
	start := time.Now()
	if f.Message == nil {
		c.replyError(f.ID, parley.Errorf(parley.EINVALID, "message is required"))
		return
	}
	m, dup, err := c.g.conv.Send(ctx, c.principal, conversation.SendInput{
		ConversationID: f.ConversationID, ClientID: f.ClientID,
		Type: f.Message.Type, Text: f.Message.Text, Choices: f.Message.Choices, Card: f.Message.Card, Suggestion: f.Suggestion,
	})
	if err != nil {
		c.replyError(f.ID, err)
		return
	}
	if !dup {
		c.g.metrics.Messages.WithLabelValues(string(m.SenderKind)).Inc()
	}
	ack := ackFrame{Type: "ack", ID: f.ID, ConversationID: m.ConversationID, ClientID: m.ClientID, MessageID: m.ID, Seq: m.Seq, Duplicate: dup}
	c.enqueue(item{kind: itemControl, frame: ack.appendJSON(make([]byte, 0, ack.size()))})
	c.g.metrics.SendLatency.Observe(time.Since(start).Seconds())
}

// cleanup removes the connection from the hub.
func (c *conn) cleanup() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.following {
		c.g.hub.unfollow(id, c)
	}
	if c.inbox {
		c.g.hub.unfollowInbox(c.principal.AccountID, c)
	}
}

// FrameTypes lists every client frame type (docs/protocol.md).
var FrameTypes = []string{"auth", "ping", "open", "subscribe", "unsubscribe", "subscribe_inbox", "send", "typing", "viewing", "receipt", "presence"}

// frameLabel bounds the metric's label values to the known frame types.
func frameLabel(t string) string {
	for _, k := range FrameTypes {
		if k == t {
			return t
		}
	}
	return "unknown"
}
