// Package server wires Parley's parts into one running node: it opens the
// store and bus, builds the services, serves REST, WebSocket, health and
// metrics on one listener, and shuts all of it down in order.
package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/analytics"
	"github.com/parleychat/parley/internal/auth"
	"github.com/parleychat/parley/internal/automation"
	"github.com/parleychat/parley/internal/bot"
	"github.com/parleychat/parley/internal/conversation"
	"github.com/parleychat/parley/internal/email"
	"github.com/parleychat/parley/internal/httpapi"
	"github.com/parleychat/parley/internal/localbus"
	"github.com/parleychat/parley/internal/masking"
	"github.com/parleychat/parley/internal/metrics"
	"github.com/parleychat/parley/internal/natsbus"
	"github.com/parleychat/parley/internal/outbound"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/retention"
	"github.com/parleychat/parley/internal/routing"
	"github.com/parleychat/parley/internal/scim"
	"github.com/parleychat/parley/internal/sqlstore"
	"github.com/parleychat/parley/internal/webhook"
	"github.com/parleychat/parley/internal/widget"
)

// Config is everything a node needs; cmd/parley fills it from flags and
// PARLEY_* environment variables.
type Config struct {
	Addr      string // listen address (default 127.0.0.1:8080)
	DebugAddr string // serves Go's pprof profiles when set (loopback only)
	DataDir   string // SQLite file and secrets (default ./parley-data)
	// DatabaseURL (postgres://…), when set, keeps everything in that
	// PostgreSQL database instead of DataDir's SQLite file: the cluster
	// shape's store (docs/cluster.md).
	DatabaseURL string
	// NATSURL (nats://…), when set, carries events between the nodes of a
	// cluster; every node of one installation uses the same NATSPrefix
	// (default "parley") and the same Secret.
	NATSURL            string
	NATSPrefix         string
	Secret             string // signs consumer tokens; default: generated into DataDir
	MaxMessageChars    int
	MaxBodyBytes       int64
	MaxAttachmentBytes int64
	MaxFrameBytes      int64
	AllowedOrigins     []string
	QueueSize          int // outgoing frames buffered per WebSocket connection
	SecureCookies      bool
	ShutdownTimeout    time.Duration
	Widget             widget.Config
	Routing            routing.Config
	QueueNoticeTick    time.Duration // how often waiting visitors are checked for the queue notice (default 5 s)
	RetentionTick      time.Duration // how often retention runs (default 1 h)
	RollupTick         time.Duration // how often the metrics rollup reads new events (default 10 s)
	AutoCloseTick      time.Duration // how often idle conversations are looked for (default 1 min)
	StatusTick         time.Duration // how often people who left without a word are set offline (default 15 s)
	// ReplyTime says how soon an account typically answers, for the
	// widget's header; nil computes it from the metrics
	// (analytics.ReplyTimes). Tests set it to fix the figure.
	ReplyTime func(accountID string) (time.Duration, bool)
	// RateLimits guard the public endpoints; nil takes DefaultRateLimits.
	RateLimits *RateLimits
	// DemoAccountID, when set, serves the demo store at /demo/ with that
	// account's widget.
	DemoAccountID string
	Password      auth.PasswordParams // zero: auth.DefaultPasswordParams
	// AllowPrivateOutbound lets the external bot, flow webhooks and event
	// webhooks call private, loopback and link-local addresses and plain
	// HTTP (development and tests only).
	AllowPrivateOutbound bool
	// Webhooks tune deliveries (retry schedule, concurrency); zero: defaults.
	Webhooks webhook.Options
	// BotLimits bound bot configurations; zero fields take bot.DefaultLimits.
	BotLimits bot.Limits
	// TrustedProxies are the reverse proxies (load balancers) whose
	// X-Forwarded-For names the client; empty: the TCP peer is the client.
	TrustedProxies []netip.Prefix
	// TLSCert and TLSKey (PEM files), both set, serve HTTPS and WSS on Addr
	// without a proxy in front; session cookies are then Secure.
	TLSCert, TLSKey string
	// SMTPURL names the mail server agents' unread replies go out through
	// (internal/email), from MailFrom; empty: brands cannot turn email
	// replies on.
	SMTPURL, MailFrom string
	EmailTick         time.Duration // how often replies to mail are looked for (default 15 s)
	// DemoMail, when set with DemoAccountID, serves the demo's mailbox at
	// /demo/mail/ (the emails the demo sent; internal/email/mailbox).
	DemoMail http.Handler
	// PublicURL is the address people reach this installation at
	// (https://chat.example.com): emails link to the console with it.
	PublicURL string
	// MentionEmailDelay is how long a mention waits to be seen in the
	// console before it is mailed (default 5 min; below 0: at once).
	MentionEmailDelay time.Duration
	// InboundSMTPAddr, when set, takes visitors' answers to those emails
	// by SMTP for InboundDomain's reply addresses (the domain's MX points
	// here, or a relay forwards to it).
	InboundSMTPAddr, InboundDomain string
	// InboundWebhookToken, when set, takes them from a mail service's
	// inbound webhook too (POST /inbound/email, HTTP Basic with this
	// password; docs/email.md), for InboundDomain's reply addresses.
	InboundWebhookToken string
	// InboundSenderCheck is what becomes of an answer by email that no
	// DKIM signature of its sender's domain vouches for: "note" (the
	// default: taken, and the agent warned in a private note), "require"
	// (refused) or "off" (docs/email.md, "Checking the sender").
	InboundSenderCheck string
	// SenderDNS looks up the senders' DKIM keys and SPF records; nil:
	// the system's DNS.
	SenderDNS email.Resolver
	// InboundMaxConns and InboundMaxConnsPerAddress bound the inbound SMTP
	// connections open at once, in all and from one address (an IPv6
	// /64); 0: 1,000 and 20 (docs/email.md).
	InboundMaxConns, InboundMaxConnsPerAddress int
}

