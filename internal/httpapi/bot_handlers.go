package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/bot"
	"github.com/parleychat/parley/internal/sentiment"
)

// botDocument is the bot configuration with its version, as the API shows it.
type botDocument struct {
	Version   int64       `json:"version"`
	UpdatedAt *time.Time  `json:"updated_at,omitempty"`
	Config    *bot.Config `json:"config"`
}

func (a *API) botDocument(r *http.Request, accountID string) (*botDocument, error) {
	rec, err := a.store.FindBot(r.Context(), accountID)
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		return &botDocument{Config: &bot.Config{}}, nil
	}
	if err != nil {
		return nil, err
	}
	var c bot.Config
	if err := json.Unmarshal(rec.Config, &c); err != nil {
		return nil, err
	}
	return &botDocument{Version: rec.Version, UpdatedAt: &rec.UpdatedAt, Config: &c}, nil
}

func (a *API) handleGetBot(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	doc, err := a.botDocument(r, p.AccountID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, doc)
	return nil
}

// expectedVersion reads If-Match ("3" or "\"3\""): the version the editor
// started from. Absent, the save overwrites whatever is there.
func expectedVersion(r *http.Request) (int64, error) {
	v := strings.Trim(r.Header.Get("If-Match"), `" `)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, parley.Errorf(parley.EINVALID, "If-Match must be the version number the edit started from")
	}
	return n, nil
}

// readDocument reads a request body of at most limit bytes.
func readDocument(r *http.Request, limit int64) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		return nil, jsonError(err, limit)
	}
	if len(data) == 0 {
		return nil, parley.Errorf(parley.EINVALID, "request body is empty")
	}
	return data, nil
}

// handlePutBot replaces the bot configuration (JSON). A refused
// configuration changes nothing.
func (a *API) handlePutBot(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return parley.Errorf(parley.EINVALID, "Content-Type must be application/json")
	}
	expect, err := expectedVersion(r)
	if err != nil {
		return err
	}
	data, err := readDocument(r, int64(a.BotLimits.MaxBytes))
	if err != nil {
		return err
	}
	if _, _, err := bot.Save(r.Context(), a.store, p.AccountID, "config", data, expect, a.BotLimits); err != nil {
		return err
	}
	return a.handleGetBot(w, r, p)
}

// handleImportBot takes a whole configuration as YAML or JSON, or a CSV of
// FAQs to add to the knowledge base.
func (a *API) handleImportBot(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	name := r.URL.Query().Get("file")
	if name == "" {
		name = "upload"
	}
	expect, err := expectedVersion(r)
	if err != nil {
		return err
	}
	data, err := readDocument(r, int64(a.BotLimits.MaxBytes))
	if err != nil {
		return err
	}
	switch ct {
	case "application/json", "application/yaml", "application/x-yaml", "text/yaml":
		if _, _, err := bot.Save(r.Context(), a.store, p.AccountID, name, data, expect, a.BotLimits); err != nil {
			return err
		}
	case "text/csv":
		if _, _, err := bot.ImportFAQ(r.Context(), a.store, p.AccountID, name, data, a.BotLimits); err != nil {
			return err
		}
	default:
		return parley.Errorf(parley.EINVALID, "Content-Type must be application/json, application/yaml or text/csv")
	}
	return a.handleGetBot(w, r, p)
}

func (a *API) handleExportBot(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "yaml"
	}
	data, err := bot.Export(r.Context(), a.store, p.AccountID, format)
	if err != nil {
		return err
	}
	ctype := map[string]string{"yaml": "application/yaml", "json": "application/json"}[format]
	w.Header().Set("Content-Type", ctype+"; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="bot.%s"`, format))
	w.Header().Set("Cache-Control", "no-store")
	w.Write(data)
	return nil
}

// botTestRequest asks what the bot would answer. Config, when given, is a
// draft to try instead of the saved configuration; Session carries the
// test conversation's state from the previous answer.
type botTestRequest struct {
	Text    string          `json:"text"`
	Config  json.RawMessage `json:"config,omitempty"`
	Session *bot.Session    `json:"session,omitempty"`
}

type botTestMessage struct {
	Text    string          `json:"text"`
	HTML    string          `json:"html,omitempty"`
	Choices []parley.Choice `json:"choices,omitempty"`
}

