// Package natstest gives tests the NATS server they may use: its URL, or a
// skipped test where there is none.
//
// The server is PARLEY_TEST_NATS, by default the local one CI runs
// (nats://127.0.0.1:4222). Tests keep to subjects of their own (a unique
// prefix). When no server answers, the test is skipped, unless
// PARLEY_TEST_REQUIRE_NATS is set, which makes it fail.
package natstest

import (
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// DefaultURL is the test server when PARLEY_TEST_NATS is not set.
const DefaultURL = "nats://127.0.0.1:4222"

// URL returns the test server's URL once it has answered.
func URL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("PARLEY_TEST_NATS")
	if url == "" {
		url = DefaultURL
	}
	nc, err := nats.Connect(url, nats.Timeout(5*time.Second))
	if err != nil {
		if os.Getenv("PARLEY_TEST_REQUIRE_NATS") != "" {
			t.Fatalf("natstest: no NATS at %s: %v", url, err)
		}
		t.Skipf("natstest: no NATS at %s (%v); set PARLEY_TEST_NATS to run this test", url, err)
	}
	nc.Close()
	return url
}
