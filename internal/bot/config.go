// Package bot is Parley's built-in bot: an account's configuration
// (knowledge base, intents, flows, handoff rules), its validation and
// import, the compiled brain that decides a reply, and the runtime that
// makes the bot a participant in conversations.
package bot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/bot/nlu"
	"go.yaml.in/yaml/v3"
)

// Config is an account's bot, as admins write it (JSON or YAML).
type Config struct {
	Enabled  bool      `json:"enabled" yaml:"enabled"`
	Name     string    `json:"name,omitempty" yaml:"name,omitempty"`         // the sender name visitors see
	Language string    `json:"language,omitempty" yaml:"language,omitempty"` // "en", "es", "fr", "de", "it", "nl", "pt", "sv", "da", "nb" or "fi"
	Greeting string    `json:"greeting,omitempty" yaml:"greeting,omitempty"` // sent when a conversation opens
	Fallback string    `json:"fallback,omitempty" yaml:"fallback,omitempty"` // said when the bot does not understand
	Handoff  Handoff   `json:"handoff" yaml:"handoff"`
	Articles []Article `json:"articles,omitempty" yaml:"articles,omitempty"`
	Intents  []Intent  `json:"intents,omitempty" yaml:"intents,omitempty"`
	Flows    []Flow    `json:"flows,omitempty" yaml:"flows,omitempty"`
	// External, when set, replaces the built-in brain with the brand's own
	// bot behind an HTTPS endpoint.
	External *External `json:"external,omitempty" yaml:"external,omitempty"`
	// Secret signs the requests to External and to flow webhooks
	// (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature).
	Secret string `json:"secret,omitempty" yaml:"secret,omitempty"`
	// IgnoredQuestions are questions the bot missed that an admin chose
	// not to teach it (a keyboard mash, something off topic): the list of
	// missed questions leaves them out.
	IgnoredQuestions []string `json:"ignored_questions,omitempty" yaml:"ignored_questions,omitempty"`
}

// MaxIgnoredQuestions bounds Config.IgnoredQuestions.
const MaxIgnoredQuestions = 5000

// Handoff says when the bot gives the conversation to people.
type Handoff struct {
	// AnswerAt is the answer check (nlu.Judge; in a language without a
	// sentence encoder, the top guess's probability) from which the bot
	// answers outright; from ConfirmAt up to it, the bot asks "Did you
	// mean …?" with its two best guesses; below, it has not understood.
	AnswerAt  float64 `json:"answer_at,omitempty" yaml:"answer_at,omitempty"`
	ConfirmAt float64 `json:"confirm_at,omitempty" yaml:"confirm_at,omitempty"`
	// MaxMisses not-understood messages in a row hand off (default 2).
	MaxMisses int `json:"max_misses,omitempty" yaml:"max_misses,omitempty"`
	// Skill (a name or an ID) is the queue the bot hands off into; "" is
	// the general queue.
	Skill   string `json:"skill,omitempty" yaml:"skill,omitempty"`
	Message string `json:"message,omitempty" yaml:"message,omitempty"` // said when handing off
	// ClosedMessage is said instead when handing off outside business
	// hours: the conversation still waits in the queue for the team.
	ClosedMessage string `json:"closed_message,omitempty" yaml:"closed_message,omitempty"`
}

// Article is a knowledge-base entry: its Body (Markdown) is the answer.
type Article struct {
	ID        string   `json:"id" yaml:"id"`
	Title     string   `json:"title" yaml:"title"`
	Body      string   `json:"body" yaml:"body"`
	Questions []string `json:"questions,omitempty" yaml:"questions,omitempty"` // example questions it answers
}

// Intent is something visitors ask, learnt from its training phrases. It is
// answered with Answer (Markdown) or by running Flow.
type Intent struct {
	Name    string   `json:"name" yaml:"name"`
	Phrases []string `json:"phrases" yaml:"phrases"`
	Answer  string   `json:"answer,omitempty" yaml:"answer,omitempty"`
	Flow    string   `json:"flow,omitempty" yaml:"flow,omitempty"`
}

// Flow is a scripted conversation: steps run from the first one, following
// Next (or a branch) until a step waits for the visitor or the flow ends.
type Flow struct {
	Name  string `json:"name" yaml:"name"`
	Steps []Step `json:"steps" yaml:"steps"`
}

