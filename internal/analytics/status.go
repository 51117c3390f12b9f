package analytics

import (
	"math"
	"sort"
	"time"

	"github.com/parleychat/parley"
)

// StatusTime is how long a person spent in each status over a range
// (docs/data.md, Agent status).
type StatusTime struct {
	OnlineSeconds float64 `json:"online_seconds"`
	AwaySeconds   float64 `json:"away_seconds"`
	// Away splits AwaySeconds by reason: the account's away reasons as
	// written, "" for Away without one, and "auto_away" for the console
	// setting an idle person Away.
	Away map[string]float64 `json:"away"`
}

// StatusTimes adds up each person's spans over [from, to), counting a
// span that lasts until now (never past to).
func StatusTimes(spans []*parley.AgentStatus, from, to, now time.Time) map[string]*StatusTime {
	end := to
	if now.Before(end) {
		end = now
	}
	out := map[string]*StatusTime{}
	for _, s := range spans {
		a, b := s.Since, end
		if s.Until != nil && s.Until.Before(b) {
			b = *s.Until
		}
		if a.Before(from) {
			a = from
		}
		if !b.After(a) {
			continue
		}
		secs := b.Sub(a).Seconds()
		t := out[s.UserID]
		if t == nil {
			t = &StatusTime{Away: map[string]float64{}}
			out[s.UserID] = t
		}
		switch s.Status {
		case parley.StatusOnline:
			t.OnlineSeconds += secs
		case parley.StatusAway:
			t.AwaySeconds += secs
			why := s.Reason
			if s.Cause == parley.CauseAutoAway {
				why = parley.CauseAutoAway
			}
			t.Away[why] += secs
		}
	}
	ms := func(v float64) float64 { return math.Round(v*1000) / 1000 }
	for _, t := range out {
		t.OnlineSeconds, t.AwaySeconds = ms(t.OnlineSeconds), ms(t.AwaySeconds)
		for k, v := range t.Away {
			t.Away[k] = ms(v)
		}
	}
	return out
}

// AddStatuses gives each agent of the report their time online and away,
// and their occupancy: conversation time over capacity × time online —
// what a contact centre calls occupancy, where utilisation divides by the
// whole range. People with time online and no conversations join the
// list (an agent who was online all day and got nothing is the question),
// unless the report is for one skill.
func (r *Report) AddStatuses(times map[string]*StatusTime, capacity map[string]int, agent, skill string) {
	have := map[string]*Agent{}
	for _, a := range r.Agents {
		have[a.ID] = a
	}
	if skill == "" {
		for id, t := range times {
			if have[id] == nil && (agent == "" || agent == id) && (t.OnlineSeconds > 0 || t.AwaySeconds > 0) {
				a := &Agent{ID: id}
				have[id] = a
				r.Agents = append(r.Agents, a)
			}
		}
		sort.Slice(r.Agents, func(i, j int) bool { return r.Agents[i].ID < r.Agents[j].ID })
	}
	for _, a := range r.Agents {
		t := times[a.ID]
		if t == nil {
			t = &StatusTime{Away: map[string]float64{}}
		}
		a.Status = t
		if c := capacity[a.ID]; c > 0 && t.OnlineSeconds > 0 {
			occ := round2(a.convHrs / (float64(c) * t.OnlineSeconds / 3600))
			a.Occupancy = &occ
		}
	}
}

// AddStaffing gives each bucket of the report how many people were online
// on average over it, from the spans, up to now. A report for one agent
// counts that agent alone; one for a skill counts everyone (presence is
// not per skill).
func (r *Report) AddStaffing(spans []*parley.AgentStatus, agent string, now time.Time) {
	step := Query{Bucket: r.Bucket}.step()
	for _, b := range r.Buckets {
		start, end := b.Start, b.Start.Add(step)
		if now.Before(end) {
			end = now
		}
		if !end.After(start) {
			continue
		}
		online := 0.0
		for _, s := range spans {
			if s.Status != parley.StatusOnline || (agent != "" && s.UserID != agent) {
				continue
			}
			a, z := s.Since, end
			if s.Until != nil && s.Until.Before(z) {
				z = *s.Until
			}
			if a.Before(start) {
				a = start
			}
			if z.After(a) {
				online += z.Sub(a).Seconds()
			}
		}
		b.AgentsOnline = math.Round(online/end.Sub(start).Seconds()*100) / 100
	}
}
