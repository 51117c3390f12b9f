// Package parley holds Parley's domain: accounts (brands), users, consumers,
// conversations, messages and events, the errors they share, and the two
// narrow interfaces — Store and Bus — that the embedded (SQLite, in-process)
// and cluster (PostgreSQL, NATS) shapes implement. It imports only the
// standard library.
package parley

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// Build information, set by the linker in release builds.
var (
	Version = "dev"
	Commit  = ""
)

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// idState makes NewID monotonic within a process: IDs made in the same
// millisecond count up from the first one's random part.
var idState struct {
	sync.Mutex
	ms   uint64
	last [10]byte
}

// NewID returns a new identifier with the given prefix ("acc", "conv", ...).
// The part after the prefix starts with the creation time in milliseconds
// and ends with 80 random bits, so identifiers of one kind sort in creation
// order (strictly, within one process).
func NewID(prefix string) string {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	idState.Lock()
	if ms <= idState.ms {
		ms = idState.ms
		for i := len(idState.last) - 1; i >= 0; i-- {
			idState.last[i]++
			if idState.last[i] != 0 {
				break
			}
		}
	} else if _, err := rand.Read(idState.last[:]); err != nil {
		panic("parley: crypto/rand failed: " + err.Error())
	}
	idState.ms = ms
	copy(b[6:], idState.last[:])
	idState.Unlock()
	binary.BigEndian.PutUint64(b[:8], ms<<16|uint64(b[6])<<8|uint64(b[7]))
	return prefix + "_" + idEncoding.EncodeToString(b[:])
}

// IDFloor returns the smallest identifier of the kind NewID could have
// made at t: every one made at t or later sorts after it (a range scan
// over time-ordered IDs).
func IDFloor(prefix string, t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	return prefix + "_" + idEncoding.EncodeToString(b[:])
}

// HasIDPrefix reports whether id looks like an identifier of the given kind.
func HasIDPrefix(id, prefix string) bool {
	return strings.HasPrefix(id, prefix+"_") && len(id) == len(prefix)+1+26
}
