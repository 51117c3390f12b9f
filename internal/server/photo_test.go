package server_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/widget"
)

// aPhoto is a w×h JPEG, as a phone would send.
func aPhoto(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 160, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// getPhoto fetches a person's photo as a visitor's browser would.
func getPhoto(t *testing.T, ts *testServer, query string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.url+"/widget/photo?"+query, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// TestPeopleHaveTheirPhotos: an agent gives themself a photo (a landscape
// JPEG); everyone gets it as a 128×128 PNG at a public address, cached for
// good under its token, sent again only when it changed. What is not a
// photo, or too big, is refused and changes nothing; an admin sets a
// colleague's; removed, it is gone. Another brand's address finds nothing.
func TestPeopleHaveTheirPhotos(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	other := seedBrand(t, ts, "Other")
	agent := ts.login(t, b.agent)
	for _, bad := range []struct {
		body   []byte
		status int
		want   string
	}{
		{[]byte("<html><script>alert(1)</script>"), 400, "PNG, JPEG or GIF"},
		{aPhoto(t, 10, 10), 400, "at least 16×16"},
		{make([]byte, 10<<20+1), 413, "over 10 MB"},
	} {
		st, raw := agent.raw("PUT", "/api/v1/me/photo", bad.body)
		if st != bad.status || !strings.Contains(string(raw), bad.want) {
			t.Fatalf("a bad photo: %d %s", st, raw)
		}
	}
	if u, _ := ts.Store.FindUser(t.Context(), b.account.ID, b.agent.ID); u.Photo != "" {
		t.Fatalf("a refused photo was kept: %q", u.Photo)
	}
	var u parley.User
	if st := agent.do("PUT", "/api/v1/me/photo", aPhoto(t, 300, 200), &u); st != 200 || u.Photo == "" || u.ID != b.agent.ID {
		t.Fatalf("the agent's photo: %d %+v", st, u)
	}
	query := "account=" + b.account.ID + "&user=" + b.agent.ID
	resp, body := getPhoto(t, ts, query)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
		resp.Header.Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("the photo: %d %v", resp.StatusCode, resp.Header)
	}
	if cfg, err := png.DecodeConfig(bytes.NewReader(body)); err != nil || cfg.Width != 128 || cfg.Height != 128 {
		t.Fatalf("the photo served: %+v, %v", cfg, err)
	}
	if resp, _ := getPhoto(t, ts, query+"&v="+u.Photo); resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Fatalf("under its token: %v", resp.Header)
	}
	if resp, body := getPhoto(t, ts, query, "If-None-Match", `"`+u.Photo+`"`); resp.StatusCode != 304 || len(body) != 0 {
		t.Fatalf("unchanged: %d, %d bytes", resp.StatusCode, len(body))
	}
	// Another brand's address for the person, and nonsense, find nothing.
	if resp, _ := getPhoto(t, ts, "account="+other.account.ID+"&user="+b.agent.ID); resp.StatusCode != 404 {
		t.Fatalf("under another brand: %d", resp.StatusCode)
	}
	if resp, _ := getPhoto(t, ts, "account="+b.account.ID+"&user=nobody"); resp.StatusCode != 400 {
		t.Fatalf("a bad user: %d", resp.StatusCode)
	}
	// The admin sets the supervisor's; the list says who has one.
	admin := ts.login(t, b.admin)
	if st, raw := admin.raw("PUT", "/api/v1/users/"+b.supervisor.ID+"/photo", aPhoto(t, 200, 400)); st != 200 {
		t.Fatalf("the supervisor's photo: %d %s", st, raw)
	}
	var list struct{ Users []parley.User }
	admin.do("GET", "/api/v1/users", nil, &list)
	for _, x := range list.Users {
		if has := x.Photo != ""; has != (x.ID == b.agent.ID || x.ID == b.supervisor.ID) {
			t.Fatalf("%s's photo token: %q", x.Name, x.Photo)
		}
	}
	var me struct{ Photo string }
	if agent.do("GET", "/api/v1/me", nil, &me); me.Photo != u.Photo {
		t.Fatalf("/me's photo %q, want %q", me.Photo, u.Photo)
	}
	// Removed: the initials again.
	var removed parley.User
	if st := agent.do("DELETE", "/api/v1/me/photo", nil, &removed); st != 200 || removed.Photo != "" || removed.ID != b.agent.ID {
		t.Fatalf("removed: %d %+v", st, removed)
	}
	if resp, _ := getPhoto(t, ts, query); resp.StatusCode != 404 {
		t.Fatalf("a removed photo: %d", resp.StatusCode)
	}
}

