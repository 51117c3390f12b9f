// Package widget serves the chat widget — the loader brands paste into
// their sites, the chat frame on Parley's origin, their public settings —
// and takes the page-view beacons from which it detects tampering that the
// page itself could hide (docs/widget.md).
package widget

import (
	"bytes"
	"context"
	"encoding/json"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/bot"
	"github.com/parleychat/parley/internal/metrics"
)

// Config tunes tamper detection. Zero fields take the defaults.
type Config struct {
	// VisibleTimeout is how long a loaded page may go without a visible
	// launcher, while the page is still there, before it is suspected.
	VisibleTimeout time.Duration // default 15 s
	// HeartbeatTimeout is how long the frame may be silent while the page
	// is still there before it is suspected.
	HeartbeatTimeout time.Duration // default 35 s
	// AliveWindow: a page counts as still there if its loader pinged this
	// recently (the loader pings every 10 s).
	AliveWindow time.Duration // default 25 s
	// Heartbeat is how often the chat frame pings, its answer bringing
	// an agent's invitation or taking a withdrawn one away, and how often
	// a queued visitor's frame asks its place in line (default 10 s; the
	// browser tests shorten it).
	Heartbeat time.Duration
	// InvitationFor is how long an agent's invitation waits for the
	// visitor's answer before it lapses (default 3 minutes).
	InvitationFor time.Duration
	SweepInterval time.Duration // default 1 s
	MaxPageViews  int           // page views tracked at once (default 100,000)
	// MaxMessageChars is the message limit the composer enforces before
	// sending (the server enforces it too).
	MaxMessageChars int
	// MaxAttachmentBytes is the file size the composer enforces before uploading.
	MaxAttachmentBytes int64
	// MailConfigured: the installation sends email (transcripts on request).
	MailConfigured bool
}

func (c *Config) defaults() {
	if c.VisibleTimeout <= 0 {
		c.VisibleTimeout = 15 * time.Second
	}
	if c.HeartbeatTimeout <= 0 {
		c.HeartbeatTimeout = 35 * time.Second
	}
	if c.AliveWindow <= 0 {
		c.AliveWindow = 25 * time.Second
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 10 * time.Second
	}
	if c.InvitationFor <= 0 {
		c.InvitationFor = 3 * time.Minute
	}
	if c.SweepInterval <= 0 {
		c.SweepInterval = time.Second
	}
	if c.MaxPageViews <= 0 {
		c.MaxPageViews = 100000
	}
}

// Handler serves the widget's routes.
type Handler struct {
	store    parley.Store
	metrics  *metrics.Metrics
	log      *slog.Logger
	assets   map[string]*asset
	version  string
	frame    *template.Template
	tracker  *tracker
	maxChars int
	maxFile  int64
	mail     bool
	pingMS   int // the frame's heartbeat (Config.Heartbeat)
	// AgentsOnline reports whether someone can answer now; the server sets
	// it. Nil means always.
	AgentsOnline func(accountID string) bool
	// SkillStaffed reports whether someone with the skill is online (for
	// an engagement that routes to it); nil means AgentsOnline decides.
	SkillStaffed func(ctx context.Context, accountID, skill string) (bool, error)
	// BotOn reports whether the account's bot answers visitors; the
	// offline form is not needed then.
	BotOn func(accountID string) bool
	// ReplyTime, when set, says how soon the account typically answers
	// (false: not known), for the chat's header.
	ReplyTime func(accountID string) (time.Duration, bool)
	// Help returns the account's compiled bot, whose articles the help
	// center searches (nil: no help center).
	Help func(ctx context.Context, accountID string) (*bot.Brain, error)
	// Visitor checks a visitor token a heartbeat carries; the server sets
	// it. Nil: heartbeats name no one.
	Visitor func(ctx context.Context, token string) (parley.Principal, error)
	// AgentOnline reports whether a person takes conversations now; an
	// invitation whose agent is no longer online is withdrawn at its
	// page's next heartbeat. Nil means always.
	AgentOnline func(accountID, userID string) bool
}

