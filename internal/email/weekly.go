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

// Weekly report (docs/email.md): a brand that turns it on has its
// supervisors and admins mailed last week's figures every Monday from
// 08:00 in the brand's time zone (its business hours', else UTC), and the
// latest week's at once when it is turned on — the
// Dashboard's totals beside the week before's, as LivePerson's and
// Zendesk's scheduled reports send them. Once per brand and week: the
// Monday sent is recorded in the brand's settings after the emails go.

// weeklyReportHour is the hour of Monday the report goes.
const weeklyReportHour = 8

// reportWeek returns the Monday (00:00, the brand's time zone) that ends
// the latest week whose report is due at now: this Monday's from 08:00,
// before that the Monday before's. A brand that turns the report on gets
// the latest week's at once, then one each Monday.
func reportWeek(acc *parley.Account, now time.Time) time.Time {
	loc := time.UTC
	if h := acc.Settings.BusinessHours; h != nil && h.TimeZone != "" {
		if l, err := time.LoadLocation(h.TimeZone); err == nil {
			loc = l
		}
	}
	local := now.In(loc)
	monday := time.Date(local.Year(), local.Month(), local.Day()-(int(local.Weekday())+6)%7, 0, 0, 0, 0, loc)
	if local.Before(monday.Add(weeklyReportHour * time.Hour)) {
		monday = monday.AddDate(0, 0, -7)
	}
	return monday
}

// weeklyReports sends the reports that are due.
func (s *Service) weeklyReports(ctx context.Context, accounts []*parley.Account, now time.Time) {
	for _, acc := range accounts {
		if !acc.Settings.WeeklyReport {
			continue
		}
		monday := reportWeek(acc, now)
		if acc.Settings.WeeklyReportSent == monday.Format(time.DateOnly) {
			continue
		}
		if err := s.weeklyReport(ctx, acc, monday, now); err != nil && ctx.Err() == nil {
			s.log.Warn("weekly report", "account", acc.ID, "err", err)
		}
	}
}

// weeklyReport mails the week that ends at monday to the brand's
// supervisors and admins, then records it sent.
func (s *Service) weeklyReport(ctx context.Context, acc *parley.Account, monday, now time.Time) error {
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
	start := monday.AddDate(0, 0, -7)
	week, err := analytics.Compute(ctx, s.store, acc.ID, analytics.Query{From: start.UTC(), To: monday.UTC(), Bucket: "day"}, capacity)
	if err != nil {
		return err
	}
	before, err := analytics.Compute(ctx, s.store, acc.ID, analytics.Query{From: start.AddDate(0, 0, -7).UTC(), To: start.UTC(), Bucket: "day"}, capacity)
	if err != nil {
		return err
	}
	lines := reportLines(week.Totals, before.Totals)
	if s.ConsoleURL != "" {
		lines = append(lines, Line{Who: "Dashboard", Text: "by hour, skill, agent and label", Link: s.ConsoleURL, LinkText: "Open the console"})
	}
	span := start.Format("2 January") + " to " + monday.AddDate(0, 0, -1).Format("2 January 2006")
	for _, u := range to {
		addr, err := mail.ParseAddress(u.Email)
		if err != nil {
			continue
		}
		addr.Name = u.Name
		l := &Letter{
			From:    mail.Address{Name: acc.Name, Address: s.from},
			To:      *addr,
			Subject: fmt.Sprintf("%s: your week in Parley, %s", acc.Name, span),
			Intro:   fmt.Sprintf("Last week at %s, Monday %s (the week before in brackets):", acc.Name, span),
			Lines:   lines,
			Footer:  "You get this email because you are a supervisor or an admin of " + acc.Name + " and it sends a weekly report; stop it for yourself in the console's Profile, or for everyone in Admin → Email replies.",
			ID:      "report-" + acc.ID + "-" + monday.Format(time.DateOnly) + "-" + u.ID,
			Date:    now,
		}
		if err := s.deliver(ctx, l); err != nil {
			return err // all again at the next sweep: the week is not recorded
		}
	}
	_, err = s.store.ChangeAccount(context.WithoutCancel(ctx), acc.ID, func(a *parley.Account) error {
		a.Settings.WeeklyReportSent = monday.Format(time.DateOnly)
		return nil
	})
	return err
}

// reportLines are the week's figures beside the week before's.
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
