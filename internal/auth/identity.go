package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/parleychat/parley"
)

// Identity is who a brand says its logged-in visitor is.
type Identity struct {
	Subject string // the brand's own ID for the person: the consumer's external ID
	Name    string
	Email   string
}

type identityClaims struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	jwt.RegisteredClaims
}

// CheckIdentityKey validates a key before it is stored: HS256 secrets of
// at least 32 bytes, RS256/ES256 public keys in PEM.
func CheckIdentityKey(k parley.IdentityKey) error {
	switch k.Alg {
	case "HS256":
		if len(k.Key) < 32 {
			return parley.Errorf(parley.EINVALID, "an HS256 secret must have at least 32 bytes")
		}
	case "RS256":
		if _, err := jwt.ParseRSAPublicKeyFromPEM([]byte(k.Key)); err != nil {
			return parley.Errorf(parley.EINVALID, "key is not an RSA public key in PEM: %v", err)
		}
	case "ES256":
		if _, err := jwt.ParseECPublicKeyFromPEM([]byte(k.Key)); err != nil {
			return parley.Errorf(parley.EINVALID, "key is not an EC public key in PEM: %v", err)
		}
	default:
		return parley.Errorf(parley.EINVALID, "alg must be HS256, RS256 or ES256")
	}
	return nil
}

// VerifyIdentity checks a visitor identity token signed by the account's
// key. It needs an expiry (at most a day ahead, so leaked tokens die soon)
// and a subject. The error says why a token was refused.
func (a *Authenticator) VerifyIdentity(ctx context.Context, accountID, token string) (Identity, error) {
	k, err := a.store.FindIdentityKey(ctx, accountID)
	if err != nil {
		if parley.ErrorCode(err) == parley.ENOTFOUND {
			return Identity{}, parley.Errorf(parley.EUNAUTHORIZED, "identity token rejected: the brand has no identity key set")
		}
		return Identity{}, err
	}
	var key any
	switch k.Alg {
	case "HS256":
		key = []byte(k.Key)
	case "RS256":
		var pub *rsa.PublicKey
		pub, err = jwt.ParseRSAPublicKeyFromPEM([]byte(k.Key))
		key = pub
	case "ES256":
		var pub *ecdsa.PublicKey
		pub, err = jwt.ParseECPublicKeyFromPEM([]byte(k.Key))
		key = pub
	}
	if err != nil {
		return Identity{}, err
	}
	var c identityClaims
	_, err = jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{k.Alg}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(a.now), jwt.WithLeeway(30*time.Second))
	if err != nil {
		reason := "invalid signature or format"
		switch {
		case errors.Is(err, jwt.ErrTokenExpired):
			reason = "expired"
		case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
			reason = "no exp claim"
		case errors.Is(err, jwt.ErrTokenNotValidYet):
			reason = "not valid yet"
		case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
			reason = "signature does not match the brand's key"
		}
		return Identity{}, parley.Errorf(parley.EUNAUTHORIZED, "identity token rejected: %s", reason)
	}
	if c.ExpiresAt.Sub(a.now()) > 24*time.Hour {
		return Identity{}, parley.Errorf(parley.EUNAUTHORIZED, "identity token rejected: exp is more than 24 hours ahead")
	}
	sub := strings.TrimSpace(c.Subject)
	if sub == "" || len(sub) > 200 {
		return Identity{}, parley.Errorf(parley.EUNAUTHORIZED, "identity token rejected: sub is missing or over 200 bytes")
	}
	return Identity{Subject: sub, Name: c.Name, Email: c.Email}, nil
}
