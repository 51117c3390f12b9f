package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// An agent turns two-factor authentication on from the console's Profile:
// password, QR code (an image of the console's own origin) and key, the
// app's code, then ten recovery codes shown once. Logging in again, the
// console asks for a code after the password, and a recovery code works.
func TestAnAgentTurnsOnTwoFactorInTheConsole(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	b := consoleLogin(t, ts, brand.agent, ".app")
	b.press(".open-profile")
	b.do(chromedp.WaitVisible(chromedp.CSS("dialog.profile .tf-start")))
	if got := evalIn[string](t, b.ctx, `document.querySelector(".tf-status").textContent`); !strings.HasPrefix(got, "Off") {
		t.Fatalf("status %q", got)
	}
	b.do(chromedp.SendKeys(chromedp.CSS(".tf-password-form [name=password]"), password), chromedp.Click(chromedp.CSS(".tf-start")),
		chromedp.WaitVisible(chromedp.CSS(".tf-confirm-form")))
	waitFor(t, func() bool {
		return evalIn[bool](t, b.ctx, `document.querySelector(".tf-qr").complete && document.querySelector(".tf-qr").naturalWidth >= 200`)
	}, func() string { return evalIn[string](t, b.ctx, `document.querySelector(".tf-qr").src`) })
	if focused := evalIn[string](t, b.ctx, `document.activeElement.name`); focused != "code" {
		t.Fatalf("focus on %q after the setup began, want the code field", focused)
	}
	b.shot("setup")
	secret := strings.ReplaceAll(evalIn[string](t, b.ctx, `document.querySelector(".tf-secret").textContent`), " ", "")
	b.do(chromedp.SendKeys(chromedp.CSS(".tf-confirm-form [name=code]"), totpCode(t, secret, time.Now())+"\r"),
		chromedp.WaitVisible(chromedp.CSS(".tf-codes")))
	b.shot("codes")
	codes := evalIn[[]string](t, b.ctx, `[...document.querySelectorAll(".tf-code-list li")].map((li) => li.textContent)`)
	if len(codes) != 10 {
		t.Fatalf("recovery codes shown: %q", codes)
	}
	if got := evalIn[string](t, b.ctx, `document.querySelector(".tf-status").textContent`); !strings.HasPrefix(got, "On") {
		t.Fatalf("status after turning it on: %q", got)
	}
	// Closed, the dialog forgets the codes.
	b.press(".profile-close")
	waitFor(t, func() bool {
		return evalIn[bool](t, b.ctx, `!document.querySelector("dialog.profile").open && document.querySelectorAll(".tf-code-list li").length === 0`)
	}, func() string { return "the recovery codes stayed in the page after the dialog closed" })

	// A new browser: the password first, then the code.
	again := newBrowser(t)
	again.do(chromedp.Navigate(ts.url+"/console/"), chromedp.WaitVisible(chromedp.CSS(".login-form")),
		chromedp.SendKeys(chromedp.CSS("input[name=email]"), brand.agent.Email), chromedp.SendKeys(chromedp.CSS("input[name=password]"), password),
		chromedp.Click(chromedp.CSS(".login-form button")), chromedp.WaitVisible(chromedp.CSS(".login-code")))
	if focused := evalIn[string](t, again.ctx, `document.activeElement.name`); focused != "code" {
		t.Fatalf("focus on %q when the code is asked for", focused)
	}
	again.do(chromedp.SendKeys(chromedp.CSS("input[name=code]"), "000000\r"))
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, again.ctx, `document.querySelector(".login-error").textContent`), "incorrect")
	})
	// Trusted: this browser asks for the password alone from now on.
	if got := evalIn[string](t, again.ctx, `document.querySelector(".login-remember").textContent.trim()`); got != "Trust this browser: no second factor here for 30 days" {
		t.Fatalf("the offer to trust the browser says %q", got)
	}
	again.press(".login-remember input")
	again.do(chromedp.SendKeys(chromedp.CSS("input[name=code]"), strings.ToUpper(codes[4])+"\r"), chromedp.WaitVisible(chromedp.CSS(".app")))
	passwordOnly := func() {
		t.Helper()
		again.press(".logout")
		again.do(chromedp.WaitVisible(chromedp.CSS(".login-form")),
			chromedp.SendKeys(chromedp.CSS("input[name=email]"), brand.agent.Email), chromedp.SendKeys(chromedp.CSS("input[name=password]"), password+"\r"))
	}
	passwordOnly()
	again.do(chromedp.WaitVisible(chromedp.CSS(".app")))

	// Forgotten from the Profile: the code is asked again.
	again.press(".open-profile")
	again.do(chromedp.WaitVisible(chromedp.CSS("dialog.profile .forget-browsers")))
	if problems := accessibilityProblems(t, again.ctx, axeSource(t)); len(problems) > 0 {
		t.Fatalf("the profile with trusted browsers: %s", strings.Join(problems, "\n"))
	}
	again.press(".forget-browsers")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, again.ctx, `document.querySelector(".toast").textContent`), "Trusted browsers forgotten")
	})
	again.press(".profile-close")
	passwordOnly()
	again.do(chromedp.WaitVisible(chromedp.CSS(".login-code")))
}

