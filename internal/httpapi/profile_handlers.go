package httpapi

import (
	"encoding/base64"
	"image/png"
	"net/http"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/auth"
)

// A person's own credentials: their password and their second factor
// (docs/security.md). Each change that proves who is asking asks for the
// current password again, as GitHub and Intercom do: a console left open
// is not enough to lock its owner out.

// sessionHash is the request's own session (its token's hash), the one
// kept when a change of credentials ends the others.
func sessionHash(r *http.Request) []byte {
	if c, err := r.Cookie(auth.SessionCookie); err == nil && c.Value != "" {
		return auth.TokenHash(c.Value)
	}
	return nil
}

// endSessions closes the sockets of sessions a change of credentials
// ended (on every node, through OnLogout).
func (a *API) endSessions(ended [][]byte) {
	if a.OnLogout == nil {
		return
	}
	for _, h := range ended {
		a.OnLogout(base64.RawURLEncoding.EncodeToString(h))
	}
}

type passwordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

func (a *API) handleChangePassword(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req passwordChange
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	if req.CurrentPassword == "" || req.NewPassword == "" {
		return parley.Errorf(parley.EINVALID, "current_password and new_password are required")
	}
	ended, err := a.auth.ChangePassword(r.Context(), p, sessionHash(r), req.CurrentPassword, req.NewPassword)
	if err != nil {
		return err
	}
	a.endSessions(ended)
	writeJSON(w, http.StatusOK, map[string]int{"sessions_ended": len(ended)})
	return nil
}

// handleEndOtherSessions logs the user out everywhere but here: the
// laptop left at a desk, the phone that was lost.
func (a *API) handleEndOtherSessions(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	if p.Kind != parley.PrincipalUser {
		return parley.Errorf(parley.EFORBIDDEN, "only a person logged in to the console has sessions")
	}
	ended, err := a.store.EndSessions(r.Context(), p.AccountID, p.ID, sessionHash(r))
	if err != nil {
		return err
	}
	a.endSessions(ended)
	writeJSON(w, http.StatusOK, map[string]int{"sessions_ended": len(ended)})
	return nil
}

// handleMentionsSeen marks the notes that mention the user as seen (they
// opened their Mentions).
func (a *API) handleMentionsSeen(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	if p.Kind != parley.PrincipalUser {
		return parley.Errorf(parley.EFORBIDDEN, "mentions are a person's")
	}
	if err := a.store.MarkMentionsSeen(r.Context(), p.AccountID, p.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type passwordProof struct {
	Password string `json:"password"`
}

func (a *API) readPassword(r *http.Request) (string, error) {
	var req passwordProof
	if err := decode(r, a.maxBody, &req); err != nil {
		return "", err
	}
	if req.Password == "" {
		return "", parley.Errorf(parley.EINVALID, "password is required: confirm it is you")
	}
	return req.Password, nil
}

type twoFactorSetup struct {
	Secret     string `json:"secret"`
	OTPAuthURL string `json:"otpauth_url"`
	QRCodeURL  string `json:"qr_code_url"`
}

func (a *API) handleStartTwoFactor(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	password, err := a.readPassword(r)
	if err != nil {
		return err
	}
	secret, email, err := a.auth.StartTwoFactor(r.Context(), p, password)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, twoFactorSetup{Secret: secret, OTPAuthURL: auth.TOTPURL(email, secret),
		QRCodeURL: "/api/v1/me/two-factor/qr.png"})
	return nil
}

// handleTwoFactorQR draws the seed being set up as a QR code, for the
// phone's camera; the console shows it as an image of its own origin.
func (a *API) handleTwoFactorQR(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	secret, email, err := a.auth.PendingTwoFactor(r.Context(), p)
	if err != nil {
		return err
	}
	key, err := auth.TOTPKey(email, secret)
	if err != nil {
		return err
	}
	img, err := key.Image(256, 256)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	return png.Encode(w, img)
}

type codeRequest struct {
	Code string `json:"code"`
}

type recoveryCodes struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

func (a *API) handleConfirmTwoFactor(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req codeRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	if req.Code == "" {
		return parley.Errorf(parley.EINVALID, "code is required: the six digits the app shows")
	}
	codes, ended, err := a.auth.ConfirmTwoFactor(r.Context(), p, sessionHash(r), req.Code)
	if err != nil {
		return err
	}
	a.endSessions(ended)
	writeJSON(w, http.StatusOK, recoveryCodes{codes})
	return nil
}

func (a *API) handleDisableTwoFactor(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	password, err := a.readPassword(r)
	if err != nil {
		return err
	}
	ended, err := a.auth.DisableTwoFactor(r.Context(), p, sessionHash(r), password)
	if err != nil {
		return err
	}
	a.endSessions(ended)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) handleRenewRecoveryCodes(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	password, err := a.readPassword(r)
	if err != nil {
		return err
	}
	codes, err := a.auth.RenewRecoveryCodes(r.Context(), p, password)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, recoveryCodes{codes})
	return nil
}

