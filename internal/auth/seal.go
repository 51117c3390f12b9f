package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// TOTP seeds are kept encrypted (docs/security.md): a copy of the database
// — a backup, a replica, a dump attached to a ticket — gives no one the
// codes of the staff's authenticator apps. AES-256-GCM under a key derived
// from the installation's secret (which signs consumer tokens and lives
// in the data dir or --secret, not in the database), with the user's ID
// as associated data: a sealed seed copied onto another user's row does
// not open.

const sealedPrefix = "v1:"

// seedKey is the seeds' key: HMAC-SHA256 of a fixed label under the
// installation's secret, so it is not the token-signing key itself.
func (a *Authenticator) seedKey() []byte {
	m := hmac.New(sha256.New, a.secret)
	m.Write([]byte("parley: TOTP seeds at rest, v1"))
	return m.Sum(nil)
}

func (a *Authenticator) seedCipher() cipher.AEAD {
	block, err := aes.NewCipher(a.seedKey())
	if err != nil {
		panic("auth: " + err.Error()) // a 32-byte key always makes a cipher
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic("auth: " + err.Error())
	}
	return gcm
}

// sealSeed encrypts a user's seed for storage.
func (a *Authenticator) sealSeed(userID, seed string) string {
	gcm := a.seedCipher()
	nonce := make([]byte, gcm.NonceSize())
	rand.Read(nonce)
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(gcm.Seal(nonce, nonce, []byte(seed), []byte(userID)))
}

var errSeed = errors.New("auth: a stored TOTP seed does not open with this installation's secret")

// openSeed returns a stored seed in the clear. A seed stored before
// seeds were sealed (plain base32) is returned as it is.
func (a *Authenticator) openSeed(userID, stored string) (string, error) {
	raw, sealed := strings.CutPrefix(stored, sealedPrefix)
	if !sealed || stored == "" {
		return stored, nil
	}
	b, err := base64.RawStdEncoding.DecodeString(raw)
	gcm := a.seedCipher()
	if err != nil || len(b) < gcm.NonceSize() {
		return "", errSeed
	}
	seed, err := gcm.Open(nil, b[:gcm.NonceSize()], b[gcm.NonceSize():], []byte(userID))
	if err != nil {
		return "", errSeed
	}
	return string(seed), nil
}