// Server is a running node.
type Server struct {
	cfg   Config
	log   *slog.Logger
	Store *sqlstore.DB
	Bus   parley.Bus
	bus   interface {
		Ping(context.Context) error
		Close() error
	} // the Bus, to check and close
	Auth      *auth.Authenticator
	Conv      *conversation.Service
	Metrics   *metrics.Metrics
	API       *httpapi.API
	gateway   *realtime.Gateway
	Routing   *routing.Engine
	announcer *conversation.Announcer
	// rollupTail keeps the events the bus delivers for the metrics rollup,
	// which then need not read them back from the store.
	rollupTail *analytics.Tail
	// automation runs the brands' triage rules (internal/automation).
	automation *automation.Runner
	overdue    *conversation.OverdueWatch
	Bot        *bot.Runtime
	Webhooks   *webhook.Service
	// Email mails agents' unread replies (nil: no mail server).
	Email    *email.Service
	inbound  net.Listener // Email.Inbound's, when it takes answers
	Widget   *widget.Handler
	http     *http.Server
	listener net.Listener
	debug    net.Listener // DebugAddr's, if set
	ready    chan struct{}
	// In a cluster: the NATS bus, and the budgets other nodes spend from.
	nats     *natsbus.Bus
	limiters map[string]*limiter
}

