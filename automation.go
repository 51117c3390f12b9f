package parley

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// AutomationRule is a brand's own routing and triage rule (Chatwoot's
// automations, Zendesk's triggers, LivePerson's routing rules): when Event
// happens and every condition holds, the actions run, in order
// (docs/routing.md, Automation rules).
type AutomationRule struct {
	Name  string `json:"name"`
	Event string `json:"event"`
	// Match says which conditions must hold: every one ("all", the
	// default when empty) or at least one ("any").
	Match      string          `json:"match,omitempty"`
	Conditions []RuleCondition `json:"conditions"`
	// AnyConditions, with match "all", must also hold at least one of
	// them, as Zendesk's triggers have "all of these" and "any of these":
	// "the visitor is a VIP, and the message says refund or chargeback".
	AnyConditions []RuleCondition `json:"any_conditions,omitempty"`
	Actions       []RuleAction    `json:"actions"`
	Disabled      bool            `json:"disabled,omitempty"`
}

// EachCondition calls fn with every condition of the rule, both lists.
func (r AutomationRule) EachCondition(fn func(RuleCondition)) {
	for _, c := range r.Conditions {
		fn(c)
	}
	for _, c := range r.AnyConditions {
		fn(c)
	}
}

// RuleCondition compares one fact of the conversation with Value.
type RuleCondition struct {
	Field    string `json:"field"`
	Operator string `json:"operator"`
	Value    string `json:"value,omitempty"`
}

// RuleAction is one thing a rule does.
type RuleAction struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Events a rule runs on.
const (
	RuleOnConversationOpened = "conversation_opened" // a conversation opens (widget or API)
	RuleOnVisitorMessage     = "visitor_message"     // the visitor writes (each text message)
	RuleOnFieldsChanged      = "fields_changed"      // someone records the conversation's details (its conversation fields)
	RuleOnConversationRated  = "conversation_rated"  // the visitor rates the conversation, or adds a comment to their rating
	RuleOnConversationClosed = "conversation_closed" // someone (or something) closes the conversation
	// RuleOnConversationAssigned: a person takes the conversation, or it
	// is given or transferred to them.
	RuleOnConversationAssigned = "conversation_assigned"
	// RuleOnReplyOverdue: the visitor has waited on the agent's reply past
	// the reply target (conversation.reply_overdue: once per message that
	// waits).
	RuleOnReplyOverdue = "reply_overdue"
)

// RuleEvents are the events a rule may run on.
var RuleEvents = []string{RuleOnConversationOpened, RuleOnVisitorMessage, RuleOnFieldsChanged, RuleOnConversationRated, RuleOnConversationClosed, RuleOnConversationAssigned, RuleOnReplyOverdue}

// How a rule's conditions combine.
const (
	RuleMatchAll = "all" // every condition holds (the default)
	RuleMatchAny = "any" // at least one holds
)

// Condition fields. A visitor attribute is "visitor.attributes.<name>".
const (
	RuleFieldMessage    = "message" // the visitor's message (visitor_message only)
	RuleFieldName       = "visitor.name"
	RuleFieldEmail      = "visitor.email"
	RuleFieldExternalID = "visitor.external_id"
	RuleFieldChannel    = "channel"
	RuleFieldHours      = "business_hours"      // "open" or "closed", by the conversation's skill's own hours or the account's
	RuleFieldSentiment  = "sentiment"           // how the visitor's message sounds: "negative", "neutral" or "positive" (visitor_message only)
	RuleFieldRating     = "rating"              // the visitor's rating, 1 to 5 (conversation_rated only)
	RuleFieldComment    = "rating.comment"      // what the visitor wrote with it (conversation_rated only)
	RuleFieldClose      = "close_reason"        // why the conversation closed (conversation_closed only)
	RuleFieldAgent      = "agent"               // the user ID of the person the conversation is assigned to ("" when none)
	RuleFieldPriority   = "priority"            // the conversation's priority, 0 to 10 (5 High, 10 Urgent)
	RuleFieldAttribute  = "visitor.attributes." // a prefix
	// RuleFieldConversation reads one of the conversation's fields (a
	// prefix: "fields.reason"), as stored: a checkbox "true" or "false".
	RuleFieldConversation = "fields."
)

