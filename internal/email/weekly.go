package email

import (
	"context"
	"fmt"
	"math"
	"net/mail"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/analytics"
)

// Reports (docs/email.md, Weekly report and Daily report): a brand that
// turns one on has its supervisors and admins mailed the figures of the
// period that ended — the seven days before its report day (Monday unless
// it chose another) every week, yesterday's every day — from its report
// hour (08:00 unless it chose another) in the brand's time zone (its
// business hours', else UTC), and
// the latest period's at once when it is turned on: the Dashboard's totals
// beside those of the period to compare with, as LivePerson's and
// Zendesk's scheduled reports send them. Once per brand and period: the
// period sent is recorded in the brand's settings after the emails go.

// brandLocation is the brand's time zone: its business hours', else UTC.
func brandLocation(acc *parley.Account) *time.Location {
	if h := acc.Settings.BusinessHours; h != nil && h.TimeZone != "" {
		if l, err := time.LoadLocation(h.TimeZone); err == nil {
			return l
		}
	}
	return time.UTC
}

// reportWeek returns the report day (00:00, the brand's time zone) that
// ends the latest week whose report is due at now: this week's report
// day from the report hour, before that the one a week before. A brand
// that turns the report on gets the latest week's at once, then one a
// week.
func reportWeek(acc *parley.Account, now time.Time) time.Time {
	hour, weekday := acc.Settings.ReportSchedule()
	loc := brandLocation(acc)
	local := now.In(loc)
	day := time.Date(local.Year(), local.Month(), local.Day()-(int(local.Weekday())-int(weekday)+7)%7, 0, 0, 0, 0, loc)
	if local.Before(atHour(day, hour)) {
		day = day.AddDate(0, 0, -7)
	}
	return day
}

// reportDay returns the midnight (the brand's time zone) that ends the
// latest day whose report is due at now: today's from the report hour,
// before that yesterday's.
func reportDay(acc *parley.Account, now time.Time) time.Time {
	hour, _ := acc.Settings.ReportSchedule()
	loc := brandLocation(acc)
	local := now.In(loc)
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	if local.Before(atHour(midnight, hour)) {
		midnight = midnight.AddDate(0, 0, -1)
	}
	return midnight
}

// atHour is the given hour on midnight's day, on the wall clock (a day
// of a clock change has 23 or 25 hours).
func atHour(midnight time.Time, hour int) time.Time {
	return time.Date(midnight.Year(), midnight.Month(), midnight.Day(), hour, 0, 0, 0, midnight.Location())
}

// report is one period's email: its figures from start to end beside
// those from wasStart to wasEnd.
type report struct {
	start, end, wasStart, wasEnd time.Time
	subject, intro, footer, id   string
	// record notes in the brand's settings that the period was sent.
	record func(*parley.AccountSettings)
}

// weeklyReports and dailyReports send the reports that are due.
func (s *Service) weeklyReports(ctx context.Context, accounts []*parley.Account, now time.Time) {
	for _, acc := range accounts {
		if !acc.Settings.WeeklyReport {
			continue
		}
		end := reportWeek(acc, now)
		sent := end.Format(time.DateOnly)
		if sent <= acc.Settings.WeeklyReportSent { // dates compare as strings
			continue // sent, or a later week was (the report day moved back)
		}
		start := end.AddDate(0, 0, -7)
		span := start.Format("2 January") + " to " + end.AddDate(0, 0, -1).Format("2 January 2006")
		r := report{start: start, end: end, wasStart: start.AddDate(0, 0, -7), wasEnd: start,
			subject: fmt.Sprintf("%s: your week in Parley, %s", acc.Name, span),
			intro:   fmt.Sprintf("The week at %s, %s %s (the week before in brackets):", acc.Name, start.Format("Monday"), span),
			footer:  "You get this email because you are a supervisor or an admin of " + acc.Name + " and it sends a weekly report; stop it for yourself in the console's Profile, or for everyone in Admin → Email replies.",
			id:      "report-" + acc.ID + "-" + sent,
			record:  func(st *parley.AccountSettings) { st.WeeklyReportSent = sent }}
		if err := s.sendReport(ctx, acc, r, now); err != nil && ctx.Err() == nil {
			s.log.Warn("weekly report", "account", acc.ID, "err", err)
		}
	}
}

func (s *Service) dailyReports(ctx context.Context, accounts []*parley.Account, now time.Time) {
	for _, acc := range accounts {
		if !acc.Settings.DailyReport {
			continue
		}
		end := reportDay(acc, now)
		start := end.AddDate(0, 0, -1)
		day := start.Format(time.DateOnly)
		if day <= acc.Settings.DailyReportSent {
			continue // sent, or a later day was (the report hour moved later)
		}
		said := start.Format("Monday 2 January 2006")
		r := report{start: start, end: end, wasStart: start.AddDate(0, 0, -7), wasEnd: end.AddDate(0, 0, -7),
			subject: fmt.Sprintf("%s: your day in Parley, %s", acc.Name, said),
			intro:   fmt.Sprintf("%s at %s (the %s before in brackets):", said, acc.Name, start.Format("Monday")),
			footer:  "You get this email because you are a supervisor or an admin of " + acc.Name + " and it sends a daily report; stop it for yourself in the console's Profile, or for everyone in Admin → Email replies.",
			id:      "daily-" + acc.ID + "-" + day,
			record:  func(st *parley.AccountSettings) { st.DailyReportSent = day }}
		if err := s.sendReport(ctx, acc, r, now); err != nil && ctx.Err() == nil {
			s.log.Warn("daily report", "account", acc.ID, "err", err)
		}
	}
}

