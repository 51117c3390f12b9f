// Package scim lets a brand's identity provider — Okta, Microsoft Entra ID,
// OneLogin — keep its people in Parley: SCIM 2.0 (RFC 7643, RFC 7644)
// Users, the part those providers use. A person the provider creates is a
// user of the brand; one it deactivates or deletes is deactivated at once,
// their sessions ended and their sockets closed (docs/security.md,
// Provisioning over SCIM).
//
// The provider authenticates with one of the brand's admin API keys as
// its bearer token. Parley never deletes a user (their conversations name
// them): DELETE deactivates.
package scim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/auth"
)

// Schema URNs.
const (
	schemaUser      = "urn:ietf:params:scim:schemas:core:2.0:User"
	schemaList      = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	schemaError     = "urn:ietf:params:scim:api:messages:2.0:Error"
	schemaSPConfig  = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	schemaResType   = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	contentType     = "application/scim+json"
	maxBody         = 1 << 20
	maxPage         = 200
	defaultMaxConc  = 3
	maxNameLen      = 200
	maxExternalID   = 255
	auditActionBase = "/scim/v2/Users"
)

// Prefix is where the handler is mounted.
const Prefix = "/scim/v2/"

// Handler serves SCIM 2.0 Users for the brand of the bearer API key.
type Handler struct {
	Store parley.Store
	Auth  *auth.Authenticator
	Log   *slog.Logger
	// BaseURL is the installation's public address (--public-url); ""
	// means the address each request came to. Resources' meta.location
	// is made from it.
	BaseURL string
	// SessionsEnded is told the token hashes of the sessions a
	// deactivation ended, so their sockets close too (nil: nothing to do).
	SessionsEnded func([][]byte)
}

// scimError is the body of every error (RFC 7644 §3.12).
type scimError struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail"`
}

// problem is an error with its HTTP status and SCIM type.
type problem struct {
	status   int
	scimType string
	detail   string
}

func (p *problem) Error() string { return p.detail }

func fail(status int, scimType, format string, args ...any) error {
	return &problem{status: status, scimType: scimType, detail: fmt.Sprintf(format, args...)}
}

// asProblem maps Parley's error codes to SCIM's statuses.
func asProblem(err error) *problem {
	var p *problem
	if errors.As(err, &p) {
		return p
	}
	msg := parley.ErrorMessage(err)
	switch parley.ErrorCode(err) {
	case parley.EINVALID:
		return &problem{http.StatusBadRequest, "invalidValue", msg}
	case parley.ENOTFOUND:
		return &problem{http.StatusNotFound, "", msg}
	case parley.ECONFLICT:
		return &problem{http.StatusConflict, "uniqueness", msg}
	case parley.EUNAUTHORIZED:
		return &problem{http.StatusUnauthorized, "", msg}
	case parley.EFORBIDDEN:
		return &problem{http.StatusForbidden, "", msg}
	}
	return &problem{http.StatusInternalServerError, "", "internal error"}
}

func write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	if v != nil {
		json.NewEncoder(w).Encode(v)
	}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, err := h.principal(r)
	if err == nil {
		err = h.route(w, r, p)
	}
	if err != nil {
		pr := asProblem(err)
		if pr.status == http.StatusInternalServerError {
			h.Log.Error("scim", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		write(w, pr.status, scimError{Schemas: []string{schemaError}, Status: strconv.Itoa(pr.status), ScimType: pr.scimType, Detail: pr.detail})
	}
}

// principal is the bearer admin API key's.
func (h *Handler) principal(r *http.Request) (parley.Principal, error) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		return parley.Principal{}, fail(http.StatusUnauthorized, "", "give one of the brand's admin API keys as the bearer token")
	}
	p, err := h.Auth.APIKey(r.Context(), strings.TrimSpace(token))
	if err != nil {
		return parley.Principal{}, err
	}
	if p.Role != parley.RoleAdmin {
		return parley.Principal{}, fail(http.StatusForbidden, "", "provisioning needs an admin API key; this one is %s", p.Role)
	}
	return p, nil
}

