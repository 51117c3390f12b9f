package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/server"
	"github.com/parleychat/parley/internal/webhook"
)

// receiver is a brand's webhook endpoint whose mood the test sets.
type receiver struct {
	t      *testing.T
	secret atomic.Value // string
	mode   atomic.Value // "down", "slow", "up"
	mu     sync.Mutex
	acked  map[string]int     // webhook-id → 2xx answers the sender received
	order  map[string][]int64 // conversation → message seqs in acknowledged order
	bad    []string
	hits   atomic.Int64
}

func newReceiver(t *testing.T) (*receiver, *httptest.Server) {
	rc := &receiver{t: t, acked: map[string]int{}, order: map[string][]int64{}}
	rc.mode.Store("up")
	rc.secret.Store("")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		switch rc.mode.Load() {
		case "down":
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		case "slow":
			select { // slower than the sender's timeout: it gives up first
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		if err := verifySignature(rc.secret.Load().(string), r.Header, body); err != nil {
			rc.mu.Lock()
			rc.bad = append(rc.bad, err.Error())
			rc.mu.Unlock()
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var p struct {
			Type string
			Data parley.Event
		}
		json.Unmarshal(body, &p)
		rc.mu.Lock()
		rc.acked[r.Header.Get("webhook-id")]++
		if p.Type == parley.EventMessageCreated {
			rc.order[p.Data.ConversationID] = append(rc.order[p.Data.ConversationID], p.Data.MessageSeq)
		}
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return rc, srv
}

func fastWebhooks(c *server.Config) {
	c.AllowPrivateOutbound = true
	c.Webhooks = webhook.Options{Tick: 20 * time.Millisecond, Timeout: time.Second,
		Backoff: []time.Duration{30 * time.Millisecond, 30 * time.Millisecond, 60 * time.Millisecond, 60 * time.Millisecond, 100 * time.Millisecond,
			100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}}
}

func deliveries(t *testing.T, c *client, hookID string) []parley.WebhookDelivery {
	t.Helper()
	var out struct{ Deliveries []parley.WebhookDelivery }
	if st := c.do("GET", "/api/v1/webhooks/"+hookID+"/deliveries", nil, &out); st != 200 {
		t.Fatalf("deliveries: %d", st)
	}
	return out.Deliveries
}

func TestWebhooksDeliverEveryEventOnceInOrderThroughDownSlowAndUp(t *testing.T) {
	ts := startServer(t, t.TempDir(), fastWebhooks)
	b := seedBrand(t, ts, "Acme")
	rc, srv := newReceiver(t)
	rc.mode.Store("down")
	admin := ts.withKey(t, b.apiKey)
	var hook parley.Webhook
	if st, raw := admin.raw("POST", "/api/v1/webhooks", map[string]any{"url": srv.URL, "types": []string{"message.created"}}); st != 201 {
		t.Fatalf("create: %d %s", st, raw)
	} else {
		json.Unmarshal(raw, &hook)
	}
	if !strings.HasPrefix(hook.Secret, "whsec_") || !hook.Active {
		t.Fatalf("webhook %+v", hook)
	}
	rc.secret.Store(hook.Secret)

	v := ts.newVisitor(t, b.account.ID)
	c1, c2 := v.open(t), v.open(t)
	for i := 0; i < 5; i++ {
		for _, c := range []*parley.Conversation{c1, c2} {
			v.do("POST", "/api/v1/conversations/"+c.ID+"/messages", map[string]any{"text": "message"}, nil)
		}
	}
	// Down: attempts fail and are retried.
	waitFor(t, func() bool {
		for _, d := range deliveries(t, admin, hook.ID) {
			if d.Attempts >= 2 && d.State == parley.DeliveryPending && d.LastStatus == 503 {
				return true
			}
		}
		return false
	})
	// Slow: attempts time out.
	rc.mode.Store("slow")
	waitFor(t, func() bool {
		for _, d := range deliveries(t, admin, hook.ID) {
			if strings.Contains(d.LastError, "deadline exceeded") || strings.Contains(d.LastError, "Timeout") {
				return true
			}
		}
		return false
	})
	// Up: everything arrives.
	rc.mode.Store("up")
	waitFor(t, func() bool {
		ds := deliveries(t, admin, hook.ID)
		for _, d := range ds {
			if d.State != parley.DeliveryDelivered {
				return false
			}
		}
		return len(ds) == 10
	})
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.bad) > 0 {
		t.Fatalf("signature failures: %v", rc.bad)
	}
	if len(rc.acked) != 10 {
		t.Fatalf("%d webhook-ids acknowledged, want 10", len(rc.acked))
	}
	for id, n := range rc.acked {
		if n != 1 {
			t.Fatalf("webhook-id %s acknowledged %d times", id, n)
		}
	}
	for conv, seqs := range rc.order {
		if !sort.SliceIsSorted(seqs, func(i, j int) bool { return seqs[i] < seqs[j] }) || len(seqs) != 5 {
			t.Fatalf("conversation %s arrived as %v", conv, seqs)
		}
	}
}

func TestAWebhookThatKeepsFailingIsTurnedOffThenRedelivered(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) {
		fastWebhooks(c)
		c.Webhooks.Backoff = []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}
	})
	b := seedBrand(t, ts, "Acme")
	rc, srv := newReceiver(t)
	rc.mode.Store("down")
	admin := ts.withKey(t, b.apiKey)
	var hook parley.Webhook
	admin.do("POST", "/api/v1/webhooks", map[string]any{"url": srv.URL}, &hook)
	rc.secret.Store(hook.Secret)
	ts.newVisitor(t, b.account.ID).open(t)
	waitFor(t, func() bool {
		var h parley.Webhook
		admin.do("GET", "/api/v1/webhooks/"+hook.ID, nil, &h)
		return !h.Active && strings.Contains(h.DisabledReason, "failed 3 times")
	})
	events, _ := ts.Store.ListEvents(context.Background(), b.account.ID, parley.EventFilter{Types: []string{parley.EventWebhookDisabled}})
	if len(events) != 1 || !strings.Contains(string(events[0].Data), hook.ID) {
		t.Fatalf("webhook.disabled events: %+v", events)
	}
	ds := deliveries(t, admin, hook.ID)
	var failed parley.WebhookDelivery
	for _, d := range ds {
		if d.State == parley.DeliveryFailed {
			failed = d
		}
	}
	if failed.ID == "" || failed.Attempts != 3 {
		t.Fatalf("deliveries %+v", ds)
	}
	// The receiver is fixed; the admin turns the webhook back on and redelivers.
	rc.mode.Store("up")
	if st, raw := admin.raw("PATCH", "/api/v1/webhooks/"+hook.ID, map[string]any{"active": true}); st != 200 {
		t.Fatalf("re-enable: %d %s", st, raw)
	}
	if st, raw := admin.raw("POST", "/api/v1/webhook-deliveries/"+failed.ID+"/redeliver", nil); st != 200 {
		t.Fatalf("redeliver: %d %s", st, raw)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		rc.mu.Lock()
		n := rc.acked[failed.ID]
		rc.mu.Unlock()
		if n == 1 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, d := range deliveries(t, admin, hook.ID) {
		t.Logf("%+v", d)
	}
	t.Fatalf("acked %v, bad %v", rc.acked, rc.bad)
}

