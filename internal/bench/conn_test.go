package bench

import "testing"

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
