package bot

import "time"

// SetClock makes the runtime read the time from now (tests of what
// happens as time passes).
func SetClock(r *Runtime, now func() time.Time) { r.now = now }
