package realtime

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gobwas/ws"
	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/auth"
	"github.com/parleychat/parley/internal/conversation"
	"github.com/parleychat/parley/internal/localbus"
	"github.com/parleychat/parley/internal/metrics"
	"github.com/parleychat/parley/internal/sqlstore"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fixture is a gateway on a real store with one visitor and their
// conversation.
type fixture struct {
	g     *Gateway
	m     *metrics.Metrics
	store *sqlstore.DB
	path  string // the store's file
	url   string // ws://…
	acc   *parley.Account
	conv  *parley.Conversation
	token string
}

func newFixture(t *testing.T, cfg Config) *fixture { return newFixtureWith(t, cfg, nil) }

// newFixtureWith is newFixture with the bus the store publishes to wrapped
// by storeBus (a bus that loses notifications, say); the gateway follows
// the real one.
func newFixtureWith(t *testing.T, cfg Config, storeBus func(*localbus.Bus) parley.Bus) *fixture {
	t.Helper()
	ctx := context.Background()
	bus := localbus.New()
	var published parley.Bus = bus
	if storeBus != nil {
		published = storeBus(bus)
	}
	path := filepath.Join(t.TempDir(), "p.db")
	store, err := sqlstore.Open(ctx, path, sqlstore.Options{Bus: published})
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(store, []byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	g := New(cfg, store, bus, conversation.New(store, bus, parley.MessageLimits{}), a, slog.New(slog.NewTextHandler(io.Discard, nil)), m)
	srv := httptest.NewServer(g)
	t.Cleanup(func() {
		g.Shutdown(ctx)
		srv.Close()
		store.Close()
	})
	f := &fixture{g: g, m: m, store: store, path: path, url: "ws" + strings.TrimPrefix(srv.URL, "http"), acc: &parley.Account{Name: "A"}}
	store.CreateAccount(ctx, f.acc)
	consumer := &parley.Consumer{AccountID: f.acc.ID}
	store.CreateConsumer(ctx, consumer)
	f.conv, _ = store.OpenConversation(ctx, f.acc.ID, parley.ConversationOpen{ConsumerID: consumer.ID, Channel: parley.ChannelWeb, State: parley.StateQueued})
	f.token, _, _ = a.ConsumerToken(consumer)
	return f
}

// client is a coder/websocket client speaking the JSON protocol.
type client struct {
	t  *testing.T
	ws *websocket.Conn
}

func (f *fixture) dial(t *testing.T) *client {
	t.Helper()
	c, _, err := websocket.Dial(context.Background(), f.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	cl := &client{t: t, ws: c}
	cl.send(map[string]any{"type": "auth", "token": f.token})
	if fr := cl.read(); fr["type"] != "authenticated" {
		t.Fatalf("auth: %v", fr)
	}
	return cl
}

func (c *client) send(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	if err := c.ws.Write(context.Background(), websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) read() map[string]any {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := c.ws.Read(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	var f map[string]any
	json.Unmarshal(data, &f)
	return f
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestIdleConnectionParksAndWakes: a connection with nothing to read gives
// its reader up (parks); it still receives what is pushed to it, and its
// next frame is read and answered.
func TestIdleConnectionParksAndWakes(t *testing.T) {
	if newPoller() == nil {
		t.Skip("no poller on this platform")
	}
	f := newFixture(t, Config{ReaderLinger: 20 * time.Millisecond})
	c := f.dial(t)
	c.send(map[string]any{"type": "subscribe", "conversation_id": f.conv.ID})
	if fr := c.read(); fr["type"] != "subscribed" {
		t.Fatalf("subscribe: %v", fr)
	}
	parked := func() bool { return testutil.ToFloat64(f.m.Parked) == 1 }
	waitFor(t, "the connection to park", parked)

	// Pushed while parked: the writer does not need the reader.
	if _, _, err := f.store.AppendMessage(context.Background(), &parley.Message{AccountID: f.acc.ID, ConversationID: f.conv.ID, SenderKind: parley.SenderAgent, Type: parley.MessageText, Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	if fr := c.read(); fr["type"] != "message" {
		t.Fatalf("pushed: %v", fr)
	}
	// A frame wakes it: answered, then it parks again.
	c.send(map[string]any{"type": "ping", "id": "p1"})
	if fr := c.read(); fr["type"] != "pong" || fr["id"] != "p1" {
		t.Fatalf("ping: %v", fr)
	}
	waitFor(t, "the connection to park again", parked)
	c.send(map[string]any{"type": "send", "id": "s1", "conversation_id": f.conv.ID, "client_id": "c1", "message": map[string]any{"type": "text", "text": "hi"}})
	for {
		fr := c.read()
		if fr["type"] == "ack" {
			if fr["seq"] != 2.0 {
				t.Fatalf("ack: %v", fr)
			}
			break
		}
	}
	// Ending: no goroutine, no parked connection left behind.
	c.ws.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "the connection to end", func() bool {
		return testutil.ToFloat64(f.m.Parked) == 0 && testutil.ToFloat64(f.m.Connections.WithLabelValues("consumer")) == 0
	})
}

// TestParkedConnectionClosesAtIdleTimeout: the idle timeout holds while
// parked; the client is told why (4009).
func TestParkedConnectionClosesAtIdleTimeout(t *testing.T) {
	f := newFixture(t, Config{ReaderLinger: 10 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})
	c := f.dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := c.ws.Read(ctx)
	if code := websocket.CloseStatus(err); int(code) != int(CloseIdleTimeout) {
		t.Fatalf("closed with %v (%v), want 4009", code, err)
	}
}

// TestGoingAwayOnShutdown: every connection, parked or not, is told the
// server is going away.
func TestGoingAwayOnShutdown(t *testing.T) {
	f := newFixture(t, Config{ReaderLinger: 10 * time.Millisecond})
	a, b := f.dial(t), f.dial(t)
	if newPoller() != nil {
		waitFor(t, "both to park", func() bool { return testutil.ToFloat64(f.m.Parked) == 2 })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.g.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{a, b} {
		_, _, err := c.ws.Read(ctx)
		if code := websocket.CloseStatus(err); code != websocket.StatusGoingAway {
			t.Fatalf("closed with %v (%v), want 1001", code, err)
		}
	}
}

// rawClient speaks frames directly, to send what well-behaved clients
// never do.
type rawClient struct {
	t  *testing.T
	nc net.Conn
	br io.Reader
}

func (f *fixture) dialRaw(t *testing.T) *rawClient {
	t.Helper()
	nc, br, _, err := ws.Dialer{Timeout: 5 * time.Second}.Dial(context.Background(), f.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	rc := &rawClient{t: t, nc: nc, br: nc}
	if br != nil {
		rc.br = io.MultiReader(br, nc)
	}
	b, _ := json.Marshal(map[string]any{"type": "auth", "token": f.token})
	rc.frame(ws.OpText, true, b)
	if fr := rc.next(); fr.Header.OpCode != ws.OpText || !strings.Contains(string(fr.Payload), `"authenticated"`) {
		t.Fatalf("auth: %v %s", fr.Header, fr.Payload)
	}
	return rc
}

// frame writes one masked frame.
func (c *rawClient) frame(op ws.OpCode, fin bool, p []byte) {
	c.t.Helper()
	if err := ws.WriteFrame(c.nc, ws.MaskFrameInPlace(ws.NewFrame(op, fin, append([]byte(nil), p...)))); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawClient) next() ws.Frame {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	fr, err := ws.ReadFrame(c.br)
	if err != nil {
		c.t.Fatal(err)
	}
	return fr
}

// closeCode reads frames until the server's close frame and returns its code.
func (c *rawClient) closeCode() ws.StatusCode {
	c.t.Helper()
	for {
		fr := c.next()
		if fr.Header.OpCode == ws.OpClose {
			if len(fr.Payload) < 2 {
				return ws.StatusNoStatusRcvd
			}
			return ws.StatusCode(binary.BigEndian.Uint16(fr.Payload))
		}
	}
}

// TestWebSocketFraming: fragments are joined (with a ping between them
// answered), the peer's close is echoed, and protocol violations close
// with the code RFC 6455 names.
func TestWebSocketFraming(t *testing.T) {
	f := newFixture(t, Config{MaxFrameBytes: 1024})

	t.Run("fragments and ping", func(t *testing.T) {
		c := f.dialRaw(t)
		msg := []byte(`{"type":"ping","id":"frag"}`)
		c.frame(ws.OpText, false, msg[:5])
		c.frame(ws.OpPing, true, []byte("are you there"))
		c.frame(ws.OpContinuation, false, msg[5:12])
		c.frame(ws.OpContinuation, true, msg[12:])
		if fr := c.next(); fr.Header.OpCode != ws.OpPong || string(fr.Payload) != "are you there" {
			t.Fatalf("want the pong first: %v %q", fr.Header, fr.Payload)
		}
		if fr := c.next(); !strings.Contains(string(fr.Payload), `"id":"frag"`) {
			t.Fatalf("want the joined message answered: %q", fr.Payload)
		}
		c.frame(ws.OpClose, true, ws.NewCloseFrameBody(ws.StatusNormalClosure, "bye"))
		if code := c.closeCode(); code != ws.StatusNormalClosure {
			t.Fatalf("close echoed with %d", code)
		}
	})
	t.Run("binary message", func(t *testing.T) {
		c := f.dialRaw(t)
		c.frame(ws.OpBinary, true, []byte{1, 2, 3})
		if fr := c.next(); !strings.Contains(string(fr.Payload), `"code":"invalid"`) {
			t.Fatalf("binary: %q", fr.Payload)
		}
	})
	t.Run("unmasked frame", func(t *testing.T) {
		c := f.dialRaw(t)
		ws.WriteFrame(c.nc, ws.NewTextFrame([]byte(`{"type":"ping"}`)))
		if code := c.closeCode(); code != ws.StatusProtocolError {
			t.Fatalf("unmasked: closed with %d, want 1002", code)
		}
	})
	t.Run("continuation without a start", func(t *testing.T) {
		c := f.dialRaw(t)
		c.frame(ws.OpContinuation, true, []byte(`{}`))
		if code := c.closeCode(); code != ws.StatusProtocolError {
			t.Fatalf("closed with %d, want 1002", code)
		}
	})
	t.Run("message over the limit", func(t *testing.T) {
		c := f.dialRaw(t)
		c.frame(ws.OpText, false, []byte(strings.Repeat("a", 600)))
		c.frame(ws.OpContinuation, true, []byte(strings.Repeat("a", 600)))
		if code := c.closeCode(); code != ws.StatusMessageTooBig {
			t.Fatalf("closed with %d, want 1009", code)
		}
	})
}

// TestPlainRequestIsRefused: a GET without the upgrade gets a precise error.
func TestPlainRequestIsRefused(t *testing.T) {
	f := newFixture(t, Config{})
	res, err := http.Get("http" + strings.TrimPrefix(f.url, "ws"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Error struct{ Code, Message string }
	}
	json.NewDecoder(bufio.NewReader(res.Body)).Decode(&body)
	if res.StatusCode != http.StatusUpgradeRequired || body.Error.Code != parley.EINVALID {
		t.Fatalf("plain GET: %d %+v", res.StatusCode, body)
	}
}

// TestParkingUnderChurn: many connections park and wake at random while
// the server pushes to them and some are dropped; every ping is answered,
// every push arrives, and when all have ended nothing is left parked or
// counted.
func TestParkingUnderChurn(t *testing.T) {
	f := newFixture(t, Config{ReaderLinger: 3 * time.Millisecond})
	const clients, rounds = 20, 15
	conns := make([]*client, clients)
	for i := range conns {
		conns[i] = f.dial(t)
		conns[i].send(map[string]any{"type": "subscribe", "conversation_id": f.conv.ID})
		if fr := conns[i].read(); fr["type"] != "subscribed" {
			t.Fatalf("subscribe: %v", fr)
		}
	}
	ctx := context.Background()
	errs := make(chan error, clients)
	seen := make([]map[float64]bool, clients) // message seqs each client got
	for i, c := range conns {
		seen[i] = map[float64]bool{}
		go func() {
			seen := seen[i]
			for r := 0; r < rounds; r++ {
				// Wait a little, sometimes past the linger, so the reader parks.
				time.Sleep(time.Duration((i*7+r*3)%6) * time.Millisecond)
				id := fmt.Sprintf("p%d-%d", i, r)
				b, _ := json.Marshal(map[string]any{"type": "ping", "id": id})
				if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
					errs <- err
					return
				}
				for {
					rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					_, data, err := c.ws.Read(rctx)
					cancel()
					if err != nil {
						errs <- fmt.Errorf("client %d round %d: %w", i, r, err)
						return
					}
					var fr map[string]any
					json.Unmarshal(data, &fr)
					if fr["type"] == "message" {
						seq := fr["message"].(map[string]any)["seq"].(float64)
						if seen[seq] {
							errs <- fmt.Errorf("client %d got message %v twice", i, seq)
							return
						}
						seen[seq] = true
						continue
					}
					if fr["type"] != "pong" || fr["id"] != id {
						errs <- fmt.Errorf("client %d: got %v, want pong %s", i, fr, id)
						return
					}
					break
				}
			}
			errs <- nil
		}()
	}
	// Meanwhile the conversation gets messages, pushed to every follower.
	for r := 0; r < rounds; r++ {
		if _, _, err := f.store.AppendMessage(ctx, &parley.Message{AccountID: f.acc.ID, ConversationID: f.conv.ID, SenderKind: parley.SenderAgent, Type: parley.MessageText, Text: "push"}); err != nil {
			t.Fatal(err)
		}
	}
	for range conns {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// Every push reaches every client once, whatever the parking.
	for i, c := range conns {
		for len(seen[i]) < rounds {
			fr := c.read()
			if fr["type"] != "message" {
				continue
			}
			seq := fr["message"].(map[string]any)["seq"].(float64)
			if seen[i][seq] {
				t.Fatalf("client %d got message %v twice", i, seq)
			}
			seen[i][seq] = true
		}
	}
	if newPoller() != nil && testutil.ToFloat64(f.m.Parks) < clients {
		t.Fatalf("only %v parks: the test did not exercise parking", testutil.ToFloat64(f.m.Parks))
	}
	f.g.Drop(parley.PrincipalConsumer)
	waitFor(t, "every connection to end", func() bool {
		return testutil.ToFloat64(f.m.Parked) == 0 && testutil.ToFloat64(f.m.Connections.WithLabelValues("consumer")) == 0
	})
}

// lockStore takes the store's write lock from a connection of its own, as
// another process would, until the returned func is called: the store's
// writer waits for it.
func (f *fixture) lockStore(t *testing.T) (release func()) {
	t.Helper()
	other, err := sql.Open("sqlite", "file:"+f.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
			t.Fatal(err)
		}
		conn.Close()
	}
}

// answerTo reads frames until the one answering the request id.
func (c *client) answerTo(id string) map[string]any {
	c.t.Helper()
	for {
		if fr := c.read(); fr["id"] == id {
			return fr
		}
	}
}

// after waits until d has passed since start.
func after(t *testing.T, start time.Time, d time.Duration) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s to pass", d), func() bool { return time.Since(start) > d })
}

// TestARequestPastItsTimeLimitIsRefusedAndTheNextIsServed: a send the
// store cannot take within RequestTimeout gets `unavailable` (not
// `internal`), nothing is stored for it, and the connection's next frame
// is served with a time limit of its own.
func TestARequestPastItsTimeLimitIsRefusedAndTheNextIsServed(t *testing.T) {
	const limit = 300 * time.Millisecond
	f := newFixture(t, Config{RequestTimeout: limit})
	c := f.dial(t)
	release := f.lockStore(t)
	c.send(map[string]any{"type": "send", "id": "s1", "conversation_id": f.conv.ID, "client_id": "c1", "message": map[string]any{"type": "text", "text": "late"}})
	// The frame's time limit starts once it is counted.
	waitFor(t, "the send to be handled", func() bool { return testutil.ToFloat64(f.m.FramesIn.WithLabelValues("send")) == 1 })
	after(t, time.Now(), limit+100*time.Millisecond)
	release()
	if fr := c.answerTo("s1"); fr["type"] != "error" || fr["code"] != parley.EUNAVAILABLE || !strings.Contains(fr["message"].(string), "300ms") {
		t.Fatalf("a send past its time limit: %v", fr)
	}
	c.send(map[string]any{"type": "send", "id": "s2", "conversation_id": f.conv.ID, "client_id": "c2", "message": map[string]any{"type": "text", "text": "on time"}})
	if fr := c.answerTo("s2"); fr["type"] != "ack" || fr["seq"] != 1.0 {
		t.Fatalf("the next send: %v", fr)
	}
	msgs, err := f.store.ListMessages(context.Background(), f.acc.ID, f.conv.ID, 0, 10)
	if err != nil || len(msgs) != 1 || msgs[0].Text != "on time" {
		t.Fatalf("stored: %v, %v", msgs, err)
	}
}

// TestEachFrameHasItsWholeTimeLimit: frames share a context while most of
// the time limit is left (requestCtx); a frame that comes later gets a
// limit counted from its own arrival, not the earlier frame's.
func TestEachFrameHasItsWholeTimeLimit(t *testing.T) {
	const limit = 2 * time.Second
	f := newFixture(t, Config{RequestTimeout: limit})
	c := f.dial(t)
	c.send(map[string]any{"type": "send", "id": "s1", "conversation_id": f.conv.ID, "client_id": "c1", "message": map[string]any{"type": "text", "text": "one"}})
	if fr := c.answerTo("s1"); fr["type"] != "ack" {
		t.Fatalf("first send: %v", fr)
	}
	first := time.Now() // after the first frame's limit began
	// Most of the first frame's limit gone; the second waits for the
	// store until past the first's deadline, well within its own.
	after(t, first, limit*3/4)
	release := f.lockStore(t)
	c.send(map[string]any{"type": "send", "id": "s2", "conversation_id": f.conv.ID, "client_id": "c2", "message": map[string]any{"type": "text", "text": "two"}})
	after(t, first, limit+200*time.Millisecond)
	release()
	if fr := c.answerTo("s2"); fr["type"] != "ack" || fr["seq"] != 2.0 {
		t.Fatalf("a send within its own limit: %v", fr)
	}
}
