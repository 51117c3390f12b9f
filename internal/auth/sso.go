package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/parleychat/parley"
	"golang.org/x/oauth2"
)

// Single sign-on over OpenID Connect (docs/security.md): the brand's
// identity provider proves who someone is, and Parley starts an ordinary
// session for the person of the brand with that email.

// SSOCookie carries one sign-in's round trip to the provider and back:
// signed, short-lived, and scoped to the callback's path.
const SSOCookie = "parley_sso"

// SSOTripTTL is how long a sign-in at the provider may take.
const SSOTripTTL = 10 * time.Minute

// providerTTL is how long a provider's discovery document is trusted
// before it is read again (its keys are refreshed by go-oidc itself when
// a token names a new one).
const providerTTL = time.Hour

// SSO reasons a sign-in was refused, sent back to the console
// (/console/#sso_error=…), which explains each.
const (
	SSOErrNotConfigured = "not_configured" // no single sign-on for this address or brand
	SSOErrTrip          = "expired"        // the round trip's cookie is missing, altered or late
	SSOErrProvider      = "provider"       // the provider refused, or its answer did not check out
	SSOErrCancelled     = "cancelled"      // the person stopped at the provider
	SSOErrNoEmail       = "no_email"       // the provider gave no email, or one it has not verified
	SSOErrUnknown       = "unknown_person" // the brand has no person of that email
	SSOErrInactive      = "deactivated"    // the person is deactivated
	SSOErrNetwork       = "network"        // outside the brand's console networks
	// SSOErrOtherAccount: the person is linked to another account of the
	// provider (its email changed hands there), or this account is
	// another person's.
	SSOErrOtherAccount = "other_account"
)

// SSOError is a refused sign-in: Reason for the console, Err for the log
// and the audit entry.
type SSOError struct {
	Reason string
	Err    error
	// Email is the address the provider vouched for, once known.
	Email string
}

func (e *SSOError) Error() string {
	if e.Err == nil {
		return "sso: " + e.Reason
	}
	return "sso: " + e.Reason + ": " + e.Err.Error()
}

func (e *SSOError) Unwrap() error { return e.Err }

func ssoErr(reason string, err error) error { return &SSOError{Reason: reason, Err: err} }

// SSOReason returns the reason of a refused sign-in (SSOErrProvider for
// an error that is not an *SSOError).
func SSOReason(err error) string {
	var e *SSOError
	if errors.As(err, &e) {
		return e.Reason
	}
	return SSOErrProvider
}

// SSOClient is the HTTP client that reaches identity providers: the
// guarded outbound client (internal/outbound), so an issuer cannot be
// pointed at the installation's private network. AllowHTTPIssuer admits
// plain-HTTP issuers (development and tests, with the same flag).
type SSOClient struct {
	HTTP            *http.Client
	AllowHTTPIssuer bool

	mu        sync.Mutex
	providers map[string]cachedProvider
}

type cachedProvider struct {
	p  *oidc.Provider
	at time.Time
}

// provider returns the issuer's provider, read from its discovery
// document at most once an hour.
func (a *Authenticator) provider(issuer string) (*oidc.Provider, error) {
	c := a.SSO
	if c == nil {
		return nil, errors.New("auth: no SSO client")
	}
	c.mu.Lock()
	cp, ok := c.providers[issuer]
	c.mu.Unlock()
	if ok && a.now().Sub(cp.at) < providerTTL {
		return cp.p, nil
	}
	// The provider keeps this context to fetch its keys later: it must
	// outlive the request. The client's own timeout bounds each call.
	p, err := oidc.NewProvider(oidc.ClientContext(context.Background(), c.HTTP), issuer)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.providers == nil {
		c.providers = map[string]cachedProvider{}
	}
	c.providers[issuer] = cachedProvider{p, a.now()}
	c.mu.Unlock()
	return p, nil
}

