package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/auth"
)

// A person who logs in with their second factor asks the browser to
// remember it: on that browser their password alone signs them in for the
// brand's two_factor_remember_days, on no other browser and for no other
// person. A new password, "Forget trusted browsers" and the brand turning
// it off each end it.
func TestATrustedBrowserSkipsTheSecondFactor(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	session := ts.login(t, b.agent)
	var setup struct{ Secret string }
	session.do("POST", "/api/v1/me/two-factor", map[string]string{"password": password}, &setup)
	var codes struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	now := time.Now()
	if st := session.do("POST", "/api/v1/me/two-factor/confirm", map[string]string{"code": totpCode(t, setup.Secret, now)}, &codes); st != 200 || len(codes.RecoveryCodes) != 10 {
		t.Fatalf("confirm: %d", st)
	}
	base, _ := url.Parse(ts.url)
	browser := func() *client {
		jar, _ := cookiejar.New(nil)
		return &client{t: t, base: ts.url, http: &http.Client{Jar: jar, Timeout: waitLimit}}
	}
	login := func(c *client, body map[string]any) (int, []byte) {
		t.Helper()
		body["email"] = b.agent.Email
		if _, ok := body["password"]; !ok {
			body["password"] = password
		}
		return c.raw("POST", "/api/v1/auth/login", body)
	}
	rememberDays := func(raw []byte) int {
		var e struct {
			Error struct {
				RememberDays *int `json:"remember_days"`
			} `json:"error"`
		}
		json.Unmarshal(raw, &e)
		if e.Error.RememberDays == nil {
			return -1
		}
		return *e.Error.RememberDays
	}

	// The password alone: the code is asked, and the form learns for how
	// long it could be remembered.
	laptop := browser()
	if st, raw := login(laptop, map[string]any{}); st != 401 || errorCode(raw) != parley.ETWOFACTOR || rememberDays(raw) != 30 {
		t.Fatalf("no code: %d %s", st, raw)
	}
	// With the code and remember_browser: an HttpOnly, strict cookie for
	// the login alone, for 30 days.
	req, _ := http.NewRequest("POST", ts.url+"/api/v1/auth/login", strings.NewReader(`{"email":"`+b.agent.Email+`","password":"`+password+`","code":"`+totpCode(t, setup.Secret, now.Add(30*time.Second))+`","remember_browser":true}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := laptop.http.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login with the code: %v %v", err, resp)
	}
	resp.Body.Close()
	var note *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == auth.TrustedBrowserCookie(b.agent.ID) {
			note = c
		}
	}
	if note == nil || !note.HttpOnly || note.SameSite != http.SameSiteStrictMode || note.Path != "/api/v1/auth/login" || note.MaxAge != 30*86400 {
		t.Fatalf("the browser's note: %+v", note)
	}
	if st, raw := login(laptop, map[string]any{}); st != 200 {
		t.Fatalf("the trusted browser, password alone: %d %s", st, raw)
	}
	// Still the password, every time; and a code given is checked.
	if st, raw := login(laptop, map[string]any{"password": "not it"}); st != 401 || errorCode(raw) != parley.EUNAUTHORIZED {
		t.Fatalf("a wrong password on the trusted browser: %d %s", st, raw)
	}
	if st, raw := login(laptop, map[string]any{"code": "000001", "remember_browser": true}); st != 401 {
		t.Fatalf("a wrong code on the trusted browser renewed it: %d %s", st, raw)
	}
	// Another browser, and the note under another person's name.
	if st, raw := login(browser(), map[string]any{}); st != 401 || errorCode(raw) != parley.ETWOFACTOR {
		t.Fatalf("another browser: %d %s", st, raw)
	}
	sup := ts.login(t, b.supervisor)
	supSecret := turnOnTwoFactor(t, sup)
	_ = supSecret
	thief := browser()
	thief.http.Jar.SetCookies(base, []*http.Cookie{{Name: auth.TrustedBrowserCookie(b.supervisor.ID), Value: note.Value, Path: "/api/v1/auth/login"}})
	if st, raw := thief.raw("POST", "/api/v1/auth/login", map[string]any{"email": b.supervisor.Email, "password": password}); st != 401 || errorCode(raw) != parley.ETWOFACTOR {
		t.Fatalf("the agent's note for the supervisor: %d %s", st, raw)
	}

	// Forgotten: every browser asks again; the audit log has it.
	if st, raw := session.raw("DELETE", "/api/v1/me/two-factor/trusted-browsers", nil); st != 204 {
		t.Fatalf("forget: %d %s", st, raw)
	}
	if st, raw := login(laptop, map[string]any{}); st != 401 || errorCode(raw) != parley.ETWOFACTOR {
		t.Fatalf("after forgetting: %d %s", st, raw)
	}
	waitFor(t, func() bool {
		audit, _ := ts.Store.ListAudit(t.Context(), b.account.ID, "", 100)
		for _, e := range audit {
			if e.Action == "DELETE /api/v1/me/two-factor/trusted-browsers" && e.ActorID == b.agent.ID {
				return true
			}
		}
		return false
	})
	if st, raw := ts.withKey(t, b.apiKey).raw("DELETE", "/api/v1/me/two-factor/trusted-browsers", nil); st != 403 {
		t.Fatalf("an API key: %d %s", st, raw)
	}

	// Trusted again with a recovery code, then a new password ends it.
	if st, raw := login(laptop, map[string]any{"code": codes.RecoveryCodes[0], "remember_browser": true}); st != 200 {
		t.Fatalf("a recovery code: %d %s", st, raw)
	}
	if st, raw := login(laptop, map[string]any{}); st != 200 {
		t.Fatalf("trusted again: %d %s", st, raw)
	}
	const newPassword = "a new and longer passphrase"
	if st, raw := session.raw("PUT", "/api/v1/me/password", map[string]string{"current_password": password, "new_password": newPassword}); st != 200 && st != 204 {
		t.Fatalf("password: %d %s", st, raw)
	}
	if st, raw := login(laptop, map[string]any{"password": newPassword}); st != 401 || errorCode(raw) != parley.ETWOFACTOR {
		t.Fatalf("after a new password: %d %s", st, raw)
	}

	// The brand shortens it, then turns it off: what browsers hold follows.
	if st, raw := login(laptop, map[string]any{"password": newPassword, "code": codes.RecoveryCodes[1], "remember_browser": true}); st != 200 {
		t.Fatalf("a recovery code: %d %s", st, raw)
	}
	admin := ts.login(t, b.admin)
	for _, bad := range []int{-1, 91} {
		if st, raw := admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"two_factor_remember_days": bad}); st != 400 || !strings.Contains(string(raw), "two_factor_remember_days") {
			t.Fatalf("%d days: %d %s", bad, st, raw)
		}
	}
	var settings struct {
		Days *int `json:"two_factor_remember_days"`
	}
	if admin.do("PATCH", "/api/v1/account-settings", map[string]any{"two_factor_remember_days": 0}, &settings); settings.Days == nil || *settings.Days != 0 {
		t.Fatalf("settings: %+v", settings)
	}
	if st, raw := login(laptop, map[string]any{"password": newPassword}); st != 401 || rememberDays(raw) != 0 {
		t.Fatalf("the brand turned it off: %d %s", st, raw)
	}
}
