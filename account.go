package parley

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Account is a brand: the tenant. Every other row belongs to exactly one account.
type Account struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Settings  AccountSettings `json:"settings"`
	CreatedAt time.Time       `json:"created_at"`
}

// AccountSettings are the brand's own choices. Later features (widget look,
// routing mode, business hours) add fields here; unknown fields are kept.
type AccountSettings struct {
	// AutoAssign routes queued conversations to agents automatically; when
	// false agents pick from the queue.
	AutoAssign bool           `json:"auto_assign"`
	Widget     WidgetSettings `json:"widget"`
	// QueueNoticeSeconds: after this long in the queue, the visitor gets a
	// notice that they are still in line (0 turns it off; default 60).
	QueueNoticeSeconds *int `json:"queue_notice_seconds,omitempty"`
	// BusinessHours, when set, are when people answer; nil is always.
	BusinessHours *BusinessHours `json:"business_hours,omitempty"`
	// RetentionDays, when above 0, is how long closed conversations keep
	// their content: after it, their messages, notes and attachments are
	// deleted and their events stripped of personal data (docs/data.md).
	RetentionDays int `json:"retention_days,omitempty"`
	// AutoClose closes conversations that wait on a visitor who went away.
	AutoClose AutoClose `json:"auto_close"`
	// Masking hides sensitive data in what people write before it is
	// stored (docs/data.md, Masking).
	Masking Masking `json:"masking"`
	// Labels are the tags staff may put on conversations (docs/routing.md,
	// Labels); a conversation can carry only labels defined here.
	Labels []Label `json:"labels"`
	// LabelsRequired: a person closing a conversation must have labelled
	// it first (LivePerson's mandatory wrap-up). The bot, auto-close and
	// visitors close without.
	LabelsRequired bool `json:"labels_required,omitempty"`
	// ConversationFields are the details the brand's people record on
	// each conversation (docs/routing.md, Conversation fields).
	ConversationFields []ConversationField `json:"conversation_fields,omitempty"`
	// ResponseTargetSeconds is how soon the brand means to answer a
	// visitor who wrote: the console marks conversations waiting longer
	// as overdue, and the metrics count replies within it (0: no target).
	ResponseTargetSeconds int `json:"response_target_seconds,omitempty"`
	// ResponseTargetHighSeconds and ResponseTargetUrgentSeconds are
	// tighter targets for raised conversations (priority 5 and above, 10
	// and above), as Zendesk's and Chatwoot's SLA policies by priority;
	// 0 uses the target of the level below.
	ResponseTargetHighSeconds   int `json:"response_target_high_seconds,omitempty"`
	ResponseTargetUrgentSeconds int `json:"response_target_urgent_seconds,omitempty"`
	// RequireTwoFactor: every person on the brand's staff logs in with a
	// second factor; one who has none sets it up before anything else
	// (docs/security.md).
	RequireTwoFactor bool `json:"require_two_factor,omitempty"`
	// TwoFactorRememberDays is how long a person who logged in with their
	// second factor may have the browser remember it (docs/security.md,
	// Trusted browsers): 0 turns it off; nil is 30 days; at most 90.
	TwoFactorRememberDays *int `json:"two_factor_remember_days,omitempty"`
	// ConsoleNetworks, when set, are the addresses and CIDR ranges from
	// which the brand's people may log in and use the console (the office,
	// the VPN); sessions from elsewhere are refused (docs/security.md).
	// API keys are not bound by them.
	ConsoleNetworks []string `json:"console_networks,omitempty"`
	// AutomationRules are the brand's own triage rules, checked in order
	// (docs/routing.md, Automation rules).
	AutomationRules []AutomationRule `json:"automation_rules,omitempty"`
	// Macros are bundles of steps agents apply in one click
	// (docs/routing.md, Macros).
	Macros []Macro `json:"macros,omitempty"`
	// InboxViews are the team's views of the inbox, which admins share
	// with every person of the brand beside their own (InboxView).
	InboxViews []InboxView `json:"inbox_views,omitempty"`
	// AutoAwaySeconds, when above 0, sets a console user who is Online to
	// Away after this long without touching the console (keyboard,
	// pointer), so visitors are not routed to an empty desk
	// (docs/routing.md, Presence). 0 (the default): never.
	AutoAwaySeconds int `json:"auto_away_seconds,omitempty"`
	// AwayReasons are what a person who steps away may say in the
	// console's status menu ("Lunch", "Training"), counted apart in the
	// reports (docs/routing.md, Agent status). None: plain Away.
	AwayReasons []string `json:"away_reasons,omitempty"`
	// EmailReplies mails agents' unread replies to visitors who left
	// (docs/email.md).
	EmailReplies EmailReplies `json:"email_replies"`
	// WeeklyReport mails the brand's supervisors and admins last week's
	// figures every Monday (docs/email.md, Weekly report);
	// WeeklyReportSent is the Monday (YYYY-MM-DD, the brand's time zone)
	// of the last one sent, set by the sender.
	WeeklyReport     bool   `json:"weekly_report,omitempty"`
	WeeklyReportSent string `json:"weekly_report_sent,omitempty"`
	// DailyReport mails them yesterday's figures every morning, beside
	// the same weekday's a week before (docs/email.md, Daily report);
	// DailyReportSent is the day (YYYY-MM-DD, the brand's time zone) of
	// the last one sent, set by the sender.
	DailyReport     bool   `json:"daily_report,omitempty"`
	DailyReportSent string `json:"daily_report_sent,omitempty"`
	// ReportHour is the hour (0–23, the brand's time zone) from which
	// both reports go; nil: 8, the morning. WeeklyReportDay is the day
	// the weekly one goes, about the seven days before it ("monday" …
	// "sunday"; "": Monday). WeeklyReportSent then names that day.
	ReportHour      *int   `json:"report_hour,omitempty"`
	WeeklyReportDay string `json:"weekly_report_day,omitempty"`
}

