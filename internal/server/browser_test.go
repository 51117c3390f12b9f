package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/server"
	dto "github.com/prometheus/client_model/go"
)

// browser is a real headless Chromium with a fresh profile, driven over
// the DevTools protocol: a browser context (its own cookies, storage and
// cache, as a new profile has) in the Chromium the test binary shares
// (see chromium). Screenshots of each step go to artifacts/<test>/.
type browser struct {
	t         *testing.T
	ctx       context.Context
	artifacts string
	step      int
	detach    []context.CancelFunc // contexts attached to chat frames
	name      string               // prefix of this browser's screenshots
}

var (
	artifactsMu      sync.Mutex
	artifactsCleared = map[string]bool{}
	browserCount     atomic.Int64
)

// leaveFrames detaches from the chat frames before the page navigates away.
func (b *browser) leaveFrames() {
	for _, cancel := range b.detach {
		cancel()
	}
	b.detach = nil
}

func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Fatal("Chromium is missing: run `make test` (scripts/test-deps.sh installs it)")
	return ""
}

// chromium is the one headless Chromium of the test binary, started by
// the first browser a test asks for and stopped by TestMain. Each browser
// is a new browser context in it: as separate as two profiles, and ready
// in a third of the time a new Chromium takes to start (0.6–0.9 s against
// 1.6–1.8 s on the development machine), over a hundred times a run. A
// Chromium that died is started again for the next browser, so that one
// crash fails one test.
var chromium struct {
	mu      sync.Mutex
	ctx     context.Context // done when the browser is gone
	dataDir string
	stop    func()
}

func startChromium(t *testing.T) context.Context {
	t.Helper()
	chromium.mu.Lock()
	defer chromium.mu.Unlock()
	if chromium.ctx != nil && chromium.ctx.Err() == nil {
		return chromium.ctx
	}
	stopChromiumLocked()
	dir, err := os.MkdirTemp("", "parley-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.UserDataDir(dir), chromedp.WindowSize(1280, 800))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx)
	chromium.ctx, chromium.dataDir, chromium.stop = ctx, dir, func() { cancelBrowser(); cancelAlloc() }
	// Started with a context that has no deadline: the browser lives as
	// long as the context of its first run.
	if err := chromedp.Do(ctx); err != nil {
		stopChromiumLocked()
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// stopChromium ends the shared Chromium, if a test started it.
func stopChromium() {
	chromium.mu.Lock()
	defer chromium.mu.Unlock()
	stopChromiumLocked()
}

func stopChromiumLocked() {
	if chromium.stop != nil {
		chromium.stop()
	}
	if chromium.dataDir != "" {
		os.RemoveAll(chromium.dataDir)
	}
	chromium.ctx, chromium.dataDir, chromium.stop = nil, "", nil
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	if os.Getenv("PARLEY_TEST_STORE") == "postgres" {
		t.Skip("the browser tests run once, on SQLite; the rest of the suite covers the store on PostgreSQL")
	}
	ctx, cancelCtx := chromedp.NewContext(startChromium(t), chromedp.WithNewBrowserContext())
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx() })
	dir, _ := filepath.Abs(filepath.Join("..", "..", "artifacts", t.Name()))
	artifactsMu.Lock()
	if !artifactsCleared[dir] { // a test with two browsers keeps both's screenshots
		artifactsCleared[dir] = true
		os.RemoveAll(dir)
		t.Logf("screenshots: %s", dir)
	}
	artifactsMu.Unlock()
	os.MkdirAll(dir, 0o755)
	return &browser{t: t, ctx: ctx, artifacts: dir, name: fmt.Sprintf("b%d-", browserCount.Add(1))}
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.shot("failure")
		b.t.Fatal(err)
	}
}

// openFirst opens the first conversation of the console's list shown by
// tab. The list re-renders when the inbox changes, so the click is retried
// by script (a DevTools click can hit a node that was just replaced) until
// the conversation is selected.
func (b *browser) openFirst(tab string) {
	b.t.Helper()
	// The list says which tab it is (data-tab): until the chosen tab's
	// arrives, the items shown are the last tab's.
	b.do(chromedp.Click(chromedp.CSS("[data-tab="+tab+"]")), chromedp.WaitVisible(chromedp.CSS(".items[data-tab="+tab+"] li")))
	deadline := time.Now().Add(20 * time.Second)
	for {
		selected, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(() => {
			if (document.querySelector(".items[data-tab=`+tab+`] li[aria-current=true]")) return true;
			document.querySelector(".items[data-tab=`+tab+`] li")?.click();
			return false })()`))
		if err == nil && selected {
			return
		}
		if time.Now().After(deadline) {
			b.shot("failure")
			b.t.Fatalf("no conversation of %s opened: %v", tab, err)
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline
	}
}

// press clicks a button by script. A DevTools click aims at coordinates,
// which miss when the page re-renders above the button in between (the
// admin lists and the bot editor do after every save).
func (b *browser) press(selector string) {
	b.t.Helper()
	if !evalIn[bool](b.t, b.ctx, `(() => { const el = document.querySelector(`+strconv.Quote(selector)+`); if (!el) return false; el.click(); return true })()`) {
		b.shot("failure")
		b.t.Fatalf("no %s to press", selector)
	}
}

// shot saves a screenshot of the page (with the chat frame) as the next step.
func (b *browser) shot(name string) {
	b.step++
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	os.WriteFile(filepath.Join(b.artifacts, fmt.Sprintf("%s%02d-%s.png", b.name, b.step, name)), png, 0o644)
}

func evalIn[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %q: %v", js, err)
	}
	return v
}

// launcher selects the chat button inside the closed shadow root; DevTools'
// search reaches where page scripts cannot.
var launcher = chromedp.Search("button[aria-haspopup=dialog]")

// frame attaches to the chat frame, a cross-site iframe that Chromium runs
// as its own target, once it has loaded (the URL-th one if several).
func (b *browser) frame(skip ...string) context.Context {
	b.t.Helper()
	return b.frameShowing("main.chat", skip...)
}

// frameShowing is frame for a chat window that shows ready (a selector)
// rather than the chat.
func (b *browser) frameShowing(ready string, skip ...string) context.Context {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		infos, err := chromedp.Targets(b.ctx)
		if err != nil {
			b.t.Fatal(err)
		}
		mine := chromedp.FromContext(b.ctx).BrowserContextID // the shared Chromium holds every browser's frames
	next:
		for _, in := range infos {
			if in.Type != "iframe" || !strings.Contains(in.URL, "/widget/frame") || in.BrowserContextID != mine {
				continue
			}
			for _, s := range skip {
				if string(in.TargetID) == s {
					continue next
				}
			}
			ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(in.TargetID), chromedp.WithDetachOnCancel())
			// Each attempt has its own deadline: a target that reloads while
			// we attach can leave the wait with no document to watch, which
			// would otherwise hang until the whole test's deadline.
			// (Attaching happens on the first action, with the context
			// given: attach first, then wait with the deadline.)
			err := chromedp.Do(ctx)
			if err == nil {
				err = shows(ctx, ready, 5*time.Second)
			}
			if err != nil {
				// The frame reloaded while we attached (identify does that):
				// let go and attach to what it became.
				cancel()
				lastErr = err
				continue
			}
			b.detach = append(b.detach, cancel)
			return ctx
		}
		time.Sleep(50 * time.Millisecond) // polling the browser's target list; no event announces iframe targets here
	}
	b.t.Fatalf("the chat frame never loaded (%v)", lastErr)
	return nil
}

// shows waits until the target's page shows an element matching selector.
// It asks the page by script rather than with chromedp.WaitVisible: the
// chat frame reloads as it identifies the visitor, and chromedp's node
// cache, rebuilt on each reload, races with a query running through it
// (the race detector caught it in CI).
func shows(ctx context.Context, selector string, within time.Duration) error {
	js := `(() => { const el = document.querySelector(` + strconv.Quote(selector) + `); return !!el && el.checkVisibility() })()`
	deadline := time.Now().Add(within)
	for {
		attempt, stop := context.WithTimeout(ctx, time.Second)
		visible, err := chromedp.Run(attempt, chromedp.Evaluate[bool](js))
		stop()
		if err == nil && visible {
			return nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("%s never showed", selector)
			}
			return err
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline
	}
}

func frameTargetID(ctx context.Context) string {
	return string(chromedp.FromContext(ctx).Target.TargetID)
}

// hostPages serves brand pages on its own origin (127.0.0.1:other port):
// each page has an optional earlier script, then the widget's script tag.
func hostPages(t *testing.T, widgetOrigin, account string, pages map[string]string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pre, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><title>Brand page</title></head>
<body style="font-family:sans-serif"><h1>A brand's page</h1><p>Some content.</p>
<script>%s</script>
<script src="%s/widget.js" data-account="%s"></script></body></html>`, pre, widgetOrigin, account)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// widgetOrigin is the Parley server as the other loopback name, so pages on
// 127.0.0.1 embed a cross-site frame.
func widgetOrigin(ts *testServer) string {
	return strings.Replace(ts.url, "127.0.0.1", "localhost", 1)
}

// fromVisitor matches message frames a consumer sent.
func fromVisitor(f frame) bool {
	return f.Type == "message" && strings.Contains(string(f.Message), `"sender_kind":"consumer"`)
}

func waitEvents(t *testing.T, ts *testServer, accountID, typ string, n int) []*parley.Event {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		events, _ := ts.Store.ListEvents(context.Background(), accountID, parley.EventFilter{Types: []string{typ}, Limit: 1000})
		if len(events) >= n {
			return events
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d %s events, want %d", len(events), typ, n)
		}
		time.Sleep(50 * time.Millisecond) // polling the store for a condition with a deadline
	}
}