// Step kinds.
const (
	StepSay     = "say"     // say Text, go to Next (or end)
	StepAsk     = "ask"     // say Text, wait for the answer, validate it, store it in Attribute
	StepBranch  = "branch"  // go to the first case whose value equals the attribute's, else Next
	StepWebhook = "webhook" // POST the attributes to URL; its reply may say things and set attributes
	StepHandoff = "handoff" // hand the conversation to people (Skill, or the bot's handoff skill)
	StepEnd     = "end"     // say Text and end the flow (Close: also close the conversation)
)

// Validations an ask step can apply to the answer.
const (
	ValidateText   = "text"
	ValidateEmail  = "email"
	ValidateNumber = "number"
	ValidateChoice = "choice" // one of Choices (the default when Choices are given)
)

// Step is one step of a flow.
type Step struct {
	ID   string `json:"id" yaml:"id"`
	Kind string `json:"kind" yaml:"kind"`
	Text string `json:"text,omitempty" yaml:"text,omitempty"`
	// Choices are offered as quick replies (or as buttons with Buttons).
	Choices   []string `json:"choices,omitempty" yaml:"choices,omitempty"`
	Buttons   bool     `json:"buttons,omitempty" yaml:"buttons,omitempty"`
	Attribute string   `json:"attribute,omitempty" yaml:"attribute,omitempty"`
	Validate  string   `json:"validate,omitempty" yaml:"validate,omitempty"`
	Retry     string   `json:"retry,omitempty" yaml:"retry,omitempty"` // said when the answer does not validate
	Cases     []Case   `json:"cases,omitempty" yaml:"cases,omitempty"`
	URL       string   `json:"url,omitempty" yaml:"url,omitempty"`
	OnError   string   `json:"on_error,omitempty" yaml:"on_error,omitempty"` // webhook failed: go here (default: hand off)
	Skill     string   `json:"skill,omitempty" yaml:"skill,omitempty"`
	Close     bool     `json:"close,omitempty" yaml:"close,omitempty"`
	Next      string   `json:"next,omitempty" yaml:"next,omitempty"`
}

// Case is a branch: when the attribute equals Equals (ignoring case), go to Next.
type Case struct {
	Equals string `json:"equals" yaml:"equals"`
	Next   string `json:"next" yaml:"next"`
}

// External is the brand's own bot.
type External struct {
	URL       string `json:"url" yaml:"url"`
	TimeoutMS int    `json:"timeout_ms,omitempty" yaml:"timeout_ms,omitempty"` // default 3000
}

// Limits bound a configuration; an import beyond them is refused.
type Limits struct {
	MaxBytes     int // of the document (default 4 MiB)
	MaxIntents   int // default 2,000
	MaxArticles  int // default 5,000
	MaxPhrases   int // training phrases in all (default 50,000)
	MaxFlows     int // default 200
	MaxSteps     int // per flow (default 200)
	MaxTextChars int // of an answer, article body or step text (default 4,000: one message)
	// CheckURL, when set, vets the external bot's and webhook steps' URLs
	// (HTTPS, no private address) as a configuration is saved.
	CheckURL func(url string) error
}

// DefaultLimits are used where none are configured.
var DefaultLimits = Limits{MaxBytes: 4 << 20, MaxIntents: 2000, MaxArticles: 5000, MaxPhrases: 50000, MaxFlows: 200, MaxSteps: 200, MaxTextChars: 4000}

// Defaults fills what an admin left out.
func (c *Config) Defaults() {
	if c.Name == "" {
		c.Name = "Assistant"
	}
	if c.Language == "" {
		c.Language = "en"
	}
	say := phrasebooks[c.Language]
	if say == nil {
		say = phrasebooks["en"]
	}
	if c.Fallback == "" {
		c.Fallback = say.fallback
	}
	h := &c.Handoff
	if h.AnswerAt == 0 {
		h.AnswerAt = nlu.DefaultAnswerAt
	}
	if h.ConfirmAt == 0 {
		h.ConfirmAt = nlu.DefaultConfirmAt
	}
	if h.MaxMisses == 0 {
		h.MaxMisses = 2
	}
	if h.Message == "" {
		h.Message = say.handoff
	}
	if h.ClosedMessage == "" {
		h.ClosedMessage = say.handoffClosed
	}
	if c.External != nil && c.External.TimeoutMS == 0 {
		c.External.TimeoutMS = 3000
	}
}

// FieldError is a validation error that names where it is: the file, the
// line (when the document was parsed from text) and the field.
type FieldError struct {
	File  string
	Line  int
	Field string // "intents[2].phrases"
	Msg   string
	Code  string // parley.EINVALID unless set (ETOOLARGE for size limits)
}

