package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/auth"
)

var colorPattern = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

var widgetLanguages = map[string]bool{"": true, "en": true, "es": true, "fr": true, "de": true, "it": true, "nl": true, "pt": true, "sv": true, "da": true, "nb": true, "fi": true}

func (a *API) handleGetWidgetSettings(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	acc, err := a.store.FindAccount(r.Context(), p.AccountID)
	if err != nil {
		return err
	}
	s := acc.Settings.Widget
	if s.AllowedOrigins == nil {
		s.AllowedOrigins = []string{}
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

// handlePutWidgetSettings replaces the widget settings after checking every field.
func (a *API) handlePutWidgetSettings(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var s parley.WidgetSettings
	if err := decode(r, a.maxBody, &s); err != nil {
		return err
	}
	if err := validWidgetSettings(&s); err != nil {
		return err
	}
	if err := a.widgetSkillsExist(r.Context(), p.AccountID, &s); err != nil {
		return err
	}
	if _, err := a.changeAccount(r.Context(), p.AccountID, func(acc *parley.Account) error {
		acc.Settings.Widget = s
		return nil
	}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

func validWidgetSettings(s *parley.WidgetSettings) error {
	if s.Color != "" && !colorPattern.MatchString(s.Color) {
		return parley.Errorf(parley.EINVALID, "color must look like #1f5eff")
	}
	if s.Position != "" && s.Position != "left" && s.Position != "right" {
		return parley.Errorf(parley.EINVALID, "position must be left or right")
	}
	if !widgetLanguages[s.Language] {
		return parley.Errorf(parley.EINVALID, "language must be empty (follow the browser), en, es, fr, de, it, nl, pt, sv, da, nb or fi")
	}
	for field, v := range map[string]struct {
		s   string
		max int
	}{"label": {s.Label, 40}, "greeting": {s.Greeting, 500}} {
		if err := checkName(field, v.s); err != nil {
			return err
		}
		if utf8.RuneCountInString(v.s) > v.max {
			return parley.Errorf(parley.EINVALID, "%s has more than %d characters", field, v.max)
		}
	}
	if len(s.AllowedOrigins) > 50 {
		return parley.Errorf(parley.EINVALID, "allowed_origins has more than 50 entries")
	}
	for i, o := range s.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return parley.Errorf(parley.EINVALID, "allowed_origins[%d] %q must be an origin like https://shop.example", i, o)
		}
		s.AllowedOrigins[i] = strings.ToLower(u.Scheme + "://" + u.Host)
	}
	if s.AllowedOrigins == nil {
		s.AllowedOrigins = []string{}
	}
	if len(s.Engagements) > 20 {
		return parley.Errorf(parley.EINVALID, "engagements has more than 20 entries")
	}
	seen := map[string]bool{}
	for i, e := range s.Engagements {
		switch {
		case !parley.ValidEngagementID(e.ID) || seen[e.ID]:
			return parley.Errorf(parley.EINVALID, "engagements[%d].id must be unique, 1-40 of a-z, 0-9 and -", i)
		case e.URLPattern == "" || len(e.URLPattern) > 200 || !strings.HasPrefix(e.URLPattern, "/") && e.URLPattern != "*":
			return parley.Errorf(parley.EINVALID, "engagements[%d].url_pattern must be a path pattern like /boots* or *", i)
		case e.DelaySeconds < 0 || e.DelaySeconds > 3600:
			return parley.Errorf(parley.EINVALID, "engagements[%d].delay_seconds must be from 0 to 3600", i)
		case strings.TrimSpace(e.Text) == "" || utf8.RuneCountInString(e.Text) > 200:
			return parley.Errorf(parley.EINVALID, "engagements[%d].text must have 1 to 200 characters", i)
		case utf8.RuneCountInString(e.Name) > 60:
			return parley.Errorf(parley.EINVALID, "engagements[%d].name has more than 60 characters", i)
		case e.Audience != "" && e.Audience != parley.AudienceNew && e.Audience != parley.AudienceReturning:
			return parley.Errorf(parley.EINVALID, "engagements[%d].audience must be empty (everyone), new or returning", i)
		case e.MinPages < 0 || e.MinPages > 100:
			return parley.Errorf(parley.EINVALID, "engagements[%d].min_pages must be from 0 to 100", i)
		case e.Repeat != "" && e.Repeat != parley.RepeatPage && e.Repeat != parley.RepeatVisit && e.Repeat != parley.RepeatVisitor:
			return parley.Errorf(parley.EINVALID, "engagements[%d].repeat must be page, visit or visitor", i)
		}
		for field, v := range map[string]string{"text": e.Text, "name": e.Name} {
			if err := checkName(fmt.Sprintf("engagements[%d].%s", i, field), v); err != nil {
				return err
			}
		}
		seen[e.ID] = true
	}
	if s.Engagements == nil {
		s.Engagements = []parley.Engagement{}
	}
	return validTopics(s.PreChat.Topics)
}

// validTopics checks the pre-chat form's topics: a few, each with a
// label of its own (trimmed).
func validTopics(topics []parley.PreChatTopic) error {
	if len(topics) > parley.MaxPreChatTopics {
		return parley.Errorf(parley.EINVALID, "prechat.topics has %d entries; at most %d", len(topics), parley.MaxPreChatTopics)
	}
	seen := map[string]bool{}
	for i := range topics {
		t := &topics[i]
		t.Label = strings.TrimSpace(t.Label)
		field := fmt.Sprintf("prechat.topics[%d].label", i)
		if err := checkName(field, t.Label); err != nil {
			return err
		}
		if n := utf8.RuneCountInString(t.Label); n == 0 || n > 60 {
			return parley.Errorf(parley.EINVALID, "%s must have 1 to 60 characters", field)
		}
		if key := strings.ToLower(t.Label); seen[key] {
			return parley.Errorf(parley.EINVALID, "%s %q is there twice", field, t.Label)
		} else {
			seen[key] = true
		}
	}
	return nil
}

// widgetSkillsExist checks that each engagement's and pre-chat topic's
// skill is one of the account's.
func (a *API) widgetSkillsExist(ctx context.Context, accountID string, s *parley.WidgetSettings) error {
	var skills []*parley.Skill
	check := func(field, skill string) error {
		if skill == "" {
			return nil
		}
		if skills == nil {
			var err error
			if skills, err = a.store.ListSkills(ctx, accountID); err != nil {
				return err
			}
		}
		if !slices.ContainsFunc(skills, func(s *parley.Skill) bool { return s.ID == skill }) {
			return parley.Errorf(parley.EINVALID, "%s %q is not one of this brand's skills", field, skill)
		}
		return nil
	}
	for i, e := range s.Engagements {
		if err := check(fmt.Sprintf("engagements[%d].skill", i), e.Skill); err != nil {
			return err
		}
	}
	for i, t := range s.PreChat.Topics {
		if err := check(fmt.Sprintf("prechat.topics[%d].skill", i), t.Skill); err != nil {
			return err
		}
	}
	return nil
}

type identityKeyRequest struct {
	Alg string `json:"alg"`
	Key string `json:"key"`
}

type identityKeyResponse struct {
	Alg        string `json:"alg"`
	Configured bool   `json:"configured"`
}

// handleGetIdentityKey says whether a key is set and its algorithm, never the key.
func (a *API) handleGetIdentityKey(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	k, err := a.store.FindIdentityKey(r.Context(), p.AccountID)
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		writeJSON(w, http.StatusOK, identityKeyResponse{})
		return nil
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, identityKeyResponse{Alg: k.Alg, Configured: true})
	return nil
}

func (a *API) handlePutIdentityKey(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req identityKeyRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	k := parley.IdentityKey{Alg: req.Alg, Key: req.Key}
	if err := auth.CheckIdentityKey(k); err != nil {
		return err
	}
	if err := a.store.SetIdentityKey(r.Context(), p.AccountID, k); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, identityKeyResponse{Alg: k.Alg, Configured: true})
	return nil
}

