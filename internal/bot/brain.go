package bot

import (
	"context"
	"fmt"
	"math"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/bot/nlu"
)

// Brain is a compiled configuration: the trained classifier, the article
// index and the flows. It decides replies and is safe for concurrent use.
type Brain struct {
	cfg      *Config
	model    *nlu.Model // nil when there is nothing to classify
	index    *index
	intents  map[string]*Intent
	articles map[string]*Article
	flows    map[string]*Flow
	// skill is the handoff skill as an ID.
	skills map[string]string
	say    *phrasebook // the bot's own words, in its language
}

// Labels of the classifier: intents, articles and the built-in handoff.
const (
	labelIntent  = "intent:"
	labelArticle = "article:"
	labelHandoff = "handoff"
)

// Compile trains a brain for a validated configuration. skills maps skill
// names and IDs to IDs.
func Compile(cfg *Config, skills map[string]string) *Brain {
	c := *cfg
	c.Defaults()
	lang, ok := nlu.LanguageFor(c.Language)
	if !ok { // Validate refuses it; a brain still answers, in English
		lang = nlu.English
	}
	b := &Brain{cfg: &c, intents: map[string]*Intent{}, articles: map[string]*Article{}, flows: map[string]*Flow{}, skills: skills,
		say: phrasebooks[lang.Code]}
	for i := range c.Intents {
		b.intents[c.Intents[i].Name] = &c.Intents[i]
	}
	for i := range c.Articles {
		b.articles[c.Articles[i].ID] = &c.Articles[i]
	}
	for i := range c.Flows {
		b.flows[c.Flows[i].Name] = &c.Flows[i]
	}
	if examples := trainingSet(&c, b.say); len(examples) > 0 {
		b.model = train(examples, lang)
	}
	b.index = newIndex(lang, c.Articles)
	return b
}

// Config returns the configuration the brain was compiled from, with
// defaults filled in.
func (b *Brain) Config() *Config { return b.cfg }

// trainingSet lists what the classifier learns from: each intent's name
// and phrases, each article's title and example questions, and the
// built-in "I want a person" phrases (when there is anything else).
func trainingSet(c *Config, say *phrasebook) []nlu.Example {
	var set []nlu.Example
	for _, in := range c.Intents {
		label := labelIntent + in.Name
		// The intent's name is a phrase too: "card_arrival" → "card arrival".
		set = append(set, nlu.Example{Text: humanise(in.Name), Label: label})
		for _, p := range in.Phrases {
			if strings.TrimSpace(p) != "" {
				set = append(set, nlu.Example{Text: p, Label: label})
			}
		}
	}
	for _, a := range c.Articles {
		label := labelArticle + a.ID
		set = append(set, nlu.Example{Text: a.Title, Label: label})
		for _, q := range a.Questions {
			set = append(set, nlu.Example{Text: q, Label: label})
		}
	}
	if len(set) > 0 {
		for _, p := range say.handoffPhrases {
			set = append(set, nlu.Example{Text: p, Label: labelHandoff})
		}
	}
	return set
}

// train fits the bot's classifier.
func train(examples []nlu.Example, lang *nlu.Language) *nlu.Model {
	minDF := 2
	if len(examples) < 3000 {
		minDF = 1 // a small bot cannot afford to drop the words it saw once
	}
	return nlu.Train(examples, nlu.Options{Seed: 1, MinDF: minDF, Language: lang})
}

func humanise(name string) string {
	return strings.NewReplacer("_", " ", "-", " ", ".", " ").Replace(name)
}

