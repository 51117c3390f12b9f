package bot

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/bot/demo"
)

// FuzzParse: any file given to `parley bot import` or PUT /bot is a
// configuration that compiles and answers, or a precise error (invalid,
// too large) naming the file — never a panic (docs/bot.md, Validation).
// `go test -fuzz FuzzParse ./internal/bot/` explores; the seeds run with
// every test.
func FuzzParse(f *testing.F) {
	f.Add(demo.Northwind)
	f.Add([]byte(`{"enabled": true, "articles": [{"id": "a", "title": "T", "body": "B"}]}`))
	f.Add([]byte("intents:\n  - name: x\n    phrases: []\n"))
	f.Add([]byte("flows:\n  - name: f\n    steps:\n      - id: a\n        kind: say\n        text: hi\n        next: a\n"))
	f.Add([]byte("articles: &a [*a]\n"))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := DefaultLimits
		l.MaxBytes = 64 << 10
		cfg, err := Parse("fuzz.yaml", data, demoSkills, l)
		if err != nil {
			if code := parley.ErrorCode(err); code != parley.EINVALID && code != parley.ETOOLARGE {
				t.Fatalf("error code %q: %v", code, err)
			}
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("the error does not name the file: %v", err)
			}
			return
		}
		b := Compile(cfg, demoSkills)
		b.Classify("where is my order?")
		Suggest(b, "where is my order?", nil)
	})
}

var (
	scriptTag   = regexp.MustCompile(`(?i)<\s*(script|iframe|object|embed|style)\b`)
	handlerAttr = regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)
	jsURL       = regexp.MustCompile(`(?i)(href|src)\s*=\s*["']?\s*(javascript|vbscript|data):`)
)

// FuzzRenderMarkdown: whatever an admin writes in an article or answer, the
// HTML visitors get has no script, no event handler and no script URL.
func FuzzRenderMarkdown(f *testing.F) {
	for _, s := range []string{"**bold** [link](https://x.example)", "<script>alert(1)</script>", "[x](javascript:alert(1))",
		"<img src=x onerror=alert(1)>", "![a](data:text/html;base64,PHNjcmlwdD4=)", "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
		"```\n<script>\n```", "<svg onload=alert(1)>", "[x](  JaVaScRiPt:alert(1))"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		done := make(chan string, 1)
		go func() { done <- RenderMarkdown(src) }()
		var html string
		select {
		case html = <-done:
		case <-time.After(3 * time.Second):
			t.Fatalf("RenderMarkdown of %d bytes did not end: %q", len(src), src)
		}
		for _, re := range []*regexp.Regexp{scriptTag, handlerAttr, jsURL} {
			if loc := re.FindStringIndex(html); loc != nil {
				t.Fatalf("unsafe HTML from %q: %q", src, html[loc[0]:min(len(html), loc[1]+40)])
			}
		}
		PlainText(src)
	})
}
