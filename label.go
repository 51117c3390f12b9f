package parley

import (
	"fmt"
	"regexp"
	"slices"
	"unicode"
	"unicode/utf8"
)

// Label is a tag the brand's staff put on conversations to say what they
// were about — "billing", "bug", "vip" — as Chatwoot's labels and
// LivePerson's wrap-up codes do. The name is the label's identity.
type Label struct {
	Name        string `json:"name"`
	Color       string `json:"color,omitempty"` // "#rrggbb"; the console picks one when empty
	Description string `json:"description,omitempty"`
}

// Label limits.
const (
	MaxLabels             = 100 // defined per account
	MaxLabelName          = 32
	MaxLabelDescription   = 200
	MaxConversationLabels = 10 // on one conversation
)

var labelColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// ValidLabelName reports why name cannot be a label's name, or nil: 1 to
// 32 lower-case letters, digits, '-' and '_' (no spaces, so a name reads
// the same in a filter, a CSV cell and a URL).
func ValidLabelName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > MaxLabelName || !utf8.ValidString(name) {
		return fmt.Errorf("a label's name is 1 to %d characters", MaxLabelName)
	}
	for _, r := range name {
		switch {
		case r == '-' || r == '_' || unicode.IsDigit(r) || unicode.IsLower(r):
		case unicode.IsLetter(r) && !unicode.IsUpper(r): // letters without case
		default:
			return fmt.Errorf("label %q: only lower-case letters, digits, '-' and '_'", name)
		}
	}
	return nil
}

// ValidateLabels checks an account's label definitions: valid names,
// each once, colours "#rrggbb", at most MaxLabels.
func ValidateLabels(labels []Label) error {
	if len(labels) > MaxLabels {
		return Errorf(EINVALID, "labels: at most %d labels", MaxLabels)
	}
	seen := make(map[string]bool, len(labels))
	for i, l := range labels {
		at := fmt.Sprintf("labels[%d]", i)
		if err := ValidLabelName(l.Name); err != nil {
			return Errorf(EINVALID, "%s.name: %v", at, err)
		}
		if seen[l.Name] {
			return Errorf(EINVALID, "%s.name: %q is defined twice", at, l.Name)
		}
		seen[l.Name] = true
		if l.Color != "" && !labelColor.MatchString(l.Color) {
			return Errorf(EINVALID, "%s.color: %q is not a colour of the form #rrggbb", at, l.Color)
		}
		if utf8.RuneCountInString(l.Description) > MaxLabelDescription || !utf8.ValidString(l.Description) {
			return Errorf(EINVALID, "%s.description: at most %d characters", at, MaxLabelDescription)
		}
	}
	return nil
}

// ConversationLabels checks labels for a conversation of an account
// that defines defined, and returns them sorted without repeats: each must
// be one of the account's labels, at most MaxConversationLabels.
func ConversationLabels(defined []Label, labels []string) ([]string, error) {
	out := make([]string, 0, len(labels))
	for _, name := range labels {
		if !slices.ContainsFunc(defined, func(l Label) bool { return l.Name == name }) {
			return nil, Errorf(EINVALID, "labels: %q is not one of the account's labels (an admin defines them in the settings)", name)
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	if len(out) > MaxConversationLabels {
		return nil, Errorf(EINVALID, "labels: at most %d on one conversation", MaxConversationLabels)
	}
	slices.Sort(out)
	return out, nil
}

// LabelChange is conversation.labeled's data: the conversation with its
// new labels, what changed and who changed it.
type LabelChange struct {
	*Conversation
	Added     []string `json:"added"`
	Removed   []string `json:"removed"`
	LabeledBy string   `json:"labeled_by"`
}
