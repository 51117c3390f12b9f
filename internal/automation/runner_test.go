package automation

import (
	"regexp"
	"testing"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/sentiment"
)

// Each operator on each kind of field, ignoring case; a missing attribute
// is empty.
func TestConditions(t *testing.T) {
	f := facts{
		conv:     &parley.Conversation{Channel: "web", CloseReason: "Refund issued", Priority: 7},
		consumer: &parley.Consumer{Name: "Zoë Adams", Email: "zoe@BigCorp.example", Attributes: map[string]string{"plan": "Gold"}},
		message:  "I want a REFUND for order 1234",
		mood:     sentiment.Negative,
		open:     false,
		agent:    "usr_ana",
	}
	f.rating.Score, f.rating.Comment = 2, "Too slow"
	c := &compiled{patterns: map[string]*regexp.Regexp{`order \d+`: regexp.MustCompile(`(?i)order \d+`), `^bye`: regexp.MustCompile(`(?i)^bye`)}}
	for _, tc := range []struct {
		field, op, value string
		want             bool
	}{
		{"message", "contains", "refund", true},
		{"message", "contains", "invoice", false},
		{"message", "not_contains", "invoice", true},
		{"message", "matches", `order \d+`, true},
		{"message", "matches", `^bye`, false},
		{"message", "matches", `not compiled`, false},
		{"visitor.email", "contains", "@bigcorp.", true},
		{"visitor.name", "equals", "ZOË ADAMS", true},
		{"visitor.name", "not_equals", "zoë adams", false},
		{"visitor.attributes.plan", "equals", "gold", true},
		{"visitor.attributes.plan", "is_set", "", true},
		{"visitor.attributes.region", "is_not_set", "", true},
		{"visitor.attributes.region", "is_set", "", false},
		{"visitor.external_id", "is_not_set", "", true},
		{"channel", "equals", "web", true},
		{"message", "sounds_like", "refund", false},
		{"business_hours", "equals", "closed", true},
		{"business_hours", "not_equals", "closed", false},
		{"sentiment", "equals", "negative", true},
		{"sentiment", "equals", "NEGATIVE", true},
		{"sentiment", "not_equals", "negative", false},
		{"sentiment", "equals", "positive", false},
		{"rating", "at_most", "2", true},
		{"rating", "at_most", "1", false},
		{"rating", "at_least", "2.5", false},
		{"rating", "at_least", " 2 ", true},
		{"rating", "equals", "2", true},
		{"rating.comment", "contains", "slow", true},
		{"close_reason", "contains", "refund", true},
		{"visitor.attributes.plan", "at_least", "1", false}, // not a number: never holds
		{"visitor.attributes.region", "at_most", "1", false},
		{"agent", "equals", "USR_ana", true},
		{"agent", "not_equals", "usr_sam", true},
		{"agent", "is_set", "", true},
		{"priority", "at_least", "5", true},
		{"priority", "at_most", "4", false},
		{"priority", "equals", "7", true},
	} {
		if got := c.holds(parley.RuleCondition{Field: tc.field, Operator: tc.op, Value: tc.value}, f); got != tc.want {
			t.Errorf("%s %s %q: %v, want %v", tc.field, tc.op, tc.value, got, tc.want)
		}
	}
	rule := parley.AutomationRule{Conditions: []parley.RuleCondition{{Field: "message", Operator: "contains", Value: "refund"}, {Field: "visitor.attributes.plan", Operator: "equals", Value: "silver"}}}
	if c.matches(rule, f) {
		t.Fatal("a rule matched with one of its two conditions false")
	}
	if !c.matches(parley.AutomationRule{}, f) {
		t.Fatal("a rule without conditions did not match")
	}
	rule.Match = parley.RuleMatchAny
	if !c.matches(rule, f) {
		t.Fatal("an \"any\" rule did not match with one of its two conditions true")
	}
	rule.Conditions[0].Value = "invoice"
	if c.matches(rule, f) {
		t.Fatal("an \"any\" rule matched with none of its conditions true")
	}
	if !c.matches(parley.AutomationRule{Match: parley.RuleMatchAny}, f) {
		t.Fatal("an \"any\" rule without conditions did not match")
	}
	// "All of these, and any of those": a Gold visitor who says refund or
	// chargeback.
	gold := parley.RuleCondition{Field: "visitor.attributes.plan", Operator: "equals", Value: "gold"}
	refund := parley.RuleCondition{Field: "message", Operator: "contains", Value: "refund"}
	chargeback := parley.RuleCondition{Field: "message", Operator: "contains", Value: "chargeback"}
	silver := parley.RuleCondition{Field: "visitor.attributes.plan", Operator: "equals", Value: "silver"}
	for _, tc := range []struct {
		name     string
		all, any []parley.RuleCondition
		want     bool
	}{
		{"all hold, one of any", []parley.RuleCondition{gold}, []parley.RuleCondition{chargeback, refund}, true},
		{"all hold, none of any", []parley.RuleCondition{gold}, []parley.RuleCondition{chargeback}, false},
		{"one of any, not all", []parley.RuleCondition{gold, silver}, []parley.RuleCondition{refund}, false},
		{"any alone, one holds", nil, []parley.RuleCondition{chargeback, refund}, true},
		{"any alone, none holds", nil, []parley.RuleCondition{chargeback, silver}, false},
	} {
		if got := c.matches(parley.AutomationRule{Conditions: tc.all, AnyConditions: tc.any}, f); got != tc.want {
			t.Errorf("%s: matched %v, want %v", tc.name, got, tc.want)
		}
	}
}
