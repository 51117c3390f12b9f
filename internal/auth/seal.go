package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// Secrets the server must read back are kept encrypted (docs/security.md):
// TOTP seeds and brands' single sign-on client secrets. A copy of the
// database — a backup, a replica, a dump attached to a ticket — gives no
// one the codes of the staff's authenticator apps or the brands' identity
// providers. AES-256-GCM under a key derived from the installation's
// secret (which signs consumer tokens and lives in the data dir or
// --secret, not in the database), with the row's owner (a user's ID, an
// account's ID) as associated data: a sealed value copied onto another
// row does not open.

const sealedPrefix = "v1:"

// What each sealed value is for; each gets its own key.
const (
	sealSeeds      = "parley: TOTP seeds at rest, v1"
	sealSSOSecrets = "parley: SSO client secrets at rest, v1"
	sealIDTokens   = "parley: SSO ID tokens at rest, v1"
	signSSOTrips   = "parley: SSO round trips, v1"
	signCeremonies = "parley: passkey ceremonies, v1"
)

// signJSON encodes v for the browser to keep and bring back (a cookie):
// base64url JSON, a dot, and its HMAC under the purpose's key.
func (a *Authenticator) signJSON(label string, v any) string {
	b, _ := json.Marshal(v)
	payload := base64.RawURLEncoding.EncodeToString(b)
	m := hmac.New(sha256.New, a.key(label))
	m.Write([]byte(payload))
	return payload + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// readSignedJSON decodes into v what signJSON made for the same purpose,
// refusing anything altered.
func (a *Authenticator) readSignedJSON(label, signed string, v any) error {
	payload, sig, ok := strings.Cut(signed, ".")
	m := hmac.New(sha256.New, a.key(label))
	m.Write([]byte(payload))
	want := base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	if !ok || subtle.ConstantTimeCompare([]byte(sig), []byte(want)) != 1 {
		return errors.New("missing or altered")
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// key derives a key for one purpose: HMAC-SHA256 of its label under the
// installation's secret, so it is not the token-signing key itself.
func (a *Authenticator) key(label string) []byte {
	m := hmac.New(sha256.New, a.secret)
	m.Write([]byte(label))
	return m.Sum(nil)
}

func (a *Authenticator) cipher(label string) cipher.AEAD {
	block, err := aes.NewCipher(a.key(label))
	if err != nil {
		panic("auth: " + err.Error()) // a 32-byte key always makes a cipher
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic("auth: " + err.Error())
	}
	return gcm
}

// seal encrypts plain for storage in owner's row.
func (a *Authenticator) seal(label, owner, plain string) string {
	gcm := a.cipher(label)
	nonce := make([]byte, gcm.NonceSize())
	rand.Read(nonce)
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(gcm.Seal(nonce, nonce, []byte(plain), []byte(owner)))
}

var errSealed = errors.New("auth: a stored secret does not open with this installation's secret")

// open returns a sealed value in the clear. A value stored before it was
// sealed (no prefix) is returned as it is.
func (a *Authenticator) open(label, owner, stored string) (string, error) {
	raw, sealed := strings.CutPrefix(stored, sealedPrefix)
	if !sealed || stored == "" {
		return stored, nil
	}
	b, err := base64.RawStdEncoding.DecodeString(raw)
	gcm := a.cipher(label)
	if err != nil || len(b) < gcm.NonceSize() {
		return "", errSealed
	}
	plain, err := gcm.Open(nil, b[:gcm.NonceSize()], b[gcm.NonceSize():], []byte(owner))
	if err != nil {
		return "", errSealed
	}
	return string(plain), nil
}

// sealSeed encrypts a user's TOTP seed for storage.
func (a *Authenticator) sealSeed(userID, seed string) string { return a.seal(sealSeeds, userID, seed) }

// openSeed returns a stored seed in the clear (a seed stored before seeds
// were sealed, plain base32, as it is).
func (a *Authenticator) openSeed(userID, stored string) (string, error) {
	return a.open(sealSeeds, userID, stored)
}
