package parley

import "time"

// CheckRange validates a time range [from, to) of at most max: both ends
// set, forwards, not empty, not too long. what names it in the error
// ("one export", "metrics").
func CheckRange(from, to time.Time, max time.Duration, what string) error {
	if from.IsZero() || to.IsZero() {
		return Errorf(EINVALID, "from and to are required")
	}
	if !from.Before(to) {
		return Errorf(EINVALID, "the range is backwards or empty: from %s is not before to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if to.Sub(from) > max {
		return Errorf(EINVALID, "the range is %d days; %s covers at most %d", int(to.Sub(from).Hours()/24), what, int(max.Hours()/24))
	}
	return nil
}
