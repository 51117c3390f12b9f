package nlu

import (
	"math"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

func load(t testing.TB) (train, test []Example) {
	t.Helper()
	train, err := ReadCSV("testdata/banking77/train.csv")
	if err != nil {
		t.Fatal(err)
	}
	test, err = ReadCSV("testdata/banking77/test.csv")
	if err != nil {
		t.Fatal(err)
	}
	return train, test
}

var (
	fullOnce  sync.Once
	fullTrain *Model
)

// fullModel is trained once on the whole BANKING77 training set and shared
// by the tests that only read it.
func fullModel(t *testing.T) *Model {
	t.Helper()
	fullOnce.Do(func() {
		train, _ := load(t)
		fullTrain = Train(train, Options{Seed: 1})
	})
	return fullTrain
}

// TestFewShotBanking77 trains on 10 phrases per intent and checks the
// accuracy on the whole test set, with and without the sentence encoder
// (a quality floor, not a timing).
func TestFewShotBanking77(t *testing.T) {
	train, test := load(t)
	if len(train) != 10003 || len(test) != 3080 {
		t.Fatalf("data: %d train, %d test rows", len(train), len(test))
	}
	few := WithLabelNames(FirstPerLabel(train, 10))
	rep := Evaluate(Train(few, Options{Seed: 1}), test)
	words := Evaluate(Train(few, Options{Seed: 1, WordsOnly: true}), test)
	t.Logf("10 per intent: accuracy %.4f (words alone %.4f), macro-F1 %.4f", rep.Accuracy, words.Accuracy, rep.MacroF1)
	// The mean of the piece vectors alone (session 18's encoder) gave
	// 0.793; the hidden layer after it and the smaller step give 0.800.
	if rep.Accuracy < 0.795 {
		t.Fatalf("few-shot accuracy %.4f, below the 0.795 floor", rep.Accuracy)
	}
	// The sentence encoder is what carries a few phrases to the questions
	// they do not share words with: without it the model is 3.3 points
	// worse (docs/bot.md).
	if rep.Accuracy < words.Accuracy+0.025 {
		t.Fatalf("the sentence encoder adds %.4f, want at least 0.025", rep.Accuracy-words.Accuracy)
	}
}

// TestGibberishIsNoIntent: keyboard mashes, punctuation and filler get no
// known words or a low probability from a model trained on BANKING77, so
// the bot says it did not understand instead of answering.
func TestGibberishIsNoIntent(t *testing.T) {
	m := fullModel(t)
	for _, text := range []string{"osifhaskdnkauer", "???", "ok", "asdf jkl qwerty", "!!!!", "zzzzzzzz", "hmm", "lorem ipsum dolor", "qwpeoiruty zxmcnvbq", ""} {
		top := m.Predict(text)[0]
		if cov := m.Coverage(text); cov > 0 && top.P >= 0.3 {
			t.Errorf("%q: coverage %.2f, %s at %.2f", text, cov, top.Label, top.P)
		}
	}
	// A real question is covered and confident.
	if top := m.Predict("my card still hasn't arrived")[0]; m.Coverage("my card still hasn't arrived") < 0.8 || top.Label != "card_arrival" || top.P < 0.6 {
		t.Fatalf("real question: %+v", top)
	}
}

// TestTyposStillFindTheIntent: character n-grams of unstemmed words carry
// misspelt words to the intent meant.
func TestTyposStillFindTheIntent(t *testing.T) {
	m := fullModel(t)
	for text, want := range map[string]string{
		"my crad hasnt arived yet":           "card_arrival",
		"how do i activte my new card":       "activate_my_card",
		"i forgott my pasword":               "passcode_forgotten",
		"why was i chargd a fee for transfr": "transfer_fee_charged",
	} {
		if got := m.Predict(text)[0]; got.Label != want {
			t.Errorf("%q: %s (%.2f), want %s", text, got.Label, got.P, want)
		}
	}
}

// TestHowAMessageWasTypedChangesNothing: a line break (Shift+Enter in the
// chat), doubled spaces, caps lock, a missing capital or a missing
// question mark leave the answer and its confidence as they were; a name
// in capitals among lower case is read as written.
func TestHowAMessageWasTypedChangesNothing(t *testing.T) {
	m := fullModel(t)
	for plain, variants := range map[string][]string{
		"my card still hasn't arrived":           {"my card still\nhasn't arrived", "  my card  still hasn't\tarrived ", "MY CARD STILL HASN'T ARRIVED", "my card\u00a0still  hasn't arrived", "My card still hasn't arrived?", "my card still hasn't arrived?"},
		"why was i charged a fee for a transfer": {"why was i charged\r\na fee for a transfer", "WHY WAS I CHARGED A FEE FOR A TRANSFER", "Why was i charged a fee for a transfer?"},
	} {
		want := m.Predict(plain)[0]
		for _, v := range variants {
			if got := m.Predict(v)[0]; got.Label != want.Label || math.Abs(got.P-want.P) > 1e-9 {
				t.Errorf("%q: %s %.4f, but %q: %s %.4f", plain, want.Label, want.P, v, got.Label, got.P)
			}
		}
	}
	if asTyped("is DHL late?") != "Is DHL late?" {
		t.Errorf("a name in capitals became %q", asTyped("is DHL late?"))
	}
}

// TestFullBanking77IsAccurateAndCalibrated: trained on the whole set the
// model meets issue 5's 0.92, and its top probability means what it says
// (a bot answers outright, confirms or hands off by it).
func TestFullBanking77IsAccurateAndCalibrated(t *testing.T) {
	_, test := load(t)
	rep := Evaluate(fullModel(t), test)
	t.Logf("full set: accuracy %.4f, expected calibration error %.4f", rep.Accuracy, rep.CalibrationError)
	if rep.Accuracy < 0.92 {
		t.Errorf("accuracy %.4f, below 0.92", rep.Accuracy)
	}
	// 0.022 at the default temperature; 0.068 without it.
	if rep.CalibrationError > 0.04 {
		t.Errorf("expected calibration error %.4f, above 0.04", rep.CalibrationError)
	}
}

// TestQuestionsFarOutsideTheBotsTradeGetNoAnswer: asked about the
// weather, recipes or sport, a bank's bot must not answer with a banking
// article. The sentence vector places them near some intent anyway ("the
// capital of Australia" near country_support); their words do not back
// it, so Answers turns the guess into "Did you mean …?" or no intent.
// The questions (testdata/far-out-of-scope.csv) were written for Parley.
func TestQuestionsFarOutsideTheBotsTradeGetNoAnswer(t *testing.T) {
	far, err := ReadCSV("testdata/far-out-of-scope.csv")
	if err != nil {
		t.Fatal(err)
	}
	m := fullModel(t)
	var answered, unguarded []string
	for _, e := range far {
		scores := m.Predict(e.Text)
		top := scores[0]
		if Judge(m, e.Text, scores, 0.6).Answers {
			answered = append(answered, e.Text+" → "+top.Label)
		}
		if top.P >= 0.6 {
			unguarded = append(unguarded, e.Text)
		}
	}
	t.Logf("answered %d of %d (%d on the probability alone): %v", len(answered), len(far), len(unguarded), answered)
	if len(answered) > 2 {
		t.Fatalf("%d of %d questions outside banking answered outright: %v", len(answered), len(far), answered)
	}
}

// TestUntaughtIntentsRarelyGetAnAnswer: with every fourth BANKING77
// intent left out of training, questions for those (about banking too:
// "my phone was stolen" to a bot that knows stolen cards) mostly get no
// intent at the default thresholds — the fallback, then a person — and
// few a wrong answer, while the taught ones are answered. Fold 4 is the
// split the answer check was fitted on; fold 2 is the one of the four
// that sends the fewest to no intent (0.504; `parley bot eval
// --holdout-every 4 --holdout-fold F` measures all four, docs/bot.md).
func TestUntaughtIntentsRarelyGetAnAnswer(t *testing.T) {
	for _, fold := range []struct {
		n                     int
		maxAnswered, minRight float64
	}{{4, 0.26, 0.86}, {2, 0.36, 0.86}} {
		train, test := load(t)
		train, test = HoldOutLabels(train, test, 4, fold.n, "oos")
		b := Bands(Train(WithLabelNames(train), Options{Seed: 1}), test, "oos", DefaultConfirmAt, DefaultAnswerAt)
		t.Logf("fold %d: in scope: right %.3f, wrong %.3f, confirm %.3f; untaught: answered %.3f, confirm %.3f, no intent %.3f",
			fold.n, b.InRight, b.InWrong, b.InConfirm, b.OOSAnswered, b.OOSConfirm, b.OOSNone)
		if b.OOSAnswered > fold.maxAnswered {
			t.Errorf("fold %d: %.3f of the untaught intents' questions answered outright, want at most %.2f", fold.n, b.OOSAnswered, fold.maxAnswered)
		}
		if b.OOSNone <= 0.5 {
			t.Errorf("fold %d: %.3f of the untaught intents' questions got no intent, want most", fold.n, b.OOSNone)
		}
		if b.InRight < fold.minRight {
			t.Errorf("fold %d: %.3f of the taught intents' questions answered right, want at least %.2f", fold.n, b.InRight, fold.minRight)
		}
	}
}

// TestTheAnswerCheckDecidesForASentenceModel: a model with a sentence
// vector answers only when its answer check reaches answer_at too, so a
// guess with a high probability can be held back; the check is high for
// a taught phrase and low for a question the bot was not taught that
// lands on a sibling.
func TestTheAnswerCheckDecidesForASentenceModel(t *testing.T) {
	var train []Example
	for _, e := range []Example{
		{"my card was stolen", "stolen_card"}, {"someone stole my card", "stolen_card"},
		{"report a stolen card", "stolen_card"}, {"a thief took my card", "stolen_card"},
		{"block my stolen card", "stolen_card"}, {"my card has been stolen", "stolen_card"},
		{"the app crashes on my phone", "app_problem"}, {"my phone will not open the app", "app_problem"},
		{"the app is slow", "app_problem"}, {"update the app", "app_problem"},
		{"the app shows an error", "app_problem"}, {"I cannot log in to the app", "app_problem"},
		{"where is my new card", "card_arrival"}, {"my card has not arrived", "card_arrival"},
		{"when will my card come", "card_arrival"}, {"is my card in the post", "card_arrival"},
		{"how long does delivery of a card take", "card_arrival"}, {"still waiting for my card", "card_arrival"},
	} {
		train = append(train, e)
	}
	m := Train(train, Options{Seed: 1})
	check := func(text string) Check {
		c, ok := m.Check(text, m.Predict(text))
		if !ok {
			t.Fatal("an English model has no answer check")
		}
		return c
	}
	taught, untaught := check("someone stole my card"), check("my card does not work in the app")
	if math.Abs(taught.Nearest-1) > 1e-4 {
		t.Errorf("a taught phrase's nearest phrase is %.4f alike, want itself (1)", taught.Nearest)
	}
	if taught.Score <= untaught.Score+0.2 {
		t.Errorf("answer check: taught phrase %.3f, untaught question %.3f; want the taught one well above", taught.Score, untaught.Score)
	}
	text := "my card does not work in the app"
	scores := m.Predict(text)
	if scores[0].P < untaught.Score+0.1 {
		t.Fatalf("the untaught question's guess has %.3f, want it well above its check %.3f", scores[0].P, untaught.Score)
	}
	for _, answerAt := range []float64{untaught.Score - 0.01, untaught.Score + 0.01} {
		if v := Judge(m, text, scores, answerAt); v.Answers != (untaught.Score >= answerAt) || !v.Checked || v.Check != untaught.Score || v.Sure != untaught.Score {
			t.Errorf("Judge at %.3f = %+v, want the check %.3f to decide", answerAt, v, untaught.Score)
		}
	}
	if _, ok := Train(train, Options{Seed: 1, WordsOnly: true}).Check(text, scores); ok {
		t.Error("a words-only model has an answer check")
	}
	// Decide reads a text once and says what Predict and Judge say.
	for _, text := range []string{"someone stole my card", "my card does not work in the app", "where is it"} {
		scores, v := Decide(m, text, 0.6)
		if want := m.Predict(text); !reflect.DeepEqual(scores, want) {
			t.Errorf("Decide(%q) ranks %v, Predict %v", text, scores, want)
		}
		if want := Judge(m, text, scores, 0.6); v != want {
			t.Errorf("Decide(%q) judges %+v, Judge %+v", text, v, want)
		}
	}
}

// TestAWordOfAnotherIntentRaisesTheBar: a message with a word only
// another intent's phrases use needs a surer guess to be answered, the
// more so the more phrases the guessed intent has; its own words and
// words no phrase uses change nothing.
func TestAWordOfAnotherIntentRaisesTheBar(t *testing.T) {
	var train []Example
	for range 20 {
		train = append(train,
			Example{"my card was stolen", "stolen_card"}, Example{"someone took my card", "stolen_card"},
			Example{"the app on my phone crashes", "app_problem"}, Example{"my phone will not open the app", "app_problem"})
	}
	m := Train(train, Options{Seed: 1, WordsOnly: true})
	for text, want := range map[string]bool{
		"my card was stolen":                false,
		"my zorblax was stolen":             false, // unknown to every intent
		"my phone was stolen":               true,
		"someone took my card and my phone": true,
	} {
		if got := m.Elsewhere(text, "stolen_card"); (got.Score > 0) != want {
			t.Errorf("Elsewhere(%q) = %+v, want above 0: %v", text, got, want)
		}
	}
	// phone: 40 phrases, all app_problem's → 40/41; stolen_card has 40
	// phrases → weighed 40/60.
	got := m.Elsewhere("my Phone was stolen", "stolen_card")
	if want := 40.0 / 41 * 40 / 60; math.Abs(got.Score-want) > 1e-6 || got.Word != "phone" || got.Label != "app_problem" {
		t.Errorf("Elsewhere = %+v, want %.4f for phone, app_problem's word", got, want)
	}
	if v := Judge(m, "my phone was stolen", []Score{{Label: "stolen_card", P: 0.8}}, 0.6); v.Answers || math.Abs(v.Bar-(0.6+0.4*got.Score)) > 1e-6 {
		t.Errorf("Judge = %+v, want no answer below the raised bar", v)
	}
	top := []Score{{Label: "stolen_card", P: 0.8}}
	if !Judge(m, "my card was stolen", top, 0.6).Answers {
		t.Error("0.8 for its own words is not answered at 0.6")
	}
	if Judge(m, "my phone was stolen", top, 0.6).Answers {
		t.Error("0.8 is answered at 0.6 although phone is another intent's word")
	}
	if top[0].P = 0.9; !Judge(m, "my phone was stolen", top, 0.6).Answers {
		t.Error("0.9 is not answered at 0.6 + 0.4 × 0.65")
	}
}

// TestAddingAnIntentKeepsTheOldOnes: retraining with one more intent
// leaves the accuracy on the old intents within one point.
func TestAddingAnIntentKeepsTheOldOnes(t *testing.T) {
	train, test := load(t)
	const added = "card_arrival"
	var before, after []Example
	for _, e := range train {
		after = append(after, e)
		if e.Label != added {
			before = append(before, e)
		}
	}
	var oldTest []Example
	for _, e := range test {
		if e.Label != added {
			oldTest = append(oldTest, e)
		}
	}
	a1 := Evaluate(Train(before, Options{Seed: 1}), oldTest).Accuracy
	a2 := Evaluate(Train(after, Options{Seed: 1}), oldTest).Accuracy
	t.Logf("old intents: %.4f before, %.4f after adding %s", a1, a2, added)
	if a2 < a1-0.01 {
		t.Fatalf("adding %s dropped the old intents from %.4f to %.4f", added, a1, a2)
	}
}

func TestPredictRanksAndSumsToOne(t *testing.T) {
	m := Train([]Example{
		{"where is my card", "card_arrival"}, {"my card has not arrived", "card_arrival"}, {"card still not here", "card_arrival"},
		{"how do I top up", "top_up"}, {"top up my account", "top_up"}, {"add money by top up", "top_up"},
	}, Options{Seed: 1, MinDF: 1})
	s := m.Predict("my card has still not arrived")
	if s[0].Label != "card_arrival" {
		t.Fatalf("ranked %v", s)
	}
	var sum float64
	for _, x := range s {
		sum += x.P
	}
	if sum < 0.999 || sum > 1.001 {
		t.Fatalf("probabilities sum to %v", sum)
	}
}

// BenchmarkBanking77 trains on the full set and reports test accuracy,
// training time and per-utterance latency.
func BenchmarkBanking77(b *testing.B) {
	train, test := load(b)
	for i := 0; i < b.N; i++ {
		start := time.Now()
		m := Train(train, Options{Seed: 1})
		trainTime := time.Since(start)
		rep := Evaluate(m, test)
		b.ReportMetric(rep.Accuracy, "accuracy")
		b.ReportMetric(rep.MacroF1, "macroF1")
		b.ReportMetric(trainTime.Seconds(), "train-s")
		b.ReportMetric(float64(rep.LatencyP99.Microseconds()), "p99-µs")
	}
}

// TestStemsMatchInflectionsAndMissingAccents: in each language a bot
// speaks, a word's inflected forms, and the word typed without its
// accents, share a search term with it.
func TestStemsMatchInflectionsAndMissingAccents(t *testing.T) {
	for _, c := range []struct{ lang, a, b string }{
		{"en", "refunded", "refunds"},
		{"en", "delivery", "deliveries"},
		{"fr", "commande", "commandes"},
		{"fr", "livrée", "livree"},
		{"fr", "remboursement", "remboursé"},
		{"fr", "annulée", "annulation"},
		{"fr", "payée", "paiement"},
		{"fr", "changer", "changé"},
		{"es", "cancelación", "cancelar"},
		{"es", "pagado", "pagar"},
		{"es", "devolución", "devolucion"},
		{"es", "pedido", "pedidos"},
		{"es", "reembolso", "reembolsado"},
		{"de", "Bestellung", "Bestellungen"},
		{"de", "Rückerstattung", "Ruckerstattung"},
		{"de", "Größe", "Grosse"},
		{"de", "Zahlungen", "Zahlung"},
		{"de", "Rücksendungen", "Rücksendung"},
	} {
		l, ok := LanguageFor(c.lang)
		if !ok {
			t.Fatalf("no language %q", c.lang)
		}
		a, b := l.Terms(c.a), l.Terms(c.b)
		shared := false
		for _, x := range a {
			for _, y := range b {
				shared = shared || x == y
			}
		}
		if !shared {
			t.Errorf("%s: %q %v and %q %v share no term", c.lang, c.a, a, c.b, b)
		}
	}
	if _, ok := LanguageFor("xx"); ok {
		t.Fatal("an unknown language was found")
	}
}

// TestTrainingIsTheSameOnOneCoreAsOnTwo: the passes share the labels out
// between two cores when one is free, work through them alone when
// another training holds it, and finish alone when the helper core stops
// partway. Every way the model is the same to the last bit, so a bot
// answers alike on any machine and under any load.
func TestTrainingIsTheSameOnOneCoreAsOnTwo(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("one core: nothing to compare")
	}
	train, _ := load(t)
	// A tenth of the phrases, every intent among them, and two passes:
	// under the race detector each step's exchange between the cores
	// costs milliseconds.
	train = slices.DeleteFunc(slices.Clone(train), func(e Example) bool { return len(e.Text)%10 != 0 })
	if helpers.Load() != 0 {
		t.Fatalf("a training holds %d helper cores before the test", helpers.Load())
	}
	defer func(was bool) { shareCores = was }(shareCores)
	shareCores = true // even under the race detector: this is the test of it
	shared := Train(train, Options{Seed: 1, Epochs: 2})
	// The helper core stops halfway, as when the machine is so busy that
	// a core waits too long for the other: the first core finishes alone.
	stopHelperAt = len(train)
	stopped := Train(train, Options{Seed: 1, Epochs: 2})
	stopHelperAt = -1
	helpers.Store(1 << 20) // as if other trainings held every core
	alone := Train(train, Options{Seed: 1, Epochs: 2})
	helpers.Store(0)
	if !slices.Equal(stopped.w, alone.w) || !slices.Equal(stopped.bias, alone.bias) {
		t.Fatal("a training whose helper stopped halfway gave different weights from training alone")
	}
	if len(shared.labels) < 2*leastBlock {
		t.Fatalf("%d labels: too few to share out", len(shared.labels))
	}
	if !slices.Equal(shared.w, alone.w) || !slices.Equal(shared.bias, alone.bias) {
		t.Fatal("training alone gave different weights from training on two cores")
	}
}

