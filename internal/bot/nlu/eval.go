package nlu

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"slices"
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
	Accuracy   float64
	MacroF1    float64
	TrainTime  time.Duration
	LatencyP50 time.Duration
	LatencyP99 time.Duration
}

// Evaluate classifies every test example with c and scores the results.
func Evaluate(c Classifier, test []Example) Report {
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
	for _, e := range test {
		start := time.Now()
		got := c.Predict(e.Text)[0].Label
		lat = append(lat, time.Since(start))
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