// Open prepares a node: data dir, store (migrations applied), services.
// It does not listen yet.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8080"
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, fmt.Errorf("tls-cert and tls-key go together: set both to serve HTTPS, or neither")
	}
	if cfg.TLSCert != "" {
		cfg.SecureCookies = true
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "parley-data"
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 15 * time.Second
	}
	if cfg.QueueNoticeTick <= 0 {
		cfg.QueueNoticeTick = 5 * time.Second
	}
	if cfg.RetentionTick <= 0 {
		cfg.RetentionTick = time.Hour
	}
	if cfg.RollupTick <= 0 {
		cfg.RollupTick = 10 * time.Second
	}
	if cfg.AutoCloseTick <= 0 {
		cfg.AutoCloseTick = time.Minute
	}
	if cfg.StatusTick <= 0 {
		cfg.StatusTick = 15 * time.Second
	}
	if cfg.EmailTick <= 0 {
		cfg.EmailTick = 15 * time.Second
	}
	var mailer *email.SMTP
	if cfg.SMTPURL != "" || cfg.MailFrom != "" {
		if cfg.SMTPURL == "" || cfg.MailFrom == "" {
			return nil, fmt.Errorf("smtp-url and mail-from go together: set both for email replies, or neither")
		}
		if a, err := mail.ParseAddress(cfg.MailFrom); err != nil || a.Name != "" {
			return nil, fmt.Errorf("mail-from must be a bare email address, like replies@example.com (each brand's name goes beside it)")
		}
		var err error
		if mailer, err = email.ParseSMTP(cfg.SMTPURL); err != nil {
			return nil, err
		}
	}
	if cfg.PublicURL != "" {
		if u, err := url.Parse(cfg.PublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("public-url must be an http or https address, like https://chat.example.com")
		}
	}
	takesMail := cfg.InboundSMTPAddr != "" || cfg.InboundWebhookToken != ""
	if takesMail != (cfg.InboundDomain != "") || (takesMail && mailer == nil) {
		return nil, fmt.Errorf("inbound-domain goes with inbound-smtp-addr or inbound-webhook-token (or both), and with smtp-url and mail-from: answers come back to emails Parley sent")
	}
	senderCheck, err := email.ParseSenderCheck(cfg.InboundSenderCheck)
	if err != nil {
		return nil, err
	}
	if cfg.InboundMaxConns < 0 || cfg.InboundMaxConnsPerAddress < 0 {
		return nil, fmt.Errorf("inbound-smtp-max-conns and inbound-smtp-max-conns-per-address must be positive (0: the defaults, 1000 and 20)")
	}
	if t := cfg.InboundWebhookToken; t != "" && len(t) < 16 {
		return nil, fmt.Errorf("inbound-webhook-token must have at least 16 characters: it is the mail service's password")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if cfg.NATSURL != "" && cfg.DatabaseURL == "" {
		return nil, errors.New("the nodes of a cluster (nats-url set) share one PostgreSQL database: set --database-url (PARLEY_DATABASE_URL) too")
	}
	if cfg.NATSURL != "" && cfg.Secret == "" {
		return nil, errors.New("the nodes of a cluster (nats-url set) need one secret: set --secret (PARLEY_SECRET), the same on every node")
	}
	secret, err := loadSecret(cfg)
	if err != nil {
		return nil, err
	}
	var bus interface {
		parley.Bus
		// SubscribeLocal: this node's events only (natsbus), for work
		// one node does once per change.
		SubscribeLocal(func(*parley.Event)) func()
		Ping(context.Context) error
		Close() error
	}
	if cfg.NATSURL != "" {
		if bus, err = natsbus.Open(cfg.NATSURL, natsbus.Options{Prefix: cfg.NATSPrefix, Log: log}); err != nil {
			return nil, err
		}
	} else {
		bus = localbus.New()
	}
	m := metrics.New()
	storeOpt := sqlstore.Options{Bus: bus, OnCommit: func(writes int, commit, batch time.Duration) {
		m.StoreCommit.Observe(commit.Seconds())
		m.StoreBatch.Observe(float64(writes))
		m.StoreBatchTime.Observe(batch.Seconds())
	}}
	var store *sqlstore.DB
	if cfg.DatabaseURL != "" {
		store, err = sqlstore.OpenPostgres(ctx, cfg.DatabaseURL, storeOpt)
	} else {
		store, err = sqlstore.Open(ctx, filepath.Join(cfg.DataDir, "parley.db"), storeOpt)
	}
	if err != nil {
		bus.Close()
		return nil, err
	}
	a, err := auth.New(store, secret)
	if err != nil {
		store.Close()
		bus.Close()
		return nil, err
	}
	if cfg.Password.Memory != 0 {
		a.Password = cfg.Password
	}
	conv := conversation.New(store, bus, parley.MessageLimits{MaxChars: cfg.MaxMessageChars})
	s := &Server{cfg: cfg, log: log, Store: store, Bus: bus, bus: bus, Auth: a, Conv: conv, Metrics: m, ready: make(chan struct{})}
	s.gateway = realtime.New(realtime.Config{AllowedOrigins: cfg.AllowedOrigins, MaxFrameBytes: cfg.MaxFrameBytes, QueueSize: cfg.QueueSize}, store, bus, conv, a, log, m)
	api := httpapi.New(store, a, conv, log, httpapi.Options{MaxBodyBytes: cfg.MaxBodyBytes, MaxAttachmentBytes: cfg.MaxAttachmentBytes, SecureCookies: cfg.SecureCookies})
	s.API = api
	s.Routing = routing.New(store, log, cfg.Routing)
	bus.Subscribe(s.Routing.OnEvent)
	s.announcer = conversation.NewAnnouncer(store, log)
	s.overdue = conversation.NewOverdueWatch(store)
	bus.Subscribe(s.announcer.OnEvent)
	s.automation = automation.New(store, log)
	online := func(accountID, userID string) bool { return s.Routing.Presence(accountID, userID) == routing.Online }
	s.automation.Available = online
	bus.SubscribeLocal(s.automation.OnEvent) // the node that stored an event runs the rules for it
	bus.Subscribe(s.automation.Forget)       // rules saved on any node
	out := outbound.New(outbound.Options{AllowPrivate: cfg.AllowPrivateOutbound})
	// Identity providers get longer than webhooks: a person waits on the
	// sign-in, but a slow provider must not fail it.
	a.SSO = &auth.SSOClient{HTTP: outbound.New(outbound.Options{AllowPrivate: cfg.AllowPrivateOutbound, Timeout: 15 * time.Second, MaxResponse: 1 << 20}).HTTP(),
		AllowHTTPIssuer: cfg.AllowPrivateOutbound}
	api.ExternalURL = strings.TrimRight(cfg.PublicURL, "/")
	s.Bot = bot.NewRuntime(store, log, out.PostJSON)
	s.Bot.Answered = func(band string, d time.Duration) { m.BotTurns.WithLabelValues(band).Observe(d.Seconds()) }
	bus.SubscribeLocal(s.Bot.OnEvent) // the node that stored a visitor's message answers it
	conv.StartWithBot = s.Bot.Enabled
	limits := DefaultRateLimits
	if cfg.RateLimits != nil {
		limits = *cfg.RateLimits
	}
	conv.Throttle = throttle(limits.VisitorMessages)
	masker := masking.New(store)
	conv.Mask = masker.Mask
	conv.Preview = masker.Preview
	bus.Subscribe(masker.OnEvent) // settings saved on any node
	api.AccountChanged = masker.Forget
	api.Bot = s.Bot
	api.Bus = bus
	api.Closing = make(chan struct{})
	if cfg.BotLimits.MaxBytes > 0 {
		api.BotLimits = cfg.BotLimits
	}
	api.BotLimits.CheckURL = out.CheckURL
	api.CheckURL = out.CheckURL
	s.Webhooks = webhook.New(store, out, log, cfg.Webhooks)
	bus.Subscribe(s.Webhooks.OnEvent)
	s.rollupTail = analytics.NewTail(0, max(time.Minute, 3*cfg.RollupTick))
	bus.Subscribe(s.rollupTail.OnEvent) // every node's events: the leader rolls them up
	api.WebhooksChanged = s.Webhooks.Changed
	if mailer != nil {
		s.Email = email.New(store, mailer, cfg.MailFrom, log)
		s.Email.Outcome = func(state string) { m.Emails.WithLabelValues(state).Inc() }
		s.Email.Online = func(accountID, userID string) bool { return s.Routing.Presence(accountID, userID) != routing.Offline }
		if cfg.PublicURL != "" {
			s.Email.ConsoleURL = strings.TrimRight(cfg.PublicURL, "/") + "/console/"
			s.Email.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
			api.PublicURL = s.Email.PublicURL
		}
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte("parley: rating links by email"))
		s.Email.SurveyKey = mac.Sum(nil)
		s.Email.Rate = func(ctx context.Context, accountID, consumerID, conversationID string, score int, comment string) error {
			return conv.Rate(ctx, parley.Principal{AccountID: accountID, Kind: parley.PrincipalConsumer, ID: consumerID}, conversationID, score, comment)
		}
		if cfg.MentionEmailDelay != 0 {
			s.Email.MentionDelay = cfg.MentionEmailDelay
		}
		api.MailConfigured = true
		api.MailTranscript = s.Email.Transcript
		if cfg.InboundDomain != "" {
			s.Email.Inbound = email.NewInbound(store, cfg.InboundDomain, s.postEmailAnswer, log)
			if cfg.MaxAttachmentBytes > 0 {
				s.Email.Inbound.MaxFileBytes = cfg.MaxAttachmentBytes
			}
			s.Email.Inbound.Check, s.Email.Inbound.Resolver = senderCheck, cfg.SenderDNS
			s.Email.Inbound.MaxConns, s.Email.Inbound.MaxConnsPerAddress = cfg.InboundMaxConns, cfg.InboundMaxConnsPerAddress
			s.Email.Inbound.Outcome = func(outcome string) { m.InboundEmails.WithLabelValues(outcome).Inc() }
			s.Email.Inbound.ConnRefused = m.InboundRefused.Inc
			api.MailInbound = true
		}
	}
	s.gateway.Staff = routing.Tracker{Engine: s.Routing}
	cfg.Widget.MaxMessageChars = conv.Limits().MaxChars
	cfg.Widget.MaxAttachmentBytes = cfg.MaxAttachmentBytes
	cfg.Widget.MailConfigured = s.Email != nil
	if cfg.Widget.MaxAttachmentBytes <= 0 {
		cfg.Widget.MaxAttachmentBytes = 10 << 20
	}
	if s.Widget, err = widget.New(store, log, m, cfg.Widget); err != nil {
		store.Close()
		bus.Close()
		return nil, err
	}
	s.Widget.AgentsOnline = s.Routing.AnyoneOnline
	s.Widget.SkillStaffed = s.Routing.Staffed
	s.Widget.BotOn = func(accountID string) bool { return s.Bot.Enabled(context.Background(), accountID) }
	s.Widget.Help = s.Bot.Brain
	s.Widget.Visitor = a.Consumer
	s.Widget.ReplyTime = cfg.ReplyTime
	if s.Widget.ReplyTime == nil {
		s.Widget.ReplyTime = analytics.NewReplyTimes(store, nil).Typical
	}
	conv.TakeInvitation = s.Widget.TakeInvitation
	conv.AgentOnline, s.Widget.AgentOnline = online, online
	api.Visitors = s.Widget
	api.Routing = s.Routing
	api.OnLogout = s.gateway.EndSession
	s.nats, _ = bus.(*natsbus.Bus)
	s.http = &http.Server{Handler: s.routes(api), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	if s.nats != nil {
		if err := s.joinCluster(); err != nil {
			store.Close()
			bus.Close()
			return nil, err
		}
	}
	return s, nil
}