func (h *Handler) route(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, strings.TrimSuffix(Prefix, "/")), "/")
	resource, id, _ := strings.Cut(rest, "/")
	switch {
	case resource == "ServiceProviderConfig" && id == "" && r.Method == http.MethodGet:
		write(w, http.StatusOK, h.serviceProviderConfig(r))
	case resource == "ResourceTypes" && r.Method == http.MethodGet:
		return h.resourceTypes(w, r, id)
	case resource == "Schemas" && r.Method == http.MethodGet:
		return h.schemas(w, id)
	case resource == "Users" && id == "" && r.Method == http.MethodGet:
		return h.list(w, r, p)
	case resource == "Users" && id == "" && r.Method == http.MethodPost:
		return h.audited(r, p, "", func() (int, error) { return h.create(w, r, p) })
	case resource == "Users" && id != "" && r.Method == http.MethodGet:
		u, err := h.Store.FindUser(r.Context(), p.AccountID, id)
		if err == nil && u.Deprovisioned {
			err = deleted(id)
		}
		if err != nil {
			return err
		}
		write(w, http.StatusOK, h.resource(r, u))
	case resource == "Users" && id != "" && r.Method == http.MethodPut:
		return h.audited(r, p, id, func() (int, error) { return h.replace(w, r, p, id) })
	case resource == "Users" && id != "" && r.Method == http.MethodPatch:
		return h.audited(r, p, id, func() (int, error) { return h.patch(w, r, p, id) })
	case resource == "Users" && id != "" && r.Method == http.MethodDelete:
		return h.audited(r, p, id, func() (int, error) {
			// Deleting deactivates and hides: the person's conversations
			// keep naming them, and to SCIM they are gone (RFC 7644 §3.6).
			if _, err := h.change(r.Context(), p, id, func(u *parley.User) error { u.Active, u.Deprovisioned = false, true; return nil }); err != nil {
				return 0, err
			}
			w.WriteHeader(http.StatusNoContent)
			return http.StatusNoContent, nil
		})
	case resource == "Users" || resource == "ServiceProviderConfig":
		return fail(http.StatusMethodNotAllowed, "", "%s is not allowed on %s", r.Method, r.URL.Path)
	default:
		return fail(http.StatusNotFound, "", "no SCIM resource %s: Parley provisions Users", r.URL.Path)
	}
	return nil
}

// audited runs a change and files it in the brand's audit log, as the
// REST API's changes are, with the status it ended with.
func (h *Handler) audited(r *http.Request, p parley.Principal, id string, run func() (int, error)) error {
	status, err := run()
	if err != nil {
		status = asProblem(err).status
	}
	ip, _, splitErr := net.SplitHostPort(r.RemoteAddr)
	if splitErr != nil {
		ip = r.RemoteAddr
	}
	target := auditActionBase
	action := r.Method + " " + auditActionBase
	if id != "" {
		target += "/" + id
		action += "/{id}"
	}
	e := &parley.AuditEntry{AccountID: p.AccountID, ActorID: p.ID, ActorKind: string(p.Kind), ActorName: p.Name,
		Action: action, Target: target, IP: ip, Status: status}
	if aerr := h.Store.AppendAudit(context.WithoutCancel(r.Context()), e); aerr != nil {
		h.Log.Warn("audit log", "err", aerr)
	}
	return err
}

func (h *Handler) base(r *http.Request) string {
	if h.BaseURL != "" {
		return strings.TrimRight(h.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// userResource is a user as SCIM shows it.
type userResource struct {
	Schemas     []string       `json:"schemas"`
	ID          string         `json:"id"`
	ExternalID  string         `json:"externalId,omitempty"`
	UserName    string         `json:"userName"`
	Name        nameAttr       `json:"name"`
	DisplayName string         `json:"displayName"`
	Emails      []multiValued  `json:"emails"`
	Active      bool           `json:"active"`
	Roles       []multiValued  `json:"roles"`
	Meta        map[string]any `json:"meta"`
}

type nameAttr struct {
	Formatted  string `json:"formatted,omitempty"`
	GivenName  string `json:"givenName,omitempty"`
	FamilyName string `json:"familyName,omitempty"`
}

type multiValued struct {
	Value   string `json:"value"`
	Type    string `json:"type,omitempty"`
	Primary bool   `json:"primary,omitempty"`
}

func (h *Handler) resource(r *http.Request, u *parley.User) userResource {
	given, family, _ := strings.Cut(u.Name, " ")
	return userResource{Schemas: []string{schemaUser}, ID: u.ID, ExternalID: u.ExternalID, UserName: u.Email,
		Name: nameAttr{Formatted: u.Name, GivenName: given, FamilyName: family}, DisplayName: u.Name,
		Emails: []multiValued{{Value: u.Email, Type: "work", Primary: true}}, Active: u.Active,
		Roles: []multiValued{{Value: string(u.Role), Primary: true}},
		Meta: map[string]any{"resourceType": "User", "created": u.CreatedAt.UTC().Format(time.RFC3339),
			"location": h.base(r) + "/scim/v2/Users/" + u.ID}}
}

// userInput is what a provider sends for a user: a POST's or PUT's body,
// or a PATCH's value. Attributes Parley does not keep (title, phone
// numbers, addresses, the enterprise extension) are read and let go.
type userInput struct {
	UserName    *string       `json:"userName"`
	ExternalID  *string       `json:"externalId"`
	DisplayName *string       `json:"displayName"`
	Name        *nameAttr     `json:"name"`
	Emails      []multiValued `json:"emails"`
	Active      *flexBool     `json:"active"`
	Roles       []multiValued `json:"roles"`
}

// flexBool reads true and false, and the strings "True" and "False" that
// Microsoft Entra ID sends in PATCH operations.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch strings.ToLower(strings.Trim(string(data), `"`)) {
	case "true":
		*b = true
	case "false":
		*b = false
	default:
		return fmt.Errorf("%s is not a boolean", data)
	}
	return nil
}

func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return fail(http.StatusBadRequest, "invalidSyntax", "reading the body: %v", err)
	}
	if len(body) > maxBody {
		return fail(http.StatusRequestEntityTooLarge, "tooLarge", "the body is over %d bytes", maxBody)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fail(http.StatusBadRequest, "invalidSyntax", "the body is not the JSON expected: %v", err)
	}
	return nil
}

