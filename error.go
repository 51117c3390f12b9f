package parley

import (
	"errors"
	"fmt"
)

// Error codes shared by every layer. Delivery layers (REST, WebSocket) map
// them to HTTP statuses and protocol errors in one place each.
const (
	EINVALID      = "invalid"             // the input is malformed or breaks a rule
	ENOTFOUND     = "not_found"           // no such thing in this account
	ECONFLICT     = "conflict"            // the thing exists or its state forbids the change
	EUNAUTHORIZED = "unauthorized"        // no credentials, or wrong ones
	EFORBIDDEN    = "forbidden"           // valid credentials, insufficient role
	ETOOLARGE     = "too_large"           // over a configured size limit
	ERATELIMITED  = "rate_limited"        // over a configured rate limit
	EUNAVAILABLE  = "unavailable"         // shutting down or a dependency is down
	EINTERNAL     = "internal"            // a bug or an unexpected failure
	EMETHOD       = "method_not_allowed"  // the path exists, not with this method
	ETWOFACTOR    = "two_factor_required" // the password was right; the login needs a second factor too
	ESSOREQUIRED  = "sso_required"        // the password was right; the brand signs its people in with single sign-on
	EPASSKEY      = "passkey_required"    // the password was right; the login needs one of the person's passkeys too
)

// Error is a domain error with a machine-readable code and a message meant
// for the person or program that made the request.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("parley: %s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of the first *Error in err's chain,
// and a generic text for anything else so internals never leak to clients.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