// SaveSSO checks and stores a brand's single sign-on settings. An empty
// ClientSecret keeps the one stored. The provider's discovery document is
// read first: an issuer that does not answer as one is refused now, not
// at the first sign-in. An issuer given with or without the trailing
// slash its provider states is stored as the provider states it.
func (a *Authenticator) SaveSSO(ctx context.Context, accountID string, s *parley.SSO) error {
	if s.ClientSecret == "" {
		if old, err := a.store.FindSSO(ctx, accountID); err == nil {
			if s.ClientSecret, err = a.open(sealSSOSecrets, accountID, old.ClientSecret); err != nil {
				return err
			}
		}
	}
	allowHTTP := a.SSO != nil && a.SSO.AllowHTTPIssuer
	if err := s.Check(allowHTTP); err != nil {
		return err
	}
	if _, err := a.provider(s.Issuer); err != nil {
		var mismatch *oidc.IssuerMismatchError
		if !errors.As(err, &mismatch) || strings.TrimSuffix(mismatch.Discovered, "/") != strings.TrimSuffix(s.Issuer, "/") {
			return parley.Errorf(parley.EINVALID, "issuer: %s does not answer as an OpenID Connect provider (%v)", s.Issuer, err)
		}
		s.Issuer = mismatch.Discovered
		if _, err := a.provider(s.Issuer); err != nil {
			return parley.Errorf(parley.EINVALID, "issuer: %s does not answer as an OpenID Connect provider (%v)", s.Issuer, err)
		}
	}
	sealed := *s
	sealed.ClientSecret = a.seal(sealSSOSecrets, accountID, s.ClientSecret)
	if err := a.store.SetSSO(ctx, accountID, &sealed); err != nil {
		return err
	}
	s.UpdatedAt = sealed.UpdatedAt
	return nil
}

// ssoTrip is what the round-trip cookie holds.
type ssoTrip struct {
	Account  string `json:"a"`
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Started  int64  `json:"t"` // Unix seconds
}

// StartSSO begins a sign-in at the identity provider of the brand of
// email (a person it has, or else the brand whose single sign-on claims
// the email's domain) or, with email empty, of accountID. It returns
// where to send the browser and the round-trip cookie's value.
// redirectURI is the callback's absolute URL, as registered at the
// provider. An address or brand without single sign-on is ENOTFOUND,
// whichever it is, so the answer tells no more than that.
func (a *Authenticator) StartSSO(ctx context.Context, email, accountID, redirectURI string) (authURL, cookie string, err error) {
	notConfigured := parley.Errorf(parley.ENOTFOUND, "no single sign-on for this address; log in with your password")
	if email != "" {
		u, err := a.store.FindUserByEmail(ctx, email)
		switch {
		case err == nil:
			accountID = u.AccountID
		case parley.ErrorCode(err) != parley.ENOTFOUND:
			return "", "", err
		default:
			// Someone the installation does not know yet: the brand whose
			// single sign-on claims their email's domain, if one does (it
			// makes them at their first sign-in, or says it does not).
			_, domain, _ := strings.Cut(strings.ToLower(strings.TrimSpace(email)), "@")
			if accountID, err = a.store.FindSSODomain(ctx, domain); err != nil {
				if parley.ErrorCode(err) == parley.ENOTFOUND {
					return "", "", notConfigured
				}
				return "", "", err
			}
		}
	}
	_, oc, err := a.ssoConfig(ctx, accountID, redirectURI)
	if err != nil {
		if parley.ErrorCode(err) == parley.ENOTFOUND {
			return "", "", notConfigured
		}
		return "", "", err
	}
	trip := ssoTrip{Account: accountID, State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(), Started: a.now().Unix()}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(trip.Nonce), oauth2.S256ChallengeOption(trip.Verifier)}
	if email != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", email))
	}
	return oc.AuthCodeURL(trip.State, opts...), a.signTrip(trip), nil
}

// ssoConfig reads the brand's settings and makes the OAuth 2.0 client of
// its provider.
func (a *Authenticator) ssoConfig(ctx context.Context, accountID, redirectURI string) (*parley.SSO, *oauth2.Config, error) {
	cfg, err := a.store.FindSSO(ctx, accountID)
	if err != nil {
		return nil, nil, err
	}
	secret, err := a.open(sealSSOSecrets, accountID, cfg.ClientSecret)
	if err != nil {
		return nil, nil, err
	}
	p, err := a.provider(cfg.Issuer)
	if err != nil {
		return nil, nil, parley.Errorf(parley.EUNAVAILABLE, "the identity provider %s does not answer (%v)", cfg.Issuer, err)
	}
	return cfg, &oauth2.Config{ClientID: cfg.ClientID, ClientSecret: secret, Endpoint: p.Endpoint(),
		RedirectURL: redirectURI, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}, nil
}

func (a *Authenticator) signTrip(t ssoTrip) string { return a.signJSON(signSSOTrips, t) }

func (a *Authenticator) readTrip(cookie string) (ssoTrip, error) {
	var t ssoTrip
	if err := a.readSignedJSON(signSSOTrips, cookie, &t); err != nil {
		return t, errors.New("the round trip's cookie is missing, altered or does not read")
	}
	if age := a.now().Sub(time.Unix(t.Started, 0)); age > SSOTripTTL || age < -time.Minute {
		return t, errors.New("the sign-in took longer than " + SSOTripTTL.String())
	}
	return t, nil
}

