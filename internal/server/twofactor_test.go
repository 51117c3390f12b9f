package server_test

import (
	"bytes"
	"fmt"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/pquerna/otp/totp"
)

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// An agent turns two-factor authentication on: the seed is confirmed by a
// code, their other sessions end, and from then on a login needs a code —
// each accepted once — or a recovery code, each accepted once. An admin
// turns it off for a colleague who lost their phone, ending their sessions.
func TestTwoFactorGuardsTheLogin(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	agent := ts.login(t, b.agent)
	laptop := ts.login(t, b.agent) // the same agent, another browser
	laptopWS := sessionWS(t, ts, laptop)

	if st, raw := agent.raw("POST", "/api/v1/me/two-factor", map[string]string{"password": "not it"}); st != 400 || errorCode(raw) != parley.EINVALID {
		t.Fatalf("setup with a wrong password: %d %s", st, raw)
	}
	if st, raw := agent.raw("GET", "/api/v1/me/two-factor/qr.png", nil); st != 404 {
		t.Fatalf("QR code before any setup: %d %s", st, raw)
	}
	var setup struct {
		Secret     string `json:"secret"`
		OTPAuthURL string `json:"otpauth_url"`
		QRCodeURL  string `json:"qr_code_url"`
	}
	agent.do("POST", "/api/v1/me/two-factor", map[string]string{"password": password}, &setup)
	if len(setup.Secret) < 16 || !strings.Contains(setup.OTPAuthURL, "secret="+setup.Secret) || !strings.Contains(setup.OTPAuthURL, b.agent.Email) {
		t.Fatalf("setup: %+v", setup)
	}
	st, img := agent.raw("GET", setup.QRCodeURL, nil)
	if _, err := png.Decode(bytes.NewReader(img)); st != 200 || err != nil {
		t.Fatalf("QR code: %d %v", st, err)
	}
	// Until a code confirms it, nothing changed.
	if _, st, raw := ts.loginWith(t, b.agent, password, ""); st != 200 {
		t.Fatalf("login during the setup: %d %s", st, raw)
	}
	now := time.Now()
	wrong := "000000"
	if totpCode(t, setup.Secret, now) == wrong {
		wrong = "111111"
	}
	if st, raw := agent.raw("POST", "/api/v1/me/two-factor/confirm", map[string]string{"code": wrong}); st != 400 {
		t.Fatalf("confirm with a wrong code: %d %s", st, raw)
	}
	confirmed := totpCode(t, setup.Secret, now)
	var codes struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	agent.do("POST", "/api/v1/me/two-factor/confirm", map[string]string{"code": confirmed}, &codes)
	if len(codes.RecoveryCodes) != 10 {
		t.Fatalf("recovery codes %q", codes.RecoveryCodes)
	}
	// The other browser is logged out, its socket closed; this one stays.
	if code := laptopWS.waitClosed(); int(code) != int(realtime.CloseAuthFailed) {
		t.Fatalf("the other session's socket closed with %d", code)
	}
	if st, _ := laptop.raw("GET", "/api/v1/me", nil); st != 401 {
		t.Fatalf("the other session after two-factor went on: %d", st)
	}
	var me struct {
		TwoFactor *bool `json:"two_factor"`
	}
	agent.do("GET", "/api/v1/me", nil, &me)
	if me.TwoFactor == nil || !*me.TwoFactor {
		t.Fatalf("me: two_factor %v", me.TwoFactor)
	}

	if _, st, raw := ts.loginWith(t, b.agent, password, ""); st != 401 || errorCode(raw) != parley.ETWOFACTOR {
		t.Fatalf("login without a code: %d %s", st, raw)
	}
	if _, st, raw := ts.loginWith(t, b.agent, "not it", ""); st != 401 || errorCode(raw) != parley.EUNAUTHORIZED {
		t.Fatalf("a wrong password must not say a code is needed: %d %s", st, raw)
	}
	if _, st, raw := ts.loginWith(t, b.agent, password, wrong); st != 401 || errorCode(raw) != parley.EUNAUTHORIZED {
		t.Fatalf("login with a wrong code: %d %s", st, raw)
	}
	if _, st, raw := ts.loginWith(t, b.agent, password, confirmed); st != 401 {
		t.Fatalf("the code that confirmed the setup was accepted again: %d %s", st, raw)
	}
	next := totpCode(t, setup.Secret, now.Add(30*time.Second))
	if _, st, raw := ts.loginWith(t, b.agent, password, next); st != 200 {
		t.Fatalf("login with the next code: %d %s", st, raw)
	}
	if _, st, _ := ts.loginWith(t, b.agent, password, next); st != 401 {
		t.Fatal("a code was accepted twice")
	}
	if _, st, raw := ts.loginWith(t, b.agent, password, codes.RecoveryCodes[0]); st != 200 {
		t.Fatalf("login with a recovery code: %d %s", st, raw)
	}
	if _, st, _ := ts.loginWith(t, b.agent, password, codes.RecoveryCodes[0]); st != 401 {
		t.Fatal("a recovery code was accepted twice")
	}
	// New recovery codes replace the old.
	var renewed struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	agent.do("POST", "/api/v1/me/two-factor/recovery-codes", map[string]string{"password": password}, &renewed)
	if _, st, _ := ts.loginWith(t, b.agent, password, codes.RecoveryCodes[1]); st != 401 || len(renewed.RecoveryCodes) != 10 {
		t.Fatal("an old recovery code still worked after new ones were made")
	}

	// Nothing secret reaches the event log, the users list or /me.
	admin := ts.login(t, b.admin)
	var users struct{ Users []map[string]any }
	admin.do("GET", "/api/v1/users", nil, &users)
	events, _ := ts.Store.ListEvents(t.Context(), b.account.ID, parley.EventFilter{Limit: 1000})
	var seen strings.Builder
	for _, e := range events {
		seen.Write(e.Data)
	}
	_, meRaw := agent.raw("GET", "/api/v1/me", nil)
	_, usersRaw := admin.raw("GET", "/api/v1/users", nil)
	for _, where := range []string{seen.String(), string(meRaw), string(usersRaw)} {
		if strings.Contains(where, setup.Secret) || strings.Contains(where, renewed.RecoveryCodes[0]) {
			t.Fatalf("a secret leaked: %s", where)
		}
	}
	for _, u := range users.Users {
		if u["id"] == b.agent.ID && u["two_factor"] != true {
			t.Fatalf("the users list says %v", u)
		}
	}

	// The agent lost their phone: an admin turns it off; their sessions end.
	agentWS := sessionWS(t, ts, agent)
	if st, raw := admin.raw("DELETE", "/api/v1/users/"+b.admin.ID+"/two-factor", nil); st != 400 {
		t.Fatalf("an admin reset their own second factor without a password: %d %s", st, raw)
	}
	var reset parley.User
	admin.do("DELETE", "/api/v1/users/"+b.agent.ID+"/two-factor", nil, &reset)
	if reset.TwoFactor {
		t.Fatal("still on after the reset")
	}
	if code := agentWS.waitClosed(); int(code) != int(realtime.CloseAuthFailed) {
		t.Fatalf("the agent's socket closed with %d", code)
	}
	if st, _ := agent.raw("GET", "/api/v1/me", nil); st != 401 {
		t.Fatalf("the agent's session outlived the reset: %d", st)
	}
	if _, st, raw := ts.loginWith(t, b.agent, password, ""); st != 200 {
		t.Fatalf("login after the reset: %d %s", st, raw)
	}
	// The audit log has the reset, the agent's own changes, their logins
	// and the wrong codes after a right password; never a secret.
	// (Refused logins are written after their answer: wait for them.)
	auditGap := func() string {
		audit, _ := ts.Store.ListAudit(t.Context(), b.account.ID, "", 100)
		audited := map[string]int{}
		for _, e := range audit {
			audited[fmt.Sprintf("%s %s %d", e.ActorID, e.Action, e.Status)]++
			if strings.Contains(e.Target, setup.Secret) {
				t.Fatalf("the audit log holds the seed: %+v", e)
			}
		}
		for want, n := range map[string]int{
			b.admin.ID + " DELETE /api/v1/users/{id}/two-factor 200":      1,
			b.agent.ID + " POST /api/v1/me/two-factor/confirm 200":        1,
			b.agent.ID + " POST /api/v1/me/two-factor/confirm 400":        1,
			b.agent.ID + " POST /api/v1/me/two-factor/recovery-codes 200": 1,
			// A wrong password, a wrong code, the setup's code again, the next
			// code again, a spent recovery code, an old one after new ones.
			b.agent.ID + " POST /api/v1/auth/login 401": 6,
			// Two browsers, during the setup, the next code, a recovery code,
			// after the reset.
			b.agent.ID + " POST /api/v1/auth/login 200": 6,
		} {
			if audited[want] != n {
				return fmt.Sprintf("audit %q: %d entries, want %d (all: %v)", want, audited[want], n, audited)
			}
		}
		return ""
	}
	waitFor(t, func() bool { return auditGap() == "" }, auditGap)
}

