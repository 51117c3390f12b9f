package server_test

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// withAuthenticator gives the browser's tab a virtual platform
// authenticator (Chromium's, driven over DevTools): it makes discoverable
// passkeys, verifies its user and needs no touch.
func withAuthenticator(t *testing.T, b *browser) webauthn.AuthenticatorID {
	t.Helper()
	if _, err := chromedp.Call(b.ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	out, err := chromedp.Call(b.ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
		HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}})
	if err != nil {
		t.Fatal(err)
	}
	return out.AuthenticatorID
}

// An agent adds a passkey in the console's Profile (at localhost: browsers
// make passkeys for domain names only), signs in with it alone, then finds
// their password no longer enough — the console asks for the passkey and
// takes them in — and removes it, after which the password alone works
// again.
func TestAnAgentSignsInWithAPasskey(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	console := strings.Replace(ts.url, "127.0.0.1", "localhost", 1) + "/console/"
	b := newBrowser(t)
	authenticator := withAuthenticator(t, b)
	b.do(chromedp.Navigate(console), chromedp.WaitVisible(chromedp.CSS(".login-form")),
		chromedp.SendKeys(chromedp.CSS("input[name=email]"), brand.agent.Email), chromedp.SendKeys(chromedp.CSS("input[name=password]"), password),
		chromedp.Click(chromedp.CSS(".login-form button")), chromedp.WaitVisible(chromedp.CSS(".app")))

	b.press(".open-profile")
	b.do(chromedp.WaitVisible(chromedp.CSS("dialog.profile .pk-add-form")))
	waitFor(t, func() bool {
		return strings.HasPrefix(evalIn[string](t, b.ctx, `document.querySelector(".pk-status").textContent`), "None yet")
	})
	b.do(chromedp.SendKeys(chromedp.CSS(".pk-add-form [name=name]"), "Work laptop"),
		chromedp.SendKeys(chromedp.CSS(".pk-add-form [name=password]"), password+"\r"))
	waitFor(t, func() bool {
		return evalIn[int](t, b.ctx, `document.querySelectorAll(".pk-list li").length`) == 1
	}, func() string { return evalIn[string](t, b.ctx, `document.querySelector(".profile-error").textContent`) })
	b.shot("added")
	if got := evalIn[string](t, b.ctx, `document.querySelector(".pk-list li").textContent`); !strings.Contains(got, "Work laptop") || !strings.Contains(got, "not used yet") {
		t.Fatalf("the list shows %q", got)
	}
	stored, err := ts.Store.Passkeys(t.Context(), brand.account.ID, brand.agent.ID)
	if err != nil || len(stored) != 1 || stored[0].RPID != "localhost" || stored[0].Name != "Work laptop" {
		t.Fatalf("stored passkeys %+v, %v", stored, err)
	}
	creds, err := chromedp.Call(b.ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: authenticator})
	if err != nil || len(creds.Credentials) != 1 || !creds.Credentials[0].IsResidentCredential {
		t.Fatalf("the authenticator holds %+v, %v (want one discoverable passkey)", creds, err)
	}

	// Logged out, the passkey alone signs them in.
	b.press(".profile-close")
	b.press(".logout")
	b.do(chromedp.WaitVisible(chromedp.CSS(".login-form .passkey-login")))
	b.press(".passkey-login")
	b.do(chromedp.WaitVisible(chromedp.CSS(".app")))
	if who := evalIn[string](t, b.ctx, `document.querySelector(".who").textContent`); !strings.Contains(who, brand.agent.Name) {
		t.Fatalf("signed in as %q", who)
	}
	used, _ := ts.Store.FindPasskey(t.Context(), stored[0].ID)
	if used.LastUsedAt.IsZero() {
		t.Fatal("the sign-in did not record the passkey's use")
	}

	// The password alone is no longer enough: the console asks for the
	// passkey, and it completes the login.
	b.press(".logout")
	b.do(chromedp.WaitVisible(chromedp.CSS(".login-form")),
		chromedp.SendKeys(chromedp.CSS("input[name=email]"), brand.agent.Email), chromedp.SendKeys(chromedp.CSS("input[name=password]"), password),
		chromedp.Click(chromedp.CSS(".login-form button")))
	waitFor(t, func() bool {
		return evalIn[string](t, b.ctx, `document.querySelector(".passkey-login").textContent`) == "Use your passkey" &&
			strings.Contains(evalIn[string](t, b.ctx, `document.querySelector(".login-error").textContent`), "passkeys")
	})
	if focused := evalIn[string](t, b.ctx, `document.activeElement.className`); focused != "passkey-login" {
		t.Fatalf("focus on %q when the passkey is asked for", focused)
	}
	if evalIn[bool](t, b.ctx, `!document.querySelector(".login-code").hidden`) {
		t.Fatal("the code field is shown to someone with no authenticator app")
	}
	b.shot("passkey asked")
	b.press(".passkey-login")
	b.do(chromedp.WaitVisible(chromedp.CSS(".app")))

	// Renamed in place, then removed: the passkey no longer guards the
	// password.
	b.press(".open-profile")
	waitFor(t, func() bool {
		return evalIn[int](t, b.ctx, `document.querySelectorAll(".pk-list .pk-rename").length`) == 1
	})
	b.press(".pk-rename")
	b.do(chromedp.WaitVisible(chromedp.CSS(".pk-rename-form input")))
	if focused := evalIn[string](t, b.ctx, `document.activeElement.getAttribute("aria-label")`); focused != "New name for Work laptop" {
		t.Fatalf("focus on %q after Rename", focused)
	}
	b.do(chromedp.SendKeys(chromedp.CSS(".pk-rename-form input"), "Old laptop\r"))
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, b.ctx, `document.querySelector(".pk-list li")?.textContent || ""`), "Old laptop")
	}, func() string { return evalIn[string](t, b.ctx, `document.querySelector(".profile-error").textContent`) })
	if renamed, _ := ts.Store.FindPasskey(t.Context(), stored[0].ID); renamed.Name != "Old laptop" {
		t.Fatalf("stored name %q", renamed.Name)
	}
	if label := evalIn[string](t, b.ctx, `document.querySelector(".pk-remove").getAttribute("aria-label")`); label != "Remove Old laptop" {
		t.Fatalf("the Remove button is labelled %q", label)
	}
	b.press(".pk-remove")
	waitFor(t, func() bool {
		return evalIn[int](t, b.ctx, `document.querySelectorAll(".pk-list li").length`) == 0 &&
			strings.HasPrefix(evalIn[string](t, b.ctx, `document.querySelector(".tf-status").textContent`), "Off")
	})
	if u, _ := ts.Store.FindUser(t.Context(), brand.account.ID, brand.agent.ID); u.Passkeys != 0 {
		t.Fatalf("the agent still has %d passkeys", u.Passkeys)
	}
	b.press(".profile-close")
	b.press(".logout")
	b.do(chromedp.WaitVisible(chromedp.CSS(".login-form")),
		chromedp.SendKeys(chromedp.CSS("input[name=email]"), brand.agent.Email), chromedp.SendKeys(chromedp.CSS("input[name=password]"), password),
		chromedp.Click(chromedp.CSS(".login-form button")), chromedp.WaitVisible(chromedp.CSS(".app")))
}
