package realtime

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/parleychat/parley"
)

func TestABadFrameIsRefusedWithWhatIsWrongWithIt(t *testing.T) {
	for _, tt := range []struct{ frame, want string }{
		{`{"type":"send",`, "malformed JSON at byte"},
		{`{"type":"ping"} {"type":"ping"}`, "malformed JSON at byte 16"},
		{`[1,2]`, "a frame is a JSON object, not an array"},
		{`"ping"`, "a frame is a JSON object, not a string"},
		{`{"type":"ping","colour":"red"}`, `unknown field "colour"`},
		{`{"type":"send","message":{"type":"text","text":"hi","font":"x"}}`, `unknown field "message.font"`},
		{`{"Type":"ping"}`, `unknown field "Type"`}, // names are spelt exactly
		{`{"type":"ping","type":"send"}`, `field "type" appears twice`},
		{`{"type":"subscribe","after_seq":"ten"}`, `field "after_seq" must be an integer, not a string`},
		{`{"type":"send","message":{"type":"text","text":7}}`, `field "message.text" must be a string, not a number`},
		{`{"type":"typing","typing":1}`, `field "typing" must be a boolean, not a number`},
		{"{\"type\":\"ping\",\"id\":\"\xff\"}", "not valid UTF-8"},
		{`{"type":"send","message":"hi"}`, `field "message" must be an object, not a string`},
		{`{"type":"send","message":{"type":"choice","text":"t","choices":{}}}`, `field "message.choices" must be an array, not an object`},
	} {
		_, err := parseFrame([]byte(tt.frame))
		if parley.ErrorCode(err) != parley.EINVALID || !strings.Contains(parley.ErrorMessage(err), tt.want) {
			t.Errorf("parseFrame(%s) = %v, want invalid %q", tt.frame, err, tt.want)
		}
	}
	f, err := parseFrame([]byte(`{"type":"send","id":"r1","conversation_id":"c1","client_id":"k1","message":{"type":"text","text":"hi"},"after_seq":null}`))
	if err != nil || f.Type != "send" || f.ID != "r1" || f.ConversationID != "c1" || f.ClientID != "k1" || f.Message == nil || f.Message.Text != "hi" || f.AfterSeq != nil {
		t.Fatalf("a good frame: %+v, %v", f, err)
	}
	// Half an emoji, as JSON.stringify escapes it, is replaced, not refused.
	f, err = parseFrame([]byte(`{"type":"send","message":{"type":"text","text":"hi \ud83d"}}`))
	if err != nil || f.Message == nil || f.Message.Text != "hi \ufffd" {
		t.Fatalf("a lone surrogate: %+v, %v", f, err)
	}
}

// BenchmarkParseFrame decodes the frame `parley bench` sends most: every
// visitor message goes through it.
func BenchmarkParseFrame(b *testing.B) {
	frame := []byte(`{"type":"send","id":"019ad3f2c7e1-0xc000123456-4711","conversation_id":"conv_01KB9ZJ4QW3E5R7T9Y1U3I5O7P","client_id":"019ad3f2c7e1-0xc000123456-4711","message":{"type":"text","text":"Hello, I have a question about my order 019ad3f2c7e1-0xc000123456-4711"}}`)
	for b.Loop() {
		if _, err := parseFrame(frame); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParseFrame: whatever a client sends, parseFrame returns a frame or
// an invalid-input error, and never panics.
func FuzzParseFrame(f *testing.F) {
	f.Add([]byte(`{"type":"send","id":"r1","conversation_id":"c1","client_id":"k1","message":{"type":"text","text":"hi \ud83d"}}`))
	f.Add([]byte(`{"type":"subscribe","id":"s","conversation_id":"c","after_seq":3}`))
	f.Add([]byte(`{"type":"ping","type":"send"}`))
	f.Add([]byte(`{"type":"send","message":{"type":"card","card":{"title":"t","buttons":[{"label":"a"}]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := parseFrame(data)
		if err != nil {
			if parley.ErrorCode(err) != parley.EINVALID || parley.ErrorMessage(err) == "" {
				t.Fatalf("parseFrame(%q): %v, want an invalid-input error with a message", data, err)
			}
			return
		}
		if fr == nil {
			t.Fatalf("parseFrame(%q): no frame and no error", data)
		}
	})
}

// Every message sent is answered with an ack encoded without reflection:
// its bytes are encoding/json's, empty fields and escapes included.
func TestAcksEncodeAsEncodingJSONWould(t *testing.T) {
	for _, f := range []ackFrame{
		{Type: "ack", ID: "7", ConversationID: "conv_1", ClientID: "c-1", MessageID: "msg_1", Seq: 42, Duplicate: true},
		{Type: "ack", ConversationID: "conv_1", MessageID: "msg_1", Seq: 1},
		{Type: "ack", ID: "<\"é\u2028\x01&>", ConversationID: "", ClientID: "\xff", MessageID: "", Seq: -1},
	} {
		want, _ := json.Marshal(f)
		if got := f.appendJSON(nil); string(got) != string(want) {
			t.Errorf("appendJSON %s\njson       %s", got, want)
		}
	}
}

// TestAnAckEncodesInOneAllocation: the ack every send is answered with
// sizes its buffer once.
func TestAnAckEncodesInOneAllocation(t *testing.T) {
	f := ackFrame{Type: "ack", ID: "send-000000000042", ConversationID: parley.NewID("conv"), ClientID: parley.NewID("c") + "-retry-7",
		MessageID: parley.NewID("msg"), Seq: math.MinInt64, Duplicate: true}
	if n := len(f.appendJSON(nil)); n > f.size() {
		t.Errorf("%d bytes, size %d", n, f.size())
	}
	if allocs := testing.AllocsPerRun(100, func() { f.appendJSON(make([]byte, 0, f.size())) }); allocs != 1 {
		t.Errorf("%v allocations, want 1", allocs)
	}
}