// New loads the widget's files and prepares the tracker.
func New(store parley.Store, log *slog.Logger, m *metrics.Metrics, cfg Config) (*Handler, error) {
	cfg.defaults()
	assets, version, err := loadAssets()
	if err != nil {
		return nil, err
	}
	frame, err := template.New("frame").Parse(string(assets["frame.html"].plain))
	if err != nil {
		return nil, err
	}
	h := &Handler{store: store, metrics: m, maxChars: cfg.MaxMessageChars, maxFile: cfg.MaxAttachmentBytes, mail: cfg.MailConfigured, pingMS: int(cfg.Heartbeat.Milliseconds()), log: log, assets: assets, version: version, frame: frame}
	h.tracker = newTracker(cfg, h.record)
	return h, nil
}

// Register adds the widget's routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /widget.js", func(w http.ResponseWriter, r *http.Request) {
		h.assets["widget.js"].serve(w, r, "public, max-age=300")
	})
	for _, name := range []string{"frame.js", "strings.js", "clientid.js", "frame.css"} {
		mux.HandleFunc("GET /widget/"+name, func(w http.ResponseWriter, r *http.Request) {
			h.assets[name].serve(w, r, "public, max-age=300")
		})
	}
	mux.HandleFunc("GET /widget/frame", h.serveFrame)
	mux.HandleFunc("GET /widget/config", h.serveConfig)
	mux.HandleFunc("GET /widget/photo", h.servePhoto)
	mux.HandleFunc("POST /widget/beacon", h.serveBeacon)
	mux.HandleFunc("GET /widget/availability", h.serveAvailability)
	mux.HandleFunc("GET /widget/help", h.serveHelpSearch)
	mux.HandleFunc("GET /widget/help/article", h.serveHelpArticle)
}

// Run sweeps page views for suspected tampering until ctx ends.
func (h *Handler) Run(ctx context.Context) { h.tracker.run(ctx) }

// Peers connects the widget handlers of a cluster's nodes: a page view's
// beacons may reach any node (a load balancer without sticky sessions),
// so each node passes the beacons it takes to the others, and a page view
// is judged on all of them — by one node, one that took some itself.
type Peers interface {
	ShareBeacon(raw []byte) error
	OnBeacon(fn func(raw []byte)) error
}

// UsePeers joins the handler to the other nodes of a cluster. Call before Run.
func (h *Handler) UsePeers(p Peers) error {
	h.tracker.share = func(raw []byte) {
		if err := p.ShareBeacon(raw); err != nil {
			h.log.Warn("widget: passing a beacon to the other nodes", "err", err)
		}
	}
	return p.OnBeacon(h.tracker.fromPeer)
}

// PublicConfig is what the loader and the frame learn about an account.
type PublicConfig struct {
	AccountID      string              `json:"account_id"`
	Name           string              `json:"name"`
	Color          string              `json:"color"`
	Position       string              `json:"position"`
	Label          string              `json:"label"`
	Greeting       string              `json:"greeting"`
	Language       string              `json:"language"`
	AllowedOrigins []string            `json:"allowed_origins"`
	MaxChars       int                 `json:"max_chars"`
	MaxFileBytes   int64               `json:"max_attachment_bytes"`
	Engagements    []parley.Engagement `json:"engagements"`
	PreChat        parley.PreChatForm  `json:"prechat"`
	OfflineForm    bool                `json:"offline_form"`
	// HelpCenter: the chat window offers a search of the brand's articles.
	HelpCenter bool `json:"help_center"`
	// TypingPreview: the frame sends the visitor's draft with its typing
	// frames, for the agents' preview.
	TypingPreview bool `json:"typing_preview"`
	// EmailTranscript: the installation sends email, so the chat window
	// offers "Email me this conversation".
	EmailTranscript bool `json:"email_transcript"`
	// HeartbeatMS is how often the frame pings and a queued visitor's
	// frame asks its place in line.
	HeartbeatMS int `json:"heartbeat_ms"`
	// Team: when the brand shows it, up to three of its people, for the
	// header.
	Team []TeamMember `json:"team,omitempty"`
}

// TeamMember is one face of the chat's header: a first name and the
// address of the photo, when the person has one (the frame shows their
// initial otherwise).
type TeamMember struct {
	Name  string `json:"name"`
	Photo string `json:"photo,omitempty"`
}

