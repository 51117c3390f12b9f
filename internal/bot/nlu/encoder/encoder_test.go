package encoder

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// The tokenizer must cut text exactly as the teacher's did when the
// vectors were fitted, or a sentence sums the wrong pieces. The expected
// tokens come from the teacher's own JavaScript tokenizer
// (scripts/distil-encoder/fixture.js).
func TestTokensMatchTheTeachersTokenizer(t *testing.T) {
	b, err := os.ReadFile("testdata/tokens.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Text   string  `json:"text"`
		Tokens []int32 `json:"tokens"`
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	e := English()
	for _, c := range cases {
		if got := e.Tokens(c.Text); !slices.Equal(got, c.Tokens) {
			t.Errorf("Tokens(%q) = %v, want %v", c.Text, got, c.Tokens)
		}
	}
}

func cosine(a, b []float32) float64 {
	var dot float64
	for i := range a {
		dot += float64(a[i] * b[i])
	}
	return dot // Encode returns unit vectors
}

// A question lies closer to one that means much the same in other words
// than to one about something else: what lets a bot trained on a few
// phrases recognise the ones it was not given. The encoder is a bag of
// pieces, so this is about words that go together (refund and money
// back), not about word order. None of these sentences was in the
// distillation corpus.
func TestRelatedQuestionsAreCloserThanUnrelatedOnes(t *testing.T) {
	e := English()
	for _, c := range []struct{ text, related, unrelated string }{
		{"I would like a refund", "can I get my money back", "what time do you open tomorrow"},
		{"my parcel has not arrived", "where is my delivery", "how do I change my password"},
		{"I forgot my passcode", "how can I reset my PIN", "the weather is lovely today"},
		{"the app keeps crashing", "your application stops working on my phone", "do you sell gift vouchers"},
		{"which currencies can I hold", "do you support euros and dollars", "my order arrived broken"},
	} {
		v := e.Encode(c.text, nil)
		related, unrelated := cosine(v, e.Encode(c.related, nil)), cosine(v, e.Encode(c.unrelated, nil))
		t.Logf("%q: %.3f related, %.3f unrelated", c.text, related, unrelated)
		if related <= unrelated {
			t.Errorf("%q: %.3f to %q, %.3f to %q", c.text, related, c.related, unrelated, c.unrelated)
		}
	}
}

func TestEncodeIsUnitLengthOrZero(t *testing.T) {
	e := English()
	if v := e.Encode("", nil); len(v) != e.Dim() || cosine(v, v) != 0 {
		t.Fatalf("empty text: %d values, squared length %v", len(v), cosine(v, v))
	}
	v := e.Encode("where is my parcel?", []float32{7})
	if len(v) != 1+e.Dim() || v[0] != 7 {
		t.Fatalf("Encode must append: %d values, first %v", len(v), v[0])
	}
	if n := cosine(v[1:], v[1:]); n < 0.999 || n > 1.001 {
		t.Fatalf("squared length %v", n)
	}
}

func TestLoadRefusesDamagedFiles(t *testing.T) {
	for name, c := range map[string]struct{ pieces, vectors []byte }{
		"no magic":       {englishPieces, []byte("nope")},
		"short rows":     {englishPieces, englishVectors[:len(englishVectors)-1]},
		"bad piece line": {[]byte("x y\n"), englishVectors},
	} {
		if _, err := Load(c.pieces, c.vectors); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	e := English()
	var out []float32
	for b.Loop() {
		out = e.Encode("What can I do if my card still hasn't arrived after 2 weeks?", out[:0])
	}
}
