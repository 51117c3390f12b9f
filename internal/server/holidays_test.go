package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley"
)

// TestABrandClosesOnItsHolidays: in Chromium, the admin of a brand open
// around the clock adds Christmas (closed) and Christmas Eve (mornings);
// the form keeps them after saving. A holiday today closes the brand:
// the widget offers the offline form. A bad line is refused by name.
func TestABrandClosesOnItsHolidays(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	admin := adminTab(t, ts, brand)
	admin.do(chromedp.SendKeys(chromedp.CSS(".account-settings [name=holidays]"), "2026-12-25 Christmas\n2026-12-24 09:00-13:00 Christmas Eve"))
	if err := chromedp.Do(admin.ctx, chromedp.Evaluate[chromedp.Void](`(() => { const f = document.querySelector(".account-settings"); f.always.checked = true; f.tz.value = "Europe/Paris"; })()`)); err != nil {
		t.Fatal(err)
	}
	admin.press(".account-settings button[type=submit]")
	waitFor(t, func() bool {
		acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
		bh := acc.Settings.BusinessHours
		return bh != nil && len(bh.Holidays) == 2 && bh.Holidays[0].Date == "2026-12-25" && len(bh.Holidays[0].Hours) == 0 &&
			bh.Holidays[1].Name == "Christmas Eve" && len(bh.Holidays[1].Hours) == 1 && bh.Holidays[1].Hours[0] == [2]string{"09:00", "13:00"} && len(bh.Days["sun"]) == 1
	}, func() string {
		return evalIn[string](t, admin.ctx, `document.querySelector(".admin-error").textContent`)
	})
	waitFor(t, func() bool {
		return evalIn[string](t, admin.ctx, `document.querySelector(".account-settings [name=holidays]").value`) == "2026-12-25 Christmas\n2026-12-24 09:00-13:00 Christmas Eve" &&
			evalIn[bool](t, admin.ctx, `document.querySelector(".account-settings [name=always]").checked`)
	})

	// A bad line is named.
	st, raw := ts.login(t, brand.admin).raw("PATCH", "/api/v1/account-settings", map[string]any{"business_hours": map[string]any{
		"time_zone": "UTC", "days": map[string]any{}, "holidays": []map[string]any{{"date": "Christmas"}}}})
	if st != 400 || !strings.Contains(string(raw), "holidays[0].date") {
		t.Fatalf("a bad holiday: %d %s", st, raw)
	}

	// Today a holiday: closed, though open around the clock.
	today := time.Now().UTC().Format(time.DateOnly)
	if _, err := ts.Store.ChangeAccount(t.Context(), brand.account.ID, func(a *parley.Account) error {
		a.Settings.BusinessHours.TimeZone = "UTC"
		a.Settings.BusinessHours.Holidays = []parley.Holiday{{Date: today, Name: "Today"}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(ts.url + "/widget/availability?account=" + brand.account.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		Open bool `json:"open"`
	}
	json.NewDecoder(resp.Body).Decode(&a)
	if a.Open {
		t.Fatal("open on a holiday")
	}
}
