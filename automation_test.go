package parley

import (
	"strings"
	"testing"
)

// Every bad rule is refused naming the rule and the part that is wrong.
func TestValidateRules(t *testing.T) {
	labels := []Label{{Name: "billing"}}
	fields := []ConversationField{{Key: "reason", Label: "Reason", Type: FieldList, Options: []string{"Damaged", "Sizing"}}, {Key: "refund", Label: "Refund", Type: FieldCheckbox}}
	good := AutomationRule{Name: "Refunds", Event: RuleOnVisitorMessage,
		Conditions: []RuleCondition{{Field: "message", Operator: "contains", Value: "refund"}, {Field: "visitor.attributes.plan", Operator: "equals", Value: "gold"}},
		Actions:    []RuleAction{{Type: "add_label", Value: "billing"}, {Type: "set_priority", Value: "5"}, {Type: "set_skill", Value: NewID("skl")}, {Type: "send_message", Value: "Billing answers within the hour."}}}
	if err := ValidateRules([]AutomationRule{good}, labels, fields); err != nil {
		t.Fatal(err)
	}
	rating := AutomationRule{Name: "Bad rating", Event: RuleOnConversationRated,
		Conditions: []RuleCondition{{Field: "rating", Operator: "at_most", Value: "2"}, {Field: "rating.comment", Operator: "is_set"}},
		Actions:    []RuleAction{{Type: "add_label", Value: "billing"}, {Type: "notify", Value: NewID("usr")}}}
	if err := ValidateRules([]AutomationRule{rating}, labels, fields); err != nil {
		t.Fatal(err)
	}
	details := AutomationRule{Name: "Damaged goods", Event: RuleOnFieldsChanged,
		Conditions: []RuleCondition{{Field: "fields.reason", Operator: "equals", Value: "damaged"}, {Field: "fields.refund", Operator: "not_equals", Value: "true"}, {Field: "fields.refund", Operator: "is_not_set"}},
		Actions:    []RuleAction{{Type: "add_label", Value: "billing"}}}
	if err := ValidateRules([]AutomationRule{details}, labels, fields); err != nil {
		t.Fatal(err)
	}
	assigned := AutomationRule{Name: "Trainee", Event: RuleOnConversationAssigned,
		Conditions: []RuleCondition{{Field: "agent", Operator: "equals", Value: NewID("usr")}, {Field: "channel", Operator: "equals", Value: "web"}, {Field: "priority", Operator: "at_least", Value: "5"}},
		Actions:    []RuleAction{{Type: "add_label", Value: "billing"}, {Type: "notify", Value: NewID("usr")}, {Type: "send_message", Value: "{{agent_first_name}} will help you."}}}
	if err := ValidateRules([]AutomationRule{assigned}, labels, fields); err != nil {
		t.Fatalf("a rule on assignment: %v", err)
	}
	mixed := good
	mixed.AnyConditions = []RuleCondition{{Field: "message", Operator: "contains", Value: "chargeback"}, {Field: "fields.reason", Operator: "is_set"}}
	if err := ValidateRules([]AutomationRule{mixed}, labels, fields); err != nil {
		t.Fatalf("all of these and any of those: %v", err)
	}
	with := func(change func(r *AutomationRule)) []AutomationRule {
		r := good
		r.Conditions = append([]RuleCondition(nil), good.Conditions...)
		r.Actions = append([]RuleAction(nil), good.Actions...)
		change(&r)
		return []AutomationRule{{Name: "first", Event: RuleOnConversationOpened, Actions: []RuleAction{{Type: "set_priority", Value: "1"}}}, r}
	}
	many := make([]AutomationRule, MaxAutomationRules+1)
	for i := range many {
		many[i] = good
	}
	for _, tc := range []struct {
		rules []AutomationRule
		want  string
	}{
		{many, "the limit is 50"},
		{with(func(r *AutomationRule) { r.Name = " " }), "automation_rules[1].name is required"},
		{with(func(r *AutomationRule) { r.Name = "FIRST" }), "automation_rules[1].name: another rule"},
		{with(func(r *AutomationRule) { r.Event = "message" }), "automation_rules[1].event"},
		{with(func(r *AutomationRule) { r.Actions = nil }), "automation_rules[1].actions: a rule needs"},
		{with(func(r *AutomationRule) { r.Conditions[0].Field = "text" }), "automation_rules[1].conditions[0].field"},
		{with(func(r *AutomationRule) { r.Conditions[1].Field = "visitor.attributes." }), "automation_rules[1].conditions[1].field"},
		{with(func(r *AutomationRule) { r.Event = RuleOnConversationOpened }), "conditions[0].field: \"message\" is known only on visitor_message"},
		{with(func(r *AutomationRule) { r.Conditions[0].Operator = "like" }), "conditions[0].operator"},
		{with(func(r *AutomationRule) {
			r.Conditions[0] = RuleCondition{Field: "business_hours", Operator: "contains", Value: "open"}
		}), "business_hours takes equals"},
		{with(func(r *AutomationRule) {
			r.Conditions[0] = RuleCondition{Field: "business_hours", Operator: "equals", Value: "weekend"}
		}), "business_hours takes equals"},
		{with(func(r *AutomationRule) {
			r.Conditions[0] = RuleCondition{Field: "sentiment", Operator: "contains", Value: "negative"}
		}), "sentiment takes equals"},
		{with(func(r *AutomationRule) {
			r.Conditions[0] = RuleCondition{Field: "sentiment", Operator: "equals", Value: "angry"}
		}), "sentiment takes equals"},
		{with(func(r *AutomationRule) {
			r.Event = RuleOnConversationOpened
			r.Conditions = []RuleCondition{{Field: "sentiment", Operator: "equals", Value: "negative"}}
		}), "conditions[0].field: \"sentiment\" is known only on visitor_message"},
		{with(func(r *AutomationRule) { r.Match = "either" }), "automation_rules[1].match must be all or any"},
		{with(func(r *AutomationRule) {
			r.Conditions[1] = RuleCondition{Field: "priority", Operator: "at_least", Value: "11"}
		}), "conditions[1]: priority takes equals, not_equals, at_most or at_least, and a priority from 0 to 10"},
		{with(func(r *AutomationRule) {
			r.Conditions[1] = RuleCondition{Field: "priority", Operator: "contains", Value: "5"}
		}), "conditions[1]: priority takes equals"},
		{with(func(r *AutomationRule) {
			r.Conditions[1] = RuleCondition{Field: "agent", Operator: "equals", Value: "Ana"}
		}), "conditions[1].value: agent is compared with a user ID"},
		{with(func(r *AutomationRule) {
			r.Conditions[1] = RuleCondition{Field: "agent", Operator: "contains", Value: NewID("usr")}
		}), "conditions[1]: agent takes equals, not_equals, is_set or is_not_set"},
		{with(func(r *AutomationRule) {
			r.Event, r.Conditions = RuleOnConversationAssigned, nil
			r.Actions = []RuleAction{{Type: "add_label", Value: "billing"}, {Type: "assign_agent", Value: NewID("usr")}}
		}), "actions[1]: assign_agent cannot run when a conversation is assigned"},
		{with(func(r *AutomationRule) {
			r.Event, r.Conditions = RuleOnConversationAssigned, nil
			r.Actions = []RuleAction{{Type: "set_skill", Value: NewID("skl")}}
		}), "actions[0]: set_skill cannot run when a conversation is assigned"},
		{with(func(r *AutomationRule) {
			r.Match, r.AnyConditions = RuleMatchAny, []RuleCondition{{Field: "message", Operator: "contains", Value: "chargeback"}}
		}), "automation_rules[1].any_conditions go with match all"},
		{with(func(r *AutomationRule) {
			r.AnyConditions = []RuleCondition{{Field: "message", Operator: "contains", Value: "chargeback"}, {Field: "rating", Operator: "at_most", Value: "2"}}
		}), "automation_rules[1].any_conditions[1].field: \"rating\" is known only on conversation_rated"},
		{with(func(r *AutomationRule) {
			r.AnyConditions = make([]RuleCondition, MaxRuleParts-1)
		}), "has 11 conditions and 4 actions; the limit is 10"},
		{with(func(r *AutomationRule) { r.Conditions[0].Value = "" }), "conditions[0].value is required"},
		{with(func(r *AutomationRule) {
			r.Conditions[0] = RuleCondition{Field: "message", Operator: "matches", Value: "(unclosed"}
		}), "conditions[0].value is not a valid pattern"},
		{with(func(r *AutomationRule) { r.Conditions[0].Value = strings.Repeat("x", 1001) }), "conditions[0].value must be"},
		{with(func(r *AutomationRule) { r.Actions[0].Value = "sales" }), "actions[0].value: \"sales\" is not one of the account's labels"},
		{with(func(r *AutomationRule) { r.Actions[1].Value = "11" }), "actions[1].value must be a priority"},
		{with(func(r *AutomationRule) { r.Actions[2].Value = "billing" }), "actions[2].value must be a skill ID"},
		{with(func(r *AutomationRule) { r.Actions[3].Value = "  " }), "actions[3].value must be a message"},
		{with(func(r *AutomationRule) { r.Actions[3].Type = "delete" }), "actions[3].type"},
		{with(func(r *AutomationRule) { r.Actions[0] = RuleAction{Type: "close", Value: "spam"} }), "actions[0]: close must be the last action"},
		{with(func(r *AutomationRule) { r.Actions[3] = RuleAction{Type: "close", Value: strings.Repeat("x", 201)} }), "actions[3].value: a close reason"},
		{with(func(r *AutomationRule) { r.Actions[3] = RuleAction{Type: "assign_agent", Value: "ann"} }), "actions[3].value must be a user ID"},
		{with(func(r *AutomationRule) { r.Actions[3] = RuleAction{Type: "notify", Value: "priya"} }), "actions[3].value must be a user ID"},
		{with(func(r *AutomationRule) {
			r.Conditions[0] = RuleCondition{Field: "rating", Operator: "at_most", Value: "2"}
		}), "conditions[0].field: \"rating\" is known only on conversation_rated"},
		{with(func(r *AutomationRule) {
			r.Event = RuleOnConversationRated
			r.Conditions = []RuleCondition{{Field: "rating", Operator: "at_least", Value: "four"}}
		}), "conditions[0].value: at_least compares numbers"},
		{with(func(r *AutomationRule) {
			r.Conditions[0] = RuleCondition{Field: "close_reason", Operator: "equals", Value: "spam"}
		}), "conditions[0].field: \"close_reason\" is known only on conversation_closed"},
		{with(func(r *AutomationRule) { r.Actions = make([]RuleAction, 11) }), "the limit is 10 of each"},
		{with(func(r *AutomationRule) {
			r.Conditions[0] = RuleCondition{Field: "fields.colour", Operator: "equals", Value: "red"}
		}), "conditions[0].field: the brand has no conversation field \"colour\""},
		{with(func(r *AutomationRule) {
			r.Conditions[0] = RuleCondition{Field: "fields.reason", Operator: "equals", Value: "Boredom"}
		}), "conditions[0].value: one of Damaged, Sizing"},
		{with(func(r *AutomationRule) {
			r.Conditions[0] = RuleCondition{Field: "fields.refund", Operator: "equals", Value: "maybe"}
		}), "conditions[0].value: true or false"},
		{with(func(r *AutomationRule) {
			r.Conditions[0] = RuleCondition{Field: "fields.refund", Operator: "not_equals", Value: " "}
		}), "conditions[0].value: say which value"},
	} {
		err := ValidateRules(tc.rules, labels, fields)
		if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), tc.want) {
			t.Errorf("want %q, got %v", tc.want, err)
		}
	}
}

// Placeholders are filled as the console fills canned responses: a name
// not known takes the fallback; an unknown placeholder is refused when
// saved, never sent as it is.
func TestPlaceholders(t *testing.T) {
	v := Placeholders("Zoë  Adams", "")
	for in, want := range map[string]string{
		"Hi {{visitor_first_name}}!":                          "Hi Zoë!",
		"Hi {{ visitor_name }}, {{agent_first_name|we}} will": "Hi Zoë  Adams, we will",
		"{{agent_name}}":                                      "",
		"{{unknown}} stays":                                   "{{unknown}} stays",
		"no placeholders":                                     "no placeholders",
	} {
		if got := FillPlaceholders(in, v); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
	err := ValidateMacros([]Macro{{Name: "m", Steps: []RuleAction{{Type: "send_message", Value: "Hi {{visitor_nmae}}"}}}}, nil)
	if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "macros[0].steps[0].value: {{visitor_nmae}} is no placeholder") {
		t.Fatalf("a misspelt placeholder: %v", err)
	}
}