func (s *Server) routes(api *httpapi.API) http.Handler {
	mux := http.NewServeMux()
	api.Register(mux)
	mux.Handle("GET /api/v1/ws", s.gateway)
	// Provisioning by the brands' identity providers (docs/security.md).
	mux.Handle(scim.Prefix, &scim.Handler{Store: s.Store, Auth: s.Auth, Log: s.log, BaseURL: s.cfg.PublicURL,
		SessionsEnded: func(hashes [][]byte) {
			for _, h := range hashes {
				s.API.OnLogout(base64.RawURLEncoding.EncodeToString(h)) // every node's sockets, in a cluster
			}
		}})
	s.Widget.Register(mux)
	mux.HandleFunc("GET /demo/", s.serveDemo)
	if s.cfg.DemoMail != nil {
		mux.Handle("GET /demo/mail/", s.cfg.DemoMail)
	}
	if s.Email != nil {
		// The rating page that rating requests by email link to.
		mux.HandleFunc("GET /csat/rate", s.Email.ServeRate)
		mux.HandleFunc("POST /csat/rate", s.Email.ServeRate)
	}
	mux.HandleFunc("GET /console/", s.serveConsole)
	// The server's own address opens the console, as the inbox of a hosted
	// product opens at its root; the widget and the API have paths of their own.
	mux.Handle("GET /{$}", http.RedirectHandler("/console/", http.StatusFound))
	if s.Email != nil && s.Email.Inbound != nil && s.cfg.InboundWebhookToken != "" {
		mux.Handle("POST /inbound/email", s.Email.Inbound.WebhookHandler(s.cfg.InboundWebhookToken))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.Store.Ping(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, `{"status":"unavailable","store":%q}`+"\n", err.Error())
			return
		}
		if err := s.bus.Ping(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, `{"status":"unavailable","store":"ok","bus":%q}`+"\n", err.Error())
			return
		}
		w.Write([]byte(`{"status":"ready","store":"ok","bus":"ok"}` + "\n"))
	})
	mux.Handle("GET /metrics", s.Metrics.Handler())
	limits := DefaultRateLimits
	if s.cfg.RateLimits != nil {
		limits = *s.cfg.RateLimits
	}
	// In a cluster the budgets are the cluster's: each node tells the
	// others of every request it lets through, and they spend the same
	// token.
	s.limiters = map[string]*limiter{"login": newLimiter(limits.Login), "consumer-tokens": newLimiter(limits.ConsumerTokens),
		"beacons": newLimiter(limits.Beacons)}
	spent := func(name string) func(string) {
		if s.nats == nil {
			return nil
		}
		return func(addr string) {
			if err := s.nats.Announce("ratelimit", []byte(name+"\n"+addr)); err != nil {
				s.log.Warn("telling the other nodes of a rate-limited request", "err", err)
			}
		}
	}
	guarded := http.NewServeMux()
	guarded.Handle("POST /api/v1/auth/login", limited(s.limiters["login"], mux, spent("login")))
	// Starting a single sign-on may read a provider's discovery document:
	// the login's budget bounds how often an address can make it do so.
	guarded.Handle("POST /api/v1/auth/sso/start", limited(s.limiters["login"], mux, spent("login")))
	guarded.Handle("GET /api/v1/auth/sso/start", limited(s.limiters["login"], mux, spent("login")))
	// What checks a password or a one-time code again spends the same
	// budget: a stolen session must not be a way to guess them faster.
	for _, route := range []string{"PUT /api/v1/me/password", "POST /api/v1/me/two-factor", "POST /api/v1/me/two-factor/confirm",
		"POST /api/v1/me/two-factor/disable", "POST /api/v1/me/two-factor/recovery-codes"} {
		guarded.Handle(route, limited(s.limiters["login"], mux, spent("login")))
	}
	guarded.Handle("POST /api/v1/consumer-tokens", limited(s.limiters["consumer-tokens"], mux, spent("consumer-tokens")))
	guarded.Handle("POST /widget/beacon", limited(s.limiters["beacons"], mux, spent("beacons")))
	guarded.Handle("/", mux)
	return s.observe(securityHeaders(clientAddress(s.cfg.TrustedProxies, guarded)))
}