func TestWidgetConversationInChromium(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Northwind")
	ts.Server.SetDemoAccount(brand.account.ID)
	agent := agentWS(t, ts, brand.agent)
	agent.send(`{"type":"subscribe_inbox","id":"inbox"}`)
	agent.next(reply("inbox"))

	b := newBrowser(t)
	start := time.Now()
	b.do(chromedp.Navigate(ts.url+"/demo/"), chromedp.WaitVisible(launcher))
	t.Logf("demo page to visible launcher: %v", time.Since(start))
	// The launcher does not move the page's content.
	shift := evalIn[float64](t, b.ctx, `new Promise(r => { let s = 0; new PerformanceObserver(l => { for (const e of l.getEntries()) s += e.value }).observe({type: "layout-shift", buffered: true}); setTimeout(() => r(s), 100) })`)
	if shift != 0 {
		t.Fatalf("cumulative layout shift %v on the host page, want 0", shift)
	}
	b.shot("launcher")
	b.do(chromedp.Click(launcher))
	frame := b.frame()
	b.shot("opened")

	// The visitor writes; the agent, connected over the protocol, gets it.
	xss := `<img src=x onerror=alert(1)>`
	if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "Do the Ridge boots run small?\r")); err != nil {
		t.Fatal(err)
	}
	opened := agent.next(ofType("conversation"))
	var conv parley.Conversation
	decodeJSON(t, opened.Conversation, &conv)
	// The message is in the backfill or arrives live, depending on timing.
	var first parley.Message
	if got := agent.subscribe(conv.ID, 0); len(got) > 0 {
		first = got[0]
	} else {
		first = agent.next(fromVisitor).msg(t)
	}
	if first.Text != "Do the Ridge boots run small?" {
		t.Fatalf("agent got %+v", first)
	}
	// Typing shows both ways.
	agent.send(map[string]any{"type": "typing", "conversation_id": conv.ID, "typing": true})
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, frame, `document.querySelector(".typing").textContent`), brand.agent.Name)
	})
	chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "a"))
	if f := agent.next(ofType("typing")); !strings.Contains(string(f.Typing), `"side":"consumer"`) {
		t.Fatalf("agent typing frame: %s", f.raw)
	}
	evalIn[string](t, frame, `document.querySelector("#text").value = ""`)
	agent.sendText(conv.ID, "a1", "They run true to size. "+xss)
	if err := chromedp.Do(frame, chromedp.WaitVisible(chromedp.CSS(".msg.theirs"))); err != nil {
		t.Fatal(err)
	}
	got, _ := chromedp.Run(frame, chromedp.Text(chromedp.CSS(".msg.theirs .text")))
	if got != "They run true to size. "+xss {
		t.Fatalf("reply shown as %q", got)
	}
	who, _ := chromedp.Run(frame, chromedp.Text(chromedp.CSS(".msg.theirs .who")))
	if who != brand.agent.Name {
		t.Fatalf("sender shown as %q, want %q", who, brand.agent.Name)
	}
	// The agent's client confirms delivery and reading; the visitor sees it.
	var mine parley.Message
	for _, m := range mustMessages(t, ts, brand.account.ID, conv.ID) {
		if m.SenderKind == parley.SenderConsumer {
			mine = *m
		}
	}
	agent.send(map[string]any{"type": "receipt", "conversation_id": conv.ID, "kind": "delivered", "seq": mine.Seq})
	waitFor(t, func() bool {
		return evalIn[string](t, frame, `document.querySelector(".msg.mine .meta").textContent`) == "Delivered"
	})
	agent.send(map[string]any{"type": "receipt", "conversation_id": conv.ID, "kind": "read", "seq": mine.Seq})
	waitFor(t, func() bool {
		return evalIn[string](t, frame, `document.querySelector(".msg.mine .meta").textContent`) == "Read"
	})
	// Quick replies are buttons; a click answers with the choice's value.
	agent.send(map[string]any{"type": "send", "id": "qr", "conversation_id": conv.ID, "client_id": "qr",
		"message": map[string]any{"type": "quick_replies", "text": "Which width?", "choices": []map[string]string{{"label": "Regular", "value": "width: regular"}, {"label": "Wide", "value": "width: wide"}}}})
	if err := chromedp.Do(frame, chromedp.WaitVisible(chromedp.CSS(".choices button")), chromedp.Click(chromedp.CSS(".choices button:nth-child(2)"))); err != nil {
		t.Fatal(err)
	}
	if m := agent.next(fromVisitor).msg(t); m.Text != "width: wide" {
		t.Fatalf("quick reply answered %q", m.Text)
	}
	// The payload is text on the visitor's side too, in both directions.
	chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), xss+"\r"))
	if m := agent.next(fromVisitor).msg(t); m.Text != xss {
		t.Fatalf("agent got %q", m.Text)
	}
	if n := evalIn[int](t, frame, `document.querySelectorAll(".log img").length`); n != 0 {
		t.Fatalf("%d img elements in the chat: HTML was rendered", n)
	}
	b.shot("replied")

	// Reload: the history is still there.
	oldFrame := frameTargetID(frame)
	b.leaveFrames()
	b.do(chromedp.Navigate(ts.url+"/demo/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame = b.frame(oldFrame)
	if err := chromedp.Do(frame, chromedp.WaitVisible(chromedp.CSS(".msg.theirs"))); err != nil {
		t.Fatal(err)
	}
	log, _ := chromedp.Run(frame, chromedp.Text(chromedp.CSS(".log")))
	for _, want := range []string{"Do the Ridge boots run small?", "They run true to size.", xss} {
		if !strings.Contains(log, want) {
			t.Fatalf("after reload the history lacks %q:\n%s", want, log)
		}
	}
	// The quick replies the visitor answered before the reload stay spent.
	waitFor(t, func() bool {
		return evalIn[bool](t, frame, `(() => { const bs = [...document.querySelectorAll(".msg.theirs .choices button")];
			return bs.length === 2 && bs.every((b) => b.disabled) })()`)
	}, func() string { return "the answered quick replies are still active after the reload" })
	b.shot("history-after-reload")

	// Minimised: a new reply shows an unread badge on the launcher.
	if err := chromedp.Do(frame, chromedp.Click(chromedp.CSS(".min"))); err != nil {
		t.Fatal(err)
	}
	agent.sendText(conv.ID, "a2", "Anything else?")
	b.do(chromedp.WaitVisible(chromedp.Search("span.b")))
	badge, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.Search("span.b")))
	if badge != "1" {
		t.Fatalf("unread badge %q, want 1", badge)
	}
	// The page's title announces it while the chat is minimised.
	waitFor(t, func() bool { return strings.HasPrefix(evalIn[string](t, b.ctx, `document.title`), "(1)") })
	b.shot("unread-badge")
}

func TestHostPageCannotReadTheChat(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	// A hostile page script grabs the chat frame's window from its messages
	// and tries to read it, then sends it a forged command.
	hostile := `
window.__reads = [];
addEventListener("message", function (ev) {
  if (!ev.source || ev.source === window) return;
  try { window.__reads.push("read:" + ev.source.document.body.innerText); }
  catch (e) { window.__reads.push("blocked:" + e.name); }
  try { ev.source.postMessage({parley: 1, type: "exfiltrate", data: "give me the chat"}, "*"); } catch (e) {}
});`
	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/shop": hostile})
	b := newBrowser(t)
	b.do(chromedp.Navigate(page+"/shop"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := b.frame()
	chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "my card ends 4242\r"), chromedp.WaitVisible(chromedp.CSS(".msg.mine .meta")))
	reads := evalIn[[]string](t, b.ctx, `window.__reads`)
	if len(reads) == 0 {
		t.Fatal("the hostile script saw no message from the frame; the test proves nothing")
	}
	for _, r := range reads {
		if r != "blocked:SecurityError" {
			t.Fatalf("a host page script read the chat: %q", r)
		}
	}
	// Only the frame's own window knows what was said.
	if n := evalIn[int](t, b.ctx, `document.body.innerText.indexOf("4242")`); n != -1 {
		t.Fatal("the chat text is in the host page's DOM")
	}
	waitEvents(t, ts, brand.account.ID, parley.EventWidgetForged, 1)
	b.shot("isolated")
}