// displayName picks the person's name from what the provider sent.
func (in *userInput) displayName() string {
	switch {
	case in.DisplayName != nil && strings.TrimSpace(*in.DisplayName) != "":
		return strings.TrimSpace(*in.DisplayName)
	case in.Name != nil && strings.TrimSpace(in.Name.Formatted) != "":
		return strings.TrimSpace(in.Name.Formatted)
	case in.Name != nil:
		return strings.TrimSpace(in.Name.GivenName + " " + in.Name.FamilyName)
	}
	return ""
}

// email is the userName (the sign-in name every provider sends), which
// Parley's people sign in with.
func (in *userInput) email() string {
	if in.UserName != nil {
		return strings.TrimSpace(*in.UserName)
	}
	return ""
}

// role is the primary role sent, "" for none.
func (in *userInput) role() (parley.Role, error) {
	for _, r := range in.Roles {
		if r.Primary || len(in.Roles) == 1 {
			role := parley.Role(strings.ToLower(strings.TrimSpace(r.Value)))
			if !role.Valid() {
				return "", fail(http.StatusBadRequest, "invalidValue", "roles: %q is not a Parley role (agent, supervisor, admin)", r.Value)
			}
			return role, nil
		}
	}
	return "", nil
}

// apply sets what in names on u, as a PUT or a PATCH's value does.
func (in *userInput) apply(u *parley.User) error {
	if email := in.email(); email != "" && !strings.EqualFold(email, u.Email) {
		return fail(http.StatusBadRequest, "mutability", "userName: a person's email cannot change in Parley (%s)", u.Email)
	}
	if name := in.displayName(); name != "" {
		if len([]rune(name)) > maxNameLen {
			return fail(http.StatusBadRequest, "invalidValue", "name: at most %d characters", maxNameLen)
		}
		u.Name = name
	}
	if in.ExternalID != nil {
		if len(*in.ExternalID) > maxExternalID {
			return fail(http.StatusBadRequest, "invalidValue", "externalId: at most %d characters", maxExternalID)
		}
		u.ExternalID = *in.ExternalID
	}
	if in.Active != nil {
		u.Active = bool(*in.Active)
	}
	role, err := in.role()
	if err != nil {
		return err
	}
	if role != "" {
		u.Role = role
	}
	return nil
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request, p parley.Principal) (int, error) {
	var in userInput
	if err := decode(r, &in); err != nil {
		return 0, err
	}
	email := in.email()
	if email == "" || !strings.Contains(email, "@") {
		return 0, fail(http.StatusBadRequest, "invalidValue", "userName: Parley's people sign in with their email; %q is not one", email)
	}
	// People made by the provider get the role the brand gives people made
	// at their first single sign-on, unless the provider names one.
	role := parley.RoleAgent
	if sso, err := h.Store.FindSSO(r.Context(), p.AccountID); err == nil && sso.ProvisionRole != "" {
		role = sso.ProvisionRole
	}
	u := &parley.User{AccountID: p.AccountID, Email: email, Role: role, MaxConcurrent: defaultMaxConc, Active: true}
	in.UserName = nil // it is the email, set above
	if err := in.apply(u); err != nil {
		return 0, err
	}
	if u.Name == "" {
		u.Name, _, _ = strings.Cut(email, "@")
	}
	if existing, err := h.Store.FindUserByEmail(r.Context(), email); err == nil {
		if existing.AccountID != p.AccountID {
			return 0, fail(http.StatusConflict, "uniqueness", "userName: %s is taken in this installation", email)
		}
		if !existing.Deprovisioned {
			return 0, fail(http.StatusConflict, "uniqueness", "userName: %s is already a person of the brand (%s)", email, existing.ID)
		}
		// The provider deleted them and makes them again: the same person
		// comes back, with their conversations, as the provider now says.
		revived, ended, err := h.Store.ChangeUser(r.Context(), p.AccountID, existing.ID, nil, func(u *parley.User) error {
			if !u.Deprovisioned {
				return fail(http.StatusConflict, "uniqueness", "userName: %s is already a person of the brand (%s)", email, u.ID)
			}
			u.Deprovisioned, u.Active, u.Role = false, true, role
			return in.apply(u)
		})
		if err != nil {
			return 0, err
		}
		if len(ended) > 0 && h.SessionsEnded != nil {
			h.SessionsEnded(ended)
		}
		u = revived
	} else if err := h.Store.CreateUser(r.Context(), u); err != nil {
		return 0, err
	}
	w.Header().Set("Location", h.base(r)+"/scim/v2/Users/"+u.ID)
	write(w, http.StatusCreated, h.resource(r, u))
	return http.StatusCreated, nil
}

