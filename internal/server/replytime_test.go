package server_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/internal/server"
)

// TestTheHeaderSaysHowSoonTheBrandReplies: availability carries the typical
// reply (the median first response of the last week, computed in
// internal/analytics and tested there; fixed here) and the chat's header
// says it in the visitor's words.
func TestTheHeaderSaysHowSoonTheBrandReplies(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) {
		c.ReplyTime = func(string) (time.Duration, bool) { return 45 * time.Minute, true }
	})
	brand := seedBrand(t, ts, "Acme")
	var a struct {
		ReplySeconds int `json:"reply_seconds"`
	}
	if st := ts.anon(t).do("GET", "/widget/availability?account="+brand.account.ID, nil, &a); st != 200 || a.ReplySeconds != 2700 {
		t.Fatalf("availability: status %d, %+v", st, a)
	}
	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/": ""})
	online(t, ts, brand.agent)
	b := newBrowser(t)
	b.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := b.frame()
	header := func() string { return evalIn[string](t, frame, `document.querySelector(".status").textContent`) }
	// The header says it once the chat is connected: after the first message.
	if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "Hello\r")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return header() == "We typically reply in under an hour" }, header)
	b.shot("reply-time")
}