func TestWebhookDestinationsMustBePublicHTTPS(t *testing.T) {
	ts := startServer(t, t.TempDir()) // no --allow-private-outbound
	b := seedBrand(t, ts, "Acme")
	admin := ts.withKey(t, b.apiKey)
	for url, want := range map[string]string{
		"http://hooks.example.com/x": "only https",
		"https://127.0.0.1:9/x":      "private address",
		"https://10.1.2.3/x":         "private address",
		"https://[::1]/x":            "private address",
		"https://169.254.169.254/x":  "private address",
		"https://localhost/x":        "loopback",
		"not a url":                  "not a URL",
	} {
		st, raw := admin.raw("POST", "/api/v1/webhooks", map[string]any{"url": url})
		if st != 400 || !strings.Contains(string(raw), want) {
			t.Errorf("%s: %d %s", url, st, raw)
		}
	}
	if st, raw := admin.raw("POST", "/api/v1/webhooks", map[string]any{"url": "https://hooks.example.com/x", "types": []string{"made.up"}}); st != 400 || !strings.Contains(string(raw), "unknown event type") {
		t.Fatalf("unknown type: %d %s", st, raw)
	}
	if hooks, _ := ts.Store.ListWebhooks(context.Background(), b.account.ID); len(hooks) != 0 {
		t.Fatalf("refused webhooks were stored: %d", len(hooks))
	}
	// A public HTTPS URL is taken (its address is checked again when dialled).
	if st, _ := admin.raw("POST", "/api/v1/webhooks", map[string]any{"url": "https://hooks.example.com/x"}); st != 201 {
		t.Fatalf("public https: %d", st)
	}
}

