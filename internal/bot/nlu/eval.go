package nlu

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"
)

// ReadCSV reads "text,label" rows (with a header) from a file. Errors name
// the file and the line.
func ReadCSV(path string) ([]Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 2
	var out []Example
	for line := 1; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if line == 1 && rec[0] == "text" {
			continue
		}
		if rec[0] == "" || rec[1] == "" {
			return nil, fmt.Errorf("%s:%d: text and label are both required", path, line)
		}
		out = append(out, Example{Text: rec[0], Label: rec[1]})
	}
	return out, nil
}

// Report is how well a classifier did on a test set.
type Report struct {
	N          int
	Accuracy   float64 // over in-scope examples when an out-of-scope label is set
	MacroF1    float64
	TrainTime  time.Duration
	LatencyP50 time.Duration
	LatencyP99 time.Duration
	// CalibrationError is the expected calibration error of the top
	// probability over ten equal-width bins: 0 when a probability of p is
	// right a fraction p of the time.
	CalibrationError float64
	// Out-of-scope detection, when Evaluate is given an OOS label: an answer
	// below the threshold is "no intent".
	OOSPrecision, OOSRecall float64
}

// Evaluate classifies every test example with c and scores the results.
func Evaluate(c Classifier, test []Example) Report { return EvaluateOOS(c, test, "", 0) }

// EvaluateOOS is Evaluate with out-of-scope detection: examples labelled
// oosLabel should get "no intent" (Verdict.Sure, the answer check or
// the top probability, below threshold).
func EvaluateOOS(c Classifier, test []Example, oosLabel string, threshold float64) Report {
	var oosTrue, oosPredicted, oosRight, inScope, inRight int
	type counts struct{ tp, fp, fn int }
	per := map[string]*counts{}
	get := func(l string) *counts {
		if per[l] == nil {
			per[l] = &counts{}
		}
		return per[l]
	}
	var lat []time.Duration
	right := 0
	var bins [10]struct {
		n, right int
		conf     float64
	}
	for _, e := range test {
		// What a bot does per message: rank the intents and judge the
		// top guess (at the default answer_at; the cost does not depend
		// on it).
		start := time.Now()
		scores, v := Decide(c, e.Text, 0.6)
		lat = append(lat, time.Since(start))
		top := scores[0]
		got := top.Label
		if e.Label != oosLabel || oosLabel == "" {
			b := &bins[min(9, int(top.P*10))]
			b.n++
			b.conf += top.P
			if got == e.Label {
				b.right++
			}
		}
		if oosLabel != "" {
			noIntent := v.Sure < threshold
			isOOS := e.Label == oosLabel
			if isOOS {
				oosTrue++
			}
			if noIntent {
				oosPredicted++
				if isOOS {
					oosRight++
				}
				got = oosLabel
			}
			if !isOOS {
				inScope++
				if got == e.Label {
					inRight++
				}
			}
		}
		if got == e.Label {
			right++
			get(e.Label).tp++
		} else {
			get(got).fp++
			get(e.Label).fn++
		}
	}
	var f1sum float64
	for _, c := range per {
		if c.tp+c.fn == 0 {
			continue // a label only ever predicted, never true: not part of the macro average
		}
		p := float64(c.tp) / float64(max(1, c.tp+c.fp))
		r := float64(c.tp) / float64(c.tp+c.fn)
		if p+r > 0 {
			f1sum += 2 * p * r / (p + r)
		}
	}
	labels := 0
	for _, c := range per {
		if c.tp+c.fn > 0 {
			labels++
		}
	}
	slices.Sort(lat)
	rep := Report{N: len(test), Accuracy: float64(right) / float64(len(test)), MacroF1: f1sum / float64(max(1, labels))}
	var scored int
	for _, b := range bins {
		scored += b.n
	}
	for _, b := range bins {
		if b.n > 0 {
			rep.CalibrationError += float64(b.n) / float64(scored) * math.Abs(float64(b.right)/float64(b.n)-b.conf/float64(b.n))
		}
	}
	if oosLabel != "" {
		rep.Accuracy = float64(inRight) / float64(max(1, inScope))
		rep.OOSPrecision = float64(oosRight) / float64(max(1, oosPredicted))
		rep.OOSRecall = float64(oosRight) / float64(max(1, oosTrue))
	}
	if len(lat) > 0 {
		rep.LatencyP50, rep.LatencyP99 = lat[len(lat)/2], lat[len(lat)*99/100]
	}
	return rep
}

