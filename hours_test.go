package parley_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// Holidays override the week: closed all day, or open in their own
// windows; bad dates, a date twice and bad windows are refused by name.
func TestHolidays(t *testing.T) {
	h := parley.BusinessHours{TimeZone: "Europe/Paris", Days: map[string][][2]string{
		"mon": {{"09:00", "17:00"}}, "tue": {{"09:00", "17:00"}}, "thu": {{"09:00", "17:00"}}, "fri": {{"09:00", "17:00"}},
	}, Holidays: []parley.Holiday{
		{Date: "2026-12-25", Name: "Christmas"},
		{Date: "2026-12-24", Name: "Christmas Eve", Hours: [][2]string{{"09:00", "13:00"}}},
	}}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	for _, c := range []struct {
		at   time.Time
		open bool
	}{
		{time.Date(2026, 12, 25, 10, 0, 0, 0, paris), false},     // a Friday, but Christmas
		{time.Date(2026, 12, 24, 10, 0, 0, 0, paris), true},      // a Thursday: the holiday's morning
		{time.Date(2026, 12, 24, 14, 0, 0, 0, paris), false},     // not its afternoon
		{time.Date(2026, 12, 24, 23, 30, 0, 0, time.UTC), false}, // Christmas already in Paris
		{time.Date(2026, 12, 18, 14, 0, 0, 0, paris), true},      // an ordinary Friday
	} {
		if got := h.Open(c.at); got != c.open {
			t.Errorf("Open(%v) = %v, want %v", c.at, got, c.open)
		}
	}
	for _, bad := range []struct {
		holidays []parley.Holiday
		want     string
	}{
		{[]parley.Holiday{{Date: "25/12/2026"}}, "holidays[0].date"},
		{[]parley.Holiday{{Date: "2026-12-25"}, {Date: "2026-12-25"}}, "holidays[1].date 2026-12-25 is there twice"},
		{[]parley.Holiday{{Date: "2026-12-24", Hours: [][2]string{{"13:00", "09:00"}}}}, "holidays[0] (2026-12-24) window"},
	} {
		b := h
		b.Holidays = bad.holidays
		if err := b.Validate(); parley.ErrorCode(err) != parley.EINVALID || !strings.Contains(parley.ErrorMessage(err), bad.want) {
			t.Errorf("%+v: %v; want %q", bad.holidays, err, bad.want)
		}
	}
}

func TestBusinessHours(t *testing.T) {
	h := parley.BusinessHours{TimeZone: "Europe/Paris", Days: map[string][][2]string{
		"mon": {{"09:00", "12:00"}, {"13:00", "17:30"}}, "sat": {{"10:00", "24:00"}},
	}}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	for _, c := range []struct {
		at   time.Time
		open bool
	}{
		{time.Date(2026, 11, 30, 9, 0, 0, 0, paris), true},    // Monday 09:00
		{time.Date(2026, 11, 30, 12, 30, 0, 0, paris), false}, // lunch
		{time.Date(2026, 11, 30, 17, 29, 0, 0, paris), true},
		{time.Date(2026, 11, 30, 17, 30, 0, 0, paris), false},
		{time.Date(2026, 12, 1, 10, 0, 0, 0, paris), false},    // Tuesday: closed
		{time.Date(2026, 12, 5, 23, 59, 0, 0, paris), true},    // Saturday late
		{time.Date(2026, 11, 30, 8, 30, 0, 0, time.UTC), true}, // 09:30 in Paris
	} {
		if got := h.Open(c.at); got != c.open {
			t.Errorf("%v: open=%v, want %v", c.at, got, c.open)
		}
	}
	for name, bad := range map[string]parley.BusinessHours{
		"zone":     {TimeZone: "Mars/Olympus"},
		"day":      {TimeZone: "UTC", Days: map[string][][2]string{"funday": {{"09:00", "10:00"}}}},
		"backward": {TimeZone: "UTC", Days: map[string][][2]string{"mon": {{"17:00", "09:00"}}}},
		"format":   {TimeZone: "UTC", Days: map[string][][2]string{"mon": {{"9am", "5pm"}}}},
		"25h":      {TimeZone: "UTC", Days: map[string][][2]string{"mon": {{"09:00", "25:00"}}}},
	} {
		if parley.ErrorCode(bad.Validate()) != parley.EINVALID {
			t.Errorf("%s: accepted", name)
		}
	}
}