// TestNothingToLearnFrom: a model of no phrases knows no intents, and
// ranks none, rather than failing.
func TestNothingToLearnFrom(t *testing.T) {
	m := Train(nil, Options{Seed: 1})
	if got := m.Predict("where is my card?"); len(got) != 0 || len(m.Labels()) != 0 {
		t.Fatalf("a model of nothing predicts %v", got)
	}
}

func TestTheHoldOutFoldsLeaveOutEachIntentOnce(t *testing.T) {
	train, test := load(t)
	heldBy := map[string]int{} // label → times held out
	for fold := 1; fold <= 4; fold++ {
		kept, relabelled := HoldOutLabels(train, test, 4, fold, "oos")
		trained := map[string]bool{}
		for _, e := range kept {
			trained[e.Label] = true
		}
		for i, e := range test {
			switch got := relabelled[i].Label; {
			case got == "oos" && trained[e.Label]:
				t.Fatalf("fold %d: %q is trained and out of scope", fold, e.Label)
			case got != "oos" && (!trained[e.Label] || got != e.Label):
				t.Fatalf("fold %d: %q became %q", fold, e.Label, got)
			}
		}
		held := map[string]bool{}
		for _, e := range train {
			held[e.Label] = !trained[e.Label]
		}
		for l, out := range held {
			if out {
				heldBy[l]++
			}
		}
	}
	for _, e := range train {
		if heldBy[e.Label] != 1 {
			t.Fatalf("%s is held out in %d folds", e.Label, heldBy[e.Label])
		}
	}
}
