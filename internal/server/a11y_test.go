package server_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeVersion is the axe-core scripts/test-deps.sh fetches.
const axeVersion = "4.14.1"

func axeSource(t *testing.T) string {
	t.Helper()
	path := os.Getenv("PARLEY_TEST_AXE")
	if path == "" {
		out, err := exec.Command("go", "env", "GOPATH").Output()
		if err != nil {
			t.Fatal(err)
		}
		path = filepath.Join(strings.TrimSpace(string(out)), "pkg", "parley-test", "axe-core-"+axeVersion+".min.js")
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("axe-core is missing (%v): run `make test` (scripts/test-deps.sh fetches it)", err)
	}
	return string(src)
}

// accessibilityProblems runs axe-core on the page (or frame) of ctx
// against WCAG 2.1 A and AA, and returns each violation with the nodes
// it found, as lines to read in a failure.
func accessibilityProblems(t *testing.T, ctx context.Context, axe string) []string {
	t.Helper()
	evalIn[bool](t, ctx, axe+";true")
	// Colours are judged once things have come in: a message fading in
	// (0.15 s) is paler than it stays. Endless animations are not waited for.
	return evalIn[[]string](t, ctx, `Promise.all(document.getAnimations()
		.filter((a) => a.effect && isFinite(a.effect.getComputedTiming().endTime))
		.map((a) => a.finished.catch(() => null)))
		.then(() => axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, resultTypes: ["violations"]})
		.then((r) => r.violations.map((v) => v.id + " (" + v.impact + "): " + v.help + " — " +
			v.nodes.slice(0, 4).map((n) => n.target.join(" ") + (n.failureSummary ? " [" + n.failureSummary.replace(/\s+/g, " ").slice(0, 160) + "]" : "")).join("; "))))`)
}

// TestEveryScreenPassesAnAccessibilityCheck: axe-core finds no WCAG 2.1 A
// or AA violation on the console's screens — the login, the inbox with a
// conversation open, each supervisor's and admin's tab, the profile — nor
// in the visitor's chat window and help center.
func TestEveryScreenPassesAnAccessibilityCheck(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Northwind")
	withDemoBot(t, ts, brand)
	ts.withKey(t, brand.apiKey).do("PUT", "/api/v1/widget-settings", map[string]any{"help_center": true, "offline_form": false}, nil)
	ts.Server.SetDemoAccount(brand.account.ID)
	v := ts.newVisitor(t, brand.account.ID)
	conv := v.open(t)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "When will my parcel arrive?"}, nil)
	axe := axeSource(t)

	var problems []string
	check := func(screen string, ctx context.Context) {
		t.Helper()
		for _, p := range accessibilityProblems(t, ctx, axe) {
			problems = append(problems, screen+": "+p)
		}
	}

	b := newBrowser(t)
	b.do(chromedp.Navigate(ts.url+"/console/"), chromedp.WaitVisible(chromedp.CSS(".login-form")))
	check("console login", b.ctx)

	b.do(chromedp.SendKeys(chromedp.CSS("input[name=email]"), brand.admin.Email), chromedp.SendKeys(chromedp.CSS("input[name=password]"), password),
		chromedp.Click(chromedp.CSS(".login-form button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("[data-tab=admin]")))
	// The inbox works from the keyboard: an item's button takes the focus,
	// and Enter opens the conversation.
	b.do(chromedp.Click(chromedp.CSS("[data-tab=bot]")), chromedp.WaitVisible(chromedp.CSS(".items[data-tab=bot] li .open-conv")))
	evalIn[bool](t, b.ctx, `(() => { document.querySelector(".items[data-tab=bot] li .open-conv").focus(); return true })()`)
	b.do(chromedp.KeyEvent("\r"))
	waitFor(t, func() bool {
		return evalIn[bool](t, b.ctx, `!!document.querySelector(".items li[aria-current=true]") && location.hash === "#conversation=`+conv.ID+`"`)
	})
	waitFor(t, func() bool {
		return evalIn[bool](t, b.ctx, `!!document.querySelector(".messages li") && !document.querySelector(".suggestions").hidden`)
	})
	check("console conversation", b.ctx)
	for _, tab := range []struct{ tab, ready string }{
		{"contacts", ".contacts"}, {"supervise", ".overview"}, {"dash", ".dashboard"}, {"admin", ".admin"}, {"botedit", ".bot-article"},
	} {
		b.press("[data-tab=" + tab.tab + "]")
		waitFor(t, func() bool {
			return evalIn[bool](t, b.ctx, `(() => { const el = document.querySelector(`+strconv.Quote(tab.ready)+`); return !!el && el.offsetParent !== null })()`)
		})
		check("console "+tab.tab, b.ctx)
	}
	b.press(".open-profile")
	b.do(chromedp.WaitVisible(chromedp.CSS("dialog.profile")))
	check("console profile", b.ctx)

	visitor := newBrowser(t)
	visitor.do(chromedp.Navigate(ts.url+"/demo/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := visitor.frame()
	check("widget chat", frame)
	if err := chromedp.Do(frame, chromedp.Click(chromedp.CSS(".help-toggle")), chromedp.WaitVisible(chromedp.CSS(".help-results li"))); err != nil {
		t.Fatal(err)
	}
	check("widget help center", frame)

	// A brand whose colour is light: the text on it turns dark, and the
	// colour is not used as text on white.
	ts.withKey(t, brand.apiKey).do("PUT", "/api/v1/widget-settings", map[string]any{"help_center": true, "offline_form": false, "color": "#ffd400"}, nil)
	light := newBrowser(t)
	light.do(chromedp.Navigate(ts.url+"/demo/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	lightFrame := light.frame()
	if err := chromedp.Do(lightFrame, chromedp.SendKeys(chromedp.CSS("#text"), "How long does delivery take?\r")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return evalIn[bool](t, lightFrame, `!!document.querySelector(".choices button")`) })
	check("widget chat in a light colour", lightFrame)
	light.shot("light-brand")

	if len(problems) > 0 {
		t.Fatalf("accessibility problems (axe-core %s, WCAG 2.1 A and AA):\n%s", axeVersion, strings.Join(problems, "\n"))
	}
}