// deleted is the answer about a person the provider deleted: to SCIM they
// no longer exist.
func deleted(id string) error { return parley.Errorf(parley.ENOTFOUND, "user %q not found", id) }

// change edits a person the provider has not deleted, in one transaction,
// and closes the sockets of the sessions a deactivation ended.
func (h *Handler) change(ctx context.Context, p parley.Principal, id string, edit func(*parley.User) error) (*parley.User, error) {
	u, ended, err := h.Store.ChangeUser(ctx, p.AccountID, id, nil, func(u *parley.User) error {
		if u.Deprovisioned {
			return deleted(id)
		}
		return edit(u)
	})
	if err != nil {
		return nil, err
	}
	if len(ended) > 0 && h.SessionsEnded != nil {
		h.SessionsEnded(ended)
	}
	return u, nil
}

func (h *Handler) replace(w http.ResponseWriter, r *http.Request, p parley.Principal, id string) (int, error) {
	var in userInput
	if err := decode(r, &in); err != nil {
		return 0, err
	}
	u, err := h.change(r.Context(), p, id, func(u *parley.User) error {
		if in.Active == nil { // a PUT replaces: active absent is active
			t := flexBool(true)
			in.Active = &t
		}
		if in.ExternalID == nil {
			empty := ""
			in.ExternalID = &empty
		}
		return in.apply(u)
	})
	if err != nil {
		return 0, err
	}
	write(w, http.StatusOK, h.resource(r, u))
	return http.StatusOK, nil
}

// patchRequest is RFC 7644 §3.5.2's PatchOp.
type patchRequest struct {
	Schemas    []string `json:"schemas"`
	Operations []struct {
		Op    string          `json:"op"`
		Path  string          `json:"path"`
		Value json.RawMessage `json:"value"`
	} `json:"Operations"`
}

