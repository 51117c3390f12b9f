package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/auth"
)

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	// Code is the second factor, for users who turned it on: six digits
	// from their authenticator app, or one of their recovery codes.
	Code string `json:"code"`
	// Passkey is the other second factor: the credential a passkey gave
	// (navigator.credentials.get) for a ceremony begun with POST
	// /api/v1/auth/passkey/start.
	Passkey json.RawMessage `json:"passkey,omitempty"`
	// RememberBrowser, with a second factor, has this browser skip it at
	// the person's next logins for the brand's two_factor_remember_days.
	RememberBrowser bool `json:"remember_browser,omitempty"`
}

type loginResponse struct {
	User      *parley.User `json:"user"`
	CSRFToken string       `json:"csrf_token"`
}

func (a *API) handleLogin(w http.ResponseWriter, r *http.Request, _ parley.Principal) error {
	var req loginRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	if req.Email == "" || req.Password == "" {
		return parley.Errorf(parley.EINVALID, "email and password are required")
	}
	creds := auth.Credentials{Email: req.Email, Password: req.Password, Code: req.Code, RemoteAddr: r.RemoteAddr}
	if len(req.Passkey) > 0 {
		creds.Passkey = a.passkeyAnswer(r, req.Passkey)
	}
	creds.TrustedBrowser = func(userID string) string {
		if c, err := r.Cookie(auth.TrustedBrowserCookie(userID)); err == nil {
			return c.Value
		}
		return ""
	}
	token, s, u, err := a.auth.Login(r.Context(), creds)
	if code := parley.ErrorCode(err); u != nil && (code == parley.ETWOFACTOR || code == parley.EPASSKEY) {
		// The password was right: the login form may offer to remember
		// the second factor, for as long as the brand allows.
		d, ferr := a.auth.TrustBrowserFor(r.Context(), u.AccountID)
		if ferr != nil {
			return ferr
		}
		var body struct {
			Error struct {
				Code         string `json:"code"`
				Message      string `json:"message"`
				RememberDays int    `json:"remember_days"`
			} `json:"error"`
		}
		body.Error.Code, body.Error.Message, body.Error.RememberDays = code, parley.ErrorMessage(err), int(d/(24*time.Hour))
		writeJSON(w, http.StatusUnauthorized, body)
		return nil
	}
	if err != nil {
		if u != nil && parley.ErrorCode(err) == parley.EFORBIDDEN {
			go a.auditLogin(r, u, http.StatusForbidden) // the right password, from outside the brand's networks
		}
		if u != nil && parley.ErrorCode(err) == parley.EUNAUTHORIZED {
			// A wrong password or second factor: someone tries this
			// account. Written after the answer, so that a known email
			// takes no longer to refuse than an unknown one.
			go a.auditLogin(r, u, http.StatusUnauthorized)
		}
		return err
	}
	a.auditLogin(r, u, http.StatusOK)
	if req.RememberBrowser && u.HasSecondFactor() && (req.Code != "" || len(req.Passkey) > 0) {
		note, d, err := a.auth.TrustBrowser(r.Context(), u)
		if err != nil {
			return err
		}
		if note != "" {
			a.setTrustCookie(w, r, u.ID, note, int(d/time.Second))
		}
	}
	a.setSessionCookie(w, r, token, s.ExpiresAt)
	writeJSON(w, http.StatusOK, loginResponse{User: u, CSRFToken: s.CSRFToken})
	return nil
}

// setTrustCookie gives the browser, or (maxAge < 0) takes from it, the
// note that it may skip the person's second factor. Only the login reads
// it, so it goes nowhere else.
func (a *API) setTrustCookie(w http.ResponseWriter, r *http.Request, userID, note string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: auth.TrustedBrowserCookie(userID), Value: note, Path: "/api/v1/auth/login", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: a.secureCookies || r.TLS != nil,
	})
}