func TestTamperingIsUndoneAndReported(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) { c.Widget.VisibleTimeout = 2 * time.Second })
	brand := seedBrand(t, ts, "Acme")
	breakFirst := `Element.prototype.attachShadow = function () { throw new Error("no widgets here"); };`
	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/plain": "", "/broken": breakFirst})
	b := newBrowser(t)
	b.do(chromedp.Navigate(page+"/plain"), chromedp.WaitVisible(launcher))
	b.shot("launcher")

	// A page script removes the launcher: it comes back.
	host := `[...document.body.children].find(e => e.shadowRoot === null && getComputedStyle(e).zIndex === "2147483647")`
	evalIn[bool](t, b.ctx, `(() => { const h = `+host+`; h.remove(); return true })()`)
	b.do(chromedp.WaitVisible(launcher))
	if !evalIn[bool](t, b.ctx, `!!(`+host+`)`) {
		t.Fatal("the launcher was not restored after removal")
	}
	b.shot("restored-after-removal")
	waitEvents(t, ts, brand.account.ID, parley.EventWidgetTampered, 1)

	// It hides it: it shows again.
	evalIn[bool](t, b.ctx, `(() => { (`+host+`).style.setProperty("display", "none", "important"); return true })()`)
	deadline := time.Now().Add(10 * time.Second)
	for evalIn[string](t, b.ctx, `getComputedStyle(`+host+`).display`) == "none" {
		if time.Now().After(deadline) {
			t.Fatal("the hidden launcher was not shown again")
		}
		time.Sleep(50 * time.Millisecond) // polling the page for a condition with a deadline
	}
	b.shot("restored-after-hiding")
	events := waitEvents(t, ts, brand.account.ID, parley.EventWidgetTampered, 2)[:2]
	whats := string(events[0].Data) + string(events[1].Data)
	if !strings.Contains(whats, `"what":"removed"`) || !strings.Contains(whats, `"what":"hidden: display"`) || !strings.Contains(whats, page+"/plain") {
		t.Fatalf("tamper events: %s", whats)
	}

	// It covers it with a box on top: the launcher comes back on top.
	evalIn[bool](t, b.ctx, `(() => { const d = document.createElement("div"); d.style.cssText = "position:fixed;inset:0;z-index:2147483647;background:rgba(255,255,255,.6)"; document.body.appendChild(d); return true })()`)
	waitEvents(t, ts, brand.account.ID, parley.EventWidgetTampered, 3)
	waitFor(t, func() bool {
		return evalIn[bool](t, b.ctx, `(() => { const h = `+host+`; const r = h.getBoundingClientRect(); return document.elementFromPoint(r.left + r.width/2, r.top + r.height/2) === h })()`)
	})
	b.shot("on-top-after-cover")

	// A page whose earlier script breaks the launcher before it renders:
	// the page cannot hide that from the server.
	b.do(chromedp.Navigate(page + "/broken"))
	suspected := waitEvents(t, ts, brand.account.ID, parley.EventWidgetSuspected, 1)
	if !strings.Contains(string(suspected[0].Data), "never became visible") || !strings.Contains(string(suspected[0].Data), "/broken") {
		t.Fatalf("suspected tamper: %s", suspected[0].Data)
	}
	b.shot("broken-page")

	var report struct {
		Pages []struct {
			URL                        string
			Loads, Tampered, Suspected int
			Rate                       float64
		}
	}
	ts.withKey(t, brand.apiKey).do("GET", "/api/v1/widget/tamper-report", nil, &report)
	if len(report.Pages) != 2 || report.Pages[0].Rate != 1 {
		t.Fatalf("tamper report: %+v", report.Pages)
	}
}

func TestDisallowedOriginDoesNotStart(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	ts.withKey(t, brand.apiKey).do("PUT", "/api/v1/widget-settings", map[string]any{"allowed_origins": []string{"https://shop.example"}}, nil)
	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/": ""})
	b := newBrowser(t)
	console := chromedp.Console(b.ctx)
	var mu sync.Mutex
	var warnings []string
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			mu.Lock()
			warnings = append(warnings, m.Text)
			mu.Unlock()
		}
	}()
	b.do(chromedp.Navigate(page + "/"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		all := strings.Join(warnings, "\n")
		mu.Unlock()
		if strings.Contains(all, "not allowed on "+page) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no console explanation; console said:\n%s", all)
		}
		time.Sleep(50 * time.Millisecond) // polling the collected console for a condition with a deadline
	}
	if n := evalIn[int](t, b.ctx, `[...document.body.children].filter(e => getComputedStyle(e).zIndex === "2147483647").length`); n != 0 {
		t.Fatal("the widget started on a disallowed origin")
	}
	b.shot("refused")
}

func TestOfflineMessagesAreDeliveredOnceInOrder(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/": ""})
	agent := agentWS(t, ts, brand.agent)
	agent.send(`{"type":"subscribe_inbox","id":"inbox"}`)
	agent.next(reply("inbox"))

	b := newBrowser(t)
	b.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := b.frame()
	chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "first, while online\r"))
	var conv parley.Conversation
	decodeJSON(t, agent.next(ofType("conversation")).Conversation, &conv)
	if len(agent.subscribe(conv.ID, 0)) == 0 { // not in the backfill: it arrives live
		agent.next(fromVisitor)
	}
	// The visitor has its ack too before the network goes.
	waitFor(t, func() bool {
		return evalIn[string](t, frame, `document.querySelector(".msg.mine .meta").textContent`) != "Sending…"
	})

	// Cut the frame's network: its WebSocket drops and nothing gets through.
	offline := func(off bool) {
		t.Helper()
		if _, err := chromedp.Call(frame, network.Enable, network.EnableParams{}); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Call(frame, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{{Offline: off, DownloadThroughput: -1, UploadThroughput: -1}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	offline(true)
	ts.Server.DropConnections(parley.PrincipalConsumer) // an outage also ends the sockets that were open
	status := func() string { return evalIn[string](t, frame, `document.querySelector(".status").textContent`) }
	waitFor(t, func() bool { return strings.Contains(status(), "Offline") }, func() string { return "the status says " + status() })
	for _, text := range []string{"second, typed offline", "third, typed offline"} {
		if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), text+"\r")); err != nil {
			t.Fatal(err)
		}
	}
	if n := evalIn[int](t, frame, `[...document.querySelectorAll(".msg.mine .meta")].filter(m => m.textContent === "Sending…").length`); n != 2 {
		t.Fatalf("%d messages wait to be sent, want 2", n)
	}
	b.shot("offline-queued")
	stored, _ := ts.Store.ListMessages(t.Context(), brand.account.ID, conv.ID, 0, 100)
	if len(stored) != 1 {
		t.Fatalf("%d messages stored while offline, want 1", len(stored))
	}

	// Back online: both arrive, once each, in the order typed.
	offline(false)
	for _, want := range []string{"second, typed offline", "third, typed offline"} {
		if m := agent.next(fromVisitor).msg(t); m.Text != want {
			t.Fatalf("agent got %q, want %q", m.Text, want)
		}
	}
	waitFor(t, func() bool {
		return evalIn[int](t, frame, `[...document.querySelectorAll(".msg.mine .meta")].filter(m => m.textContent === "Sent").length`) == 3
	})
	stored, _ = ts.Store.ListMessages(t.Context(), brand.account.ID, conv.ID, 0, 100)
	var texts []string
	for _, m := range stored {
		texts = append(texts, m.Text)
	}
	if strings.Join(texts, "|") != "first, while online|second, typed offline|third, typed offline" {
		t.Fatalf("stored: %q", texts)
	}
	b.shot("delivered-after-reconnect")
}

// waitFor polls cond until it holds, failing the test after 20 s.
func waitFor(t *testing.T, cond func() bool, explain ...func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			msg := "condition not met before the deadline"
			for _, e := range explain {
				msg += "; " + e()
			}
			t.Fatal(msg)
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline
	}
}

