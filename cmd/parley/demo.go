package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/auth"
	"github.com/parleychat/parley/internal/bot"
	"github.com/parleychat/parley/internal/bot/demo"
	"github.com/parleychat/parley/internal/email/mailbox"
	"github.com/parleychat/parley/internal/server"
	"github.com/parleychat/parley/internal/sqlstore"
)

// Demo credentials, printed at start. The demo is for a laptop, not for
// the internet: these are public.
const (
	demoAdminEmail = "admin@demo.parley.test"
	demoAgentEmail = "agent@demo.parley.test"
	demoPassword   = "parley-demo"
)

// cmdDemo runs the server with a seeded demo brand. It takes serve's flags.
func cmdDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, log, err := parseServe("demo", args, getenv, stderr)
	if err != nil {
		return err
	}
	if procs, raised := ensureProcs(getenv); raised {
		log.Info("GOMAXPROCS doubled: a P blocked in a commit's fsync leaves too few to the rest", "gomaxprocs", procs, "cpus", runtime.NumCPU())
	}
	account, err := seedDemoData(ctx, cfg)
	if err != nil {
		return fmt.Errorf("seed demo: %w", err)
	}
	cfg.DemoAccountID = account.ID
	// Without a mail server of the operator's, the demo has its own: a
	// mailbox on a loopback port whose page shows what Parley sent.
	var mb *mailbox.Server
	if cfg.SMTPURL == "" && cfg.MailFrom == "" {
		if mb, err = mailbox.Listen("127.0.0.1:0"); err != nil {
			return fmt.Errorf("demo mailbox: %w", err)
		}
		defer mb.Close()
		cfg.SMTPURL, cfg.MailFrom, cfg.DemoMail = mb.URL(), "replies@northwind.example", mb.Handler()
	}
	if _, port, err := net.SplitHostPort(cfg.Addr); err == nil && port != "0" && cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + cfg.Addr // rating links and mention emails point back here
	}
	s, err := server.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	if err := s.Listen(); err != nil {
		s.Store.Close()
		return err
	}
	fmt.Fprintf(stdout, "Parley is listening on %s\n\n", s.URL())
	fmt.Fprintf(stdout, "Demo store   %s/demo/   (a fictional shop with the chat widget)\n", s.URL())
	fmt.Fprintf(stdout, "Console      %s/console/   (log in as the agent, set yourself online, answer)\n", s.URL())
	if local := strings.Replace(s.URL(), "://127.0.0.1:", "://localhost:", 1); local != s.URL() {
		// Browsers make passkeys for host names only (docs/security.md).
		fmt.Fprintf(stdout, "             %s/console/   (the same, where passkeys work: Profile → Passkeys)\n", local)
	}
	fmt.Fprintf(stdout, "Demo brand   %s (account %s)\n", account.Name, account.ID)
	fmt.Fprintf(stdout, "Admin login  %s / %s   (Bot tab: edit and test the demo bot; Dashboard: metrics)\n", demoAdminEmail, demoPassword)
	fmt.Fprintf(stdout, "Demo bot     answers delivery, returns, sizes, payment, products and care; tracks orders; \"talk to a human\" hands off\n")
	fmt.Fprintf(stdout, "Agent login  %s / %s   (two visitors are waiting: go online and they come to you)\n", demoAgentEmail, demoPassword)
	fmt.Fprintf(stdout, "Colleagues   sam@demo.parley.test, priya@demo.parley.test (supervisor), the same password; with Alex they answered last week's conversations\n")
	if mb != nil {
		fmt.Fprintf(stdout, "Demo mailbox %s/demo/mail/   (the emails Parley sent: replies a visitor missed, rating requests, mentions, the weekly report)\n", s.URL())
	}
	fmt.Fprintf(stdout, "REST API     %s/api/v1/openapi.json\n", s.URL())
	return s.Serve(ctx)
}

