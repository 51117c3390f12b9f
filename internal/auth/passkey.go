package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/parleychat/parley"
)

// Passkeys and security keys (docs/security.md, Passkeys): WebAuthn
// credentials of the staff. A person adds them in their profile; one
// signs them in alone ("Sign in with a passkey": the authenticator checks
// who holds it, so it is two factors by itself), or confirms a password
// login as the second factor. Both ceremonies keep their state in a
// signed cookie, so the answer may reach any node.

// PasskeyCookie carries one ceremony's state between its two requests.
const PasskeyCookie = "parley_passkey"

// PasskeyCeremonyTTL is how long the browser and the person may take.
const PasskeyCeremonyTTL = 5 * time.Minute

// RelyingParty is where a ceremony happens, as the browser sees it: the
// console's host name (the credential's scope) and its origin.
type RelyingParty struct {
	ID     string // host name, no port: "chat.acme.example"
	Origin string // "https://chat.acme.example"
}

// PasskeyAnswer is a browser's answer to a sign-in ceremony: the state
// cookie the ceremony began with and the credential it returned (the JSON
// of a PublicKeyCredential).
type PasskeyAnswer struct {
	Ceremony string
	Response json.RawMessage
	RP       RelyingParty
}

type ceremony struct {
	Kind    string               `json:"k"` // "register" or "login"
	Account string               `json:"a,omitempty"`
	User    string               `json:"u,omitempty"`
	Session webauthn.SessionData `json:"s"`
	Started int64                `json:"t"` // Unix seconds
}

var (
	errCeremony      = parley.Errorf(parley.EUNAUTHORIZED, "the passkey request expired or was not started here; try again")
	errPasskeyAnswer = parley.Errorf(parley.EUNAUTHORIZED, "that passkey is not registered for a person here, or its answer did not check out")
	errPasskeyNeeded = parley.Errorf(parley.EPASSKEY, "confirm with one of your passkeys")
)

// webauthnUser is a person as the WebAuthn library sees them: their user
// handle is their user ID (random, never an email).
type webauthnUser struct {
	u     *parley.User
	creds []webauthn.Credential
}

func (w webauthnUser) WebAuthnID() []byte                         { return []byte(w.u.ID) }
func (w webauthnUser) WebAuthnName() string                       { return w.u.Email }
func (w webauthnUser) WebAuthnDisplayName() string                { return w.u.Name }
func (w webauthnUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }

func relyingParty(rp RelyingParty) (*webauthn.WebAuthn, error) {
	if net.ParseIP(rp.ID) != nil || rp.ID == "" {
		// Browsers make passkeys for domain names only.
		return nil, fmt.Errorf("%q is an IP address; open the console at a domain name (localhost will do on this machine)", rp.ID)
	}
	return webauthn.New(&webauthn.Config{RPID: rp.ID, RPDisplayName: "Parley", RPOrigins: []string{rp.Origin},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: PasskeyCeremonyTTL},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: PasskeyCeremonyTTL},
		}})
}

// passkeyUser loads a person and their credentials for a ceremony.
func (a *Authenticator) passkeyUser(ctx context.Context, u *parley.User) (webauthnUser, error) {
	pks, err := a.store.Passkeys(ctx, u.AccountID, u.ID)
	if err != nil {
		return webauthnUser{}, err
	}
	w := webauthnUser{u: u}
	for _, pk := range pks {
		var c webauthn.Credential
		if err := json.Unmarshal(pk.Credential, &c); err != nil {
			return webauthnUser{}, err
		}
		w.creds = append(w.creds, c)
	}
	return w, nil
}

func (a *Authenticator) readCeremony(signed, kind string) (ceremony, error) {
	var c ceremony
	if err := a.readSignedJSON(signCeremonies, signed, &c); err != nil || c.Kind != kind {
		return c, errCeremony
	}
	if age := a.now().Sub(time.Unix(c.Started, 0)); age > PasskeyCeremonyTTL || age < -time.Minute {
		return c, errCeremony
	}
	return c, nil
}