func TestComposerRefusesOversizeAndSpeaksTheBrandsLanguage(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) { c.MaxMessageChars = 40 })
	brand := seedBrand(t, ts, "Acme")
	ts.withKey(t, brand.apiKey).do("PUT", "/api/v1/widget-settings", map[string]any{"language": "es", "color": "#7a1f5c", "offline_form": false}, nil)
	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/": ""})
	b := newBrowser(t)
	b.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher))
	// Keyboard: the launcher is a button that Enter opens.
	b.do(chromedp.Focus(launcher), chromedp.KeyEvent("\r"))
	frame := b.frame()
	if send, _ := chromedp.Run(frame, chromedp.Text(chromedp.CSS(".send"))); send != "Enviar" {
		t.Fatalf("send button says %q, want the brand's Spanish", send)
	}
	// Shift+Enter is a new line, not a send.
	chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "línea uno"), chromedp.KeyEvent("\r", chromedp.KeyModifiers(kb.ModifierShift)),
		chromedp.SendKeys(chromedp.CSS("#text"), "línea dos"))
	if v, _ := chromedp.Run(frame, chromedp.Value(chromedp.CSS("#text"))); !strings.Contains(v, "\n") {
		t.Fatalf("Shift+Enter did not add a line: %q", v)
	}
	// Over the limit: refused with a visible reason, nothing sent, nothing cut.
	long := strings.Repeat("x", 45)
	chromedp.Do(frame, chromedp.SetValue(chromedp.CSS("#text"), long), chromedp.SendKeys(chromedp.CSS("#text"), "\r"))
	reason, _ := chromedp.Run(frame, chromedp.Text(chromedp.CSS(".limit")))
	if !strings.Contains(reason, "46") || !strings.Contains(reason, "40") {
		t.Fatalf("limit reason %q", reason)
	}
	if v, _ := chromedp.Run(frame, chromedp.Value(chromedp.CSS("#text"))); len(v) < 45 {
		t.Fatalf("the composer cut the message to %q", v)
	}
	if n := evalIn[int](t, frame, `document.querySelectorAll(".msg.mine").length`); n != 0 {
		t.Fatalf("%d messages sent over the limit", n)
	}
	b.shot("oversize-refused")
	// What the server announces is said in the brand's language too: an
	// agent joining, the queue notice.
	setAutoAssign(t, ts, brand, true)
	online(t, ts, brand.agent)
	evalIn[bool](t, frame, `(document.querySelector("#text").value = "", true)`)
	if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "hola\r")); err != nil {
		t.Fatal(err)
	}
	joined := brand.agent.Name + " se ha unido a la conversación"
	defer func() {
		if t.Failed() {
			b.shot("failed")
			t.Log(evalIn[string](t, frame, `document.querySelector(".log").textContent`))
		}
	}()
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, frame, `document.querySelector(".log").textContent`), joined)
	})
	if log := evalIn[string](t, frame, `document.querySelector(".log").textContent`); strings.Contains(log, "joined the conversation") {
		t.Fatalf("the Spanish widget shows the English notice too: %q", log)
	}
	b.shot("agent-joined-in-spanish")
	// The launcher's time to visible, as the browser measured it, reached the server.
	var h dto.Metric
	waitFor(t, func() bool {
		ts.Metrics.LauncherVisible.Write(&h)
		return h.GetHistogram().GetSampleCount() > 0
	})
	t.Logf("script start to visible launcher, as the browser measured it: %.0f ms", 1000*h.GetHistogram().GetSampleSum()/float64(h.GetHistogram().GetSampleCount()))
}

func TestIdentifiedVisitorFindsHistoryOnAnotherDevice(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	secret := "acme-shared-identity-secret-0123456789"
	ts.withKey(t, brand.apiKey).do("PUT", "/api/v1/widget-identity", map[string]any{"alg": "HS256", "key": secret}, nil)
	identifyAs := func(tok string) string {
		return `window.parley = window.parley || function () { (window.parley.q = window.parley.q || []).push([].slice.call(arguments)); };
parley("identify", {token: "` + tok + `"});
parley("setAttributes", {plan: "gold", cart: "2 items"});`
	}
	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{
		"/laptop": identifyAs(signIdentity(t, secret, "cust-7", time.Hour)),
		"/phone":  identifyAs(signIdentity(t, secret, "cust-7", time.Hour)),
		"/forged": identifyAs(signIdentity(t, "not-the-brands-secret-0123456789abcdef", "cust-7", time.Hour)),
	})

	laptop := newBrowser(t)
	laptop.do(chromedp.Navigate(page+"/laptop"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := laptop.frame()
	// identify makes the frame the person's and reloads it; wait for that.
	var consumer *parley.Consumer
	waitFor(t, func() bool {
		consumer, _ = ts.Store.FindConsumerByExternalID(t.Context(), brand.account.ID, "cust-7")
		return consumer != nil
	})
	waitFor(t, func() bool {
		n, err := chromedp.Run(frame, chromedp.Evaluate[string](`localStorage.getItem("parley.`+brand.account.ID+`.consumer") || ""`))
		return err == nil && n == consumer.ID
	})
	laptop.leaveFrames()
	frame = laptop.frame()
	chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "Sent from my laptop\r"), chromedp.WaitVisible(chromedp.CSS(".msg.mine .meta")))
	waitFor(t, func() bool {
		convs, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{ConsumerID: consumer.ID})
		return len(convs) == 1 && convs[0].LastSeq == 1
	})
	laptop.shot("laptop")
	// The page's setAttributes reached the person's profile.
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConsumer(t.Context(), brand.account.ID, consumer.ID)
		return c != nil && c.Attributes["plan"] == "gold" && c.Attributes["cart"] == "2 items"
	})

	phone := newBrowser(t)
	phone.do(chromedp.EmulateViewport(390, 844), chromedp.Navigate(page+"/phone"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	var phoneFrame context.Context
	waitFor(t, func() bool {
		phone.leaveFrames()
		phoneFrame = phone.frame()
		txt, err := chromedp.Run(phoneFrame, chromedp.Text(chromedp.CSS(".log")))
		return err == nil && strings.Contains(txt, "Sent from my laptop")
	})
	// Full screen on a small viewport.
	if w := evalIn[float64](t, phoneFrame, `window.innerWidth`); w < 380 {
		t.Fatalf("chat window is %v px wide on a 390 px phone, want full width", w)
	}
	phone.shot("phone-history")

	// A token the brand did not sign: a console warning, an event, and the
	// visitor goes on anonymously.
	other := newBrowser(t)
	other.do(chromedp.Navigate(page+"/forged"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	otherFrame := other.frame()
	chromedp.Do(otherFrame, chromedp.SendKeys(chromedp.CSS("#text"), "anonymous still works\r"), chromedp.WaitVisible(chromedp.CSS(".msg.mine .meta")))
	waitEvents(t, ts, brand.account.ID, parley.EventIdentityRejected, 1)
	convs, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{ConsumerID: consumer.ID})
	if len(convs) != 1 {
		t.Fatalf("the forged identity reached the person's conversations: %d", len(convs))
	}
	other.shot("forged-identity-anonymous")
}

func TestProactiveTeaserShowsClicksAndStaysDismissed(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	// "everywhere" shows later than "boots-help" on every page; its
	// appearance proves the boots rule's delay has passed.
	if st, raw := ts.withKey(t, brand.apiKey).raw("PUT", "/api/v1/widget-settings", map[string]any{"engagements": []map[string]any{
		{"id": "boots-help", "url_pattern": "/boots*", "delay_seconds": 1, "text": "Questions about sizing?"},
		{"id": "everywhere", "url_pattern": "*", "delay_seconds": 2, "text": "Need a hand?"},
	}}); st != 200 {
		t.Fatalf("engagement settings: %d %s", st, raw)
	}
	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/boots/ridge": "", "/tents": ""})
	teaser := chromedp.Search("div.t") // inside the closed shadow root; hidden until shown
	teaserText := func(b *browser) string {
		s, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.Search("div.t span")))
		return s
	}
	shown := func(id string) int {
		n := 0
		for _, e := range waitEventsNow(ts, brand.account.ID, parley.EventEngagementShown) {
			if strings.Contains(string(e.Data), `"engagement":"`+id+`"`) {
				n++
			}
		}
		return n
	}
	b := newBrowser(t)

	// A page the boots rule does not match gets only the catch-all.
	b.do(chromedp.Navigate(page+"/tents"), chromedp.WaitVisible(teaser))
	if got := teaserText(b); got != "Need a hand?" || shown("boots-help") != 0 {
		t.Fatalf("on /tents: teaser %q, boots-help shown %d times", got, shown("boots-help"))
	}

	// A matching page, after its delay: shown; dismissed; gone for the visit.
	b.do(chromedp.Navigate(page+"/boots/ridge"), chromedp.WaitVisible(teaser))
	if got := teaserText(b); got != "Questions about sizing?" {
		t.Fatalf("teaser says %q", got)
	}
	b.shot("teaser")
	waitFor(t, func() bool { return shown("boots-help") == 1 })
	b.do(chromedp.Click(chromedp.Search("div.t button.x")), chromedp.WaitNotVisible(teaser))
	waitEvents(t, ts, brand.account.ID, parley.EventEngagementDismissed, 1)
	b.do(chromedp.Navigate(page+"/boots/ridge"), chromedp.WaitVisible(teaser))
	if got := teaserText(b); got != "Need a hand?" || shown("boots-help") != 1 {
		t.Fatalf("a dismissed teaser came back in the same visit: %q, shown %d times", got, shown("boots-help"))
	}

	// A new visit (new browser): shown again; a click opens the chat.
	b2 := newBrowser(t)
	b2.do(chromedp.Navigate(page+"/boots/ridge"), chromedp.WaitVisible(teaser), chromedp.Click(chromedp.Search("div.t span")))
	b2.frame()
	waitEvents(t, ts, brand.account.ID, parley.EventEngagementClicked, 1)
	waitEvents(t, ts, brand.account.ID, parley.EventWidgetOpened, 1)
	b2.shot("clicked-open")
}

