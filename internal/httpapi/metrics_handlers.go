package httpapi

import (
	"net/http"
	"net/url"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/analytics"
	"github.com/parleychat/parley/internal/export"
)

// queryRange reads the from and to of a query, when given, over the
// defaults in from and to.
func queryRange(qs url.Values, from, to *time.Time) error {
	for _, f := range []struct {
		name string
		at   *time.Time
	}{{"from", from}, {"to", to}} {
		if v := qs.Get(f.name); v != "" {
			t, err := export.ParseTime(f.name, v)
			if err != nil {
				return err
			}
			*f.at = t
		}
	}
	return nil
}

// agentMetrics is an agent's row with their name.
type agentMetrics struct {
	*analytics.Agent
	Name string `json:"name"`
}

// handleMetrics computes the account's metrics for a range (default: the
// last 24 hours in hour buckets).
func (a *API) handleMetrics(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	qs := r.URL.Query()
	q := analytics.Query{Bucket: qs.Get("bucket"), Skill: qs.Get("skill"), Agent: qs.Get("agent")}
	if q.Bucket == "" {
		q.Bucket = "hour"
	}
	now := time.Now().UTC()
	q.To = now.Truncate(time.Hour).Add(time.Hour)
	q.From = q.To.Add(-24 * time.Hour)
	if err := queryRange(qs, &q.From, &q.To); err != nil {
		return err
	}
	if err := q.Validate(); err != nil {
		return err
	}
	users, err := a.store.ListUsers(r.Context(), p.AccountID)
	if err != nil {
		return err
	}
	capacity, names := map[string]int{}, map[string]string{}
	for _, u := range users {
		capacity[u.ID], names[u.ID] = u.MaxConcurrent, u.Name
	}
	if _, ok := capacity[q.Agent]; q.Agent != "" && !ok {
		return parley.Errorf(parley.EINVALID, "agent %q is not a user of this account", q.Agent)
	}
	if q.Skill != "" {
		skills, err := a.store.ListSkills(r.Context(), p.AccountID)
		if err != nil {
			return err
		}
		known := false
		for _, s := range skills {
			known = known || s.ID == q.Skill
		}
		if !known {
			return parley.Errorf(parley.EINVALID, "skill %q is not a skill of this account", q.Skill)
		}
	}
	acc, err := a.store.FindAccount(r.Context(), p.AccountID)
	if err != nil {
		return err
	}
	if acc.Settings.HasResponseTarget() {
		q.ResponseTarget = acc.Settings.ResponseTarget
	}
	// Conversations by each option of a list field and a checkbox.
	q.FieldKeys = parley.Categories(acc.Settings.ConversationFields)
	rep, err := analytics.Compute(r.Context(), a.store, p.AccountID, q, capacity)
	if err != nil {
		return err
	}
	spans, err := a.store.AgentStatuses(r.Context(), p.AccountID, q.From, q.To)
	if err != nil {
		return err
	}
	rep.AddStatuses(analytics.StatusTimes(spans, q.From, q.To, time.Now()), capacity, q.Agent, q.Skill)
	rep.AddStaffing(spans, q.Agent, time.Now())
	for _, is := range rep.Invitations {
		is.Name = names[is.Agent]
	}
	for _, fs := range rep.Fields {
		if f := parley.FieldByKey(acc.Settings.ConversationFields, fs.Key); f != nil {
			fs.Label = f.Label
		}
	}
	for _, es := range rep.Engagements {
		if e := acc.Settings.Widget.EngagementByID(es.ID); e != nil {
			es.Name = e.Label()
		}
	}
	out := struct {
		*analytics.Report
		Agents []agentMetrics `json:"agents"`
	}{Report: rep, Agents: []agentMetrics{}}
	for _, ag := range rep.Agents {
		out.Agents = append(out.Agents, agentMetrics{Agent: ag, Name: names[ag.ID]})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// statusSpan is a status span with the person's name.
type statusSpan struct {
	*parley.AgentStatus
	Name string `json:"name"`
}

// handleAgentStatus lists the account's status spans: without from and
// to, each person's current one ("who is doing what"); with them, every
// span that overlaps the range (at most 92 days), each person's oldest
// first — for a workforce-management tool, or an argument about a shift.
func (a *API) handleAgentStatus(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	qs := r.URL.Query()
	var from, to time.Time
	if err := queryRange(qs, &from, &to); err != nil {
		return err
	}
	if from.IsZero() != to.IsZero() {
		return parley.Errorf(parley.EINVALID, "give both from and to, or neither (the current statuses)")
	}
	if !from.IsZero() {
		if err := parley.CheckRange(from, to, analytics.MaxRange, "one status query"); err != nil {
			return err
		}
	}
	users, err := a.store.ListUsers(r.Context(), p.AccountID)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, u := range users {
		names[u.ID] = u.Name
	}
	spans, err := a.store.AgentStatuses(r.Context(), p.AccountID, from, to)
	if err != nil {
		return err
	}
	out := []statusSpan{}
	for _, s := range spans {
		out = append(out, statusSpan{AgentStatus: s, Name: names[s.UserID]})
	}
	writeJSON(w, http.StatusOK, map[string]any{"statuses": out})
	return nil
}

// handleMyMetrics is an agent's own day in numbers (the Profile's "Your
// day"): their row of the metrics — assigned, closed, first response,
// handle time, CSAT, time online and away, occupancy — for a range of
// whole hours (default: the last 24). Agents see their own only; the
// team's are the supervisors' (GET /metrics).
func (a *API) handleMyMetrics(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	if p.Kind != parley.PrincipalUser {
		return parley.Errorf(parley.EFORBIDDEN, "metrics of one's own are a person's: an API key reads GET /api/v1/metrics")
	}
	qs := r.URL.Query()
	q := analytics.Query{Bucket: "hour", Agent: p.ID}
	q.To = time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	q.From = q.To.Add(-24 * time.Hour)
	if err := queryRange(qs, &q.From, &q.To); err != nil {
		return err
	}
	if q.To.Sub(q.From) > 31*24*time.Hour {
		return parley.Errorf(parley.EINVALID, "one's own metrics cover at most 31 days")
	}
	if err := q.Validate(); err != nil {
		return err
	}
	u, err := a.store.FindUser(r.Context(), p.AccountID, p.ID)
	if err != nil {
		return err
	}
	acc, err := a.store.FindAccount(r.Context(), p.AccountID)
	if err != nil {
		return err
	}
	if acc.Settings.HasResponseTarget() {
		q.ResponseTarget = acc.Settings.ResponseTarget
	}
	capacity := map[string]int{u.ID: u.MaxConcurrent}
	rep, err := analytics.Compute(r.Context(), a.store, p.AccountID, q, capacity)
	if err != nil {
		return err
	}
	spans, err := a.store.AgentStatuses(r.Context(), p.AccountID, q.From, q.To)
	if err != nil {
		return err
	}
	rep.AddStatuses(analytics.StatusTimes(spans, q.From, q.To, time.Now()), capacity, u.ID, "")
	row := &analytics.Agent{ID: u.ID, Status: &analytics.StatusTime{Away: map[string]float64{}}}
	for _, ag := range rep.Agents {
		if ag.ID == u.ID {
			row = ag
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": q.From, "to": q.To, "agent": agentMetrics{Agent: row, Name: u.Name}})
	return nil
}
