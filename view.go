package parley

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// InboxView is a filter of the inbox a person saved under a name, as
// Zendesk's personal views and Chatwoot's folders: one of the console's
// lists, and the label, conversation fields and search it narrows to
// (docs/routing.md, Saved views). Each person has their own.
type InboxView struct {
	Name   string            `json:"name"`
	Tab    string            `json:"tab"`
	Label  string            `json:"label,omitempty"`
	Fields map[string]string `json:"fields,omitempty"` // key → value, as ConversationFilter.Fields
	Query  string            `json:"q,omitempty"`
}

// Limits of saved views.
const (
	MaxInboxViews      = 20
	MaxInboxViewFields = 5
)

// InboxTabs are the console's conversation lists a view starts from.
var InboxTabs = []string{"queued", "mine", "open", "snoozed", "bot", "closed", "mentions"}

// ValidateInboxViews checks views (a person's, or the team's: list names
// them in errors, "views" or "inbox_views") against the account's
// conversation fields and returns them as stored (names and search
// trimmed, field values normalised), naming the part that is wrong:
// views[2].fields.reason.
func ValidateInboxViews(list string, views []InboxView, defs []ConversationField) ([]InboxView, error) {
	if len(views) > MaxInboxViews {
		return nil, Errorf(EINVALID, "%s: %d views; the limit is %d", list, len(views), MaxInboxViews)
	}
	out := make([]InboxView, 0, len(views))
	names := map[string]bool{}
	for i, v := range views {
		at := fmt.Sprintf("%s[%d]", list, i)
		v.Name, v.Query = strings.TrimSpace(v.Name), strings.TrimSpace(v.Query)
		switch {
		case v.Name == "" || utf8.RuneCountInString(v.Name) > 40 || !utf8.ValidString(v.Name):
			return nil, Errorf(EINVALID, "%s.name: 1 to 40 characters", at)
		case names[strings.ToLower(v.Name)]:
			return nil, Errorf(EINVALID, "%s.name: another view is called %q", at, v.Name)
		case !slices.Contains(InboxTabs, v.Tab):
			return nil, Errorf(EINVALID, "%s.tab must be one of %s, not %q", at, strings.Join(InboxTabs, ", "), v.Tab)
		case len(v.Query) > 200 || !utf8.ValidString(v.Query):
			return nil, Errorf(EINVALID, "%s.q: at most 200 bytes of text", at)
		case len(v.Fields) > MaxInboxViewFields:
			return nil, Errorf(EINVALID, "%s.fields: at most %d", at, MaxInboxViewFields)
		}
		names[strings.ToLower(v.Name)] = true
		if v.Label != "" {
			if err := ValidLabelName(v.Label); err != nil {
				return nil, Errorf(EINVALID, "%s.label: %v", at, err)
			}
		}
		fields := map[string]string{}
		for key, value := range v.Fields {
			norm, err := FieldFilterValue(defs, key, value)
			if err != nil {
				return nil, Errorf(EINVALID, "%s.fields.%s: %s", at, key, ErrorMessage(err))
			}
			fields[key] = norm
		}
		v.Fields = nil
		if len(fields) > 0 {
			v.Fields = fields
		}
		out = append(out, v)
	}
	return out, nil
}