// handleResetTwoFactor is an admin's help for a colleague who lost their
// phone and their recovery codes: two-factor authentication goes off and
// their sessions end; they log in with their password and set it up again.
func (a *API) handleResetTwoFactor(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	id := r.PathValue("id")
	if id == p.ID {
		// Not without the password: a console left open must not be
		// enough to take the second factor away.
		return parley.Errorf(parley.EINVALID, "turn your own two-factor authentication off with your password: POST /api/v1/me/two-factor/disable")
	}
	ended, err := a.auth.ResetTwoFactor(r.Context(), p.AccountID, id, nil)
	if err != nil {
		return err
	}
	a.endSessions(ended)
	u, err := a.store.FindUser(r.Context(), p.AccountID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

// meChange is what a person may change of their own profile here.
type meChange struct {
	// MentionEmails: an email when mentioned in a note while away.
	MentionEmails *bool `json:"mention_emails"`
	// FollowEmails: an email of what is new in the conversations they
	// follow, while away.
	FollowEmails *bool `json:"follow_emails"`
	// ReportEmails: the brand's weekly report, for supervisors and admins.
	ReportEmails *bool `json:"report_emails"`
}

// handleUpdateMe changes the user's own preferences.
func (a *API) handleUpdateMe(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	if p.Kind != parley.PrincipalUser {
		return parley.Errorf(parley.EFORBIDDEN, "only a person logged in to the console has a profile")
	}
	var req meChange
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	if req.MentionEmails == nil && req.FollowEmails == nil && req.ReportEmails == nil {
		return parley.Errorf(parley.EINVALID, "nothing to change: give mention_emails, follow_emails or report_emails (true or false)")
	}
	u, _, err := a.store.ChangeUser(r.Context(), p.AccountID, p.ID, nil, func(u *parley.User) error {
		if req.MentionEmails != nil {
			u.MentionEmailsOff = !*req.MentionEmails
		}
		if req.FollowEmails != nil {
			u.FollowEmailsOff = !*req.FollowEmails
		}
		if req.ReportEmails != nil {
			u.ReportEmailsOff = !*req.ReportEmails
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"mention_emails": !u.MentionEmailsOff, "follow_emails": !u.FollowEmailsOff, "report_emails": !u.ReportEmailsOff})
	return nil
}

// viewsBody is a person's saved inbox views.
type viewsBody struct {
	Views []parley.InboxView `json:"views"`
}

// handleMyViews lists the inbox views the person saved.
func (a *API) handleMyViews(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	if p.Kind != parley.PrincipalUser {
		return parley.Errorf(parley.EFORBIDDEN, "only a person logged in to the console has views")
	}
	u, err := a.store.FindUser(r.Context(), p.AccountID, p.ID)
	if err != nil {
		return err
	}
	out := viewsBody{Views: u.Views}
	if out.Views == nil {
		out.Views = []parley.InboxView{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleSaveMyViews replaces the person's saved inbox views, each checked
// against the brand's conversation fields.
func (a *API) handleSaveMyViews(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	if p.Kind != parley.PrincipalUser {
		return parley.Errorf(parley.EFORBIDDEN, "only a person logged in to the console has views")
	}
	var req viewsBody
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	if req.Views == nil {
		return parley.Errorf(parley.EINVALID, "views: give the whole list ([] removes them all)")
	}
	acc, err := a.store.FindAccount(r.Context(), p.AccountID)
	if err != nil {
		return err
	}
	views, err := parley.ValidateInboxViews("views", req.Views, acc.Settings.ConversationFields)
	if err != nil {
		return err
	}
	u, _, err := a.store.ChangeUser(r.Context(), p.AccountID, p.ID, nil, func(u *parley.User) error {
		u.Views = views
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewsBody{Views: append([]parley.InboxView{}, u.Views...)})
	return nil
}