// TestAVisitorSeesTheAgentsPhoto: in Chromium, an agent picks a photo in
// their Profile; the console's bar shows it, and the visitor they answer
// sees it in the chat's header (the brand shows its team) and beside the
// answer instead of their initials; the console's conversation shows it
// before the agent's name.
func TestAVisitorSeesTheAgentsPhoto(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	file := filepath.Join(t.TempDir(), "me.jpg")
	if err := os.WriteFile(file, aPhoto(t, 320, 240), 0o600); err != nil {
		t.Fatal(err)
	}
	console := consoleLogin(t, ts, brand.agent, ".open-profile")
	console.press(".open-profile")
	console.do(chromedp.WaitVisible(chromedp.CSS("dialog.profile .photo-file")), chromedp.SetUploadFiles(chromedp.CSS(".photo-file"), []string{file}))
	waitFor(t, func() bool {
		u, _ := ts.Store.FindUser(t.Context(), brand.account.ID, brand.agent.ID)
		return u.Photo != ""
	}, func() string {
		return evalIn[string](t, console.ctx, `document.querySelector(".profile-error").textContent`)
	})
	loaded := `(() => { const img = document.querySelector(%q); return !!img && img.complete && img.naturalWidth === 128 })()`
	waitFor(t, func() bool {
		return evalIn[bool](t, console.ctx, fmt.Sprintf(loaded, ".me-face img")) && evalIn[bool](t, console.ctx, fmt.Sprintf(loaded, ".photo-preview img"))
	})
	if evalIn[bool](t, console.ctx, `document.querySelector(".photo-remove").hidden`) {
		t.Fatal("no Remove beside the photo")
	}
	console.shot("profile-photo")

	if st, raw := ts.login(t, brand.admin).raw("PUT", "/api/v1/widget-settings", map[string]any{"show_team": true}); st != 200 {
		t.Fatalf("show the team: %d %s", st, raw)
	}
	page, frame, _ := chatFromBrandPage(t, ts, brand.account.ID, "Is the jacket waterproof?")
	// The header shows the team: the agent, the only one with a photo,
	// first, then the admin's and the supervisor's initials.
	waitFor(t, func() bool {
		return evalIn[bool](t, frame, `(() => { const team = document.querySelector(".team"); const img = team && team.firstElementChild;
			const initials = [...team.querySelectorAll(".initial")].map((e) => e.textContent).join(",");
			return !team.hidden && team.getAttribute("aria-label") === "agent, admin, and supervisor" && img.tagName === "IMG" && img.naturalWidth === 128 && initials === "A,S" })()`)
	}, func() string { return evalIn[string](t, frame, `document.querySelector(".top").outerHTML`) })
	page.shot("team")
	list, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{Limit: 5})
	if len(list) != 1 {
		t.Fatalf("conversations: %d", len(list))
	}
	agent := ts.login(t, brand.agent)
	if st, raw := agent.raw("POST", "/api/v1/conversations/"+list[0].ID+"/accept", nil); st != 200 {
		t.Fatalf("accept: %d %s", st, raw)
	}
	if st, raw := agent.raw("POST", "/api/v1/conversations/"+list[0].ID+"/messages", map[string]any{"text": "Yes, fully: taped seams."}); st != 201 && st != 200 {
		t.Fatalf("answer: %d %s", st, raw)
	}
	waitFor(t, func() bool {
		return evalIn[bool](t, frame, `(() => { const li = [...document.querySelectorAll(".msg.theirs")].find(m => m.textContent.includes("taped seams"));
			const img = li && li.querySelector(".avatar.photo img"); return !!img && img.naturalWidth === 128 })()`)
	}, func() string { return evalIn[string](t, frame, `document.querySelector(".log").innerHTML`) })
	if problems := accessibilityProblems(t, frame, axeSource(t)); len(problems) > 0 {
		t.Fatalf("the chat with a photo: %s", strings.Join(problems, "\n"))
	}
	// In the console, the answer says who by face too.
	console.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("dialog.profile").close()`))
	console.openFirst("mine")
	waitFor(t, func() bool {
		return evalIn[bool](t, console.ctx, `(() => { const img = document.querySelector(".messages li.agent .from img.from-face"); return !!img && img.naturalWidth === 128 })()`)
	}, func() string { return evalIn[string](t, console.ctx, `document.querySelector(".messages").innerHTML`) })
}

// TestTheChatShowsTheTeam: with show_team, the widget's config names up to
// three active people who have a photo, those online first, by their
// first names; without it, none.
func TestTheChatShowsTheTeam(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	admin := ts.login(t, b.admin)
	team := func() []widget.TeamMember {
		var cfg widget.PublicConfig
		if st := ts.anon(t).do("GET", "/widget/config?account="+b.account.ID, nil, &cfg); st != 200 {
			t.Fatalf("config: %d", st)
		}
		return cfg.Team
	}
	var zoe, old parley.User
	admin.do("POST", "/api/v1/users", map[string]any{"email": "zoe@acme.test", "name": "Zoe Quinn", "password": password, "role": "agent"}, &zoe)
	admin.do("POST", "/api/v1/users", map[string]any{"email": "old@acme.test", "name": "Old Timer", "password": password, "role": "agent"}, &old)
	for _, id := range []string{b.agent.ID, b.admin.ID, zoe.ID, old.ID} { // the supervisor has none
		if st, raw := admin.raw("PUT", "/api/v1/users/"+id+"/photo", aPhoto(t, 64, 64)); st != 200 {
			t.Fatalf("photo of %s: %d %s", id, st, raw)
		}
	}
	admin.do("PATCH", "/api/v1/users/"+old.ID, map[string]any{"active": false}, nil)
	if got := team(); len(got) != 0 {
		t.Fatalf("a team without show_team: %+v", got)
	}
	admin.do("PUT", "/api/v1/widget-settings", map[string]any{"show_team": true}, nil)
	agent := online(t, ts, b.agent)
	defer agent.ws.CloseNow()
	names := func(got []widget.TeamMember) string {
		var out []string
		for _, m := range got {
			out = append(out, m.Name)
			if m.Photo != "" && (!strings.HasPrefix(m.Photo, "/widget/photo?account="+b.account.ID+"&user=usr_") || !strings.Contains(m.Photo, "&v=")) {
				t.Fatalf("a face's address: %q", m.Photo)
			}
		}
		return strings.Join(out, ",")
	}
	// The agent is online; then those with a photo, by name whatever the
	// case: the supervisor, without one, is fourth.
	got := team()
	if names(got) != "agent,admin,Zoe" || got[0].Photo == "" || got[2].Photo == "" {
		t.Fatalf("the team: %+v", got)
	}
	// Online, the supervisor comes before those who are not, with no
	// photo: the chat shows their initial.
	supervisor := online(t, ts, b.supervisor)
	defer supervisor.ws.CloseNow()
	if got = team(); names(got) != "agent,supervisor,admin" || got[1].Photo != "" {
		t.Fatalf("the team with the supervisor online: %+v", got)
	}
	if resp, _ := getPhoto(t, ts, strings.TrimPrefix(got[0].Photo, "/widget/photo?")); resp.StatusCode != 200 {
		t.Fatalf("the first face: %d", resp.StatusCode)
	}
}

// TestAnAdminGivesAColleagueAPhoto: in Chromium, an admin picks a photo
// for the supervisor in Admin → People; the row shows it, and its Remove
// takes it away.
func TestAnAdminGivesAColleagueAPhoto(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	file := filepath.Join(t.TempDir(), "priya.png")
	var b bytes.Buffer
	png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 90, 60)))
	if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	admin := adminTab(t, ts, brand)
	row := `.users tbody tr[data-user="` + brand.supervisor.ID + `"]`
	admin.do(chromedp.WaitReady(chromedp.CSS(row+" .user-photo-file")), chromedp.SetUploadFiles(chromedp.CSS(row+" .user-photo-file"), []string{file}))
	waitFor(t, func() bool {
		u, _ := ts.Store.FindUser(t.Context(), brand.account.ID, brand.supervisor.ID)
		return u.Photo != ""
	}, func() string {
		return evalIn[string](t, admin.ctx, `document.querySelector(".admin-error").textContent`)
	})
	waitFor(t, func() bool {
		return evalIn[bool](t, admin.ctx, `(() => { const img = document.querySelector(`+strconv.Quote(row+" .face img")+`); return !!img && img.naturalWidth === 128 })()`)
	})
	admin.press(row + ` button[aria-label="Remove photo of ` + brand.supervisor.Name + `"]`)
	waitFor(t, func() bool {
		u, _ := ts.Store.FindUser(t.Context(), brand.account.ID, brand.supervisor.ID)
		return u.Photo == ""
	})
}
