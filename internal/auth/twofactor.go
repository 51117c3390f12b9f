package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"net/url"
	"strings"
	"time"

	"github.com/parleychat/parley"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Two-factor authentication of staff: time-based one-time passwords (TOTP,
// RFC 6238) with the parameters every authenticator app reads (SHA-1, six
// digits, 30-second steps), and single-use recovery codes for a lost phone.
const (
	totpPeriod = 30
	// totpSkew accepts the code of the step before or after the current
	// one: phones' clocks drift, and typing takes time.
	totpSkew = 1
	// RecoveryCodeCount is how many recovery codes a user gets at once.
	RecoveryCodeCount = 10
	// TOTPIssuer is the name authenticator apps show beside the account.
	TOTPIssuer = "Parley"
)

var (
	errTwoFactorRequired = parley.Errorf(parley.ETWOFACTOR, "enter the code from your authenticator app or a recovery code, or use a passkey")
	errBadCode           = parley.Errorf(parley.EUNAUTHORIZED, "the code is incorrect or was already used")
	errBadPassword       = parley.Errorf(parley.EINVALID, "the current password is incorrect")
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// TOTPURL is the otpauth:// URL of a seed, which authenticator apps read
// from a QR code.
func TOTPURL(email, secret string) string {
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", TOTPIssuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", "6")
	v.Set("period", "30")
	return "otpauth://totp/" + url.PathEscape(TOTPIssuer+":"+email) + "?" + v.Encode()
}

// TOTPKey is the seed's key, to draw its QR code.
func TOTPKey(email, secret string) (*otp.Key, error) {
	return otp.NewKeyFromURL(TOTPURL(email, secret))
}

// totpStep returns the time step (within totpSkew of now) whose code is
// code, or 0 when none is.
func totpStep(secret, code string, now time.Time) int64 {
	if len(code) != 6 {
		return 0
	}
	for d := -totpSkew; d <= totpSkew; d++ {
		t := now.Add(time.Duration(d) * totpPeriod * time.Second)
		want, err := totp.GenerateCodeCustom(secret, t, totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return t.Unix() / totpPeriod
		}
	}
	return 0
}

// normaliseCode drops what people type around a code: spaces, dashes, case.
func normaliseCode(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

func hashRecoveryCode(code string) string {
	sum := sha256.Sum256([]byte(normaliseCode(code)))
	return hex.EncodeToString(sum[:])
}

// newRecoveryCodes returns codes to show once ("k7p2m-x9q4d": 50 random
// bits each, so a plain hash is enough to store them) and their hashes.
func newRecoveryCodes() (shown, hashes []string) {
	enc := base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)
	for range RecoveryCodeCount {
		b := make([]byte, 7)
		rand.Read(b)
		s := enc.EncodeToString(b)[:10]
		shown = append(shown, s[:5]+"-"+s[5:])
		hashes = append(hashes, hashRecoveryCode(s))
	}
	return shown, hashes
}

// spendCode accepts a TOTP code of a later step than any accepted before,
// or an unused recovery code (which it crosses off), editing u.
func spendCode(u *parley.User, seed, code string, now time.Time) bool {
	code = normaliseCode(code)
	if step := totpStep(seed, code, now); step != 0 {
		if step <= u.TOTPLastStep {
			return false // this code (or a later one) was used: a replay
		}
		u.TOTPLastStep = step
		return true
	}
	h := hashRecoveryCode(code)
	for i, have := range u.RecoveryCodes {
		if subtle.ConstantTimeCompare([]byte(have), []byte(h)) == 1 {
			u.RecoveryCodes = append(u.RecoveryCodes[:i:i], u.RecoveryCodes[i+1:]...)
			return true
		}
	}
	return false
}

// secondFactor checks a login's code for a user with two-factor
// authentication on, spending it.
func (a *Authenticator) secondFactor(ctx context.Context, u *parley.User, code string) error {
	if strings.TrimSpace(code) == "" {
		return errTwoFactorRequired
	}
	_, _, err := a.store.ChangeUser(ctx, u.AccountID, u.ID, nil, func(u *parley.User) error {
		seed, err := a.openSeed(u.ID, u.TOTPSecret)
		if err != nil {
			return err
		}
		if !spendCode(u, seed, code, a.now()) {
			return errBadCode
		}
		return nil
	})
	return err
}

// person returns the user behind a console session's principal; API keys
// and visitors have no password or second factor.
func (a *Authenticator) person(ctx context.Context, p parley.Principal) (*parley.User, error) {
	if p.Kind != parley.PrincipalUser {
		return nil, parley.Errorf(parley.EFORBIDDEN, "only a person logged in to the console has a password and a second factor")
	}
	return a.store.FindUser(ctx, p.AccountID, p.ID)
}

// ChangePassword changes the user's own password when current is right,
// and ends their other sessions (keep is this session's token hash).
func (a *Authenticator) ChangePassword(ctx context.Context, p parley.Principal, keep []byte, current, next string) ([][]byte, error) {
	u, err := a.person(ctx, p)
	if err != nil {
		return nil, err
	}
	if !CheckPassword(u.PasswordHash, current) {
		return nil, errBadPassword
	}
	if err := CheckNewPassword(next); err != nil {
		return nil, err
	}
	hash, err := HashPassword(next, a.Password)
	if err != nil {
		return nil, err
	}
	_, ended, err := a.store.ChangeUser(ctx, p.AccountID, p.ID, keep, func(u *parley.User) error {
		u.PasswordHash = hash
		return nil
	})
	return ended, err
}

// StartTwoFactor makes a new seed for the user and keeps it aside until a
// code confirms it (ConfirmTwoFactor); it returns the seed to show.
func (a *Authenticator) StartTwoFactor(ctx context.Context, p parley.Principal, password string) (secret, email string, err error) {
	u, err := a.person(ctx, p)
	if err != nil {
		return "", "", err
	}
	if !CheckPassword(u.PasswordHash, password) {
		return "", "", errBadPassword
	}
	if u.TwoFactor {
		return "", "", parley.Errorf(parley.ECONFLICT, "two-factor authentication is already on; turn it off first to set up another device")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: TOTPIssuer, AccountName: u.Email, Period: totpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", "", err
	}
	_, _, err = a.store.ChangeUser(ctx, p.AccountID, p.ID, nil, func(u *parley.User) error {
		u.TOTPPending = a.sealSeed(u.ID, key.Secret())
		return nil
	})
	return key.Secret(), u.Email, err
}

// PendingTwoFactor returns the seed being set up and the user's email.
func (a *Authenticator) PendingTwoFactor(ctx context.Context, p parley.Principal) (secret, email string, err error) {
	u, err := a.person(ctx, p)
	if err != nil {
		return "", "", err
	}
	if u.TOTPPending == "" {
		return "", "", parley.Errorf(parley.ENOTFOUND, "no two-factor setup is in progress")
	}
	seed, err := a.openSeed(u.ID, u.TOTPPending)
	return seed, u.Email, err
}

// ConfirmTwoFactor turns two-factor authentication on when code comes
// from the seed being set up; it returns the recovery codes to show once,
// and the user's other sessions, which it ended.
func (a *Authenticator) ConfirmTwoFactor(ctx context.Context, p parley.Principal, keep []byte, code string) (codes []string, ended [][]byte, err error) {
	if _, err := a.person(ctx, p); err != nil {
		return nil, nil, err
	}
	shown, hashes := newRecoveryCodes()
	_, ended, err = a.store.ChangeUser(ctx, p.AccountID, p.ID, keep, func(u *parley.User) error {
		if u.TwoFactor {
			return parley.Errorf(parley.ECONFLICT, "two-factor authentication is already on")
		}
		if u.TOTPPending == "" {
			return parley.Errorf(parley.ECONFLICT, "start the setup first: no seed is waiting to be confirmed")
		}
		seed, err := a.openSeed(u.ID, u.TOTPPending)
		if err != nil {
			return err
		}
		step := totpStep(seed, normaliseCode(code), a.now())
		if step == 0 {
			return parley.Errorf(parley.EINVALID, "the code does not match; check the phone's clock and type the code the app shows now")
		}
		u.TOTPSecret, u.TOTPPending, u.TOTPLastStep, u.RecoveryCodes = u.TOTPPending, "", step, hashes
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return shown, ended, nil
}

// DisableTwoFactor turns the user's own two-factor authentication off,
// when password is right.
func (a *Authenticator) DisableTwoFactor(ctx context.Context, p parley.Principal, keep []byte, password string) ([][]byte, error) {
	u, err := a.person(ctx, p)
	if err != nil {
		return nil, err
	}
	if !CheckPassword(u.PasswordHash, password) {
		return nil, errBadPassword
	}
	return a.turnOffTOTP(ctx, p.AccountID, p.ID, keep)
}

func (a *Authenticator) turnOffTOTP(ctx context.Context, accountID, userID string, keep []byte) ([][]byte, error) {
	_, ended, err := a.store.ChangeUser(ctx, accountID, userID, keep, func(u *parley.User) error {
		u.TOTPSecret, u.TOTPPending, u.TOTPLastStep, u.RecoveryCodes = "", "", 0, nil
		return nil
	})
	return ended, err
}

// ResetTwoFactor takes away every second factor of a user — their
// authenticator app and their passkeys; an admin's help for someone who
// lost their phone and codes — and ends their sessions but keep.
func (a *Authenticator) ResetTwoFactor(ctx context.Context, accountID, userID string, keep []byte) ([][]byte, error) {
	ended, err := a.turnOffTOTP(ctx, accountID, userID, keep)
	if err != nil {
		return nil, err
	}
	if _, err := a.store.RemovePasskeys(ctx, accountID, userID); err != nil {
		return nil, err
	}
	if len(ended) == 0 {
		// Passkeys alone: their sessions end all the same.
		return a.store.EndSessions(ctx, accountID, userID, keep)
	}
	return ended, nil
}

// RenewRecoveryCodes replaces the user's recovery codes, when password is
// right, and returns the new ones to show once.
func (a *Authenticator) RenewRecoveryCodes(ctx context.Context, p parley.Principal, password string) ([]string, error) {
	u, err := a.person(ctx, p)
	if err != nil {
		return nil, err
	}
	if !CheckPassword(u.PasswordHash, password) {
		return nil, errBadPassword
	}
	shown, hashes := newRecoveryCodes()
	_, _, err = a.store.ChangeUser(ctx, p.AccountID, p.ID, nil, func(u *parley.User) error {
		if !u.TwoFactor {
			return parley.Errorf(parley.ECONFLICT, "two-factor authentication is off: there are no recovery codes")
		}
		u.RecoveryCodes = hashes
		return nil
	})
	if err != nil {
		return nil, err
	}
	return shown, nil
}

// TokenHash is how a session's token is stored (to name the session to
// keep when others end).
func TokenHash(token string) []byte { return hashToken(token) }