// Unwrap makes a FieldError a domain error, so delivery layers map it.
func (e *FieldError) Unwrap() error {
	code := e.Code
	if code == "" {
		code = parley.EINVALID
	}
	return &parley.Error{Code: code, Message: e.Error()}
}

// Location returns the field and line, for machine-readable errors.
func (e *FieldError) Location() (field string, line int) { return e.Field, e.Line }

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(":")
	}
	if e.Line > 0 {
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(":")
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Parse reads a configuration from JSON or YAML (JSON is YAML too), refusing
// unknown fields, and validates it. Errors are *FieldError with the line of
// the offending field. skills maps skill names and IDs to IDs (nil: skills
// are not checked).
func Parse(file string, data []byte, skills map[string]string, l Limits) (*Config, error) {
	if len(data) > l.MaxBytes {
		return nil, &FieldError{File: file, Code: parley.ETOOLARGE, Msg: fmt.Sprintf("the file is %d bytes; the limit is %d", len(data), l.MaxBytes)}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(file, err)
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, yamlError(file, err)
	}
	if err := c.Validate(skills, l); err != nil {
		if fe, ok := err.(*FieldError); ok {
			fe.File = file
			fe.Line = lineOf(&root, fe.Field)
		}
		return nil, err
	}
	return &c, nil
}

// yamlError turns the YAML library's "yaml: line N: msg" into a FieldError.
func yamlError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ":"); ok {
			if v, err := strconv.Atoi(n); err == nil {
				line, msg = v, strings.TrimSpace(after)
			}
		}
	}
	return &FieldError{File: file, Line: line, Msg: msg}
}

