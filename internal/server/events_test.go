package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

type sseEvent struct {
	id, typ string
	event   parley.Event
}

// openStream opens the live tail with an API key and reads its events into a channel.
func openStream(t *testing.T, ts *testServer, key, query, lastID string) (<-chan sseEvent, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.url+"/api/v1/events/stream"+query, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	out := make(chan sseEvent, 1000)
	go func() {
		defer close(out)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var cur sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				cur.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				cur.typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				json.Unmarshal([]byte(line[6:]), &cur.event)
			case line == "" && cur.id != "":
				out <- cur
				cur = sseEvent{}
			}
		}
	}()
	return out, cancel
}

func nextSSE(t *testing.T, ch <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("the stream ended")
		}
		return e
	case <-time.After(waitLimit):
		t.Fatal("no event before the deadline")
	}
	return sseEvent{}
}

func TestEventStreamResumesWithoutGapsOrRepeats(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	stream, stop := openStream(t, ts, b.apiKey, "", "")
	// From the start of the log: everything so far, in order.
	var seen []int64
	var last sseEvent
	for len(seen) == 0 || last.typ != parley.EventConversationOpened {
		last = nextSSE(t, stream)
		seen = append(seen, last.event.Seq)
	}
	// Live: a new message arrives as it happens.
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "first"}, nil)
	for last.typ != parley.EventMessageCreated {
		last = nextSSE(t, stream)
		seen = append(seen, last.event.Seq)
	}
	stop()
	// While disconnected, more happens.
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "second"}, nil)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "third"}, nil)
	// Reconnecting with the last id resumes exactly after it.
	stream, stop = openStream(t, ts, b.apiKey, "?types=message.created", last.id)
	defer stop()
	for _, want := range []string{"second", "third"} {
		e := nextSSE(t, stream)
		var m parley.Message
		json.Unmarshal(e.event.Data, &m)
		if e.typ != parley.EventMessageCreated || m.Text != want || e.event.Seq <= last.event.Seq {
			t.Fatalf("resumed with %s %q (seq %d after %d)", e.typ, m.Text, e.event.Seq, last.event.Seq)
		}
		seen = append(seen, e.event.Seq)
	}
	for i := 1; i < len(seen)-2; i++ {
		if seen[i] != seen[i-1]+1 {
			t.Fatalf("gap or repeat in %v", seen)
		}
	}
	// A cursor of another account is refused before anything streams.
	other := seedBrand(t, ts, "Other")
	req, _ := http.NewRequest("GET", ts.url+"/api/v1/events/stream?after="+parley.EncodeCursor(other.account.ID, 1), nil)
	req.Header.Set("Authorization", "Bearer "+b.apiKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 400 {
		t.Fatalf("foreign cursor: %d", res.StatusCode)
	}
}