// DefaultReportHour is when reports go unless the brand says otherwise.
const DefaultReportHour = 8

// ReportSchedule returns the hour reports go and the weekday of the
// weekly one, the defaults filled in.
func (s AccountSettings) ReportSchedule() (hour int, weekday time.Weekday) {
	hour, weekday = DefaultReportHour, time.Monday
	if s.ReportHour != nil {
		hour = *s.ReportHour
	}
	if d, ok := ParseWeekday(s.WeeklyReportDay); ok {
		weekday = d
	}
	return hour, weekday
}

// ParseWeekday reads a day's English name, in any case ("Friday").
func ParseWeekday(name string) (time.Weekday, bool) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		if strings.EqualFold(strings.TrimSpace(name), d.String()) {
			return d, true
		}
	}
	return 0, false
}

// ValidateReportSchedule checks a report hour and weekly report day as an
// admin sets them (either may be absent).
func ValidateReportSchedule(hour *int, day *string) error {
	if hour != nil && (*hour < 0 || *hour > 23) {
		return Errorf(EINVALID, "report_hour must be from 0 to 23 (the hour reports go, in the time zone of the brand's hours)")
	}
	if day != nil {
		if _, ok := ParseWeekday(*day); !ok {
			return Errorf(EINVALID, "weekly_report_day must be a day of the week, monday to sunday, not %q", *day)
		}
	}
	return nil
}

// Masking says what is hidden in messages and notes before they are
// stored: nothing masked is ever written, so events, webhooks, exports,
// the bot and the console only see the masked text.
type Masking struct {
	// Cards masks payment card numbers (13–19 digits that pass the Luhn
	// check, spaces or dashes allowed between them) but for their last four
	// digits. Default on; false turns it off.
	Cards *bool `json:"cards,omitempty"`
	// Rules are the brand's own patterns, applied in order after cards.
	Rules []MaskRule `json:"rules"`
}

// MaskRule replaces every match of Pattern (RE2 syntax, as Go's regexp) by
// Replacement.
type MaskRule struct {
	Name        string `json:"name"`
	Pattern     string `json:"pattern"`
	Replacement string `json:"replacement,omitempty"` // default "***"
}

// Masking limits.
const (
	MaxMaskRules       = 20
	MaxMaskPattern     = 500
	MaxMaskReplacement = 32
	DefaultMaskReplace = "***"
)

// MasksCards reports whether card numbers are masked (the default).
func (m Masking) MasksCards() bool { return m.Cards == nil || *m.Cards }

