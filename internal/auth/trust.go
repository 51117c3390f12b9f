package auth

import (
	"context"
	"time"

	"github.com/parleychat/parley"
)

// Trusted browsers (docs/security.md): a person who logs in with their
// second factor may ask not to be asked for it again on that browser for
// a while — the account's TwoFactorRememberDays, 30 by default — as
// Zendesk's, Google's and GitHub's "remember this device" do. The browser
// keeps a signed note of who, when, and the person's BrowserTrust number;
// the password is still needed every time. Raising the number (a new
// password or second factor, deactivation, or "Forget trusted browsers")
// forgets every such browser at once, and a brand that shortens the time
// or turns it off shortens or ends the notes already given.

const signTrustedBrowsers = "parley: trusted browsers, v1"

// TrustedBrowserCookie names the cookie that keeps a person's note: one
// per person, so that colleagues sharing a workstation keep their own.
func TrustedBrowserCookie(userID string) string { return "parley_trusted_" + userID }

type browserTrust struct {
	User  string `json:"u"`
	Trust int    `json:"n"`
	At    int64  `json:"at"` // when it was given, Unix seconds
}

// TrustBrowser returns the note for a browser on which u has just logged
// in with their second factor, and how long it lasts; "" when the brand
// does not let its people trust browsers.
func (a *Authenticator) TrustBrowser(ctx context.Context, u *parley.User) (string, time.Duration, error) {
	acc, err := a.store.FindAccount(ctx, u.AccountID)
	if err != nil {
		return "", 0, err
	}
	d := acc.Settings.TrustBrowserFor()
	if d <= 0 {
		return "", 0, nil
	}
	return a.signJSON(signTrustedBrowsers, browserTrust{User: u.ID, Trust: u.BrowserTrust, At: a.now().Unix()}), d, nil
}

// TrustBrowserFor is how long the account's people may have a browser
// remember their second factor (0: not at all).
func (a *Authenticator) TrustBrowserFor(ctx context.Context, accountID string) (time.Duration, error) {
	acc, err := a.store.FindAccount(ctx, accountID)
	if err != nil {
		return 0, err
	}
	return acc.Settings.TrustBrowserFor(), nil
}

// browserTrusted reports whether note is u's, still current and within
// the time the brand allows now.
func (a *Authenticator) browserTrusted(ctx context.Context, u *parley.User, note string) bool {
	if note == "" {
		return false
	}
	var t browserTrust
	if err := a.readSignedJSON(signTrustedBrowsers, note, &t); err != nil || t.User != u.ID || t.Trust != u.BrowserTrust {
		return false
	}
	d, err := a.TrustBrowserFor(ctx, u.AccountID)
	if err != nil || d <= 0 {
		return false
	}
	at, now := time.Unix(t.At, 0), a.now()
	return now.Before(at.Add(d)) && !at.After(now.Add(time.Minute))
}

// ForgetTrustedBrowsers makes every browser u trusted ask for the second
// factor again.
func (a *Authenticator) ForgetTrustedBrowsers(ctx context.Context, accountID, userID string) error {
	_, _, err := a.store.ChangeUser(ctx, accountID, userID, nil, func(u *parley.User) error {
		u.BrowserTrust++
		return nil
	})
	return err
}