// Condition operators. Comparisons ignore case.
const (
	RuleContains    = "contains"
	RuleNotContains = "not_contains"
	RuleEquals      = "equals"
	RuleNotEquals   = "not_equals"
	RuleMatches     = "matches" // RE2 regular expression, as Go's regexp
	RuleIsSet       = "is_set"
	RuleIsNotSet    = "is_not_set"
	// Numeric comparisons: both sides read as numbers; a value that is
	// not one (a field not set) never holds.
	RuleAtMost  = "at_most"
	RuleAtLeast = "at_least"
)

// Action types.
const (
	RuleAddLabel    = "add_label"    // Value: a label of the account
	RuleSetPriority = "set_priority" // Value: 0–10
	RuleSetSkill    = "set_skill"    // Value: a skill ID; routes a waiting conversation there
	RuleSendMessage = "send_message" // Value: text the visitor reads, once per conversation
	RuleAssignAgent = "assign_agent" // Value: a user ID; a waiting conversation goes to them when they are online with room
	RuleClose       = "close"        // Value: the close reason ("" is "resolved"); the last action
	RuleNotify      = "notify"       // Value: a user ID; a private note that mentions them, once per conversation and rule
)

// Macro is a named bundle of steps an agent applies to a conversation in
// one click (Zendesk's and Chatwoot's macros): "Refund approved" labels it
// billing, says so to the visitor, notes the refund for colleagues and
// closes it. Steps run in order as the agent who applies it.
type Macro struct {
	Name  string       `json:"name"`
	Steps []RuleAction `json:"steps"`
}

// Macro step types beyond the rules' add_label, set_priority and
// send_message (which a macro sends as the agent).
const (
	MacroAddNote = "add_note" // Value: a private note
	MacroClose   = "close"    // Value: the close reason ("" is "resolved")
)

// MaxMacros bounds an account's macros.
const MaxMacros = 50

// ValidateMacros checks macros against the account's labels, naming the
// part that is wrong: macros[1].steps[2].value.
func ValidateMacros(macros []Macro, labels []Label) error {
	if len(macros) > MaxMacros {
		return Errorf(EINVALID, "macros: %d macros; the limit is %d", len(macros), MaxMacros)
	}
	names := map[string]bool{}
	for i, m := range macros {
		at := "macros[" + strconv.Itoa(i) + "]"
		if err := checkUniqueName(at, "macro", m.Name, names); err != nil {
			return err
		}
		if len(m.Steps) == 0 || len(m.Steps) > MaxRuleParts {
			return Errorf(EINVALID, "%s.steps: a macro has 1 to %d steps", at, MaxRuleParts)
		}
		for j, s := range m.Steps {
			sat := at + ".steps[" + strconv.Itoa(j) + "]"
			switch s.Type {
			case RuleAddLabel, RuleSetPriority, RuleSendMessage:
				if err := s.check(sat, labels); err != nil {
					return err
				}
			case MacroAddNote:
				if strings.TrimSpace(s.Value) == "" || utf8.RuneCountInString(s.Value) > MaxRuleValue || !utf8.ValidString(s.Value) {
					return Errorf(EINVALID, "%s.value must be a note of 1 to %d characters", sat, MaxRuleValue)
				}
				if err := checkPlaceholders(sat, s.Value); err != nil {
					return err
				}
			case MacroClose:
				if utf8.RuneCountInString(s.Value) > 200 || !utf8.ValidString(s.Value) {
					return Errorf(EINVALID, "%s.value: a close reason has at most 200 characters", sat)
				}
				if j != len(m.Steps)-1 {
					return Errorf(EINVALID, "%s: close must be the last step", sat)
				}
			default:
				return Errorf(EINVALID, "%s.type must be add_label, set_priority, send_message, add_note or close, not %q", sat, s.Type)
			}
		}
	}
	return nil
}

// checkUniqueName checks the name of a list's item (a rule, a macro):
// given, at most 100 characters, and no other item's, whatever the case.
func checkUniqueName(at, kind, name string, seen map[string]bool) error {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return Errorf(EINVALID, "%s.name is required", at)
	case utf8.RuneCountInString(name) > 100 || !utf8.ValidString(name):
		return Errorf(EINVALID, "%s.name must be valid text of at most 100 characters", at)
	case seen[strings.ToLower(name)]:
		return Errorf(EINVALID, "%s.name: another %s is called %q", at, kind, name)
	}
	seen[strings.ToLower(name)] = true
	return nil
}

