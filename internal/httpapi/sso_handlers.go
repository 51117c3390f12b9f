package httpapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/auth"
)

// Single sign-on (docs/security.md): the routes that send a browser to the
// brand's identity provider and take it back, and the admin's settings.

const (
	ssoStartPath    = "/api/v1/auth/sso/start"
	ssoCallbackPath = "/api/v1/auth/sso/callback"
)

// baseURL is the installation's address as people reach it: --public-url,
// or the address this request came to.
func (a *API) baseURL(r *http.Request) string {
	if a.ExternalURL != "" {
		return a.ExternalURL
	}
	scheme := "http"
	if r.TLS != nil || a.secureCookies {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (a *API) ssoRedirectURI(r *http.Request) string { return a.baseURL(r) + ssoCallbackPath }

// postLogoutURI is where the provider sends the browser back after
// signing the person out there: the console, which the brand registers
// at its provider as a post-logout redirect URI.
func (a *API) postLogoutURI(r *http.Request) string { return a.baseURL(r) + "/console/" }

// setSSOCookie sets (or, with an empty value, clears) the round trip's
// cookie. SameSite=Lax: the provider's redirect back is a top-level
// navigation from its site, and must bring it.
func (a *API) setSSOCookie(w http.ResponseWriter, r *http.Request, value string) {
	c := &http.Cookie{Name: auth.SSOCookie, Value: value, Path: "/api/v1/auth/sso/", MaxAge: int(auth.SSOTripTTL / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: a.secureCookies || r.TLS != nil}
	if value == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// ssoFailed sends the browser back to the console's login with the reason.
func (a *API) ssoFailed(w http.ResponseWriter, r *http.Request, reason string) {
	http.Redirect(w, r, "/console/#sso_error="+url.QueryEscape(reason), http.StatusSeeOther)
}

type ssoStartRequest struct {
	// Email of a person of the brand (the console's login form), or
	// AccountID of the brand (its sign-in link): one of the two.
	Email     string `json:"email"`
	AccountID string `json:"account_id"`
}

type ssoStartResponse struct {
	RedirectURL string `json:"redirect_url"`
}

func (a *API) handleSSOStart(w http.ResponseWriter, r *http.Request, _ parley.Principal) error {
	var req ssoStartRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	req.Email, req.AccountID = strings.TrimSpace(req.Email), strings.TrimSpace(req.AccountID)
	if (req.Email == "") == (req.AccountID == "") {
		return parley.Errorf(parley.EINVALID, "give email or account_id, one of the two")
	}
	to, cookie, err := a.auth.StartSSO(r.Context(), req.Email, req.AccountID, a.ssoRedirectURI(r))
	if err != nil {
		return err
	}
	a.setSSOCookie(w, r, cookie)
	writeJSON(w, http.StatusOK, ssoStartResponse{RedirectURL: to})
	return nil
}

// handleSSOLink is the brand's sign-in link (a bookmark, a tile in the
// provider's dashboard): it sends the browser straight to the provider.
func (a *API) handleSSOLink(w http.ResponseWriter, r *http.Request, _ parley.Principal) error {
	to, cookie, err := a.auth.StartSSO(r.Context(), "", r.URL.Query().Get("account"), a.ssoRedirectURI(r))
	if err != nil {
		reason := auth.SSOErrProvider
		if parley.ErrorCode(err) == parley.ENOTFOUND {
			reason = auth.SSOErrNotConfigured
		}
		a.log.Info("single sign-on not started", "err", err)
		a.ssoFailed(w, r, reason)
		return nil
	}
	a.setSSOCookie(w, r, cookie)
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// handleSSOCallback is where the provider sends the browser back. It never
// answers JSON: a person is looking at it, so it always goes on to the
// console, logged in or with the reason why not.
func (a *API) handleSSOCallback(w http.ResponseWriter, r *http.Request, _ parley.Principal) error {
	q := r.URL.Query()
	cb := auth.SSOCallback{State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error"), RemoteAddr: r.RemoteAddr}
	if c, err := r.Cookie(auth.SSOCookie); err == nil {
		cb.Cookie = c.Value
	}
	a.setSSOCookie(w, r, "") // one use
	token, s, u, accountID, err := a.auth.FinishSSO(r.Context(), cb, a.ssoRedirectURI(r))
	if err != nil {
		reason := auth.SSOReason(err)
		a.log.Info("single sign-on refused", "account", accountID, "reason", reason, "err", err)
		var se *auth.SSOError
		if errors.As(err, &se) && accountID != "" && (u != nil || se.Email != "") {
			a.auditSSO(r, accountID, u, se.Email, http.StatusForbidden, reason)
		}
		a.ssoFailed(w, r, reason)
		return nil
	}
	a.auditSSO(r, accountID, u, u.Email, http.StatusOK, "")
	a.setSessionCookie(w, r, token, s.ExpiresAt)
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
	return nil
}

// auditSSO files a single sign-on of someone the brand's provider vouched
// for: a person of the brand (u), or only an email it does not know.
func (a *API) auditSSO(r *http.Request, accountID string, u *parley.User, email string, status int, reason string) {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	e := &parley.AuditEntry{AccountID: accountID, ActorKind: string(parley.PrincipalUser), ActorName: email,
		Action: "GET " + ssoCallbackPath, Target: ssoCallbackPath, IP: ip, Status: status}
	if u != nil {
		e.ActorID, e.ActorName = u.ID, u.Name
	}
	if reason != "" {
		e.Target += "?error=" + reason
	}
	if err := a.store.AppendAudit(context.WithoutCancel(r.Context()), e); err != nil {
		a.log.Warn("audit log", "err", err)
	}
}

// ssoView is the brand's single sign-on as its admins see it: never the
// client secret, only whether there is one.
type ssoView struct {
	Configured      bool        `json:"configured"`
	Issuer          string      `json:"issuer"`
	ClientID        string      `json:"client_id"`
	ClientSecretSet bool        `json:"client_secret_set"`
	Required        bool        `json:"required"`
	ProvisionRole   parley.Role `json:"provision_role"`
	Domains         []string    `json:"domains"`
	SignOut         bool        `json:"sign_out"`
	UpdatedAt       *time.Time  `json:"updated_at,omitempty"`
	// RedirectURI is what the admin registers at the provider, and
	// PostLogoutRedirectURI too when people are signed out there.
	RedirectURI           string `json:"redirect_uri"`
	PostLogoutRedirectURI string `json:"post_logout_redirect_uri"`
	// SignInURL is the brand's sign-in link, for bookmarks and the
	// provider's dashboard.
	SignInURL string `json:"sign_in_url"`
	// SCIMURL is where the provider keeps the brand's people
	// (provisioning, with an admin API key as its token).
	SCIMURL string `json:"scim_url"`
}

func (a *API) ssoView(r *http.Request, accountID string, s *parley.SSO) ssoView {
	v := ssoView{Domains: []string{}, RedirectURI: a.ssoRedirectURI(r), PostLogoutRedirectURI: a.postLogoutURI(r),
		SignInURL: a.baseURL(r) + ssoStartPath + "?account=" + url.QueryEscape(accountID), SCIMURL: a.baseURL(r) + "/scim/v2"}
	if s != nil {
		v.Configured, v.Issuer, v.ClientID, v.ClientSecretSet = true, s.Issuer, s.ClientID, s.ClientSecret != ""
		v.Required, v.ProvisionRole, v.SignOut, v.UpdatedAt = s.Required, s.ProvisionRole, s.SignOut, &s.UpdatedAt
		if s.Domains != nil {
			v.Domains = s.Domains
		}
	}
	return v
}

func (a *API) handleGetSSO(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	s, err := a.store.FindSSO(r.Context(), p.AccountID)
	if err != nil && parley.ErrorCode(err) != parley.ENOTFOUND {
		return err
	}
	writeJSON(w, http.StatusOK, a.ssoView(r, p.AccountID, s))
	return nil
}

type ssoRequest struct {
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
	// ClientSecret: absent or empty keeps the one saved.
	ClientSecret  string      `json:"client_secret"`
	Required      bool        `json:"required"`
	ProvisionRole parley.Role `json:"provision_role"`
	Domains       []string    `json:"domains"`
	SignOut       bool        `json:"sign_out"`
}

func (a *API) handlePutSSO(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req ssoRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	s := &parley.SSO{Issuer: req.Issuer, ClientID: req.ClientID, ClientSecret: req.ClientSecret, Required: req.Required,
		ProvisionRole: req.ProvisionRole, Domains: req.Domains, SignOut: req.SignOut}
	if err := a.auth.SaveSSO(r.Context(), p.AccountID, s); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.ssoView(r, p.AccountID, s))
	return nil
}

func (a *API) handleDeleteSSO(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	if err := a.store.SetSSO(r.Context(), p.AccountID, nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleUnlinkSSO forgets which account of the brand's identity provider
// a person signed in with, so that their next single sign-on links them
// again: for a person whose provider account was made again (a new
// subject). Admins only; the answer is the person.
func (a *API) handleUnlinkSSO(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	u, _, err := a.store.ChangeUser(r.Context(), p.AccountID, r.PathValue("id"), nil, func(u *parley.User) error {
		u.SSOSubject = ""
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}
