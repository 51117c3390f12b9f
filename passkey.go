package parley

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Passkey is a person's WebAuthn credential — a passkey kept by their
// phone, computer or password manager, or a security key
// (docs/security.md, Passkeys): it signs them in without a password, and
// serves as the second factor after one.
type Passkey struct {
	// ID is the credential's ID as the authenticator made it, base64url
	// without padding; unique in the installation.
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	UserID    string `json:"user_id"`
	// Name is what the person called it ("Work laptop").
	Name string `json:"name"`
	// RPID is the host name it was made for; browsers offer it nowhere else.
	RPID string `json:"rp_id"`
	// Credential is the verifier's record of it (public key, signature
	// counter, flags; internal/auth's format), never sent out.
	Credential []byte    `json:"-"`
	CreatedAt  time.Time `json:"created_at"`
	// LastUsedAt is zero until it first signs its owner in.
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// Passkey limits.
const (
	MaxPasskeysPerUser = 10
	MaxPasskeyName     = 64
)

// CheckPasskeyName tidies a passkey's name (empty becomes "Passkey").
func CheckPasskeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "Passkey"
	}
	if utf8.RuneCountInString(name) > MaxPasskeyName || strings.ContainsAny(name, "\r\n\t") {
		return "", Errorf(EINVALID, "name: at most %d characters on one line", MaxPasskeyName)
	}
	return name, nil
}

// HasSecondFactor reports whether a login of u needs more than the
// password: an authenticator app's code or a passkey.
func (u *User) HasSecondFactor() bool { return u.TwoFactor || u.Passkeys > 0 }