// sendReport mails the period's figures to the brand's supervisors and
// admins, then records it sent.
func (s *Service) sendReport(ctx context.Context, acc *parley.Account, rep report, now time.Time) error {
	users, err := s.store.ListUsers(ctx, acc.ID)
	if err != nil {
		return err
	}
	capacity := map[string]int{}
	var to []*parley.User
	for _, u := range users {
		capacity[u.ID] = u.MaxConcurrent
		if u.Active && u.Email != "" && !u.ReportEmailsOff && (u.Role == parley.RoleSupervisor || u.Role == parley.RoleAdmin) {
			to = append(to, u)
		}
	}
	bucket := "day"
	if rep.end.Sub(rep.start) <= 25*time.Hour {
		bucket = "hour"
	}
	period, err := analytics.Compute(ctx, s.store, acc.ID, analytics.Query{From: rep.start.UTC(), To: rep.end.UTC(), Bucket: bucket}, capacity)
	if err != nil {
		return err
	}
	before, err := analytics.Compute(ctx, s.store, acc.ID, analytics.Query{From: rep.wasStart.UTC(), To: rep.wasEnd.UTC(), Bucket: bucket}, capacity)
	if err != nil {
		return err
	}
	lines := reportLines(period.Totals, before.Totals)
	if s.ConsoleURL != "" {
		lines = append(lines, Line{Who: "Dashboard", Text: "by hour, skill, agent and label", Link: s.ConsoleURL, LinkText: "Open the console"})
	}
	for _, u := range to {
		addr, err := mail.ParseAddress(u.Email)
		if err != nil {
			continue
		}
		addr.Name = u.Name
		l := &Letter{
			From:    mail.Address{Name: acc.Name, Address: s.from},
			To:      *addr,
			Subject: rep.subject,
			Intro:   rep.intro,
			Lines:   lines,
			Footer:  rep.footer,
			ID:      rep.id + "-" + u.ID,
			Date:    now,
		}
		if err := s.deliver(ctx, l); err != nil {
			return err // all again at the next sweep: the period is not recorded
		}
	}
	_, err = s.store.ChangeAccount(context.WithoutCancel(ctx), acc.ID, func(a *parley.Account) error {
		rep.record(&a.Settings)
		return nil
	})
	return err
}

// reportLines are a period's figures beside those it is compared with.
func reportLines(t, was analytics.Totals) []Line {
	pct := func(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) }
	median := func(s analytics.Stat) string {
		if s.Count == 0 {
			return "—"
		}
		return humanSeconds(float64(s.P50))
	}
	csat := func(t analytics.Totals) string {
		if t.CSATCount == 0 {
			return "no ratings"
		}
		return fmt.Sprintf("%.2f / 5 from %d", t.CSATMean, t.CSATCount)
	}
	contained := func(t analytics.Totals) string {
		if t.BotConversations == 0 {
			return "—"
		}
		return fmt.Sprintf("%s (%d of %d)", pct(t.ContainmentRate), t.BotContained, t.BotConversations)
	}
	return []Line{
		{Who: "Conversations", Text: fmt.Sprintf("%d opened, %d closed (%d, %d)", t.Opened, t.Closed, was.Opened, was.Closed)},
		{Who: "Answered by the bot alone", Text: fmt.Sprintf("%s (%s)", contained(t), contained(was))},
		{Who: "First response, median", Text: fmt.Sprintf("%s (%s)", median(t.FirstResponse), median(was.FirstResponse))},
		{Who: "Waiting in the queue, median", Text: fmt.Sprintf("%s (%s)", median(t.QueueWait), median(was.QueueWait))},
		{Who: "Handle time, median", Text: fmt.Sprintf("%s (%s)", median(t.HandleTime), median(was.HandleTime))},
		{Who: "Satisfaction", Text: fmt.Sprintf("%s (%s)", csat(t), csat(was))},
	}
}

// humanSeconds says a duration as people read it: 45 s, 3 min, 2 h 5 min.
func humanSeconds(s float64) string {
	switch n := int(math.Round(s)); {
	case n < 60:
		return fmt.Sprintf("%d s", n)
	case n < 3600:
		return fmt.Sprintf("%d min", int(math.Round(float64(n)/60)))
	default:
		return fmt.Sprintf("%d h %d min", n/3600, n%3600/60)
	}
}
