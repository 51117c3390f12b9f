package parley

import (
	"encoding/json"
	"testing"
)

// FuzzValidateRules: any list of rules an admin saves is accepted or
// refused with a precise error naming its part — never a panic
// (docs/routing.md, Automation rules).
func FuzzValidateRules(f *testing.F) {
	for _, s := range []string{
		`[{"name":"Refunds","event":"visitor_message","conditions":[{"field":"message","operator":"contains","value":"refund"}],"actions":[{"type":"add_label","value":"billing"}]}]`,
		`[{"name":"Bad rating","event":"conversation_rated","conditions":[{"field":"rating","operator":"at_most","value":"2"}],"actions":[{"type":"notify","value":"usr_1"}]}]`,
		`[{"name":"x","event":"fields_changed","conditions":[{"field":"fields.reason","operator":"equals","value":"Damaged"}],"actions":[{"type":"close","value":""}]}]`,
		`[{"name":"p","event":"visitor_message","conditions":[{"field":"message","operator":"matches","value":"(a+)+$"}],"actions":[{"type":"set_priority","value":"99"}]}]`,
		`[{}]`, `[]`,
	} {
		f.Add(s)
	}
	labels := []Label{{Name: "billing"}}
	fields := []ConversationField{{Key: "reason", Label: "Reason", Type: FieldList, Options: []string{"Damaged", "Sizing"}}}
	f.Fuzz(func(t *testing.T, raw string) {
		var rules []AutomationRule
		if json.Unmarshal([]byte(raw), &rules) != nil {
			return
		}
		if err := ValidateRules(rules, labels, fields); err != nil && ErrorCode(err) != EINVALID {
			t.Fatalf("error code %q: %v", ErrorCode(err), err)
		}
		var macros []Macro
		if json.Unmarshal([]byte(raw), &macros) == nil {
			if err := ValidateMacros(macros, labels); err != nil && ErrorCode(err) != EINVALID {
				t.Fatalf("macros: error code %q: %v", ErrorCode(err), err)
			}
		}
	})
}
