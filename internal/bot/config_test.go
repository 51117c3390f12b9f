package bot

import (
	"strings"
	"testing"

	"github.com/parleychat/parley/internal/bot/demo"
)

func TestParseRefusesBadConfigurationsWithTheFileLineAndField(t *testing.T) {
	tests := []struct {
		name, doc string
		want      string // the whole error
	}{
		{"invalid YAML", "enabled: true\nintents: [\n", "bot.yaml:2: did not find expected node content"},
		{"unknown field", "enabled: true\nintnets: []\n", "bot.yaml:2: field intnets not found in type bot.Config"},
		{"empty intent", "intents:\n  - name: hi\n    phrases: [hello]\n    answer: Hello\n  - name: refund\n    phrases: []\n    answer: x\n",
			`bot.yaml:6: intents[1].phrases: intent "refund" has no training phrases`},
		{"intent without answer", "intents:\n  - name: hi\n    phrases: [hello]\n", `bot.yaml:2: intents[0]: intent "hi" needs an answer or a flow`},
		{"missing flow", "intents:\n  - name: hi\n    phrases: [hello]\n    flow: nope\n", `bot.yaml:4: intents[0].flow: no flow is named "nope"`},
		{"missing step", "flows:\n  - name: f\n    steps:\n      - id: a\n        kind: say\n        text: hi\n        next: b\n",
			`bot.yaml:7: flows[0].steps[0].next: no step "b" in flow "f"`},
		{"loop that never waits", "flows:\n  - name: f\n    steps:\n      - {id: a, kind: say, text: one, next: b}\n      - {id: b, kind: branch, attribute: x, cases: [{equals: y, next: a}], next: a}\n",
			`bot.yaml:4: flows[0].steps[0]: step "a" is part of a loop that never waits for the visitor`},
		{"missing skill", "handoff:\n  skill: sales\n", `bot.yaml:2: handoff.skill: no skill is named "sales"`},
		{"missing skill in a step", "flows:\n  - name: f\n    steps:\n      - {id: a, kind: handoff, skill: nobody}\n", `bot.yaml:4: flows[0].steps[0].skill: no skill is named "nobody"`},
		{"unknown step kind", "flows:\n  - name: f\n    steps:\n      - {id: a, kind: jump}\n", `bot.yaml:4: flows[0].steps[0].kind: unknown step kind "jump" (say, ask, branch, webhook, handoff or end)`},
		{"duplicate intent", "intents:\n  - {name: a, phrases: [x], answer: y}\n  - {name: a, phrases: [z], answer: w}\n", `bot.yaml:3: intents[1].name: there is another intent named "a"`},
		{"thresholds upside down", "handoff:\n  answer_at: 0.4\n  confirm_at: 0.5\n", `bot.yaml:3: handoff.confirm_at: must not be above answer_at (0.4)`},
		{"webhook not a URL", "flows:\n  - name: f\n    steps:\n      - {id: a, kind: webhook, url: ftp://x}\n", `bot.yaml:4: flows[0].steps[0].url: "ftp://x" is not an http(s) URL`},
		{"JSON too", `{"intents": [{"name": "a", "phrases": [], "answer": "x"}]}`, `bot.yaml:1: intents[0].phrases: intent "a" has no training phrases`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bot.yaml", []byte(tt.doc), demoSkills, DefaultLimits)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error %v\nwant  %s", err, tt.want)
			}
		})
	}
	t.Run("huge file", func(t *testing.T) {
		l := DefaultLimits
		l.MaxBytes = 1000
		_, err := Parse("big.yaml", []byte(strings.Repeat("# padding\n", 200)), nil, l)
		if err == nil || err.Error() != "big.yaml: the file is 2000 bytes; the limit is 1000" {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("too many ignored questions", func(t *testing.T) {
		doc := "ignored_questions:\n" + strings.Repeat("  - asdf\n", MaxIgnoredQuestions+1)
		_, err := Parse("bot.yaml", []byte(doc), nil, DefaultLimits)
		if err == nil || err.Error() != "bot.yaml:1: ignored_questions: 5001 questions; the limit is 5000" {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("too many phrases", func(t *testing.T) {
		l := DefaultLimits
		l.MaxPhrases = 2
		_, err := Parse("bot.yaml", []byte("intents:\n  - {name: a, phrases: [x, y, z], answer: w}\n"), nil, l)
		if err == nil || !strings.Contains(err.Error(), "3 training phrases and questions; the limit is 2") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestDemoConfigurationRoundTripsThroughJSON(t *testing.T) {
	cfg, err := Parse("northwind.yaml", demo.Northwind, demoSkills, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse("export.json", cfg.JSON(), demoSkills, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if string(again.JSON()) != string(cfg.JSON()) {
		t.Fatal("export and import changed the configuration")
	}
}
