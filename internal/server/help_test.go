package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley"
)

// getPublic fetches a public widget URL and decodes its JSON.
func getPublic(t *testing.T, ts *testServer, path string, out any) int {
	t.Helper()
	res, err := http.Get(ts.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}

type helpArticle struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Snippet string `json:"snippet"`
	HTML    string `json:"html"`
}

// TestTheHelpCenterServesTheBrandsArticles: off by default (the articles
// are not served, the widget offers nothing); on, a search ranks the
// articles, no search lists them in the brand's order, and an article
// comes with its body as sanitised HTML. Bad input gets its own error.
func TestTheHelpCenterServesTheBrandsArticles(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Northwind")
	withDemoBot(t, ts, brand)
	acc := url.QueryEscape(brand.account.ID)
	var cfg struct {
		HelpCenter bool `json:"help_center"`
	}
	if getPublic(t, ts, "/widget/config?account="+acc, &cfg); cfg.HelpCenter {
		t.Fatal("the widget offers a help center the brand did not turn on")
	}
	if st := getPublic(t, ts, "/widget/help?account="+acc, nil); st != 404 {
		t.Fatalf("articles served before the help center is on: status %d", st)
	}
	key := ts.withKey(t, brand.apiKey)
	var widget parley.WidgetSettings
	key.do("GET", "/api/v1/widget-settings", nil, &widget)
	widget.HelpCenter = true
	if st := key.do("PUT", "/api/v1/widget-settings", widget, nil); st != 200 {
		t.Fatalf("turning the help center on: status %d", st)
	}
	if getPublic(t, ts, "/widget/config?account="+acc, &cfg); !cfg.HelpCenter {
		t.Fatal("the widget does not offer the help center")
	}

	var list struct{ Articles []helpArticle }
	if st := getPublic(t, ts, "/widget/help?account="+acc, &list); st != 200 || len(list.Articles) != 10 || list.Articles[0].ID != "delivery" || list.Articles[0].Snippet == "" {
		t.Fatalf("no search: status %d, %+v", st, list.Articles)
	}
	if getPublic(t, ts, "/widget/help?account="+acc+"&q="+url.QueryEscape("how do I get a refund"), &list); len(list.Articles) == 0 || list.Articles[0].ID != "returns" {
		t.Fatalf("search for a refund: %+v", list.Articles)
	}
	if getPublic(t, ts, "/widget/help?account="+acc+"&q=zzzqqq", &list); len(list.Articles) != 0 {
		t.Fatalf("a search nothing matches: %+v", list.Articles)
	}
	var a helpArticle
	if st := getPublic(t, ts, "/widget/help/article?account="+acc+"&id=returns", &a); st != 200 || a.Title != "Returns and refunds" || !strings.Contains(a.HTML, "<") || strings.Contains(a.HTML, "<script") {
		t.Fatalf("article: status %d, %+v", st, a)
	}
	for path, want := range map[string]int{
		"/widget/help?account=" + acc + "&q=" + strings.Repeat("a", 201): 400,
		"/widget/help?account=" + acc + "&limit=0":                       400,
		"/widget/help/article?account=" + acc + "&id=nope":               404,
		"/widget/help?account=nope":                                      400,
	} {
		if st := getPublic(t, ts, path, nil); st != want {
			t.Fatalf("%s: status %d, want %d", path, st, want)
		}
	}
}

