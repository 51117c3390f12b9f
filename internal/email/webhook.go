package email

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"strings"

	"github.com/emersion/go-smtp"

	"github.com/parleychat/parley"
)

// Inbound webhooks (docs/email.md): where the installation cannot take
// mail on port 25 — most clouds — a mail service takes it for the reply
// domain and posts each email to Parley over HTTPS. The email is the same
// raw message the SMTP server would have taken, so it goes through the
// same checks: the reply address, the sender, the quoted text, the files.
//
// Four shapes are read, all carrying the raw message:
//   - Mailgun's forward() of a route to a URL ending in "mime": a form with
//     recipient and body-mime;
//   - SendGrid's Inbound Parse with "POST the raw, full MIME message": a
//     form with envelope (JSON, its "to") and email;
//   - Postmark's inbound webhook with "Include raw email content": JSON
//     with RawEmail, OriginalRecipient and ToFull;
//   - any other service, or a script: the message itself as the body,
//     Content-Type message/rfc822, its recipient in ?recipient= or, when
//     absent, the message's Delivered-To, X-Original-To, To or Cc.
//
// The service proves itself with HTTP Basic authentication, the password
// being the installation's --inbound-webhook-token (both services put
// credentials in the URL they are given). Answers follow the services'
// retry rules: 200 taken (or, for an automatic answer, dropped); 406 for
// an email refused for good (Mailgun and SendGrid do not retry it; to
// Postmark, which retries everything but 403, it is 403); 503 to try
// again later; 401 for a wrong token; 413 past the size limit.

// WebhookHandler takes emails posted by a mail service; token is the
// password the service sends.
func (in *Inbound) WebhookHandler(token string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pass, ok := r.BasicAuth()
		if !ok || token == "" || subtle.ConstantTimeCompare([]byte(pass), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="parley inbound email"`)
			webhookAnswer(w, http.StatusUnauthorized, parley.EUNAUTHORIZED, "the inbound webhook token is missing or wrong")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxInboundMessageBytes+1<<20) // the form's other fields besides
		refused := http.StatusNotAcceptable
		if mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mediaType == "application/json" {
			refused = http.StatusForbidden // Postmark's "do not retry"
		}
		raw, recipients, err := webhookEmail(r)
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			webhookAnswer(w, http.StatusRequestEntityTooLarge, parley.ETOOLARGE, "the email is larger than 25 MiB")
			return
		case err != nil:
			webhookAnswer(w, refused, parley.EINVALID, err.Error())
			return
		}
		var last error = refuse(550, smtp.EnhancedCode{5, 1, 1}, "no reply address of %s among the recipients", in.domain)
		for _, to := range recipients {
			accountID, conversation, err := in.replyAddress(r.Context(), to)
			if err != nil {
				last = err
				continue
			}
			last = in.take(r.Context(), accountID, conversation, raw, nil) // no SMTP envelope: DKIM alone
			break
		}
		var smtpErr *smtp.SMTPError
		switch {
		case last == nil:
			webhookAnswer(w, http.StatusOK, "", "taken")
		case errors.As(last, &smtpErr) && smtpErr.Code >= 500:
			code := parley.EINVALID // the message: unreadable, or nothing above the quote
			switch smtpErr.EnhancedCode[1] {
			case 1: // the address
				code = parley.ENOTFOUND
			case 7: // the sender
				code = parley.EFORBIDDEN
			}
			webhookAnswer(w, refused, code, smtpErr.Message)
		case errors.As(last, &smtpErr):
			webhookAnswer(w, http.StatusServiceUnavailable, parley.EUNAVAILABLE, smtpErr.Message)
		default:
			in.log.Warn("email replies: webhook", "err", last)
			webhookAnswer(w, http.StatusServiceUnavailable, parley.EUNAVAILABLE, "try again later")
		}
	})
}

// webhookEmail reads the raw email and its envelope recipients from one
// of the shapes above.
func webhookEmail(r *http.Request) (raw []byte, recipients []string, err error) {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mediaType {
	case "message/rfc822":
		if raw, err = io.ReadAll(r.Body); err != nil {
			return nil, nil, err
		}
		if to := r.URL.Query().Get("recipient"); to != "" {
			recipients = []string{to}
		}
	case "application/json": // Postmark
		var p struct {
			RawEmail          string
			OriginalRecipient string
			ToFull            []struct{ Email string }
		}
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			return nil, nil, errors.New("the JSON cannot be read: " + err.Error())
		}
		if p.RawEmail == "" {
			return nil, nil, errors.New("the JSON has no RawEmail: turn on Postmark's \"Include raw email content in JSON payload\"")
		}
		raw = []byte(p.RawEmail)
		if p.OriginalRecipient != "" {
			recipients = append(recipients, p.OriginalRecipient)
		}
		for _, to := range p.ToFull {
			recipients = append(recipients, to.Email)
		}
	case "multipart/form-data", "application/x-www-form-urlencoded":
		if err := r.ParseMultipartForm(MaxInboundMessageBytes); err != nil && !errors.Is(err, http.ErrNotMultipart) {
			return nil, nil, err
		}
		if err := r.ParseForm(); err != nil {
			return nil, nil, err
		}
		switch {
		case r.PostForm.Get("body-mime") != "": // Mailgun
			raw = []byte(r.PostForm.Get("body-mime"))
			recipients = splitAddresses(r.PostForm.Get("recipient"))
		case r.PostForm.Get("email") != "": // SendGrid, raw
			raw = []byte(r.PostForm.Get("email"))
			var envelope struct {
				To []string `json:"to"`
			}
			if e := r.PostForm.Get("envelope"); e != "" {
				if err := json.Unmarshal([]byte(e), &envelope); err != nil {
					return nil, nil, errors.New("envelope is not JSON: " + err.Error())
				}
			}
			recipients = envelope.To
		default:
			return nil, nil, errors.New("the form has no raw email: body-mime (Mailgun, a route forwarding to a URL ending in mime) or email (SendGrid, with the raw, full MIME message)")
		}
	default:
		return nil, nil, errors.New("Content-Type must be message/rfc822, multipart/form-data, application/x-www-form-urlencoded or application/json (Postmark)")
	}
	if len(recipients) == 0 {
		msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
		if err != nil {
			return nil, nil, errors.New("the message cannot be read: " + err.Error())
		}
		for _, h := range []string{"Delivered-To", "X-Original-To", "To", "Cc"} {
			for _, v := range msg.Header[h] {
				recipients = append(recipients, splitAddresses(v)...)
			}
		}
	}
	return raw, recipients, nil
}

// splitAddresses reads a header's or a field's addresses, keeping only the
// address of each ("Zoe <zoe@example.test>" is zoe@example.test).
func splitAddresses(v string) []string {
	list, err := mail.ParseAddressList(v)
	if err != nil {
		return strings.Fields(strings.ReplaceAll(v, ",", " "))
	}
	out := make([]string, 0, len(list))
	for _, a := range list {
		out = append(out, a.Address)
	}
	return out
}

func webhookAnswer(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if code == "" {
		json.NewEncoder(w).Encode(map[string]string{"status": message})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": message}})
}