// Session is where the bot is in one conversation; it is stored between
// turns.
type Session struct {
	Misses int `json:"misses,omitempty"`
	// Unhelpful counts answers the visitor said did not help; it is reset
	// only by one that did.
	Unhelpful int `json:"unhelpful,omitempty"`
	// Flow and Step are the flow running and the ask step waiting for an
	// answer; Retries counts answers that did not validate.
	Flow    string `json:"flow,omitempty"`
	Step    string `json:"step,omitempty"`
	Retries int    `json:"retries,omitempty"`
	// Offered maps the quick replies of the bot's last message (lowercased)
	// to what they mean: "intent:NAME", "article:ID", "handoff",
	// "helpful:yes", "helpful:no" or "none".
	Offered map[string]string `json:"offered,omitempty"`
	// Answered is the label of the last answer, for its feedback.
	Answered string `json:"answered,omitempty"`
	// Asked is the visitor's question the bot's last message replied to
	// (an answer, or "Did you mean …?"): when the visitor then says the
	// answer did not help, or turns the guesses down, the event names it,
	// so admins see the questions the bot got wrong.
	Asked      string            `json:"asked,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	// Trigger is what the last turn answered (a visitor message's ID).
	Trigger string `json:"trigger,omitempty"`
}

// Out is a message the bot sends.
type Out struct {
	Text    string
	HTML    string
	Choices []parley.Choice
	Buttons bool
}

// Handoff bands and reasons.
const (
	BandAnswer  = "answer"
	BandConfirm = "confirm"
	BandMiss    = "miss"
	BandFlow    = "flow"
	BandHandoff = "handoff"
	BandOther   = "other" // feedback, small replies inside a flow

	ReasonAsked    = "asked_for_person"
	ReasonMisses   = "not_understood"
	ReasonFlow     = "flow"
	ReasonExternal = "external_bot_failed"
	ReasonWebhook  = "webhook_failed"
)

// Turn is what the bot decided for one visitor message.
type Turn struct {
	Messages   []Out
	Band       string
	Intent     string // the label answered or guessed ("intent:…", "article:…")
	Confidence float64
	Handoff    *HandoffAction
	Close      bool
	Events     []TurnEvent
	// Attributes collected by a flow, to keep on the visitor.
	Attributes map[string]string
}

// HandoffAction hands the conversation to people.
type HandoffAction struct {
	Skill  string `json:"skill,omitempty"` // ID; "" the general queue
	Reason string `json:"reason"`
}

// TurnEvent is a bot.* event to record.
type TurnEvent struct {
	Type string
	Data map[string]any
}

// Env is what a turn may use from outside: business hours and outbound
// calls.
type Env struct {
	Open bool // within business hours
	// Call POSTs a signed JSON payload and decodes the JSON reply into out.
	Call func(ctx context.Context, url string, payload, out any) error
	// ConversationID and ConsumerID describe the conversation to webhooks.
	ConversationID, ConsumerID string
}

// Reply decides the bot's answer to a visitor message and updates sess.
func (b *Brain) Reply(ctx context.Context, sess *Session, text string, env Env) Turn {
	text = strings.TrimSpace(text)
	var t Turn
	if text == "" {
		return t
	}
	if b.cfg.External != nil {
		return b.external(ctx, sess, text, env)
	}
	offered, asked := sess.Offered, sess.Asked
	sess.Offered, sess.Asked = nil, ""
	if action, ok := offered[strings.ToLower(text)]; ok {
		return b.act(ctx, sess, action, asked, env)
	}
	if b.say.askedForPerson.MatchString(text) {
		return b.handoff(sess, sess.Answered, ReasonAsked, env) // the last topic tells the agent what it is about
	}
	if sess.Step != "" {
		return b.answerStep(ctx, sess, text, env)
	}
	return b.understand(ctx, sess, text, env)
}

// Classification is what the bot understood from a text, for the
// console's test box.
type Classification struct {
	Band       string  `json:"band"`
	Label      string  `json:"label,omitempty"`
	Confidence float64 `json:"confidence"`
	Coverage   float64 `json:"coverage"` // share of the words the bot knows
	// Check is the answer check of the guess, for a bot whose language
	// has a sentence encoder: to answer outright, both it and Confidence
	// must reach answer_at (nlu.Judge); without one, Confidence alone.
	Check float64 `json:"check,omitempty"`
	// Held says why a guess at or above answer_at was offered as "Did
	// you mean …?" instead of answered (nlu.Judge), for the admin who
	// tunes the thresholds.
	Held   string       `json:"held,omitempty"`
	Top    []nlu.Score  `json:"top,omitempty"`
	Search *SearchMatch `json:"search,omitempty"`

	sure float64 // what confirm_at is compared with (nlu.Verdict.Sure)
}

// SearchMatch is the best knowledge-base article found by search.
type SearchMatch struct {
	Article  string  `json:"article"`
	Score    float64 `json:"score"`
	Coverage float64 `json:"coverage"`
}

// Classify places a text in a band: answer (with the label), confirm (the
// two best), or miss.
func (b *Brain) Classify(text string) Classification {
	c := Classification{Band: BandMiss}
	if b.model != nil {
		h := b.cfg.Handoff
		c.Coverage = b.model.Coverage(text)
		scores, v := nlu.Decide(b.model, text, h.AnswerAt)
		c.Top = scores[:min(3, len(scores))]
		if c.Coverage > 0 {
			top := scores[0]
			c.Label, c.Confidence = top.Label, top.P
			if v.Checked {
				c.Check = v.Check
			}
			c.sure = v.Sure
			switch {
			case v.Answers:
				c.Band = BandAnswer
			case top.Label == labelHandoff:
				// Not as sure as an answer must be that the visitor
				// asked for a person: questions the bot was never
				// taught land here too ("is there a newsletter?").
				// The fallback offers "Talk to a person"; the plain
				// requests hand off by their words (askedForPerson).
			case v.Sure >= h.ConfirmAt: // the probability, or the answer check when lower
				c.Band = BandConfirm
			}
			c.Held = held(v, top, h.AnswerAt)
		}
	}
	if hits := b.index.search(text); len(hits) > 0 {
		best := hits[0]
		c.Search = &SearchMatch{Article: best.article.ID, Score: best.score, Coverage: best.coverage}
		clear := len(hits) == 1 || best.score >= 1.3*hits[1].score
		// Search answers when the classifier is unsure and one article
		// holds most of the question's words.
		if c.Band != BandAnswer && c.Band != BandHandoff && best.coverage >= 0.6 && clear {
			c.Band, c.Label, c.Confidence = BandAnswer, labelArticle+best.article.ID, best.coverage
		}
	}
	if c.Band == BandAnswer && c.Label == labelHandoff {
		c.Band = BandHandoff
	}
	return c
}

// held says why a guess whose probability reaches answerAt was not
// answered outright, or nothing.
func held(v nlu.Verdict, top nlu.Score, answerAt float64) string {
	switch {
	case v.Answers || top.P < answerAt:
		return ""
	case v.Checked:
		why := fmt.Sprintf("the answer check gives it %.0f%%, %.0f%% needed; its nearest phrase is %.0f%% alike",
			math.Floor(v.Check*100), math.Round(v.Bar*100), math.Round(v.Nearest*100))
		if v.Elsewhere.Word != "" {
			why += fmt.Sprintf("; “%s” is %s's word", v.Elsewhere.Word, v.Elsewhere.Label)
		}
		return why
	}
	return fmt.Sprintf("“%s” is %s's word: answers from %.0f%%", v.Elsewhere.Word, v.Elsewhere.Label, math.Ceil(v.Bar*100))
}

func (b *Brain) understand(ctx context.Context, sess *Session, text string, env Env) Turn {
	c := b.Classify(text)
	switch c.Band {
	case BandHandoff:
		return b.handoff(sess, c.Label, ReasonAsked, env)
	case BandAnswer:
		t := b.answer(ctx, sess, c.Label, env)
		sess.Asked = text
		t.Confidence = c.Confidence
		for i := range t.Events {
			if t.Events[i].Type == parley.EventBotAnswered {
				t.Events[i].Data["confidence"] = round(c.Confidence)
			}
		}
		return t
	case BandConfirm:
		var choices []parley.Choice
		sess.Offered = map[string]string{}
		for _, s := range c.Top[:min(2, len(c.Top))] {
			if s.Label == labelHandoff {
				continue
			}
			title := b.title(s.Label)
			choices = append(choices, parley.Choice{Label: title})
			sess.Offered[strings.ToLower(title)] = s.Label
		}
		choices = append(choices, parley.Choice{Label: b.say.somethingElse})
		sess.Offered[strings.ToLower(b.say.somethingElse)] = "none"
		sess.Asked = text
		return Turn{Band: BandConfirm, Intent: c.Label, Confidence: c.Confidence,
			Messages: []Out{{Text: b.say.didYouMean, Choices: choices}}}
	}
	return b.miss(sess, c.Label, c.Confidence, text, env)
}

// title is what a label is called in a quick reply.
func (b *Brain) title(label string) string {
	if id, ok := strings.CutPrefix(label, labelArticle); ok && b.articles[id] != nil {
		return b.articles[id].Title
	}
	name := strings.TrimPrefix(label, labelIntent)
	h := humanise(name)
	if h == "" {
		return name
	}
	return strings.ToUpper(h[:1]) + h[1:]
}

// act carries out a quick reply the bot offered; asked is the question
// the offer followed (see Session.Asked).
func (b *Brain) act(ctx context.Context, sess *Session, action, asked string, env Env) Turn {
	switch action {
	case labelHandoff:
		return b.handoff(sess, sess.Answered, ReasonAsked, env)
	case "none": // both guesses turned down
		t := b.miss(sess, "", 0, asked, env)
		t.Events[0].Data["declined"] = true
		return t
	case "helpful:yes", "helpful:no":
		helpful := action == "helpful:yes"
		t := Turn{Band: BandOther, Events: []TurnEvent{{Type: parley.EventBotFeedback, Data: map[string]any{"helpful": helpful, "answer": sess.Answered}}}}
		if asked != "" {
			t.Events[0].Data["question"] = asked
		}
		if helpful {
			sess.Misses, sess.Unhelpful = 0, 0
			t.Messages = []Out{{Text: b.say.glad}}
			return t
		}
		sess.Unhelpful++
		if sess.Unhelpful >= b.cfg.Handoff.MaxMisses {
			h := b.handoff(sess, sess.Answered, ReasonMisses, env)
			h.Events = append(t.Events, h.Events...)
			return h
		}
		sess.Offered = offer(b.say.talkToPerson, labelHandoff)
		t.Messages = []Out{{Text: b.say.sorryTellMore, Choices: []parley.Choice{{Label: b.say.talkToPerson}}}}
		return t
	}
	t := b.answer(ctx, sess, action, env)
	sess.Asked = asked // the question the chosen answer replies to
	t.Confidence = 1   // the visitor chose it
	return t
}

// answer replies with an intent's answer or flow, or an article.
func (b *Brain) answer(ctx context.Context, sess *Session, label string, env Env) Turn {
	sess.Misses = 0
	if name, ok := strings.CutPrefix(label, labelIntent); ok {
		in := b.intents[name]
		if in == nil {
			return b.miss(sess, label, 0, "", env)
		}
		if in.Flow != "" {
			sess.Flow, sess.Step, sess.Retries = in.Flow, "", 0
			t := b.run(ctx, sess, b.flows[in.Flow].Steps[0].ID, env)
			t.Intent = label
			t.Events = append([]TurnEvent{{Type: parley.EventBotAnswered, Data: map[string]any{"intent": name, "source": "flow", "flow": in.Flow}}}, t.Events...)
			if t.Band == "" {
				t.Band = BandFlow
			}
			return t
		}
		return b.withFeedback(sess, label, in.Answer, map[string]any{"intent": name, "source": "intent"})
	}
	if id, ok := strings.CutPrefix(label, labelArticle); ok && b.articles[id] != nil {
		a := b.articles[id]
		return b.withFeedback(sess, label, a.Body, map[string]any{"article": id, "source": "article"})
	}
	return b.miss(sess, label, 0, "", env)
}

// withFeedback is an answer followed by "Did this help?".
func (b *Brain) withFeedback(sess *Session, label, markdown string, data map[string]any) Turn {
	sess.Answered = label
	sess.Offered = offer(b.say.yes, "helpful:yes", b.say.no, "helpful:no", b.say.talkToPerson, labelHandoff)
	return Turn{Band: BandAnswer, Intent: label, Events: []TurnEvent{{Type: parley.EventBotAnswered, Data: data}},
		Messages: []Out{
			{Text: markdown, HTML: RenderMarkdown(markdown)},
			{Text: b.say.didThisHelp, Choices: []parley.Choice{{Label: b.say.yes}, {Label: b.say.no}, {Label: b.say.talkToPerson}}},
		}}
}

// offer maps quick-reply labels (the visitor may type them in any case)
// to what they mean: label, meaning, label, meaning…
func offer(pairs ...string) map[string]string {
	m := make(map[string]string, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		m[strings.ToLower(pairs[i])] = pairs[i+1]
	}
	return m
}

// miss says the fallback, or hands off after too many misses in a row. The
// bot.missed event carries question — the visitor's words the bot did not
// understand, or whose guesses the visitor turned down — when there is
// one: the console lists them for admins to teach the bot
// (GET /api/v1/bot/missed).
func (b *Brain) miss(sess *Session, guess string, confidence float64, question string, env Env) Turn {
	sess.Misses++
	ev := TurnEvent{Type: parley.EventBotMissed, Data: map[string]any{"misses": sess.Misses, "best_guess": guess, "confidence": round(confidence)}}
	if question != "" {
		ev.Data["question"] = question
	}
	if sess.Misses >= b.cfg.Handoff.MaxMisses {
		t := b.handoff(sess, guess, ReasonMisses, env)
		t.Events = append([]TurnEvent{ev}, t.Events...)
		return t
	}
	sess.Offered = offer(b.say.talkToPerson, labelHandoff)
	return Turn{Band: BandMiss, Intent: guess, Confidence: confidence, Events: []TurnEvent{ev},
		Messages: []Out{{Text: b.cfg.Fallback, Choices: []parley.Choice{{Label: b.say.talkToPerson}}}}}
}

// handoff gives the conversation to people, saying so (and whether the team
// is in right now).
func (b *Brain) handoff(sess *Session, intent, reason string, env Env) Turn {
	return b.handoffTo(sess, b.cfg.Handoff.Skill, intent, reason, env)
}

func (b *Brain) handoffTo(sess *Session, skill, intent, reason string, env Env) Turn {
	*sess = Session{Attributes: sess.Attributes}
	msg := b.cfg.Handoff.Message
	if !env.Open {
		msg = b.cfg.Handoff.ClosedMessage
	}
	skillID := b.skills[skill]
	return Turn{Band: BandHandoff, Intent: intent, Handoff: &HandoffAction{Skill: skillID, Reason: reason},
		Messages: []Out{{Text: msg}},
		Events:   []TurnEvent{{Type: parley.EventBotHandoff, Data: map[string]any{"reason": reason, "intent": intent, "skill": skillID, "open": env.Open}}}}
}

// answerStep takes the visitor's answer to the ask step the flow waits on.
func (b *Brain) answerStep(ctx context.Context, sess *Session, text string, env Env) Turn {
	f := b.flows[sess.Flow]
	step := f.step(sess.Step)
	if step == nil { // the flow changed under the conversation
		sess.Flow, sess.Step = "", ""
		return b.understand(ctx, sess, text, env)
	}
	value, ok := validateAnswer(step, text)
	if !ok {
		sess.Retries++
		if sess.Retries > b.cfg.Handoff.MaxMisses {
			return b.handoff(sess, labelIntent+sess.Flow, ReasonMisses, env)
		}
		retry := step.Retry
		if retry == "" {
			retry = b.retryText(step)
		}
		return Turn{Band: BandFlow, Messages: []Out{{Text: retry, Choices: choicesOf(step)}}}
	}
	sess.Retries = 0
	if sess.Attributes == nil {
		sess.Attributes = map[string]string{}
	}
	sess.Attributes[step.Attribute] = value
	t := b.run(ctx, sess, step.Next, env)
	if t.Attributes == nil {
		t.Attributes = map[string]string{}
	}
	t.Attributes[step.Attribute] = value
	return t
}

func (f *Flow) step(id string) *Step {
	if f == nil {
		return nil
	}
	for i := range f.Steps {
		if f.Steps[i].ID == id {
			return &f.Steps[i]
		}
	}
	return nil
}

// maxStepsPerTurn bounds a turn even though validation refuses loops that
// never wait.
const maxStepsPerTurn = 100

// run executes a flow from step id until a step waits or the flow ends.
func (b *Brain) run(ctx context.Context, sess *Session, id string, env Env) Turn {
	t := Turn{Band: BandFlow}
	f := b.flows[sess.Flow]
	for range maxStepsPerTurn {
		step := f.step(id)
		if step == nil { // "" or gone: the flow is over
			sess.Flow, sess.Step = "", ""
			return t
		}
		switch step.Kind {
		case StepSay:
			t.Messages = append(t.Messages, Out{Text: step.Text, HTML: RenderMarkdown(step.Text), Choices: choicesOf(step), Buttons: step.Buttons})
			id = step.Next
		case StepAsk:
			t.Messages = append(t.Messages, Out{Text: step.Text, HTML: RenderMarkdown(step.Text), Choices: choicesOf(step), Buttons: step.Buttons})
			sess.Step = step.ID
			return t
		case StepBranch:
			id = step.Next
			v := sess.Attributes[step.Attribute]
			for _, c := range step.Cases {
				if strings.EqualFold(v, c.Equals) {
					id = c.Next
					break
				}
			}
		case StepWebhook:
			var reply struct {
				Say        string            `json:"say"`
				Attributes map[string]string `json:"attributes"`
			}
			payload := map[string]any{"conversation_id": env.ConversationID, "consumer_id": env.ConsumerID, "flow": sess.Flow, "step": step.ID, "attributes": sess.Attributes}
			err := errNoCaller
			if env.Call != nil {
				err = env.Call(ctx, step.URL, payload, &reply)
			}
			if err != nil {
				if step.OnError != "" {
					id = step.OnError
					continue
				}
				h := b.handoffTo(sess, "", labelIntent+sess.Flow, ReasonWebhook, env)
				h.Messages = append(t.Messages, h.Messages...)
				return h
			}
			if reply.Say != "" {
				t.Messages = append(t.Messages, Out{Text: reply.Say})
			}
			for k, v := range reply.Attributes {
				if sess.Attributes == nil {
					sess.Attributes = map[string]string{}
				}
				if t.Attributes == nil {
					t.Attributes = map[string]string{}
				}
				sess.Attributes[k], t.Attributes[k] = v, v
			}
			id = step.Next
		case StepHandoff:
			skill := step.Skill
			if skill == "" {
				skill = b.cfg.Handoff.Skill
			}
			h := b.handoffTo(sess, skill, labelIntent+sess.Flow, ReasonFlow, env)
			if step.Text != "" {
				h.Messages = []Out{{Text: step.Text}}
			}
			h.Messages = append(t.Messages, h.Messages...)
			h.Attributes = t.Attributes
			return h
		case StepEnd:
			if step.Text != "" {
				t.Messages = append(t.Messages, Out{Text: step.Text, HTML: RenderMarkdown(step.Text)})
			}
			sess.Flow, sess.Step = "", ""
			t.Close = step.Close
			return t
		}
	}
	sess.Flow, sess.Step = "", ""
	return t
}

var errNoCaller = fmt.Errorf("outbound calls are not available")

func choicesOf(s *Step) []parley.Choice {
	var out []parley.Choice
	for _, c := range s.Choices {
		out = append(out, parley.Choice{Label: c})
	}
	return out
}

func (b *Brain) retryText(s *Step) string {
	switch {
	case len(s.Choices) > 0:
		return b.say.pickOption
	case s.Validate == ValidateEmail:
		return b.say.badEmail
	case s.Validate == ValidateNumber:
		return b.say.badNumber
	}
	return b.say.answerAgain
}

// validateAnswer checks an answer against an ask step and normalises it.
func validateAnswer(s *Step, text string) (string, bool) {
	v := s.Validate
	if v == "" && len(s.Choices) > 0 {
		v = ValidateChoice
	}
	switch v {
	case ValidateChoice:
		for _, c := range s.Choices {
			if strings.EqualFold(strings.TrimSpace(c), text) {
				return c, true
			}
		}
		return "", false
	case ValidateEmail:
		a, err := mail.ParseAddress(text)
		if err != nil || a.Name != "" || !strings.Contains(a.Address[strings.IndexByte(a.Address, '@')+1:], ".") {
			return "", false
		}
		return strings.ToLower(a.Address), true
	case ValidateNumber:
		f, err := strconv.ParseFloat(strings.ReplaceAll(text, ",", ""), 64)
		if err != nil {
			return "", false
		}
		return strconv.FormatFloat(f, 'f', -1, 64), true
	}
	return text, len([]rune(text)) <= 1000
}

func round(f float64) float64 { return float64(int(f*1000+0.5)) / 1000 }

// ExternalRequest is what Parley sends to a brand's own bot for each
// visitor message (docs/bot.md).
type ExternalRequest struct {
	ConversationID string            `json:"conversation_id"`
	ConsumerID     string            `json:"consumer_id"`
	Text           string            `json:"text"`
	Attributes     map[string]string `json:"attributes,omitempty"`
}

// ExternalReply is what the brand's bot answers: messages to send and
// actions ("handoff" with an optional skill, "close").
type ExternalReply struct {
	Messages []struct {
		Text    string   `json:"text"`
		Choices []string `json:"choices,omitempty"`
	} `json:"messages"`
	Actions []struct {
		Type  string `json:"type"`
		Skill string `json:"skill,omitempty"`
	} `json:"actions"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// external asks the brand's bot; when it fails or is too slow, people take
// over.
func (b *Brain) external(ctx context.Context, sess *Session, text string, env Env) Turn {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(b.cfg.External.TimeoutMS)*time.Millisecond)
	defer cancel()
	var reply ExternalReply
	err := errNoCaller
	if env.Call != nil {
		err = env.Call(ctx, b.cfg.External.URL, ExternalRequest{ConversationID: env.ConversationID, ConsumerID: env.ConsumerID, Text: text, Attributes: sess.Attributes}, &reply)
	}
	if err != nil {
		t := b.handoff(sess, "", ReasonExternal, env)
		t.Events[0].Data["error"] = err.Error()
		return t
	}
	t := Turn{Band: BandAnswer, Attributes: reply.Attributes, Events: []TurnEvent{{Type: parley.EventBotAnswered, Data: map[string]any{"source": "external"}}}}
	for _, m := range reply.Messages {
		if len(t.Messages) == 10 || strings.TrimSpace(m.Text) == "" {
			continue
		}
		o := Out{Text: m.Text}
		for _, c := range m.Choices[:min(len(m.Choices), parley.DefaultMessageLimits.MaxChoices)] {
			o.Choices = append(o.Choices, parley.Choice{Label: c})
		}
		t.Messages = append(t.Messages, o)
	}
	for _, a := range reply.Actions {
		switch a.Type {
		case "handoff":
			skill := a.Skill
			if skill == "" {
				skill = b.cfg.Handoff.Skill
			}
			h := b.handoffTo(sess, skill, "", "external_bot", env)
			h.Messages = append(t.Messages, h.Messages...)
			return h
		case "close":
			t.Close = true
		}
	}
	return t
}
