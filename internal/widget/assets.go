package widget

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/parleychat/parley/web"
)

// asset is one front-end file, kept with its gzip form and an ETag.
type asset struct {
	contentType string
	plain       []byte
	etag        string
	// gz is compressed on first use, not at start: the best compression
	// of every file cost `parley serve` milliseconds before it was ready.
	gz func() []byte
}

func compressed(b []byte) func() []byte {
	return sync.OnceValue(func() []byte {
		var gz bytes.Buffer
		w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		w.Write(b)
		w.Close()
		return gz.Bytes()
	})
}

// loadAssets reads the widget's files from the embedded web tree.
func loadAssets() (map[string]*asset, string, error) {
	out := map[string]*asset{}
	sum := sha256.New()
	err := fs.WalkDir(web.Files, "widget", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := web.Files.ReadFile(p)
		if err != nil {
			return err
		}
		h := sha256.Sum256(b)
		sum.Write(h[:])
		out[path.Base(p)] = &asset{contentType: contentType(p), plain: b, gz: compressed(b), etag: `"` + hex.EncodeToString(h[:8]) + `"`}
		return nil
	})
	return out, hex.EncodeToString(sum.Sum(nil))[:12], err
}

func contentType(p string) string {
	switch path.Ext(p) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	}
	return "application/octet-stream"
}

// serve writes the asset, gzipped when the client accepts it.
func (a *asset) serve(w http.ResponseWriter, r *http.Request, cacheControl string) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", cacheControl)
	h.Set("ETag", a.etag)
	h.Set("Vary", "Accept-Encoding")
	if r.Header.Get("If-None-Match") == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.plain
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		body = a.gz()
	}
	w.Write(body)
}

// GzipSize is the number of bytes the named widget file takes on the wire
// when gzipped, as served.
func (h *Handler) GzipSize(name string) int {
	if a, ok := h.assets[name]; ok {
		return len(a.gz())
	}
	return -1
}
