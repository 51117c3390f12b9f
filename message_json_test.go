package parley_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// The store's writer encodes each message with Message.AppendJSON instead
// of encoding/json: the bytes must be the same, for every field and every
// character a string can hold. Every field of Message is set from random
// values by reflection, so a field added to Message and forgotten by
// AppendJSON fails here.
func TestMessagesEncodeAsEncodingJSONWould(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 1))
	pieces := []string{"", "a", "hello, world", `"`, `\`, "<b>&amp;</b>", "\n\r\t\b\f", "\x00\x01\x1f\x7f", "é", "日本語",
		"\u2028\u2029", "\xff", "a\xc3", "\xed\xa0\x80", "😀", "\ufffd", "/", "'", " "}
	str := func() string {
		var sb strings.Builder
		for range rng.IntN(4) {
			sb.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return sb.String()
	}
	zones := []*time.Location{time.UTC, time.FixedZone("", -7*3600-30*60), time.FixedZone("X", 5*3600)}
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			v.SetString(str())
		case reflect.Int, reflect.Int64:
			v.SetInt(rng.Int64N(1<<40) - 1<<20)
		case reflect.Bool:
			v.SetBool(rng.IntN(2) == 0)
		case reflect.Pointer:
			if rng.IntN(3) == 0 {
				return // nil
			}
			v.Set(reflect.New(v.Type().Elem()))
			fill(v.Elem())
		case reflect.Slice:
			n := rng.IntN(3)
			s := reflect.MakeSlice(v.Type(), n, n)
			for i := range n {
				fill(s.Index(i))
			}
			v.Set(s)
		case reflect.Map:
			m := reflect.MakeMap(v.Type())
			for range rng.IntN(3) {
				k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
				fill(k)
				fill(e)
				m.SetMapIndex(k, e)
			}
			v.Set(m)
		case reflect.Struct:
			if v.Type() == reflect.TypeFor[time.Time]() {
				var at time.Time
				if rng.IntN(5) > 0 {
					at = time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)*int64(rng.IntN(2))).In(zones[rng.IntN(len(zones))])
				}
				v.Set(reflect.ValueOf(at))
				return
			}
			for i := range v.NumField() {
				if rng.IntN(4) > 0 { // now and then a field left empty
					fill(v.Field(i))
				}
			}
		default:
			t.Fatalf("the test cannot fill a %s", v.Type())
		}
	}
	for i := range 20000 {
		var m parley.Message
		fill(reflect.ValueOf(&m).Elem())
		want, err := json.Marshal(&m)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.AppendJSON(nil); string(got) != string(want) {
			t.Fatalf("message %d:\nAppendJSON %s\njson       %s", i, got, want)
		}
	}
}

func BenchmarkMessageJSON(b *testing.B) {
	m := &parley.Message{ID: "msg_01JD0000000000000000000000", AccountID: "acc_01JD0000000000000000000000", ConversationID: "conv_01JD0000000000000000000000",
		Seq: 42, SenderKind: parley.SenderConsumer, SenderID: "csm_01JD0000000000000000000000", ClientID: "0190a1b2-c3d4-7e5f-8a9b-000000000042",
		Type: parley.MessageText, Text: "Hello, I have a question about my order — it hasn't arrived yet.", CreatedAt: time.Now().UTC()}
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			json.Marshal(m)
		}
	})
	b.Run("AppendJSON", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf = m.AppendJSON(buf[:0])
		}
	})
}

// TestAMessageEncodesInOneAllocation: for a message whose strings need no
// escaping, whatever their lengths, JSONSize is never short of the JSON,
// so a buffer of that capacity is the one allocation.
func TestAMessageEncodesInOneAllocation(t *testing.T) {
	for _, text := range []string{"", "hello, I have a question about my order", strings.Repeat("order 42 ", 455)} {
		m := &parley.Message{ID: parley.NewID("msg"), AccountID: parley.NewID("acct"), ConversationID: parley.NewID("conv"), Seq: math.MaxInt64,
			SenderKind: parley.SenderConsumer, SenderID: parley.NewID("cons"), SenderName: "Ada Lovelace", ClientID: parley.NewID("c") + "-retry-7",
			Type: parley.MessageText, Text: text, CreatedAt: time.Date(2026, 12, 2, 18, 42, 10, 800273000, time.FixedZone("", -9*3600-30*60))}
		if n := len(m.AppendJSON(nil)); n > m.JSONSize() {
			t.Errorf("text of %d bytes: %d bytes of JSON, hint %d", len(text), n, m.JSONSize())
		}
		if allocs := testing.AllocsPerRun(100, func() { m.AppendJSON(make([]byte, 0, m.JSONSize())) }); allocs != 1 {
			t.Errorf("text of %d bytes: %v allocations, want 1", len(text), allocs)
		}
	}
}
