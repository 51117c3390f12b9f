package httpapi

import (
	"encoding/json"
	"net/http"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/auth"
)

const timeFormat = time.RFC3339Nano

var unixEpoch = time.Unix(0, 0)

type userRequest struct {
	Email         *string      `json:"email"`
	Name          *string      `json:"name"`
	Role          *parley.Role `json:"role"`
	Skills        *[]string    `json:"skills"`
	MaxConcurrent *int         `json:"max_concurrent"`
	Active        *bool        `json:"active"`
	Password      *string      `json:"password"`
}

func (a *API) handleListUsers(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	users, err := a.store.ListUsers(r.Context(), p.AccountID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users})
	return nil
}

func (a *API) handleGetUser(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	id := r.PathValue("id")
	// Agents may read themselves; reading colleagues needs a supervisor.
	if id != p.ID && !p.Can(parley.RoleSupervisor) {
		return parley.Errorf(parley.EFORBIDDEN, "agents may only read their own user")
	}
	u, err := a.store.FindUser(r.Context(), p.AccountID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (a *API) handleCreateUser(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req userRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	u := &parley.User{AccountID: p.AccountID, Role: parley.RoleAgent, MaxConcurrent: 3, Active: true}
	if req.Email == nil || req.Password == nil {
		return parley.Errorf(parley.EINVALID, "email and password are required")
	}
	if err := applyUser(u, req, true); err != nil {
		return err
	}
	hash, err := auth.HashPassword(*req.Password, a.auth.Password)
	if err != nil {
		return err
	}
	u.PasswordHash = hash
	if err := a.store.CreateUser(r.Context(), u); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

func (a *API) handleUpdateUser(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req userRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	if req.Email != nil {
		return parley.Errorf(parley.EINVALID, "email cannot be changed")
	}
	if id == p.ID && ((req.Role != nil && *req.Role != parley.RoleAdmin) || (req.Active != nil && !*req.Active)) {
		return parley.Errorf(parley.ECONFLICT, "admins cannot demote or deactivate themselves")
	}
	// A password an admin sets ends the user's sessions (all but this
	// one, when it is their own): whoever had it must log in again.
	var hash string
	var keep []byte
	if req.Password != nil {
		if err := auth.CheckNewPassword(*req.Password); err != nil {
			return err
		}
		var err error
		if hash, err = auth.HashPassword(*req.Password, a.auth.Password); err != nil {
			return err
		}
		if id == p.ID {
			keep = sessionHash(r)
		}
	}
	u, ended, err := a.store.ChangeUser(r.Context(), p.AccountID, id, keep, func(u *parley.User) error {
		if err := applyUser(u, req, false); err != nil {
			return err
		}
		if hash != "" {
			u.PasswordHash = hash
		}
		if u.Active {
			u.Deprovisioned = false // an admin brings back someone the identity provider deleted
		}
		return nil
	})
	if err != nil {
		return err
	}
	a.endSessions(ended)
	writeJSON(w, http.StatusOK, u)
	return nil
}

// applyUser validates the request's fields and copies them onto u.
func applyUser(u *parley.User, req userRequest, creating bool) error {
	if creating && req.Email != nil {
		addr, err := mail.ParseAddress(*req.Email)
		if err != nil || addr.Address != strings.TrimSpace(*req.Email) {
			return parley.Errorf(parley.EINVALID, "email %q is not a valid address", *req.Email)
		}
		u.Email = addr.Address
	}
	if req.Name != nil {
		if err := checkName("name", *req.Name); err != nil {
			return err
		}
		u.Name = strings.TrimSpace(*req.Name)
	}
	if req.Role != nil {
		if !req.Role.Valid() {
			return parley.Errorf(parley.EINVALID, "role must be admin, supervisor or agent")
		}
		u.Role = *req.Role
	}
	if req.Skills != nil {
		u.Skills = *req.Skills
	}
	if req.MaxConcurrent != nil {
		if *req.MaxConcurrent < 0 || *req.MaxConcurrent > 100 {
			return parley.Errorf(parley.EINVALID, "max_concurrent must be between 0 and 100")
		}
		u.MaxConcurrent = *req.MaxConcurrent
	}
	if req.Active != nil {
		u.Active = *req.Active
	}
	if req.Password != nil {
		return auth.CheckNewPassword(*req.Password)
	}
	return nil
}

func checkName(field, s string) error {
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return parley.Errorf(parley.EINVALID, "%s must be valid UTF-8 text without NUL bytes", field)
	}
	if n := utf8.RuneCountInString(s); n > 200 {
		return parley.Errorf(parley.EINVALID, "%s has %d characters; the limit is 200", field, n)
	}
	return nil
}

type skillRequest struct {
	Name  string                `json:"name"`
	Hours *parley.BusinessHours `json:"hours"`
}

// checkSkillHours checks a skill's own hours as the brand's are checked.
func checkSkillHours(h *parley.BusinessHours) error {
	if h == nil {
		return nil
	}
	if err := h.Validate(); err != nil {
		return parley.Errorf(parley.EINVALID, "hours: %s", parley.ErrorMessage(err))
	}
	return nil
}

func (a *API) handleListSkills(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	skills, err := a.store.ListSkills(r.Context(), p.AccountID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"skills": skills})
	return nil
}

func (a *API) handleCreateSkill(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req skillRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	name := strings.TrimSpace(req.Name)
	if name == "" {
		return parley.Errorf(parley.EINVALID, "name is required")
	}
	if err := checkName("name", name); err != nil {
		return err
	}
	if err := checkSkillHours(req.Hours); err != nil {
		return err
	}
	s := &parley.Skill{AccountID: p.AccountID, Name: name, Hours: req.Hours}
	if err := a.store.CreateSkill(r.Context(), s); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s)
	return nil
}