// An admin (with a second factor, so logging in asks for the code)
// requires two-factor authentication of everyone from the Admin tab; an
// agent without one is then held in the Profile dialog at login — Escape
// does not close it — until they set it up, and Continue takes them in.
func TestAnAdminRequiresTwoFactorOfEveryone(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	secret := turnOnTwoFactor(t, ts.login(t, brand.admin))

	admin := newBrowser(t)
	admin.do(chromedp.Navigate(ts.url+"/console/"), chromedp.WaitVisible(chromedp.CSS(".login-form")),
		chromedp.SendKeys(chromedp.CSS("input[name=email]"), brand.admin.Email), chromedp.SendKeys(chromedp.CSS("input[name=password]"), password),
		chromedp.Click(chromedp.CSS(".login-form button")), chromedp.WaitVisible(chromedp.CSS(".login-code")),
		chromedp.SendKeys(chromedp.CSS("input[name=code]"), totpCode(t, secret, time.Now().Add(30*time.Second))+"\r"),
		chromedp.WaitVisible(chromedp.CSS("[data-tab=admin]")))
	admin.press("[data-tab=admin]")
	admin.do(chromedp.WaitVisible(chromedp.CSS(".security-settings")))
	waitFor(t, func() bool { // the form is filled from the settings once read: 30 days unless set
		return evalIn[string](t, admin.ctx, `document.querySelector(".security-settings [name=rememberDays]").value`) == "30"
	})
	admin.press(".security-settings [name=require]")
	admin.do(chromedp.SetValue(chromedp.CSS(".security-settings [name=rememberDays]"), "7"))
	admin.press(".security-settings button")
	waitFor(t, func() bool {
		acc, err := ts.Store.FindAccount(t.Context(), brand.account.ID)
		return err == nil && acc.Settings.RequireTwoFactor && acc.Settings.TwoFactorRememberDays != nil && *acc.Settings.TwoFactorRememberDays == 7
	}, func() string {
		return evalIn[string](t, admin.ctx, `document.querySelector(".admin-error").textContent`)
	})

	agent := consoleLogin(t, ts, brand.agent, "dialog.profile .profile-required")
	if evalIn[bool](t, agent.ctx, `!document.querySelector(".app").hidden`) {
		t.Fatal("the console opened before the second factor was set up")
	}
	agent.do(chromedp.KeyEvent("\x1b")) // Escape
	if !evalIn[bool](t, agent.ctx, `document.querySelector("dialog.profile").open`) {
		t.Fatal("Escape closed the required setup")
	}
	agent.do(chromedp.SendKeys(chromedp.CSS(".tf-password-form [name=password]"), password), chromedp.Click(chromedp.CSS(".tf-start")),
		chromedp.WaitVisible(chromedp.CSS(".tf-confirm-form")))
	own := strings.ReplaceAll(evalIn[string](t, agent.ctx, `document.querySelector(".tf-secret").textContent`), " ", "")
	agent.do(chromedp.SendKeys(chromedp.CSS(".tf-confirm-form [name=code]"), totpCode(t, own, time.Now())+"\r"),
		chromedp.WaitVisible(chromedp.CSS(".profile-continue")))
	agent.press(".profile-continue")
	agent.do(chromedp.WaitVisible(chromedp.CSS(".app")))
	waitFor(t, func() bool {
		return evalIn[string](t, agent.ctx, `document.querySelector(".conn").textContent`) == "Live"
	})
}
