// Package httpapi is Parley's REST API v1: JSON over HTTP, every route
// behind authentication and a role check, every error in one JSON shape.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/auth"
	"github.com/parleychat/parley/internal/bot"
	"github.com/parleychat/parley/internal/conversation"
	"github.com/parleychat/parley/internal/routing"
)

// API holds what the handlers need.
type API struct {
	store   parley.Store
	auth    *auth.Authenticator
	conv    *conversation.Service
	log     *slog.Logger
	maxBody int64
	maxFile int64
	// secureCookies marks the session cookie Secure (when served over TLS).
	secureCookies bool
	// Routing knows agents' presence, for transfers; the server sets it.
	Routing *routing.Engine
	// Visitors are the pages showing the widget now, which agents may
	// invite to chat (the widget's tracker; the server sets it).
	Visitors Visitors
	// Bus wakes live event streams; Closing, when closed, ends them (the
	// server is shutting down). The server sets both.
	Bus     parley.Bus
	Closing chan struct{}
	// CheckURL vets destinations of webhooks (HTTPS, no private address).
	CheckURL func(url string) error
	// MailConfigured: the installation has a mail server, so brands may
	// turn email replies on.
	MailConfigured bool
	// MailTranscript, when set (a mail server is configured), mails a
	// visitor their conversation in a language of the widget's.
	MailTranscript func(ctx context.Context, accountID, conversationID, language string) error
	// PublicURL is the installation's public address (--public-url), which
	// rating requests by email link to; "" refuses turning them on.
	PublicURL string
	// ExternalURL is the installation's public address (--public-url)
	// whether or not mail is configured; "" means the address each request
	// came to. Single sign-on's redirect URI is made from it.
	ExternalURL string
	// MailInbound: visitors' answers by email come back into their
	// conversations (the brand's reply_to is then not used).
	MailInbound bool
	// WebhooksChanged, when set, is told that webhooks or deliveries changed.
	WebhooksChanged func()
	// AccountChanged, when set, is told that an account's settings were
	// saved (other nodes hear of it from account.updated on the bus).
	AccountChanged func(accountID string)
	// Bot compiles and caches accounts' bots, for the test box.
	Bot *bot.Runtime
	// BotLimits bound bot configurations and imports.
	BotLimits bot.Limits
	// checking admits one bot check (cross-validation: seconds of CPU for a
	// large bot) at a time in the installation; others wait their turn.
	checking chan struct{}
	// OnLogout, when set, is told the ended session's key (auth.SessionKey)
	// so its open sockets close too.
	OnLogout func(sessionKey string)
}

// Options configure an API.
type Options struct {
	MaxBodyBytes       int64 // default 1 MiB
	MaxAttachmentBytes int64 // default 10 MiB
	SecureCookies      bool
}

// New returns the API over its dependencies.
func New(store parley.Store, a *auth.Authenticator, conv *conversation.Service, log *slog.Logger, opt Options) *API {
	if opt.MaxBodyBytes <= 0 {
		opt.MaxBodyBytes = 1 << 20
	}
	if opt.MaxAttachmentBytes <= 0 {
		opt.MaxAttachmentBytes = 10 << 20
	}
	return &API{store: store, auth: a, conv: conv, log: log, maxBody: opt.MaxBodyBytes, maxFile: opt.MaxAttachmentBytes, secureCookies: opt.SecureCookies,
		BotLimits: bot.DefaultLimits, checking: make(chan struct{}, 1)}
}

// access says who may call a route.
type access struct {
	minRole  parley.Role // staff role needed; "" means no staff access
	consumer bool        // consumer tokens may call it
	public   bool        // no credentials needed
	// profile: a user who must set up two-factor authentication first may
	// call it (their own profile, logging out).
	profile bool
}

var (
	public      = access{public: true}
	anyone      = access{minRole: parley.RoleAgent, consumer: true}
	agents      = access{minRole: parley.RoleAgent}
	supervisors = access{minRole: parley.RoleSupervisor}
	admins      = access{minRole: parley.RoleAdmin}
	consumers   = access{consumer: true}
	// ownProfile and anyoneProfile are the routes a person reaches while
	// their brand waits for them to set up a second factor.
	ownProfile    = access{minRole: parley.RoleAgent, profile: true}
	anyoneProfile = access{minRole: parley.RoleAgent, consumer: true, profile: true}
)

// handlerFunc is a handler that returns an error instead of writing one.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p parley.Principal) error

// guard authenticates the request, checks the route's access rule, and
// writes any error the handler returns.
func (a *API) guard(acc access, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p parley.Principal
		if !acc.public {
			var err error
			p, err = a.auth.Request(r)
			if err != nil {
				writeError(w, r, a.log, err)
				return
			}
			allowed := (p.Kind == parley.PrincipalConsumer && acc.consumer) ||
				(p.IsStaff() && acc.minRole != "" && p.Role.AtLeast(acc.minRole))
			if !allowed {
				writeError(w, r, a.log, parley.Errorf(parley.EFORBIDDEN, "your role may not %s", r.Pattern)) // "PUT /api/v1/…"
				return
			}
			if p.MustSetUpTwoFactor && !acc.profile {
				writeError(w, r, a.log, parley.Errorf(parley.EFORBIDDEN, "your brand requires two-factor authentication: set it up in your profile first (POST /api/v1/me/two-factor)"))
				return
			}
			r = r.WithContext(parley.WithPrincipal(r.Context(), p))
			if sink, ok := r.Context().Value(principalSink{}).(*parley.Principal); ok {
				*sink = p
			}
		}
		if err := h(w, r, p); err != nil {
			writeError(w, r, a.log, err)
		}
	})
}

// setSessionCookie sets the session cookie: HttpOnly, SameSite=Strict, and
// Secure when the request came over TLS or the server is configured as
// being behind a TLS-terminating proxy.
func (a *API) setSessionCookie(w http.ResponseWriter, r *http.Request, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: auth.SessionCookie, Value: token, Path: "/", Expires: expires,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: a.secureCookies || r.TLS != nil,
	})
}