// observe counts requests per route pattern and status.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/ws" {
			next.ServeHTTP(w, r) // hijacked; counted by the gateway
			return
		}
		start := time.Now()
		rec := &httpapi.StatusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		s.Metrics.HTTPRequests.WithLabelValues(route, fmt.Sprint(rec.Code())).Inc()
		s.Metrics.HTTPLatency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		if strings.HasPrefix(r.URL.Path, "/api/") {
			h.Set("X-Frame-Options", "DENY")
		}
		next.ServeHTTP(w, r)
	})
}

// Listen binds the address; with port 0 the kernel picks one (see Addr).
func (s *Server) Listen() error {
	if s.cfg.DebugAddr != "" {
		d, err := listenDebug(s.cfg.DebugAddr)
		if err != nil {
			return err
		}
		s.debug = d
	}
	var tlsConfig *tls.Config
	if s.cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
		if err != nil {
			if s.debug != nil {
				s.debug.Close()
			}
			return fmt.Errorf("tls certificate: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	l, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		if s.debug != nil {
			s.debug.Close()
		}
		return fmt.Errorf("listen %s: %w", s.cfg.Addr, err)
	}
	if tlsConfig != nil {
		// A TLS connection has no socket of its own to park on epoll: an
		// idle WebSocket keeps its reader goroutine (docs/decisions.md).
		l = tls.NewListener(l, tlsConfig)
	}
	s.listener = l
	if s.Email != nil && s.Email.Inbound != nil && s.cfg.InboundSMTPAddr != "" {
		il, err := net.Listen("tcp", s.cfg.InboundSMTPAddr)
		if err != nil {
			l.Close()
			if s.debug != nil {
				s.debug.Close()
			}
			return fmt.Errorf("listen %s (inbound SMTP): %w", s.cfg.InboundSMTPAddr, err)
		}
		if tlsConfig != nil {
			s.Email.Inbound.UseTLS(tlsConfig) // offered with STARTTLS, as mail servers expect
		}
		s.inbound = il
	}
	return nil
}

