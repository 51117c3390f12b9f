package httpapi

import (
	"fmt"
	"net/http"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/export"
)

// handleExport streams conversations, messages or events of a time range as
// a download. Problems with the request are answered before the first row;
// a failure midway aborts the connection, so a cut file never looks whole.
func (a *API) handleExport(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	q := r.URL.Query()
	req := export.Request{What: r.PathValue("what"), Format: q.Get("format")}
	if req.Format == "" {
		req.Format = export.NDJSON
	}
	if err := queryRange(q, &req.From, &req.To); err != nil {
		return err
	}
	if err := req.Validate(); err != nil {
		return err
	}
	ext := map[string]string{export.NDJSON: "ndjson", export.CSV: "csv"}[req.Format]
	w.Header().Set("Content-Type", export.ContentType(req.Format))
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s-%s.%s"`, req.What, req.From.Format("20060102"), req.To.Format("20060102"), ext))
	w.Header().Set("Cache-Control", "no-store")
	if _, err := export.Write(r.Context(), a.store, p.AccountID, req, w, nil); err != nil {
		a.log.Warn("export failed midway", "account", p.AccountID, "what", req.What, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}
