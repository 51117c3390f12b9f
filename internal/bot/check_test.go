package bot

import (
	"context"
	"testing"
)

// Two intents written with the same kind of phrases are caught overlapping;
// a distinct one is recognised; the weakest come first.
func TestCheckFindsOverlappingIntents(t *testing.T) {
	cfg := &Config{Enabled: true, Intents: []Intent{
		{Name: "card_lost", Answer: "Frozen.", Phrases: []string{"I lost my card", "my card is lost", "cannot find my card",
			"where is my card", "card missing", "I misplaced my card"}},
		{Name: "card_gone", Answer: "Frozen too.", Phrases: []string{"my card is gone", "lost card", "I can't find my card",
			"card lost somewhere", "misplaced card", "my card went missing"}},
		{Name: "opening_hours", Answer: "9 to 5.", Phrases: []string{"when are you open", "opening hours", "what time do you close",
			"are you open on sunday", "what are your hours", "open today?"}},
	}}
	r, err := Check(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Phrases != 18 || len(r.Labels) != 3 {
		t.Fatalf("%d phrases, %d labels", r.Phrases, len(r.Labels))
	}
	hours := r.Labels[2]
	if hours.Label != "intent:opening_hours" || hours.Accuracy < 0.8 || hours.Title != "Opening hours" ||
		hours.ConfusedWith == "intent:card_lost" || hours.ConfusedWith == "intent:card_gone" {
		t.Fatalf("the distinct intent: %+v", hours)
	}
	for _, lc := range r.Labels[:2] {
		if lc.Accuracy >= 0.7 || (lc.ConfusedWith != "intent:card_lost" && lc.ConfusedWith != "intent:card_gone") || lc.ConfusedWith == lc.Label {
			t.Errorf("an overlapping intent: %+v", lc)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Check(ctx, cfg); err == nil {
		t.Fatal("a cancelled check reported a result")
	}
}
