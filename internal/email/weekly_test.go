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