// Compile checks every rule and returns their patterns compiled, in order.
// A rule that does not compile, or that matches the empty string (it would
// mask between every two letters), is EINVALID naming the rule.
func (m Masking) Compile() ([]*regexp.Regexp, error) {
	if len(m.Rules) > MaxMaskRules {
		return nil, Errorf(EINVALID, "masking.rules: at most %d rules", MaxMaskRules)
	}
	out := make([]*regexp.Regexp, 0, len(m.Rules))
	for i, r := range m.Rules {
		at := fmt.Sprintf("masking.rules[%d]", i)
		switch {
		case strings.TrimSpace(r.Name) == "" || len(r.Name) > 100:
			return nil, Errorf(EINVALID, "%s.name: give the rule a name of 1 to 100 characters", at)
		case r.Pattern == "" || len(r.Pattern) > MaxMaskPattern:
			return nil, Errorf(EINVALID, "%s.pattern: 1 to %d characters", at, MaxMaskPattern)
		case len(r.Replacement) > MaxMaskReplacement:
			return nil, Errorf(EINVALID, "%s.replacement: at most %d characters", at, MaxMaskReplacement)
		}
		re, err := regexp.Compile(r.Pattern)
		if err != nil {
			return nil, Errorf(EINVALID, "%s.pattern: %v", at, err)
		}
		if re.MatchString("") {
			return nil, Errorf(EINVALID, "%s.pattern %q matches the empty string: it would mask between every two characters", at, r.Pattern)
		}
		out = append(out, re)
	}
	return out, nil
}

// AutoClose says when a conversation that waits on its visitor closes by
// itself (close reason "inactive"). A conversation that waits on the brand —
// in the queue, or assigned with the visitor's message last — never does.
type AutoClose struct {
	// BotMinutes: a conversation with the bot closes after this long with
	// nothing said (0 turns it off; default 30). Without it, abandoned bot
	// conversations stay open and never count in the containment rate.
	BotMinutes *int `json:"bot_minutes,omitempty"`
	// AgentMinutes: an assigned conversation whose last word was the
	// agent's (or the bot's) closes after this long without the visitor's
	// answer, freeing the agent's slot (0, the default, turns it off).
	AgentMinutes int `json:"agent_minutes,omitempty"`
	// WarnMinutes, when above 0, asks the visitor "are you still there?"
	// this long before either close: the close then comes WarnMinutes
	// after the question, if the visitor still says nothing. It must be
	// shorter than each wait that is on. 0 (the default): no question.
	WarnMinutes int `json:"warn_minutes,omitempty"`
}

// AutoCloseMaxMinutes is the longest wait either auto-close may be set to
// (30 days).
const AutoCloseMaxMinutes = 30 * 24 * 60

// BotIdle returns how long a bot conversation may sit silent (0: forever).
func (a AutoClose) BotIdle() time.Duration {
	if a.BotMinutes == nil {
		return 30 * time.Minute
	}
	return time.Duration(*a.BotMinutes) * time.Minute
}

// AgentIdle returns how long an assigned conversation may wait on the
// visitor (0: forever).
func (a AutoClose) AgentIdle() time.Duration { return time.Duration(a.AgentMinutes) * time.Minute }

// Validate checks both waits are in range.
func (a AutoClose) Validate() error {
	if a.BotMinutes != nil && (*a.BotMinutes < 0 || *a.BotMinutes > AutoCloseMaxMinutes) {
		return Errorf(EINVALID, "auto_close.bot_minutes must be from 0 (off) to %d", AutoCloseMaxMinutes)
	}
	if a.AgentMinutes < 0 || a.AgentMinutes > AutoCloseMaxMinutes {
		return Errorf(EINVALID, "auto_close.agent_minutes must be from 0 (off) to %d", AutoCloseMaxMinutes)
	}
	if a.WarnMinutes < 0 {
		return Errorf(EINVALID, "auto_close.warn_minutes must be 0 (off) or more")
	}
	for _, idle := range []time.Duration{a.BotIdle(), a.AgentIdle()} {
		if a.WarnMinutes > 0 && idle > 0 && time.Duration(a.WarnMinutes)*time.Minute >= idle {
			return Errorf(EINVALID, "auto_close.warn_minutes (%d) must be shorter than bot_minutes and agent_minutes when they are on: the question comes that long before the close",
				a.WarnMinutes)
		}
	}
	return nil
}

// MaxTwoFactorRememberDays bounds TwoFactorRememberDays.
const MaxTwoFactorRememberDays = 90

// TrustBrowserFor is how long a browser may remember a person's second
// factor (0: not at all).
func (s AccountSettings) TrustBrowserFor() time.Duration {
	days := 30
	if s.TwoFactorRememberDays != nil {
		days = *s.TwoFactorRememberDays
	}
	return time.Duration(days) * 24 * time.Hour
}

