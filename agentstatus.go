package parley

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Agent statuses: what a person on the brand's staff is doing, as the
// routing engine sees it and as reports count it (docs/routing.md, Agent
// status). Online takes conversations; Away does not (with one of the
// brand's away reasons, "Lunch"); Offline is not at the console.
const (
	StatusOnline  = "online"
	StatusAway    = "away"
	StatusOffline = "offline"
)

// Why a status began.
const (
	// CauseAgent: the person chose it in the console (or a presence frame).
	CauseAgent = "agent"
	// CauseAutoAway: the console set an idle Online person Away
	// (auto_away_seconds).
	CauseAutoAway = "auto_away"
	// CauseSupervisor: a supervisor or admin set it for them (an agent who
	// left Online at the end of a shift).
	CauseSupervisor = "supervisor"
	// CauseDisconnected: no console of theirs has been connected for the
	// grace period (closed tab, lost network, logged out, a restart).
	CauseDisconnected = "disconnected"
)

// AgentStatus is one span of a person's status: from Since until Until
// (nil while it lasts). Every person has at most one span that lasts.
type AgentStatus struct {
	UserID string     `json:"user_id"`
	Status string     `json:"status"`
	Reason string     `json:"reason,omitempty"` // one of the account's away reasons, Away only
	Cause  string     `json:"cause"`
	By     string     `json:"by,omitempty"` // the supervisor, for CauseSupervisor
	Since  time.Time  `json:"since"`
	Until  *time.Time `json:"until,omitempty"`
}

// AccountAgentStatus is a status span with its account.
type AccountAgentStatus struct {
	AccountID string
	AgentStatus
}

// StatusChange is a person's new status, recorded at At. IfSince, when
// set, records it only if their current span began then: a sweep that
// found them gone must not undo a status they set meanwhile.
type StatusChange struct {
	Status  string
	Reason  string
	Cause   string
	By      string // the supervisor who set it
	At      time.Time
	IfSince time.Time
}

// StatusChanged is agent.status_changed's data: the new span and the one
// it ended.
type StatusChanged struct {
	UserID         string    `json:"user_id"`
	Status         string    `json:"status"`
	Reason         string    `json:"reason,omitempty"`
	Cause          string    `json:"cause"`
	By             string    `json:"by,omitempty"`
	Previous       string    `json:"previous"`
	PreviousReason string    `json:"previous_reason,omitempty"`
	PreviousSince  time.Time `json:"previous_since"`
}

// MaxAwayReasons and MaxAwayReason bound an account's away reasons.
const (
	MaxAwayReasons = 20
	MaxAwayReason  = 40
)

// ValidateAwayReasons checks an account's away reasons: at most
// MaxAwayReasons, each 1 to MaxAwayReason characters with no line breaks,
// none twice (case ignored).
func ValidateAwayReasons(reasons []string) error {
	if len(reasons) > MaxAwayReasons {
		return Errorf(EINVALID, "away_reasons: at most %d reasons", MaxAwayReasons)
	}
	seen := map[string]bool{}
	for i, r := range reasons {
		t := strings.TrimSpace(r)
		switch {
		case t == "" || utf8.RuneCountInString(t) > MaxAwayReason:
			return Errorf(EINVALID, "away_reasons[%d]: 1 to %d characters", i, MaxAwayReason)
		case t != r:
			return Errorf(EINVALID, "away_reasons[%d] %q: no spaces at the start or the end", i, r)
		case strings.ContainsAny(r, "\r\n\t"):
			return Errorf(EINVALID, "away_reasons[%d]: one line, no tabs", i)
		case seen[strings.ToLower(r)]:
			return Errorf(EINVALID, "away_reasons[%d] %q is there twice", i, r)
		}
		seen[strings.ToLower(r)] = true
	}
	return nil
}

// CheckStatus says whether a person may set status with reason in an
// account with these away reasons: a reason only with Away, and only one
// of the account's (exactly as written there).
func CheckStatus(status, reason string, reasons []string) error {
	switch status {
	case StatusOnline, StatusAway, StatusOffline:
	default:
		return Errorf(EINVALID, "status must be online, away or offline")
	}
	if reason == "" {
		return nil
	}
	if status != StatusAway {
		return Errorf(EINVALID, "only away takes a reason")
	}
	for _, r := range reasons {
		if r == reason {
			return nil
		}
	}
	return Errorf(EINVALID, "%q is not one of the account's away reasons", reason)
}
