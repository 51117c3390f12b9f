package server_test

import (
	"testing"

	"github.com/chromedp/chromedp"
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
