package masking

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/parleychat/parley"
)

func TestCardNumbersAreMaskedButTheirLastFourDigits(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"my card is 4242424242424242 thanks", "my card is ************4242 thanks"},
		{"4242 4242 4242 4242", "**** **** **** 4242"},
		{"4111-1111-1111-1111", "****-****-****-1111"},
		{"amex 3782 822463 10005.", "amex **** ****** *0005."},                     // 15 digits
		{"4242 4242 4242 4242 12/27 cvc 123", "**** **** **** 4242 12/27 cvc 123"}, // the expiry stays
		{"4242 4242 4242 4242 12 27", "**** **** **** 4242 12 27"},                 // even run on
		{"ref 12 4242 4242 4242 4242", "ref 12 **** **** **** 4242"},               // a group before
		{"two: 4242424242424242 and 5555555555554444", "two: ************4242 and ************4444"},
		// Not cards: the Luhn check fails, too few or too many digits, a
		// longer unbroken number, phone numbers, dates.
		{"order 4242424242424241", "order 4242424242424241"},
		{"tracking 1Z9999999999999999999999", "tracking 1Z9999999999999999999999"},
		{"call +44 20 7946 0958", "call +44 20 7946 0958"},
		{"424242424242", "424242424242"},
		{"4242424242424242424242", "4242424242424242424242"},
		{"on 2026-11-29 at 10:30", "on 2026-11-29 at 10:30"},
		{"", ""},
	} {
		if got := maskCards(tt.in); got != tt.want {
			t.Errorf("maskCards(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// maskCardsByRegexp is maskCards as it was written first, with a regular
// expression finding the runs: the reference the hand-written scan must
// agree with.
func maskCardsByRegexp(text string) string {
	return regexp.MustCompile(`\d(?:[ -]?\d)*`).ReplaceAllStringFunc(text, func(run string) string {
		if len(run) < 13 {
			return run
		}
		out := maskRun(nil, run, 0, len(run))
		if out == nil {
			return run
		}
		return string(out)
	})
}

func TestTheScanFindsTheRunsARegularExpressionWould(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 31))
	const alphabet = "0123456789012345678901234567890123456789  --x/\n"
	for range 20000 {
		b := make([]byte, rng.IntN(60))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if got, want := maskCards(string(b)), maskCardsByRegexp(string(b)); got != want {
			t.Fatalf("maskCards(%q) = %q, the regular expression's way gives %q", b, got, want)
		}
	}
}

func FuzzMaskCards(f *testing.F) {
	f.Add("4242 4242 4242 4242 12/27")
	f.Add("ref 12 4242-4242-4242-4242 and 5555555555554444")
	f.Fuzz(func(t *testing.T, text string) {
		if got, want := maskCards(text), maskCardsByRegexp(text); got != want {
			t.Fatalf("maskCards(%q) = %q, the regular expression's way gives %q", text, got, want)
		}
	})
}

func TestTheBrandsRulesMaskInOrderAfterCards(t *testing.T) {
	off := false
	r, err := Compile(parley.Masking{Rules: []parley.MaskRule{
		{Name: "US SSN", Pattern: `\b\d{3}-\d{2}-\d{4}\b`, Replacement: "[SSN]"},
		{Name: "password", Pattern: `(?i)password:\s*[^\s,]+`},
		{Name: "dollar", Pattern: `secret`, Replacement: "$1"}, // literal, not a group
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := r.Apply("SSN 123-45-6789, Password: hunter2, card 4242 4242 4242 4242, secret", 0)
	want := "SSN [SSN], ***, card **** **** **** 4242, $1"
	if got != want {
		t.Fatalf("Apply = %q, want %q", got, want)
	}
	noCards, _ := Compile(parley.Masking{Cards: &off})
	if got := noCards.Apply("4242 4242 4242 4242", 0); got != "4242 4242 4242 4242" {
		t.Fatalf("with cards off: %q", got)
	}
	// A replacement longer than its match cannot take a message past the limit.
	grow, _ := Compile(parley.Masking{Rules: []parley.MaskRule{{Name: "a", Pattern: "a", Replacement: strings.Repeat("b", 32)}}})
	if got := grow.Apply(strings.Repeat("a", 100), 150); len([]rune(got)) != 150 {
		t.Fatalf("a growing rule gave %d runes, want the limit 150", len([]rune(got)))
	}
}

func TestBadRulesAreRefusedByName(t *testing.T) {
	for _, tt := range []struct {
		rules []parley.MaskRule
		want  string
	}{
		{[]parley.MaskRule{{Name: "ok", Pattern: "x"}, {Name: "broken", Pattern: "(a"}}, "masking.rules[1].pattern: error parsing regexp"},
		{[]parley.MaskRule{{Name: "everything", Pattern: "a*"}}, "masking.rules[0].pattern \"a*\" matches the empty string"},
		{[]parley.MaskRule{{Name: " ", Pattern: "a"}}, "masking.rules[0].name"},
		{[]parley.MaskRule{{Name: "long", Pattern: "a", Replacement: strings.Repeat("x", 33)}}, "masking.rules[0].replacement: at most 32"},
		{[]parley.MaskRule{{Name: "huge", Pattern: strings.Repeat("a", 501)}}, "masking.rules[0].pattern: 1 to 500"},
		{make([]parley.MaskRule, 21), "masking.rules: at most 20"},
	} {
		_, err := Compile(parley.Masking{Rules: tt.rules})
		if parley.ErrorCode(err) != parley.EINVALID || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want invalid %q", tt.rules, err, tt.want)
		}
	}
}

func BenchmarkMaskAPlainMessage(b *testing.B) {
	r, _ := Compile(parley.Masking{})
	for b.Loop() {
		r.Apply("Hi, where is my order 1042? It was due on Monday.", 4000)
	}
}

func BenchmarkMaskACardNumber(b *testing.B) {
	r, _ := Compile(parley.Masking{})
	for b.Loop() {
		r.Apply("Please charge 4242 4242 4242 4242, expiry 12/27.", 4000)
	}
}

// A message with many digits but no card (an order reference with a
// timestamp in it) is scanned in full: the common expensive case.
func BenchmarkMaskManyDigitsNoCard(b *testing.B) {
	r, _ := Compile(parley.Masking{})
	for b.Loop() {
		r.Apply("Hello, I have a question about my order 019ad3f2c7e1-0xc000123456-4711", 4000)
	}
}