// InboundAddr is the bound address of the inbound SMTP server, after
// Listen ("" without one).
func (s *Server) InboundAddr() string {
	if s.inbound == nil {
		return ""
	}
	return s.inbound.Addr().String()
}

// Addr is the bound address, after Listen.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// URL is the base URL of the bound address.
func (s *Server) URL() string {
	if s.cfg.TLSCert != "" {
		return "https://" + s.Addr()
	}
	return "http://" + s.Addr()
}

// Serve serves until ctx ends, then shuts down gracefully: no new
// connections, in-flight requests and frames finished, queued writes
// committed, store closed.
func (s *Server) Serve(ctx context.Context) error {
	if s.listener == nil {
		if err := s.Listen(); err != nil {
			s.Store.Close()
			s.bus.Close()
			return err
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.listener) }()
	if s.inbound != nil {
		go func() {
			if err := s.Email.Inbound.Serve(s.inbound); err != nil {
				s.log.Error("inbound SMTP stopped", "err", err)
			}
		}()
	}
	if s.debug != nil {
		go serveDebug(s.debug)
		defer s.debug.Close()
	}
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	defer stopSweep()
	// Background workers stop before the store closes (see below).
	var workers sync.WaitGroup
	for _, run := range []func(context.Context){s.Widget.Run, s.Routing.Run, s.announcer.Run, s.automation.Run, s.Bot.Run, s.Webhooks.Run} {
		workers.Go(func() { run(sweepCtx) })
	}
	for _, sw := range s.sweeps() {
		workers.Go(func() { s.runSweep(sweepCtx, sw) })
	}
	close(s.ready)
	auth.Prepare()
	store, bus := "sqlite", "in-process"
	if s.cfg.DatabaseURL != "" {
		store = "postgres"
	}
	if s.cfg.NATSURL != "" {
		bus = "nats"
	}
	s.log.Info("parley listening", "addr", s.Addr(), "data", s.cfg.DataDir, "store", store, "bus", bus, "version", parley.Version)
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	stopSweep()
	workers.Wait()
	return errors.Join(serveErr, s.shutdown())
}

