package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/oidctest"
	"github.com/parleychat/parley/internal/server"
)

// ssoBrowser is a cookie-keeping HTTP client that follows redirects, as a
// browser goes from the console to the provider and back.
type ssoBrowser struct {
	t    *testing.T
	http *http.Client
}

func newSSOBrowser(t *testing.T) *ssoBrowser {
	jar, _ := cookiejar.New(nil)
	return &ssoBrowser{t: t, http: &http.Client{Jar: jar, Timeout: waitLimit}}
}

// get follows u to wherever it ends and returns that address and page.
func (b *ssoBrowser) get(u string) (*url.URL, string) {
	b.t.Helper()
	res, err := b.http.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.Request.URL, string(body)
}

// post submits a form and follows the answer.
func (b *ssoBrowser) post(u string, form url.Values) (*url.URL, string) {
	b.t.Helper()
	res, err := b.http.PostForm(u, form)
	if err != nil {
		b.t.Fatalf("POST %s: %v", u, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.Request.URL, string(body)
}

// start asks Parley to begin a sign-in for email and returns where to go.
func (b *ssoBrowser) start(ts *testServer, email string) (int, string) {
	b.t.Helper()
	c := &client{t: b.t, base: ts.url, http: b.http}
	var out struct {
		RedirectURL string `json:"redirect_url"`
	}
	st := c.do("POST", "/api/v1/auth/sso/start", map[string]string{"email": email}, &out)
	return st, out.RedirectURL
}

// me is who the browser's session is, or the status without one.
func (b *ssoBrowser) me(ts *testServer) (int, string) {
	b.t.Helper()
	c := &client{t: b.t, base: ts.url, http: b.http}
	var out struct {
		ID string `json:"id"`
	}
	st := c.do("GET", "/api/v1/me", nil, &out)
	return st, out.ID
}

func ssoError(u *url.URL) string {
	if u.Path != "/console/" {
		return "not back at the console: " + u.String()
	}
	return strings.TrimPrefix(u.Fragment, "sso_error=")
}

func TestSingleSignOnWithTheBrandsIdentityProvider(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) { c.AllowPrivateOutbound = true })
	acme, globex := seedBrand(t, ts, "Acme"), seedBrand(t, ts, "Globex")
	admin := ts.login(t, acme.admin)
	idp := oidctest.Start(t)
	callback := ts.url + "/api/v1/auth/sso/callback"
	clientID, secret := idp.Client(t, callback)

	// Nothing is set yet; the admin is told what to register.
	var view struct {
		Configured      bool     `json:"configured"`
		Issuer          string   `json:"issuer"`
		ClientID        string   `json:"client_id"`
		ClientSecretSet bool     `json:"client_secret_set"`
		Required        bool     `json:"required"`
		ProvisionRole   string   `json:"provision_role"`
		Domains         []string `json:"domains"`
		RedirectURI     string   `json:"redirect_uri"`
		SignInURL       string   `json:"sign_in_url"`
		SCIMURL         string   `json:"scim_url"`
	}
	if st := admin.do("GET", "/api/v1/sso", nil, &view); st != 200 || view.Configured || view.RedirectURI != callback ||
		view.SignInURL != ts.url+"/api/v1/auth/sso/start?account="+acme.account.ID || view.SCIMURL != ts.url+"/scim/v2" {
		t.Fatalf("GET /sso before: %d %+v", st, view)
	}
	b := newSSOBrowser(t)
	if st, _ := b.start(ts, acme.agent.Email); st != 404 {
		t.Fatalf("a sign-in before single sign-on is set: %d, want 404", st)
	}

	// Bad settings are refused by what is wrong, and change nothing.
	good := map[string]any{"issuer": strings.TrimSuffix(idp.Issuer, "/"), "client_id": clientID, "client_secret": secret}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for k, v := range good {
			m[k] = v
		}
		m[k] = v
		return m
	}
	for _, bad := range []struct {
		body map[string]any
		want string
	}{
		{with("issuer", "ftp://login.acme.test"), "https://"},
		{with("issuer", ts.url+"/not-a-provider"), "does not answer as an OpenID Connect provider"},
		{with("client_id", ""), "client_id"},
		{with("client_secret", ""), "client_secret"},
		{with("provision_role", "admin"), "agents or supervisors"},
		{with("provision_role", "agent"), "domains"},
		{with("domains", []string{"acme"}), "domains[0]"},
	} {
		st, raw := admin.raw("PUT", "/api/v1/sso", bad.body)
		if st != 400 || !strings.Contains(string(raw), bad.want) {
			t.Errorf("PUT /sso %v: %d %s, want 400 naming %q", bad.body, st, raw, bad.want)
		}
	}
	if st := admin.do("GET", "/api/v1/sso", nil, &view); st != 200 || view.Configured {
		t.Fatalf("a refused save changed the settings: %+v", view)
	}

	// The issuer is stored as the provider states it (with its slash);
	// the secret never comes back.
	st, raw := admin.raw("PUT", "/api/v1/sso", good)
	if st != 200 || strings.Contains(string(raw), secret) {
		t.Fatalf("PUT /sso: %d %s", st, raw)
	}
	decodeJSON(t, raw, &view)
	if !view.Configured || view.Issuer != idp.Issuer || view.ClientID != clientID || !view.ClientSecretSet {
		t.Fatalf("after PUT: %+v", view)
	}
	stored, err := ts.Store.FindSSO(context.Background(), acme.account.ID)
	if err != nil || stored.ClientSecret == secret || !strings.HasPrefix(stored.ClientSecret, "v1:") {
		t.Fatalf("the secret is not sealed in the store: %+v %v", stored, err)
	}
	// Another brand's admin sees none of it.
	var globexView struct {
		Configured bool `json:"configured"`
	}
	if ts.login(t, globex.admin).do("GET", "/api/v1/sso", nil, &globexView); globexView.Configured {
		t.Fatal("another brand sees Acme's single sign-on")
	}

	// The agent signs in at the provider (its login page) and lands in the
	// console with a session.
	idp.Add("ann", oidctest.Person{Email: acme.agent.Email, Name: "Ann"})
	st, to := b.start(ts, acme.agent.Email)
	if st != 200 || !strings.HasPrefix(to, idp.Issuer) || !strings.Contains(to, "login_hint=") || !strings.Contains(to, "code_challenge=") {
		t.Fatalf("start: %d %s", st, to)
	}
	at, page := b.get(to)
	challenge := regexp.MustCompile(`name="challenge" value="([^"]+)"`).FindStringSubmatch(page)
	if challenge == nil || !strings.Contains(page, acme.agent.Email) {
		t.Fatalf("the provider's login page at %s does not read as expected:\n%s", at, page)
	}
	at, _ = b.post(at.Scheme+"://"+at.Host+"/login", url.Values{"challenge": {challenge[1]}, "username": {"ann"}, "action": {"sign-in"}})
	if at.Path != "/console/" || at.Fragment != "" {
		t.Fatalf("after signing in at the provider: %s", at)
	}
	if st, id := b.me(ts); st != 200 || id != acme.agent.ID {
		t.Fatalf("GET /me after single sign-on: %d %s, want the agent", st, id)
	}
	// The round trip's cookie was spent: the same callback again fails.
	again, _ := b.get(callback + "?state=x&code=y")
	if got := ssoError(again); got != "expired" {
		t.Fatalf("a callback without a round trip: %q, want expired", got)
	}

	// From now on the provider knows the browser: each case below starts
	// at the brand's sign-in link, as a tile in the provider's dashboard.
	signIn := func(username string, who oidctest.Person) (string, int, string) {
		t.Helper()
		idp.Add(username, who)
		idp.SignIn(username)
		b := newSSOBrowser(t)
		at, _ := b.get(view.SignInURL)
		st, id := b.me(ts)
		return ssoError(at), st, id
	}
	no := false
	for _, c := range []struct {
		name string
		who  oidctest.Person
		want string
	}{
		{"someone the brand does not have", oidctest.Person{Email: "stranger@acme.test"}, "unknown_person"},
		{"a person of another brand", oidctest.Person{Email: globex.agent.Email}, "unknown_person"},
		{"an email the provider has not verified", oidctest.Person{Email: acme.supervisor.Email, EmailVerified: &no}, "no_email"},
		{"no email at all", oidctest.Person{Name: "Nobody"}, "no_email"},
	} {
		got, st, _ := signIn(strings.ReplaceAll(c.name, " ", "-"), c.who)
		if got != c.want || st != 401 {
			t.Errorf("%s: back with %q and /me %d, want %q and 401", c.name, got, st, c.want)
		}
	}

	// A deactivated person is refused.
	if st := admin.do("PATCH", "/api/v1/users/"+acme.supervisor.ID, map[string]any{"active": false}, nil); st != 200 {
		t.Fatalf("deactivate: %d", st)
	}
	if got, st, _ := signIn("sam", oidctest.Person{Email: acme.supervisor.Email}); got != "deactivated" || st != 401 {
		t.Fatalf("a deactivated person: %q %d", got, st)
	}

	// With provisioning, a verified email of the brand's domain becomes an
	// agent at the first sign-in; other domains still do not.
	prov := with("provision_role", "agent")
	prov["domains"] = []string{" @Acme.test "}
	prov["client_secret"] = "" // kept
	if st, raw := admin.raw("PUT", "/api/v1/sso", prov); st != 200 || !strings.Contains(string(raw), `"domains":["acme.test"]`) {
		t.Fatalf("PUT /sso with provisioning: %d %s", st, raw)
	}
	got, st, id := signIn("newcomer", oidctest.Person{Email: "newcomer@acme.test", Name: "Nina Newcomer"})
	if got != "" || st != 200 {
		t.Fatalf("a newcomer of the brand's domain: %q %d", got, st)
	}
	nina, err := ts.Store.FindUser(context.Background(), acme.account.ID, id)
	if err != nil || nina.Email != "newcomer@acme.test" || nina.Name != "Nina Newcomer" || nina.Role != parley.RoleAgent || !nina.Active || nina.PasswordHash != "" {
		t.Fatalf("the person made at the first sign-in: %+v %v", nina, err)
	}
	if got, _, _ := signIn("outsider", oidctest.Person{Email: "someone@gmail.test"}); got != "unknown_person" {
		t.Fatalf("an email of another domain: %q", got)
	}
	// A newcomer may also start at the login page: their email's domain
	// finds the brand's provider, and its first sign-in makes them.
	idp.Add("nora", oidctest.Person{Email: "nora@acme.test", Name: "Nora"})
	idp.SignIn("") // she signs in on the provider's page
	nb := newSSOBrowser(t)
	if st, to := nb.start(ts, "Nora@Acme.test"); st != 200 || !strings.HasPrefix(to, idp.Issuer) {
		t.Fatalf("a newcomer starting at the login page: %d %s", st, to)
	} else {
		at, page := nb.get(to)
		challenge := regexp.MustCompile(`name="challenge" value="([^"]+)"`).FindStringSubmatch(page)
		if challenge == nil {
			t.Fatalf("the provider's login page at %s:\n%s", at, page)
		}
		if at, _ = nb.post(at.Scheme+"://"+at.Host+"/login", url.Values{"challenge": {challenge[1]}, "username": {"nora"}, "action": {"sign-in"}}); at.Path != "/console/" || at.Fragment != "" {
			t.Fatalf("after the newcomer signed in: %s", at)
		}
	}
	if st, id := nb.me(ts); st != 200 {
		t.Fatalf("the newcomer's session: %d", st)
	} else if nora, err := ts.Store.FindUser(context.Background(), acme.account.ID, id); err != nil || nora.Email != "nora@acme.test" {
		t.Fatalf("the newcomer made: %+v, %v", nora, err)
	}
	if st, _ := nb.start(ts, "someone@gmail.test"); st != 404 {
		t.Fatalf("an email of a domain no brand claims: %d, want 404", st)
	}
	// The domain is Acme's: another brand cannot claim it.
	globexAdmin := ts.login(t, globex.admin)
	if st, raw := globexAdmin.raw("PUT", "/api/v1/sso", map[string]any{"issuer": good["issuer"], "client_id": clientID, "client_secret": secret,
		"provision_role": "agent", "domains": []string{"globex.test", "acme.test"}}); st != 409 || !strings.Contains(string(raw), "acme.test") {
		t.Fatalf("another brand claiming acme.test: %d %s", st, raw)
	}

	// A brand that requires a second factor does not ask one of a single
	// sign-on (the provider checked it), only of passwords.
	if _, err := ts.Store.ChangeAccount(context.Background(), acme.account.ID, func(a *parley.Account) error {
		a.Settings.RequireTwoFactor = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	idp.Add("ann", oidctest.Person{Email: acme.agent.Email})
	idp.SignIn("ann")
	annB := newSSOBrowser(t)
	if at, _ := annB.get(view.SignInURL); ssoError(at) != "" {
		t.Fatalf("sign-in with two-factor required: %s", at)
	}
	annC := &client{t: t, base: ts.url, http: annB.http}
	var annMe struct {
		Setup bool `json:"two_factor_setup_required"`
	}
	if st := annC.do("GET", "/api/v1/me", nil, &annMe); st != 200 || annMe.Setup {
		t.Fatalf("a single sign-on's session held to the brand's second factor: %d %+v", st, annMe)
	}
	if st := annC.do("GET", "/api/v1/conversations", nil, nil); st != 200 {
		t.Fatalf("a single sign-on's session reaches the inbox: %d", st)
	}
	var adminMe struct {
		Setup bool `json:"two_factor_setup_required"`
	}
	if ts.login(t, acme.admin).do("GET", "/api/v1/me", nil, &adminMe); !adminMe.Setup {
		t.Fatal("a password session is no longer held to the brand's second factor")
	}
	if _, err := ts.Store.ChangeAccount(context.Background(), acme.account.ID, func(a *parley.Account) error {
		a.Settings.RequireTwoFactor = false
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// The brand's console networks hold for a single sign-on as for a
	// password (an API key may set networks that leave the admin out).
	key := ts.withKey(t, acme.apiKey)
	if st, raw := key.raw("PATCH", "/api/v1/account-settings", map[string]any{"console_networks": []string{"198.51.100.0/24"}}); st != 200 {
		t.Fatalf("networks: %d %s", st, raw)
	}
	if got, st, _ := signIn("ann", oidctest.Person{Email: acme.agent.Email}); got != "network" || st != 401 {
		t.Fatalf("a sign-in from outside the networks: %q %d", got, st)
	}
	if st := key.do("PATCH", "/api/v1/account-settings", map[string]any{"console_networks": []string{}}, nil); st != 200 {
		t.Fatalf("networks off: %d", st)
	}

	// Requiring single sign-on: agents and supervisors give the password
	// in vain (once it is right), admins keep theirs.
	req := with("required", true)
	req["client_secret"] = ""
	if st := admin.do("PUT", "/api/v1/sso", req, &view); st != 200 || !view.Required {
		t.Fatalf("require: %d %+v", st, view)
	}
	if _, st, raw := ts.loginWith(t, acme.agent, password, ""); st != 403 || errorCode(raw) != parley.ESSOREQUIRED {
		t.Fatalf("an agent's password login when single sign-on is required: %d %s", st, raw)
	}
	if _, st, raw := ts.loginWith(t, acme.agent, "wrong password", ""); st != 401 {
		t.Fatalf("a wrong password when single sign-on is required: %d %s, want 401 as ever", st, raw)
	}
	if _, st, _ := ts.loginWith(t, acme.admin, password, ""); st != 200 {
		t.Fatalf("the admin's password login: %d", st)
	}
	if _, st, _ := ts.loginWith(t, globex.agent, password, ""); st != 200 {
		t.Fatalf("another brand's agent: %d", st)
	}

	// Every sign-in of someone the provider vouched for is in the audit
	// log: who, and why not when refused.
	var audit struct {
		Entries []parley.AuditEntry `json:"entries"`
	}
	admin.do("GET", "/api/v1/audit-log?limit=200", nil, &audit)
	var ok, unknown, inactive bool
	for _, e := range audit.Entries {
		switch {
		case e.Action == "GET /api/v1/auth/sso/callback" && e.ActorID == acme.agent.ID && e.Status == 200:
			ok = true
		case e.Target == "/api/v1/auth/sso/callback?error=unknown_person" && e.ActorName == "stranger@acme.test" && e.Status == 403:
			unknown = true
		case e.Target == "/api/v1/auth/sso/callback?error=deactivated" && e.ActorID == acme.supervisor.ID:
			inactive = true
		}
	}
	if !ok || !unknown || !inactive {
		t.Fatalf("audit log: sign-in %v, unknown person %v, deactivated %v: %+v", ok, unknown, inactive, audit.Entries)
	}

	// An address of no one, and one of a brand without single sign-on,
	// get the same answer.
	_, raw1 := ts.anon(t).raw("POST", "/api/v1/auth/sso/start", map[string]string{"email": "nobody@nowhere.test"})
	_, raw2 := ts.anon(t).raw("POST", "/api/v1/auth/sso/start", map[string]string{"email": globex.agent.Email})
	if string(raw1) != string(raw2) || errorCode(raw1) != parley.ENOTFOUND {
		t.Fatalf("unknown address %s; brand without single sign-on %s", raw1, raw2)
	}
	if st, _ := ts.anon(t).raw("POST", "/api/v1/auth/sso/start", map[string]string{"email": acme.agent.Email, "account_id": acme.account.ID}); st != 400 {
		t.Fatalf("email and account_id together: %d", st)
	}

	// Turned off, it starts no more sign-ins, and passwords work again.
	if st := admin.do("DELETE", "/api/v1/sso", nil, nil); st != 204 {
		t.Fatalf("DELETE /sso: %d", st)
	}
	if st, _ := newSSOBrowser(t).start(ts, acme.agent.Email); st != 404 {
		t.Fatalf("a sign-in after single sign-on was removed: %d", st)
	}
	if _, st, _ := ts.loginWith(t, acme.agent, password, ""); st != 200 {
		t.Fatalf("the agent's password after single sign-on was removed: %d", st)
	}
}

// TestASignInCancelledAtTheProvider: the person stops at the provider's
// page; the console says so, and nothing is logged in.
func TestASignInCancelledAtTheProvider(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) { c.AllowPrivateOutbound = true })
	acme := seedBrand(t, ts, "Acme")
	idp := oidctest.Start(t)
	id, secret := idp.Client(t, ts.url+"/api/v1/auth/sso/callback")
	if st, raw := ts.login(t, acme.admin).raw("PUT", "/api/v1/sso", map[string]any{"issuer": idp.Issuer, "client_id": id, "client_secret": secret}); st != 200 {
		t.Fatalf("PUT /sso: %d %s", st, raw)
	}
	b := newSSOBrowser(t)
	_, to := b.start(ts, acme.agent.Email)
	at, page := b.get(to)
	challenge := regexp.MustCompile(`name="challenge" value="([^"]+)"`).FindStringSubmatch(page)
	if challenge == nil {
		t.Fatalf("no login page: %s", page)
	}
	at, _ = b.post(at.Scheme+"://"+at.Host+"/login", url.Values{"challenge": {challenge[1]}, "action": {"cancel"}})
	if got := ssoError(at); got != "cancelled" {
		t.Fatalf("after cancelling: %q", got)
	}
	if st, _ := b.me(ts); st != 401 {
		t.Fatalf("GET /me after a cancelled sign-in: %d", st)
	}
}

// TestAnAdminSetsUpSingleSignOnAndAnAgentSignsIn: in Chromium, the admin
// fills Admin → Single sign-on with what the provider gave; the agent's
// password is then refused, and "Sign in with SSO" goes through the
// provider's login page and back into the console — at the conversation
// the agent's link named.
func TestAnAdminSetsUpSingleSignOnAndAnAgentSignsIn(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) { c.AllowPrivateOutbound = true })
	acme := seedBrand(t, ts, "Acme")
	idp := oidctest.Start(t)
	idp.KeepSessions()
	callback := ts.url + "/api/v1/auth/sso/callback"
	clientID, secret := idp.Client(t, callback, ts.url+"/console/")
	idp.Add("ann", oidctest.Person{Email: acme.agent.Email, Name: "Ann"})

	admin := adminTab(t, ts, acme)
	waitFor(t, func() bool {
		return evalIn[string](t, admin.ctx, `document.querySelector(".sso-redirect").textContent`) == callback
	})
	evalIn[bool](t, admin.ctx, `(() => { const f = document.querySelector(".sso-settings");
		f.issuer.value = `+strconv.Quote(idp.Issuer)+`; f.clientId.value = `+strconv.Quote(clientID)+`; f.clientSecret.value = `+strconv.Quote(secret)+`;
		f.required.checked = true; f.signOut.checked = true; f.dispatchEvent(new Event("input")); return true })()`)
	admin.press(".sso-settings button[type=submit]")
	waitFor(t, func() bool {
		s, err := ts.Store.FindSSO(t.Context(), acme.account.ID)
		return err == nil && s.Required && s.SignOut && s.ClientID == clientID
	}, func() string {
		return evalIn[string](t, admin.ctx, `document.querySelector(".admin-error").textContent`)
	})
	waitFor(t, func() bool {
		return evalIn[bool](t, admin.ctx, `!document.querySelector(".sso-link").hidden && document.querySelector(".sso-link code").textContent.endsWith("account=`+acme.account.ID+`")
			&& document.querySelector(".sso-settings [name=clientSecret]").value === "" && document.querySelector(".sso-settings [name=clientSecret]").placeholder.startsWith("saved")`)
	})
	evalIn[bool](t, admin.ctx, `(() => { document.querySelector(".sso-settings").scrollIntoView(); return true })()`)
	admin.shot("sso-settings")

	// A conversation the agent was sent a link to.
	v := ts.newVisitor(t, acme.account.ID)
	conv := v.open(t)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Where is my parcel?"}, nil)

	agent := newBrowser(t)
	agent.do(chromedp.Navigate(ts.url+"/console/#conversation="+conv.ID), chromedp.WaitVisible(chromedp.CSS(".login-form")),
		chromedp.SendKeys(chromedp.CSS("input[name=email]"), acme.agent.Email), chromedp.SendKeys(chromedp.CSS("input[name=password]"), password),
		chromedp.Click(chromedp.CSS(".login-form button[type=submit]")))
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, agent.ctx, `document.querySelector(".login-error").textContent`), "single sign-on") &&
			evalIn[bool](t, agent.ctx, `document.activeElement === document.querySelector(".sso-login")`)
	})
	agent.shot("password-refused")
	agent.do(chromedp.Click(chromedp.CSS(".sso-login")), chromedp.WaitVisible(chromedp.CSS("#username")))
	if hint := evalIn[string](t, agent.ctx, `document.querySelector("#username").value`); hint != acme.agent.Email {
		t.Fatalf("the provider's page was not told who signs in: %q", hint)
	}
	agent.do(chromedp.SetValue(chromedp.CSS("#username"), "ann"), chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS(".app")))
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, agent.ctx, `document.querySelector(".who").textContent`), acme.agent.Name) &&
			evalIn[string](t, agent.ctx, `location.hash`) == "#conversation="+conv.ID &&
			strings.Contains(evalIn[string](t, agent.ctx, `document.querySelector(".messages").textContent`), "Where is my parcel?")
	}, func() string {
		return evalIn[string](t, agent.ctx, `location.href + " " + document.querySelector(".login-error").textContent`)
	})
	agent.shot("signed-in-with-sso")

	// Logging out signs her out of the provider too (the brand ticked it):
	// back at the login, the next single sign-on asks who she is again.
	if got := evalIn[string](t, admin.ctx, `document.querySelector(".sso-post-logout").textContent`); got != ts.url+"/console/" {
		t.Fatalf("the post-logout URI the admin is told to register: %q", got)
	}
	agent.do(chromedp.Click(chromedp.CSS(".logout")), chromedp.WaitVisible(chromedp.CSS(".login-form")))
	waitFor(t, func() bool { return idp.SignedOut() == 1 }, func() string {
		return evalIn[string](t, agent.ctx, `location.href + " " + document.body.innerText.slice(0, 300)`)
	})
	agent.do(chromedp.SendKeys(chromedp.CSS("input[name=email]"), acme.agent.Email), chromedp.Click(chromedp.CSS(".sso-login")), chromedp.WaitVisible(chromedp.CSS("#username")))

	// A sign-in the provider refuses comes back to the login with why.
	stranger := newBrowser(t)
	idp.Add("eve", oidctest.Person{Email: "eve@elsewhere.test"})
	stranger.do(chromedp.Navigate(ts.url+"/api/v1/auth/sso/start?account="+acme.account.ID), chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SetValue(chromedp.CSS("#username"), "eve"), chromedp.Click(chromedp.CSS("#sign-in")), chromedp.WaitVisible(chromedp.CSS(".login-form")))
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, stranger.ctx, `document.querySelector(".login-error").textContent`), "no one with your email") &&
			evalIn[string](t, stranger.ctx, `location.hash`) == ""
	})
}