// StartPasskeyRegistration begins adding a passkey for the person of p,
// who confirms with their password (people made by single sign-on have
// none, and need not). It returns the options for
// navigator.credentials.create and the ceremony's cookie.
func (a *Authenticator) StartPasskeyRegistration(ctx context.Context, p parley.Principal, password string, rp RelyingParty) (*protocol.CredentialCreation, string, error) {
	u, err := a.person(ctx, p)
	if err != nil {
		return nil, "", err
	}
	if u.PasswordHash != "" && !CheckPassword(u.PasswordHash, password) {
		return nil, "", errBadPassword
	}
	if u.Passkeys >= parley.MaxPasskeysPerUser {
		return nil, "", parley.Errorf(parley.ECONFLICT, "you have %d passkeys, the most one person may have; remove one first", u.Passkeys)
	}
	w, err := a.passkeyUser(ctx, u)
	if err != nil {
		return nil, "", err
	}
	wa, err := relyingParty(rp)
	if err != nil {
		return nil, "", parley.Errorf(parley.EINVALID, "%v", err)
	}
	exclude := make([]protocol.CredentialDescriptor, 0, len(w.creds))
	for i := range w.creds {
		exclude = append(exclude, w.creds[i].Descriptor())
	}
	// Discoverable (the person picks it without typing their email) and
	// verified by the authenticator (a PIN, a fingerprint, a face).
	creation, session, err := wa.BeginRegistration(w,
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, UserVerification: protocol.VerificationRequired}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithExclusions(exclude))
	if err != nil {
		return nil, "", err
	}
	return creation, a.signJSON(signCeremonies, ceremony{Kind: "register", Account: u.AccountID, User: u.ID,
		Session: *session, Started: a.now().Unix()}), nil
}

// FinishPasskeyRegistration checks the browser's answer to a
// registration and stores the new passkey under name.
func (a *Authenticator) FinishPasskeyRegistration(ctx context.Context, p parley.Principal, name string, answer PasskeyAnswer) (*parley.Passkey, error) {
	u, err := a.person(ctx, p)
	if err != nil {
		return nil, err
	}
	name, err = parley.CheckPasskeyName(name)
	if err != nil {
		return nil, err
	}
	c, err := a.readCeremony(answer.Ceremony, "register")
	if err != nil {
		return nil, err
	}
	if c.Account != p.AccountID || c.User != p.ID {
		return nil, errCeremony
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(answer.Response)
	if err != nil {
		return nil, parley.Errorf(parley.EINVALID, "credential: not a passkey's answer (%v)", err)
	}
	w, err := a.passkeyUser(ctx, u)
	if err != nil {
		return nil, err
	}
	wa, err := relyingParty(answer.RP)
	if err != nil {
		return nil, parley.Errorf(parley.EINVALID, "%v", err)
	}
	cred, err := wa.CreateCredential(w, c.Session, parsed)
	if err != nil {
		return nil, parley.Errorf(parley.EINVALID, "credential: the passkey's answer did not check out (%v)", err)
	}
	record, err := json.Marshal(cred)
	if err != nil {
		return nil, err
	}
	pk := &parley.Passkey{ID: base64.RawURLEncoding.EncodeToString(cred.ID), AccountID: u.AccountID, UserID: u.ID,
		Name: name, RPID: answer.RP.ID, Credential: record}
	if err := a.store.AddPasskey(ctx, pk); err != nil {
		return nil, err
	}
	return pk, nil
}

// StartPasskeyLogin begins a sign-in with a passkey, whoever's it turns
// out to be. It returns the options for navigator.credentials.get and the
// ceremony's cookie.
func (a *Authenticator) StartPasskeyLogin(rp RelyingParty) (*protocol.CredentialAssertion, string, error) {
	wa, err := relyingParty(rp)
	if err != nil {
		return nil, "", parley.Errorf(parley.EINVALID, "%v", err)
	}
	assertion, session, err := wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, "", err
	}
	return assertion, a.signJSON(signCeremonies, ceremony{Kind: "login", Session: *session, Started: a.now().Unix()}), nil
}