// Changing one's password asks for the current one, ends one's other
// sessions (and their sockets) and keeps this one; a password an admin
// sets ends all of the user's sessions. Turning two-factor off asks for
// the password too.
func TestChangingAPasswordEndsTheOtherSessions(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	agent := ts.login(t, b.agent)
	laptop := ts.login(t, b.agent)
	laptopWS := sessionWS(t, ts, laptop)
	for _, bad := range []struct {
		body map[string]string
		code string
	}{
		{map[string]string{"current_password": "not it", "new_password": "a new long one"}, parley.EINVALID},
		{map[string]string{"current_password": password, "new_password": "short"}, parley.EINVALID},
		{map[string]string{"current_password": password}, parley.EINVALID},
	} {
		if st, raw := agent.raw("PUT", "/api/v1/me/password", bad.body); st != 400 || errorCode(raw) != bad.code {
			t.Fatalf("%v: %d %s", bad.body, st, raw)
		}
	}
	if st, _ := laptop.raw("GET", "/api/v1/me", nil); st != 200 {
		t.Fatal("a refused change ended a session")
	}
	var out struct {
		SessionsEnded int `json:"sessions_ended"`
	}
	agent.do("PUT", "/api/v1/me/password", map[string]string{"current_password": password, "new_password": "a new long one"}, &out)
	if out.SessionsEnded != 1 {
		t.Fatalf("sessions ended: %d", out.SessionsEnded)
	}
	if code := laptopWS.waitClosed(); int(code) != int(realtime.CloseAuthFailed) {
		t.Fatalf("the other session's socket closed with %d", code)
	}
	if st, _ := laptop.raw("GET", "/api/v1/me", nil); st != 401 {
		t.Fatal("the other session outlived the new password")
	}
	if st, _ := agent.raw("GET", "/api/v1/me", nil); st != 200 {
		t.Fatal("this session ended with its own password change")
	}
	if _, st, _ := ts.loginWith(t, b.agent, password, ""); st != 401 {
		t.Fatal("the old password still logs in")
	}
	if _, st, raw := ts.loginWith(t, b.agent, "a new long one", ""); st != 200 {
		t.Fatalf("the new password: %d %s", st, raw)
	}
	// Logging out everywhere else ends the other sessions, not this one.
	other, _, _ := ts.loginWith(t, b.agent, "a new long one", "")
	_, _, _ = ts.loginWith(t, b.agent, "a new long one", "") // a third, forgotten somewhere
	var ended struct {
		SessionsEnded int `json:"sessions_ended"`
	}
	other.do("POST", "/api/v1/me/sessions/end-others", nil, &ended)
	// The first session, the login that tried the new password, the forgotten one.
	if st, _ := agent.raw("GET", "/api/v1/me", nil); st != 401 || ended.SessionsEnded != 3 {
		t.Fatalf("end-others ended %d sessions; the first still answers %d", ended.SessionsEnded, st)
	}
	if st, _ := other.raw("GET", "/api/v1/me", nil); st != 200 {
		t.Fatal("end-others ended its own session")
	}
	agent = other
	// An API key has no password of its own.
	if st, raw := ts.withKey(t, b.apiKey).raw("PUT", "/api/v1/me/password", map[string]string{"current_password": "x", "new_password": "a new long one"}); st != 403 {
		t.Fatalf("an API key changed a password: %d %s", st, raw)
	}
	// An admin sets a password: every session of the user ends.
	admin := ts.login(t, b.admin)
	admin.do("PATCH", "/api/v1/users/"+b.agent.ID, map[string]any{"password": "set by the admin"}, nil)
	if st, _ := agent.raw("GET", "/api/v1/me", nil); st != 401 {
		t.Fatal("the agent's session outlived the admin's new password")
	}
	if st, _ := admin.raw("GET", "/api/v1/me", nil); st != 200 {
		t.Fatal("the admin's own session ended")
	}
	// Off again, with the password only.
	agent, _, _ = ts.loginWith(t, b.agent, "set by the admin", "")
	var setup struct{ Secret string }
	agent.do("POST", "/api/v1/me/two-factor", map[string]string{"password": "set by the admin"}, &setup)
	agent.do("POST", "/api/v1/me/two-factor/confirm", map[string]string{"code": totpCode(t, setup.Secret, time.Now())}, nil)
	if st, raw := agent.raw("POST", "/api/v1/me/two-factor", map[string]string{"password": "set by the admin"}); st != 409 {
		t.Fatalf("a second setup while on: %d %s", st, raw)
	}
	if st, _ := agent.raw("POST", "/api/v1/me/two-factor/disable", map[string]string{"password": "not it"}); st != 400 {
		t.Fatal("turned off with a wrong password")
	}
	if st, raw := agent.raw("POST", "/api/v1/me/two-factor/disable", map[string]string{"password": "set by the admin"}); st != 204 {
		t.Fatalf("turning it off: %d %s", st, raw)
	}
	if _, st, raw := ts.loginWith(t, b.agent, "set by the admin", ""); st != 200 {
		t.Fatalf("login once it is off: %d %s", st, raw)
	}
}