func (h *Handler) patch(w http.ResponseWriter, r *http.Request, p parley.Principal, id string) (int, error) {
	var req patchRequest
	if err := decode(r, &req); err != nil {
		return 0, err
	}
	if len(req.Operations) == 0 {
		return 0, fail(http.StatusBadRequest, "invalidValue", "Operations: none given")
	}
	u, err := h.change(r.Context(), p, id, func(u *parley.User) error {
		for i, op := range req.Operations {
			in, err := patchInput(op.Op, op.Path, op.Value)
			if err != nil {
				return fail(http.StatusBadRequest, asProblem(err).scimType, "Operations[%d]: %s", i, asProblem(err).detail)
			}
			if err := in.apply(u); err != nil {
				return fail(http.StatusBadRequest, asProblem(err).scimType, "Operations[%d]: %s", i, asProblem(err).detail)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	write(w, http.StatusOK, h.resource(r, u))
	return http.StatusOK, nil
}

// patchInput turns one operation into the attributes it sets. Paths of
// attributes Parley does not keep are let go, as in a POST.
func patchInput(op, path string, value json.RawMessage) (userInput, error) {
	var in userInput
	switch strings.ToLower(op) {
	case "add", "replace":
	case "remove":
		if strings.EqualFold(path, "externalId") {
			empty := ""
			in.ExternalID = &empty
			return in, nil
		}
		return in, fail(http.StatusBadRequest, "mutability", "%q cannot be removed", path)
	default:
		return in, fail(http.StatusBadRequest, "invalidSyntax", "op %q: add, replace or remove", op)
	}
	str := func() (string, error) {
		var s string
		if err := json.Unmarshal(value, &s); err != nil {
			return "", fail(http.StatusBadRequest, "invalidValue", "%s: a string is expected", path)
		}
		return s, nil
	}
	var err error
	switch p := strings.ToLower(path); {
	case p == "":
		if err := json.Unmarshal(value, &in); err != nil {
			return in, fail(http.StatusBadRequest, "invalidValue", "value: %v", err)
		}
	case p == "active":
		var b flexBool
		if err := json.Unmarshal(value, &b); err != nil {
			return in, fail(http.StatusBadRequest, "invalidValue", "active: %v", err)
		}
		in.Active = &b
	case p == "displayname" || p == "name.formatted":
		var s string
		if s, err = str(); err == nil {
			in.DisplayName = &s
		}
	case p == "name":
		in.Name = &nameAttr{}
		if err := json.Unmarshal(value, in.Name); err != nil {
			return in, fail(http.StatusBadRequest, "invalidValue", "name: %v", err)
		}
	case p == "externalid":
		var s string
		if s, err = str(); err == nil {
			in.ExternalID = &s
		}
	case p == "username" || strings.HasPrefix(p, "emails"):
		var s string
		if s, err = str(); err == nil {
			in.UserName = &s
		}
	case p == "roles" || strings.HasPrefix(p, "roles["):
		if err := json.Unmarshal(value, &in.Roles); err != nil {
			var s string
			if json.Unmarshal(value, &s) != nil {
				return in, fail(http.StatusBadRequest, "invalidValue", "roles: %v", err)
			}
			in.Roles = []multiValued{{Value: s, Primary: true}}
		}
	}
	return in, err
}

// listResponse is RFC 7644 §3.4.2's ListResponse.
type listResponse struct {
	Schemas      []string       `json:"schemas"`
	TotalResults int            `json:"totalResults"`
	StartIndex   int            `json:"startIndex"`
	ItemsPerPage int            `json:"itemsPerPage"`
	Resources    []userResource `json:"Resources"`
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	q := r.URL.Query()
	start, count := 1, 100
	if v := q.Get("startIndex"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fail(http.StatusBadRequest, "invalidValue", "startIndex: a number from 1")
		}
		start = max(n, 1)
	}
	if v := q.Get("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fail(http.StatusBadRequest, "invalidValue", "count: a number from 0")
		}
		count = min(n, maxPage)
	}
	match, err := parseFilter(q.Get("filter"))
	if err != nil {
		return err
	}
	users, err := h.Store.ListUsers(r.Context(), p.AccountID)
	if err != nil {
		return err
	}
	var found []*parley.User
	for _, u := range users {
		if match(u) && !u.Deprovisioned {
			found = append(found, u)
		}
	}
	sort.Slice(found, func(i, j int) bool {
		return found[i].CreatedAt.Before(found[j].CreatedAt) || found[i].CreatedAt.Equal(found[j].CreatedAt) && found[i].ID < found[j].ID
	})
	out := listResponse{Schemas: []string{schemaList}, TotalResults: len(found), StartIndex: start, Resources: []userResource{}}
	for i := start - 1; i < len(found) && len(out.Resources) < count; i++ {
		out.Resources = append(out.Resources, h.resource(r, found[i]))
	}
	out.ItemsPerPage = len(out.Resources)
	write(w, http.StatusOK, out)
	return nil
}

// parseFilter reads the filters providers send to find a person before
// they create one: `attribute eq "value"` on userName (Okta), externalId
// (Microsoft Entra ID), emails or id, and no filter at all. Others are
// refused by name, so a provider's mistaken mapping shows in its log
// rather than as a wrong match.
func parseFilter(f string) (func(*parley.User) bool, error) {
	f = strings.TrimSpace(f)
	if f == "" {
		return func(*parley.User) bool { return true }, nil
	}
	attr, rest, ok1 := strings.Cut(f, " ")
	op, value, ok2 := strings.Cut(strings.TrimSpace(rest), " ")
	value = strings.TrimSpace(value)
	if !ok1 || !ok2 || !strings.EqualFold(op, "eq") || len(value) < 2 || value[0] != '"' || value[len(value)-1] != '"' {
		return nil, fail(http.StatusBadRequest, "invalidFilter", "filter %q: Parley reads `attribute eq \"value\"` on userName, externalId, emails or id", f)
	}
	var v string
	if err := json.Unmarshal([]byte(value), &v); err != nil {
		return nil, fail(http.StatusBadRequest, "invalidFilter", "filter %q: the value is not a JSON string", f)
	}
	switch strings.ToLower(attr) {
	case "username", "emails", "emails.value", `emails[type eq "work"].value`:
		return func(u *parley.User) bool { return strings.EqualFold(u.Email, v) }, nil
	case "externalid":
		return func(u *parley.User) bool { return u.ExternalID == v }, nil
	case "id":
		return func(u *parley.User) bool { return u.ID == v }, nil
	}
	return nil, fail(http.StatusBadRequest, "invalidFilter", "filter %q: Parley filters on userName, externalId, emails or id", f)
}

func (h *Handler) serviceProviderConfig(r *http.Request) map[string]any {
	return map[string]any{
		"schemas":        []string{schemaSPConfig},
		"patch":          map[string]bool{"supported": true},
		"bulk":           map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":         map[string]any{"supported": true, "maxResults": maxPage},
		"changePassword": map[string]bool{"supported": false},
		"sort":           map[string]bool{"supported": false},
		"etag":           map[string]bool{"supported": false},
		"authenticationSchemes": []map[string]any{{"type": "oauthbearertoken", "name": "Bearer token",
			"description": "One of the brand's admin API keys (Admin → API keys)", "primary": true}},
		"meta": map[string]string{"resourceType": "ServiceProviderConfig", "location": h.base(r) + "/scim/v2/ServiceProviderConfig"},
	}
}

func (h *Handler) resourceTypes(w http.ResponseWriter, r *http.Request, id string) error {
	user := map[string]any{"schemas": []string{schemaResType}, "id": "User", "name": "User", "endpoint": "/Users",
		"description": "A person of the brand's staff", "schema": schemaUser,
		"meta": map[string]string{"resourceType": "ResourceType", "location": h.base(r) + "/scim/v2/ResourceTypes/User"}}
	switch id {
	case "":
		write(w, http.StatusOK, map[string]any{"schemas": []string{schemaList}, "totalResults": 1, "startIndex": 1, "itemsPerPage": 1, "Resources": []any{user}})
	case "User":
		write(w, http.StatusOK, user)
	default:
		return fail(http.StatusNotFound, "", "no resource type %q: Parley provisions Users", id)
	}
	return nil
}

// userSchema describes the attributes Parley keeps (RFC 7643 §7).
var userSchema = map[string]any{
	"id": schemaUser, "name": "User", "description": "A person of the brand's staff",
	"attributes": []map[string]any{
		{"name": "userName", "type": "string", "multiValued": false, "required": true, "caseExact": false, "mutability": "immutable", "returned": "default", "uniqueness": "server",
			"description": "The person's email, which they sign in with"},
		{"name": "displayName", "type": "string", "multiValued": false, "required": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none"},
		{"name": "name", "type": "complex", "multiValued": false, "required": false, "mutability": "readWrite", "returned": "default",
			"subAttributes": []map[string]any{{"name": "formatted", "type": "string"}, {"name": "givenName", "type": "string"}, {"name": "familyName", "type": "string"}}},
		{"name": "active", "type": "boolean", "multiValued": false, "required": false, "mutability": "readWrite", "returned": "default"},
		{"name": "emails", "type": "complex", "multiValued": true, "required": false, "mutability": "immutable", "returned": "default"},
		{"name": "roles", "type": "complex", "multiValued": true, "required": false, "mutability": "readWrite", "returned": "default",
			"description": "agent, supervisor or admin; the first primary one counts"},
	},
}

func (h *Handler) schemas(w http.ResponseWriter, id string) error {
	switch id {
	case "":
		write(w, http.StatusOK, map[string]any{"schemas": []string{schemaList}, "totalResults": 1, "startIndex": 1, "itemsPerPage": 1, "Resources": []any{userSchema}})
	case schemaUser:
		write(w, http.StatusOK, userSchema)
	default:
		return fail(http.StatusNotFound, "", "no schema %q", id)
	}
	return nil
}