// lineOf finds the line of a field path ("intents[2].phrases") in a parsed
// document, or of the deepest part of it that exists.
func lineOf(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, part := range strings.Split(path, ".") {
		if part == "" {
			continue
		}
		name, index := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			name = part[:i]
			index, _ = strconv.Atoi(part[i+1 : len(part)-1])
		}
		if n.Kind != yaml.MappingNode {
			return line
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == name {
				line, next = n.Content[i].Line, n.Content[i+1]
				break
			}
		}
		if next == nil {
			return line
		}
		n = next
		if index >= 0 {
			if n.Kind != yaml.SequenceNode || index >= len(n.Content) {
				return line
			}
			n = n.Content[index]
			line = n.Line
		}
	}
	return line
}

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Validate checks a configuration: names unique and present, every intent
// with phrases and an answer or an existing flow, every step reference and
// skill existing, no loop of steps that never waits for the visitor, and
// the limits.
func (c *Config) Validate(skills map[string]string, l Limits) error {
	if _, ok := nlu.LanguageFor(c.Language); c.Language != "" && !ok {
		return fieldErr("language", "%q is not a language the bot speaks; it speaks %s", c.Language, strings.Join(nlu.Languages(), ", "))
	}
	h := c.Handoff
	if h.AnswerAt < 0 || h.AnswerAt > 1 || h.ConfirmAt < 0 || h.ConfirmAt > 1 {
		return fieldErr("handoff", "answer_at and confirm_at are probabilities between 0 and 1")
	}
	if h.AnswerAt > 0 && h.ConfirmAt > h.AnswerAt {
		return fieldErr("handoff.confirm_at", "must not be above answer_at (%v)", h.AnswerAt)
	}
	if h.MaxMisses < 0 || h.MaxMisses > 10 {
		return fieldErr("handoff.max_misses", "must be between 1 and 10")
	}
	if err := checkSkill("handoff.skill", h.Skill, skills); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"name", c.Name}, {"greeting", c.Greeting}, {"fallback", c.Fallback}, {"handoff.message", h.Message}, {"handoff.closed_message", h.ClosedMessage}} {
		if len([]rune(f.v)) > l.MaxTextChars {
			return fieldErr(f.name, "longer than %d characters", l.MaxTextChars)
		}
	}
	if len(c.Intents) > l.MaxIntents {
		return fieldErr("intents", "%d intents; the limit is %d", len(c.Intents), l.MaxIntents)
	}
	if len(c.Articles) > l.MaxArticles {
		return fieldErr("articles", "%d articles; the limit is %d", len(c.Articles), l.MaxArticles)
	}
	if len(c.Flows) > l.MaxFlows {
		return fieldErr("flows", "%d flows; the limit is %d", len(c.Flows), l.MaxFlows)
	}
	flows := map[string]bool{}
	for i, f := range c.Flows {
		field := fmt.Sprintf("flows[%d]", i)
		if strings.TrimSpace(f.Name) == "" {
			return fieldErr(field+".name", "a flow needs a name")
		}
		if flows[f.Name] {
			return fieldErr(field+".name", "there is another flow named %q", f.Name)
		}
		flows[f.Name] = true
		if err := f.validate(field, skills, l); err != nil {
			return err
		}
	}
	phrases := 0
	intents := map[string]bool{}
	for i, in := range c.Intents {
		field := fmt.Sprintf("intents[%d]", i)
		if strings.TrimSpace(in.Name) == "" {
			return fieldErr(field+".name", "an intent needs a name")
		}
		if intents[in.Name] {
			return fieldErr(field+".name", "there is another intent named %q", in.Name)
		}
		intents[in.Name] = true
		n := 0
		for _, p := range in.Phrases {
			if strings.TrimSpace(p) != "" {
				n++
			}
		}
		if n == 0 {
			return fieldErr(field+".phrases", "intent %q has no training phrases", in.Name)
		}
		phrases += n
		switch {
		case in.Answer == "" && in.Flow == "":
			return fieldErr(field, "intent %q needs an answer or a flow", in.Name)
		case in.Answer != "" && in.Flow != "":
			return fieldErr(field, "intent %q has both an answer and a flow; keep one", in.Name)
		case in.Flow != "" && !flows[in.Flow]:
			return fieldErr(field+".flow", "no flow is named %q", in.Flow)
		case len([]rune(in.Answer)) > l.MaxTextChars:
			return fieldErr(field+".answer", "longer than %d characters", l.MaxTextChars)
		}
	}
	articles := map[string]bool{}
	for i, a := range c.Articles {
		field := fmt.Sprintf("articles[%d]", i)
		if strings.TrimSpace(a.ID) == "" {
			return fieldErr(field+".id", "an article needs an id")
		}
		if articles[a.ID] {
			return fieldErr(field+".id", "there is another article with id %q", a.ID)
		}
		articles[a.ID] = true
		if strings.TrimSpace(a.Title) == "" {
			return fieldErr(field+".title", "an article needs a title")
		}
		if strings.TrimSpace(a.Body) == "" {
			return fieldErr(field+".body", "article %q has no body", a.ID)
		}
		if len([]rune(a.Body)) > l.MaxTextChars {
			return fieldErr(field+".body", "longer than %d characters", l.MaxTextChars)
		}
		phrases += len(a.Questions)
	}
	if phrases > l.MaxPhrases {
		return fieldErr("intents", "%d training phrases and questions; the limit is %d", phrases, l.MaxPhrases)
	}
	if len(c.IgnoredQuestions) > MaxIgnoredQuestions {
		return fieldErr("ignored_questions", "%d questions; the limit is %d", len(c.IgnoredQuestions), MaxIgnoredQuestions)
	}
	for i, q := range c.IgnoredQuestions {
		if len([]rune(q)) > l.MaxTextChars {
			return fieldErr(fmt.Sprintf("ignored_questions[%d]", i), "longer than %d characters", l.MaxTextChars)
		}
	}
	if c.External != nil {
		if err := checkURL("external.url", c.External.URL, l); err != nil {
			return err
		}
		if c.External.TimeoutMS < 0 || c.External.TimeoutMS > 30000 {
			return fieldErr("external.timeout_ms", "must be between 1 and 30000")
		}
	}
	return nil
}