// QueueNotice returns how long a visitor waits before the queue notice.
func (s AccountSettings) QueueNotice() time.Duration {
	if s.QueueNoticeSeconds == nil {
		return time.Minute
	}
	return time.Duration(*s.QueueNoticeSeconds) * time.Second
}

// WidgetSettings are how the brand's chat widget looks and where it runs.
// They are public: the widget reads them without credentials.
type WidgetSettings struct {
	Color    string `json:"color"`    // "#rrggbb"
	Position string `json:"position"` // "right" or "left"
	Label    string `json:"label"`    // launcher text
	Greeting string `json:"greeting"` // first line shown in an empty chat
	Language string `json:"language"` // "" follows the browser; else en, es, fr, de, it, nl, pt, sv, da, nb, fi
	// AllowedOrigins are the sites ("https://shop.example") the widget may
	// run on; empty allows any.
	AllowedOrigins []string `json:"allowed_origins"`
	// Engagements are proactive teasers shown beside the launcher.
	Engagements []Engagement `json:"engagements"`
	// PreChat asks for the visitor's name and email before the first message.
	PreChat PreChatForm `json:"prechat"`
	// OfflineForm asks for an email with the message when no agent is
	// online, so the brand can answer later (default on).
	OfflineForm *bool `json:"offline_form,omitempty"`
	// HelpCenter: the chat window offers a search of the knowledge base's
	// articles (the bot's) before the visitor writes (docs/widget.md).
	HelpCenter bool `json:"help_center,omitempty"`
	// TypingPreview: agents see what a visitor is typing before they send
	// it, masked like a message and never stored (Intercom's and
	// LivePerson's "sneak peek"; docs/widget.md). Off by default: the
	// widget sends no draft unless the brand turns it on.
	TypingPreview bool `json:"typing_preview,omitempty"`
	// ShowTeam: the chat's header shows up to three of the brand's people
	// who have a photo, those online first, with their first names
	// (Intercom's team in the Messenger's header; docs/widget.md, Photos).
	ShowTeam bool `json:"show_team,omitempty"`
}

// PreChatForm says which fields the pre-chat form asks for.
type PreChatForm struct {
	Enabled       bool `json:"enabled"`
	AskName       bool `json:"ask_name"`
	AskEmail      bool `json:"ask_email"`
	EmailRequired bool `json:"email_required"`
	// Topics, when there are any, are what the visitor chooses from
	// before each new conversation ("Orders and delivery", "En español"),
	// as Zendesk's departments and LivePerson's pre-chat routing offer: a
	// topic with a skill sends the conversation to that skill's people
	// (past the bot, as an engagement's skill does); one without takes
	// the usual way. Asked even when Enabled is off (docs/widget.md).
	Topics []PreChatTopic `json:"topics,omitempty"`
}

// PreChatTopic is one choice of the pre-chat form's topics.
type PreChatTopic struct {
	Label string `json:"label"`
	Skill string `json:"skill,omitempty"`
}

// MaxPreChatTopics bounds a pre-chat form's topics.
const MaxPreChatTopics = 10

// Engagement is a proactive invitation (LivePerson's engagements,
// Intercom's chat messages): on pages whose path matches URLPattern ("*"
// matches anything), after DelaySeconds on the page, a teaser bubble with
// Text appears beside the launcher — to the visitors it targets. A visitor
// who clicks it sees Text as the brand's first message, and the
// conversation they start is the engagement's (docs/widget.md).
type Engagement struct {
	ID           string `json:"id"`
	Name         string `json:"name,omitempty"` // for the console and reports; the ID when empty
	URLPattern   string `json:"url_pattern"`
	DelaySeconds int    `json:"delay_seconds"`
	Text         string `json:"text"`
	// Paused keeps the engagement without showing it.
	Paused bool `json:"paused,omitempty"`
	// Skill routes the conversations it starts to that skill's queue
	// (straight to people, past the bot); "" leaves them to the usual path.
	Skill string `json:"skill,omitempty"`
	// Audience: "" (everyone), "new" (a browser's first visit) or
	// "returning" (a later one).
	Audience string `json:"audience,omitempty"`
	// MinPages: shown only from the visitor's MinPages-th page of the
	// visit on (0 or 1: from the first).
	MinPages int `json:"min_pages,omitempty"`
	// WhenAvailable: shown only while someone can answer — an agent (of
	// Skill, when set) online, within business hours.
	WhenAvailable bool `json:"when_available,omitempty"`
	// Repeat: "" or "page" (on every matching page view until dismissed
	// for the visit), "visit" (once a visit) or "visitor" (once a browser).
	Repeat string `json:"repeat,omitempty"`
}

