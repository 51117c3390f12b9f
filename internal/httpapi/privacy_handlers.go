package httpapi

import (
	"context"
	"net"
	"net/http"
	"strings"

	"github.com/parleychat/parley"
)

// audited says whether calls of a route go to the audit log: whatever a
// supervisor or admin changes, every export of personal data, and anyone's
// change of their own credentials.
func audited(rt Route) bool {
	staffOnly := rt.access.minRole == parley.RoleSupervisor || rt.access.minRole == parley.RoleAdmin
	// Blocking a visitor and removing what a message said are an agent's
	// calls, and ones an admin may need to review: they are audited too.
	moderation := strings.HasSuffix(rt.Path, "/block") || strings.HasSuffix(rt.Path, "/unblock") || strings.HasSuffix(rt.Path, "/redact")
	// A password changed, a second factor (an app, a passkey) added or removed, sessions
	// ended: what a security review of an account asks about first.
	credentials := rt.Method != http.MethodGet && (rt.Path == "/api/v1/me/password" ||
		strings.HasPrefix(rt.Path, "/api/v1/me/two-factor") || strings.HasPrefix(rt.Path, "/api/v1/me/passkeys") ||
		strings.HasPrefix(rt.Path, "/api/v1/me/sessions"))
	return (staffOnly && (rt.Method != http.MethodGet || strings.Contains(rt.Path, "export"))) || moderation || credentials
}

// auditLogin records a login of a known user, let in or refused.
func (a *API) auditLogin(r *http.Request, u *parley.User, status int) {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	e := &parley.AuditEntry{AccountID: u.AccountID, ActorID: u.ID, ActorKind: string(parley.PrincipalUser), ActorName: u.Name,
		Action: "POST /api/v1/auth/login", Target: "/api/v1/auth/login", IP: ip, Status: status}
	if err := a.store.AppendAudit(context.WithoutCancel(r.Context()), e); err != nil {
		a.log.Warn("audit log", "err", err)
	}
}

// StatusRecorder remembers the status a handler wrote (200 when it wrote
// none); the server's request metrics use it too.
type StatusRecorder struct {
	http.ResponseWriter
	Status int
}

// WriteHeader records the first status.
func (w *StatusRecorder) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *StatusRecorder) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Code is the status sent: 200 when the handler wrote none.
func (w *StatusRecorder) Code() int {
	if w.Status == 0 {
		return http.StatusOK
	}
	return w.Status
}

// Unwrap lets http.ResponseController reach the connection (to flush
// event streams).
func (w *StatusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// audit wraps a handler: after it ran, who did what, when and from where
// is recorded (refused calls too: they are attempts).
func (a *API) audit(rt Route, next http.Handler) http.Handler {
	action := rt.Method + " " + rt.Path
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &StatusRecorder{ResponseWriter: w}
		var p parley.Principal
		defer func() {
			if p.AccountID == "" {
				return // not authenticated: nothing of an account happened
			}
			ip, _, err := net.SplitHostPort(r.RemoteAddr)
			if err != nil {
				ip = r.RemoteAddr
			}
			e := &parley.AuditEntry{AccountID: p.AccountID, ActorID: p.ID, ActorKind: string(p.Kind), ActorName: p.Name,
				Action: action, Target: r.URL.Path, IP: ip, Status: sw.Code()}
			if err := a.store.AppendAudit(context.WithoutCancel(r.Context()), e); err != nil {
				a.log.Warn("audit log", "err", err)
			}
		}()
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), principalSink{}, &p)))
	})
}

// principalSink lets guard hand the authenticated principal back to audit.
type principalSink struct{}

func (a *API) handleListAudit(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	entries, err := a.store.ListAudit(r.Context(), p.AccountID, r.URL.Query().Get("before"), 100)
	if err != nil {
		return err
	}
	next := ""
	if len(entries) == 100 {
		next = entries[len(entries)-1].ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries, "next_before": next})
	return nil
}

// consumerExport is everything Parley holds about one visitor (GDPR art. 15).
type consumerExport struct {
	Consumer      *parley.Consumer     `json:"consumer"`
	Conversations []conversationExport `json:"conversations"`
}

type conversationExport struct {
	*parley.Conversation
	Messages []*parley.Message `json:"messages"`
	Notes    []*parley.Note    `json:"notes"`
}

// handleExportConsumer returns a visitor's data as one JSON document.
func (a *API) handleExportConsumer(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	ctx := r.Context()
	c, err := a.store.FindConsumer(ctx, p.AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := consumerExport{Consumer: c, Conversations: []conversationExport{}}
	err = a.eachConversation(ctx, p.AccountID, parley.ConversationFilter{ConsumerID: c.ID}, func(conv *parley.Conversation) error {
		ce := conversationExport{Conversation: conv}
		var err error
		if ce.Messages, err = allMessages(func(after int64, limit int) ([]*parley.Message, error) {
			return a.store.ListMessages(ctx, p.AccountID, conv.ID, after, limit)
		}); err != nil {
			return err
		}
		if ce.Notes, err = a.store.ListNotes(ctx, p.AccountID, conv.ID); err != nil {
			return err
		}
		out.Conversations = append(out.Conversations, ce)
		return nil
	})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", `attachment; filename="consumer-`+c.ID+`.json"`)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleEraseConsumer erases a visitor's data (GDPR art. 17): their
// messages, notes and attachments, their details, and the content of their
// events and webhook payloads. Conversation rows stay, anonymous, for metrics.
func (a *API) handleEraseConsumer(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	if err := a.store.EraseConsumer(r.Context(), p.AccountID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
