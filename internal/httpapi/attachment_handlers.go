package httpapi

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/conversation"
)

// handleUploadAttachment takes the file as the raw request body; its name,
// an optional caption and client_id come in the query.
func (a *API) handleUploadAttachment(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	content, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.maxFile))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return parley.Errorf(parley.ETOOLARGE, "the file is over %d MB", a.maxFile>>20)
	} else if err != nil {
		return parley.Errorf(parley.EINVALID, "reading the file: %v", err)
	}
	q := r.URL.Query()
	m, dup, err := a.conv.Attach(r.Context(), p, conversation.AttachInput{
		ConversationID: r.PathValue("id"), ClientID: q.Get("client_id"), Name: q.Get("name"), Caption: q.Get("caption"), Content: content,
	})
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if dup {
		status = http.StatusOK
	}
	writeJSON(w, status, sendResponse{Message: m, Duplicate: dup})
	return nil
}

// handleGetAttachment serves a file to its conversation's participants.
// Images are shown inline, PDFs downloaded; either way the response is
// sandboxed so a crafted file cannot run script on Parley's origin.
func (a *API) handleGetAttachment(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	att, body, err := a.conv.Attachment(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	defer body.Close()
	disposition := "attachment"
	if att.IsImage() {
		disposition = "inline"
	}
	h := w.Header()
	h.Set("Content-Type", att.ContentType)
	h.Set("Content-Length", fmt.Sprint(att.Size))
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": att.Name}))
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, max-age=3600")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	io.Copy(w, body)
	return nil
}