func (a *API) handleDeleteIdentityKey(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	if err := a.store.SetIdentityKey(r.Context(), p.AccountID, parley.IdentityKey{}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// TamperRow is one page's widget health.
type TamperRow struct {
	URL       string  `json:"url"`
	Loads     int     `json:"loads"`
	Tampered  int     `json:"tampered"`
	Suspected int     `json:"suspected"`
	Rate      float64 `json:"rate"` // (tampered + suspected page views) / loads
}

// handleTamperReport summarises widget loads and tampering per page URL.
func (a *API) handleTamperReport(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	rows := map[string]*TamperRow{}
	pvTampered := map[string]bool{}
	var after int64
	for {
		events, err := a.store.ListEvents(r.Context(), p.AccountID, parley.EventFilter{After: after, Limit: 1000,
			Types: []string{parley.EventWidgetLoaded, parley.EventWidgetTampered, parley.EventWidgetSuspected}})
		if err != nil {
			return err
		}
		for _, e := range events {
			var d struct{ PV, URL string }
			json.Unmarshal(e.Data, &d)
			row := rows[d.URL]
			if row == nil {
				row = &TamperRow{URL: d.URL}
				rows[d.URL] = row
			}
			switch e.Type {
			case parley.EventWidgetLoaded:
				row.Loads++
			case parley.EventWidgetTampered:
				row.Tampered++
				pvTampered[d.URL+" "+d.PV] = true
			case parley.EventWidgetSuspected:
				row.Suspected++
				pvTampered[d.URL+" "+d.PV] = true
			}
		}
		if len(events) < 1000 {
			break
		}
		after = events[len(events)-1].Seq
	}
	affected := map[string]int{}
	for k := range pvTampered {
		affected[strings.SplitN(k, " ", 2)[0]]++
	}
	out := make([]*TamperRow, 0, len(rows))
	for _, row := range rows {
		if row.Loads > 0 {
			row.Rate = float64(affected[row.URL]) / float64(row.Loads)
		}
		out = append(out, row)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Rate > out[j].Rate || out[i].Rate == out[j].Rate && out[i].URL < out[j].URL
	})
	writeJSON(w, http.StatusOK, map[string]any{"pages": out})
	return nil
}

// accountSettings are the routing and hours settings an admin edits; the
// widget's have their own route.
type accountSettings struct {
	AutoAssign         bool                  `json:"auto_assign"`
	QueueNoticeSeconds *int                  `json:"queue_notice_seconds"`
	BusinessHours      *parley.BusinessHours `json:"business_hours"`
	// RetentionDays: closed conversations keep their content this long
	// (0: forever); absent from a PUT, it stays as it is.
	RetentionDays *int `json:"retention_days"`
	// AutoClose: when conversations left waiting on the visitor close by
	// themselves; absent from a PUT, it stays as it is.
	AutoClose *parley.AutoClose `json:"auto_close"`
	// Masking: what is hidden in messages and notes before they are
	// stored; absent from a PUT, it stays as it is.
	Masking *parley.Masking `json:"masking"`
	// Labels: the tags staff put on conversations; absent from a PUT,
	// they stay as they are. Conversations keep a label that is removed
	// here, but it can no longer be added.
	Labels *[]parley.Label `json:"labels"`
	// LabelsRequired: people must label a conversation to close it.
	LabelsRequired *bool `json:"labels_required"`
	// ConversationFields: the details people record on conversations;
	// absent from a PUT, they stay as they are. Conversations keep the
	// values of a field removed here.
	ConversationFields *[]parley.ConversationField `json:"conversation_fields"`
	// ResponseTargetSeconds: how soon a visitor who wrote should have an
	// answer (0: no target); absent from a PUT, it stays as it is.
	ResponseTargetSeconds *int `json:"response_target_seconds"`
	// ResponseTargetHighSeconds and ResponseTargetUrgentSeconds: tighter
	// targets for priority 5 and above, and 10 (0: the level below's).
	ResponseTargetHighSeconds   *int `json:"response_target_high_seconds"`
	ResponseTargetUrgentSeconds *int `json:"response_target_urgent_seconds"`
	// RequireTwoFactor: every person logs in with a second factor; absent
	// from a PUT, it stays as it is.
	RequireTwoFactor *bool `json:"require_two_factor"`
	// WeeklyReport: the brand's supervisors and admins get last week's
	// figures by email every Monday (docs/email.md); absent, it stays.
	WeeklyReport *bool `json:"weekly_report"`
	// DailyReport: they get yesterday's figures every morning; absent,
	// it stays.
	DailyReport *bool `json:"daily_report"`
	// ReportHour: the hour (0–23, the time zone of the brand's hours)
	// both reports go; WeeklyReportDay: the day the weekly one goes
	// (monday … sunday). Absent, they stay.
	ReportHour      *int    `json:"report_hour"`
	WeeklyReportDay *string `json:"weekly_report_day"`
	// TwoFactorRememberDays: how long a browser may remember a person's
	// second factor (0: never; 30 unless set); absent from a PUT, it stays.
	TwoFactorRememberDays *int `json:"two_factor_remember_days"`
	// ConsoleNetworks: where the brand's people may use the console from
	// (empty: anywhere); absent from a PUT, they stay as they are.
	ConsoleNetworks *[]string `json:"console_networks"`
	// AutomationRules: the brand's triage rules, all of them (the list
	// replaces the last); absent from a PUT, they stay as they are.
	AutomationRules *[]parley.AutomationRule `json:"automation_rules"`
	// Macros: the agents' one-click bundles, all of them; absent from a
	// PUT, they stay as they are.
	Macros *[]parley.Macro `json:"macros"`
	// InboxViews: the team's views of the inbox, shared with every person
	// of the brand, all of them; absent from a PUT, they stay as they are.
	InboxViews *[]parley.InboxView `json:"inbox_views"`
	// AutoAwaySeconds: idle time before the console sets an online user
	// Away (0: never); absent from a PUT, it stays as it is.
	AutoAwaySeconds *int `json:"auto_away_seconds"`
	// AwayReasons: what people who step away may say ("Lunch"), all of
	// them; absent from a PUT, they stay as they are.
	AwayReasons *[]string `json:"away_reasons"`
	// EmailReplies: agents' unread replies mailed to visitors; absent
	// from a PUT, it stays as it is.
	EmailReplies *parley.EmailReplies `json:"email_replies"`
	// MailServer (read-only): whether the installation can send email
	// at all; without it, email replies cannot be turned on.
	MailServer *bool `json:"mail_server,omitempty"`
	// MailInbound (read-only): answers by email come back into the
	// conversation, so reply_to is not used.
	MailInbound *bool `json:"mail_inbound,omitempty"`
}

// settingsView is what GET and PUT return: every setting, defaults filled in.
func (a *API) settingsView(s parley.AccountSettings) accountSettings {
	ac := s.AutoClose
	botMinutes := int(ac.BotIdle() / time.Minute)
	ac.BotMinutes = &botMinutes
	mk := s.Masking
	cards := mk.MasksCards()
	mk.Cards = &cards
	if mk.Rules == nil {
		mk.Rules = []parley.MaskRule{}
	}
	labels := s.Labels
	if labels == nil {
		labels = []parley.Label{}
	}
	rules := s.AutomationRules
	if rules == nil {
		rules = []parley.AutomationRule{}
	}
	macros := s.Macros
	if macros == nil {
		macros = []parley.Macro{}
	}
	er := s.EmailReplies
	delay := int(er.Delay() / time.Minute)
	er.DelayMinutes = &delay
	mailServer, mailInbound := a.MailConfigured, a.MailInbound
	reasons := s.AwayReasons
	if reasons == nil {
		reasons = []string{}
	}
	networks := s.ConsoleNetworks
	if networks == nil {
		networks = []string{}
	}
	fields := s.ConversationFields
	if fields == nil {
		fields = []parley.ConversationField{}
	}
	views := s.InboxViews
	if views == nil {
		views = []parley.InboxView{}
	}
	rememberDays := int(s.TrustBrowserFor() / (24 * time.Hour))
	reportHour, reportDay := s.ReportSchedule()
	weeklyDay := strings.ToLower(reportDay.String())
	return accountSettings{TwoFactorRememberDays: &rememberDays, AutoAwaySeconds: &s.AutoAwaySeconds, AwayReasons: &reasons, ConsoleNetworks: &networks, MailServer: &mailServer, MailInbound: &mailInbound, EmailReplies: &er, AutoAssign: s.AutoAssign, QueueNoticeSeconds: s.QueueNoticeSeconds, BusinessHours: s.BusinessHours,
		RetentionDays: &s.RetentionDays, AutoClose: &ac, Masking: &mk, Labels: &labels, LabelsRequired: &s.LabelsRequired, ConversationFields: &fields,
		ResponseTargetSeconds: &s.ResponseTargetSeconds, ResponseTargetHighSeconds: &s.ResponseTargetHighSeconds, ResponseTargetUrgentSeconds: &s.ResponseTargetUrgentSeconds,
		RequireTwoFactor: &s.RequireTwoFactor, WeeklyReport: &s.WeeklyReport, DailyReport: &s.DailyReport, ReportHour: &reportHour, WeeklyReportDay: &weeklyDay, AutomationRules: &rules, Macros: &macros, InboxViews: &views}
}

func (a *API) handleGetAccountSettings(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	acc, err := a.store.FindAccount(r.Context(), p.AccountID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.settingsView(acc.Settings))
	return nil
}

// handlePutAccountSettings replaces the routing and hours settings:
// auto_assign, queue_notice_seconds and business_hours always (absent is
// off, the default, always open); the newer fields only when present.
func (a *API) handlePutAccountSettings(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req accountSettings
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	return a.saveAccountSettings(w, r, p, req, func(string) bool { return true })
}

// handlePatchAccountSettings changes only the settings the body names:
// each console form saves its own fields, and two admins saving
// different forms at once keep both.
func (a *API) handlePatchAccountSettings(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var fields map[string]json.RawMessage
	if err := decode(r, a.maxBody, &fields); err != nil {
		return err
	}
	raw, _ := json.Marshal(fields)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var req accountSettings
	if err := dec.Decode(&req); err != nil {
		return jsonError(err, a.maxBody)
	}
	return a.saveAccountSettings(w, r, p, req, func(name string) bool { _, ok := fields[name]; return ok })
}

// saveAccountSettings checks req and writes it; given says which of
// auto_assign, queue_notice_seconds and business_hours to write (the
// other fields are written when present).
func (a *API) saveAccountSettings(w http.ResponseWriter, r *http.Request, p parley.Principal, req accountSettings, given func(string) bool) error {
	if req.QueueNoticeSeconds != nil && (*req.QueueNoticeSeconds < 0 || *req.QueueNoticeSeconds > 86400) {
		return parley.Errorf(parley.EINVALID, "queue_notice_seconds must be from 0 (off) to 86400")
	}
	if req.BusinessHours != nil {
		if err := req.BusinessHours.Validate(); err != nil {
			return err
		}
	}
	if req.RetentionDays != nil && (*req.RetentionDays < 0 || *req.RetentionDays > 3650) {
		return parley.Errorf(parley.EINVALID, "retention_days must be from 0 (keep forever) to 3650")
	}
	if req.AutoClose != nil {
		if err := req.AutoClose.Validate(); err != nil {
			return err
		}
	}
	if req.Masking != nil {
		if _, err := req.Masking.Compile(); err != nil {
			return err
		}
	}
	if req.Labels != nil {
		if err := parley.ValidateLabels(*req.Labels); err != nil {
			return err
		}
	}
	if req.ConversationFields != nil {
		if err := parley.ValidateConversationFields(*req.ConversationFields); err != nil {
			return err
		}
	}
	if req.ResponseTargetSeconds != nil && (*req.ResponseTargetSeconds < 0 || *req.ResponseTargetSeconds > 86400) {
		return parley.Errorf(parley.EINVALID, "response_target_seconds must be from 0 (no target) to 86400")
	}
	if req.RequireTwoFactor != nil && *req.RequireTwoFactor && p.Kind == parley.PrincipalUser {
		// The admin who requires it has it: they are not sent to set it
		// up by their own click.
		u, err := a.store.FindUser(r.Context(), p.AccountID, p.ID)
		if err != nil {
			return err
		}
		if !u.HasSecondFactor() {
			return parley.Errorf(parley.ECONFLICT, "turn on your own two-factor authentication or add a passkey (Profile) before requiring it of everyone")
		}
	}
	if d := req.TwoFactorRememberDays; d != nil && (*d < 0 || *d > parley.MaxTwoFactorRememberDays) {
		return parley.Errorf(parley.EINVALID, "two_factor_remember_days must be 0 (never) to %d", parley.MaxTwoFactorRememberDays)
	}
	if req.AutoAwaySeconds != nil && *req.AutoAwaySeconds != 0 && (*req.AutoAwaySeconds < 60 || *req.AutoAwaySeconds > 8*3600) {
		return parley.Errorf(parley.EINVALID, "auto_away_seconds must be 0 (never) or from 60 to 28800")
	}
	if req.AwayReasons != nil {
		if err := parley.ValidateAwayReasons(*req.AwayReasons); err != nil {
			return err
		}
	}
	if req.ConsoleNetworks != nil {
		networks, err := parley.ParseNetworks(*req.ConsoleNetworks)
		if err != nil {
			return err
		}
		// A person who saves networks that leave them out would be locked
		// out at their next request, with everyone at their desk.
		if p.Kind == parley.PrincipalUser && !parley.InNetworks(networks, r.RemoteAddr) {
			host, _, _ := net.SplitHostPort(r.RemoteAddr)
			return parley.Errorf(parley.ECONFLICT, "your own address (%s) is outside these networks: saving them would lock you out", host)
		}
		for i := range *req.ConsoleNetworks {
			(*req.ConsoleNetworks)[i] = strings.TrimSpace((*req.ConsoleNetworks)[i])
		}
	}
	if req.EmailReplies != nil {
		if err := req.EmailReplies.Validate(); err != nil {
			return err
		}
		if (req.EmailReplies.Enabled || req.EmailReplies.Survey) && !a.MailConfigured {
			return parley.Errorf(parley.ECONFLICT, "this installation has no mail server: its operator sets one with parley serve --smtp-url and --mail-from before email replies can be turned on")
		}
		if req.EmailReplies.Survey && a.PublicURL == "" {
			return parley.Errorf(parley.ECONFLICT, "rating requests by email link to a page of this installation: its operator sets its address with parley serve --public-url first")
		}
	}
	if req.WeeklyReport != nil && *req.WeeklyReport && !a.MailConfigured {
		return parley.Errorf(parley.ECONFLICT, "this installation has no mail server: its operator sets one with parley serve --smtp-url and --mail-from before a weekly report can be mailed")
	}
	if req.DailyReport != nil && *req.DailyReport && !a.MailConfigured {
		return parley.Errorf(parley.ECONFLICT, "this installation has no mail server: its operator sets one with parley serve --smtp-url and --mail-from before a daily report can be mailed")
	}
	if err := parley.ValidateReportSchedule(req.ReportHour, req.WeeklyReportDay); err != nil {
		return err
	}
	if req.AutomationRules != nil {
		if err := a.skillsOfRules(r.Context(), p.AccountID, *req.AutomationRules); err != nil {
			return err
		}
	}
	var nowRequired, emailsOn bool
	acc, err := a.changeAccount(r.Context(), p.AccountID, func(acc *parley.Account) error {
		if req.InboxViews != nil {
			acc.Settings.InboxViews = *req.InboxViews
		}
		if req.Macros != nil {
			acc.Settings.Macros = *req.Macros
			for i := range acc.Settings.Macros {
				acc.Settings.Macros[i].Name = strings.TrimSpace(acc.Settings.Macros[i].Name)
			}
		}
		if req.AutomationRules != nil {
			acc.Settings.AutomationRules = *req.AutomationRules
			for i := range acc.Settings.AutomationRules {
				acc.Settings.AutomationRules[i].Name = strings.TrimSpace(acc.Settings.AutomationRules[i].Name)
			}
		}
		if req.RequireTwoFactor != nil {
			nowRequired = *req.RequireTwoFactor && !acc.Settings.RequireTwoFactor
			acc.Settings.RequireTwoFactor = *req.RequireTwoFactor
		}
		if req.TwoFactorRememberDays != nil {
			acc.Settings.TwoFactorRememberDays = req.TwoFactorRememberDays
		}
		if req.WeeklyReport != nil {
			acc.Settings.WeeklyReport = *req.WeeklyReport
		}
		if req.DailyReport != nil {
			acc.Settings.DailyReport = *req.DailyReport
		}
		if req.ReportHour != nil {
			acc.Settings.ReportHour = req.ReportHour
		}
		if req.WeeklyReportDay != nil {
			acc.Settings.WeeklyReportDay = strings.ToLower(strings.TrimSpace(*req.WeeklyReportDay))
		}
		if given("auto_assign") {
			acc.Settings.AutoAssign = req.AutoAssign
		}
		if given("queue_notice_seconds") {
			acc.Settings.QueueNoticeSeconds = req.QueueNoticeSeconds
		}
		if given("business_hours") {
			acc.Settings.BusinessHours = req.BusinessHours
		}
		if req.RetentionDays != nil {
			acc.Settings.RetentionDays = *req.RetentionDays
		}
		if req.AutoClose != nil {
			acc.Settings.AutoClose = *req.AutoClose
		}
		if req.Masking != nil {
			acc.Settings.Masking = *req.Masking
		}
		if req.Labels != nil {
			acc.Settings.Labels = *req.Labels
		}
		if req.ConversationFields != nil {
			acc.Settings.ConversationFields = *req.ConversationFields
		}
		if req.LabelsRequired != nil {
			acc.Settings.LabelsRequired = *req.LabelsRequired
		}
		if req.ResponseTargetSeconds != nil {
			acc.Settings.ResponseTargetSeconds = *req.ResponseTargetSeconds
		}
		if req.ResponseTargetHighSeconds != nil {
			acc.Settings.ResponseTargetHighSeconds = *req.ResponseTargetHighSeconds
		}
		if req.ResponseTargetUrgentSeconds != nil {
			acc.Settings.ResponseTargetUrgentSeconds = *req.ResponseTargetUrgentSeconds
		}
		if err := acc.Settings.CheckResponseTargets(); err != nil {
			return err
		}
		if req.AutoAwaySeconds != nil {
			acc.Settings.AutoAwaySeconds = *req.AutoAwaySeconds
		}
		if req.AwayReasons != nil {
			acc.Settings.AwayReasons = *req.AwayReasons
		}
		if req.ConsoleNetworks != nil {
			acc.Settings.ConsoleNetworks = *req.ConsoleNetworks
		}
		if req.EmailReplies != nil {
			was, now := acc.Settings.EmailReplies, req.EmailReplies
			emailsOn = (now.Enabled || now.Survey) && !was.Enabled && !was.Survey
			acc.Settings.EmailReplies = *req.EmailReplies
		}
		// Checked against the labels as they are after this change too:
		// a label a rule adds cannot be removed from under it.
		if err := parley.ValidateMacros(acc.Settings.Macros, acc.Settings.Labels); err != nil {
			return err
		}
		// A field a team view filters on cannot be removed either.
		views, err := parley.ValidateInboxViews("inbox_views", acc.Settings.InboxViews, acc.Settings.ConversationFields)
		if err != nil {
			return err
		}
		acc.Settings.InboxViews = views
		if len(views) == 0 {
			acc.Settings.InboxViews = nil
		}
		return parley.ValidateRules(acc.Settings.AutomationRules, acc.Settings.Labels, acc.Settings.ConversationFields)
	})
	if err != nil {
		return err
	}
	if emailsOn {
		// Replies from this request on are mailed; none from before, nor
		// from an earlier time email replies were on.
		if err := a.store.StartEmailCursor(r.Context(), p.AccountID); err != nil {
			return err
		}
	}
	if nowRequired {
		// Whoever has no second factor is logged out: at their next login
		// they set it up before anything else.
		if err := a.logOutWithoutTwoFactor(r.Context(), p.AccountID); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, a.settingsView(acc.Settings))
	return nil
}

// skillsOfRules checks that the skills rules route to are the account's.
func (a *API) skillsOfRules(ctx context.Context, accountID string, rules []parley.AutomationRule) error {
	skills, err := a.store.ListSkills(ctx, accountID)
	if err != nil {
		return err
	}
	users, err := a.store.ListUsers(ctx, accountID)
	if err != nil {
		return err
	}
	for i, rule := range rules {
		for j, act := range rule.Actions {
			switch act.Type {
			case parley.RuleSetSkill:
				if !slices.ContainsFunc(skills, func(s *parley.Skill) bool { return s.ID == act.Value }) {
					return parley.Errorf(parley.EINVALID, "automation_rules[%d].actions[%d].value: skill %q not found", i, j, act.Value)
				}
			case parley.RuleAssignAgent, parley.RuleNotify:
				if !slices.ContainsFunc(users, func(u *parley.User) bool { return u.ID == act.Value && u.Active }) {
					return parley.Errorf(parley.EINVALID, "automation_rules[%d].actions[%d].value: user %q is not an active user of this account", i, j, act.Value)
				}
			}
		}
	}
	return nil
}

func (a *API) logOutWithoutTwoFactor(ctx context.Context, accountID string) error {
	users, err := a.store.ListUsers(ctx, accountID)
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.HasSecondFactor() {
			continue
		}
		ended, err := a.store.EndSessions(ctx, accountID, u.ID, nil)
		if err != nil {
			return err
		}
		a.endSessions(ended)
	}
	return nil
}

// changeAccount edits the account in one store transaction — a settings
// form saved while another is saved changes only its own fields — and
// tells those that keep its settings.
func (a *API) changeAccount(ctx context.Context, accountID string, change func(*parley.Account) error) (*parley.Account, error) {
	acc, err := a.store.ChangeAccount(ctx, accountID, change)
	if err == nil && a.AccountChanged != nil {
		a.AccountChanged(acc.ID)
	}
	return acc, err
}
