// Package oidctest gives tests a real OpenID Connect provider: Ory Hydra
// (scripts/test-deps.sh builds it), started per test on loopback ports with
// an in-memory store, and the small login and consent app Hydra asks every
// deployment to bring — here, one that knows the people a test adds.
//
// The binary is PARLEY_TEST_HYDRA, by default the one test-deps.sh builds
// in $(go env GOPATH)/bin.
package oidctest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Version is the Hydra that scripts/test-deps.sh builds.
const Version = "v2.3.0"

// Person is someone the provider knows.
type Person struct {
	Email string
	// EmailVerified, when set, is the token's email_verified claim.
	EmailVerified *bool
	Name          string
}

// Provider is a running Hydra.
type Provider struct {
	// Issuer is the provider's issuer URL, as its discovery document says it.
	Issuer string
	admin  string
	login  *httptest.Server

	mu     sync.Mutex
	people map[string]Person // by username (what the login form asks)
	// Signed: when a username is signed in already (the provider's own
	// session), the login page does not show; the person is let through.
	signedIn string
	// remember: Hydra keeps a session for whoever signs in (KeepSessions);
	// signedOut counts the sessions ended by an application's logout.
	remember  bool
	signedOut int
}

func binary(t testing.TB) string {
	if p := os.Getenv("PARLEY_TEST_HYDRA"); p != "" {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		t.Fatalf("oidctest: go env GOPATH: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "bin", "parley-test-hydra-"+Version)
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs a provider for the test; it stops when the test ends.
func Start(t testing.TB) *Provider {
	t.Helper()
	bin := binary(t)
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("oidctest: Ory Hydra is missing at %s: run `make test` (scripts/test-deps.sh builds it)", bin)
	}
	p := &Provider{people: map[string]Person{}}
	p.login = httptest.NewServer(p.app())
	t.Cleanup(p.login.Close)
	public, admin := freePort(t), freePort(t)
	p.Issuer = fmt.Sprintf("http://127.0.0.1:%d/", public)
	p.admin = fmt.Sprintf("http://127.0.0.1:%d", admin)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", "all", "--dev", "--sqa-opt-out")
	cmd.Env = append(os.Environ(), "DSN=memory",
		"SERVE_PUBLIC_HOST=127.0.0.1", fmt.Sprintf("SERVE_PUBLIC_PORT=%d", public),
		"SERVE_ADMIN_HOST=127.0.0.1", fmt.Sprintf("SERVE_ADMIN_PORT=%d", admin),
		"URLS_SELF_ISSUER="+p.Issuer, "URLS_LOGIN="+p.login.URL+"/login", "URLS_CONSENT="+p.login.URL+"/consent", "URLS_LOGOUT="+p.login.URL+"/logout",
		"SECRETS_SYSTEM=parley-oidctest-system-secret-0123456789", "LOG_LEVEL=warn")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("oidctest: starting Hydra: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cancel(); <-exited })
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(p.admin + "/health/ready")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			t.Fatalf("oidctest: Hydra stopped: %s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("oidctest: Hydra not ready after 30 s: %s", logs.String())
		}
		time.Sleep(50 * time.Millisecond) // polling a process's readiness, no event to wait on
	}
	// Hydra makes its signing keys (RSA) at the first request that needs
	// them, which takes seconds on a busy machine: make it now, so the
	// test's own requests are not the ones that wait.
	keys := &http.Client{Timeout: 2 * time.Minute}
	for _, path := range []string{".well-known/openid-configuration", ".well-known/jwks.json"} {
		res, err := keys.Get(p.Issuer + path)
		if err != nil {
			t.Fatalf("oidctest: %s: %v", path, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	return p
}

// Add makes username a person the provider knows.
func (p *Provider) Add(username string, who Person) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.people[username] = who
}

// SignIn makes username signed in at the provider already, so the next
// sign-in passes without its login page (as a provider's session does).
// "" shows the page again.
func (p *Provider) SignIn(username string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.signedIn = username
}

// KeepSessions makes the provider keep a session for whoever signs in, as
// real providers do: their next sign-in in the same browser passes
// without the login page, until an application signs them out
// (RP-initiated logout).
func (p *Provider) KeepSessions() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.remember = true
}

// SignedOut counts the provider sessions applications ended.
func (p *Provider) SignedOut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.signedOut
}

// Client registers an OAuth 2.0 client that may send people back to
// redirectURI, and after signing them out to postLogout, and returns its
// ID and secret.
func (p *Provider) Client(t testing.TB, redirectURI string, postLogout ...string) (id, secret string) {
	t.Helper()
	secret = "parley-test-client-secret-0123456789"
	var out struct {
		ClientID string `json:"client_id"`
	}
	if postLogout == nil {
		postLogout = []string{}
	}
	p.adminCall(t, http.MethodPost, "/admin/clients", map[string]any{
		"client_secret": secret, "redirect_uris": []string{redirectURI}, "post_logout_redirect_uris": postLogout,
		"grant_types": []string{"authorization_code"}, "response_types": []string{"code"},
		"scope": "openid email profile", "token_endpoint_auth_method": "client_secret_basic",
	}, &out)
	return out.ClientID, secret
}

func (p *Provider) adminCall(t testing.TB, method, path string, body, out any) {
	if err := p.call(method, path, body, out); err != nil {
		t.Fatalf("oidctest: %v", err)
	}
}

func (p *Provider) call(method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, p.admin+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("Hydra %s %s: %s %s", method, path, res.Status, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in — Test Identity Provider</title></head>
<body><h1>Test Identity Provider</h1>
{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="challenge" value="{{.Challenge}}">
<label>Username <input name="username" id="username" value="{{.Hint}}" autocomplete="username"></label>
<button id="sign-in" name="action" value="sign-in">Sign in</button>
<button id="cancel" name="action" value="cancel">Cancel</button>
</form></body></html>`))

// app is the login and consent app: the login page asks for a username
// among the people added; consent is given at once, with the person's
// claims in the ID token.
func (p *Provider) app() http.Handler {
	mux := http.NewServeMux()
	accept := func(w http.ResponseWriter, r *http.Request, challenge, username string) {
		var out struct {
			RedirectTo string `json:"redirect_to"`
		}
		p.mu.Lock()
		remember := p.remember
		p.mu.Unlock()
		if err := p.call(http.MethodPut, "/admin/oauth2/auth/requests/login/accept?login_challenge="+challenge,
			map[string]any{"subject": username, "remember": remember}, &out); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		http.Redirect(w, r, out.RedirectTo, http.StatusFound)
	}
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		challenge := r.URL.Query().Get("login_challenge")
		var req struct {
			Skip        bool   `json:"skip"`
			Subject     string `json:"subject"`
			OIDCContext struct {
				LoginHint string `json:"login_hint"`
			} `json:"oidc_context"`
		}
		if err := p.call(http.MethodGet, "/admin/oauth2/auth/requests/login?login_challenge="+challenge, nil, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if req.Skip { // Hydra's own session knows them
			accept(w, r, challenge, req.Subject)
			return
		}
		p.mu.Lock()
		signedIn := p.signedIn
		p.mu.Unlock()
		if signedIn != "" {
			accept(w, r, challenge, signedIn)
			return
		}
		loginPage.Execute(w, map[string]string{"Challenge": challenge, "Hint": req.OIDCContext.LoginHint})
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		challenge, username := r.FormValue("challenge"), r.FormValue("username")
		if r.FormValue("action") == "cancel" {
			var out struct {
				RedirectTo string `json:"redirect_to"`
			}
			if err := p.call(http.MethodPut, "/admin/oauth2/auth/requests/login/reject?login_challenge="+challenge,
				map[string]any{"error": "access_denied", "error_description": "The person cancelled."}, &out); err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			http.Redirect(w, r, out.RedirectTo, http.StatusFound)
			return
		}
		p.mu.Lock()
		_, known := p.people[username]
		p.mu.Unlock()
		if !known {
			loginPage.Execute(w, map[string]string{"Challenge": challenge, "Hint": username, "Error": "No such user."})
			return
		}
		accept(w, r, challenge, username)
	})
	// An application's logout (RP-initiated): Hydra asks the app, which
	// ends the session without asking the person.
	mux.HandleFunc("GET /logout", func(w http.ResponseWriter, r *http.Request) {
		var out struct {
			RedirectTo string `json:"redirect_to"`
		}
		if err := p.call(http.MethodPut, "/admin/oauth2/auth/requests/logout/accept?logout_challenge="+url.QueryEscape(r.URL.Query().Get("logout_challenge")), nil, &out); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		p.mu.Lock()
		p.signedOut++
		p.signedIn = ""
		p.mu.Unlock()
		http.Redirect(w, r, out.RedirectTo, http.StatusFound)
	})
	mux.HandleFunc("GET /consent", func(w http.ResponseWriter, r *http.Request) {
		challenge := r.URL.Query().Get("consent_challenge")
		var req struct {
			Subject        string   `json:"subject"`
			RequestedScope []string `json:"requested_scope"`
			Audience       []string `json:"requested_access_token_audience"`
		}
		if err := p.call(http.MethodGet, "/admin/oauth2/auth/requests/consent?consent_challenge="+challenge, nil, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		p.mu.Lock()
		who := p.people[req.Subject]
		p.mu.Unlock()
		claims := map[string]any{"email": who.Email, "name": who.Name}
		if who.EmailVerified != nil {
			claims["email_verified"] = *who.EmailVerified
		}
		var out struct {
			RedirectTo string `json:"redirect_to"`
		}
		if err := p.call(http.MethodPut, "/admin/oauth2/auth/requests/consent/accept?consent_challenge="+challenge, map[string]any{
			"grant_scope": req.RequestedScope, "grant_access_token_audience": req.Audience,
			"session": map[string]any{"id_token": claims},
		}, &out); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		http.Redirect(w, r, out.RedirectTo, http.StatusFound)
	})
	return mux
}
