package httpapi

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/bot"
	"github.com/parleychat/parley/internal/bot/nlu"
)

// Suggested replies for agents (docs/bot.md, Suggestions for agents).

// maxSuggestQuery bounds the text a suggestion is asked for.
const maxSuggestQuery = 1000

type suggestionsResponse struct {
	// Query is the text the suggestions answer: q, or the visitor's last
	// message ("" when they have written nothing yet).
	Query       string           `json:"query"`
	Suggestions []bot.Suggestion `json:"suggestions"`
}

func (a *API) handleSuggestions(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	conv, err := a.conv.Get(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	query := strings.TrimSpace(r.URL.Query().Get("q"))
	if utf8.RuneCountInString(query) > maxSuggestQuery {
		return parley.Errorf(parley.EINVALID, "q: at most %d characters", maxSuggestQuery)
	}
	if query == "" {
		// The visitor's last words, among the last few messages.
		msgs, err := a.store.ListMessages(r.Context(), p.AccountID, conv.ID, max(0, conv.LastSeq-20), 20)
		if err != nil {
			return err
		}
		for i := len(msgs) - 1; i >= 0; i-- {
			if m := msgs[i]; m.SenderKind == parley.SenderConsumer && m.Text != "" {
				query = m.Text
				break
			}
		}
	}
	out := suggestionsResponse{Query: query, Suggestions: []bot.Suggestion{}}
	if query != "" {
		var brain *bot.Brain
		if a.Bot != nil {
			if brain, err = a.Bot.Brain(r.Context(), p.AccountID); err != nil {
				return err
			}
		}
		canned, err := a.store.ListCannedResponses(r.Context(), p.AccountID)
		if err != nil {
			return err
		}
		lang := nlu.English
		if brain != nil {
			lang = brain.Language()
		}
		var cx *bot.CannedIndex
		if a.Bot != nil {
			cx = a.Bot.CannedIndex(p.AccountID, lang, canned)
		} else {
			cx = bot.NewCannedIndex(lang, canned)
		}
		out.Suggestions = bot.Suggest(brain, query, cx)
		if a.Bot != nil {
			past, err := a.Bot.PastReplies(r.Context(), p.AccountID, conv.ID, query, lang)
			if err != nil {
				return err
			}
			out.Suggestions = bot.WithPast(out.Suggestions, past)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
