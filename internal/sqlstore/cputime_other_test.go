//go:build !unix

package sqlstore_test

import "time"

// cpuTime is not measured here: the CPU per message reads 0.
func cpuTime() time.Duration { return 0 }
