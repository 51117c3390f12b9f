// Package auth proves who is calling: user passwords and login sessions
// (with CSRF tokens), per-account API keys, and signed consumer tokens for
// website visitors. It turns each credential into a parley.Principal.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/parleychat/parley"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are argon2id's cost settings. The defaults follow OWASP's
// password storage guidance (19 MiB, 2 passes, 1 lane).
type PasswordParams struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultPasswordParams are used for new hashes.
var DefaultPasswordParams = PasswordParams{Memory: 19 * 1024, Time: 2, Threads: 1}

// MinPasswordLength is the shortest password accepted for a new user.
const MinPasswordLength = 8

// CheckNewPassword says what is wrong with a password chosen for an
// account, if anything.
func CheckNewPassword(pw string) error {
	if n := utf8.RuneCountInString(pw); n < MinPasswordLength {
		return parley.Errorf(parley.EINVALID, "password must have at least %d characters", MinPasswordLength)
	}
	if len(pw) > 1024 {
		return parley.Errorf(parley.EINVALID, "password has %d bytes; the limit is 1024", len(pw))
	}
	return nil
}

// HashPassword returns an argon2id hash in the PHC string format.
func HashPassword(password string, p PasswordParams) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches the PHC-format hash.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	var p PasswordParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked when a login names no known user, so that the
// response takes as long as for a wrong password. It is made on first use,
// or by Prepare once the server is ready: an argon2 hash at start-up would
// delay every `parley serve` by tens of milliseconds.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("parley-no-such-user", DefaultPasswordParams)
	return h
})