func (s *Server) shutdown() error {
	s.log.Info("parley shutting down")
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	close(s.API.Closing) // live event streams end; their clients reconnect elsewhere
	httpErr := s.http.Shutdown(ctx)
	wsErr := s.gateway.Shutdown(ctx)
	var mailErr error
	if s.inbound != nil {
		mailErr = s.Email.Inbound.Shutdown(ctx) // answers being taken in finish first
	}
	storeErr := s.Store.Close()
	busErr := s.bus.Close()
	if errors.Is(httpErr, http.ErrServerClosed) {
		httpErr = nil
	}
	return errors.Join(httpErr, wsErr, mailErr, storeErr, busErr)
}

// DropConnections closes the WebSocket connections of one kind of
// principal, as a network outage would; clients reconnect and resync.
// Tests use it.
func (s *Server) DropConnections(kind parley.PrincipalKind) { s.gateway.Drop(kind) }

// SetDemoAccount serves the demo store at /demo/ with the account's widget.
func (s *Server) SetDemoAccount(accountID string) { s.cfg.DemoAccountID = accountID }

// Ready is closed once the server accepts requests.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// loadSecret returns the configured secret, or the one kept in the data
// dir, creating it on first start.
func loadSecret(cfg Config) ([]byte, error) {
	if cfg.Secret != "" {
		if len(cfg.Secret) < 32 {
			return nil, errors.New("secret must be at least 32 characters")
		}
		return []byte(cfg.Secret), nil
	}
	path := filepath.Join(cfg.DataDir, "secret.key")
	b, err := os.ReadFile(path)
	if err == nil && len(b) >= 32 {
		return b, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	b = []byte(hex.EncodeToString(raw))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("write secret: %w", err)
	}
	return b, nil
}

// sweep is background work done now and then by the node that leads the
// cluster (the only node, embedded).
type sweep struct {
	name  string
	every time.Duration
	run   func(ctx context.Context, now time.Time) error
}

func (s *Server) sweeps() []sweep {
	sweeps := []sweep{
		// Visitors who wait long in the queue hear they are still in line.
		{"queue notices", s.cfg.QueueNoticeTick, s.announcer.NoticeWaiting},
		// Conversations left waiting on a visitor who went away close.
		{"auto-close", s.cfg.AutoCloseTick, func(ctx context.Context, now time.Time) error {
			n, err := conversation.CloseIdle(ctx, s.Store, now)
			if n > 0 {
				s.log.Info("auto-close closed idle conversations", "conversations", n)
			}
			return err
		}},
		// Old conversations lose their content (accounts' retention).
		{"retention", s.cfg.RetentionTick, func(ctx context.Context, now time.Time) error {
			n, err := retention.Sweep(ctx, s.Store, now)
			if n > 0 {
				s.log.Info("retention erased old conversations", "conversations", n)
			}
			return err
		}},
		// Visitors who waited a skill's overflow time move to the queue
		// it overflows to.
		{"queue overflow", s.cfg.QueueNoticeTick, func(ctx context.Context, now time.Time) error {
			n, err := routing.Overflow(ctx, s.Store, now, s.Routing.Staffed)
			if n > 0 {
				s.log.Info("queue overflow moved waiting conversations", "conversations", n)
			}
			return err
		}},
		// Visitors waiting on a reply past the brand's target are reported.
		{"overdue replies", s.cfg.StatusTick, s.overdue.Sweep},
		// People whose consoles are gone are offline in their status.
		{"agent status", s.cfg.StatusTick, s.Routing.SweepStatuses},
		// Dashboards read a row per conversation (internal/analytics/rollup.go).
		{"metrics rollup", s.cfg.RollupTick, func(ctx context.Context, _ time.Time) error {
			return analytics.RollUpAll(ctx, s.Store, s.rollupTail)
		}},
	}
	if s.Email != nil {
		// Agents' replies the visitor has not read go out by email.
		sweeps = append(sweeps, sweep{"email replies", s.cfg.EmailTick, s.Email.Sweep})
	}
	return sweeps
}

