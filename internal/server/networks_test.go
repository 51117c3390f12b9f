package server_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/parleychat/parley"
)

// TestTheConsoleOnlyFromTheBrandsNetworks: a brand that limits its console
// to its office network refuses its people's sessions and logins from
// elsewhere — the right password included, which the audit log records —
// while API keys work; an admin cannot save networks that leave them out,
// and a bad entry is named.
func TestTheConsoleOnlyFromTheBrandsNetworks(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	admin, agent := ts.login(t, b.admin), ts.login(t, b.agent)
	key := ts.withKey(t, b.apiKey)
	office := map[string]any{"console_networks": []string{"198.51.100.0/24", "203.0.113.7"}}

	if st, raw := admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"console_networks": []string{"10.0.0.0/8", "the office"}}); st != 400 || !strings.Contains(string(raw), "console_networks[1]") {
		t.Fatalf("a bad entry: %d %s", st, raw)
	}
	if st, raw := admin.raw("PATCH", "/api/v1/account-settings", office); st != 409 || !strings.Contains(string(raw), "lock you out") {
		t.Fatalf("networks without the admin's own address: %d %s", st, raw)
	}
	// The tests run from 127.0.0.1: outside the office once the key saves
	// it. The agent's open socket is let go at once.
	open := agentWS(t, ts, b.agent)
	if st, raw := key.raw("PATCH", "/api/v1/account-settings", office); st != 200 {
		t.Fatalf("the key saves the office: %d %s", st, raw)
	}
	if code := open.waitClosed(); code != 4001 {
		t.Fatalf("the open socket closed with %d; want 4001", code)
	}
	if st, raw := agent.raw("GET", "/api/v1/conversations", nil); st != 403 || errorCode(raw) != parley.EFORBIDDEN || !strings.Contains(string(raw), "127.0.0.1 is not one of them") {
		t.Fatalf("a session from outside: %d %s", st, raw)
	}
	if _, st, raw := ts.loginWith(t, b.agent, password, ""); st != 403 {
		t.Fatalf("a login from outside: %d %s", st, raw)
	}
	if _, st, _ := ts.loginWith(t, b.agent, "wrong password", ""); st != 401 {
		t.Fatalf("a wrong password from outside: %d; want 401, as anywhere", st)
	}
	ws, err := dialWS(t, ts, sessionCookie(ts, agent))
	if err != nil {
		t.Fatal(err)
	}
	ws.send(map[string]any{"type": "auth", "id": "auth"})
	if code := ws.waitClosed(); code != 4001 {
		t.Fatalf("a socket from outside closed with %d; want 4001 (its cookie does not authenticate it)", code)
	}
	if st := key.do("GET", "/api/v1/conversations", nil, nil); st != 200 {
		t.Fatalf("the API key from outside: %d", st)
	}
	waitFor(t, func() bool {
		audit, _ := ts.Store.ListAudit(t.Context(), b.account.ID, "", 100)
		for _, e := range audit {
			if e.Action == "POST /api/v1/auth/login" && e.ActorID == b.agent.ID && e.Status == 403 {
				return true
			}
		}
		return false
	})

	// The office and the loopback: back in.
	if st := key.do("PATCH", "/api/v1/account-settings", map[string]any{"console_networks": []string{"198.51.100.0/24", "127.0.0.0/8"}}, nil); st != 200 {
		t.Fatalf("adding the loopback: %d", st)
	}
	if st := agent.do("GET", "/api/v1/conversations", nil, nil); st != 200 {
		t.Fatalf("a session from inside: %d", st)
	}
}

// TestAnAdminLimitsTheConsoleToTheOffice: in Chromium, the admin saves the
// office and the loopback; then the office alone, which the console
// refuses with the reason: it would lock them out.
func TestAnAdminLimitsTheConsoleToTheOffice(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	admin := adminTab(t, ts, brand)
	set := func(lines string) {
		evalIn[bool](t, admin.ctx, `(() => { const f = document.querySelector(".security-settings"); f.networks.value = `+strconv.Quote(lines)+`; f.dispatchEvent(new Event("input")); return true })()`)
		admin.press(".security-settings button[type=submit]")
	}
	set("198.51.100.0/24\n127.0.0.0/8")
	waitFor(t, func() bool {
		acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
		return len(acc.Settings.ConsoleNetworks) == 2 && acc.Settings.ConsoleNetworks[1] == "127.0.0.0/8"
	})
	set("198.51.100.0/24")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".admin-error").textContent`), "lock you out")
	})
	if acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID); len(acc.Settings.ConsoleNetworks) != 2 {
		t.Fatalf("a refused save changed the networks: %v", acc.Settings.ConsoleNetworks)
	}
}

// An admin who ticks a box of the security form in the instant before the
// brand's settings arrive still gets the form filled with them, so saving
// it cannot write blanks over the brand's networks.
func TestAnEarlyTickDoesNotKeepTheSettingsOut(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	if st, raw := ts.withKey(t, brand.apiKey).raw("PATCH", "/api/v1/account-settings", map[string]any{"console_networks": []string{"127.0.0.0/8"}}); st != 200 {
		t.Fatalf("networks: %d %s", st, raw)
	}
	admin := consoleLogin(t, ts, brand.admin, "[data-tab=admin]")
	// The tab and the tick in one task: the settings cannot have come yet.
	evalIn[bool](t, admin.ctx, `(() => { document.querySelector("[data-tab=admin]").click();
		const f = document.querySelector(".security-settings"); f.require.checked = true; f.dispatchEvent(new Event("input")); return true })()`)
	networks := func() string {
		return evalIn[string](t, admin.ctx, `document.querySelector(".security-settings [name=networks]").value`)
	}
	waitFor(t, func() bool { return networks() == "127.0.0.0/8" }, networks)
}