// Engagement audiences and repeats.
const (
	AudienceNew       = "new"
	AudienceReturning = "returning"
	RepeatPage        = "page"
	RepeatVisit       = "visit"
	RepeatVisitor     = "visitor"
)

var engagementID = regexp.MustCompile(`^[a-z0-9-]{1,40}$`)

// ValidEngagementID reports whether id may name an engagement: 1 to 40 of
// a-z, 0-9 and -.
func ValidEngagementID(id string) bool { return engagementID.MatchString(id) }

// EngagementByID returns the engagement with that ID, or nil.
func (w WidgetSettings) EngagementByID(id string) *Engagement {
	for i := range w.Engagements {
		if w.Engagements[i].ID == id {
			return &w.Engagements[i]
		}
	}
	return nil
}

// Label is how the console and reports name the engagement.
func (e Engagement) Label() string {
	if e.Name != "" {
		return e.Name
	}
	return e.ID
}

// IdentityKey verifies the identity tokens (JWTs) a brand's site signs for
// its logged-in visitors: an HS256 shared secret, or an RS256 or ES256
// public key in PEM. It is secret and never leaves the server.
type IdentityKey struct {
	Alg string // "HS256", "RS256" or "ES256"
	Key string
}

// Role is what a user may do inside their account.
type Role string

// Roles, from most to least privileged.
const (
	RoleAdmin      Role = "admin"
	RoleSupervisor Role = "supervisor"
	RoleAgent      Role = "agent"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	return r == RoleAdmin || r == RoleSupervisor || r == RoleAgent
}

// AtLeast reports whether r includes every permission of min.
func (r Role) AtLeast(min Role) bool { return r.rank() >= min.rank() }

func (r Role) rank() int {
	switch r {
	case RoleAdmin:
		return 3
	case RoleSupervisor:
		return 2
	case RoleAgent:
		return 1
	}
	return 0
}

