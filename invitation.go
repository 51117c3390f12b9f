package parley

import "time"

// Invitation is an agent's invitation to a visitor browsing the brand's
// site (LivePerson's and Zendesk Chat's visitor list): it appears beside
// the launcher, and the conversation the visitor starts by answering it
// opens with its text and goes to that agent (docs/widget.md, Live
// visitors). The ID is the visitor's only way to answer it.
type Invitation struct {
	ID        string    `json:"id"`
	Text      string    `json:"text"`
	AgentID   string    `json:"agent_id"`
	AgentName string    `json:"agent_name"`
	At        time.Time `json:"at"`
	// Until is when it lapses unanswered: the page stops showing it, and
	// a late answer opens a conversation the usual way (the widget's
	// InvitationFor after At).
	Until time.Time `json:"until"`
}

// Lapsed reports whether the invitation has run out at now.
func (inv *Invitation) Lapsed(now time.Time) bool {
	return !inv.Until.IsZero() && !now.Before(inv.Until)
}

// LiveVisitor is a page showing the brand's widget now.
type LiveVisitor struct {
	PV       string    `json:"pv"` // the page view's ID
	URL      string    `json:"url"`
	Title    string    `json:"title,omitempty"`
	Since    time.Time `json:"since"`    // when the page loaded
	Chatting bool      `json:"chatting"` // the visitor has a conversation open
	// Invitation is an agent's, not yet answered, declined, withdrawn
	// or lapsed.
	Invitation *Invitation `json:"invitation,omitempty"`
	Declined   bool        `json:"declined,omitempty"` // the visitor dismissed the last one
	// Visitor is who is on the page, once their chat window has a visitor
	// token (its heartbeat says): the contact's ID, and their name and
	// email when known. Nil before that.
	Visitor *LiveContact `json:"visitor,omitempty"`
}

// LiveContact names the visitor on a live page.
type LiveContact struct {
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// MaxInvitationChars bounds an invitation's text.
const MaxInvitationChars = 200
