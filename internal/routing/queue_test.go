package routing

import (
	"testing"
	"time"
)

func TestTheEstimatedWaitFollowsTheQueuesPace(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	ago := func(d ...time.Duration) served {
		var s served
		for _, x := range d {
			s.add(now.Add(-x)) // in any order: add keeps them sorted
		}
		return s
	}
	cases := []struct {
		name  string
		s     served
		place int
		want  time.Duration // 0: no estimate
	}{
		{"nothing served yet", nil, 1, 0},
		{"two assignments are too few", ago(2*time.Minute, time.Minute), 1, 0},
		{"one every two minutes, next in line", ago(6*time.Minute, 2*time.Minute, 4*time.Minute), 1, 2 * time.Minute},
		{"one every two minutes, third in line", ago(2*time.Minute, 4*time.Minute, 6*time.Minute), 3, 6 * time.Minute},
		{"served an hour and more ago: too old to tell", ago(61*time.Minute, 62*time.Minute, 63*time.Minute, 64*time.Minute), 1, 0},
		{"only the last hour counts", ago(90*time.Minute, 3*time.Minute, 2*time.Minute, time.Minute), 2, 2 * time.Minute},
		// Every minute until 20 minutes ago, then no one: the silence
		// sets the pace, not the minutes before it.
		{"a queue no one serves now", ago(22*time.Minute, 21*time.Minute, 20*time.Minute), 2, 40 * time.Minute},
		{"no place", ago(3*time.Minute, 2*time.Minute, time.Minute), 0, 0},
	}
	for _, tc := range cases {
		got, ok := tc.s.estimate(tc.place, now)
		if ok != (tc.want != 0) || got != tc.want {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, ok, tc.want)
		}
	}

	// Only the newest servedSamples are kept.
	var s served
	for i := range 50 {
		s.add(now.Add(time.Duration(i-50) * time.Second))
	}
	if len(s) != servedSamples || !s[len(s)-1].Equal(now.Add(-time.Second)) || !s[0].Equal(now.Add(-time.Duration(servedSamples)*time.Second)) {
		t.Fatalf("kept %d, from %v to %v", len(s), s[0], s[len(s)-1])
	}
}
