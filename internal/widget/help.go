package widget

import (
	"encoding/json"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/bot"
)

// The help center (docs/widget.md, Help center): the chat window searches
// and shows the brand's knowledge base — the bot's articles — before the
// visitor writes, as Intercom's messenger does. Articles are answers the
// bot gives any visitor, so they are public: no credentials, like the
// rest of the widget's configuration.

// maxHelpQuery is the longest search the help center takes.
const maxHelpQuery = 200

// helpBrain returns the account's knowledge base when its help center is
// on and has articles; ENOTFOUND otherwise, so a brand's articles are not
// served before it turns the help center on.
func (h *Handler) helpBrain(r *http.Request) (*parley.Account, *bot.Brain, error) {
	a, err := h.account(r)
	if err != nil {
		return nil, nil, err
	}
	var b *bot.Brain
	if a.Settings.Widget.HelpCenter && h.Help != nil {
		if b, err = h.Help(r.Context(), a.ID); err != nil {
			return nil, nil, err
		}
	}
	if b == nil || len(b.Config().Articles) == 0 {
		return nil, nil, parley.Errorf(parley.ENOTFOUND, "this brand has no help center")
	}
	return a, b, nil
}

// helpOn reports whether the chat window should offer the help center.
func (h *Handler) helpOn(r *http.Request, a *parley.Account) bool {
	if !a.Settings.Widget.HelpCenter || h.Help == nil {
		return false
	}
	b, err := h.Help(r.Context(), a.ID)
	return err == nil && b != nil && len(b.Config().Articles) > 0
}

// serveHelpSearch answers GET /widget/help?account=…&q=…: the articles for
// the search, best first (the first ones without a search).
func (h *Handler) serveHelpSearch(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	q := r.URL.Query().Get("q")
	if utf8.RuneCountInString(q) > maxHelpQuery {
		writeError(w, parley.Errorf(parley.EINVALID, "q has %d characters; the limit is %d", utf8.RuneCountInString(q), maxHelpQuery))
		return
	}
	limit := 10
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 50 {
			writeError(w, parley.Errorf(parley.EINVALID, "limit must be from 1 to 50"))
			return
		}
		limit = n
	}
	_, b, err := h.helpBrain(r)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	json.NewEncoder(w).Encode(map[string]any{"articles": b.SearchArticles(q, limit)})
}

// serveHelpArticle answers GET /widget/help/article?account=…&id=…: one
// article, its body rendered from Markdown and sanitised.
func (h *Handler) serveHelpArticle(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, b, err := h.helpBrain(r)
	if err != nil {
		writeError(w, err)
		return
	}
	a, ok := b.HelpArticle(r.URL.Query().Get("id"))
	if !ok {
		writeError(w, parley.Errorf(parley.ENOTFOUND, "no such article"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	json.NewEncoder(w).Encode(a)
}
