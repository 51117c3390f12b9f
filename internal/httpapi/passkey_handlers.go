package httpapi

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/auth"
)

// Passkeys and security keys of the staff (docs/security.md, Passkeys).

// relyingParty is where the browser runs a ceremony: the public URL's host
// when the installation has one, else the host the request came to. The
// browser signs the origin it saw, and it is checked against this, so a
// site relaying to Parley under another name gains nothing.
func (a *API) relyingParty(r *http.Request) auth.RelyingParty {
	origin := a.baseURL(r)
	host := r.Host
	if u, err := url.Parse(origin); err == nil && u.Host != "" {
		origin, host = u.Scheme+"://"+u.Host, u.Host
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return auth.RelyingParty{ID: host, Origin: origin}
}

// setPasskeyCookie keeps (or, with an empty value, clears) a ceremony's
// state between its two requests; both are the console's own fetches.
func (a *API) setPasskeyCookie(w http.ResponseWriter, r *http.Request, value string) {
	c := &http.Cookie{Name: auth.PasskeyCookie, Value: value, Path: "/api/v1/", MaxAge: int(auth.PasskeyCeremonyTTL / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: a.secureCookies || r.TLS != nil}
	if value == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// passkeyAnswer pairs a credential the browser sent with its ceremony's
// cookie. The cookie is cleared by the caller's answer: a ceremony is
// answered once.
func (a *API) passkeyAnswer(r *http.Request, credential json.RawMessage) *auth.PasskeyAnswer {
	answer := &auth.PasskeyAnswer{Response: credential, RP: a.relyingParty(r)}
	if c, err := r.Cookie(auth.PasskeyCookie); err == nil {
		answer.Ceremony = c.Value
	}
	return answer
}

// ceremonyOptions is what the console hands to navigator.credentials:
// {"publicKey": …}, the WebAuthn options in their JSON form.
type ceremonyOptions struct {
	Options any `json:"options"`
}

func (a *API) handlePasskeyStart(w http.ResponseWriter, r *http.Request, _ parley.Principal) error {
	options, ceremony, err := a.auth.StartPasskeyLogin(a.relyingParty(r))
	if err != nil {
		return err
	}
	a.setPasskeyCookie(w, r, ceremony)
	writeJSON(w, http.StatusOK, ceremonyOptions{Options: options})
	return nil
}

type credentialRequest struct {
	// Credential is the PublicKeyCredential the browser returned, in its
	// JSON form (PublicKeyCredential.toJSON()).
	Credential json.RawMessage `json:"credential"`
	// Name is what a new passkey is called ("Work laptop").
	Name string `json:"name,omitempty"`
}

func (a *API) readCredential(r *http.Request) (credentialRequest, error) {
	var req credentialRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return req, err
	}
	if len(req.Credential) == 0 || string(req.Credential) == "null" {
		return req, parley.Errorf(parley.EINVALID, "credential is required: what navigator.credentials returned")
	}
	return req, nil
}

func (a *API) handlePasskeyFinish(w http.ResponseWriter, r *http.Request, _ parley.Principal) error {
	req, err := a.readCredential(r)
	if err != nil {
		return err
	}
	a.setPasskeyCookie(w, r, "")
	token, s, u, err := a.auth.PasskeyLogin(r.Context(), *a.passkeyAnswer(r, req.Credential), r.RemoteAddr)
	if err != nil {
		if status := statusOf[parley.ErrorCode(err)]; u != nil && status != 0 {
			go a.auditLogin(r, u, status) // a known person refused: deactivated, outside the networks
		}
		return err
	}
	a.auditLogin(r, u, http.StatusOK)
	a.setSessionCookie(w, r, token, s.ExpiresAt)
	writeJSON(w, http.StatusOK, loginResponse{User: u, CSRFToken: s.CSRFToken})
	return nil
}

type passkeyList struct {
	Passkeys []*parley.Passkey `json:"passkeys"`
}

func (a *API) handleListPasskeys(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	pks, err := a.auth.ListPasskeys(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, passkeyList{Passkeys: pks})
	return nil
}

func (a *API) handleStartPasskeyRegistration(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req passwordProof
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	options, ceremony, err := a.auth.StartPasskeyRegistration(r.Context(), p, req.Password, a.relyingParty(r))
	if err != nil {
		return err
	}
	a.setPasskeyCookie(w, r, ceremony)
	writeJSON(w, http.StatusOK, ceremonyOptions{Options: options})
	return nil
}

func (a *API) handleAddPasskey(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	req, err := a.readCredential(r)
	if err != nil {
		return err
	}
	a.setPasskeyCookie(w, r, "")
	pk, err := a.auth.FinishPasskeyRegistration(r.Context(), p, req.Name, *a.passkeyAnswer(r, req.Credential))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, pk)
	return nil
}

func (a *API) handleRemovePasskey(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	if err := a.auth.RemovePasskey(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type passkeyRename struct {
	Name string `json:"name"`
}

func (a *API) handleRenamePasskey(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req passkeyRename
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	pk, err := a.auth.RenamePasskey(r.Context(), p, r.PathValue("id"), req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pk)
	return nil
}
