package server_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/parleychat/parley"
)

// fetchGzip fetches path as a browser would and returns the bytes on the
// wire and the decoded body.
func fetchGzip(t *testing.T, url string) (wire int, body string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", url, resp.StatusCode, raw)
	}
	if resp.Header.Get("Content-Encoding") != "gzip" {
		return len(raw), string(raw) // served plain: the wire size is the plain size
	}
	zr, err := gzip.NewReader(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	return len(raw), string(plain)
}

// TestWidgetByteBudgets checks the served bytes: the loader ≤ 8 KB gzipped,
// the frame's HTML+JS+CSS ≤ 40 KB gzipped.
func TestWidgetByteBudgets(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	loader, _ := fetchGzip(t, ts.url+"/widget.js")
	if loader > 8*1024 {
		t.Fatalf("widget.js is %d bytes gzipped; the budget is 8 KB", loader)
	}
	frame := 0
	for _, p := range []string{"/widget/frame?account=" + b.account.ID, "/widget/frame.js", "/widget/strings.js", "/widget/clientid.js", "/widget/frame.css"} {
		n, _ := fetchGzip(t, ts.url+p)
		frame += n
	}
	if frame > 40*1024 {
		t.Fatalf("the frame is %d bytes gzipped; the budget is 40 KB", frame)
	}
	t.Logf("gzipped: widget.js %d bytes; frame HTML+JS+CSS %d bytes", loader, frame)
}

func TestWidgetSettingsAndPublicConfig(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	admin := ts.withKey(t, b.apiKey)
	good := map[string]any{"color": "#112233", "position": "left", "label": "Ask us", "greeting": "Hello!", "language": "es",
		"allowed_origins": []string{"https://Shop.Example", "http://127.0.0.1:9999"}}
	var saved parley.WidgetSettings
	if st := admin.do("PUT", "/api/v1/widget-settings", good, &saved); st != 200 || saved.AllowedOrigins[0] != "https://shop.example" {
		t.Fatalf("PUT: %d %+v", st, saved)
	}
	for name, bad := range map[string]map[string]any{
		"colour":              {"color": "red"},
		"position":            {"position": "top"},
		"language":            {"language": "klingon"},
		"origin path":         {"allowed_origins": []string{"https://shop.example/path"}},
		"origin js":           {"allowed_origins": []string{"javascript:alert(1)"}},
		"long label":          {"label": strings.Repeat("x", 41)},
		"engagement id":       {"engagements": []map[string]any{{"id": "Bad ID!", "url_pattern": "*", "text": "Hi"}}},
		"engagement pattern":  {"engagements": []map[string]any{{"id": "a", "url_pattern": "boots", "text": "Hi"}}},
		"engagement delay":    {"engagements": []map[string]any{{"id": "a", "url_pattern": "*", "delay_seconds": -1, "text": "Hi"}}},
		"engagement text":     {"engagements": []map[string]any{{"id": "a", "url_pattern": "*", "text": ""}}},
		"engagement twice":    {"engagements": []map[string]any{{"id": "a", "url_pattern": "*", "text": "x"}, {"id": "a", "url_pattern": "*", "text": "y"}}},
		"engagement name":     {"engagements": []map[string]any{{"id": "a", "url_pattern": "*", "text": "x", "name": strings.Repeat("n", 61)}}},
		"engagement audience": {"engagements": []map[string]any{{"id": "a", "url_pattern": "*", "text": "x", "audience": "vip"}}},
		"engagement pages":    {"engagements": []map[string]any{{"id": "a", "url_pattern": "*", "text": "x", "min_pages": 101}}},
		"engagement repeat":   {"engagements": []map[string]any{{"id": "a", "url_pattern": "*", "text": "x", "repeat": "always"}}},
		"engagement skill":    {"engagements": []map[string]any{{"id": "a", "url_pattern": "*", "text": "x", "skill": "skl_nope"}}},
	} {
		if st, raw := admin.raw("PUT", "/api/v1/widget-settings", bad); st != 400 || errorCode(raw) != parley.EINVALID {
			t.Fatalf("%s: %d %s", name, st, raw)
		}
	}
	agent := ts.login(t, b.agent)
	if st, _ := agent.raw("PUT", "/api/v1/widget-settings", good); st != 403 {
		t.Fatalf("agent changed widget settings: %d", st)
	}
	// The public config carries the settings, for anyone, with CORS.
	resp, err := http.Get(ts.url + "/widget/config?account=" + b.account.ID)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(string(raw), `"color":"#112233"`) ||
		!strings.Contains(string(raw), `"heartbeat_ms":1000`) { // the frame pings as often as the server says (startServer: 1 s)
		t.Fatalf("public config: %s %s", resp.Header, raw)
	}
	// The frame may be embedded only by the allowed origins.
	resp, _ = http.Get(ts.url + "/widget/frame?account=" + b.account.ID)
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors https://shop.example http://127.0.0.1:9999") {
		t.Fatalf("frame CSP: %s", csp)
	}
	for _, p := range []string{"/widget/config?account=acc_nope", "/widget/frame?account=" + strings.Repeat("x", 5)} {
		resp, _ := http.Get(ts.url + p)
		resp.Body.Close()
		if resp.StatusCode != 400 && resp.StatusCode != 404 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
	}
}

func TestBeaconsRejectBadInput(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	post := func(body string, origin string) int {
		req, _ := http.NewRequest("POST", ts.url+"/widget/beacon", strings.NewReader(body))
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	ok := `{"account":"` + b.account.ID + `","pv":"abcdef123","kind":"load","url":"https://shop.example/boots"}`
	if st := post(ok, "https://shop.example"); st != 204 {
		t.Fatalf("good beacon: %d", st)
	}
	for name, body := range map[string]string{
		"not JSON":     `load`,
		"bad kind":     strings.Replace(ok, `"load"`, `"explode"`, 1),
		"bad pv":       strings.Replace(ok, `abcdef123`, `<script>`, 1),
		"js url":       strings.Replace(ok, `https://shop.example/boots`, `javascript:alert(1)`, 1),
		"unknown acct": strings.Replace(ok, b.account.ID, "acc_06h2a3mvmwf8gbtcxfan8kvkew", 1),
		"huge":         `{"detail":"` + strings.Repeat("x", 5000) + `"}`,
	} {
		if st := post(body, ""); st < 400 {
			t.Fatalf("%s: %d", name, st)
		}
	}
	events, _ := ts.Store.ListEvents(t.Context(), b.account.ID, parley.EventFilter{Types: []string{parley.EventWidgetLoaded}})
	if len(events) != 1 {
		t.Fatalf("%d widget.loaded events, want 1", len(events))
	}
	// Once origins are restricted, beacons from other sites are refused.
	ts.withKey(t, b.apiKey).do("PUT", "/api/v1/widget-settings", map[string]any{"allowed_origins": []string{"https://shop.example"}}, nil)
	if st := post(strings.Replace(ok, "abcdef123", "abcdef456", 1), "https://evil.example"); st != 403 {
		t.Fatalf("beacon from a disallowed origin: %d", st)
	}
}
