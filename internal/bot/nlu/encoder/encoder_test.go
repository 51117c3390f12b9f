package encoder

import (
	"encoding/binary"
	"encoding/json"
	"math"
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
		"version 3":      {[]byte(tinyPieces), append([]byte("PVEC\x03"), tinyVectors(false)[5:]...)},
		"no layer size":  {[]byte(tinyPieces), tinyVectors(true)[:13]},
		"huge layer":     {[]byte(tinyPieces), slices.Concat(tinyVectors(true)[:13], []byte{0, 0, 1, 0}, tinyVectors(true)[17:])},
		"missing layer":  {[]byte(tinyPieces), tinyVectors(false)[:13]},
		"short layer":    {[]byte(tinyPieces), tinyVectors(true)[:len(tinyVectors(true))-1]},
	} {
		if _, err := Load(c.pieces, c.vectors); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}

// tinyPieces and tinyVectors are a vocabulary of two pieces, "a" = (1, 0)
// and "b" = (0, 1), and, when layer is set, a hidden unit relu(m₀ + m₁)
// added to the second dimension.
const tinyPieces = "0\t<unk>\n0\t<s>\n0\t</s>\n0\tx1\n0\tx2\n0\tx3\n-1\t\u2581a\n-1\t\u2581b\n-5\t\u2581\n"

func tinyVectors(layer bool) []byte {
	version := byte(1)
	if layer {
		version = 2
	}
	b := append([]byte("PVEC"), version)
	b = binary.LittleEndian.AppendUint32(b, 9)
	b = binary.LittleEndian.AppendUint32(b, 2)
	if layer {
		b = binary.LittleEndian.AppendUint32(b, 1)
	}
	for row := range 9 {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(1.0/127))
		switch row {
		case 6:
			b = append(b, 127, 0)
		case 7:
			b = append(b, 0, 127)
		default:
			b = append(b, 0, 0)
		}
	}
	if layer {
		for _, x := range []float32{1, 1, 0, 0, 1, 0, 0} { // W1, b1, W2, b2
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
	}
	return b
}

func tinyModel(t *testing.T, layer bool) *Encoder {
	t.Helper()
	e, err := Load([]byte(tinyPieces), tinyVectors(layer))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestTheLayerAfterTheMean(t *testing.T) {
	near := func(v []float32, want ...float64) bool {
		for i, w := range want {
			if math.Abs(float64(v[i])-w) > 1e-3 {
				return false
			}
		}
		return true
	}
	flat, deep := tinyModel(t, false), tinyModel(t, true)
	if v := flat.Encode("a", nil); !near(v, 1, 0) {
		t.Errorf("the mean alone: a = %v, want (1, 0)", v)
	}
	// a: mean (1, 0), hidden 1, y = (1, 1).
	if v := deep.Encode("a", nil); !near(v, 1/math.Sqrt2, 1/math.Sqrt2) {
		t.Errorf("with the layer: a = %v, want (0.707, 0.707)", v)
	}
	// a b: mean (0.5, 0.5), hidden 1, y = (0.5, 1.5).
	if v := deep.Encode("a b", nil); !near(v, 0.5/math.Sqrt(2.5), 1.5/math.Sqrt(2.5)) {
		t.Errorf("with the layer: a b = %v, want (0.316, 0.949)", v)
	}
	if v := deep.Encode("", nil); !near(v, 0, 0) {
		t.Errorf("empty text: %v, want zero", v)
	}
}

func BenchmarkEncode(b *testing.B) {
	e := English()
	var out []float32
	for b.Loop() {
		out = e.Encode("What can I do if my card still hasn't arrived after 2 weeks?", out[:0])
	}
}

// Any text ends in pieces, every one a row of the vocabulary.
func FuzzTokens(f *testing.F) {
	for _, s := range []string{"", "a", "where is my card?", "ｆｕｌｌ width", "😀😀 x", "\u0301a", "  ", "▁▁"} {
		f.Add(s)
	}
	e := English()
	f.Fuzz(func(t *testing.T, text string) {
		for _, id := range e.Tokens(text) {
			if id < 0 || int(id) >= len(e.scales) {
				t.Fatalf("%q: piece %d", text, id)
			}
		}
	})
}
