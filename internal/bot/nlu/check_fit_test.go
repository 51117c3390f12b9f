package nlu

import (
	"math"
	"os"
	"testing"
)

// TestFitTheAnswerCheck refits the answer check's weights (check.go) and
// logs them; it runs only with PARLEY_FIT_CHECK=1, as a tool:
//
//	PARLEY_FIT_CHECK=1 go test ./internal/bot/nlu -run TestFitTheAnswerCheck -v
//
// The questions: BANKING77's test set, every fourth intent held out of
// training (its questions must not be answered) and the rest (they must
// be answered right), once with the full training set and once with ten
// phrases per intent. A logistic regression over the check's inputs,
// standardised, is fitted by gradient descent; then its bias is moved so
// that the check reaches 0.6 (the default answer_at) where the fitted
// regression says about sessionRuleBar, which answered as many taught
// questions right as the rule before the check (docs/bot.md).
func TestFitTheAnswerCheck(t *testing.T) {
	if os.Getenv("PARLEY_FIT_CHECK") != "1" {
		t.Skip("a tool: PARLEY_FIT_CHECK=1 refits the answer check")
	}
	const sessionRuleBar = 0.445
	type row struct {
		in    [checkInputCount]float64
		right bool
	}
	var rows []row
	for _, perLabel := range []int{0, 10} {
		train, test := load(t)
		if perLabel > 0 {
			train = FirstPerLabel(train, perLabel)
		}
		train, test = HoldOutLabels(train, test, 4, "oos")
		m := Train(WithLabelNames(train), Options{Seed: 1})
		for _, e := range test {
			r := m.read(e.Text)
			scores := m.rank(r)
			in, ok := m.checkInputs(r, e.Text, scores)
			if !ok {
				t.Fatal("no answer check")
			}
			rows = append(rows, row{in, scores[0].Label == e.Label})
		}
	}
	var mean, sd [checkInputCount]float64
	for _, r := range rows {
		for j, x := range r.in {
			mean[j] += x / float64(len(rows))
		}
	}
	for _, r := range rows {
		for j, x := range r.in {
			sd[j] += (x - mean[j]) * (x - mean[j]) / float64(len(rows))
		}
	}
	for j := range sd {
		sd[j] = math.Sqrt(sd[j]) + 1e-9
	}
	var w [checkInputCount + 1]float64 // the last is the bias
	for range 3000 {
		var grad [checkInputCount + 1]float64
		for _, r := range rows {
			z := w[checkInputCount]
			for j, x := range r.in {
				z += w[j] * (x - mean[j]) / sd[j]
			}
			d := 1 / (1 + math.Exp(-z))
			if r.right {
				d--
			}
			for j, x := range r.in {
				grad[j] += d * (x - mean[j]) / sd[j]
			}
			grad[checkInputCount] += d
		}
		for j := range w {
			w[j] -= 0.5 * grad[j] / float64(len(rows))
		}
	}
	logit := func(p float64) float64 { return math.Log(p / (1 - p)) }
	bias := w[checkInputCount] + logit(0.6) - logit(sessionRuleBar)
	var weights [checkInputCount]float64
	for j := range weights {
		weights[j] = w[j] / sd[j]
		bias -= weights[j] * mean[j]
	}
	t.Logf("checkWeights = %.4g", weights)
	t.Logf("checkBias = %.4g", bias)
}
