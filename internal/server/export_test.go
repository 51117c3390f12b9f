package server_test

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

func download(t *testing.T, ts *testServer, key, path string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Content-Type"), string(body)
}

func TestExportsStreamTheRangeAsNDJSONAndSafeCSV(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	for _, text := range []string{"hello", "=HYPERLINK(\"http://evil.example\")", "line one\nline two, with \"quotes\""} {
		v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": text}, nil)
	}
	from := url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	to := url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))

	st, ctype, body := download(t, ts, b.apiKey, "/api/v1/exports/messages?format=csv&from="+from+"&to="+to)
	if st != 200 || !strings.HasPrefix(ctype, "text/csv") {
		t.Fatalf("csv: %d %s %s", st, ctype, body)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || rows[0][8] != "text" {
		t.Fatalf("csv rows: %q", rows)
	}
	if rows[2][8] != `'=HYPERLINK("http://evil.example")` || rows[3][8] != "line one\nline two, with \"quotes\"" {
		t.Fatalf("csv cells %q / %q", rows[2][8], rows[3][8])
	}

	st, ctype, body = download(t, ts, b.apiKey, "/api/v1/exports/events?from="+from+"&to="+to)
	if st != 200 || ctype != "application/x-ndjson" {
		t.Fatalf("ndjson: %d %s", st, ctype)
	}
	var seqs []int64
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		var e parley.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		seqs = append(seqs, e.Seq)
	}
	all, _ := ts.Store.ListEvents(t.Context(), b.account.ID, parley.EventFilter{Limit: 1000})
	if len(seqs) != len(all) || seqs[0] != 1 {
		t.Fatalf("exported %d events %v, the log has %d", len(seqs), seqs, len(all))
	}
	// Outside the range: nothing.
	if _, _, body := download(t, ts, b.apiKey, "/api/v1/exports/conversations?from=2020-01-01&to=2020-02-01"); body != "" {
		t.Fatalf("an old range exported %q", body)
	}

	for path, want := range map[string]string{
		"/api/v1/exports/messages?from=2026-02-01&to=2026-01-01":          "backwards",
		"/api/v1/exports/messages?from=2024-01-01&to=2026-01-01":          "at most 366",
		"/api/v1/exports/users?from=2026-01-01&to=2026-01-02":             "what must be",
		"/api/v1/exports/events?from=yesterday&to=2026-01-02":             "from must be a date",
		"/api/v1/exports/events?from=2026-01-01&to=2026-01-02&format=xml": "format must be",
		"/api/v1/exports/events?to=2026-01-02":                            "from and to are required",
	} {
		st, _, body := download(t, ts, b.apiKey, path)
		if st != 400 || !strings.Contains(body, want) {
			t.Errorf("%s: %d %s", path, st, body)
		}
	}
}