// A webhook whose address turns out to be private (a DNS answer, a redirect,
// or a row written before the rules) is never called: the dialled address is
// checked.
func TestWebhooksNeverReachPrivateAddresses(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) {
		fastWebhooks(c)
		c.AllowPrivateOutbound = false
	})
	b := seedBrand(t, ts, "Acme")
	var hits atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	hook := &parley.Webhook{AccountID: b.account.ID, URL: srv.URL, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
	if err := ts.Store.CreateWebhook(context.Background(), hook); err != nil {
		t.Fatal(err)
	}
	ts.newVisitor(t, b.account.ID).open(t)
	waitFor(t, func() bool {
		ds, _ := ts.Store.ListDeliveries(context.Background(), b.account.ID, hook.ID, 10)
		for _, d := range ds {
			if d.Attempts >= 2 && strings.Contains(d.LastError, "private, loopback or link-local") {
				return true
			}
		}
		return false
	})
	if n := hits.Load(); n != 0 {
		t.Fatalf("the private address was called %d times", n)
	}
}

// TestAWebhookOnAPatternGetsEveryTypeUnderIt: a webhook on
// "conversation.*" is sent the conversation's events and not its messages.
func TestAWebhookOnAPatternGetsEveryTypeUnderIt(t *testing.T) {
	ts := startServer(t, t.TempDir(), fastWebhooks)
	b := seedBrand(t, ts, "Acme")
	rc, srv := newReceiver(t)
	rc.mode.Store("up")
	admin := ts.withKey(t, b.apiKey)
	var hook parley.Webhook
	if st := admin.do("POST", "/api/v1/webhooks", map[string]any{"url": srv.URL, "types": []string{"conversation.*"}}, &hook); st != 201 {
		t.Fatalf("create: %d", st)
	}
	rc.secret.Store(hook.Secret)
	v := ts.newVisitor(t, b.account.ID)
	c := v.open(t)
	v.do("POST", "/api/v1/conversations/"+c.ID+"/messages", map[string]any{"text": "hello"}, nil)
	v.do("POST", "/api/v1/conversations/"+c.ID+"/close", nil, nil)
	types := func() string {
		var out []string
		for _, d := range deliveries(t, admin, hook.ID) {
			if d.State == parley.DeliveryDelivered {
				out = append(out, d.EventType)
			}
		}
		return strings.Join(out, ",")
	}
	waitFor(t, func() bool { return strings.Contains(types(), "conversation.closed") }, types)
	if got := types(); strings.Contains(got, "message.") || !strings.Contains(got, "conversation.opened") {
		t.Fatalf("delivered %s", got)
	}
}
