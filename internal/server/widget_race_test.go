package server_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/parleychat/parley"
)

// slowTokens serves Parley through a proxy whose new-visitor tokens take
// the given time, as on a slow network: what the chat frame does while the
// first one is on its way is what a visitor on a phone meets.
func slowTokens(t *testing.T, ts *testServer, delay time.Duration) string {
	t.Helper()
	target, _ := url.Parse(ts.url)
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host // Parley sees the origin the browser used
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/v1/consumer-tokens" {
			time.Sleep(delay) // simulated network latency, not synchronisation
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
}

// A visitor who opens the chat and attaches a file before the chat has its
// visitor token gets one token, one visitor and one conversation, and the
// file arrives — the connection and the upload wait for the same token.
func TestAFileSentBeforeTheTokenArrivesIsNotLost(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	page := hostPages(t, slowTokens(t, ts, 3*time.Second), brand.account.ID, map[string]string{"/": ""})
	img := filepath.Join(t.TempDir(), "boot.png")
	os.WriteFile(img, pngBytes, 0o644)

	b := newBrowser(t)
	b.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := b.frame()
	if err := chromedp.Do(frame, chromedp.SetUploadFiles(chromedp.CSS("input.file"), []string{img})); err != nil {
		t.Fatal(err)
	}
	var msgs []*parley.Message
	waitFor(t, func() bool {
		convs, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{})
		if len(convs) != 1 {
			return false
		}
		msgs, _ = ts.Store.ListMessages(t.Context(), brand.account.ID, convs[0].ID, 0, 10)
		return len(msgs) == 1
	}, func() string {
		b.shot("failure")
		return "the file never arrived: " + evalIn[string](t, frame, `document.querySelector(".log").textContent`)
	})
	if msgs[0].Type != parley.MessageFile {
		t.Fatalf("stored %+v", msgs[0])
	}
	if created := waitEventsNow(ts, brand.account.ID, parley.EventConsumerCreated); len(created) != 1 {
		t.Fatalf("%d visitors created for one person opening the chat", len(created))
	}
}