// skillChange is a PATCH of a skill: the fields present change.
type skillChange struct {
	Name                 *string `json:"name"`
	OverflowTo           *string `json:"overflow_to"`
	OverflowAfterSeconds *int    `json:"overflow_after_seconds"`
	OverflowUnstaffed    *bool   `json:"overflow_unstaffed"`
	// Hours: the skill's own hours, or null to follow the brand's again.
	Hours json.RawMessage `json:"hours"`
}

// handleUpdateSkill renames a skill, sets its overflow — after how long
// a visitor waiting in its queue moves to another skill's queue, or the
// general queue (docs/routing.md, Overflow) — or its own hours.
func (a *API) handleUpdateSkill(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req skillChange
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	if req.Name == nil && req.OverflowTo == nil && req.OverflowAfterSeconds == nil && req.OverflowUnstaffed == nil && req.Hours == nil {
		return parley.Errorf(parley.EINVALID, "give name, overflow_to, overflow_after_seconds, overflow_unstaffed or hours")
	}
	var hours *parley.BusinessHours
	if req.Hours != nil {
		if err := json.Unmarshal(req.Hours, &hours); err != nil {
			return parley.Errorf(parley.EINVALID, "hours must be business hours like {\"time_zone\": \"Europe/Madrid\", \"days\": {\"mon\": [[\"09:00\", \"17:00\"]]}}, or null")
		}
		if err := checkSkillHours(hours); err != nil {
			return err
		}
	}
	s, err := a.store.ChangeSkill(r.Context(), p.AccountID, r.PathValue("id"), func(s *parley.Skill) error {
		if req.Name != nil {
			name := strings.TrimSpace(*req.Name)
			if name == "" {
				return parley.Errorf(parley.EINVALID, "name is required")
			}
			if err := checkName("name", name); err != nil {
				return err
			}
			s.Name = name
		}
		if req.OverflowTo != nil {
			s.OverflowTo = *req.OverflowTo
		}
		if req.OverflowAfterSeconds != nil {
			s.OverflowAfterSeconds = *req.OverflowAfterSeconds
			if s.OverflowAfterSeconds == 0 && req.OverflowTo == nil && req.OverflowUnstaffed == nil {
				s.OverflowTo, s.OverflowUnstaffed = "", false // turned off
			}
		}
		if req.OverflowUnstaffed != nil {
			s.OverflowUnstaffed = *req.OverflowUnstaffed
		}
		if req.Hours != nil {
			s.Hours = hours
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

type apiKeyRequest struct {
	Name string      `json:"name"`
	Role parley.Role `json:"role"`
}

type apiKeyResponse struct {
	*parley.APIKey
	Secret string `json:"secret"`
}

func (a *API) handleListAPIKeys(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	keys, err := a.store.ListAPIKeys(r.Context(), p.AccountID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"api_keys": keys})
	return nil
}

func (a *API) handleCreateAPIKey(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req apiKeyRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	if req.Role == "" {
		req.Role = parley.RoleAdmin
	}
	if err := checkName("name", req.Name); err != nil {
		return err
	}
	k, secret, err := a.auth.NewAPIKey(r.Context(), p.AccountID, req.Name, req.Role)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiKeyResponse{APIKey: k, Secret: secret})
	return nil
}

func (a *API) handleRevokeAPIKey(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	if err := a.store.RevokeAPIKey(r.Context(), p.AccountID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
