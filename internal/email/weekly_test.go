package email_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// TestTheWeeklyReportGoesOnMondayToSupervisorsAndAdmins: turned on, the
// weekly report sends the latest week due at once — here, before 08:00 on
// Monday in the brand's time zone, the week before last — then last
// week's from 08:00, to the brand's supervisors and admins (not its
// agents, not the deactivated, not one who opted out), each once;
// nothing with it off.
func TestTheWeeklyReportGoesOnMondayToSupervisorsAndAdmins(t *testing.T) {
	w := newWorld(t, "")
	ctx := context.Background()
	for _, u := range []*parley.User{
		{Email: "sam@acme.test", Name: "Sam", Role: parley.RoleSupervisor, Active: true},
		{Email: "ada@acme.test", Name: "Ada", Role: parley.RoleAdmin, Active: true},
		{Email: "alex@acme.test", Name: "Alex", Role: parley.RoleAgent, Active: true},
		{Email: "old@acme.test", Name: "Old", Role: parley.RoleSupervisor, Active: false},
		{Email: "quiet@acme.test", Name: "Quiet", Role: parley.RoleSupervisor, Active: true, ReportEmailsOff: true},
	} {
		u.AccountID, u.MaxConcurrent = w.acc.ID, 3
		if err := w.store.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	// The Monday after this week's conversation, in Paris.
	now := time.Now().In(paris)
	monday := time.Date(now.Year(), now.Month(), now.Day()+7-(int(now.Weekday())+6)%7, 0, 0, 0, 0, paris)
	w.sweep(monday.Add(9 * time.Hour))
	w.none() // off
	if _, err := w.store.ChangeAccount(ctx, w.acc.ID, func(a *parley.Account) error {
		a.Settings.WeeklyReport = true
		a.Settings.BusinessHours = &parley.BusinessHours{TimeZone: "Europe/Paris", Days: map[string][][2]string{"mon": {{"09:00", "17:00"}}}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	w.sweep(monday.Add(7*time.Hour + 59*time.Minute))
	for range 2 { // before 08:00 in Paris: the week before last, when the conversation was not yet
		if _, text, _ := parts(t, w.next()); !strings.Contains(text, "0 opened, 0 closed") {
			t.Fatalf("the week before last:\n%s", text)
		}
	}
	w.none()
	w.sweep(monday.Add(8*time.Hour + time.Minute))
	got := map[string]string{}
	for range 2 {
		r := w.next()
		h, text, _ := parts(t, r)
		got[r.To[0]] = h["Subject"] + "\n" + text
	}
	w.sweep(monday.Add(10 * time.Hour))
	w.none() // once a week
	for _, to := range []string{"sam@acme.test", "ada@acme.test"} {
		mail := got[to]
		if !strings.HasPrefix(mail, "Acme: your week in Parley, ") || !strings.Contains(mail, "Conversations") || !strings.Contains(mail, "1 opened, 0 closed (0, 0)") {
			t.Fatalf("the report to %s:\n%s", to, mail)
		}
	}
	if acc, _ := w.store.FindAccount(ctx, w.acc.ID); acc.Settings.WeeklyReportSent != monday.Format(time.DateOnly) {
		t.Fatalf("recorded as sent: %q", acc.Settings.WeeklyReportSent)
	}
	// The next Monday, the next report.
	w.sweep(monday.AddDate(0, 0, 7).Add(8*time.Hour + time.Minute))
	w.next()
	w.next()
	w.none()
}

// TestTheDailyReportGoesEachMorning: turned on, the daily report sends
// the latest day due at once — before 08:00 in the brand's time zone, the
// day before yesterday — then yesterday's from 08:00, beside the same
// weekday a week before, to the brand's supervisors and admins, once a
// day; the weekly report stays off.
func TestTheDailyReportGoesEachMorning(t *testing.T) {
	w := newWorld(t, "")
	ctx := context.Background()
	for _, u := range []*parley.User{
		{Email: "sam@acme.test", Name: "Sam", Role: parley.RoleSupervisor, Active: true},
		{Email: "alex@acme.test", Name: "Alex", Role: parley.RoleAgent, Active: true},
		{Email: "quiet@acme.test", Name: "Quiet", Role: parley.RoleAdmin, Active: true, ReportEmailsOff: true},
	} {
		u.AccountID, u.MaxConcurrent = w.acc.ID, 3
		if err := w.store.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	now := time.Now().In(paris)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, paris) // the conversation opened today
	tomorrow := today.AddDate(0, 0, 1)
	if _, err := w.store.ChangeAccount(ctx, w.acc.ID, func(a *parley.Account) error {
		a.Settings.DailyReport = true
		a.Settings.BusinessHours = &parley.BusinessHours{TimeZone: "Europe/Paris", Days: map[string][][2]string{"mon": {{"09:00", "17:00"}}}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	w.sweep(tomorrow.Add(7*time.Hour + 59*time.Minute))
	if h, text, _ := parts(t, w.next()); !strings.Contains(h["Subject"], today.AddDate(0, 0, -1).Format("Monday 2 January 2006")) || !strings.Contains(text, "0 opened, 0 closed") {
		t.Fatalf("before 08:00, the day before: %q\n%s", h["Subject"], text)
	}
	w.none()
	w.sweep(tomorrow.Add(8*time.Hour + time.Minute))
	r := w.next()
	h, text, _ := parts(t, r)
	if r.To[0] != "sam@acme.test" || h["Subject"] != "Acme: your day in Parley, "+today.Format("Monday 2 January 2006") ||
		!strings.Contains(text, "1 opened, 0 closed (0, 0)") || !strings.Contains(text, "(the "+today.Format("Monday")+" before in brackets)") {
		t.Fatalf("to %v, %q:\n%s", r.To, h["Subject"], text)
	}
	w.sweep(tomorrow.Add(20 * time.Hour))
	w.none() // once a day, and no weekly report
	if acc, _ := w.store.FindAccount(ctx, w.acc.ID); acc.Settings.DailyReportSent != today.Format(time.DateOnly) || acc.Settings.WeeklyReportSent != "" {
		t.Fatalf("recorded as sent: daily %q, weekly %q", acc.Settings.DailyReportSent, acc.Settings.WeeklyReportSent)
	}
	w.sweep(tomorrow.AddDate(0, 0, 1).Add(8*time.Hour + time.Minute))
	w.next()
	w.none()
}

// TestReportsGoOnTheDayAndAtTheHourTheBrandChose: a brand that wants its
// figures on Friday at 17:00 gets the weekly report then, about the seven
// days before that Friday, and the daily one every day from 17:00; before
// 17:00 the latest ones due are the week and the day before those.
func TestReportsGoOnTheDayAndAtTheHourTheBrandChose(t *testing.T) {
	w := newWorld(t, "")
	ctx := context.Background()
	sam := &parley.User{AccountID: w.acc.ID, Email: "sam@acme.test", Name: "Sam", Role: parley.RoleSupervisor, Active: true, MaxConcurrent: 3}
	if err := w.store.CreateUser(ctx, sam); err != nil {
		t.Fatal(err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	now := time.Now().In(paris)
	// The next Friday after today (a week on when today is one): the
	// seven days before it hold the conversation, opened now.
	friday := time.Date(now.Year(), now.Month(), now.Day()+7-(int(now.Weekday())-int(time.Friday)+7)%7, 0, 0, 0, 0, paris)
	hour := 17
	if _, err := w.store.ChangeAccount(ctx, w.acc.ID, func(a *parley.Account) error {
		a.Settings.WeeklyReport, a.Settings.DailyReport = true, true
		a.Settings.ReportHour, a.Settings.WeeklyReportDay = &hour, "friday"
		a.Settings.BusinessHours = &parley.BusinessHours{TimeZone: "Europe/Paris", Days: map[string][][2]string{"fri": {{"09:00", "17:00"}}}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// subjects sweeps at the time given and returns the subjects and the
	// texts of the reports sent, by kind ("week", "day").
	subjects := func(at time.Time, want int) map[string]string {
		t.Helper()
		w.sweep(at)
		got := map[string]string{}
		for range want {
			h, text, _ := parts(t, w.next())
			kind := "day"
			if strings.Contains(h["Subject"], "your week") {
				kind = "week"
			}
			got[kind] = h["Subject"] + "\n" + text
		}
		w.none()
		return got
	}
	span := func(end time.Time) string {
		return end.AddDate(0, 0, -7).Format("2 January") + " to " + end.AddDate(0, 0, -1).Format("2 January 2006")
	}
	got := subjects(friday.Add(16*time.Hour+59*time.Minute), 2)
	if !strings.HasPrefix(got["week"], "Acme: your week in Parley, "+span(friday.AddDate(0, 0, -7))+"\n") ||
		!strings.HasPrefix(got["day"], "Acme: your day in Parley, "+friday.AddDate(0, 0, -2).Format("Monday 2 January 2006")+"\n") {
		t.Fatalf("before 17:00 on Friday, the week and the day before those due then:\n%s\n\n%s", got["week"], got["day"])
	}
	got = subjects(friday.Add(17*time.Hour+time.Minute), 2)
	if !strings.HasPrefix(got["week"], "Acme: your week in Parley, "+span(friday)+"\n") || !strings.Contains(got["week"], "1 opened, 0 closed (0, 0)") ||
		!strings.Contains(got["week"], "The week at Acme, Friday "+span(friday)) ||
		!strings.HasPrefix(got["day"], "Acme: your day in Parley, "+friday.AddDate(0, 0, -1).Format("Monday 2 January 2006")+"\n") {
		t.Fatalf("from 17:00 on Friday, the seven days before it and Thursday:\n%s\n\n%s", got["week"], got["day"])
	}
	if acc, _ := w.store.FindAccount(ctx, w.acc.ID); acc.Settings.WeeklyReportSent != friday.Format(time.DateOnly) {
		t.Fatalf("recorded as sent: %q, want the Friday", acc.Settings.WeeklyReportSent)
	}
	subjects(friday.Add(23*time.Hour), 0)
	// Saturday from 17:00: Friday's figures, and no weekly report until
	// the next Friday.
	saturday := friday.AddDate(0, 0, 1)
	subjects(saturday.Add(16*time.Hour), 0)
	got = subjects(saturday.Add(17*time.Hour+time.Minute), 1)
	if !strings.HasPrefix(got["day"], "Acme: your day in Parley, "+friday.Format("Monday 2 January 2006")+"\n") {
		t.Fatalf("Saturday's report:\n%s", got["day"])
	}
	// Moved to Sunday at 20:00, on Sunday at 10:00: the latest week and
	// day due then were reported already (the week by a later one), so
	// nothing goes again; at 20:00 Saturday's day does.
	if _, err := w.store.ChangeAccount(ctx, w.acc.ID, func(a *parley.Account) error {
		later := 20
		a.Settings.ReportHour, a.Settings.WeeklyReportDay = &later, "sunday"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sunday := saturday.AddDate(0, 0, 1)
	subjects(sunday.Add(10*time.Hour), 0)
	got = subjects(sunday.Add(20*time.Hour+time.Minute), 2)
	if !strings.HasPrefix(got["day"], "Acme: your day in Parley, "+saturday.Format("Monday 2 January 2006")+"\n") ||
		!strings.HasPrefix(got["week"], "Acme: your week in Parley, "+span(sunday)+"\n") {
		t.Fatalf("Sunday at 20:00:\n%s\n\n%s", got["week"], got["day"])
	}
}
