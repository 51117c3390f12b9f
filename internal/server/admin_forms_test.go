package server_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley"
)

// TestAdminFormsKeepWhatWasTypedAcrossRedraws: an admin half-way through
// the widget and routing forms adds a skill, which redraws the Admin tab;
// what they typed is still there and saves. Before, the redraw put the
// saved values back over it.
func TestAdminFormsKeepWhatWasTypedAcrossRedraws(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	admin := adminTab(t, ts, brand)
	admin.do(chromedp.SendKeys(chromedp.CSS(".widget-settings [name=greeting]"), "Hello from the new greeting"),
		chromedp.SetValue(chromedp.CSS(".account-settings [name=notice]"), ""),
		chromedp.SendKeys(chromedp.CSS(".account-settings [name=notice]"), "90"))
	admin.do(chromedp.SendKeys(chromedp.CSS(".new-skill [name=name]"), "billing"))
	admin.press(".new-skill button[type=submit]")
	waitFor(t, func() bool {
		return evalIn[bool](t, admin.ctx, `[...document.querySelectorAll(".skills-list li")].some(li => li.textContent.includes("billing"))`)
	})
	greeting := func() string {
		return evalIn[string](t, admin.ctx, `document.querySelector(".widget-settings [name=greeting]").value + "|" + document.querySelector(".account-settings [name=notice]").value`)
	}
	if g := greeting(); g != "Hello from the new greeting|90" {
		t.Fatalf("after the redraw the forms hold %q", g)
	}
	admin.press(".widget-settings button[type=submit]")
	admin.press(".account-settings button[type=submit]")
	waitFor(t, func() bool {
		acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
		return acc.Settings.Widget.Greeting == "Hello from the new greeting" && acc.Settings.QueueNoticeSeconds != nil && *acc.Settings.QueueNoticeSeconds == 90
	}, greeting)
}

// TestAdminEditsACannedResponseInPlace: in Chromium, an admin edits a
// canned response's shortcut and text from its line; a shortcut already
// taken is refused with the reason shown.
func TestAdminEditsACannedResponseInPlace(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	key := ts.withKey(t, brand.apiKey)
	var hours parley.CannedResponse
	key.do("POST", "/api/v1/canned-responses", map[string]any{"shortcut": "hours", "text": "We are open 9-17."}, &hours)
	key.do("POST", "/api/v1/canned-responses", map[string]any{"shortcut": "refund", "text": "Refunds take 5 days."}, nil)
	admin := adminTab(t, ts, brand)
	edit := `.canned-list li[data-id="` + hours.ID + `"]`
	admin.press(edit + ` button`) // Edit
	set := func(shortcut, text string) {
		evalIn[bool](t, admin.ctx, `(() => { const f = document.querySelector(".edit-canned"); f.shortcut.value = `+strconv.Quote(shortcut)+`; f.text.value = `+strconv.Quote(text)+`; return true })()`)
		admin.press(".edit-canned button[type=submit]")
	}
	set("refund", "taken")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".admin-error").textContent`), "shortcut /refund exists")
	})
	set("opening", "We are open 8-18, Saturdays too.")
	lines := func() string {
		return evalIn[string](t, admin.ctx, `[...document.querySelectorAll(".canned-list li")].map(li => li.firstChild.textContent.trim()).join(" | ")`)
	}
	waitFor(t, func() bool { return strings.Contains(lines(), "/opening — We are open 8-18, Saturdays too.") }, lines)
	list, _ := ts.Store.ListCannedResponses(t.Context(), brand.account.ID)
	if len(list) != 2 || list[0].Shortcut != "opening" || list[0].ID != hours.ID {
		t.Fatalf("stored: %+v", list)
	}
}
