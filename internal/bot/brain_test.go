package bot

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/bot/demo"
)

var demoSkills = map[string]string{"general": "skl_general", "skl_general": "skl_general", "billing": "skl_billing", "skl_billing": "skl_billing"}

func demoBrain(t *testing.T) *Brain {
	t.Helper()
	cfg, err := Parse("northwind.yaml", demo.Northwind, demoSkills, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return Compile(cfg, demoSkills)
}

var open = Env{Open: true, ConversationID: "cnv_1", ConsumerID: "csm_1"}

func texts(t Turn) []string {
	var out []string
	for _, m := range t.Messages {
		out = append(out, m.Text)
	}
	return out
}

func eventTypes(t Turn) []string {
	var out []string
	for _, e := range t.Events {
		out = append(out, e.Type)
	}
	return out
}

func TestAnswersAFAQFromTheKnowledgeBaseAndAsksForFeedback(t *testing.T) {
	b := demoBrain(t)
	sess := &Session{}
	turn := b.Reply(context.Background(), sess, "how long does the delivery take?", open)
	if turn.Band != BandAnswer || turn.Intent != "article:delivery" {
		t.Fatalf("band %s intent %s confidence %.2f: %q", turn.Band, turn.Intent, turn.Confidence, texts(turn))
	}
	if len(turn.Messages) != 2 || !strings.Contains(turn.Messages[0].HTML, "<strong>Standard delivery</strong>") {
		t.Fatalf("answer: %+v", turn.Messages)
	}
	if got := turn.Messages[1]; got.Text != "Did this help?" || len(got.Choices) != 3 || got.Choices[2].Label != "Talk to a person" {
		t.Fatalf("feedback prompt: %+v", got)
	}
	if ev := eventTypes(turn); len(ev) != 1 || ev[0] != parley.EventBotAnswered {
		t.Fatalf("events %v", ev)
	}
	fb := b.Reply(context.Background(), sess, "Yes", open)
	if ev := fb.Events; len(ev) != 1 || ev[0].Type != parley.EventBotFeedback || ev[0].Data["helpful"] != true || ev[0].Data["answer"] != "article:delivery" {
		t.Fatalf("feedback events %+v", ev)
	}
}

func TestNotHelpfulTwiceHandsOff(t *testing.T) {
	b := demoBrain(t)
	sess := &Session{}
	b.Reply(context.Background(), sess, "what is your return policy", open)
	turn := b.Reply(context.Background(), sess, "no", open)
	if turn.Handoff != nil {
		t.Fatalf("one unhelpful answer handed off: %+v", turn)
	}
	// The feedback names the question, for the admins' list of questions to teach.
	if ev := turn.Events[0]; ev.Data["helpful"] != false || ev.Data["question"] != "what is your return policy" || ev.Data["answer"] != "article:returns" {
		t.Fatalf("unhelpful feedback event %+v", ev)
	}
	b.Reply(context.Background(), sess, "which payment methods do you accept", open)
	turn = b.Reply(context.Background(), sess, "No", open)
	if turn.Handoff == nil || turn.Handoff.Reason != ReasonMisses {
		t.Fatalf("second unhelpful answer: %+v", turn)
	}
}

func TestGibberishAndEmptyishInputGetNoIntent(t *testing.T) {
	b := demoBrain(t)
	for _, text := range []string{"osifhaskdnkauer", "???", "ok", "asdf jkl qwerty", "!!!!", "zzzzzz", "xkcd lorem ipsum"} {
		c := b.Classify(text)
		if c.Band != BandMiss {
			t.Errorf("%q: band %s label %s confidence %.2f coverage %.2f", text, c.Band, c.Label, c.Confidence, c.Coverage)
		}
	}
}

func TestTwoMissesInARowHandOffAndAnAnswerResetsTheCount(t *testing.T) {
	b := demoBrain(t)
	sess := &Session{}
	first := b.Reply(context.Background(), sess, "osifhaskdnkauer", open)
	if first.Band != BandMiss || first.Handoff != nil || first.Messages[0].Choices[0].Label != "Talk to a person" {
		t.Fatalf("first miss: %+v", first)
	}
	if q := first.Events[0].Data["question"]; q != "osifhaskdnkauer" {
		t.Fatalf("the miss names the question %q", q)
	}
	b.Reply(context.Background(), sess, "hello", open) // understood: the count starts again
	if sess.Misses != 0 {
		t.Fatalf("misses after an answer: %d", sess.Misses)
	}
	b.Reply(context.Background(), sess, "qwpeoiruty", open)
	second := b.Reply(context.Background(), sess, "zxmcnvbq", open)
	if second.Handoff == nil || second.Handoff.Reason != ReasonMisses || second.Handoff.Skill != "skl_general" {
		t.Fatalf("second miss in a row: %+v", second)
	}
	if ev := eventTypes(second); strings.Join(ev, ",") != "bot.missed,bot.handoff" {
		t.Fatalf("events %v", ev)
	}
}

func TestAskingForAPersonHandsOffAndOutOfHoursSaysSo(t *testing.T) {
	b := demoBrain(t)
	for _, text := range []string{"talk to a human", "Can I speak to a real person please", "agent please", "representative"} {
		turn := b.Reply(context.Background(), &Session{}, text, open)
		if turn.Handoff == nil || turn.Handoff.Reason != ReasonAsked {
			t.Errorf("%q: %+v", text, turn)
		}
	}
	closed := b.Reply(context.Background(), &Session{}, "talk to a human", Env{Open: false})
	if !strings.Contains(closed.Messages[0].Text, "away right now") {
		t.Fatalf("out of hours: %q", texts(closed))
	}
	// The "Talk to a person" quick reply after a miss works too.
	sess := &Session{}
	b.Reply(context.Background(), sess, "osifhaskdnkauer", open)
	if turn := b.Reply(context.Background(), sess, "Talk to a person", open); turn.Handoff == nil {
		t.Fatalf("quick reply: %+v", turn)
	}
}

// TestOnlyASureGuessHandsOff: the built-in "I want a person" intent is
// where questions the bot was never taught often land; unless the bot is
// as sure as an answer must be, the visitor gets the fallback and its
// "Talk to a person", not a person they did not ask for.
func TestOnlyASureGuessHandsOff(t *testing.T) {
	b := demoBrain(t)
	if c := b.Classify("is there a newsletter"); c.Label != labelHandoff || c.Band != BandMiss || c.Confidence < 0.6 {
		t.Fatalf("the test needs an untaught question the classifier gives the handoff intent above answer_at: %+v", c)
	}
	sess := &Session{}
	turn := b.Reply(context.Background(), sess, "is there a newsletter", open)
	if turn.Handoff != nil || turn.Band != BandMiss || sess.Offered[strings.ToLower(b.say.talkToPerson)] != labelHandoff {
		t.Fatalf("an untaught question: %+v, offered %v", turn, sess.Offered)
	}
	for _, asked := range []string{"I'd like to chat with your team", "get me a manager", "can a human help me"} {
		if turn := b.Reply(context.Background(), &Session{}, asked, open); turn.Handoff == nil {
			t.Errorf("%q did not hand off: %+v", asked, turn)
		}
	}
}

func TestConfirmBandOffersTheTopTwo(t *testing.T) {
	cfg := &Config{Enabled: true, Intents: []Intent{
		{Name: "card_lost", Phrases: []string{"I lost my card", "my card is lost", "cannot find my card"}, Answer: "We've frozen it."},
		{Name: "card_stolen", Phrases: []string{"my card was stolen", "someone stole my card", "card theft"}, Answer: "Call us now."},
		{Name: "opening_hours", Phrases: []string{"when are you open", "opening hours", "what time do you close"}, Answer: "9 to 5."},
	}}
	b := Compile(cfg, nil)
	sess := &Session{}
	turn := b.Reply(context.Background(), sess, "something about my card", open)
	if turn.Band != BandConfirm {
		t.Fatalf("band %s confidence %.2f", turn.Band, turn.Confidence)
	}
	var labels []string
	for _, c := range turn.Messages[0].Choices {
		labels = append(labels, c.Label)
	}
	if got := strings.Join(labels, "|"); got != "Card lost|Card stolen|Something else" && got != "Card stolen|Card lost|Something else" {
		t.Fatalf("choices %v", labels)
	}
	picked := b.Reply(context.Background(), sess, labels[0], open)
	if picked.Band != BandAnswer {
		t.Fatalf("picking a guess: %+v", picked)
	}
	if fb := b.Reply(context.Background(), sess, "no", open); fb.Events[0].Data["question"] != "something about my card" {
		t.Fatalf("the chosen answer did not help; feedback %+v", fb.Events[0])
	}
	// Turning both guesses down is a miss that names the question, for
	// the admins' list of questions to teach the bot.
	b.Reply(context.Background(), sess, "something about my card", open)
	declined := b.Reply(context.Background(), sess, "something ELSE", open)
	if declined.Band != BandMiss || declined.Events[0].Data["question"] != "something about my card" || declined.Events[0].Data["declined"] != true {
		t.Fatalf("declining the guesses: %+v", declined)
	}
	if sess.Asked != "" {
		t.Fatalf("the session still holds the question %q", sess.Asked)
	}
}

func TestFlowAsksValidatesBranchesAndHandsOff(t *testing.T) {
	b := demoBrain(t)
	type step struct {
		say      string
		want     string // substring of the last message
		band     string
		handoff  bool
		attr     string
		attrWant string
	}
	run := func(t *testing.T, steps []step) {
		sess := &Session{}
		for i, s := range steps {
			turn := b.Reply(context.Background(), sess, s.say, open)
			got := strings.Join(texts(turn), " / ")
			if !strings.Contains(got, s.want) {
				t.Fatalf("step %d %q: said %q, want %q", i, s.say, got, s.want)
			}
			if s.band != "" && turn.Band != s.band {
				t.Fatalf("step %d %q: band %s, want %s", i, s.say, turn.Band, s.band)
			}
			if (turn.Handoff != nil) != s.handoff {
				t.Fatalf("step %d %q: handoff %+v", i, s.say, turn.Handoff)
			}
			if s.attr != "" && turn.Attributes[s.attr] != s.attrWant {
				t.Fatalf("step %d: attributes %v", i, turn.Attributes)
			}
		}
	}
	t.Run("damaged parcel goes to the team", func(t *testing.T) {
		run(t, []step{
			{say: "where is my order?", want: "order number", band: BandFlow},
			{say: "my order is abc", want: "digits only"},
			{say: "100234", want: "email address", attr: "order_number", attrWant: "100234"},
			{say: "not an email", want: "doesn't look like an email"},
			{say: "Jo@Example.COM", want: "anything wrong", attr: "email", attrWant: "jo@example.com"},
			{say: "maybe", want: "pick one of the options"},
			{say: "it arrived damaged", want: "passing you to our team", handoff: true, attr: "parcel_problem", attrWant: "It arrived damaged"},
		})
	})
	t.Run("tracking only ends the flow", func(t *testing.T) {
		run(t, []step{
			{say: "I want to track my order", want: "order number"},
			{say: "100234", want: "email address"},
			{say: "jo@example.com", want: "anything wrong"},
			{say: "No, just tracking", want: "sent the tracking link"},
			{say: "thanks", want: "You're welcome", band: BandAnswer}, // back to normal answers
		})
	})
}

func TestWebhookStepAndExternalBotFallBackToPeople(t *testing.T) {
	cfg := &Config{Enabled: true, Intents: []Intent{
		{Name: "balance", Phrases: []string{"what is my balance", "how much money do I have", "account balance"}, Flow: "balance"},
		{Name: "hours", Phrases: []string{"when are you open", "opening hours"}, Answer: "9 to 5"},
	}, Flows: []Flow{{Name: "balance", Steps: []Step{
		{ID: "look", Kind: StepWebhook, URL: "https://bank.example/balance", Next: "done"},
		{ID: "done", Kind: StepEnd, Text: "Anything else?"},
	}}}}
	b := Compile(cfg, nil)
	ok := open
	ok.Call = func(_ context.Context, url string, payload, out any) error {
		*(out.(*struct {
			Say        string            `json:"say"`
			Attributes map[string]string `json:"attributes"`
		})) = struct {
			Say        string            `json:"say"`
			Attributes map[string]string `json:"attributes"`
		}{Say: "Your balance is €12.", Attributes: map[string]string{"tier": "gold"}}
		return nil
	}
	turn := b.Reply(context.Background(), &Session{}, "what is my account balance", ok)
	if got := strings.Join(texts(turn), " / "); got != "Your balance is €12. / Anything else?" || turn.Attributes["tier"] != "gold" {
		t.Fatalf("webhook turn: %q %v", got, turn.Attributes)
	}
	failing := open
	failing.Call = func(context.Context, string, any, any) error { return errors.New("connection refused") }
	turn = b.Reply(context.Background(), &Session{}, "what is my account balance", failing)
	if turn.Handoff == nil || turn.Handoff.Reason != ReasonWebhook {
		t.Fatalf("failed webhook: %+v", turn)
	}

	ext := Compile(&Config{Enabled: true, External: &External{URL: "https://bot.example/", TimeoutMS: 100}}, nil)
	turn = ext.Reply(context.Background(), &Session{}, "hello", failing)
	if turn.Handoff == nil || turn.Handoff.Reason != ReasonExternal {
		t.Fatalf("failing external bot: %+v", turn)
	}
}

func TestMarkdownIsRenderedSafely(t *testing.T) {
	for in, bad := range map[string]string{
		"hi <script>alert(1)</script>":                            "<script",
		"[click](javascript:alert(1))":                            "javascript:",
		`<img src=x onerror="alert(1)">`:                          "onerror",
		"<a href=\"https://x.example\" onclick=\"steal()\">x</a>": "onclick",
	} {
		if out := RenderMarkdown(in); strings.Contains(out, bad) {
			t.Errorf("%q rendered as %q", in, out)
		}
	}
	if out := RenderMarkdown("**bold** and [a link](https://example.com)"); !strings.Contains(out, "<strong>bold</strong>") || !strings.Contains(out, `href="https://example.com"`) {
		t.Fatalf("rendered %q", out)
	}
}

// TestTheDemoBotAnswersWhatVisitorsAsk: the demo brand's bot, which every
// new user tries first, answers what a shop's visitors ask with the right
// article, and leaves what is not the shop's business unanswered (a miss,
// a "Did you mean…?" or a person) — not answered with a wrong article
// (before session 22, "how do I wash my jacket" got the ordering article
// at 0.96, "do you sell bikes" the discounts at 0.81).
func TestTheDemoBotAnswersWhatVisitorsAsk(t *testing.T) {
	b := demoBrain(t)
	for q, want := range map[string]string{
		"How long does delivery take?":   "article:delivery",
		"do you deliver to Norway":       "article:delivery",
		"I want to return my shoes":      "article:returns",
		"when do I get my money back":    "article:returns",
		"my jacket is too big":           "article:sizes",
		"what size should I get":         "article:sizes",
		"Can I pay with PayPal?":         "article:payment",
		"how do I reset my password":     "article:account",
		"can I cancel my order":          "article:ordering",
		"where are you based":            "article:stores",
		"can I buy a gift card":          "article:discounts",
		"do you sell bikes":              "article:products",
		"do you have kids sizes":         "article:products",
		"how do I wash my jacket":        "article:care",
		"is the ridge jacket waterproof": "article:care",
		"my zip broke":                   "article:care",
		"where is my order":              "intent:order_status",
		"hello":                          "intent:greeting",
		"what is the capital of France":  "",
		"who won the football":           "",
		"what's the weather like":        "",
		"can I bring my dog to the shop": "",
		"asdf qwerty":                    "",
	} {
		c := b.Classify(q)
		answered := ""
		if c.Band == BandAnswer {
			answered = c.Label
		}
		if answered != want {
			t.Errorf("%q: %s %s at %.2f, want %q", q, c.Band, c.Label, c.Confidence, want)
		}
	}
}

// TestTheTestBoxSaysWhyAGuessWasNotAnswered: a guess above answer_at
// that the answer check holds back says so, with the check, the bar, its
// nearest phrase and a word of another intent, for the admin who tunes
// the thresholds.
func TestTheTestBoxSaysWhyAGuessWasNotAnswered(t *testing.T) {
	doc := `handoff: {answer_at: 0.55, confirm_at: 0.3}
intents:
  - name: stolen_card
    answer: Freeze it in the app.
    phrases: ["my card was stolen", "someone stole my card", "my card has been stolen", "I think my card was taken",
      "report a stolen card", "card stolen what do I do", "stolen card", "a thief took my card", "my wallet and card were stolen",
      "block my stolen card", "I lost my card", "my card is missing", "lost card", "I can't find my card", "freeze my card"]
  - name: app_help
    answer: Reinstall the app.
    phrases: ["the app crashes on my phone", "I changed my phone", "new phone how do I log in", "app not working",
      "login fails", "the app is slow", "it keeps logging me out", "install the app", "the app is outdated", "app crashes",
      "app will not open", "update the app", "the app shows an error", "log in to the app", "the app froze"]
`
	cfg, err := Parse("bot.yaml", []byte(doc), demoSkills, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	b := Compile(cfg, demoSkills)
	c := b.Classify("a thief took my phone")
	if c.Label != "intent:app_help" || c.Confidence < 0.55 || c.Check >= 0.55 || c.Band != BandConfirm ||
		!strings.HasPrefix(c.Held, fmt.Sprintf("the answer check gives it %.0f%%, 55%% needed; its nearest phrase is ", math.Floor(c.Check*100))) ||
		!strings.HasSuffix(c.Held, "% alike; “thief” is intent:stolen_card's word") {
		t.Fatalf("classified %+v; want app_help above answer_at, held back by the answer check", c)
	}
	if c := b.Classify("my card was stolen"); c.Band != BandAnswer || c.Held != "" {
		t.Fatalf("its own words: %+v", c)
	}
}