func waitEventsNow(ts *testServer, accountID, typ string) []*parley.Event {
	events, _ := ts.Store.ListEvents(context.Background(), accountID, parley.EventFilter{Types: []string{typ}, Limit: 1000})
	return events
}

func TestVisitorSendsAnImageAndIsToldWhatCannotBeSent(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/": ""})
	agent := agentWS(t, ts, brand.agent)
	agent.send(`{"type":"subscribe_inbox","id":"inbox"}`)
	agent.next(reply("inbox"))
	dir := t.TempDir()
	img, txt := filepath.Join(dir, "boot.png"), filepath.Join(dir, "notes.txt")
	os.WriteFile(img, pngBytes, 0o644)
	os.WriteFile(txt, []byte("plain text"), 0o644)

	b := newBrowser(t)
	b.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := b.frame()
	if err := chromedp.Do(frame, chromedp.SetUploadFiles(chromedp.CSS("input.file"), []string{img})); err != nil {
		t.Fatal(err)
	}
	var conv parley.Conversation
	decodeJSON(t, agent.next(ofType("conversation")).Conversation, &conv)
	agent.subscribe(conv.ID, 0)
	var m parley.Message
	waitFor(t, func() bool {
		msgs, _ := ts.Store.ListMessages(t.Context(), brand.account.ID, conv.ID, 0, 10)
		if len(msgs) == 1 {
			m = *msgs[0]
		}
		return len(msgs) == 1
	})
	if m.Type != parley.MessageFile || m.Attachment.Name != "boot.png" || m.Attachment.ContentType != "image/png" {
		t.Fatalf("stored %+v", m)
	}
	// The thumbnail shows in the frame, loaded with the visitor's credentials.
	waitFor(t, func() bool {
		return evalIn[bool](t, frame, `(() => { const i = document.querySelector(".msg.mine img.thumb"); return !!i && i.complete && i.naturalWidth === 1 })()`)
	})
	b.shot("image-sent")
	// A file of another type is refused in the composer with a reason.
	chromedp.Do(frame, chromedp.SetUploadFiles(chromedp.CSS("input.file"), []string{txt}))
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, frame, `document.querySelector(".limit").textContent`), "PDF")
	})
	b.shot("text-file-refused")
}

func TestPreChatAndOfflineForms(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	admin := ts.withKey(t, brand.apiKey)
	admin.do("PUT", "/api/v1/widget-settings", map[string]any{"prechat": map[string]any{"enabled": true, "ask_name": true, "ask_email": true, "email_required": true}, "offline_form": false}, nil)
	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/": ""})

	// Pre-chat: name and email before the first message.
	b := newBrowser(t)
	b.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := b.frame()
	if err := chromedp.Do(frame, chromedp.WaitVisible(chromedp.CSS("form.prechat")), chromedp.WaitNotVisible(chromedp.CSS("#text"))); err != nil {
		t.Fatal(err)
	}
	chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("input[name=name]"), "Robin Hart"), chromedp.Click(chromedp.CSS(".start")))
	waitFor(t, func() bool {
		return evalIn[string](t, frame, `document.querySelector(".form-error").textContent`) != ""
	})
	b.shot("prechat-email-required")
	chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("input[name=email]"), "robin@example.com"), chromedp.Click(chromedp.CSS(".start")),
		chromedp.WaitVisible(chromedp.CSS("#text")), chromedp.SendKeys(chromedp.CSS("#text"), "Hello after the form\r"), chromedp.WaitVisible(chromedp.CSS(".msg.mine .meta")))
	var c *parley.Consumer
	waitFor(t, func() bool {
		convs, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{})
		if len(convs) != 1 {
			return false
		}
		c, _ = ts.Store.FindConsumer(t.Context(), brand.account.ID, convs[0].ConsumerID)
		return c != nil
	})
	if c.Name != "Robin Hart" || c.Email != "robin@example.com" {
		t.Fatalf("consumer after the pre-chat form: %+v", c)
	}
	b.shot("prechat-done")

	// Offline: nobody online, so the chat asks for an email with the message.
	admin.do("PUT", "/api/v1/widget-settings", map[string]any{"offline_form": true}, nil)
	b2 := newBrowser(t)
	b2.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame2 := b2.frame()
	if err := chromedp.Do(frame2, chromedp.WaitVisible(chromedp.CSS("form.prechat"))); err != nil {
		t.Fatal(err)
	}
	if intro := evalIn[string](t, frame2, `document.querySelector(".prechat .intro").textContent`); !strings.Contains(intro, "away") {
		t.Fatalf("offline form intro %q", intro)
	}
	b2.shot("offline-form")
	chromedp.Do(frame2, chromedp.SendKeys(chromedp.CSS("input[name=email]"), "later@example.com"), chromedp.Click(chromedp.CSS(".start")),
		chromedp.WaitVisible(chromedp.CSS("#text")), chromedp.SendKeys(chromedp.CSS("#text"), "Please email me\r"), chromedp.WaitVisible(chromedp.CSS(".msg.mine .meta")))
	waitFor(t, func() bool {
		convs, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{})
		if len(convs) != 2 {
			return false
		}
		c, _ = ts.Store.FindConsumer(t.Context(), brand.account.ID, convs[0].ConsumerID)
		return c != nil && c.Email == "later@example.com"
	})

	// With an agent online, the same visitor-to-be sees no form.
	ag := agentWS(t, ts, brand.agent)
	ag.send(`{"type":"presence","id":"on","state":"online"}`)
	if f := ag.next(reply("on")); f.Type != "presence_set" {
		t.Fatalf("presence: %s", f.raw)
	}
	b3 := newBrowser(t)
	b3.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame3 := b3.frame()
	if err := chromedp.Do(frame3, chromedp.WaitVisible(chromedp.CSS("#text"))); err != nil {
		t.Fatal(err)
	}
}

func mustMessages(t *testing.T, ts *testServer, accountID, convID string) []*parley.Message {
	t.Helper()
	msgs, err := ts.Store.ListMessages(t.Context(), accountID, convID, 0, 500)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func TestClosedConversationAsksForARating(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	setAutoAssign(t, ts, brand, true)
	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/": ""})
	agent := online(t, ts, brand.agent)
	agent.send(`{"type":"subscribe_inbox","id":"inbox"}`)
	agent.next(reply("inbox"))
	b := newBrowser(t)
	b.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := b.frame()
	if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "Where is order 1042?\r")); err != nil {
		t.Fatal(err)
	}
	var conv parley.Conversation
	waitFor(t, func() bool {
		convs, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{})
		if len(convs) == 1 {
			conv = *convs[0]
		}
		return conv.ID != ""
	})
	// The agent's inbox hears of it.
	if f := agent.next(ofType("conversation")); !strings.Contains(string(f.Conversation), conv.ID) {
		t.Fatalf("inbox frame for another conversation: %s", f.raw)
	}
	// Routing assigns it; the visitor is told who joined.
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, frame, `document.querySelector(".log").textContent`), brand.agent.Name+" joined the conversation")
	})
	ts.withKey(t, brand.apiKey).do("POST", "/api/v1/conversations/"+conv.ID+"/close", map[string]any{"reason": "resolved"}, nil)
	if err := chromedp.Do(frame, chromedp.WaitVisible(chromedp.CSS(".csat button"))); err != nil {
		t.Fatal(err)
	}
	b.shot("csat-asked")
	chromedp.Do(frame, chromedp.Click(chromedp.CSS(".csat button:nth-child(4)")))
	events := waitEvents(t, ts, brand.account.ID, parley.EventCSATSubmitted, 1)
	if !strings.Contains(string(events[0].Data), `"score":4`) {
		t.Fatalf("csat event: %s", events[0].Data)
	}
	b.shot("csat-answered")
	// Writing again starts a new conversation.
	chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "One more thing\r"))
	waitFor(t, func() bool {
		convs, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{})
		return len(convs) == 2 && convs[0].LastSeq >= 1
	})
}

