package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/parleychat/parley"
)

// Names of the cookie and headers that carry credentials.
const (
	SessionCookie = "parley_session"
	CSRFHeader    = "X-CSRF-Token"
)

// Authenticator checks credentials against the store.
type Authenticator struct {
	store      parley.Store
	secret     []byte // signs consumer tokens
	now        func() time.Time
	SessionTTL time.Duration
	// ConsumerTokenTTL bounds how long a visitor's token is valid. Visitors
	// come back days later to the same conversation, so it is long.
	ConsumerTokenTTL time.Duration
	Password         PasswordParams
	// SSO reaches brands' identity providers; nil turns single sign-on off.
	SSO *SSOClient
}

// Prepare makes, in the background, the hash a login naming no known user
// is checked against (dummyHash), so that the first such login takes no
// longer than a wrong password. A server calls it once it is ready: an
// argon2 hash beside the start-up delayed readiness.
func Prepare() { go dummyHash() }

// New returns an Authenticator. secret signs consumer tokens; it must be the
// same on every node of a cluster and at least 32 bytes.
func New(store parley.Store, secret []byte) (*Authenticator, error) {
	if len(secret) < 32 {
		return nil, errors.New("auth: secret must be at least 32 bytes")
	}
	return &Authenticator{store: store, secret: secret, now: time.Now,
		SessionTTL: 12 * time.Hour, ConsumerTokenTTL: 180 * 24 * time.Hour, Password: DefaultPasswordParams}, nil
}

var errBadLogin = parley.Errorf(parley.EUNAUTHORIZED, "email or password is incorrect")

// Credentials are what a password login brings: the email and password,
// and for a person with a second factor one of: Code (a TOTP code or a
// recovery code, each accepted once) or Passkey (the answer of a passkey
// sign-in ceremony begun with StartPasskeyLogin).
type Credentials struct {
	Email, Password string
	Code            string
	Passkey         *PasskeyAnswer
	RemoteAddr      string
	// TrustedBrowser, when set, returns what the browser keeps for the
	// person of that ID from an earlier login with the second factor
	// (TrustBrowser; "" for nothing): while it holds, the password alone
	// signs them in on that browser.
	TrustedBrowser func(userID string) string
}

// Login checks a password login and starts a session. It returns the raw
// session token (for the cookie) and the session. A wrong email or
// password gives the same error, in about the same time, whichever was
// wrong; only then is a missing second factor (ETWOFACTOR for a person
// with an authenticator app, EPASSKEY for one with passkeys alone) or a
// wrong one told apart. A refused login of a known user returns that user
// too, for the audit log; the caller tells the client no more than the
// error.
func (a *Authenticator) Login(ctx context.Context, c Credentials) (token string, s *parley.Session, u *parley.User, err error) {
	email, password, remoteAddr := c.Email, c.Password, c.RemoteAddr
	u, err = a.store.FindUserByEmail(ctx, email)
	if err != nil {
		if parley.ErrorCode(err) != parley.ENOTFOUND {
			return "", nil, nil, err
		}
		CheckPassword(dummyHash(), password)
		return "", nil, nil, errBadLogin
	}
	if !CheckPassword(u.PasswordHash, password) || !u.Active {
		return "", nil, u, errBadLogin // the user, for the audit log only
	}
	// Checked once the password is right, so the refusal tells nothing of
	// an account to someone who does not know it.
	if err := a.ownCredentialsAllowed(ctx, u, remoteAddr); err != nil {
		return "", nil, u, err
	}
	if u.HasSecondFactor() {
		var err error
		switch {
		case c.Code == "" && c.Passkey == nil && c.TrustedBrowser != nil && a.browserTrusted(ctx, u, c.TrustedBrowser(u.ID)):
			// A second factor given is checked even so: only a checked
			// one may renew the browser's note (TrustBrowser).
		case c.Passkey != nil && u.Passkeys > 0:
			err = a.passkeySecondFactor(ctx, u, *c.Passkey)
		case u.TwoFactor:
			err = a.secondFactor(ctx, u, c.Code)
		default:
			err = errPasskeyNeeded
		}
		if err != nil {
			return "", nil, u, err // the user, for the audit log: the password was right
		}
	}
	token, s, err = a.startSession(ctx, u, false, "")
	if err != nil {
		return "", nil, nil, err
	}
	return token, s, u, nil
}