// A person is held to the account of the provider they first signed in
// with: someone who takes their email at the provider (a provider that
// lets its users edit their address) is refused, and so is one provider
// account speaking for two people. An admin unlinks a person whose
// provider account was made again.
func TestSingleSignOnKeepsEachPersonToTheirProviderAccount(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) { c.AllowPrivateOutbound = true })
	acme := seedBrand(t, ts, "Acme")
	admin := ts.login(t, acme.admin)
	idp := oidctest.Start(t)
	clientID, secret := idp.Client(t, ts.url+"/api/v1/auth/sso/callback")
	var view struct {
		SignInURL string `json:"sign_in_url"`
	}
	if st := admin.do("PUT", "/api/v1/sso", map[string]any{"issuer": idp.Issuer, "client_id": clientID, "client_secret": secret}, &view); st != 200 {
		t.Fatalf("PUT /sso: %d", st)
	}
	signIn := func(username, email string) (string, string) {
		t.Helper()
		idp.Add(username, oidctest.Person{Email: email})
		idp.SignIn(username)
		b := newSSOBrowser(t)
		at, _ := b.get(view.SignInURL)
		_, id := b.me(ts)
		return ssoError(at), id
	}
	linked := func(u *parley.User) bool {
		t.Helper()
		var got struct {
			SSOLinked bool `json:"sso_linked"`
		}
		admin.do("GET", "/api/v1/users/"+u.ID, nil, &got)
		return got.SSOLinked
	}

	if linked(acme.agent) {
		t.Fatal("linked before any sign-in")
	}
	if got, id := signIn("ann", acme.agent.Email); got != "" || id != acme.agent.ID {
		t.Fatalf("the first sign-in: %q %s", got, id)
	}
	if !linked(acme.agent) {
		t.Fatal("not linked after the first sign-in")
	}
	// Ann's address changes at the provider, to one Parley does not know:
	// her provider account is hers, and signs her in.
	if got, id := signIn("ann", "ann.married@acme.test"); got != "" || id != acme.agent.ID {
		t.Fatalf("Ann with a new address at the provider: %q %s", got, id)
	}
	// Mallory edits her address at the provider to Ann's: refused.
	if got, id := signIn("mallory", acme.agent.Email); got != "other_account" || id != "" {
		t.Fatalf("another provider account with Ann's email: %q %s", got, id)
	}
	// Sam, linked as the supervisor, takes the admin's address (the admin
	// never signed in this way): one provider account is not two people,
	// and it signs in the one it is linked to.
	if got, _ := signIn("sam", acme.supervisor.Email); got != "" {
		t.Fatalf("the supervisor's first sign-in: %q", got)
	}
	if got, id := signIn("sam", acme.admin.Email); got != "" || id != acme.supervisor.ID {
		t.Fatalf("the supervisor's provider account with the admin's address: %q %s", got, id)
	}
	if linked(acme.admin) {
		t.Fatal("the refused sign-in linked the admin")
	}
	// Ann's provider account is made again (a new subject): refused until
	// an admin unlinks her; then her next sign-in links the new one.
	if got, _ := signIn("ann-again", acme.agent.Email); got != "other_account" {
		t.Fatalf("Ann's new provider account before the unlink: %q", got)
	}
	if st, raw := ts.login(t, acme.supervisor).raw("DELETE", "/api/v1/users/"+acme.agent.ID+"/sso-link", nil); st != 403 {
		t.Fatalf("a supervisor unlinked: %d %s", st, raw)
	}
	if st, raw := admin.raw("DELETE", "/api/v1/users/"+acme.agent.ID+"/sso-link", nil); st != 200 || strings.Contains(string(raw), "sso_linked") {
		t.Fatalf("unlink: %d %s", st, raw)
	}
	if got, id := signIn("ann-again", acme.agent.Email); got != "" || id != acme.agent.ID {
		t.Fatalf("Ann's new provider account after the unlink: %q %s", got, id)
	}
	if got, _ := signIn("ann", acme.agent.Email); got != "other_account" {
		t.Fatalf("Ann's old provider account after the new one linked: %q", got)
	}
	// A new provider (the brand moved): the next sign-in links anew.
	if _, _, err := ts.Store.ChangeUser(t.Context(), acme.account.ID, acme.agent.ID, nil, func(u *parley.User) error {
		u.SSOSubject = parley.SSOSubjectOf("https://old-provider.example", "ann")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, id := signIn("ann", acme.agent.Email); got != "" || id != acme.agent.ID {
		t.Fatalf("after the brand changed providers: %q %s", got, id)
	}
}

// TestLoggingOutSignsOutAtTheProvider: with "sign out at the provider"
// on, logging out of Parley after a single sign-on answers the provider's
// end-session address with the sign-in's ID token as the hint; following
// it ends the provider's session and comes back to the console, so the
// next sign-in asks for the person again. Off (the default), or after a
// password login, logging out leaves the provider alone.
func TestLoggingOutSignsOutAtTheProvider(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) { c.AllowPrivateOutbound = true })
	acme := seedBrand(t, ts, "Acme")
	idp := oidctest.Start(t)
	idp.KeepSessions()
	clientID, secret := idp.Client(t, ts.url+"/api/v1/auth/sso/callback", ts.url+"/console/")
	idp.Add("ann", oidctest.Person{Email: acme.agent.Email, Name: "Ann"})
	admin := ts.login(t, acme.admin)
	setSignOut := func(on bool) {
		t.Helper()
		var view struct {
			SignOut               bool   `json:"sign_out"`
			PostLogoutRedirectURI string `json:"post_logout_redirect_uri"`
		}
		if st := admin.do("PUT", "/api/v1/sso", map[string]any{"issuer": idp.Issuer, "client_id": clientID, "client_secret": secret, "sign_out": on}, &view); st != 200 ||
			view.SignOut != on || view.PostLogoutRedirectURI != ts.url+"/console/" {
			t.Fatalf("saving single sign-on: %d %+v", st, view)
		}
	}
	b := newSSOBrowser(t)
	// signIn signs Ann in and says whether the provider asked who she is.
	signIn := func() (asked bool) {
		t.Helper()
		st, to := b.start(ts, acme.agent.Email)
		if st != 200 {
			t.Fatalf("sso start: %d", st)
		}
		at, page := b.get(to)
		if strings.Contains(page, `id="username"`) {
			asked = true
			at, _ = b.post(at.Scheme+"://"+at.Host+"/login", url.Values{"challenge": {regexp.MustCompile(`name="challenge" value="([^"]+)"`).FindStringSubmatch(page)[1]}, "username": {"ann"}, "action": {"sign-in"}})
		}
		if at.Path != "/console/" || at.Fragment != "" {
			t.Fatalf("not signed in: %s", at)
		}
		return asked
	}
	logout := func() (int, string) {
		t.Helper()
		c := &client{t: t, base: ts.url, http: b.http}
		var me struct {
			CSRFToken string `json:"csrf_token"`
		}
		if st := c.do("GET", "/api/v1/me", nil, &me); st != 200 {
			t.Fatalf("me: %d", st)
		}
		c.csrf = me.CSRFToken
		var out struct {
			SignOutURL string `json:"sign_out_url"`
		}
		st := c.do("POST", "/api/v1/auth/logout", nil, &out)
		return st, out.SignOutURL
	}

	// Off: Parley's session ends, the provider's stays.
	setSignOut(false)
	if !signIn() {
		t.Fatal("the first sign-in did not ask who signs in")
	}
	if st, to := logout(); st != 204 || to != "" {
		t.Fatalf("logout with signing out at the provider off: %d %q", st, to)
	}
	if st, _ := b.me(ts); st != 401 {
		t.Fatalf("after logout: %d", st)
	}
	if signIn() {
		t.Fatal("the provider forgot Ann though Parley did not sign her out there")
	}

	// On: the answer sends the browser to the provider, which ends its
	// session and sends it back to the console.
	setSignOut(true)
	st, to := logout()
	if st != 200 || !strings.HasPrefix(to, idp.Issuer) {
		t.Fatalf("logout with signing out at the provider on: %d %q", st, to)
	}
	if q, _ := url.Parse(to); q.Query().Get("id_token_hint") == "" || q.Query().Get("post_logout_redirect_uri") != ts.url+"/console/" || q.Query().Get("client_id") != clientID {
		t.Fatalf("the end-session address: %s", to)
	}
	if st, _ := b.me(ts); st != 401 {
		t.Fatalf("Parley's session outlived the logout: %d", st)
	}
	if at, _ := b.get(to); at.String() != ts.url+"/console/" || idp.SignedOut() != 1 {
		t.Fatalf("after the provider's sign-out: at %s, %d signed out", at, idp.SignedOut())
	}
	if !signIn() {
		t.Fatal("the provider still knew Ann after signing her out")
	}

	// A password login has nothing to sign out of at the provider.
	if st, raw := ts.login(t, acme.admin).raw("POST", "/api/v1/auth/logout", nil); st != 204 || len(raw) != 0 {
		t.Fatalf("a password session's logout: %d %s", st, raw)
	}
}