// TestVisitorAndAgentInTheConsole: a visitor in the widget and an agent in
// the console talk; the agent transfers to a colleague, then closes; the
// visitor rates the conversation.
func TestVisitorAndAgentInTheConsole(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Northwind")
	setAutoAssign(t, ts, brand, true)
	ts.Server.SetDemoAccount(brand.account.ID)
	colleague := &parley.User{AccountID: brand.account.ID, Email: "second@northwind.test", Name: "Sam Second", Role: parley.RoleAgent, MaxConcurrent: 3, Active: true, PasswordHash: brand.agent.PasswordHash}
	ts.Store.CreateUser(t.Context(), colleague)
	online(t, ts, colleague)
	ts.withKey(t, brand.apiKey).do("POST", "/api/v1/canned-responses", map[string]any{"shortcut": "exchange",
		"text": "Hi {{visitor_first_name|there}}, exchanges are free within 60 days. {{agent_name}} {{not_a_name}}"}, nil)

	console := newBrowser(t)
	console.do(chromedp.Navigate(ts.url+"/console/"), chromedp.WaitVisible(chromedp.CSS(".login-form")),
		chromedp.SendKeys(chromedp.CSS("input[name=email]"), brand.agent.Email), chromedp.SendKeys(chromedp.CSS("input[name=password]"), password),
		chromedp.Click(chromedp.CSS(".login-form button")), chromedp.WaitVisible(chromedp.CSS(".app")))
	console.shot("console-logged-in")
	// The agent is online once the console connected.
	waitFor(t, func() bool { return ts.Server.Routing.Presence(brand.account.ID, brand.agent.ID) == "online" })

	visitor := newBrowser(t)
	visitor.do(chromedp.Navigate(ts.url+"/demo/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := visitor.frame()
	chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "Hi, can I exchange boots I wore once?\r"))

	// Routed to the least loaded online agent: the console agent (the colleague has one less free slot? no: both empty, longest idle wins).
	var conv *parley.Conversation
	waitFor(t, func() bool {
		convs, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{State: parley.StateAssigned})
		if len(convs) == 1 {
			conv = convs[0]
		}
		return conv != nil
	})
	if conv.AssigneeID != brand.agent.ID {
		// Both agents were idle; make the console agent the owner so the rest reads simply.
		ts.withKey(t, brand.apiKey).do("POST", "/api/v1/conversations/"+conv.ID+"/transfer", map[string]any{"agent_id": brand.agent.ID}, nil)
	}
	console.openFirst("mine")
	console.do(chromedp.WaitVisible(chromedp.CSS(".messages li.consumer")))
	if got, _ := chromedp.Run(console.ctx, chromedp.Text(chromedp.CSS(".messages li.consumer .text"))); got != "Hi, can I exchange boots I wore once?" {
		t.Fatalf("console shows %q", got)
	}
	// The visitor panel shows who, on which page, at what time of their
	// day, in what language and with what browser, as people read them.
	waitFor(t, func() bool {
		v, _ := chromedp.Run(console.ctx, chromedp.Text(chromedp.CSS(".visitor-info")))
		if strings.Contains(v, "Browser") {
			return true
		}
		chromedp.Run(console.ctx, chromedp.Evaluate[bool](`(document.querySelector(".items li[aria-current=true]") || {click(){}}).click(), true`))
		return false
	})
	panel := evalIn[string](t, console.ctx, `[...document.querySelectorAll(".visitor-info dt")].map((dt) => dt.textContent + ": " + dt.nextElementSibling.textContent).join("\n")`)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^Identified as: anonymous$`),
		regexp.MustCompile(`(?m)^Page: Northwind Outfitters`),
		regexp.MustCompile(`(?m)^Local time: \d\d:\d\d( [AP]M)? · \S+`),
		regexp.MustCompile(`(?m)^Language: (American )?English \(en(-US)?\)$`),
		regexp.MustCompile(`(?m)^Browser: Headless Chrome \d+ on Linux$`),
	} {
		if !want.MatchString(panel) {
			t.Fatalf("visitor panel, want %s:\n%s", want, panel)
		}
	}
	if href := evalIn[string](t, console.ctx, `document.querySelector(".visitor-info a").href`); !strings.HasSuffix(href, "/demo/") {
		t.Fatalf("the page links to %q", href)
	}
	// The common browsers and systems, by name; anything else as it came,
	// and a page that is not http(s) never as a link.
	names := evalIn[string](t, console.ctx, `import("/console/visitor.js").then((m) => [
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
		"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
		"curl/8.5.0",
	].map((ua) => { const n = m.browserName(ua); return typeof n === "string" ? n : n.textContent }).join("|")
		+ "|" + (m.pageLink("javascript:alert(1)", "x") instanceof Node))`)
	if names != "Chrome 131 on Windows|Edge 131 on Windows|Safari 18 on iOS|Firefox 133 on macOS|Samsung Internet 26 on Android|curl/8.5.0|false" {
		t.Fatalf("browsers: %s", names)
	}
	console.do(chromedp.SendKeys(chromedp.CSS("#reply-text"), "Yes, within 60 days if they are clean.\r"))
	if err := chromedp.Do(frame, chromedp.WaitVisible(chromedp.CSS(".msg.theirs"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, frame, `document.querySelector(".log").textContent`), "Yes, within 60 days")
	})
	// The visitor read it; the console says so.
	if err := chromedp.Do(console.ctx, chromedp.WaitVisible(chromedp.CSS(".messages li.agent .seen"))); err != nil {
		t.Fatal(err)
	}
	console.shot("console-replied")
	visitor.shot("visitor-got-reply")

	// A canned response by its shortcut, its placeholders filled (the visitor
	// gave no name: the fallback), and a private note the visitor never sees.
	// (CDP's Enter leaves a stray newline in the textarea that a real key press does not.)
	evalIn[string](t, console.ctx, `document.querySelector("#reply-text").value = ""`)
	console.do(chromedp.SendKeys(chromedp.CSS("#reply-text"), "/exchange"), chromedp.KeyEvent("\t"))
	if v, _ := chromedp.Run(console.ctx, chromedp.Value(chromedp.CSS("#reply-text"))); strings.TrimSpace(v) != "Hi there, exchanges are free within 60 days. agent of Northwind {{not_a_name}}" {
		t.Fatalf("canned expansion gave %q", v)
	}
	console.do(chromedp.KeyEvent("\r"))
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, frame, `document.querySelector(".log").textContent`), "Hi there, exchanges are free within 60 days.")
	})
	evalIn[string](t, console.ctx, `document.querySelector("#reply-text").value = ""`)
	console.do(chromedp.Click(chromedp.CSS(".as-note")), chromedp.SendKeys(chromedp.CSS("#reply-text"), "Customer wore them on a hike\r"),
		chromedp.WaitVisible(chromedp.CSS(".messages li.note")), chromedp.Click(chromedp.CSS(".as-note")))
	console.shot("console-note")
	if strings.Contains(evalIn[string](t, frame, `document.querySelector(".log").textContent`), "hike") {
		t.Fatal("the visitor saw a private note")
	}

	// A supervisor watches live from their own console and whispers to the agent.
	super := newBrowser(t)
	super.do(chromedp.Navigate(ts.url+"/console/"), chromedp.WaitVisible(chromedp.CSS(".login-form")),
		chromedp.SendKeys(chromedp.CSS("input[name=email]"), brand.supervisor.Email), chromedp.SendKeys(chromedp.CSS("input[name=password]"), password),
		chromedp.Click(chromedp.CSS(".login-form button")), chromedp.WaitVisible(chromedp.CSS("[data-tab=supervise]")))
	super.openFirst("open")
	super.do(chromedp.WaitVisible(chromedp.CSS(".messages li.consumer")))
	chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "They are size 43, by the way\r"))
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, super.ctx, `document.querySelector(".messages").textContent`), "size 43")
	})
	evalIn[string](t, super.ctx, `document.querySelector("#reply-text").value = ""`)
	super.do(chromedp.Click(chromedp.CSS(".as-note")), chromedp.SendKeys(chromedp.CSS("#reply-text"), "Offer the wide fit too\r"))
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, console.ctx, `document.querySelector(".messages").textContent`), "Offer the wide fit too")
	})
	if strings.Contains(evalIn[string](t, frame, `document.querySelector(".log").textContent`), "wide fit") {
		t.Fatal("the visitor saw the supervisor's whisper")
	}
	super.shot("supervisor-watching")

	// Transfer to the colleague from the console, with a note for them.
	console.do(chromedp.SetValue(chromedp.CSS(".transfer-to"), "agent:"+colleague.ID),
		chromedp.SendKeys(chromedp.CSS(".transfer-note"), "Wants an exchange"), chromedp.Click(chromedp.CSS(".transfer")))
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, frame, `document.querySelector(".log").textContent`), "Sam Second joined the conversation")
	})
	// Close with a reason; the visitor is asked for a rating and gives one.
	notes, _ := ts.Store.ListNotes(t.Context(), brand.account.ID, conv.ID)
	// The agent's note, the supervisor's whisper, then the transfer note.
	if len(notes) != 3 || notes[2].Text != "Transfer note: Wants an exchange" || notes[1].AuthorID != brand.supervisor.ID {
		t.Fatalf("notes after the transfer: %d, last %q", len(notes), notes[len(notes)-1].Text)
	}
	console.do(chromedp.Click(chromedp.CSS(".close")))
	if err := chromedp.Do(frame, chromedp.WaitVisible(chromedp.CSS(".csat button"))); err != nil {
		t.Fatal(err)
	}
	chromedp.Do(frame, chromedp.Click(chromedp.CSS(".csat button:nth-child(5)")))
	waitEvents(t, ts, brand.account.ID, parley.EventCSATSubmitted, 1)
	// The score is in; the visitor adds a word to it.
	if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS(".csat-more textarea"), "Quick and kind, thanks"), chromedp.Click(chromedp.CSS(".csat-more button"))); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, ts, brand.account.ID, parley.EventCSATSubmitted, 2)
	closed, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, conv.ID)
	if closed.State != parley.StateClosed || closed.CloseReason != "resolved" || closed.ClosedBy != brand.agent.ID ||
		closed.CSATScore != 5 || closed.CSATComment != "Quick and kind, thanks" {
		t.Fatalf("closed conversation: %+v", closed)
	}
	// The agent sees the rating and the words on the conversation, which
	// is still open in the console: the rating reaches it live.
	rating := func() string {
		return evalIn[string](t, console.ctx, `document.querySelector(".conv-csat").textContent`)
	}
	waitFor(t, func() bool { return rating() == "Rated ★★★★★ 5/5 — “Quick and kind, thanks”" }, rating)
	console.shot("console-closed")
	visitor.shot("visitor-rated")
}

// TestAgentOpensTheVisitorsOtherConversation: the visitor panel lists the
// visitor's other conversations (not the one open) and opens one on a
// click, as an agent looks up what a returning customer asked before.
func TestAgentOpensTheVisitorsOtherConversation(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Northwind")
	ctx := t.Context()
	c := &parley.Consumer{AccountID: brand.account.ID, Name: "Returning Rita"}
	if err := ts.Store.CreateConsumer(ctx, c); err != nil {
		t.Fatal(err)
	}
	say := func(conv *parley.Conversation, text string) {
		if _, _, err := ts.Store.AppendMessage(ctx, &parley.Message{AccountID: brand.account.ID, ConversationID: conv.ID, SenderKind: parley.SenderConsumer, SenderID: c.ID, Type: parley.MessageText, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	earlier, err := ts.Store.OpenConversation(ctx, brand.account.ID, parley.ConversationOpen{ConsumerID: c.ID, Channel: parley.ChannelWeb, State: parley.StateQueued})
	if err != nil {
		t.Fatal(err)
	}
	say(earlier, "My first order never arrived")
	if _, err := ts.Store.CloseConversation(ctx, brand.account.ID, earlier.ID, parley.ConversationClose{Reason: "resolved", ClosedBy: "system"}); err != nil {
		t.Fatal(err)
	}
	now, err := ts.Store.OpenConversation(ctx, brand.account.ID, parley.ConversationOpen{ConsumerID: c.ID, Channel: parley.ChannelWeb, State: parley.StateQueued})
	if err != nil {
		t.Fatal(err)
	}
	say(now, "Hello again, about a return")

	console := newBrowser(t)
	console.do(chromedp.Navigate(ts.url+"/console/"), chromedp.WaitVisible(chromedp.CSS(".login-form")),
		chromedp.SendKeys(chromedp.CSS("input[name=email]"), brand.agent.Email), chromedp.SendKeys(chromedp.CSS("input[name=password]"), password),
		chromedp.Click(chromedp.CSS(".login-form button")), chromedp.WaitVisible(chromedp.CSS(".app")))
	// Before anyone opened it, the queue shows who wrote, what, and that it is unread.
	// (Read in one script: the list re-renders as events come.)
	console.press("[data-tab=queued]")
	item := func() string {
		text, _ := chromedp.Run(console.ctx, chromedp.Evaluate[string](`document.querySelector(".items li.unread")?.textContent ?? ""`))
		return text
	}
	waitFor(t, func() bool {
		text := item()
		return strings.Contains(text, "Returning Rita") && strings.Contains(text, "New") && strings.Contains(text, "Hello again, about a return")
	}, func() string { return "the queue lists " + item() })
	console.openFirst("queued")
	console.do(chromedp.WaitVisible(chromedp.CSS(".visitor-history .past")))
	ids := evalIn[[]string](t, console.ctx, `[...document.querySelectorAll(".visitor-history .past")].map((b) => b.dataset.id)`)
	if len(ids) != 1 || ids[0] != earlier.ID {
		t.Fatalf("the panel lists %v, want only the earlier conversation %s", ids, earlier.ID)
	}
	console.shot("other-conversations")
	// A new message in the open conversation moves its preview at once.
	say(now, "Actually, make it an exchange")
	waitFor(t, func() bool {
		text, _ := chromedp.Run(console.ctx, chromedp.Evaluate[string](`document.querySelector('.items li[data-id="`+now.ID+`"] .preview')?.textContent ?? ""`))
		return text == "Actually, make it an exchange"
	})
	console.press(".visitor-history .past")
	waitFor(t, func() bool {
		text, _ := chromedp.Run(console.ctx, chromedp.Evaluate[string](`document.querySelector(".messages").textContent + " | " + document.querySelector(".conv-state").textContent`))
		return strings.Contains(text, "My first order never arrived") && strings.Contains(text, "closed")
	}, func() string {
		text, _ := chromedp.Run(console.ctx, chromedp.Evaluate[string](`document.querySelector(".pane").innerText`))
		return text
	})
	// The header names the visitor once the panel knows their name.
	waitFor(t, func() bool {
		title, _ := chromedp.Run(console.ctx, chromedp.Text(chromedp.CSS(".conv-title")))
		return title == "Returning Rita"
	}, func() string {
		text, _ := chromedp.Run(console.ctx, chromedp.Evaluate[string](`document.querySelector(".pane").innerText`))
		return text
	})
	// From the earlier conversation, the panel offers the current one.
	waitFor(t, func() bool {
		ids, _ := chromedp.Run(console.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".visitor-history .past")].map((b) => b.dataset.id)`))
		return len(ids) == 1 && ids[0] == now.ID
	})
	console.shot("earlier-opened")
}

