package bot

import (
	"context"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
)

// CheckFolds is how many parts Check splits the written phrases into.
const CheckFolds = 5

// LabelCheck is how well the bot recognises one intent's phrases (or one
// article's example questions) when it learnt from the others.
type LabelCheck struct {
	Label    string  `json:"label"` // intent:NAME or article:ID
	Title    string  `json:"title"`
	Phrases  int     `json:"phrases"`  // written phrases (or example questions)
	Right    int     `json:"right"`    // of them, understood as this label
	Accuracy float64 `json:"accuracy"` // Right / Phrases
	// ConfusedWith is what its phrases were most often taken for (a label,
	// or "" when not understood at all), Confused how many times; both
	// empty when every phrase was understood.
	ConfusedWith      string `json:"confused_with,omitempty"`
	ConfusedWithTitle string `json:"confused_with_title,omitempty"`
	Confused          int    `json:"confused,omitempty"`
}

// CheckReport is the result of Check, the weakest labels first.
type CheckReport struct {
	Phrases  int           `json:"phrases"`
	Accuracy float64       `json:"accuracy"`
	Labels   []*LabelCheck `json:"labels"`
}

// Check tests a bot's intents and articles as a visitor would meet them,
// with the phrases its admins wrote: each phrase goes to a bot compiled
// without it (CheckFolds-fold cross-validation over the phrases and
// example questions; names, titles and article bodies stay), and what that
// bot understands — its classifier and its knowledge-base search, as in a
// conversation — is compared with the phrase's own intent or article.
// Intents whose phrases go to another overlap: the admin should merge them
// or write phrases that tell them apart. It stops when ctx ends.
func Check(ctx context.Context, cfg *Config) (*CheckReport, error) {
	type phrase struct {
		label, text string
		fold        int
	}
	var phrases []phrase
	for _, in := range cfg.Intents {
		for _, p := range in.Phrases {
			phrases = append(phrases, phrase{label: labelIntent + in.Name, text: p})
		}
	}
	for _, a := range cfg.Articles {
		for _, q := range a.Questions {
			phrases = append(phrases, phrase{label: labelArticle + a.ID, text: q})
		}
	}
	// Phrases go to folds in a shuffled order, the same every time.
	order := rand.New(rand.NewPCG(1, 2)).Perm(len(phrases))
	for k, i := range order {
		phrases[i].fold = k % CheckFolds
	}
	names := &Brain{articles: map[string]*Article{}} // names the labels as quick replies do
	for i := range cfg.Articles {
		names.articles[cfg.Articles[i].ID] = &cfg.Articles[i]
	}
	title := func(label string) string {
		switch label {
		case "":
			return "not understood" // the console speaks English
		case labelHandoff:
			return "talk to a person (built in)"
		}
		return names.title(label)
	}
	byLabel := map[string]*LabelCheck{}
	var labels []string
	confusions := map[string]map[string]int{}
	for _, p := range phrases {
		if byLabel[p.label] == nil {
			byLabel[p.label] = &LabelCheck{Label: p.label, Title: title(p.label)}
			labels = append(labels, p.label)
			confusions[p.label] = map[string]int{}
		}
	}
	// Each fold's bot is trained and asked on its own, as many at once as
	// there are cores: a big bot's check takes a fold's training time per
	// core rather than five. The answers are counted afterwards, in order.
	answers := make([]string, len(phrases)) // each phrase's, by the bot trained without its fold
	cores := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for f := range CheckFolds {
		held := map[string]map[string]bool{} // label → held-out texts
		for _, p := range phrases {
			if p.fold == f {
				if held[p.label] == nil {
					held[p.label] = map[string]bool{}
				}
				held[p.label][p.text] = true
			}
		}
		if len(held) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cores <- struct{}{}
			defer func() { <-cores }()
			if ctx.Err() != nil {
				return
			}
			b := Compile(without(cfg, held), nil)
			for i, p := range phrases {
				if p.fold == f {
					answers[i] = b.Classify(p.text).Label
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	report, right := &CheckReport{}, 0
	for i, p := range phrases {
		lc := byLabel[p.label]
		lc.Phrases++
		report.Phrases++
		if answers[i] == p.label {
			lc.Right++
			right++
		} else {
			confusions[p.label][answers[i]]++
		}
	}
	for _, label := range labels {
		lc := byLabel[label]
		if lc.Phrases > 0 {
			lc.Accuracy = round(float64(lc.Right) / float64(lc.Phrases))
		}
		for other, n := range confusions[label] {
			if n > lc.Confused || (n == lc.Confused && other < lc.ConfusedWith) {
				lc.ConfusedWith, lc.Confused = other, n
			}
		}
		if lc.Confused > 0 {
			lc.ConfusedWithTitle = title(lc.ConfusedWith)
		}
		report.Labels = append(report.Labels, lc)
	}
	if report.Phrases > 0 {
		report.Accuracy = round(float64(right) / float64(report.Phrases))
	}
	slices.SortStableFunc(report.Labels, func(x, y *LabelCheck) int {
		switch {
		case x.Accuracy < y.Accuracy:
			return -1
		case x.Accuracy > y.Accuracy:
			return 1
		}
		return 0
	})
	return report, nil
}

// without is cfg less the held-out phrases (by label, then text).
func without(cfg *Config, held map[string]map[string]bool) *Config {
	c := *cfg
	c.Intents = slices.Clone(cfg.Intents)
	for i, in := range c.Intents {
		if h := held[labelIntent+in.Name]; h != nil {
			c.Intents[i].Phrases = slices.DeleteFunc(slices.Clone(in.Phrases), func(p string) bool { return h[p] })
		}
	}
	c.Articles = slices.Clone(cfg.Articles)
	for i, a := range c.Articles {
		if h := held[labelArticle+a.ID]; h != nil {
			c.Articles[i].Questions = slices.DeleteFunc(slices.Clone(a.Questions), func(q string) bool { return h[q] })
		}
	}
	return &c
}
