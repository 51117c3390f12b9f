package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/auth"
	"github.com/parleychat/parley/internal/pgtest"
	"github.com/parleychat/parley/internal/server"
	"github.com/parleychat/parley/internal/sqlstore"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	stopChromium()
	if migratedPG.drop != nil {
		migratedPG.drop()
	}
	if migrated.dir != "" {
		os.RemoveAll(migrated.dir)
	}
	os.Exit(code)
}

// migrated is a SQLite file with every migration applied, made once per
// test binary. A node started on a new data dir starts from a copy of it:
// migrating a new file takes 0.8 s under the race detector (each ALTER
// TABLE makes SQLite parse the whole schema again), and the suite starts
// some three hundred nodes. The migrations themselves are tested in
// internal/sqlstore.
var migrated struct {
	once sync.Once
	dir  string // holds parley.db
	err  error
}

// startMigrated gives a new data dir a copy of the migrated file; a dir
// that has one already (a node restarted on it) keeps its own.
func startMigrated(t testing.TB, dataDir string) {
	t.Helper()
	target := filepath.Join(dataDir, "parley.db")
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		return
	}
	migrated.once.Do(func() {
		if migrated.dir, migrated.err = os.MkdirTemp("", "parley-migrated-"); migrated.err != nil {
			return
		}
		var db *sqlstore.DB
		if db, migrated.err = sqlstore.Open(context.Background(), filepath.Join(migrated.dir, "parley.db"), sqlstore.Options{}); migrated.err == nil {
			migrated.err = db.Close()
		}
	})
	if migrated.err != nil {
		t.Fatal(migrated.err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	// Closing checkpoints the log into the file; a -wal file left beside
	// it would be part of the database, so it is copied too.
	for _, suffix := range []string{"", "-wal"} {
		body, err := os.ReadFile(filepath.Join(migrated.dir, "parley.db"+suffix))
		if os.IsNotExist(err) && suffix != "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target+suffix, body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// fastPasswords keeps argon2 cheap in tests; production uses the defaults.
var fastPasswords = auth.PasswordParams{Memory: 64, Time: 1, Threads: 1}

const waitLimit = 10 * time.Second

// testServer is a real node on a random loopback port with a real SQLite
// file in a temporary directory — or, when PARLEY_TEST_STORE=postgres, a
// PostgreSQL database of its own (one per data dir, so that a test that
// restarts a node on the same dir finds its data again).
type testServer struct {
	*server.Server
	url    string
	cancel context.CancelFunc
	done   chan error
}

func startServer(t testing.TB, dir string, tweak ...func(*server.Config)) *testServer {
	t.Helper()
	// Tests and benchmarks call from one address far faster than people;
	// the limits have their own test.
	cfg := server.Config{Addr: "127.0.0.1:0", DataDir: dir, Password: fastPasswords, RateLimits: &server.RateLimits{}}
	// The chat frame pings every second, not ten: invitations come and go
	// with its pings, and the browser tests wait for them.
	cfg.Widget.Heartbeat = time.Second
	// The senders of answers by email are checked in a DNS of the tests'
	// own, never the machine's (emailsender_test.go).
	cfg.SenderDNS = noSenderDNS{}
	if os.Getenv("PARLEY_TEST_STORE") == "postgres" {
		cfg.DatabaseURL = postgresFor(t, dir)
	}
	for _, f := range tweak {
		f(&cfg)
	}
	if cfg.DatabaseURL == "" {
		startMigrated(t, cfg.DataDir)
	}
	var logTo io.Writer = io.Discard
	if os.Getenv("PARLEY_TEST_LOG") != "" { // the node's log, to debug a test
		logTo = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(logTo, nil))
	s, err := server.Open(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{Server: s, url: s.URL(), cancel: cancel, done: make(chan error, 1)}
	go func() { ts.done <- s.Serve(ctx) }()
	<-s.Ready()
	t.Cleanup(ts.stop)
	return ts
}

var postgresDBs sync.Map // data dir → database URL

func postgresFor(t testing.TB, dir string) string {
	if u, ok := postgresDBs.Load(dir); ok {
		return u.(string)
	}
	u := migratedPostgres(t)
	postgresDBs.Store(dir, u)
	return u
}

// migratedPG is a PostgreSQL database with every migration applied, made
// once per test binary for migratedPostgres to copy: as with SQLite
// (migrated), applying them to each test's database took most of a
// node's start.
var migratedPG struct {
	once sync.Once
	name string
	drop func()
	err  error
}

// migratedPostgres creates a test database with every migration applied.
func migratedPostgres(t testing.TB) string {
	t.Helper()
	migratedPG.once.Do(func() {
		migratedPG.name, migratedPG.drop, migratedPG.err = pgtest.Template(func(url string) error {
			db, err := sqlstore.OpenPostgres(context.Background(), url, sqlstore.Options{})
			if err != nil {
				return err
			}
			return db.Close()
		})
	})
	if migratedPG.err != nil {
		// No server (pgtest.Database skips the test, or fails it where
		// PostgreSQL is required), or one that refused: said there.
		return pgtest.Database(t)
	}
	return pgtest.DatabaseFrom(t, migratedPG.name)
}

func (ts *testServer) stop() {
	ts.cancel()
	select {
	case <-ts.done:
	case <-time.After(waitLimit):
	}
}

// brand is one seeded account with an admin, a supervisor, an agent and an API key.
type brand struct {
	account    *parley.Account
	admin      *parley.User
	supervisor *parley.User
	agent      *parley.User
	apiKey     string
}

const password = "correct horse battery"

func seedBrand(t testing.TB, ts *testServer, name string) brand {
	t.Helper()
	ctx := context.Background()
	// Test brands answer live unless a test says otherwise: the offline
	// form, on by default, has its own test.
	off := false
	b := brand{account: &parley.Account{Name: name, Settings: parley.AccountSettings{Widget: parley.WidgetSettings{OfflineForm: &off}}}}
	if err := ts.Store.CreateAccount(ctx, b.account); err != nil {
		t.Fatal(err)
	}
	hash, _ := auth.HashPassword(password, fastPasswords)
	mk := func(role parley.Role) *parley.User {
		u := &parley.User{AccountID: b.account.ID, Email: fmt.Sprintf("%s@%s.test", role, strings.ToLower(name)), Name: string(role) + " of " + name,
			Role: role, MaxConcurrent: 5, Active: true, PasswordHash: hash}
		if err := ts.Store.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	b.admin, b.supervisor, b.agent = mk(parley.RoleAdmin), mk(parley.RoleSupervisor), mk(parley.RoleAgent)
	_, secret, err := ts.Auth.NewAPIKey(ctx, b.account.ID, "server", parley.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	b.apiKey = secret
	return b
}

// client is a REST client with one kind of credential.
type client struct {
	t      testing.TB
	base   string
	http   *http.Client
	bearer string
	csrf   string
}

func (ts *testServer) anon(t testing.TB) *client {
	return &client{t: t, base: ts.url, http: &http.Client{Timeout: waitLimit}}
}

func (ts *testServer) withKey(t testing.TB, key string) *client {
	c := ts.anon(t)
	c.bearer = key
	return c
}

// login returns a client holding a session cookie and its CSRF token.
func (ts *testServer) login(t testing.TB, u *parley.User) *client {
	t.Helper()
	c, st, raw := ts.loginWith(t, u, password, "")
	if st != 200 {
		t.Fatalf("login %s: status %d %s", u.Email, st, raw)
	}
	return c
}

// loginWith logs in with a password and a second factor's code (or none)
// and returns the status and body; on success c holds the session.
func (ts *testServer) loginWith(t testing.TB, u *parley.User, pw, code string) (*client, int, []byte) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{t: t, base: ts.url, http: &http.Client{Jar: jar, Timeout: waitLimit}}
	st, raw := c.raw("POST", "/api/v1/auth/login", map[string]string{"email": u.Email, "password": pw, "code": code})
	if st == 200 {
		var out struct {
			CSRFToken string `json:"csrf_token"`
		}
		decodeJSON(t, raw, &out)
		c.csrf = out.CSRFToken
	}
	return c, st, raw
}

// visitor is an anonymous consumer with its token.
type visitor struct {
	*client
	consumer *parley.Consumer
	token    string
}

func (ts *testServer) newVisitor(t testing.TB, accountID string) *visitor {
	t.Helper()
	var out struct {
		Token    string           `json:"token"`
		Consumer *parley.Consumer `json:"consumer"`
	}
	if st := ts.anon(t).do("POST", "/api/v1/consumer-tokens", map[string]string{"account_id": accountID}, &out); st != 201 {
		t.Fatalf("consumer token: status %d", st)
	}
	c := ts.withKey(t, out.Token)
	return &visitor{client: c, consumer: out.Consumer, token: out.Token}
}

func (v *visitor) open(t testing.TB) *parley.Conversation {
	t.Helper()
	var conv parley.Conversation
	if st := v.do("POST", "/api/v1/conversations", map[string]any{}, &conv); st != 201 {
		t.Fatalf("open conversation: status %d", st)
	}
	return &conv
}

// do sends a JSON request and decodes the JSON answer into out (when not
// nil). body may be a string, sent raw. It returns the status.
func (c *client) do(method, path string, body any, out any) int {
	c.t.Helper()
	st, raw := c.raw(method, path, body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return st
}

func (c *client) raw(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	if c.csrf != "" {
		req.Header.Set(auth.CSRFHeader, c.csrf)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// errorCode decodes an error body's code.
func errorCode(raw []byte) string {
	var e struct {
		Error struct{ Code, Message string }
	}
	json.Unmarshal(raw, &e)
	return e.Error.Code
}

// frame is a decoded server frame; raw keeps the bytes.
type frame struct {
	Type           string          `json:"type"`
	ID             string          `json:"id"`
	Code           string          `json:"code"`
	Message        json.RawMessage `json:"message"`
	ConversationID string          `json:"conversation_id"`
	ClientID       string          `json:"client_id"`
	Seq            int64           `json:"seq"`
	LastSeq        int64           `json:"last_seq"`
	Duplicate      bool            `json:"duplicate"`
	MessageID      string          `json:"message_id"`
	Event          string          `json:"event"`
	Conversation   json.RawMessage `json:"conversation"`
	Typing         json.RawMessage `json:"typing"`
	Receipt        json.RawMessage `json:"receipt"`
	raw            []byte
}

// msg decodes the message of a message frame.
func (f frame) msg(t testing.TB) parley.Message {
	t.Helper()
	var m parley.Message
	if err := json.Unmarshal(f.Message, &m); err != nil {
		t.Fatalf("message frame %s: %v", f.raw, err)
	}
	return m
}

// wsClient is a real WebSocket client; a goroutine reads every frame into
// a channel so tests can wait for frames with a deadline.
type wsClient struct {
	t      testing.TB
	ws     *websocket.Conn
	frames chan frame
	closed chan struct{}
	mu     sync.Mutex
	err    error
	stall  atomic.Pointer[chan struct{}]
	// pending holds frames skipped by next; only the test goroutine uses it.
	pending []frame
}

// stallReads makes the client stop reading its socket until the returned
// channel is closed, like a browser tab that froze.
func stallReads(c *wsClient) chan struct{} {
	ch := make(chan struct{})
	c.stall.Store(&ch)
	return ch
}

// slowDisconnects reads the server's count of clients dropped for being slow.
func (ts *testServer) slowDisconnects() float64 {
	return testutil.ToFloat64(ts.Metrics.SlowDisconnects)
}

func dialWS(t testing.TB, ts *testServer, header http.Header) (*wsClient, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, strings.Replace(ts.url, "http", "ws", 1)+"/api/v1/ws", &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(1 << 20)
	c := &wsClient{t: t, ws: ws, frames: make(chan frame, 20000), closed: make(chan struct{})}
	go func() {
		defer close(c.closed)
		for {
			if p := c.stall.Load(); p != nil {
				<-*p
			}
			_, data, err := ws.Read(context.Background())
			if err != nil {
				c.mu.Lock()
				c.err = err
				c.mu.Unlock()
				return
			}
			var f frame
			json.Unmarshal(data, &f)
			f.raw = data
			c.frames <- f
		}
	}()
	t.Cleanup(func() { ws.CloseNow() })
	return c, nil
}

// connect dials and authenticates with token ("" uses the cookie in header).
func connect(t testing.TB, ts *testServer, token string, header http.Header) *wsClient {
	t.Helper()
	c, err := dialWS(t, ts, header)
	if err != nil {
		t.Fatal(err)
	}
	c.send(map[string]any{"type": "auth", "id": "auth", "token": token})
	if f := c.next(func(f frame) bool { return true }); f.Type != "authenticated" {
		t.Fatalf("auth answered %s", f.raw)
	}
	return c
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	var data []byte
	switch b := v.(type) {
	case string:
		data = []byte(b)
	case []byte:
		data = b
	default:
		data, _ = json.Marshal(v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, data); err != nil {
		c.t.Fatalf("write frame: %v", err)
	}
}

// next returns the first frame matching want, or fails the test at the
// deadline. Frames that do not match are kept, in order, for later calls.
func (c *wsClient) next(want func(frame) bool) frame {
	c.t.Helper()
	for i, f := range c.pending {
		if want(f) {
			c.pending = append(c.pending[:i:i], c.pending[i+1:]...)
			return f
		}
	}
	deadline := time.After(waitLimit)
	for {
		select {
		case f := <-c.frames:
			if want(f) {
				return f
			}
			c.pending = append(c.pending, f)
		case <-c.closed:
			select {
			case f := <-c.frames: // frames that arrived before the close
				if want(f) {
					return f
				}
				c.pending = append(c.pending, f)
				continue
			default:
			}
			c.t.Fatalf("connection closed while waiting: %v", c.closeErr())
		case <-deadline:
			c.t.Fatal("no matching frame before the deadline")
		}
	}
}

func (c *wsClient) closeErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func ofType(typ string) func(frame) bool { return func(f frame) bool { return f.Type == typ } }

func reply(id string) func(frame) bool { return func(f frame) bool { return f.ID == id } }

// subscribe follows a conversation after a seq and waits for "subscribed",
// returning the message frames of the backfill.
func (c *wsClient) subscribe(convID string, after int64) []parley.Message {
	c.t.Helper()
	id := "sub-" + convID
	c.send(map[string]any{"type": "subscribe", "id": id, "conversation_id": convID, "after_seq": after})
	var msgs []parley.Message
	for {
		f := c.next(func(f frame) bool { return f.Type == "message" && f.ConversationID == convID || f.ID == id })
		switch f.Type {
		case "message":
			msgs = append(msgs, f.msg(c.t))
		case "subscribed":
			return msgs
		default:
			c.t.Fatalf("subscribe answered %s", f.raw)
		}
	}
}

// sendText sends a text message and waits for its ack.
func (c *wsClient) sendText(convID, clientID, text string) frame {
	c.t.Helper()
	c.send(map[string]any{"type": "send", "id": "send-" + clientID, "conversation_id": convID, "client_id": clientID,
		"message": map[string]any{"type": "text", "text": text}})
	f := c.next(reply("send-" + clientID))
	if f.Type != "ack" {
		c.t.Fatalf("send %s answered %s", clientID, f.raw)
	}
	return f
}

// waitClosed waits until the server closes the connection and returns the
// close status.
func (c *wsClient) waitClosed() websocket.StatusCode {
	c.t.Helper()
	select {
	case <-c.closed:
		return websocket.CloseStatus(c.closeErr())
	case <-time.After(waitLimit):
		c.t.Fatal("connection still open at the deadline")
	}
	return -1
}

func decodeJSON(t testing.TB, raw []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
}