// TestAgentSeesNewMessagesInTheirOtherConversations: an agent handles
// several conversations at once; a visitor writing in one that is not
// open moves its preview and marks it New at once, and opening it clears
// the mark.
func TestAgentSeesNewMessagesInTheirOtherConversations(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Northwind")
	ctx := t.Context()
	type chat struct {
		visitor *parley.Consumer
		conv    *parley.Conversation
	}
	var chats []chat
	for _, name := range []string{"Ada", "Bo"} {
		c := &parley.Consumer{AccountID: brand.account.ID, Name: name}
		if err := ts.Store.CreateConsumer(ctx, c); err != nil {
			t.Fatal(err)
		}
		conv, err := ts.Store.OpenConversation(ctx, brand.account.ID, parley.ConversationOpen{ConsumerID: c.ID, Channel: parley.ChannelWeb, State: parley.StateQueued})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := ts.Store.AppendMessage(ctx, &parley.Message{AccountID: brand.account.ID, ConversationID: conv.ID, SenderKind: parley.SenderConsumer, SenderID: c.ID, Type: parley.MessageText, Text: "Hi, this is " + name}); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Store.ClaimConversation(ctx, brand.account.ID, conv.ID, brand.agent.ID); err != nil {
			t.Fatal(err)
		}
		chats = append(chats, chat{c, conv})
	}

	console := newBrowser(t)
	console.do(chromedp.Navigate(ts.url+"/console/"), chromedp.WaitVisible(chromedp.CSS(".login-form")),
		chromedp.SendKeys(chromedp.CSS("input[name=email]"), brand.agent.Email), chromedp.SendKeys(chromedp.CSS("input[name=password]"), password),
		chromedp.Click(chromedp.CSS(".login-form button")), chromedp.WaitVisible(chromedp.CSS(".app")))
	console.openFirst("mine")
	open := evalIn[string](t, console.ctx, `document.querySelector(".items li[aria-current=true]").dataset.id`)
	other := chats[0]
	if other.conv.ID == open {
		other = chats[1]
	}
	item := `.items li[data-id="` + other.conv.ID + `"]`
	// The console follows the agent's conversations once it has listed them.
	waitFor(t, func() bool {
		n, _ := ts.Server.Store.ListConversations(ctx, brand.account.ID, parley.ConversationFilter{AssigneeID: brand.agent.ID})
		return len(n) == 2
	})
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		// Write until the console's subscription catches one (it follows
		// asynchronously after login); each message is a new one.
		text := fmt.Sprintf("Are you there? (%d)", i)
		if _, _, err := ts.Store.AppendMessage(ctx, &parley.Message{AccountID: brand.account.ID, ConversationID: other.conv.ID, SenderKind: parley.SenderConsumer, SenderID: other.visitor.ID, Type: parley.MessageText, Text: text}); err != nil {
			t.Fatal(err)
		}
		got, _ := chromedp.Run(console.ctx, chromedp.Evaluate[string](`(() => { const li = document.querySelector('`+item+`');
			return li ? li.className + "|" + li.querySelector(".preview").textContent : "" })()`))
		if strings.Contains(got, "unread") && strings.Contains(got, "Are you there?") {
			break
		}
		if time.Now().After(deadline) {
			console.shot("failure")
			t.Fatalf("the other conversation's item shows %q after new messages", got)
		}
		time.Sleep(200 * time.Millisecond) // the next message, while waiting for the console to follow
	}
	console.shot("other-conversation-new")
	if open := evalIn[string](t, console.ctx, `document.querySelector(".items li[aria-current=true]").dataset.id`); open == other.conv.ID {
		t.Fatal("the new message switched the open conversation")
	}
	console.press(item)
	waitFor(t, func() bool {
		got, _ := chromedp.Run(console.ctx, chromedp.Evaluate[string](`document.querySelector('`+item+`').className + "|" + document.querySelector(".messages").textContent`))
		return !strings.Contains(got, "unread") && strings.Contains(got, "Are you there?")
	})
}