// runSweep does sw at start and then every sw.every, while this node
// leads, until ctx ends.
func (s *Server) runSweep(ctx context.Context, sw sweep) {
	tick := time.NewTicker(sw.every)
	defer tick.Stop()
	now := time.Now()
	for {
		if s.Routing.Leads() {
			if err := sw.run(ctx, now); err != nil && ctx.Err() == nil {
				s.log.Warn(sw.name, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case now = <-tick.C:
		}
	}
}

// postEmailAnswer stores a visitor's answer by email as their message,
// then the files it carried. When the conversation has closed, they go to
// the visitor's newest open one — a chat they started since, or one opened
// for it that waits for a person: the bot's answers would never reach them
// by email. The client IDs make an email the mail server hands over twice
// count once, in whichever conversation took it. Files left out (too
// large, too many, a type the widget would refuse too) are named in a
// private note there, once, so that the agent can ask for them another way.
func (s *Server) postEmailAnswer(ctx context.Context, a email.Answer) error {
	p := parley.Principal{AccountID: a.AccountID, Kind: parley.PrincipalConsumer, ID: a.ConsumerID}
	post := func(id string) error {
		if a.Text != "" {
			if _, _, err := s.Conv.Send(ctx, p, conversation.SendInput{ConversationID: id, ClientID: a.ClientID, Type: parley.MessageText, Text: a.Text}); err != nil {
				return err
			}
		}
		leftOut := slices.Clone(a.LeftOut) // post may run twice (a closed conversation)
		for i, f := range a.Files {
			_, _, err := s.Conv.Attach(ctx, p, conversation.AttachInput{ConversationID: id, ClientID: fmt.Sprintf("%s-file-%d", a.ClientID, i), Name: f.Name, Content: f.Content})
			if parley.ErrorCode(err) == parley.EINVALID {
				// A type the widget would refuse too (a .docx): the text
				// and the other files still count.
				leftOut = append(leftOut, f.Name+" (a type the chat does not take)")
				continue
			}
			if err != nil {
				return err
			}
		}
		if err := s.noteUnverifiedSender(ctx, a.AccountID, id, a.Unverified); err != nil {
			return err
		}
		return s.noteFilesLeftOut(ctx, a.AccountID, id, leftOut)
	}
	err := post(a.ConversationID)
	if parley.ErrorCode(err) != parley.ECONFLICT {
		return err
	}
	open, err := s.Store.ListConversations(ctx, a.AccountID, parley.ConversationFilter{ConsumerID: a.ConsumerID, Limit: 20})
	if err != nil {
		return err
	}
	for _, c := range open {
		if c.State != parley.StateClosed {
			return post(c.ID)
		}
	}
	c, err := s.Store.OpenConversation(ctx, a.AccountID, parley.ConversationOpen{ConsumerID: a.ConsumerID, Channel: parley.ChannelEmail, State: parley.StateQueued})
	if err != nil {
		return err
	}
	return post(c.ID)
}

// emailNoteAuthor is the author of the notes about visitors' emails.
const emailNoteAuthor = "email"

// noteFilesLeftOut tells the brand's people, in a private note on the
// conversation, which files of a visitor's email are not in it and why;
// nothing when none were left out, or when the same note is there
// already (the mail server handed the email over again).
func (s *Server) noteFilesLeftOut(ctx context.Context, accountID, conversationID string, leftOut []string) error {
	if len(leftOut) == 0 {
		return nil
	}
	s.log.Info("email replies: files left out", "conversation", conversationID, "files", len(leftOut))
	const named = 10 // an email may carry hundreds
	var list []string
	for _, f := range leftOut[:min(named, len(leftOut))] {
		if r := []rune(f); len(r) > 200 {
			f = string(r[:199]) + "…"
		}
		list = append(list, f)
	}
	if len(leftOut) > named {
		list = append(list, fmt.Sprintf("and %d more", len(leftOut)-named))
	}
	text := "The visitor's email came with files that are not in the conversation: " + strings.Join(list, "; ") +
		". Ask for them another way if they are needed."
	return s.addEmailNote(ctx, accountID, conversationID, text)
}

// noteUnverifiedSender warns the brand's people, in a private note on the
// conversation, that a visitor's email could not be checked as theirs
// (why, from email.Answer.Unverified); nothing when it was, or when the
// same note is there already.
func (s *Server) noteUnverifiedSender(ctx context.Context, accountID, conversationID, why string) error {
	if why == "" {
		return nil
	}
	s.log.Info("email replies: sender not verified", "conversation", conversationID, "why", why)
	text := "This email could not be checked as the visitor's own: " + why + ". Anyone who knows this conversation's " +
		"reply address and the visitor's email address can write in their name; confirm before acting on a request " +
		"to change their details, address or payment."
	return s.addEmailNote(ctx, accountID, conversationID, text)
}

// addEmailNote adds a private note by "Email" unless the same one is on
// the conversation already (the mail server handed the email over again).
func (s *Server) addEmailNote(ctx context.Context, accountID, conversationID, text string) error {
	notes, err := s.Store.ListNotes(ctx, accountID, conversationID)
	if err != nil {
		return err
	}
	for _, n := range notes {
		if n.AuthorID == emailNoteAuthor && n.Text == text {
			return nil
		}
	}
	_, err = s.Store.AddNote(ctx, &parley.Note{AccountID: accountID, ConversationID: conversationID, AuthorID: emailNoteAuthor, AuthorName: "Email", Text: text})
	return err
}
