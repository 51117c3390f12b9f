package parley

import (
	"fmt"
	"time"
)

// BusinessHours are when a brand's people answer, in the brand's time zone.
// Days maps "mon".."sun" to opening windows like ["09:00","17:30"]; a day
// with no window is closed. Outside them the widget offers the offline form.
type BusinessHours struct {
	TimeZone string                 `json:"time_zone"`
	Days     map[string][][2]string `json:"days"`
}

var weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Validate checks the zone, day names and windows.
func (h *BusinessHours) Validate() error {
	if _, err := time.LoadLocation(h.TimeZone); err != nil || h.TimeZone == "" {
		return Errorf(EINVALID, "time_zone %q is not an IANA time zone like Europe/Paris", h.TimeZone)
	}
	for day, windows := range h.Days {
		known := false
		for _, d := range weekdays {
			known = known || d == day
		}
		if !known {
			return Errorf(EINVALID, "day %q must be one of mon, tue, wed, thu, fri, sat, sun", day)
		}
		if len(windows) > 6 {
			return Errorf(EINVALID, "%s has more than 6 windows", day)
		}
		for _, w := range windows {
			from, err1 := minutes(w[0])
			to, err2 := minutes(w[1])
			if err1 != nil || err2 != nil || from >= to {
				return Errorf(EINVALID, "%s window %s–%s must be HH:MM–HH:MM with the end after the start (24:00 ends the day)", day, w[0], w[1])
			}
		}
	}
	return nil
}

// Open reports whether t falls in a window.
func (h *BusinessHours) Open(t time.Time) bool {
	loc, err := time.LoadLocation(h.TimeZone)
	if err != nil {
		return true // invalid hours were refused when saved; never strand visitors on a bad zone
	}
	local := t.In(loc)
	now := local.Hour()*60 + local.Minute()
	for _, w := range h.Days[weekdays[local.Weekday()]] {
		from, _ := minutes(w[0])
		to, _ := minutes(w[1])
		if now >= from && now < to {
			return true
		}
	}
	return false
}

func minutes(hhmm string) (int, error) {
	var h, m int
	if _, err := fmt.Sscanf(hhmm, "%2d:%2d", &h, &m); err != nil || len(hhmm) != 5 || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("bad time %q", hhmm)
	}
	return h*60 + m, nil
}
