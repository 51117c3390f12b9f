package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/parleychat/parley"
)

// statusOf maps error codes to HTTP statuses; it is the only such table.
var statusOf = map[string]int{
	parley.EINVALID:      http.StatusBadRequest,
	parley.ENOTFOUND:     http.StatusNotFound,
	parley.ECONFLICT:     http.StatusConflict,
	parley.EUNAUTHORIZED: http.StatusUnauthorized,
	parley.ETWOFACTOR:    http.StatusUnauthorized,
	parley.EPASSKEY:      http.StatusUnauthorized,
	parley.EFORBIDDEN:    http.StatusForbidden,
	parley.ESSOREQUIRED:  http.StatusForbidden,
	parley.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	parley.ERATELIMITED:  http.StatusTooManyRequests,
	parley.EUNAVAILABLE:  http.StatusServiceUnavailable,
	parley.EINTERNAL:     http.StatusInternalServerError,
	parley.EMETHOD:       http.StatusMethodNotAllowed,
}

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		// Field and Line locate an error in an imported document.
		Field string `json:"field,omitempty"`
		Line  int    `json:"line,omitempty"`
	} `json:"error"`
}

// located is an error that knows where in a document it is.
type located interface {
	Location() (field string, line int)
}

// writeError sends err as JSON with its status. Internal errors are logged
// and answered with a generic message.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := parley.ErrorCode(err)
	if code == parley.EINTERNAL {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	var body ErrorBody
	body.Error.Code, body.Error.Message = code, parley.ErrorMessage(err)
	var loc located
	if errors.As(err, &loc) {
		body.Error.Field, body.Error.Line = loc.Location()
	}
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// decode reads one JSON object from the body into v, refusing unknown
// fields, trailing data and bodies over limit bytes.
func decode(r *http.Request, limit int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return parley.Errorf(parley.EINVALID, "Content-Type must be application/json")
	}
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		return jsonError(err, limit)
	}
	// encoding/json would silently replace invalid UTF-8; refuse it instead.
	if !utf8.Valid(raw) {
		return parley.Errorf(parley.EINVALID, "request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, limit)
	}
	if _, err := dec.Token(); err != io.EOF {
		return parley.Errorf(parley.EINVALID, "request body has data after the JSON object")
	}
	return nil
}

// jsonError turns a decoding error into a precise domain error.
func jsonError(err error, limit int64) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return parley.Errorf(parley.ETOOLARGE, "request body is over %d bytes", limit)
	case errors.Is(err, io.EOF):
		return parley.Errorf(parley.EINVALID, "request body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return parley.Errorf(parley.EINVALID, "malformed JSON: unexpected end of input")
	case errors.As(err, &syntax):
		return parley.Errorf(parley.EINVALID, "malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typ):
		return parley.Errorf(parley.EINVALID, "field %q must be %s, not %s", typ.Field, typ.Type, typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return parley.Errorf(parley.EINVALID, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return parley.Errorf(parley.EINVALID, "malformed JSON: %s", err.Error())
}

func invalidParam(name string, err error) error {
	return parley.Errorf(parley.EINVALID, "query parameter %s: %s", name, errMessage(err))
}

func errMessage(err error) string {
	var ne interface{ Unwrap() error }
	if errors.As(err, &ne) && ne.Unwrap() != nil {
		return ne.Unwrap().Error()
	}
	return fmt.Sprint(err)
}
