package sentiment

import (
	"math"
	"testing"
)

// The examples VADER's authors publish with their scores: each rule of the
// model shows in one of them (punctuation, capitals, boosters, negation,
// "but", "kind of", "at least", emoticons, slang).
func TestScoresAsVADERsAuthorsPublish(t *testing.T) {
	for _, c := range []struct {
		text string
		want float64
	}{
		{"VADER is smart, handsome, and funny.", 0.8316},
		{"VADER is smart, handsome, and funny!", 0.8439},
		{"VADER is very smart, handsome, and funny.", 0.8545},
		{"VADER is VERY SMART, handsome, and FUNNY.", 0.9227},
		{"VADER is VERY SMART, handsome, and FUNNY!!!", 0.9342},
		{"VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!", 0.9469},
		{"VADER is not smart, handsome, nor funny.", -0.7424},
		{"The book was good.", 0.4404},
		{"At least it isn't a horrible book.", 0.4310},
		{"The book was only kind of good.", 0.3832},
		{"The plot was good, but the characters are uncompelling and the dialog is not great.", -0.7042},
		{"Today SUX!", -0.5461},
		{"Today only kinda sux! But I'll get by, lol", 0.5249},
		{"Make sure you :) or :D today!", 0.8633},
		{"Not bad at all", 0.4310},
	} {
		if got := Score(c.text); math.Abs(got-c.want) > 0.00005 {
			t.Errorf("Score(%q) = %.4f, want %.4f", c.text, got, c.want)
		}
	}
}

// What a contact centre's visitors write, and how it reads.
func TestVisitorsMoods(t *testing.T) {
	for _, c := range []struct {
		text string
		want Mood
	}{
		{"This is the worst service I have ever had. Absolutely terrible!", Negative},
		{"WHY is my order STILL not here??? This is ridiculous", Negative},
		{"you guys are useless", Negative},
		{"I am not happy with this at all", Negative},
		{"My card was declined", Neutral},
		{"I want a refund", Neutral},
		{"where is my parcel", Neutral},
		{"hello", Neutral},
		{"", Neutral},
		{"???", Neutral},
		{"osifhaskdnkauer", Neutral},
		{"Thanks so much, that really helped!", Positive},
		{"Great, thank you!", Positive},
		{"not bad at all, thanks", Positive},
	} {
		if got := Of(Score(c.text)); got != c.want {
			t.Errorf("%q reads %s (%.3f), want %s", c.text, got, Score(c.text), c.want)
		}
	}
}

func BenchmarkScore(b *testing.B) {
	words()
	for b.Loop() {
		Score("WHY is my order STILL not here??? This is ridiculous, I have waited two weeks and nobody answers my emails")
	}
}
