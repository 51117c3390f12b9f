package server_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/parleychat/parley"
)

// Passkeys over HTTP: the ceremony's options and its refusals, and how a
// passkey counts as a second factor — for the login, for a brand that
// requires one, and for an admin's reset. (The ceremonies themselves, with
// a real authenticator, are TestAnAgentSignsInWithAPasskey's.)
func TestPasskeysGuardLoginsAndCountAsASecondFactor(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	local := strings.Replace(ts.url, "127.0.0.1", "localhost", 1)
	browser := func() *client {
		jar, _ := cookiejar.New(nil)
		return &client{t: t, base: local, http: &http.Client{Jar: jar, Timeout: waitLimit}}
	}

	// At an IP address there are no passkeys (browsers refuse them): the
	// answer says where to go instead.
	if st, raw := ts.anon(t).raw("POST", "/api/v1/auth/passkey/start", nil); st != 400 || !strings.Contains(string(raw), "domain name") {
		t.Fatalf("start at an IP address: %d %s", st, raw)
	}
	// At a name: a fresh challenge for this host, verification of the
	// person required, and the ceremony's state in an HttpOnly cookie.
	c := browser()
	var out struct {
		Options struct {
			PublicKey struct {
				Challenge        string `json:"challenge"`
				RPID             string `json:"rpId"`
				UserVerification string `json:"userVerification"`
			} `json:"publicKey"`
		} `json:"options"`
	}
	if st := c.do("POST", "/api/v1/auth/passkey/start", nil, &out); st != 200 {
		t.Fatalf("start: %d", st)
	}
	pk := out.Options.PublicKey
	if pk.RPID != "localhost" || pk.UserVerification != "required" || len(pk.Challenge) < 43 {
		t.Fatalf("options %+v", pk)
	}
	var again struct {
		Options struct {
			PublicKey struct {
				Challenge string `json:"challenge"`
			} `json:"publicKey"`
		} `json:"options"`
	}
	browser().do("POST", "/api/v1/auth/passkey/start", nil, &again)
	if again.Options.PublicKey.Challenge == pk.Challenge {
		t.Fatal("two ceremonies got the same challenge")
	}
	finish, _ := url.Parse(local + "/api/v1/auth/passkey/finish")
	cookies := c.http.Jar.Cookies(finish)
	if len(cookies) != 1 || cookies[0].Name != "parley_passkey" {
		t.Fatalf("cookies after start: %v", cookies)
	}

	// Answers that are not a passkey's, or come without their ceremony.
	notAPasskey := map[string]any{"credential": map[string]any{"id": "x", "type": "public-key", "response": map[string]any{}}}
	for _, tc := range []struct {
		name   string
		c      *client
		body   any
		status int
	}{
		{"no credential", browser(), map[string]any{}, 400},
		{"not a passkey's answer", c, notAPasskey, 400},
		{"no ceremony", browser(), notAPasskey, 401},
	} {
		if st, raw := tc.c.raw("POST", "/api/v1/auth/passkey/finish", tc.body); st != tc.status {
			t.Fatalf("%s: %d %s, want %d", tc.name, st, raw, tc.status)
		}
	}
	if st, _ := browser().raw("POST", "/api/v1/me/passkeys/start", map[string]any{"password": password}); st != 401 {
		t.Fatalf("adding a passkey without a session: %d", st)
	}
	// Logged in at localhost, as the console would be.
	agent := browser()
	var login struct {
		CSRFToken string `json:"csrf_token"`
	}
	if st := agent.do("POST", "/api/v1/auth/login", map[string]any{"email": b.agent.Email, "password": password}, &login); st != 200 {
		t.Fatalf("login at localhost: %d", st)
	}
	agent.csrf = login.CSRFToken
	if st, raw := agent.raw("POST", "/api/v1/me/passkeys/start", map[string]any{"password": password}); st != 200 || !strings.Contains(string(raw), `"residentKey":"required"`) {
		t.Fatalf("adding a passkey: %d %s", st, raw)
	}
	if st, raw := agent.raw("POST", "/api/v1/me/passkeys/start", map[string]any{"password": "not the password"}); st != 400 || !strings.Contains(string(raw), "password") {
		t.Fatalf("adding a passkey with a wrong password: %d %s", st, raw)
	}
	if st, raw := agent.raw("POST", "/api/v1/me/passkeys", map[string]any{"name": strings.Repeat("n", 65), "credential": map[string]any{"id": "x"}}); st != 400 ||
		!strings.Contains(string(raw), "name") {
		t.Fatalf("a 65-character name: %d %s", st, raw)
	}

	// An admin with no second factor may not require one of everyone; a
	// passkey is one.
	admin := ts.login(t, b.admin)
	require := map[string]any{"require_two_factor": true}
	if st, _ := admin.raw("PATCH", "/api/v1/account-settings", require); st != 409 {
		t.Fatalf("required by an admin with no second factor: %d", st)
	}
	addPasskey := func(u *parley.User, id string) {
		t.Helper()
		if err := ts.Store.AddPasskey(t.Context(), &parley.Passkey{ID: id, AccountID: u.AccountID, UserID: u.ID, Name: "Key", RPID: "localhost",
			Credential: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	addPasskey(b.admin, "cred-admin")
	addPasskey(b.agent, "cred-agent")
	if st, raw := admin.raw("PATCH", "/api/v1/account-settings", require); st != 200 {
		t.Fatalf("required by an admin with a passkey: %d %s", st, raw)
	}
	// Requiring it logged out the supervisor, who has none; not the agent,
	// whose passkey is one.
	if st, _ := agent.raw("GET", "/api/v1/me", nil); st != 200 {
		t.Fatal("the agent with a passkey was logged out")
	}
	supervisor := ts.login(t, b.supervisor)
	type meView struct {
		SetupRequired bool `json:"two_factor_setup_required"`
		Passkeys      *int `json:"passkeys"`
	}
	var me meView
	supervisor.do("GET", "/api/v1/me", nil, &me)
	if !me.SetupRequired || me.Passkeys == nil || *me.Passkeys != 0 {
		t.Fatalf("the supervisor's /me: %+v", me)
	}
	me = meView{}
	agent.do("GET", "/api/v1/me", nil, &me)
	if me.SetupRequired || *me.Passkeys != 1 {
		t.Fatalf("the agent's /me: %+v", me)
	}

	// The password alone no longer logs the agent in; a wrong one is still
	// just wrong.
	_, st, raw := ts.loginWith(t, b.agent, password, "")
	if st != 401 || !strings.Contains(string(raw), `"passkey_required"`) {
		t.Fatalf("password alone: %d %s", st, raw)
	}
	_, st, raw = ts.loginWith(t, b.agent, "not the password", "")
	if st != 401 || !strings.Contains(string(raw), `"unauthorized"`) {
		t.Fatalf("a wrong password: %d %s", st, raw)
	}
	// A passkey's answer without its ceremony does not stand in for one.
	if st, raw := browser().raw("POST", "/api/v1/auth/login", map[string]any{"email": b.agent.Email, "password": password,
		"passkey": notAPasskey["credential"]}); st != 401 {
		t.Fatalf("login with a passkey answer and no ceremony: %d %s", st, raw)
	}

	// The admin's reset takes every second factor: the password logs the
	// agent in again (to set one up, as the brand requires).
	if st, raw := admin.raw("DELETE", "/api/v1/users/"+b.agent.ID+"/two-factor", nil); st != 200 {
		t.Fatalf("reset: %d %s", st, raw)
	}
	if u, _ := ts.Store.FindUser(t.Context(), b.account.ID, b.agent.ID); u.Passkeys != 0 {
		t.Fatalf("after the reset the agent has %d passkeys", u.Passkeys)
	}
	if st, _ := agent.raw("GET", "/api/v1/me", nil); st != 401 {
		t.Fatal("the reset left the agent's session")
	}
	agent, st, raw = ts.loginWith(t, b.agent, password, "")
	if st != 200 {
		t.Fatalf("password after the reset: %d %s", st, raw)
	}
	me = meView{}
	agent.do("GET", "/api/v1/me", nil, &me)
	if !me.SetupRequired {
		t.Fatal("after the reset the agent is not asked to set up a second factor")
	}
	// A person's passkeys are their own to remove: another's ID is not found.
	if st, _ := admin.raw("DELETE", "/api/v1/me/passkeys/cred-agent", nil); st != 404 {
		t.Fatalf("the admin removed a passkey not theirs: %d", st)
	}
}