// SSOCallback is what the provider sent the browser back with.
type SSOCallback struct {
	Cookie     string // the round trip's cookie
	State      string
	Code       string
	Error      string // the provider's error, when it refused ("access_denied")
	RemoteAddr string
}

// FinishSSO completes a sign-in: it checks the round trip, exchanges the
// code for tokens, checks the ID token, finds (or, as the brand allows,
// makes) the person and starts their session. A refusal is an *SSOError;
// its user is returned when the person is known, for the audit log, and
// so is the account the sign-in was for.
func (a *Authenticator) FinishSSO(ctx context.Context, cb SSOCallback, redirectURI string) (token string, s *parley.Session, u *parley.User, accountID string, err error) {
	trip, err := a.readTrip(cb.Cookie)
	if err != nil {
		return "", nil, nil, "", ssoErr(SSOErrTrip, err)
	}
	accountID = trip.Account
	if subtle.ConstantTimeCompare([]byte(cb.State), []byte(trip.State)) != 1 {
		return "", nil, nil, accountID, ssoErr(SSOErrTrip, errors.New("the state does not match this browser's sign-in"))
	}
	if cb.Error != "" {
		reason := SSOErrProvider
		if cb.Error == "access_denied" {
			reason = SSOErrCancelled
		}
		return "", nil, nil, accountID, ssoErr(reason, errors.New("the provider answered "+cb.Error))
	}
	cfg, oc, err := a.ssoConfig(ctx, accountID, redirectURI)
	if err != nil {
		if parley.ErrorCode(err) == parley.ENOTFOUND {
			return "", nil, nil, accountID, ssoErr(SSOErrNotConfigured, err)
		}
		return "", nil, nil, accountID, ssoErr(SSOErrProvider, err)
	}
	hctx := oidc.ClientContext(ctx, a.SSO.HTTP)
	tok, err := oc.Exchange(hctx, cb.Code, oauth2.VerifierOption(trip.Verifier))
	if err != nil {
		return "", nil, nil, accountID, ssoErr(SSOErrProvider, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", nil, nil, accountID, ssoErr(SSOErrProvider, errors.New("the provider's answer has no ID token"))
	}
	p, err := a.provider(cfg.Issuer)
	if err != nil {
		return "", nil, nil, accountID, ssoErr(SSOErrProvider, err)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: a.now}).Verify(hctx, raw)
	if err != nil {
		return "", nil, nil, accountID, ssoErr(SSOErrProvider, err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(trip.Nonce)) != 1 {
		return "", nil, nil, accountID, ssoErr(SSOErrProvider, errors.New("the ID token's nonce is not this sign-in's"))
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified *bool  `json:"email_verified"`
		Name          string `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil {
		return "", nil, nil, accountID, ssoErr(SSOErrProvider, err)
	}
	claims.Email = strings.TrimSpace(claims.Email)
	if claims.Email == "" || (claims.EmailVerified != nil && !*claims.EmailVerified) {
		return "", nil, nil, accountID, ssoErr(SSOErrNoEmail, errors.New("the ID token of "+idt.Subject+" has no verified email"))
	}
	// The person linked to this account of the provider is who signs in,
	// whatever address the provider gives them now (it may have changed
	// since); anyone else is found by their email.
	u, err = a.store.FindUserBySSOSubject(ctx, accountID, parley.SSOSubjectOf(cfg.Issuer, idt.Subject))
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		u, err = a.store.FindUserByEmail(ctx, claims.Email)
	}
	switch {
	case err == nil && u.AccountID != accountID:
		// Someone of another brand, or an email the provider should not
		// have vouched for: the brand's provider speaks for its own.
		return "", nil, nil, accountID, &SSOError{Reason: SSOErrUnknown, Email: claims.Email, Err: errors.New(claims.Email + " is not a person of this brand")}
	case err != nil && parley.ErrorCode(err) != parley.ENOTFOUND:
		return "", nil, nil, accountID, err
	case err != nil && !cfg.Provisions(claims.Email):
		return "", nil, nil, accountID, &SSOError{Reason: SSOErrUnknown, Email: claims.Email, Err: errors.New(claims.Email + " is not a person of this brand")}
	case err != nil:
		name := strings.TrimSpace(claims.Name)
		if name == "" {
			name, _, _ = strings.Cut(claims.Email, "@")
		}
		u = &parley.User{AccountID: accountID, Email: claims.Email, Name: name, Role: cfg.ProvisionRole, MaxConcurrent: 3, Active: true}
		if err := a.store.CreateUser(ctx, u); err != nil {
			return "", nil, nil, accountID, err
		}
	}
	if !u.Active {
		return "", nil, u, accountID, ssoErr(SSOErrInactive, errors.New(u.Email+" is deactivated"))
	}
	if err := a.FromConsoleNetwork(ctx, accountID, cb.RemoteAddr); err != nil {
		return "", nil, u, accountID, ssoErr(SSOErrNetwork, err)
	}
	if u, err = a.linkSSOSubject(ctx, u, cfg.Issuer, idt.Subject); err != nil {
		return "", nil, u, accountID, err
	}
	token, s, err = a.startSession(ctx, u, true, raw)
	if err != nil {
		return "", nil, nil, accountID, err
	}
	return token, s, u, accountID, nil
}

// linkSSOSubject holds a person to the account of the brand's provider
// they first signed in with. An email is the provider's to change: one
// that lets its users edit theirs would otherwise let someone sign in as
// a colleague by taking the colleague's address. The first sign-in links
// the person to its subject; a later one from another subject of the
// same issuer is refused, and so is linking a subject that is another
// person's already. A link made under another issuer (the brand changed
// providers) is replaced at the next sign-in. An admin unlinks a person
// whose provider account was made again (DELETE /users/{id}/sso-link).
func (a *Authenticator) linkSSOSubject(ctx context.Context, u *parley.User, issuer, subject string) (*parley.User, error) {
	key := parley.SSOSubjectOf(issuer, subject)
	if u.SSOSubject == key {
		return u, nil
	}
	if strings.HasPrefix(u.SSOSubject, issuer+" ") {
		return u, &SSOError{Reason: SSOErrOtherAccount, Email: u.Email,
			Err: fmt.Errorf("%s is linked to another account of the identity provider, not %q", u.Email, subject)}
	}
	linked, _, err := a.store.ChangeUser(ctx, u.AccountID, u.ID, nil, func(v *parley.User) error {
		if v.SSOSubject != "" && v.SSOSubject != u.SSOSubject {
			return parley.Errorf(parley.ECONFLICT, "linked meanwhile") // another sign-in won the race
		}
		v.SSOSubject = key
		return nil
	})
	if parley.ErrorCode(err) == parley.ECONFLICT {
		return u, &SSOError{Reason: SSOErrOtherAccount, Email: u.Email,
			Err: fmt.Errorf("the identity provider's account %q is another person's, or %s was linked meanwhile", subject, u.Email)}
	}
	if err != nil {
		return u, err
	}
	return linked, nil
}

// passwordRefused is the answer to a password login the brand's single
// sign-on rules out.
var passwordRefused = parley.Errorf(parley.ESSOREQUIRED, "your brand signs you in with single sign-on: use \"Sign in with SSO\"")

// ssoRequired reports whether u must sign in with single sign-on: the
// brand requires it, and u is not an admin (admins keep their password,
// so a broken provider cannot lock the brand out).
func (a *Authenticator) ssoRequired(ctx context.Context, u *parley.User) (bool, error) {
	if u.Role == parley.RoleAdmin {
		return false, nil
	}
	cfg, err := a.store.FindSSO(ctx, u.AccountID)
	if err != nil {
		if parley.ErrorCode(err) == parley.ENOTFOUND {
			return false, nil
		}
		return false, err
	}
	return cfg.Required, nil
}

// SignOutURL is where to send the browser of a session that is ending so
// that the brand's provider ends its own session too (OpenID Connect
// RP-initiated logout): its end_session_endpoint, with the ID token the
// session began with as the hint and postLogout as where to come back.
// "" when there is nowhere to go: the session was not a single sign-on's,
// the brand has not turned signing out at the provider on, or the
// provider does not offer it.
func (a *Authenticator) SignOutURL(ctx context.Context, s *parley.Session, postLogout string) (string, error) {
	if !s.SSO || s.IDToken == "" || a.SSO == nil {
		return "", nil
	}
	cfg, err := a.store.FindSSO(ctx, s.AccountID)
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		return "", nil
	} else if err != nil {
		return "", err
	}
	if !cfg.SignOut {
		return "", nil
	}
	p, err := a.provider(cfg.Issuer)
	if err != nil {
		return "", nil // the provider is unreachable: Parley's own logout stands
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&meta); err != nil || meta.EndSession == "" {
		return "", nil
	}
	hint, err := a.open(sealIDTokens, s.UserID, s.IDToken)
	if err != nil {
		return "", nil
	}
	u, err := url.Parse(meta.EndSession)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", nil
	}
	q := u.Query()
	q.Set("id_token_hint", hint)
	q.Set("client_id", cfg.ClientID)
	q.Set("post_logout_redirect_uri", postLogout)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
