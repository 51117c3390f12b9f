package server_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

func TestErasingAVisitorLeavesNothingOfTheirs(t *testing.T) {
	ts := startServer(t, t.TempDir(), fastWebhooks)
	b := seedBrand(t, ts, "Acme")
	rc, srv := newReceiver(t)
	admin := ts.withKey(t, b.apiKey)
	var hook parley.Webhook
	admin.do("POST", "/api/v1/webhooks", map[string]any{"url": srv.URL}, &hook)
	rc.secret.Store(hook.Secret)
	rc.mode.Store("down") // deliveries wait in the outbox with the visitor's words

	const name, email, secret = "Erin Erasable", "erin@private.example", "12 Privet Drive"
	v := ts.newVisitor(t, b.account.ID)
	v.do("PATCH", "/api/v1/consumers/me", map[string]any{"name": name, "email": email, "attributes": map[string]string{"plan": "gold-" + secret}}, nil)
	conv := v.open(t)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Send it to " + secret}, nil)
	var file struct{ Message parley.Message }
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/attachments?name=address.png", pngBytes, &file)
	agent := ts.login(t, b.agent)
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/accept", nil, nil)
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Noted, " + name}, nil)
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/notes", map[string]any{"text": "Lives at " + secret}, nil)
	waitFor(t, func() bool {
		ds, _ := ts.Store.ListDeliveries(context.Background(), b.account.ID, hook.ID, 100)
		return len(ds) > 5
	})

	// Article 15: everything about them, in one document.
	st, _, body := download(t, ts, b.apiKey, "/api/v1/consumers/"+v.consumer.ID+"/export")
	for _, want := range []string{name, email, "Send it to " + secret, "Lives at " + secret, "address.png"} {
		if st != 200 || !strings.Contains(body, want) {
			t.Fatalf("export lacks %q: %d %s", want, st, body)
		}
	}
	// Article 17: erased.
	if st, raw := admin.raw("DELETE", "/api/v1/consumers/"+v.consumer.ID, nil); st != 204 {
		t.Fatalf("erase: %d %s", st, raw)
	}
	leaks := []string{name, email, secret, "Erin", "address.png"}
	leak := func(where, text string) {
		t.Helper()
		for _, s := range leaks {
			if strings.Contains(text, s) {
				t.Fatalf("%s still holds %q: %s", where, s, text)
			}
		}
	}
	ctx := context.Background()
	if msgs, _ := ts.Store.ListMessages(ctx, b.account.ID, conv.ID, 0, 100); len(msgs) != 0 {
		t.Fatalf("%d messages remain", len(msgs))
	}
	if notes, _ := ts.Store.ListNotes(ctx, b.account.ID, conv.ID); len(notes) != 0 {
		t.Fatalf("%d notes remain", len(notes))
	}
	if st, _ := admin.raw("GET", "/api/v1/attachments/"+file.Message.Attachment.ID, nil); st != 404 {
		t.Fatalf("attachment: %d", st)
	}
	events, _ := ts.Store.ListEvents(ctx, b.account.ID, parley.EventFilter{Limit: 1000})
	for _, e := range events {
		leak("event "+e.Type, string(e.Data))
	}
	ds, _ := ts.Store.ListDeliveries(ctx, b.account.ID, hook.ID, 1000)
	erasedPayloads := 0
	for _, d := range ds {
		leak("webhook payload", string(d.Payload))
		// A payload waiting in the outbox still says which event it is,
		// as one delivered after the erasure would.
		var p parley.WebhookPayload
		if err := json.Unmarshal(d.Payload, &p); err != nil || p.Type != d.EventType || p.Data == nil || p.Data.Seq != d.EventSeq || p.Timestamp.IsZero() {
			t.Fatalf("delivery of %s #%d: payload %s (%v)", d.EventType, d.EventSeq, d.Payload, err)
		}
		if strings.Contains(string(p.Data.Data), `"erased":true`) {
			erasedPayloads++
		}
	}
	if erasedPayloads < 5 {
		t.Fatalf("%d of %d payloads erased, want the visitor's and their conversation's (at least 5)", erasedPayloads, len(ds))
	}
	from := url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	to := url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	for _, what := range []string{"conversations", "messages", "events"} {
		_, _, body := download(t, ts, b.apiKey, "/api/v1/exports/"+what+"?from="+from+"&to="+to)
		leak("export of "+what, body)
	}
	_, _, body = download(t, ts, b.apiKey, "/api/v1/consumers/"+v.consumer.ID+"/export")
	leak("the visitor's export after erasure", body)
	// The log keeps its order and its types: cursors and metrics still work.
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Fatalf("event log has a gap at %d", i)
		}
	}
	if got := waitEvents(t, ts, b.account.ID, parley.EventConsumerErased, 1); !strings.Contains(string(got[0].Data), v.consumer.ID) {
		t.Fatalf("consumer.erased: %s", got[0].Data)
	}
	// Who did it, from where, is in the audit log.
	var audit struct{ Entries []parley.AuditEntry }
	admin.do("GET", "/api/v1/audit-log", nil, &audit)
	var actions []string
	for _, e := range audit.Entries {
		actions = append(actions, e.Action)
		kind := parley.PrincipalAPIKey // the admin here is the brand's server...
		if e.Action == "POST /api/v1/auth/login" {
			kind = parley.PrincipalUser // ...but logins are people's (the agent's, above)
		}
		if e.IP != "127.0.0.1" || e.ActorKind != string(kind) || e.Status == 0 {
			t.Fatalf("audit entry %+v", e)
		}
	}
	joined := strings.Join(actions, "|")
	for _, want := range []string{"DELETE /api/v1/consumers/{id}", "GET /api/v1/consumers/{id}/export", "POST /api/v1/webhooks", "GET /api/v1/exports/{what}"} {
		if !strings.Contains(joined, want) {
			t.Fatalf("audit log %v lacks %s", actions, want)
		}
	}
	if strings.Contains(joined, "POST /api/v1/conversations/{id}/messages") {
		t.Fatal("agents' everyday work is in the audit log")
	}
}
