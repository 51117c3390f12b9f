package parley

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ConversationField is a detail the brand's people record on each
// conversation — an order number, the product, whether a refund was
// issued: Chatwoot's custom attributes, Zendesk's ticket fields,
// Intercom's conversation data (docs/routing.md, Conversation fields). The
// account defines them; each conversation holds its values as strings.
type ConversationField struct {
	Key         string   `json:"key"`   // a-z, 0-9 and _, from a letter; never changes
	Label       string   `json:"label"` // what the console shows
	Type        string   `json:"type"`  // FieldText, FieldNumber, FieldList, FieldCheckbox or FieldDate
	Options     []string `json:"options,omitempty"`
	Description string   `json:"description,omitempty"`
	// Required: the brand's people fill it in before they close a
	// conversation (as with required labels).
	Required bool `json:"required,omitempty"`
}

// Field types.
const (
	FieldText     = "text"     // up to MaxFieldText characters
	FieldNumber   = "number"   // a decimal number
	FieldList     = "list"     // one of Options
	FieldCheckbox = "checkbox" // "true" or "false"
	FieldDate     = "date"     // YYYY-MM-DD
)

// Limits of conversation fields.
const (
	MaxConversationFields = 30
	MaxFieldText          = 500
	MaxFieldOptions       = 50
)

var fieldKey = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// ValidateConversationFields checks an account's field definitions.
func ValidateConversationFields(defs []ConversationField) error {
	if len(defs) > MaxConversationFields {
		return Errorf(EINVALID, "conversation_fields: at most %d fields", MaxConversationFields)
	}
	seen := map[string]bool{}
	for i, f := range defs {
		at := fmt.Sprintf("conversation_fields[%d]", i)
		switch {
		case !fieldKey.MatchString(f.Key):
			return Errorf(EINVALID, "%s.key: 1 to 40 of a-z, 0-9 and _, starting with a letter", at)
		case seen[f.Key]:
			return Errorf(EINVALID, "%s.key: %q is defined twice", at, f.Key)
		case strings.TrimSpace(f.Label) == "" || utf8.RuneCountInString(f.Label) > 60 || !utf8.ValidString(f.Label):
			return Errorf(EINVALID, "%s.label: 1 to 60 characters", at)
		case utf8.RuneCountInString(f.Description) > 200 || !utf8.ValidString(f.Description):
			return Errorf(EINVALID, "%s.description: at most 200 characters", at)
		case f.Type != FieldText && f.Type != FieldNumber && f.Type != FieldList && f.Type != FieldCheckbox && f.Type != FieldDate:
			return Errorf(EINVALID, "%s.type: text, number, list, checkbox or date", at)
		case f.Type == FieldList && (len(f.Options) == 0 || len(f.Options) > MaxFieldOptions):
			return Errorf(EINVALID, "%s.options: a list has 1 to %d options", at, MaxFieldOptions)
		case f.Type != FieldList && len(f.Options) > 0:
			return Errorf(EINVALID, "%s.options: only a list has options", at)
		}
		for j, o := range f.Options {
			if strings.TrimSpace(o) == "" || utf8.RuneCountInString(o) > 100 || !utf8.ValidString(o) || slices.Index(f.Options, o) != j {
				return Errorf(EINVALID, "%s.options[%d]: 1 to 100 characters, each option once", at, j)
			}
		}
		seen[f.Key] = true
	}
	return nil
}

// Value checks a value for the field and returns it as stored: trimmed,
// a checkbox as "true" or "false", a date as YYYY-MM-DD. "" clears it.
func (f ConversationField) Value(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	bad := func(want string) error { return Errorf(EINVALID, "fields.%s: %s", f.Key, want) }
	switch f.Type {
	case FieldText:
		if utf8.RuneCountInString(v) > MaxFieldText || !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			return "", bad(fmt.Sprintf("text of at most %d characters", MaxFieldText))
		}
	case FieldNumber:
		if n, err := strconv.ParseFloat(v, 64); err != nil || len(v) > 40 || n != n {
			return "", bad("a number, such as 42 or 19.99")
		}
	case FieldList:
		if !slices.Contains(f.Options, v) {
			return "", bad("one of " + strings.Join(f.Options, ", "))
		}
	case FieldCheckbox:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return "", bad("true or false")
		}
		v = strconv.FormatBool(b)
	case FieldDate:
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return "", bad("a date, YYYY-MM-DD")
		}
		v = d.Format(time.DateOnly)
	}
	return v, nil
}

// FieldFilterValue is value as field key stores it, for looking
// conversations up by it (a list's filter, a saved view): the key must
// be one of defs, and the value one the field can hold, not empty. The
// error's message names neither the key nor the list; callers do.
func FieldFilterValue(defs []ConversationField, key, value string) (string, error) {
	def := FieldByKey(defs, key)
	if def == nil {
		return "", Errorf(EINVALID, "this brand has no such conversation field (Admin → Conversation fields)")
	}
	v, err := def.Value(value)
	if err != nil {
		return "", Errorf(EINVALID, "%s", strings.TrimPrefix(ErrorMessage(err), "fields."+key+": "))
	}
	if v == "" {
		return "", Errorf(EINVALID, "say which value to look for")
	}
	return v, nil
}

// FieldByKey returns the definition with that key, or nil.
func FieldByKey(defs []ConversationField, key string) *ConversationField {
	for i := range defs {
		if defs[i].Key == key {
			return &defs[i]
		}
	}
	return nil
}

// MissingFields returns the labels of the required fields values leaves
// empty, in the account's order.
func MissingFields(defs []ConversationField, values map[string]string) []string {
	var out []string
	for _, f := range defs {
		if f.Required && values[f.Key] == "" {
			out = append(out, f.Label)
		}
	}
	return out
}

// FieldChange is the data of conversation.fields_changed: the
// conversation as it is now, the keys that changed, and who changed them.
type FieldChange struct {
	*Conversation
	Changed   []string `json:"changed"`
	ChangedBy string   `json:"changed_by"`
	// Categories are the values of its list and checkbox fields now:
	// options the brand wrote, never anything about the visitor, so an
	// erased event keeps them (ErasureKeeps) and the metrics count
	// conversations by them — a contact centre's contact reasons and
	// wrap-up codes.
	Categories map[string]string `json:"categories,omitempty"`
}

// Categories are the keys of the fields whose values are options the
// brand wrote (a list's, a checkbox's): FieldChange.Categories.
func Categories(defs []ConversationField) []string {
	var keys []string
	for _, f := range defs {
		if f.Type == FieldList || f.Type == FieldCheckbox {
			keys = append(keys, f.Key)
		}
	}
	return keys
}
