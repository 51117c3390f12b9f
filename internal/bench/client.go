// Package bench is the load generator behind `parley bench`: real
// WebSocket clients speaking Parley's documented protocol (visitors,
// agents), scenarios (idle, steady, max, storm, bot), a bare WebSocket echo
// server as the machine's ceiling, and the report.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"sync"
	"time"
)

// Target is the Parley server under load.
type Target struct {
	URL       string // http://127.0.0.1:8080
	APIKey    string // an admin API key of the account used
	AccountID string
	PID       int    // the server's process, for RSS and CPU (0: unknown)
	DataDir   string // the server's data dir, when the bench started it (for the disk's own sync time)
	// AgentURL, when set, is another node of the same cluster: the agents
	// connect there, the visitors to URL, so every message crosses nodes.
	AgentURL string
	// OtherPIDs are the other nodes' processes; their RSS and CPU count
	// with PID's (PostgreSQL's and NATS's own are not counted).
	OtherPIDs []int
	once      sync.Once
	http      *http.Client
}

// agentURL is where the agents connect.
func (t *Target) agentURL() string {
	if t.AgentURL != "" {
		return t.AgentURL
	}
	return t.URL
}

// proc sums the RSS and CPU time of the server's processes.
func (t *Target) proc() (rss int64, cpu time.Duration) {
	for _, pid := range append([]int{t.PID}, t.OtherPIDs...) {
		r, c := proc(pid)
		rss, cpu = rss+r, cpu+c
	}
	return rss, cpu
}

// diskWritten sums the bytes the server's processes wrote to disk.
func (t *Target) diskWritten() int64 {
	var n int64
	for _, pid := range append([]int{t.PID}, t.OtherPIDs...) {
		n += diskWritten(pid)
	}
	return n
}

func (t *Target) client() *http.Client {
	t.once.Do(func() {
		t.http = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	})
	return t.http
}

// call makes a REST call with a bearer token and decodes the answer.
func (t *Target) call(ctx context.Context, method, path, bearer string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.URL+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := t.client().Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s %s", method, path, res.Status, bytes.TrimSpace(data))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// Init finds the account of the API key.
func (t *Target) Init(ctx context.Context) error {
	var me struct {
		AccountID string `json:"account_id"`
	}
	if err := t.call(ctx, "GET", "/api/v1/me", t.APIKey, nil, &me); err != nil {
		return err
	}
	t.AccountID = me.AccountID
	return nil
}

// frame is what the clients read of server frames, decoded once: the
// message of a message frame included.
type frame struct {
	Type           string  `json:"type"`
	ID             string  `json:"id"`
	Code           string  `json:"code"`
	ConversationID string  `json:"conversation_id"`
	ClientID       string  `json:"client_id"`
	Seq            int64   `json:"seq"`
	Message        message `json:"message"`
}

type message struct {
	Seq        int64  `json:"seq"`
	ClientID   string `json:"client_id"`
	SenderKind string `json:"sender_kind"`
}

// visitor is a consumer with a conversation.
type visitor struct {
	token, conversation string
}

// newVisitor creates a consumer token and opens a conversation.
func (t *Target) newVisitor(ctx context.Context, withConversation bool) (*visitor, error) {
	var tok struct {
		Token string `json:"token"`
	}
	if err := t.call(ctx, "POST", "/api/v1/consumer-tokens", "", map[string]string{"account_id": t.AccountID}, &tok); err != nil {
		return nil, err
	}
	v := &visitor{token: tok.Token}
	if withConversation {
		var c struct {
			ID string `json:"id"`
		}
		if err := t.call(ctx, "POST", "/api/v1/conversations", tok.Token, map[string]any{}, &c); err != nil {
			return nil, err
		}
		v.conversation = c.ID
	}
	return v, nil
}

// newAgent creates an agent user, logs in and returns the cookie header
// for their WebSocket.
func (t *Target) newAgent(ctx context.Context, i int) (http.Header, error) {
	email := fmt.Sprintf("bench-agent-%d-%d@bench.test", time.Now().UnixNano(), i)
	const password = "bench-agent-password"
	if err := t.call(ctx, "POST", "/api/v1/users", t.APIKey, map[string]any{"email": email, "password": password, "role": "agent", "name": fmt.Sprintf("Bench agent %d", i), "max_concurrent": 100}, nil); err != nil {
		return nil, err
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	req, _ := http.NewRequestWithContext(ctx, "POST", t.URL+"/api/v1/auth/login", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		return nil, fmt.Errorf("agent login: %s", res.Status)
	}
	h := http.Header{}
	for _, ck := range res.Cookies() {
		h.Add("Cookie", ck.Name+"="+ck.Value)
	}
	if len(h) == 0 {
		return nil, errors.New("agent login set no cookie")
	}
	return h, nil
}

// parallel runs fn for 0..n-1 with at most width at once and returns the
// first error.
func parallel(n, width int, fn func(i int) error) error {
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	sem := make(chan struct{}, width)
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(i); err != nil {
				once.Do(func() { first = err })
			}
		}()
	}
	wg.Wait()
	return first
}