// checkPasskey verifies a sign-in answer and returns the person whose
// passkey it is, and that passkey, its use recorded.
func (a *Authenticator) checkPasskey(ctx context.Context, answer PasskeyAnswer) (*parley.User, *parley.Passkey, error) {
	c, err := a.readCeremony(answer.Ceremony, "login")
	if err != nil {
		return nil, nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(answer.Response)
	if err != nil {
		return nil, nil, parley.Errorf(parley.EINVALID, "passkey: not a passkey's answer (%v)", err)
	}
	wa, err := relyingParty(answer.RP)
	if err != nil {
		return nil, nil, parley.Errorf(parley.EINVALID, "%v", err)
	}
	var pk *parley.Passkey
	find := func(rawID, userHandle []byte) (webauthn.User, error) {
		found, err := a.store.FindPasskey(ctx, base64.RawURLEncoding.EncodeToString(rawID))
		if err != nil {
			return nil, err
		}
		if string(userHandle) != found.UserID || found.RPID != answer.RP.ID {
			return nil, errors.New("the passkey belongs to someone else, or another address")
		}
		u, err := a.store.FindUser(ctx, found.AccountID, found.UserID)
		if err != nil {
			return nil, err
		}
		w, err := a.passkeyUser(ctx, u)
		pk = found
		return w, err
	}
	who, cred, err := wa.ValidatePasskeyLogin(find, c.Session, parsed)
	if err != nil {
		return nil, nil, errPasskeyAnswer
	}
	if cred.Authenticator.CloneWarning {
		// The signature counter went back: two copies of one hardware key.
		return nil, nil, parley.Errorf(parley.EUNAUTHORIZED, "this security key's counter went backwards, as a copied key's would; sign in another way and remove it")
	}
	record, err := json.Marshal(cred)
	if err != nil {
		return nil, nil, err
	}
	if err := a.store.UsePasskey(ctx, pk.AccountID, pk.ID, record, a.now()); err != nil {
		return nil, nil, err
	}
	return who.(webauthnUser).u, pk, nil
}

// PasskeyLogin signs a person in with a passkey alone and starts their
// session; the checks after the credential are a password login's
// (active, the brand's console networks, single sign-on required). A
// refused sign-in of a known person returns them too, for the audit log.
func (a *Authenticator) PasskeyLogin(ctx context.Context, answer PasskeyAnswer, remoteAddr string) (string, *parley.Session, *parley.User, error) {
	u, _, err := a.checkPasskey(ctx, answer)
	if err != nil {
		return "", nil, nil, err
	}
	if !u.Active {
		return "", nil, u, errPasskeyAnswer
	}
	if err := a.ownCredentialsAllowed(ctx, u, remoteAddr); err != nil {
		return "", nil, u, err
	}
	token, s, err := a.startSession(ctx, u, false, "")
	if err != nil {
		return "", nil, nil, err
	}
	return token, s, u, nil
}

// passkeySecondFactor checks a passkey given as the second factor of u's
// password login.
func (a *Authenticator) passkeySecondFactor(ctx context.Context, u *parley.User, answer PasskeyAnswer) error {
	who, _, err := a.checkPasskey(ctx, answer)
	if err != nil {
		return err
	}
	if who.ID != u.ID {
		return errPasskeyAnswer
	}
	return nil
}

// ListPasskeys returns the passkeys of the person of p.
func (a *Authenticator) ListPasskeys(ctx context.Context, p parley.Principal) ([]*parley.Passkey, error) {
	u, err := a.person(ctx, p)
	if err != nil {
		return nil, err
	}
	return a.store.Passkeys(ctx, u.AccountID, u.ID)
}

// RenamePasskey renames one of the passkeys of the person of p.
func (a *Authenticator) RenamePasskey(ctx context.Context, p parley.Principal, id, name string) (*parley.Passkey, error) {
	u, err := a.person(ctx, p)
	if err != nil {
		return nil, err
	}
	if name, err = parley.CheckPasskeyName(name); err != nil {
		return nil, err
	}
	if err := a.store.RenamePasskey(ctx, u.AccountID, u.ID, id, name); err != nil {
		return nil, err
	}
	pk, err := a.store.FindPasskey(ctx, id)
	if err != nil {
		return nil, err
	}
	return pk, nil
}

// RemovePasskey removes one of the passkeys of the person of p.
func (a *Authenticator) RemovePasskey(ctx context.Context, p parley.Principal, id string) error {
	u, err := a.person(ctx, p)
	if err != nil {
		return err
	}
	_, err = a.store.RemovePasskeys(ctx, u.AccountID, u.ID, id)
	return err
}