// User is a person who works for a brand: an agent, supervisor or admin.
type User struct {
	ID            string   `json:"id"`
	AccountID     string   `json:"account_id"`
	Email         string   `json:"email"`
	Name          string   `json:"name"`
	Role          Role     `json:"role"`
	Skills        []string `json:"skills"` // skill IDs
	MaxConcurrent int      `json:"max_concurrent"`
	Active        bool     `json:"active"`
	// TwoFactor: every login also asks for a code from the user's
	// authenticator app (TOTP, RFC 6238) or one of their recovery codes.
	TwoFactor bool `json:"two_factor"`
	// Passkeys counts the user's passkeys and security keys; with one,
	// a password alone no longer signs them in either (HasSecondFactor).
	Passkeys int `json:"passkeys"`
	// MentionEmailsOff: the user does not want an email when mentioned in
	// a note they have not looked at (docs/email.md).
	MentionEmailsOff bool `json:"mention_emails_off,omitempty"`
	// ReportEmailsOff: a supervisor or admin who does not want the brand's
	// weekly report (docs/email.md, Weekly report).
	ReportEmailsOff bool `json:"report_emails_off,omitempty"`
	// FollowEmailsOff: the user does not want an email of what is new in
	// the conversations they follow while they are away.
	FollowEmailsOff bool `json:"follow_emails_off,omitempty"`
	// Photo is a token that changes with the person's photo, "" when they
	// have none: the photo is at /widget/photo?account=…&user=…&v=token,
	// for visitors and colleagues alike (docs/widget.md, Photos). Set by
	// SetUserPhoto only.
	Photo string `json:"photo,omitempty"`
	// ExternalID is what the brand's identity provider calls the person,
	// when it provisions people over SCIM (docs/security.md).
	ExternalID string `json:"external_id,omitempty"`
	// Deprovisioned: the identity provider deleted the person over SCIM.
	// They stay, deactivated, so their conversations keep naming them;
	// to SCIM they are gone. An admin who reactivates them brings them back.
	Deprovisioned bool `json:"deprovisioned,omitempty"`
	// SSOSubject is the account at the brand's identity provider the
	// person first signed in with: its issuer, a space and its subject
	// (SSOSubjectOf). A sign-in from another account of that provider is
	// refused, even with the person's email. SSOLinked says whether there
	// is one (an admin unlinks it when the person's provider account is
	// made again).
	SSOSubject string `json:"-"`
	// Views are the inbox filters the person saved (InboxView), theirs
	// alone: never in the user's JSON, read with GET /me/views.
	Views []InboxView `json:"-"`
	// BrowserTrust numbers the browsers the person trusted at a login with
	// their second factor (docs/security.md, Trusted browsers): each such
	// browser holds it, and raising it forgets them all. It rises by
	// itself with a new password or second factor, and at deactivation.
	BrowserTrust int       `json:"-"`
	SSOLinked    bool      `json:"sso_linked,omitempty"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
	// The two-factor secrets, never in JSON (events, API answers): the
	// TOTP seed in base32; the seed being set up until a code confirms
	// it; the last time step a code was accepted for, so no code is
	// accepted twice; and SHA-256 hashes (hex) of the unused recovery codes.
	TOTPSecret    string   `json:"-"`
	TOTPPending   string   `json:"-"`
	TOTPLastStep  int64    `json:"-"`
	RecoveryCodes []string `json:"-"`
}

// Skill is a label that routes conversations to the agents who have it
// ("billing", "spanish").
type Skill struct {
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	Name      string `json:"name"`
	// OverflowAfterSeconds, when above 0, moves a conversation that has
	// waited this long in the skill's queue to OverflowTo's queue (a
	// skill's ID, or "" for the general queue), keeping its place in time
	// (docs/routing.md, Overflow).
	OverflowTo           string `json:"overflow_to"`
	OverflowAfterSeconds int    `json:"overflow_after_seconds"`
	// OverflowUnstaffed also moves its waiting conversations at once while
	// no one with the skill is online (LivePerson's fallback skill): a
	// visitor asking for Spanish at night need not wait out the time.
	OverflowUnstaffed bool `json:"overflow_unstaffed,omitempty"`
	// Hours are when the skill's people answer, when they are not the
	// brand's (a Spanish team in Madrid's day, a night shift): nil follows
	// the brand's business hours (docs/routing.md, A skill's own hours).
	Hours     *BusinessHours `json:"hours"`
	CreatedAt time.Time      `json:"created_at"`
}

// HoursOf are when a skill's people answer: its own hours, else the
// brand's (nil: always). A nil skill is the general queue's, the brand's.
func HoursOf(brand *BusinessHours, skill *Skill) *BusinessHours {
	if skill != nil && skill.Hours != nil {
		return skill.Hours
	}
	return brand
}

// Overflow limits.
const (
	MinOverflowSeconds = 10
	MaxOverflowSeconds = 86400
)

// Consumer is a website visitor or another end customer of the brand. An
// anonymous consumer has no ExternalID; an identified one carries the
// brand's own identifier for the person.
type Consumer struct {
	ID         string            `json:"id"`
	AccountID  string            `json:"account_id"`
	ExternalID string            `json:"external_id,omitempty"`
	Name       string            `json:"name,omitempty"`
	Email      string            `json:"email,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	// Blocked: the brand's staff blocked this visitor (abuse, spam); their
	// credentials are refused until unblocked.
	Blocked bool `json:"blocked,omitempty"`
	// MergedInto: staff merged this consumer into another (the same person
	// twice); it is empty, and its tokens reach that one.
	MergedInto string    `json:"merged_into,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// ConsumerFilter selects contacts: those matching Query (in name, email or
// external ID, case-insensitive), created before the consumer Before (a
// cursor), at most Limit (default 50, at most 200).
type ConsumerFilter struct {
	Query  string
	Before string
	Limit  int
}

// Contact is a consumer in the contacts list, with what the list shows of
// their conversations.
type Contact struct {
	*Consumer
	Conversations  int       `json:"conversations"`
	LastActivityAt time.Time `json:"last_activity_at"`
}

// APIKey lets a brand's servers call the API. Only a hash of the secret is
// stored; the secret is shown once, when the key is created.
type APIKey struct {
	ID         string     `json:"id"`
	AccountID  string     `json:"account_id"`
	Name       string     `json:"name"`
	Role       Role       `json:"role"`
	SecretHash []byte     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// Session is a logged-in user's browser session. The token is stored hashed.
type Session struct {
	TokenHash []byte
	AccountID string
	UserID    string
	CSRFToken string
	CreatedAt time.Time
	ExpiresAt time.Time
	// SSO: the session began with a single sign-on. The brand's identity
	// provider checked the person, its second factor included, so the
	// brand's requirement of Parley's own second factor does not hold it.
	SSO bool
	// IDToken is the ID token the provider gave at that sign-in, sealed
	// (internal/auth): logging out hands it back to the provider, which
	// then ends its own session too (SSO.SignOut). Never sent to clients.
	IDToken string
}

// Principal is whoever makes a request: a user (through a session), an API
// key, or a consumer (through a consumer token). Every service call takes one.
type Principal struct {
	AccountID string
	Kind      PrincipalKind
	ID        string // user, API key or consumer ID
	Role      Role   // for users and API keys
	Name      string
	// MustSetUpTwoFactor: a console user whose brand requires two-factor
	// authentication and who has not set it up; they may reach their
	// profile and nothing else until they do.
	MustSetUpTwoFactor bool
}

// PrincipalKind says which kind of credential a Principal came from.
type PrincipalKind string

// Principal kinds.
const (
	PrincipalUser     PrincipalKind = "user"
	PrincipalAPIKey   PrincipalKind = "api_key"
	PrincipalConsumer PrincipalKind = "consumer"
)

// IsStaff reports whether p acts for the brand (a user or an API key).
func (p Principal) IsStaff() bool { return p.Kind == PrincipalUser || p.Kind == PrincipalAPIKey }

// Can reports whether p acts for the brand with at least the given role.
func (p Principal) Can(min Role) bool { return p.IsStaff() && p.Role.AtLeast(min) }

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal stored in ctx, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Priority levels the console offers (a conversation's priority is 0–10).
const (
	PriorityHigh   = 5
	PriorityUrgent = 10
)

// ResponseTarget is how soon the brand means to answer a visitor who
// wrote in a conversation of that priority (0: no target): the urgent
// target from priority 10, the high one from 5, each falling back to the
// level below when it is not set.
func (s AccountSettings) ResponseTarget(priority int) time.Duration {
	seconds := s.ResponseTargetSeconds
	if priority >= PriorityHigh && s.ResponseTargetHighSeconds > 0 {
		seconds = s.ResponseTargetHighSeconds
	}
	if priority >= PriorityUrgent && s.ResponseTargetUrgentSeconds > 0 {
		seconds = s.ResponseTargetUrgentSeconds
	}
	return time.Duration(seconds) * time.Second
}

// HasResponseTarget reports whether any conversation has a target.
func (s AccountSettings) HasResponseTarget() bool {
	return s.ResponseTargetSeconds > 0 || s.ResponseTargetHighSeconds > 0 || s.ResponseTargetUrgentSeconds > 0
}

// CheckResponseTargets refuses targets out of range, and a raised level's
// target longer than a lower one's: raised conversations are answered
// sooner, not later.
func (s AccountSettings) CheckResponseTargets() error {
	for _, t := range []struct {
		name    string
		seconds int
	}{{"response_target_seconds", s.ResponseTargetSeconds}, {"response_target_high_seconds", s.ResponseTargetHighSeconds}, {"response_target_urgent_seconds", s.ResponseTargetUrgentSeconds}} {
		if t.seconds < 0 || t.seconds > 86400 {
			return Errorf(EINVALID, "%s must be from 0 (no target) to 86400", t.name)
		}
	}
	normal, high := s.ResponseTargetSeconds, s.ResponseTarget(PriorityHigh)/time.Second
	if s.ResponseTargetHighSeconds > 0 && normal > 0 && s.ResponseTargetHighSeconds > normal {
		return Errorf(EINVALID, "response_target_high_seconds (%d) is longer than the normal target (%d): raised conversations are answered sooner", s.ResponseTargetHighSeconds, normal)
	}
	if s.ResponseTargetUrgentSeconds > 0 && high > 0 && s.ResponseTargetUrgentSeconds > int(high) {
		return Errorf(EINVALID, "response_target_urgent_seconds (%d) is longer than the high target (%d): urgent conversations are answered sooner", s.ResponseTargetUrgentSeconds, high)
	}
	return nil
}

// SSOSubjectOf is how User.SSOSubject names an account of an identity
// provider: the issuer (a URL, without spaces), a space, the subject.
func SSOSubjectOf(issuer, subject string) string { return issuer + " " + subject }