// ownCredentialsAllowed checks what a right password or passkey (Parley's
// own credentials) still needs: an address in the brand's console
// networks, and a brand that does not sign u in with single sign-on.
func (a *Authenticator) ownCredentialsAllowed(ctx context.Context, u *parley.User, remoteAddr string) error {
	if err := a.FromConsoleNetwork(ctx, u.AccountID, remoteAddr); err != nil {
		return err
	}
	if required, err := a.ssoRequired(ctx, u); err != nil || required {
		if err == nil {
			err = passwordRefused
		}
		return err
	}
	return nil
}

// startSession starts a session of u (begun by a single sign-on, or not)
// and returns its raw token.
// A session begun by a single sign-on keeps the provider's ID token
// (idToken), sealed to the person, for signing out at the provider.
func (a *Authenticator) startSession(ctx context.Context, u *parley.User, sso bool, idToken string) (string, *parley.Session, error) {
	token := randomToken()
	s := &parley.Session{TokenHash: hashToken(token), AccountID: u.AccountID, UserID: u.ID,
		CSRFToken: randomToken(), ExpiresAt: a.now().Add(a.SessionTTL), SSO: sso}
	if idToken != "" {
		s.IDToken = a.seal(sealIDTokens, u.ID, idToken)
	}
	if err := a.store.CreateSession(ctx, s); err != nil {
		return "", nil, err
	}
	return token, s, nil
}

// Logout ends the session of token.
func (a *Authenticator) Logout(ctx context.Context, token string) error {
	return a.store.DeleteSession(ctx, hashToken(token))
}

// Session returns the principal of a live session token, and the session.
func (a *Authenticator) Session(ctx context.Context, token string) (parley.Principal, *parley.Session, error) {
	s, err := a.store.FindSession(ctx, hashToken(token))
	if err != nil || !a.now().Before(s.ExpiresAt) {
		return parley.Principal{}, nil, parley.Errorf(parley.EUNAUTHORIZED, "session expired or unknown; log in again")
	}
	u, err := a.store.FindUser(ctx, s.AccountID, s.UserID)
	if err != nil || !u.Active {
		return parley.Principal{}, nil, parley.Errorf(parley.EUNAUTHORIZED, "session expired or unknown; log in again")
	}
	p := parley.Principal{AccountID: u.AccountID, Kind: parley.PrincipalUser, ID: u.ID, Role: u.Role, Name: u.Name}
	if !u.HasSecondFactor() && !s.SSO {
		acc, err := a.store.FindAccount(ctx, u.AccountID)
		if err != nil {
			return parley.Principal{}, nil, err
		}
		p.MustSetUpTwoFactor = acc.Settings.RequireTwoFactor
	}
	return p, s, nil
}

// FromConsoleNetwork refuses a person of the account whose address is
// outside the brand's console networks (when it has any).
func (a *Authenticator) FromConsoleNetwork(ctx context.Context, accountID, remoteAddr string) error {
	acc, err := a.store.FindAccount(ctx, accountID)
	if err != nil {
		return err
	}
	if len(acc.Settings.ConsoleNetworks) == 0 {
		return nil
	}
	networks, err := parley.ParseNetworks(acc.Settings.ConsoleNetworks)
	if err != nil {
		return err
	}
	if !parley.InNetworks(networks, remoteAddr) {
		return parley.ErrOutsideNetworks(remoteAddr)
	}
	return nil
}

// NewAPIKey creates a key for the account and returns the secret to show
// once: "<key id>.<secret>".
func (a *Authenticator) NewAPIKey(ctx context.Context, accountID, name string, role parley.Role) (*parley.APIKey, string, error) {
	if !role.Valid() {
		return nil, "", parley.Errorf(parley.EINVALID, "unknown role %q", role)
	}
	secret := randomToken()
	k := &parley.APIKey{AccountID: accountID, Name: name, Role: role, SecretHash: hashToken(secret)}
	if err := a.store.CreateAPIKey(ctx, k); err != nil {
		return nil, "", err
	}
	return k, k.ID + "." + secret, nil
}

