package bench

import (
	"fmt"
	"testing"
	"time"
)

func TestTheGeneratorReadsEveryFrameItCounts(t *testing.T) {
	for _, tt := range []struct {
		data string
		want frame
	}{
		{`{"type":"ack","id":"c1","message":{"seq":3,"client_id":"c1","sender_kind":"consumer","text":"hi"}}`,
			frame{Type: "ack", ID: "c1", Message: message{Seq: 3, ClientID: "c1", SenderKind: "consumer"}}},
		// An error frame's message is its text: the frame still counts.
		{`{"type":"error","id":"c2","code":"rate_limited","message":"slow down"}`,
			frame{Type: "error", ID: "c2", Code: "rate_limited"}},
		{`{"type":"message","conversation_id":"k","message":{"seq":4,"client_id":"c3","sender_kind":"consumer"},"extra":[1,2]}`,
			frame{Type: "message", ConversationID: "k", Message: message{Seq: 4, ClientID: "c3", SenderKind: "consumer"}}},
	} {
		got, ok := decodeFrame([]byte(tt.data))
		if !ok || got != tt.want {
			t.Errorf("decodeFrame(%s) = %+v, %v; want %+v", tt.data, got, ok, tt.want)
		}
	}
}

func TestAPairFindsItsOwnMessagesByClientID(t *testing.T) {
	p, other := &pair{}, &pair{}
	p.prefix, other.prefix = fmt.Sprintf("-%p-", p), fmt.Sprintf("-%p-", other)
	at := time.UnixMilli(0x19ad3f2c7e1)
	first, second := p.next(at), p.next(at.Add(time.Second))
	if want := "019ad3f2c7e1" + p.prefix + "1"; first != want {
		t.Fatalf("first ID %q, want %q", first, want)
	}
	if m := p.message(second); m == nil || !m.at.Equal(at.Add(time.Second)) {
		t.Fatalf("the second message: %+v", m)
	}
	other.next(at)
	for _, id := range []string{other.next(at), "019ad3f2c7e1" + p.prefix + "3", "019ad3f2c7e1" + p.prefix + "0", "x", "", first + "x"} {
		if m := p.message(id); m != nil {
			t.Errorf("p.message(%q) = %+v, want none: not one of p's", id, m)
		}
	}
}