// handleForgetTrustedBrowsers makes every browser the person trusted ask
// for their second factor again, this one included.
func (a *API) handleForgetTrustedBrowsers(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	if p.Kind != parley.PrincipalUser {
		return parley.Errorf(parley.EFORBIDDEN, "only a person has trusted browsers")
	}
	if err := a.auth.ForgetTrustedBrowsers(r.Context(), p.AccountID, p.ID); err != nil {
		return err
	}
	a.setTrustCookie(w, r, p.ID, "", -1)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleLogout ends the session. One begun by a single sign-on, of a
// brand that signs people out at its provider too, answers where to send
// the browser for that (sign_out_url); any other answers 204.
func (a *API) handleLogout(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	signOut := ""
	if c, err := r.Cookie(auth.SessionCookie); err == nil {
		if _, s, err := a.auth.Session(r.Context(), c.Value); err == nil {
			if signOut, err = a.auth.SignOutURL(r.Context(), s, a.postLogoutURI(r)); err != nil {
				return err
			}
		}
		if err := a.auth.Logout(r.Context(), c.Value); err != nil {
			return err
		}
		if a.OnLogout != nil {
			a.OnLogout(auth.SessionKey(c.Value))
		}
	}
	a.setSessionCookie(w, r, "", unixEpoch)
	if signOut != "" {
		writeJSON(w, http.StatusOK, map[string]string{"sign_out_url": signOut})
		return nil
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type meResponse struct {
	// CSRFToken lets a console reloaded with its session cookie learn the
	// token again; it is only ever sent to the session's own requests.
	CSRFToken string               `json:"csrf_token,omitempty"`
	AccountID string               `json:"account_id"`
	Kind      parley.PrincipalKind `json:"kind"`
	ID        string               `json:"id"`
	Role      parley.Role          `json:"role,omitempty"`
	Name      string               `json:"name,omitempty"`
	// Email and TwoFactor: a console user's own, for their profile.
	Email     string `json:"email,omitempty"`
	TwoFactor *bool  `json:"two_factor,omitempty"`
	// Passkeys counts their passkeys and security keys.
	Passkeys *int `json:"passkeys,omitempty"`
	// MentionEmails: whether they get an email when mentioned while away.
	MentionEmails *bool `json:"mention_emails,omitempty"`
	// FollowEmails: whether they get an email of what is new in the
	// conversations they follow while away.
	FollowEmails *bool `json:"follow_emails,omitempty"`
	// ReportEmails: whether they get the brand's weekly report (when the
	// brand sends one and they are a supervisor or an admin).
	ReportEmails *bool `json:"report_emails,omitempty"`
	// TwoFactorSetupRequired: the brand requires a second factor and this
	// user has none yet; until they set it up, only their profile answers.
	TwoFactorSetupRequired bool `json:"two_factor_setup_required,omitempty"`
	// UnreadMentions: notes mentioning the user since they last looked
	// at their Mentions.
	UnreadMentions *int `json:"unread_mentions,omitempty"`
	// Photo: the token of their photo, when they have one (User.Photo).
	Photo string `json:"photo,omitempty"`
}

func (a *API) handleMe(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	me := meResponse{AccountID: p.AccountID, Kind: p.Kind, ID: p.ID, Role: p.Role, Name: p.Name}
	if p.Kind == parley.PrincipalUser {
		u, err := a.store.FindUser(r.Context(), p.AccountID, p.ID)
		if err != nil {
			return err
		}
		mentionEmails, followEmails, reportEmails := !u.MentionEmailsOff, !u.FollowEmailsOff, !u.ReportEmailsOff
		me.Email, me.TwoFactor, me.TwoFactorSetupRequired, me.MentionEmails, me.FollowEmails, me.ReportEmails = u.Email, &u.TwoFactor, p.MustSetUpTwoFactor, &mentionEmails, &followEmails, &reportEmails
		me.Passkeys, me.Photo = &u.Passkeys, u.Photo
		if !p.MustSetUpTwoFactor {
			n, err := a.store.UnreadMentions(r.Context(), p.AccountID, p.ID)
			if err != nil {
				return err
			}
			me.UnreadMentions = &n
		}
	}
	if c, err := r.Cookie(auth.SessionCookie); err == nil && r.Header.Get("Authorization") == "" {
		if _, s, err := a.auth.Session(r.Context(), c.Value); err == nil {
			me.CSRFToken = s.CSRFToken
		}
	}
	writeJSON(w, http.StatusOK, me)
	return nil
}

type consumerTokenRequest struct {
	AccountID string `json:"account_id"`
	// IdentityToken is a JWT the brand's site signed for a logged-in
	// visitor; with it, the token is for that person on every device.
	IdentityToken string `json:"identity_token"`
}

type consumerTokenResponse struct {
	Token     string           `json:"token"`
	ExpiresAt string           `json:"expires_at"`
	Consumer  *parley.Consumer `json:"consumer"`
}

// handleConsumerToken gives a new anonymous visitor of an account its
// identity: a consumer and a token bound to that account.
func (a *API) handleConsumerToken(w http.ResponseWriter, r *http.Request, _ parley.Principal) error {
	var req consumerTokenRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.AccountID) == "" {
		return parley.Errorf(parley.EINVALID, "account_id is required")
	}
	if _, err := a.store.FindAccount(r.Context(), req.AccountID); err != nil {
		return err
	}
	var c *parley.Consumer
	if req.IdentityToken != "" {
		id, err := a.auth.VerifyIdentity(r.Context(), req.AccountID, req.IdentityToken)
		if err != nil {
			if parley.ErrorCode(err) == parley.EUNAUTHORIZED {
				data, _ := json.Marshal(map[string]string{"reason": parley.ErrorMessage(err)})
				a.store.AppendEvent(r.Context(), &parley.Event{AccountID: req.AccountID, Type: parley.EventIdentityRejected, Data: data})
			}
			return err
		}
		if c, err = a.findOrCreateConsumer(r, parley.Principal{AccountID: req.AccountID}, &consumerRef{ExternalID: id.Subject, Name: id.Name, Email: id.Email}); err != nil {
			return err
		}
	} else {
		c = &parley.Consumer{AccountID: req.AccountID}
		if err := a.store.CreateConsumer(r.Context(), c); err != nil {
			return err
		}
	}
	token, exp, err := a.auth.ConsumerToken(c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, consumerTokenResponse{Token: token, ExpiresAt: exp.UTC().Format(timeFormat), Consumer: c})
	return nil
}
