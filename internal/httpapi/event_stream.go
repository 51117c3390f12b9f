package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/parleychat/parley"
)

// streamBatch is how many events the live tail reads from the store at once.
const streamBatch = 500

// handleEventStream is the live tail of the account's events as Server-Sent
// Events, for servers that follow the log. It starts after the cursor in
// `after` (or the Last-Event-ID header a reconnecting client sends) and
// never skips or repeats: every event is read from the store in seq order;
// the bus only says when to look again. A comment line every 15 s keeps
// proxies from closing an idle stream.
func (a *API) handleEventStream(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	q := r.URL.Query()
	cursor := q.Get("after")
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		cursor = id
	}
	after, err := parley.DecodeCursor(p.AccountID, cursor)
	if err != nil {
		return err
	}
	types, err := eventTypes(q.Get("types"))
	if err != nil {
		return err
	}
	if a.Bus == nil {
		return parley.Errorf(parley.EUNAVAILABLE, "the live tail is not available on this node")
	}
	wake := make(chan struct{}, 1)
	unsubscribe := a.Bus.Subscribe(func(e *parley.Event) {
		if e.AccountID == p.AccountID {
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	})
	defer unsubscribe()
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	heartbeat := time.NewTicker(15 * time.Second)
	defer heartbeat.Stop()
	for {
		events, err := a.store.ListEvents(r.Context(), p.AccountID, parley.EventFilter{After: after, Types: types, Limit: streamBatch})
		if err != nil {
			return nil // the status is sent; the client reconnects with its last id
		}
		for _, e := range events {
			data, _ := json.Marshal(e)
			fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", parley.EncodeCursor(p.AccountID, e.Seq), e.Type, data)
			after = e.Seq
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
		if len(events) == streamBatch {
			continue
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-a.closing():
			return nil
		case <-wake:
		case <-heartbeat.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		}
	}
}

func (a *API) closing() <-chan struct{} {
	if a.Closing == nil {
		return nil
	}
	return a.Closing
}