// seedDemoData opens the data dir's store, creates the demo brand on first
// start (finding it afterwards), and closes the store again.
func seedDemoData(ctx context.Context, cfg server.Config) (*parley.Account, error) {
	clock := &demoClock{} // the real time, but while the last week is written
	store, err := openStoreWith(ctx, storeFlags{data: &cfg.DataDir, databaseURL: &cfg.DatabaseURL}, sqlstore.Options{Now: clock.now})
	if err != nil {
		return nil, err
	}
	defer store.Close()
	if u, err := store.FindUserByEmail(ctx, demoAdminEmail); err == nil {
		if err := seedDemoBot(ctx, store, u.AccountID); err != nil {
			return nil, err
		}
		return store.FindAccount(ctx, u.AccountID)
	} else if parley.ErrorCode(err) != parley.ENOTFOUND {
		return nil, err
	}
	a := &parley.Account{Name: "Northwind Outfitters", Settings: parley.AccountSettings{AutoAssign: true,
		Widget: parley.WidgetSettings{Color: "#1d6b4f", Label: "Chat with us", Greeting: "Hi! Ask us anything about sizes, delivery or returns.", HelpCenter: true,
			TypingPreview: true, // the agent sees what the visitor types (docs/widget.md, Typing preview)
			ShowTeam:      true, // the chat's header shows who answers (docs/widget.md, Photos)
			// An invitation after a while on the site, once a visit (docs/widget.md, Proactive engagement).
			Engagements: []parley.Engagement{{ID: "sizing-help", Name: "Sizing help", URLPattern: "/demo/*", DelaySeconds: 15,
				Text: "Between two sizes? Ask us: we answer in a minute.", Repeat: parley.RepeatVisit}}},
		Labels: []parley.Label{
			{Name: "sizing", Color: "#1f5eff", Description: "Which size to order"},
			{Name: "delivery", Color: "#f79009", Description: "Where is my order, shipping costs"},
			{Name: "returns", Color: "#7a5af8", Description: "Returns, exchanges and refunds"},
			{Name: "complaint", Color: "#f04438"},
			{Name: "vip", Color: "#12b76a", Description: "Our best customers"},
		},
		// What the agents record on each conversation (docs/routing.md, Conversation fields).
		ConversationFields: []parley.ConversationField{
			{Key: "order_number", Label: "Order number", Type: parley.FieldText},
			{Key: "topic", Label: "Topic", Type: parley.FieldList, Options: []string{"Sizing", "Delivery", "Returns", "Other"}},
			{Key: "refund", Label: "Refund issued", Type: parley.FieldCheckbox},
		},
		// A rule and a macro to show what they do (docs/routing.md).
		AutomationRules: []parley.AutomationRule{{Name: "Refunds are returns", Event: parley.RuleOnVisitorMessage,
			Conditions: []parley.RuleCondition{{Field: parley.RuleFieldMessage, Operator: parley.RuleMatches, Value: `\brefund`}},
			Actions:    []parley.RuleAction{{Type: parley.RuleAddLabel, Value: "returns"}}},
			{Name: "Upset visitors first", Event: parley.RuleOnVisitorMessage,
				Conditions: []parley.RuleCondition{{Field: parley.RuleFieldSentiment, Operator: parley.RuleEquals, Value: "negative"}},
				Actions:    []parley.RuleAction{{Type: parley.RuleAddLabel, Value: "complaint"}, {Type: parley.RuleSetPriority, Value: "5"}}},
			{Name: "Refunded means returns", Event: parley.RuleOnFieldsChanged,
				Conditions: []parley.RuleCondition{{Field: parley.RuleFieldConversation + "refund", Operator: parley.RuleEquals, Value: "true"}},
				Actions:    []parley.RuleAction{{Type: parley.RuleAddLabel, Value: "returns"}}}},
		Macros: []parley.Macro{{Name: "Return label sent", Steps: []parley.RuleAction{
			{Type: parley.RuleAddLabel, Value: "returns"},
			{Type: parley.RuleSendMessage, Value: "{{visitor_first_name|Hi}}, your return label is in your inbox: print it and drop the parcel at any post office. Anything else I can do?"},
			{Type: parley.MacroAddNote, Value: "Return label emailed."}}}},
		// Replies a visitor missed, and rating requests, by email (the
		// demo's own mailbox shows them; docs/email.md).
		EmailReplies: parley.EmailReplies{Enabled: true, DelayMinutes: &demoEmailDelay, Survey: true},
		// Last week's and yesterday's figures for Priya and Dana, at once
		// (docs/email.md, Weekly report, Daily report).
		WeeklyReport: true, DailyReport: true,
		// What the Status menu offers besides plain Away (docs/routing.md, Agent status).
		AwayReasons: []string{"Lunch", "Meeting", "Training"},
	}}
	if err := parley.ValidateRules(a.Settings.AutomationRules, a.Settings.Labels, a.Settings.ConversationFields); err != nil {
		return nil, err
	}
	if err := parley.ValidateMacros(a.Settings.Macros, a.Settings.Labels); err != nil {
		return nil, err
	}
	if err := parley.ValidateConversationFields(a.Settings.ConversationFields); err != nil {
		return nil, err
	}
	if err := store.CreateAccount(ctx, a); err != nil {
		return nil, err
	}
	general := &parley.Skill{AccountID: a.ID, Name: "general"}
	if err := store.CreateSkill(ctx, general); err != nil {
		return nil, err
	}
	hash, err := auth.HashPassword(demoPassword, auth.DefaultPasswordParams)
	if err != nil {
		return nil, err
	}
	agent := &parley.User{AccountID: a.ID, Email: demoAgentEmail, Name: "Alex Agent", Role: parley.RoleAgent, MaxConcurrent: 3}
	// Alex's colleagues, who answered last week too (the same password).
	team := []*parley.User{agent,
		{AccountID: a.ID, Email: "sam@demo.parley.test", Name: "Sam Rivera", Role: parley.RoleAgent, MaxConcurrent: 3},
		{AccountID: a.ID, Email: "priya@demo.parley.test", Name: "Priya Shah", Role: parley.RoleSupervisor, MaxConcurrent: 3}}
	for _, u := range append([]*parley.User{{AccountID: a.ID, Email: demoAdminEmail, Name: "Dana Admin", Role: parley.RoleAdmin, MaxConcurrent: 5}}, team...) {
		u.Active, u.PasswordHash, u.Skills = true, hash, []string{general.ID}
		if err := store.CreateUser(ctx, u); err != nil {
			return nil, err
		}
	}
	// The team's canned responses: /shortcut + Tab in the reply box, and
	// suggested under a conversation when the visitor's words match
	// (docs/bot.md, Suggestions for agents).
	for _, c := range [][2]string{
		{"hello", "Hi {{visitor_first_name|there}}, I'm {{agent_first_name}} from Northwind. How can I help?"},
		{"refund", "Your refund is on its way, {{visitor_first_name|there}}: it reaches your account within 5 working days after your parcel arrives."},
		{"size", "Our jackets run true to size; if you're between two sizes, take the larger one for layering."},
		{"tracking", "The tracking link is in your shipping email. Could you give me your order number so I can check where your parcel is?"},
	} {
		if err := store.CreateCannedResponse(ctx, &parley.CannedResponse{AccountID: a.ID, Shortcut: c[0], Text: c[1]}); err != nil {
			return nil, err
		}
	}
	if err := seedDemoBot(ctx, store, a.ID); err != nil {
		return nil, err
	}
	return a, seedDemoHistory(ctx, store, clock, a, team, agent)
}

// demoEmailDelay is the demo brand's wait before an unread reply is
// mailed: a minute, so the demo shows it soon.
var demoEmailDelay = 1

// seedDemoBot gives the demo brand its bot, unless it has one (an admin may
// have edited it since).
func seedDemoBot(ctx context.Context, store parley.Store, accountID string) error {
	if _, err := store.FindBot(ctx, accountID); parley.ErrorCode(err) != parley.ENOTFOUND {
		return err
	}
	_, _, err := bot.Save(ctx, store, accountID, "northwind.yaml", demo.Northwind, 0, bot.DefaultLimits)
	return err
}
