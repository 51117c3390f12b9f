package server_test

import (
	"net/http"
	"testing"
)

// TestTheRootOpensTheConsole: someone who types the server's address gets
// the console; any other unknown path is still not found.
func TestTheRootOpensTheConsole(t *testing.T) {
	ts := startServer(t, t.TempDir())
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]int{"/": http.StatusFound, "/nothing-here": http.StatusNotFound, "/console/": http.StatusOK} {
		resp, err := client.Get(ts.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
		if path == "/" && resp.Header.Get("Location") != "/console/" {
			t.Errorf("GET /: Location %q, want /console/", resp.Header.Get("Location"))
		}
	}
}