// APIKey returns the principal of an API key in its shown form.
func (a *Authenticator) APIKey(ctx context.Context, shown string) (parley.Principal, error) {
	bad := parley.Errorf(parley.EUNAUTHORIZED, "API key is invalid or revoked")
	id, secret, ok := strings.Cut(shown, ".")
	if !ok || !parley.HasIDPrefix(id, "key") {
		return parley.Principal{}, bad
	}
	k, err := a.store.FindAPIKey(ctx, id)
	if err != nil {
		return parley.Principal{}, bad
	}
	if subtle.ConstantTimeCompare(hashToken(secret), k.SecretHash) != 1 {
		return parley.Principal{}, bad
	}
	return parley.Principal{AccountID: k.AccountID, Kind: parley.PrincipalAPIKey, ID: k.ID, Role: k.Role, Name: k.Name}, nil
}

// consumerClaims are the claims of a consumer token. The audience binds the
// token to one account.
type consumerClaims struct {
	Kind string `json:"knd"`
	jwt.RegisteredClaims
}

// ConsumerToken signs a token for a consumer of an account.
func (a *Authenticator) ConsumerToken(c *parley.Consumer) (string, time.Time, error) {
	now := a.now()
	exp := now.Add(a.ConsumerTokenTTL)
	claims := consumerClaims{Kind: "consumer", RegisteredClaims: jwt.RegisteredClaims{
		Issuer: "parley", Subject: c.ID, Audience: jwt.ClaimStrings{c.AccountID},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
	}}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(a.secret)
	return s, exp, err
}

// Consumer returns the principal of a consumer token.
func (a *Authenticator) Consumer(ctx context.Context, token string) (parley.Principal, error) {
	bad := parley.Errorf(parley.EUNAUTHORIZED, "consumer token is invalid or expired")
	var claims consumerClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return a.secret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("parley"), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(a.now))
	if err != nil || claims.Kind != "consumer" || len(claims.Audience) != 1 {
		return parley.Principal{}, bad
	}
	c, err := a.store.FindConsumer(ctx, claims.Audience[0], claims.Subject)
	if err != nil {
		return parley.Principal{}, bad
	}
	if c.MergedInto != "" {
		// Staff merged this visitor into another contact (the same person
		// twice): their browser holds the old token, and is that contact
		// now. Merges are kept one hop deep.
		if c, err = a.store.FindConsumer(ctx, claims.Audience[0], c.MergedInto); err != nil {
			return parley.Principal{}, bad
		}
	}
	if c.Blocked {
		return parley.Principal{}, parley.Errorf(parley.EFORBIDDEN, "this chat is not available to you")
	}
	return parley.Principal{AccountID: c.AccountID, Kind: parley.PrincipalConsumer, ID: c.ID, Name: c.Name}, nil
}

// Request authenticates an HTTP request: a bearer API key or consumer token
// in Authorization, else the session cookie. For cookie sessions,
// state-changing methods must carry the session's CSRF token in X-CSRF-Token.
func (a *Authenticator) Request(r *http.Request) (parley.Principal, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || token == "" {
			return parley.Principal{}, parley.Errorf(parley.EUNAUTHORIZED, "Authorization must be \"Bearer <API key or consumer token>\"")
		}
		if strings.HasPrefix(token, "key_") {
			return a.APIKey(ctx, token)
		}
		return a.Consumer(ctx, token)
	}
	cookie, err := r.Cookie(SessionCookie)
	if err != nil || cookie.Value == "" {
		return parley.Principal{}, parley.Errorf(parley.EUNAUTHORIZED, "authentication required")
	}
	p, s, err := a.Session(ctx, cookie.Value)
	if err != nil {
		return parley.Principal{}, err
	}
	if err := a.FromConsoleNetwork(ctx, p.AccountID, r.RemoteAddr); err != nil {
		return parley.Principal{}, err
	}
	if !safeMethod(r.Method) {
		got := r.Header.Get(CSRFHeader)
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRFToken)) != 1 {
			return parley.Principal{}, parley.Errorf(parley.EFORBIDDEN, "missing or wrong %s header", CSRFHeader)
		}
	}
	return p, nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("auth: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// SessionKey names a session without revealing its token (for closing the
// sockets opened with it at logout).
func SessionKey(token string) string { return base64.RawURLEncoding.EncodeToString(hashToken(token)) }

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