func TestAdminManagesTheTeamInTheConsole(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	admin := newBrowser(t)
	admin.do(chromedp.Navigate(ts.url+"/console/"), chromedp.WaitVisible(chromedp.CSS(".login-form")),
		chromedp.SendKeys(chromedp.CSS("input[name=email]"), brand.admin.Email), chromedp.SendKeys(chromedp.CSS("input[name=password]"), password),
		chromedp.Click(chromedp.CSS(".login-form button")), chromedp.WaitVisible(chromedp.CSS("[data-tab=admin]")),
		chromedp.Click(chromedp.CSS("[data-tab=admin]")), chromedp.WaitVisible(chromedp.CSS(".users tbody tr")))
	admin.do(chromedp.SendKeys(chromedp.CSS(".new-skill input[name=name]"), "returns"))
	admin.press(".new-skill button")
	admin.do(chromedp.SendKeys(chromedp.CSS(".new-user input[name=name]"), "Nia New"), chromedp.SendKeys(chromedp.CSS(".new-user input[name=email]"), "nia@acme.test"),
		chromedp.SendKeys(chromedp.CSS(".new-user input[name=password]"), "long enough pass"))
	admin.press(".new-user button")
	waitFor(t, func() bool {
		u, err := ts.Store.FindUserByEmail(t.Context(), "nia@acme.test")
		return err == nil && u.Name == "Nia New" && u.AccountID == brand.account.ID
	})
	waitFor(t, func() bool {
		skills, _ := ts.Store.ListSkills(t.Context(), brand.account.ID)
		return len(skills) == 1 && skills[0].Name == "returns"
	})
	// A bad input is refused with the server's reason, visibly.
	admin.do(chromedp.SendKeys(chromedp.CSS(".new-skill input[name=name]"), "returns"))
	admin.press(".new-skill button")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".admin-error").textContent`), "exists")
	})
	// Edit a user's role, skills and capacity in place.
	admin.do(chromedp.WaitVisible(chromedp.CSS(".skills-list li")))
	waitFor(t, func() bool {
		return evalIn[bool](t, admin.ctx, `!![...document.querySelectorAll(".users tbody tr")].find(tr => tr.textContent.includes("nia@acme.test") && tr.querySelector(".edit-skills option"))`)
	})
	evalIn[bool](t, admin.ctx, `(() => {
		const tr = [...document.querySelectorAll(".users tbody tr")].find(tr => tr.textContent.includes("nia@acme.test"));
		tr.querySelector(".edit-role").value = "supervisor";
		tr.querySelector(".edit-skills option").selected = true;
		tr.querySelector(".edit-max").value = "7";
		[...tr.querySelectorAll("button")].find(b => b.textContent === "Save").click();
		return true })()`)
	waitFor(t, func() bool {
		u, err := ts.Store.FindUserByEmail(t.Context(), "nia@acme.test")
		return err == nil && u.Role == parley.RoleSupervisor && u.MaxConcurrent == 7 && len(u.Skills) == 1
	})
	// Routing and business hours.
	evalIn[bool](t, admin.ctx, `(() => { const f = document.querySelector(".account-settings");
		f.always.checked = false; f.tz.value = "Europe/Paris"; f.wdFrom.value = "09:00"; f.wdTo.value = "17:30"; f.weFrom.value = ""; f.weTo.value = "";
		f.auto.checked = true; f.requestSubmit(); return true })()`)
	waitFor(t, func() bool {
		a, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
		bh := a.Settings.BusinessHours
		return a.Settings.AutoAssign && bh != nil && bh.TimeZone == "Europe/Paris" && len(bh.Days["mon"]) == 1 && bh.Days["mon"][0][1] == "17:30" && len(bh.Days["sat"]) == 0
	})
	// An API key's secret is shown once.
	admin.do(chromedp.SendKeys(chromedp.CSS(".new-key input[name=name]"), "crm"))
	admin.press(".new-key button")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".key-secret").textContent`), "key_")
	}, func() string {
		admin.shot("failure")
		return "the page says " + evalIn[string](t, admin.ctx, `JSON.stringify({error: document.querySelector(".admin-error").textContent,
			name: document.querySelector(".new-key input[name=name]").value, secret: document.querySelector(".key-secret").textContent})`)
	})
	// The audit log's long paths wrap: the table stays inside its pane.
	if over := evalIn[float64](t, admin.ctx, `document.querySelector("table.audit").getBoundingClientRect().right - document.querySelector(".admin").getBoundingClientRect().right`); over > 0 {
		t.Fatalf("the audit table runs %.0f px past its pane", over)
	}
	admin.shot("admin")
	// Agents do not get the admin area.
	agent := newBrowser(t)
	agent.do(chromedp.Navigate(ts.url+"/console/"), chromedp.WaitVisible(chromedp.CSS(".login-form")),
		chromedp.SendKeys(chromedp.CSS("input[name=email]"), brand.agent.Email), chromedp.SendKeys(chromedp.CSS("input[name=password]"), password),
		chromedp.Click(chromedp.CSS(".login-form button")), chromedp.WaitVisible(chromedp.CSS(".app")))
	if evalIn[bool](t, agent.ctx, `!document.querySelector("[data-tab=admin]").hidden`) {
		t.Fatal("an agent sees the admin tab")
	}
}

// TestOpeningAConversationSendsOneReadReceipt: the console replays a
// conversation's history when the agent opens it; it marks the newest
// visitor message read once, not every message of the history (each
// receipt is a write and an event in the brand's log).
func TestOpeningAConversationSendsOneReadReceipt(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, brand.account.ID)
	conv := v.open(t)
	for i := range 5 {
		if st := v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": fmt.Sprintf("question %d", i+1)}, nil); st != 201 {
			t.Fatalf("visitor message: %d", st)
		}
	}
	if _, err := ts.Store.ClaimConversation(t.Context(), brand.account.ID, conv.ID, brand.agent.ID); err != nil {
		t.Fatal(err)
	}
	console := consoleLogin(t, ts, brand.agent, ".app")
	console.openFirst("mine")
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, conv.ID)
		return c.AgentReadSeq == 5
	})
	if events := waitEventsNow(ts, brand.account.ID, parley.EventReceiptUpdated); len(events) != 1 {
		t.Fatalf("%d receipt events for opening a conversation with five unread messages, want 1", len(events))
	}
	// A new message while it is open is read at once.
	var more struct {
		Message parley.Message `json:"message"`
	}
	if st := v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "one more"}, &more); st != 201 || more.Message.Seq == 0 {
		t.Fatalf("visitor message: %d %+v", st, more)
	}
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, conv.ID)
		return c.AgentReadSeq == more.Message.Seq
	})
}

// TestAVisitorComingBackSendsOneDeliveredReceipt: the widget replays what
// the visitor missed while away; it tells the agent "delivered" once, for
// the newest message, not once per message of the replay.
func TestAVisitorComingBackSendsOneDeliveredReceipt(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/": "", "/other": ""})
	b := newBrowser(t)
	b.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	chromedp.Do(b.frame(), chromedp.SendKeys(chromedp.CSS("#text"), "hello?\r"))
	var conv *parley.Conversation
	waitFor(t, func() bool {
		convs, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{})
		if len(convs) == 1 && convs[0].LastSeq == 1 {
			conv = convs[0]
		}
		return conv != nil
	})
	// The visitor leaves the site; the brand answers five times meanwhile.
	b.do(chromedp.Navigate("about:blank"))
	var last parley.Message
	for i := range 5 {
		var sent struct {
			Message parley.Message `json:"message"`
		}
		if st := ts.withKey(t, brand.apiKey).do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": fmt.Sprintf("answer %d", i+1)}, &sent); st != 201 {
			t.Fatalf("agent message: %d", st)
		}
		last = sent.Message
	}
	// Back on another page of the site: the widget catches up.
	b.do(chromedp.Navigate(page+"/other"), chromedp.WaitVisible(launcher))
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, conv.ID)
		return c.ConsumerDeliveredSeq == last.Seq
	})
	delivered := 0
	for _, e := range waitEventsNow(ts, brand.account.ID, parley.EventReceiptUpdated) {
		var r parley.Receipt
		if json.Unmarshal(e.Data, &r) == nil && r.Side == parley.SideConsumer && r.Kind == parley.ReceiptDelivered {
			delivered++
		}
	}
	if delivered != 1 {
		t.Fatalf("%d delivered receipts for five messages caught up at once, want 1", delivered)
	}
}