// turnOnTwoFactor sets up a second factor for a logged-in user and
// returns its seed.
func turnOnTwoFactor(t *testing.T, c *client) string {
	t.Helper()
	var setup struct{ Secret string }
	c.do("POST", "/api/v1/me/two-factor", map[string]string{"password": password}, &setup)
	if st, raw := c.raw("POST", "/api/v1/me/two-factor/confirm", map[string]string{"code": totpCode(t, setup.Secret, time.Now())}); st != 200 {
		t.Fatalf("confirm: %d %s", st, raw)
	}
	return setup.Secret
}

// A brand requires two-factor authentication of its staff: the admin must
// have it first; whoever has none is logged out, and at their next login
// may reach their profile and nothing else — no API, no socket — until
// they set it up. API keys are not people and go on.
func TestABrandRequiresTwoFactor(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	admin := ts.login(t, b.admin)
	agent := ts.login(t, b.agent)
	agentWS := sessionWS(t, ts, agent)
	require := map[string]any{"require_two_factor": true}
	if st, raw := admin.raw("PATCH", "/api/v1/account-settings", require); st != 409 {
		t.Fatalf("required by an admin without it: %d %s", st, raw)
	}
	turnOnTwoFactor(t, admin)
	var settings struct {
		RequireTwoFactor bool `json:"require_two_factor"`
	}
	admin.do("PATCH", "/api/v1/account-settings", require, &settings)
	if !settings.RequireTwoFactor {
		t.Fatal("the setting did not stick")
	}
	if code := agentWS.waitClosed(); int(code) != int(realtime.CloseAuthFailed) {
		t.Fatalf("the agent's socket closed with %d", code)
	}
	if st, _ := agent.raw("GET", "/api/v1/me", nil); st != 401 {
		t.Fatal("the agent without a second factor stayed logged in")
	}
	if st, _ := admin.raw("GET", "/api/v1/conversations", nil); st != 200 {
		t.Fatal("the admin, who has it, was logged out")
	}

	agent, st, raw := ts.loginWith(t, b.agent, password, "")
	if st != 200 {
		t.Fatalf("login to set it up: %d %s", st, raw)
	}
	var me struct {
		SetupRequired bool `json:"two_factor_setup_required"`
	}
	agent.do("GET", "/api/v1/me", nil, &me)
	if !me.SetupRequired {
		t.Fatal("/me does not say the setup is required")
	}
	for _, path := range []string{"/api/v1/conversations", "/api/v1/team", "/api/v1/canned-responses"} {
		if st, raw := agent.raw("GET", path, nil); st != 403 || !strings.Contains(string(raw), "two-factor") {
			t.Fatalf("%s before the setup: %d %s", path, st, raw)
		}
	}
	ws, err := dialWS(t, ts, sessionCookie(ts, agent))
	if err != nil {
		t.Fatal(err)
	}
	ws.send(map[string]any{"type": "auth", "id": "auth"})
	if code := ws.waitClosed(); int(code) != int(realtime.CloseAuthFailed) {
		t.Fatalf("a socket before the setup closed with %d", code)
	}
	turnOnTwoFactor(t, agent)
	if st, raw := agent.raw("GET", "/api/v1/conversations", nil); st != 200 {
		t.Fatalf("after the setup: %d %s", st, raw)
	}
	sessionWS(t, ts, agent)
	if st, _ := ts.withKey(t, b.apiKey).raw("GET", "/api/v1/conversations", nil); st != 200 {
		t.Fatal("an API key was held to a person's second factor")
	}
	// Off again: a supervisor without a second factor logs in as before.
	admin.do("PATCH", "/api/v1/account-settings", map[string]any{"require_two_factor": false}, nil)
	sup, st, _ := ts.loginWith(t, b.supervisor, password, "")
	if st2, _ := sup.raw("GET", "/api/v1/conversations", nil); st != 200 || st2 != 200 {
		t.Fatalf("once no longer required: login %d, list %d", st, st2)
	}
}