type botTestReply struct {
	Classification bot.Classification `json:"classification"`
	Band           string             `json:"band"`
	Messages       []botTestMessage   `json:"messages"`
	Handoff        *bot.HandoffAction `json:"handoff,omitempty"`
	Session        *bot.Session       `json:"session"`
	// Sentiment is how the text sounds, as a rule's sentiment condition
	// reads it (docs/bot.md, Sentiment).
	Sentiment botTestSentiment `json:"sentiment"`
}

type botTestSentiment struct {
	Score float64        `json:"score"` // from -1 to 1
	Mood  sentiment.Mood `json:"mood"`
}

// handleTestBot runs the bot on a text without a conversation: nothing is
// stored and no webhook is called.
func (a *API) handleTestBot(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var in botTestRequest
	if err := decode(r, int64(a.BotLimits.MaxBytes), &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Text) == "" {
		return parley.Errorf(parley.EINVALID, "text is required")
	}
	if len([]rune(in.Text)) > a.conv.Limits().MaxChars {
		return parley.Errorf(parley.EINVALID, "text has more than %d characters", a.conv.Limits().MaxChars)
	}
	var brain *bot.Brain
	if len(in.Config) > 0 {
		skills, err := bot.SkillMap(r.Context(), a.store, p.AccountID)
		if err != nil {
			return err
		}
		cfg, err := bot.Parse("config", in.Config, skills, a.BotLimits)
		if err != nil {
			return err
		}
		brain = bot.Compile(cfg, skills)
	} else {
		b, err := a.Bot.Brain(r.Context(), p.AccountID)
		if err != nil {
			return err
		}
		if b == nil {
			return parley.Errorf(parley.ENOTFOUND, "this account has no bot yet")
		}
		brain = b
	}
	sess := in.Session
	if sess == nil {
		sess = &bot.Session{}
	}
	score := sentiment.Score(in.Text)
	out := botTestReply{Classification: brain.Classify(in.Text), Sentiment: botTestSentiment{Score: math.Round(score*1000) / 1000, Mood: sentiment.Of(score)}}
	turn := brain.Reply(r.Context(), sess, in.Text, bot.Env{Open: true})
	out.Band, out.Handoff, out.Session = turn.Band, turn.Handoff, sess
	for _, m := range turn.Messages {
		out.Messages = append(out.Messages, botTestMessage{Text: m.Text, HTML: m.HTML, Choices: m.Choices})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// The list of missed questions is made from the latest missedScan
// bot.missed and bot.feedback events among the account's latest
// missedWindow events of any kind (a bound on the rows read, however rare
// misses are).
const (
	missedScan   = 1000
	missedWindow = 200_000
)

// handleBotMissed lists the questions the bot got wrong lately (see
// bot.Missed), so admins can teach it. Erased conversations' questions
// are gone with their events.
func (a *API) handleBotMissed(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return parley.Errorf(parley.EINVALID, "limit must be a number from 1 to 100")
		}
		limit = n
	}
	doc, err := a.botDocument(r, p.AccountID)
	if err != nil {
		return err
	}
	events, err := a.recentEvents(r, p.AccountID, missedScan, parley.EventBotMissed, parley.EventBotFeedback)
	if err != nil {
		return err
	}
	items := bot.Missed(doc.Config, events)
	writeJSON(w, http.StatusOK, map[string]any{"items": items[:min(limit, len(items))]})
	return nil
}

// handleCheckBot tests the bot's intents and articles with their own
// phrases (bot.Check): the draft being edited when config is given, else
// the saved bot.
func (a *API) handleCheckBot(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var in struct {
		Config json.RawMessage `json:"config,omitempty"`
	}
	if err := decode(r, int64(a.BotLimits.MaxBytes), &in); err != nil {
		return err
	}
	var cfg *bot.Config
	if len(in.Config) > 0 {
		skills, err := bot.SkillMap(r.Context(), a.store, p.AccountID)
		if err != nil {
			return err
		}
		if cfg, err = bot.Parse("config", in.Config, skills, a.BotLimits); err != nil {
			return err
		}
	} else {
		saved, version, err := bot.Load(r.Context(), a.store, p.AccountID)
		if err != nil {
			return err
		}
		if version == 0 {
			return parley.Errorf(parley.ENOTFOUND, "this account has no bot yet")
		}
		cfg = saved
	}
	select {
	case a.checking <- struct{}{}:
		defer func() { <-a.checking }()
	case <-r.Context().Done():
		return r.Context().Err()
	}
	report, err := bot.Check(r.Context(), cfg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, report)
	return nil
}

