package parley

import (
	"net/url"
	"strings"
	"time"
)

// SSO connects a brand's console to its identity provider over OpenID
// Connect (docs/security.md, Single sign-on): its people sign in there
// instead of with a Parley password.
type SSO struct {
	// Issuer is the provider's issuer URL, as its discovery document
	// (Issuer + "/.well-known/openid-configuration") states it.
	Issuer string `json:"issuer"`
	// ClientID and ClientSecret are what the brand registered Parley as at
	// the provider. The secret is sealed in the store (by internal/auth)
	// and never leaves the server.
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"-"`
	// Required refuses password logins to the brand's agents and
	// supervisors; admins keep theirs, so a broken provider cannot lock
	// the brand out.
	Required bool `json:"required"`
	// ProvisionRole, when set (agent or supervisor), makes a person of
	// the brand, with that role, of a verified email in one of Domains
	// that no one has yet, at their first sign-in.
	ProvisionRole Role     `json:"provision_role,omitempty"`
	Domains       []string `json:"domains"`
	// SignOut: logging out of Parley after a single sign-on signs the
	// person out of the provider too (OpenID Connect RP-initiated
	// logout), when the provider offers it; the brand registers Parley's
	// console as a post-logout redirect URI there.
	SignOut   bool      `json:"sign_out"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SSO limits.
const (
	MaxSSODomains   = 20
	MaxSSOClientID  = 255
	MaxSSOSecret    = 1024
	MaxSSOIssuerLen = 512
)

// SSOChanged is sso.changed's data: the settings, never the secret; nil
// fields when single sign-on was turned off.
type SSOChanged struct {
	Issuer        string   `json:"issuer,omitempty"`
	ClientID      string   `json:"client_id,omitempty"`
	Required      bool     `json:"required"`
	ProvisionRole Role     `json:"provision_role,omitempty"`
	Domains       []string `json:"domains,omitempty"`
}

// Check validates the settings (not whether the provider answers: the
// caller asks it) and tidies them: trimmed, domains lower-cased.
// allowHTTP admits a plain-HTTP issuer (development and tests only).
func (s *SSO) Check(allowHTTP bool) error {
	s.Issuer = strings.TrimSpace(s.Issuer)
	s.ClientID = strings.TrimSpace(s.ClientID)
	u, err := url.Parse(s.Issuer)
	switch {
	case s.Issuer == "" || len(s.Issuer) > MaxSSOIssuerLen:
		return Errorf(EINVALID, "issuer: give the provider's issuer URL (at most %d characters)", MaxSSOIssuerLen)
	case err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return Errorf(EINVALID, "issuer: %q is not an issuer URL (https://login.example.com/…)", s.Issuer)
	case u.Scheme != "https" && !(allowHTTP && u.Scheme == "http"):
		return Errorf(EINVALID, "issuer: an identity provider is reached over https://")
	case s.ClientID == "" || len(s.ClientID) > MaxSSOClientID:
		return Errorf(EINVALID, "client_id: give the client ID the provider gave Parley (1 to %d characters)", MaxSSOClientID)
	case s.ClientSecret == "" || len(s.ClientSecret) > MaxSSOSecret:
		return Errorf(EINVALID, "client_secret: give the client secret the provider gave Parley (1 to %d characters)", MaxSSOSecret)
	}
	switch s.ProvisionRole {
	case "", RoleAgent, RoleSupervisor:
	default:
		return Errorf(EINVALID, "provision_role: people made at their first sign-in are agents or supervisors, not %q", s.ProvisionRole)
	}
	if len(s.Domains) > MaxSSODomains {
		return Errorf(EINVALID, "domains: at most %d", MaxSSODomains)
	}
	seen := map[string]bool{}
	for i, d := range s.Domains {
		d = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(d), "@")))
		if !validDomain(d) {
			return Errorf(EINVALID, "domains[%d]: %q is not an email domain (example.com)", i, s.Domains[i])
		}
		if seen[d] {
			return Errorf(EINVALID, "domains[%d]: %s is listed twice", i, d)
		}
		seen[d] = true
		s.Domains[i] = d
	}
	if s.ProvisionRole != "" && len(s.Domains) == 0 {
		return Errorf(EINVALID, "domains: name the email domains whose people may be made at their first sign-in")
	}
	return nil
}

// Provisions reports whether a person of email, whom the brand does not
// have, is made at their first sign-in.
func (s *SSO) Provisions(email string) bool {
	if s.ProvisionRole == "" {
		return false
	}
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return false
	}
	domain := strings.ToLower(email[at+1:])
	for _, d := range s.Domains {
		if d == domain {
			return true
		}
	}
	return false
}

// validDomain: dot-separated labels of letters, digits and hyphens, with
// at least two labels.
func validDomain(d string) bool {
	if len(d) == 0 || len(d) > 253 {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
