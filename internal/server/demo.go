package server

import (
	"html/template"
	"net"
	"net/http"
	"path"
	"strings"

	"github.com/parleychat/parley/web"
)

var demoPage = template.Must(template.ParseFS(web.Files, "demo/index.html"))

// serveDemo serves the demo store, a page like any brand's, with the
// widget's script tag. The tag points at the *other* loopback name than the
// one in the address bar (127.0.0.1 ↔ localhost), so on a laptop the chat
// frame is cross-origin to the page, exactly as on a real site.
func (s *Server) serveDemo(w http.ResponseWriter, r *http.Request) {
	if s.cfg.DemoAccountID == "" {
		http.NotFound(w, r)
		return
	}
	switch r.URL.Path {
	case "/demo/", "/demo/index.html":
	case "/demo/demo.css":
		b, _ := web.Files.ReadFile("demo/demo.css")
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Write(b)
		return
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	demoPage.Execute(w, struct{ WidgetOrigin, AccountID string }{WidgetOrigin(r), s.cfg.DemoAccountID})
}

// WidgetOrigin is the origin the demo page loads the widget from: the same
// port on the other loopback name, or the page's own origin elsewhere.
func WidgetOrigin(r *http.Request) string {
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		return scheme + r.Host
	}
	switch host {
	case "127.0.0.1":
		host = "localhost"
	case "localhost":
		host = "127.0.0.1"
	}
	return scheme + net.JoinHostPort(host, port)
}

// serveConsole serves the agent console's files. The console may only run
// as the top page (no framing) and load from this origin.
func (s *Server) serveConsole(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/console/")
	if name == "" {
		name = "index.html"
	}
	b, err := web.Files.ReadFile("console/" + path.Clean(name))
	if err != nil || strings.Contains(name, "..") {
		http.NotFound(w, r)
		return
	}
	types := map[string]string{".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	w.Header().Set("Content-Type", types[path.Ext(name)])
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws://"+r.Host+" wss://"+r.Host+"; img-src 'self' blob: data:; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	w.Write(b)
}