// recentEvents returns, newest first, at most limit events of the types
// among the account's latest missedWindow events of any kind: a bound on
// the rows read, however rare those types are.
func (a *API) recentEvents(r *http.Request, accountID string, limit int, types ...string) ([]*parley.Event, error) {
	last, err := a.store.ListEvents(r.Context(), accountID, parley.EventFilter{Limit: 1, Newest: true})
	if err != nil || len(last) == 0 {
		return nil, err
	}
	return a.store.ListEvents(r.Context(), accountID, parley.EventFilter{After: max(0, last[0].Seq-missedWindow), Types: types, Limit: limit, Newest: true})
}

// helpStatsScan bounds the help center events read for its statistics,
// among the account's latest missedWindow events.
const helpStatsScan = 20_000

// articleStats is one article's use in the widget's help center.
type articleStats struct {
	ID         string `json:"id"`
	Title      string `json:"title"`
	Views      int    `json:"views"`
	Helpful    int    `json:"helpful"`
	NotHelpful int    `json:"not_helpful"`
	// AgentUses counts the replies agents sent that began as this
	// article's suggestion; AgentEdited those they changed first.
	AgentUses   int `json:"agent_uses"`
	AgentEdited int `json:"agent_edited"`
}

// suggestionStats is one suggested reply's use by the brand's agents.
type suggestionStats struct {
	Kind   string `json:"kind"`
	Ref    string `json:"ref"`
	Uses   int    `json:"uses"`
	Edited int    `json:"edited"`
}

// handleHelpStats says how the knowledge base's articles fare in the
// widget's help center lately: how often each was read, and how often
// visitors said it helped or not — most read first, then the brand's
// order (docs/widget.md, Help center).
func (a *API) handleHelpStats(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	doc, err := a.botDocument(r, p.AccountID)
	if err != nil {
		return err
	}
	events, err := a.recentEvents(r, p.AccountID, helpStatsScan, parley.EventHelpArticleViewed, parley.EventHelpArticleRated, parley.EventSuggestionUsed)
	if err != nil {
		return err
	}
	stats := make([]*articleStats, 0, len(doc.Config.Articles))
	byID := map[string]*articleStats{}
	for _, art := range doc.Config.Articles {
		s := &articleStats{ID: art.ID, Title: art.Title}
		stats, byID[art.ID] = append(stats, s), s
	}
	suggestions := []*suggestionStats{}
	used := map[[2]string]*suggestionStats{}
	for _, e := range events {
		if e.Type == parley.EventSuggestionUsed {
			var u parley.SuggestionUse
			if json.Unmarshal(e.Data, &u) != nil {
				continue
			}
			k := [2]string{u.Kind, u.Ref}
			if used[k] == nil {
				used[k] = &suggestionStats{Kind: u.Kind, Ref: u.Ref}
				suggestions = append(suggestions, used[k])
			}
			used[k].Uses++
			if u.Edited {
				used[k].Edited++
			}
			if s := byID[u.Ref]; u.Kind == "article" && s != nil {
				s.AgentUses++
				if u.Edited {
					s.AgentEdited++
				}
			}
			continue
		}
		var d struct {
			Article string `json:"article"`
			Helpful *bool  `json:"helpful"`
		}
		if json.Unmarshal(e.Data, &d) != nil || byID[d.Article] == nil {
			continue // an article since removed
		}
		s := byID[d.Article]
		switch {
		case e.Type == parley.EventHelpArticleViewed:
			s.Views++
		case d.Helpful != nil && *d.Helpful:
			s.Helpful++
		case d.Helpful != nil:
			s.NotHelpful++
		}
	}
	sort.SliceStable(stats, func(i, j int) bool { return stats[i].Views > stats[j].Views })
	sort.SliceStable(suggestions, func(i, j int) bool { return suggestions[i].Uses > suggestions[j].Uses })
	writeJSON(w, http.StatusOK, map[string]any{"articles": stats, "suggestions": suggestions})
	return nil
}