func (f *Flow) validate(field string, skills map[string]string, l Limits) error {
	if len(f.Steps) == 0 {
		return fieldErr(field+".steps", "flow %q has no steps", f.Name)
	}
	if len(f.Steps) > l.MaxSteps {
		return fieldErr(field+".steps", "%d steps; the limit is %d", len(f.Steps), l.MaxSteps)
	}
	ids := map[string]int{}
	for i, s := range f.Steps {
		sf := fmt.Sprintf("%s.steps[%d]", field, i)
		if strings.TrimSpace(s.ID) == "" {
			return fieldErr(sf+".id", "a step needs an id")
		}
		if _, dup := ids[s.ID]; dup {
			return fieldErr(sf+".id", "there is another step %q in flow %q", s.ID, f.Name)
		}
		ids[s.ID] = i
	}
	for i, s := range f.Steps {
		sf := fmt.Sprintf("%s.steps[%d]", field, i)
		refs := []struct{ name, id string }{{"next", s.Next}, {"on_error", s.OnError}}
		for j, c := range s.Cases {
			refs = append(refs, struct{ name, id string }{fmt.Sprintf("cases[%d].next", j), c.Next})
		}
		for _, r := range refs {
			if _, ok := ids[r.id]; r.id != "" && !ok {
				return fieldErr(sf+"."+r.name, "no step %q in flow %q", r.id, f.Name)
			}
		}
		if len([]rune(s.Text)) > l.MaxTextChars {
			return fieldErr(sf+".text", "longer than %d characters", l.MaxTextChars)
		}
		switch s.Kind {
		case StepSay, StepEnd:
			if s.Text == "" && s.Kind == StepSay {
				return fieldErr(sf+".text", "a say step needs text")
			}
		case StepAsk:
			if s.Text == "" {
				return fieldErr(sf+".text", "an ask step needs the question")
			}
			if s.Attribute == "" {
				return fieldErr(sf+".attribute", "an ask step stores the answer in an attribute")
			}
			v := s.Validate
			if v == "" && len(s.Choices) > 0 {
				v = ValidateChoice
			}
			if !slices.Contains([]string{"", ValidateText, ValidateEmail, ValidateNumber, ValidateChoice}, v) {
				return fieldErr(sf+".validate", "unknown validation %q (text, email, number or choice)", s.Validate)
			}
			if v == ValidateChoice && len(s.Choices) == 0 {
				return fieldErr(sf+".choices", "a choice needs choices")
			}
			if len(s.Choices) > parley.DefaultMessageLimits.MaxChoices {
				return fieldErr(sf+".choices", "at most %d choices", parley.DefaultMessageLimits.MaxChoices)
			}
		case StepBranch:
			if s.Attribute == "" {
				return fieldErr(sf+".attribute", "a branch needs the attribute it looks at")
			}
			if len(s.Cases) == 0 {
				return fieldErr(sf+".cases", "a branch needs cases")
			}
		case StepWebhook:
			if err := checkURL(sf+".url", s.URL, l); err != nil {
				return err
			}
		case StepHandoff:
			if err := checkSkill(sf+".skill", s.Skill, skills); err != nil {
				return err
			}
		default:
			return fieldErr(sf+".kind", "unknown step kind %q (say, ask, branch, webhook, handoff or end)", s.Kind)
		}
	}
	// A loop through steps that never wait for the visitor would spin
	// forever: every cycle must pass through an ask step.
	state := make([]int8, len(f.Steps)) // 0 new, 1 on the path, 2 done
	var visit func(i int) error
	visit = func(i int) error {
		if f.Steps[i].Kind == StepAsk || state[i] == 2 {
			return nil
		}
		if state[i] == 1 {
			return fieldErr(fmt.Sprintf("%s.steps[%d]", field, i), "step %q is part of a loop that never waits for the visitor", f.Steps[i].ID)
		}
		state[i] = 1
		for _, next := range f.Steps[i].successors() {
			if err := visit(ids2index(f, next)); err != nil {
				return err
			}
		}
		state[i] = 2
		return nil
	}
	for i := range f.Steps {
		if err := visit(i); err != nil {
			return err
		}
	}
	return nil
}

// successors lists the step IDs a step may go to next ("" entries are the
// end of the flow and are left out).
func (s *Step) successors() []string {
	var out []string
	if s.Kind == StepEnd || s.Kind == StepHandoff {
		return nil
	}
	for _, id := range []string{s.Next, s.OnError} {
		if id != "" {
			out = append(out, id)
		}
	}
	for _, c := range s.Cases {
		out = append(out, c.Next)
	}
	return out
}

func ids2index(f *Flow, id string) int {
	for i, s := range f.Steps {
		if s.ID == id {
			return i
		}
	}
	return -1
}

func checkSkill(field, skill string, skills map[string]string) error {
	if skill == "" || skills == nil {
		return nil
	}
	if _, ok := skills[skill]; !ok {
		return fieldErr(field, "no skill is named %q", skill)
	}
	return nil
}

// checkURL accepts absolute http(s) URLs, then lets the limits' CheckURL
// (HTTPS, no private address) have its say; the outbound client checks
// again at call time.
func checkURL(field, u string, l Limits) error {
	if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return fieldErr(field, "%q is not an http(s) URL", u)
	}
	if l.CheckURL != nil {
		if err := l.CheckURL(u); err != nil {
			return fieldErr(field, "%s", parley.ErrorMessage(err))
		}
	}
	return nil
}

// JSON returns the configuration as indented JSON.
func (c *Config) JSON() []byte {
	b, _ := json.MarshalIndent(c, "", "  ")
	return b
}
