package bot

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/parleychat/parley"
)

// MissedQuestion is a question the bot got wrong lately, for admins to
// teach it (the console's Bot tab).
type MissedQuestion struct {
	Question string `json:"question"` // the latest wording
	// Reason is the latest occurrence's: not_understood, declined (the
	// visitor turned down both guesses) or unhelpful (the visitor said
	// the answer did not help).
	Reason         string    `json:"reason"`
	Count          int       `json:"count"`
	LastAt         time.Time `json:"last_at"`
	BestGuess      string    `json:"best_guess,omitempty"` // not_understood: the classifier's best label
	Answer         string    `json:"answer,omitempty"`     // unhelpful: the label of the answer given
	Confidence     float64   `json:"confidence"`
	ConversationID string    `json:"conversation_id"` // where it was last asked
}

// Missed groups the questions of bot.missed and unhelpful bot.feedback
// events (newest first) by their questionKey, most asked first and, among
// equals, latest first. It leaves out the questions cfg ignores and those
// taught to it since: a training phrase of an intent or an example question
// of an article — for an unhelpful answer, taught as something other than
// the answer that did not help.
func Missed(cfg *Config, events []*parley.Event) []*MissedQuestion {
	taught := map[string][]string{} // question key → the labels it is taught as
	for _, in := range cfg.Intents {
		for _, ph := range in.Phrases {
			taught[questionKey(ph)] = append(taught[questionKey(ph)], labelIntent+in.Name)
		}
	}
	for _, ar := range cfg.Articles {
		for _, q := range ar.Questions {
			taught[questionKey(q)] = append(taught[questionKey(q)], labelArticle+ar.ID)
		}
	}
	ignored := map[string]bool{}
	for _, q := range cfg.IgnoredQuestions {
		ignored[questionKey(q)] = true
	}
	byKey := map[string]*MissedQuestion{}
	items := []*MissedQuestion{}
	for _, e := range events {
		var d struct {
			Question   string  `json:"question"`
			BestGuess  string  `json:"best_guess"`
			Confidence float64 `json:"confidence"`
			Declined   bool    `json:"declined"`
			Helpful    *bool   `json:"helpful"`
			Answer     string  `json:"answer"`
		}
		if json.Unmarshal(e.Data, &d) != nil || strings.TrimSpace(d.Question) == "" {
			continue
		}
		q := &MissedQuestion{Question: d.Question, Reason: "not_understood", Count: 1, LastAt: e.CreatedAt, ConversationID: e.ConversationID,
			BestGuess: d.BestGuess, Confidence: d.Confidence}
		switch {
		case e.Type == parley.EventBotFeedback && (d.Helpful == nil || *d.Helpful):
			continue // it helped
		case e.Type == parley.EventBotFeedback:
			q.Reason, q.Answer, q.BestGuess = "unhelpful", d.Answer, ""
		case d.Declined:
			q.Reason = "declined"
		}
		key := questionKey(d.Question)
		if ignored[key] || slices.ContainsFunc(taught[key], func(label string) bool { return q.Reason != "unhelpful" || label != q.Answer }) {
			continue
		}
		if seen := byKey[key]; seen != nil {
			seen.Count++
			continue
		}
		byKey[key] = q
		items = append(items, q)
	}
	slices.SortStableFunc(items, func(x, y *MissedQuestion) int { return y.Count - x.Count })
	return items
}

// questionKey is a question as compared: case, spacing and the final
// punctuation do not make it another question.
func questionKey(s string) string {
	return strings.TrimRight(strings.ToLower(strings.Join(strings.Fields(s), " ")), "?!. ")
}
