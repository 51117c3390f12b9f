package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley"
)

// TestTheAgentSeesThePagesTheVisitorLoads: in Chromium, a visitor writes
// from the brand's home page, then goes to the checkout; the agent's
// visitor panel lists both pages, the second as it happens. A URL with a
// card number in it is masked like a message.
func TestTheAgentSeesThePagesTheVisitorLoads(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	site := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/": "", "/checkout": `document.title = "Checkout"`})
	visitor := newBrowser(t)
	visitor.do(chromedp.Navigate(site+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	if err := chromedp.Do(visitor.frame(), chromedp.SendKeys(chromedp.CSS("#text"), "Where is my order?\r"), chromedp.WaitVisible(chromedp.CSS(".msg.mine"))); err != nil {
		t.Fatal(err)
	}
	pages := func() []parley.PageView {
		var out []parley.PageView
		for _, e := range waitEventsNow(ts, brand.account.ID, parley.EventPageViewed) {
			var p parley.PageView
			json.Unmarshal(e.Data, &p)
			out = append(out, p)
		}
		return out
	}
	waitFor(t, func() bool { p := pages(); return len(p) == 1 && p[0].URL == site+"/" && p[0].Title == "Brand page" })

	agent := consoleLogin(t, ts, brand.agent, "[data-tab=queued]")
	agent.openFirst("queued")
	listed := func() string {
		return evalIn[string](t, agent.ctx, `document.querySelector(".visitor-pages").textContent`)
	}
	waitFor(t, func() bool { return strings.Contains(listed(), "Brand page") }, listed)

	visitor.do(chromedp.Navigate(site + "/checkout?card=4242424242424242"))
	waitFor(t, func() bool { return len(pages()) == 2 })
	if p := pages()[1]; p.Title != "Checkout" || strings.Contains(p.URL, "4242424242424242") || !strings.Contains(p.URL, "4242") {
		t.Fatalf("the second page: %+v; want Checkout, its card number masked", p)
	}
	waitFor(t, func() bool { return strings.HasPrefix(listed(), "Checkout") }, listed)
}