// FirstPerLabel keeps the first n examples of each label (few-shot training).
func FirstPerLabel(examples []Example, n int) []Example {
	seen := map[string]int{}
	var out []Example
	for _, e := range examples {
		if seen[e.Label] < n {
			seen[e.Label]++
			out = append(out, e)
		}
	}
	return out
}

// HoldOutLabels makes an out-of-scope benchmark from a labelled set: every
// k-th label (in sorted order) is removed from train, and its test rows are
// relabelled oosLabel. It is the usual "unknown intent" protocol for data
// that has no out-of-scope rows. fold, from 1 to every, says which of the
// every ways to do that: fold f holds out the f-th label, the (f+every)-th
// and so on; the every folds together hold out each label once.
func HoldOutLabels(train, test []Example, every, fold int, oosLabel string) (keptTrain, relabelledTest []Example) {
	var labels []string
	seen := map[string]bool{}
	for _, e := range train {
		if !seen[e.Label] {
			seen[e.Label] = true
			labels = append(labels, e.Label)
		}
	}
	slices.Sort(labels)
	held := map[string]bool{}
	for i, l := range labels {
		if every > 0 && i%every == fold-1 {
			held[l] = true
		}
	}
	for _, e := range train {
		if !held[e.Label] {
			keptTrain = append(keptTrain, e)
		}
	}
	for _, e := range test {
		if held[e.Label] {
			e.Label = oosLabel
		}
		relabelledTest = append(relabelledTest, e)
	}
	return keptTrain, relabelledTest
}

// WithLabelNames adds each label's name as one more phrase of that label
// ("card_arrival" → "card arrival"), as the bot does with intent names.
func WithLabelNames(examples []Example) []Example {
	out := append([]Example(nil), examples...)
	seen := map[string]bool{}
	for _, e := range examples {
		if !seen[e.Label] {
			seen[e.Label] = true
			out = append(out, Example{Text: strings.NewReplacer("_", " ", "-", " ").Replace(e.Label), Label: e.Label})
		}
	}
	return out
}

// DefaultAnswerAt and DefaultConfirmAt are the bands' edges a bot has
// where its admin set none. From DefaultConfirmAt (not lower) a guess is
// offered as "Did you mean …?": below it, most questions about intents
// the bot was never taught get "no intent" (the fallback, then a person)
// instead of two wrong suggestions, for a few taught ones that lose a
// one-click right answer (docs/bot.md, "The confirm band's lower edge").
const (
	DefaultAnswerAt  = 0.6
	DefaultConfirmAt = 0.45
)

// BandReport is how a test set falls into the bot's three bands: answered
// outright (Judge at answerAt), confirmed ("Did you mean …?", Verdict.Sure
// from confirmAt), or not understood. Fractions of the in-scope rows and
// of the out-of-scope rows.
type BandReport struct {
	InRight, InWrong, InConfirm, InNone float64 // in scope: answered right, answered wrong, confirm, no intent
	InConfirmHasIt                      float64 // in scope, confirm band, the right intent among the top two
	OOSAnswered, OOSConfirm, OOSNone    float64 // out of scope: a wrong answer, a confirm, no intent
}

// Bands classifies every test example and reports the bands.
func Bands(c Classifier, test []Example, oosLabel string, confirmAt, answerAt float64) BandReport {
	var r BandReport
	var in, oos float64
	for _, e := range test {
		s, v := Decide(c, e.Text, answerAt)
		top := s[0]
		if e.Label == oosLabel && oosLabel != "" {
			oos++
			switch {
			case v.Answers:
				r.OOSAnswered++
			case v.Sure >= confirmAt:
				r.OOSConfirm++
			default:
				r.OOSNone++
			}
			continue
		}
		in++
		answers := v.Answers
		switch {
		case answers && top.Label == e.Label:
			r.InRight++
		case answers:
			r.InWrong++
		case v.Sure >= confirmAt:
			r.InConfirm++
			if top.Label == e.Label || (len(s) > 1 && s[1].Label == e.Label) {
				r.InConfirmHasIt++
			}
		default:
			r.InNone++
		}
	}
	for _, p := range []*float64{&r.InRight, &r.InWrong, &r.InConfirm, &r.InNone, &r.InConfirmHasIt} {
		*p /= max(1, in)
	}
	for _, p := range []*float64{&r.OOSAnswered, &r.OOSConfirm, &r.OOSNone} {
		*p /= max(1, oos)
	}
	return r
}