// Limits of automation rules.
const (
	MaxAutomationRules = 50
	MaxRuleParts       = 10 // conditions, and actions, per rule
	MaxRuleValue       = 1000
	MaxRulePattern     = 500
)

// ValidateRules checks rules against the account's labels and conversation
// fields; skills are the caller's to check (they live in the store). The
// error names the rule and the part: automation_rules[2].conditions[0].operator.
func ValidateRules(rules []AutomationRule, labels []Label, fields []ConversationField) error {
	if len(rules) > MaxAutomationRules {
		return Errorf(EINVALID, "automation_rules: %d rules; the limit is %d", len(rules), MaxAutomationRules)
	}
	names := map[string]bool{}
	for i, r := range rules {
		at := "automation_rules[" + strconv.Itoa(i) + "]"
		if err := checkUniqueName(at, "rule", r.Name, names); err != nil {
			return err
		}
		if !slices.Contains(RuleEvents, r.Event) {
			return Errorf(EINVALID, "%s.event must be one of %s, not %q", at, strings.Join(RuleEvents, ", "), r.Event)
		}
		if conds := len(r.Conditions) + len(r.AnyConditions); conds > MaxRuleParts || len(r.Actions) > MaxRuleParts {
			return Errorf(EINVALID, "%s has %d conditions and %d actions; the limit is %d of each", at, conds, len(r.Actions), MaxRuleParts)
		}
		if len(r.Actions) == 0 {
			return Errorf(EINVALID, "%s.actions: a rule needs at least one action", at)
		}
		if r.Match != "" && r.Match != RuleMatchAll && r.Match != RuleMatchAny {
			return Errorf(EINVALID, "%s.match must be %s or %s, not %q", at, RuleMatchAll, RuleMatchAny, r.Match)
		}
		if len(r.AnyConditions) > 0 && r.Match == RuleMatchAny {
			return Errorf(EINVALID, "%s.any_conditions go with match %s: with match %s, put them all in conditions", at, RuleMatchAll, RuleMatchAny)
		}
		for j, c := range r.Conditions {
			if err := c.check(at+".conditions["+strconv.Itoa(j)+"]", r.Event, fields); err != nil {
				return err
			}
		}
		for j, c := range r.AnyConditions {
			if err := c.check(at+".any_conditions["+strconv.Itoa(j)+"]", r.Event, fields); err != nil {
				return err
			}
		}
		for j, a := range r.Actions {
			aat := at + ".actions[" + strconv.Itoa(j) + "]"
			if r.Event == RuleOnConversationAssigned && (a.Type == RuleAssignAgent || a.Type == RuleSetSkill) {
				// Each would set off another assignment, and this rule again.
				return Errorf(EINVALID, "%s: %s cannot run when a conversation is assigned: it would assign it again", aat, a.Type)
			}
			if a.Type == RuleClose {
				if utf8.RuneCountInString(a.Value) > 200 || !utf8.ValidString(a.Value) {
					return Errorf(EINVALID, "%s.value: a close reason has at most 200 characters", aat)
				}
				if j != len(r.Actions)-1 {
					return Errorf(EINVALID, "%s: close must be the last action", aat)
				}
				continue
			}
			if err := a.check(aat, labels); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c RuleCondition) check(at, event string, fields []ConversationField) error {
	key, isField := strings.CutPrefix(c.Field, RuleFieldConversation)
	switch {
	case isField:
		f := FieldByKey(fields, key)
		if f == nil {
			return Errorf(EINVALID, "%s.field: the brand has no conversation field %q (Admin → Conversation fields)", at, key)
		}
		if c.Operator == RuleEquals || c.Operator == RuleNotEquals {
			// Compared as stored, case ignored: a list's option, a
			// checkbox's true or false, a date YYYY-MM-DD.
			if strings.TrimSpace(c.Value) == "" {
				return Errorf(EINVALID, "%s.value: say which value (is_set and is_not_set ask whether there is one)", at)
			}
			v := strings.TrimSpace(c.Value)
			if f.Type == FieldList { // the runner ignores case
				if i := slices.IndexFunc(f.Options, func(o string) bool { return strings.EqualFold(o, v) }); i >= 0 {
					v = f.Options[i]
				}
			}
			if _, err := f.Value(v); err != nil {
				return Errorf(EINVALID, "%s.value: %s", at, strings.TrimPrefix(ErrorMessage(err), "fields."+key+": "))
			}
		}
	case c.Field == RuleFieldMessage:
		if event != RuleOnVisitorMessage {
			return Errorf(EINVALID, "%s.field: %q is known only on %s", at, c.Field, RuleOnVisitorMessage)
		}
	case c.Field == RuleFieldHours:
		if (c.Operator != RuleEquals && c.Operator != RuleNotEquals) || (c.Value != "open" && c.Value != "closed") {
			return Errorf(EINVALID, "%s: business_hours takes equals or not_equals, and open or closed", at)
		}
	case c.Field == RuleFieldSentiment:
		if event != RuleOnVisitorMessage {
			return Errorf(EINVALID, "%s.field: %q is known only on %s", at, c.Field, RuleOnVisitorMessage)
		}
		if (c.Operator != RuleEquals && c.Operator != RuleNotEquals) || (c.Value != "negative" && c.Value != "neutral" && c.Value != "positive") {
			return Errorf(EINVALID, "%s: sentiment takes equals or not_equals, and negative, neutral or positive", at)
		}
	case c.Field == RuleFieldRating, c.Field == RuleFieldComment:
		if event != RuleOnConversationRated {
			return Errorf(EINVALID, "%s.field: %q is known only on %s", at, c.Field, RuleOnConversationRated)
		}
	case c.Field == RuleFieldClose:
		if event != RuleOnConversationClosed {
			return Errorf(EINVALID, "%s.field: %q is known only on %s", at, c.Field, RuleOnConversationClosed)
		}
	case c.Field == RuleFieldPriority:
		n, err := strconv.Atoi(strings.TrimSpace(c.Value))
		if c.Operator != RuleEquals && c.Operator != RuleNotEquals && c.Operator != RuleAtMost && c.Operator != RuleAtLeast || err != nil || n < MinPriority || n > MaxPriority {
			return Errorf(EINVALID, "%s: priority takes equals, not_equals, at_most or at_least, and a priority from %d to %d", at, MinPriority, MaxPriority)
		}
	case c.Field == RuleFieldAgent:
		if (c.Operator == RuleEquals || c.Operator == RuleNotEquals) && !HasIDPrefix(strings.TrimSpace(c.Value), "usr") {
			return Errorf(EINVALID, "%s.value: agent is compared with a user ID (usr_…); is_set and is_not_set ask whether anyone has it", at)
		}
		if c.Operator != RuleEquals && c.Operator != RuleNotEquals && c.Operator != RuleIsSet && c.Operator != RuleIsNotSet {
			return Errorf(EINVALID, "%s: agent takes equals, not_equals, is_set or is_not_set", at)
		}
	case c.Field == RuleFieldName, c.Field == RuleFieldEmail, c.Field == RuleFieldExternalID, c.Field == RuleFieldChannel:
	case strings.HasPrefix(c.Field, RuleFieldAttribute) && len(c.Field) > len(RuleFieldAttribute) && len(c.Field) <= len(RuleFieldAttribute)+100:
	default:
		return Errorf(EINVALID, "%s.field must be message, sentiment, rating, rating.comment, close_reason, agent, priority, visitor.name, visitor.email, visitor.external_id, channel, business_hours, visitor.attributes.<name> or fields.<key>, not %q", at, c.Field)
	}
	if len(c.Value) > MaxRuleValue || !utf8.ValidString(c.Value) {
		return Errorf(EINVALID, "%s.value must be valid text of at most %d bytes", at, MaxRuleValue)
	}
	switch c.Operator {
	case RuleContains, RuleNotContains, RuleEquals, RuleNotEquals:
		if c.Value == "" && (c.Operator == RuleContains || c.Operator == RuleNotContains) {
			return Errorf(EINVALID, "%s.value is required with %s", at, c.Operator)
		}
	case RuleMatches:
		if len(c.Value) > MaxRulePattern {
			return Errorf(EINVALID, "%s.value: the pattern has %d bytes; the limit is %d", at, len(c.Value), MaxRulePattern)
		}
		if _, err := regexp.Compile(c.Value); err != nil {
			return Errorf(EINVALID, "%s.value is not a valid pattern: %v", at, err)
		}
	case RuleIsSet, RuleIsNotSet:
	case RuleAtMost, RuleAtLeast:
		if _, err := strconv.ParseFloat(strings.TrimSpace(c.Value), 64); err != nil {
			return Errorf(EINVALID, "%s.value: %s compares numbers; %q is not one", at, c.Operator, c.Value)
		}
	default:
		return Errorf(EINVALID, "%s.operator must be contains, not_contains, equals, not_equals, matches, is_set, is_not_set, at_most or at_least, not %q", at, c.Operator)
	}
	return nil
}

func (a RuleAction) check(at string, labels []Label) error {
	switch a.Type {
	case RuleAddLabel:
		for _, l := range labels {
			if l.Name == a.Value {
				return nil
			}
		}
		return Errorf(EINVALID, "%s.value: %q is not one of the account's labels", at, a.Value)
	case RuleSetPriority:
		if n, err := strconv.Atoi(a.Value); err != nil || n < MinPriority || n > MaxPriority {
			return Errorf(EINVALID, "%s.value must be a priority from %d to %d", at, MinPriority, MaxPriority)
		}
	case RuleSetSkill:
		if !HasIDPrefix(a.Value, "skl") {
			return Errorf(EINVALID, "%s.value must be a skill ID", at)
		}
	case RuleAssignAgent, RuleNotify:
		if !HasIDPrefix(a.Value, "usr") {
			return Errorf(EINVALID, "%s.value must be a user ID", at)
		}
	case RuleSendMessage:
		if strings.TrimSpace(a.Value) == "" || utf8.RuneCountInString(a.Value) > MaxRuleValue || !utf8.ValidString(a.Value) {
			return Errorf(EINVALID, "%s.value must be a message of 1 to %d characters", at, MaxRuleValue)
		}
		return checkPlaceholders(at, a.Value)
	default:
		return Errorf(EINVALID, "%s.type must be add_label, set_priority, set_skill, send_message, assign_agent, notify or close, not %q", at, a.Type)
	}
	return nil
}

// Placeholders a macro's or a rule's text may hold, as canned responses
// do: {{visitor_first_name}}, with a fallback for a name not known,
// {{visitor_first_name|there}}.
var placeholder = regexp.MustCompile(`\{\{\s*([a-z_]+)\s*(?:\|([^}]*))?\}\}`)

// PlaceholderNames are the placeholders texts may use.
var PlaceholderNames = []string{"visitor_name", "visitor_first_name", "agent_name", "agent_first_name"}

// Placeholders returns the values of the placeholders for a visitor and an
// agent ("" for whoever is not known).
func Placeholders(visitor, agent string) map[string]string {
	first := func(s string) string {
		if f := strings.Fields(s); len(f) > 0 {
			return f[0]
		}
		return ""
	}
	return map[string]string{"visitor_name": strings.TrimSpace(visitor), "visitor_first_name": first(visitor),
		"agent_name": strings.TrimSpace(agent), "agent_first_name": first(agent)}
}

// FillPlaceholders puts values in text's placeholders; an empty value
// takes the placeholder's fallback.
func FillPlaceholders(text string, values map[string]string) string {
	return placeholder.ReplaceAllStringFunc(text, func(all string) string {
		m := placeholder.FindStringSubmatch(all)
		v, ok := values[m[1]]
		if !ok {
			return all
		}
		if v == "" {
			return strings.TrimSpace(m[2])
		}
		return v
	})
}

// checkPlaceholders refuses a placeholder no one fills: sent as it is, it
// would reach the visitor as "{{visitor_nmae}}".
func checkPlaceholders(at, text string) error {
	for _, m := range placeholder.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(PlaceholderNames, m[1]) {
			return Errorf(EINVALID, "%s.value: {{%s}} is no placeholder; there are %s", at, m[1], strings.Join(PlaceholderNames, ", "))
		}
	}
	return nil
}