// team picks the header's faces: active people, those online now first,
// then those with a photo, then by name; three at most.
func (h *Handler) team(ctx context.Context, accountID string) ([]TeamMember, error) {
	users, err := h.store.ListUsers(ctx, accountID)
	if err != nil {
		return nil, err
	}
	online := func(u *parley.User) bool { return h.AgentOnline == nil || h.AgentOnline(accountID, u.ID) }
	users = slices.DeleteFunc(users, func(u *parley.User) bool { return !u.Active })
	before := func(x, y bool) int { // x's person first when only x holds
		switch {
		case x == y:
			return 0
		case x:
			return -1
		}
		return 1
	}
	slices.SortStableFunc(users, func(a, b *parley.User) int {
		if c := before(online(a), online(b)); c != 0 {
			return c
		}
		if c := before(a.Photo != "", b.Photo != ""); c != 0 {
			return c
		}
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	var out []TeamMember
	for _, u := range users[:min(3, len(users))] {
		first := u.Name
		if f := strings.Fields(u.Name); len(f) > 0 {
			first = f[0]
		}
		m := TeamMember{Name: first}
		if u.Photo != "" {
			m.Photo = "/widget/photo?account=" + url.QueryEscape(accountID) + "&user=" + url.QueryEscape(u.ID) + "&v=" + url.QueryEscape(u.Photo)
		}
		out = append(out, m)
	}
	return out, nil
}

func (h *Handler) account(r *http.Request) (*parley.Account, error) {
	id := r.URL.Query().Get("account")
	if !parley.HasIDPrefix(id, "acc") {
		return nil, parley.Errorf(parley.EINVALID, "account must be an account ID (acc_…)")
	}
	return h.store.FindAccount(r.Context(), id)
}

func (h *Handler) serveConfig(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	a, err := h.account(r)
	if err != nil {
		writeError(w, err)
		return
	}
	s := a.Settings.Widget
	if s.AllowedOrigins == nil {
		s.AllowedOrigins = []string{}
	}
	// Paused engagements stay in the console; the names are the staff's.
	live := []parley.Engagement{}
	for _, e := range s.Engagements {
		if !e.Paused {
			e.Name = ""
			live = append(live, e)
		}
	}
	s.Engagements = live
	var team []TeamMember
	if s.ShowTeam {
		if team, err = h.team(r.Context(), a.ID); err != nil {
			writeError(w, err)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	json.NewEncoder(w).Encode(PublicConfig{AccountID: a.ID, Name: a.Name, Color: s.Color, Position: s.Position,
		Label: s.Label, Greeting: s.Greeting, Language: s.Language, AllowedOrigins: s.AllowedOrigins, MaxChars: h.maxChars, MaxFileBytes: h.maxFile, Engagements: s.Engagements,
		PreChat: s.PreChat, OfflineForm: s.OfflineForm == nil || *s.OfflineForm, HelpCenter: h.helpOn(r, a), TypingPreview: s.TypingPreview, EmailTranscript: h.mail, HeartbeatMS: h.pingMS, Team: team})
}

// availability is whether, and how soon, someone answers.
type availability struct {
	AgentsOnline bool `json:"agents_online"`
	Open         bool `json:"open"` // within business hours
	Bot          bool `json:"bot"`
	// ReplySeconds is the typical first response of the last seven days
	// (the median), when enough visitors were answered to say.
	ReplySeconds int `json:"reply_seconds,omitempty"`
}

// serveAvailability says whether a person can answer now, so the chat can
// offer the offline form instead of a live promise.
func (h *Handler) serveAvailability(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	a, err := h.account(r)
	if err != nil {
		writeError(w, err)
		return
	}
	online := h.AgentsOnline == nil || h.AgentsOnline(a.ID)
	// ?skill= asks about one skill's people: an engagement that routes
	// to them invites visitors only while they are there.
	skill := r.URL.Query().Get("skill")
	if skill != "" && !parley.HasIDPrefix(skill, "skl") {
		writeError(w, parley.Errorf(parley.EINVALID, "skill must be a skill ID (skl_…)"))
		return
	}
	if skill != "" && online && h.SkillStaffed != nil {
		if online, err = h.SkillStaffed(r.Context(), a.ID, skill); err != nil {
			writeError(w, err)
			return
		}
	}
	// A skill with its own hours (a team in another time zone) is open in
	// them, whatever the brand's say.
	var own *parley.Skill
	if skill != "" {
		skills, err := h.store.ListSkills(r.Context(), a.ID)
		if err != nil {
			writeError(w, err)
			return
		}
		if i := slices.IndexFunc(skills, func(s *parley.Skill) bool { return s.ID == skill }); i >= 0 {
			own = skills[i]
		}
	}
	open := parley.HoursOf(a.Settings.BusinessHours, own).Open(time.Now())
	online = online && open
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	// A skill's conversations go past the bot to its people.
	out := availability{AgentsOnline: online, Open: open, Bot: skill == "" && h.BotOn != nil && h.BotOn(a.ID)}
	if h.ReplyTime != nil {
		if d, ok := h.ReplyTime(a.ID); ok {
			out.ReplySeconds = int(d.Round(time.Second) / time.Second)
		}
	}
	json.NewEncoder(w).Encode(out)
}

// servePhoto serves a person's photo (docs/widget.md, Photos): public, as
// visitors see it beside the person's messages. With v, the token of the
// photo it names, it never changes and is cached for good; without, for
// five minutes, as is its absence (a chat full of one agent's messages
// asks once).
func (h *Handler) servePhoto(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	user := r.URL.Query().Get("user")
	if !parley.HasIDPrefix(user, "usr") {
		writeError(w, parley.Errorf(parley.EINVALID, "user must be a user ID (usr_…)"))
		return
	}
	account := r.URL.Query().Get("account")
	if !parley.HasIDPrefix(account, "acc") {
		writeError(w, parley.Errorf(parley.EINVALID, "account must be an account ID (acc_…)"))
		return
	}
	png, token, err := h.store.UserPhoto(r.Context(), account, user)
	if err != nil {
		writeError(w, err)
		return
	}
	etag := `"` + token + `"`
	if r.URL.Query().Get("v") == token {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.Header().Set("Content-Length", strconv.Itoa(len(png)))
	w.Write(png)
}

// serveFrame serves the chat window. Its CSP lets only the account's
// allowed origins embed it, so browsers refuse to show it anywhere else.
func (h *Handler) serveFrame(w http.ResponseWriter, r *http.Request) {
	a, err := h.account(r)
	if err != nil {
		writeError(w, err)
		return
	}
	ancestors := "*"
	if list := a.Settings.Widget.AllowedOrigins; len(list) > 0 {
		ancestors = strings.Join(list, " ")
	}
	scheme := "ws://"
	if r.TLS != nil {
		scheme = "wss://"
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data: blob:; "+
		"connect-src 'self' "+scheme+r.Host+"; base-uri 'none'; form-action 'none'; frame-ancestors "+ancestors)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Referrer-Policy", "no-referrer")
	var buf bytes.Buffer
	if err := h.frame.Execute(&buf, struct{ Version string }{h.version}); err != nil {
		writeError(w, err)
		return
	}
	w.Write(buf.Bytes())
}

// beacon is one page-view signal from the loader or the frame.
type beacon struct {
	Account string `json:"account"`
	PV      string `json:"pv"`
	Kind    string `json:"kind"`
	URL     string `json:"url"`
	Detail  string `json:"detail"`
	// Invitation travels only between the nodes of a cluster (kind
	// "invitation"); one in a page's beacon is ignored.
	Invitation *parley.Invitation `json:"invitation,omitempty"`
	// Consumer is the visitor whose token a heartbeat carried (its
	// Authorization header), as the node that checked it shares it with
	// the others; one in a page's beacon is ignored.
	Consumer string `json:"consumer,omitempty"`
}

var pvPattern = regexp.MustCompile(`^[a-z0-9]{6,40}$`)

var beaconKinds = map[string]bool{"load": true, "alive": true, "visible": true, "heartbeat": true,
	"open": true, "tampered": true, "forged": true, "leave": true,
	"engagement_shown": true, "engagement_clicked": true, "engagement_dismissed": true, "article_viewed": true, "article_feedback": true,
	"invitation_dismissed": true}

// serveBeacon takes a signal. Beacons arrive as text/plain (sendBeacon
// sends no preflight), so the body is parsed whatever its content type.
func (h *Handler) serveBeacon(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4096))
	if err != nil {
		writeError(w, parley.Errorf(parley.ETOOLARGE, "beacon is over 4096 bytes"))
		return
	}
	var b beacon
	if err := json.Unmarshal(body, &b); err != nil {
		writeError(w, parley.Errorf(parley.EINVALID, "beacon is not a JSON object"))
		return
	}
	b.Invitation, b.Consumer = nil, "" // agents make invitations, the token names the visitor
	if !pvPattern.MatchString(b.PV) || !beaconKinds[b.Kind] || len(b.URL) > 2048 || len(b.Detail) > 200 {
		writeError(w, parley.Errorf(parley.EINVALID, "beacon has a bad pv, kind, url or detail"))
		return
	}
	if u, err := url.Parse(b.URL); b.URL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https")) {
		writeError(w, parley.Errorf(parley.EINVALID, "beacon url must be http or https"))
		return
	}
	if !parley.HasIDPrefix(b.Account, "acc") {
		writeError(w, parley.Errorf(parley.EINVALID, "beacon account is not an account ID"))
		return
	}
	a, err := h.store.FindAccount(r.Context(), b.Account)
	if err != nil {
		writeError(w, err)
		return
	}
	if origin := r.Header.Get("Origin"); origin != "" && !sameHost(origin, r.Host) && !allowed(a.Settings.Widget.AllowedOrigins, origin) {
		writeError(w, parley.Errorf(parley.EFORBIDDEN, "origin %s is not allowed for this account", origin))
		return
	}
	if strings.HasPrefix(b.Kind, "engagement_") && a.Settings.Widget.EngagementByID(b.Detail) == nil {
		// Reports count engagements by ID: only the brand's own are counted.
		writeError(w, parley.Errorf(parley.EINVALID, "beacon detail %q is not one of this brand's engagements", b.Detail))
		return
	}
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && b.Kind == "heartbeat" && h.Visitor != nil {
		// A token that does not check out, or is another brand's, names
		// no one; the heartbeat still counts.
		if p, err := h.Visitor(r.Context(), token); err == nil && p.Kind == parley.PrincipalConsumer && p.AccountID == a.ID {
			b.Consumer = p.ID
		}
	}
	h.metrics.WidgetBeacons.WithLabelValues(b.Kind).Inc()
	if b.Kind == "visible" {
		if ms, err := strconv.Atoi(b.Detail); err == nil && ms >= 0 && ms < 600000 {
			h.metrics.LauncherVisible.Observe(float64(ms) / 1000)
		}
	}
	h.tracker.signal(a.ID, b)
	// The frame's heartbeat brings back an agent's invitation to its
	// page (and, once it has gone, none: the page stops showing it).
	if b.Kind == "heartbeat" {
		answerHeartbeat(w, h.waitingInvitation(a.ID, b.PV))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func sameHost(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, host)
}

func allowed(list []string, origin string) bool {
	if len(list) == 0 {
		return true
	}
	for _, o := range list {
		if strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// record writes a widget event; failures are logged, never shown to pages.
func (h *Handler) record(accountID, typ string, data any) {
	raw, _ := json.Marshal(data)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.store.AppendEvent(ctx, &parley.Event{AccountID: accountID, Type: typ, Data: raw}); err != nil {
		h.log.Warn("widget event not recorded", "type", typ, "account", accountID, "err", err)
	}
}

var statusOf = map[string]int{parley.EINVALID: 400, parley.ENOTFOUND: 404, parley.EFORBIDDEN: 403, parley.ETOOLARGE: 413}

func writeError(w http.ResponseWriter, err error) {
	status, ok := statusOf[parley.ErrorCode(err)]
	if !ok {
		status = 500
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": parley.ErrorCode(err), "message": parley.ErrorMessage(err)}})
}
