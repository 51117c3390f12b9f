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
	// Holidays override the week on their dates: closed, or open only in
	// their own windows (Christmas Eve 09:00–13:00).
	Holidays []Holiday `json:"holidays,omitempty"`
}

// Holiday is a date, in the brand's time zone, with its own windows (none:
// closed all day).
type Holiday struct {
	Date  string      `json:"date"` // 2026-12-25
	Name  string      `json:"name,omitempty"`
	Hours [][2]string `json:"hours,omitempty"`
}

// MaxHolidays bounds a brand's holidays.
const MaxHolidays = 100

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
		if err := checkWindows(day, windows); err != nil {
			return err
		}
	}
	if len(h.Holidays) > MaxHolidays {
		return Errorf(EINVALID, "holidays: at most %d", MaxHolidays)
	}
	seen := map[string]bool{}
	for i, d := range h.Holidays {
		at := fmt.Sprintf("holidays[%d]", i)
		if _, err := time.Parse(time.DateOnly, d.Date); err != nil {
			return Errorf(EINVALID, "%s.date %q must be a date like 2026-12-25", at, d.Date)
		}
		if seen[d.Date] {
			return Errorf(EINVALID, "%s.date %s is there twice", at, d.Date)
		}
		seen[d.Date] = true
		if len(d.Name) > 100 {
			return Errorf(EINVALID, "%s.name: at most 100 characters", at)
		}
		if err := checkWindows(at+" ("+d.Date+")", d.Hours); err != nil {
			return err
		}
	}
	return nil
}

// checkWindows checks one day's opening windows.
func checkWindows(day string, windows [][2]string) error {
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
	return nil
}

// Open reports whether t falls in a window; nil hours are always open.
func (h *BusinessHours) Open(t time.Time) bool {
	if h == nil {
		return true
	}
	loc, err := time.LoadLocation(h.TimeZone)
	if err != nil {
		return true // invalid hours were refused when saved; never strand visitors on a bad zone
	}
	local := t.In(loc)
	now := local.Hour()*60 + local.Minute()
	windows := h.Days[weekdays[local.Weekday()]]
	date := local.Format(time.DateOnly)
	for _, d := range h.Holidays {
		if d.Date == date {
			windows = d.Hours
		}
	}
	for _, w := range windows {
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