// TestAVisitorReadsAHelpArticleInTheWidget: in Chromium, the admin turns
// the help center on in the console; on the brand's page, the visitor
// opens Help, searches, reads the article the search
// puts first, and goes back to the chat; the brand's event log records
// which article was read.
func TestAVisitorReadsAHelpArticleInTheWidget(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Northwind")
	withDemoBot(t, ts, brand)
	admin := adminTab(t, ts, brand) // the admin turns it on in the console
	admin.press(".widget-settings [name=help]")
	admin.press(".widget-settings button[type=submit]")
	waitFor(t, func() bool {
		acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
		return acc.Settings.Widget.HelpCenter
	})
	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/": ""})

	b := newBrowser(t)
	b.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := b.frame()
	step := func(actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(frame, actions...); err != nil {
			b.shot("failure")
			t.Fatal(err)
		}
	}
	step(chromedp.WaitVisible(chromedp.CSS(".help-toggle")), chromedp.Click(chromedp.CSS(".help-toggle")),
		chromedp.WaitVisible(chromedp.CSS(".help-result")))
	if focused := evalIn[string](t, frame, `document.activeElement.id`); focused != "help-q" {
		t.Fatalf("focus on %q, want the search box", focused)
	}
	titles := func() string {
		return evalIn[string](t, frame, `[...document.querySelectorAll(".help-result strong")].map(s => s.textContent).join(" | ")`)
	}
	step(chromedp.SendKeys(chromedp.CSS("#help-q"), "refund"))
	waitFor(t, func() bool {
		return strings.HasPrefix(titles(), "Returns and refunds") && !strings.Contains(titles(), "Ways to pay")
	}, titles)
	if st := evalIn[string](t, frame, `document.querySelector(".help-status").textContent`); st != "1 article" {
		t.Fatalf("status %q", st)
	}
	step(chromedp.Click(chromedp.CSS(".help-result")), chromedp.WaitVisible(chromedp.CSS(".help-article h2")))
	if h := evalIn[string](t, frame, `document.activeElement.tagName + ": " + document.activeElement.textContent`); h != "H2: Returns and refunds" {
		t.Fatalf("focus on %q, want the article's title", h)
	}
	if hidden := evalIn[bool](t, frame, `getComputedStyle(document.querySelector(".composer")).display === "none"`); !hidden {
		t.Fatal("the composer shows beside the article")
	}
	events := waitEvents(t, ts, brand.account.ID, parley.EventHelpArticleViewed, 1)
	if !strings.Contains(string(events[0].Data), `"article":"returns"`) {
		t.Fatalf("help.article_viewed: %s", events[0].Data)
	}
	// Did it help? The brand learns which articles do not.
	step(chromedp.Click(chromedp.CSS(".help-yes")), chromedp.WaitVisible(chromedp.CSS(".help-thanks")))
	rated := waitEvents(t, ts, brand.account.ID, parley.EventHelpArticleRated, 1)
	if !strings.Contains(string(rated[0].Data), `"article":"returns"`) || !strings.Contains(string(rated[0].Data), `"helpful":true`) {
		t.Fatalf("help.article_rated: %s", rated[0].Data)
	}
	step(chromedp.Click(chromedp.CSS(".help-chat")), chromedp.WaitVisible(chromedp.CSS("#text")))

	// The admin sees it: read once, found helpful once, first of the list.
	var stats struct {
		Articles []struct {
			ID         string `json:"id"`
			Views      int    `json:"views"`
			Helpful    int    `json:"helpful"`
			NotHelpful int    `json:"not_helpful"`
		} `json:"articles"`
	}
	if st := ts.login(t, brand.admin).do("GET", "/api/v1/bot/help-stats", nil, &stats); st != 200 || len(stats.Articles) != 10 {
		t.Fatalf("help stats: status %d, %+v", st, stats)
	}
	if a := stats.Articles[0]; a.ID != "returns" || a.Views != 1 || a.Helpful != 1 || a.NotHelpful != 0 || stats.Articles[1].Views != 0 {
		t.Fatalf("help stats: %+v", stats.Articles)
	}
	admin.press("[data-tab=botedit]")
	rows := func() string {
		return evalIn[string](t, admin.ctx, `[...document.querySelectorAll(".bot-help-stats tbody tr")].map(tr => tr.textContent).join(" | ")`)
	}
	waitFor(t, func() bool { return strings.HasPrefix(rows(), "Returns and refunds110") }, rows)
	if focused := evalIn[string](t, frame, `document.activeElement.id + " " + document.querySelector(".help-toggle").getAttribute("aria-expanded")`); focused != "text false" {
		t.Fatalf("after Chat with us: %q", focused)
	}
}
