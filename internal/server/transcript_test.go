package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestATranscriptReadsAsTheConversationWent: the agent downloads the
// conversation as text — the visitor's and the agent's lines, the notes
// in their place when asked for — and the visitor their own, without the
// notes (asking for them is refused).
func TestATranscriptReadsAsTheConversationWent(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, brand.account.ID)
	conv := v.open(t)
	agent := ts.login(t, brand.agent)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Where is order 1042?"}, nil)
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/accept", nil, nil)
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/notes", map[string]any{"text": "Carrier lost it"}, nil)
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "It ships again today.\nSorry!"}, nil)
	path := "/api/v1/conversations/" + conv.ID + "/transcript"

	st, raw := agent.raw("GET", path+"?notes=1", nil)
	text := string(raw)
	if st != 200 {
		t.Fatalf("transcript: status %d %s", st, raw)
	}
	order := []string{"Visitor: Where is order 1042?", "Note from " + brand.agent.Name + ": Carrier lost it", brand.agent.Name + ": It ships again today.\n    Sorry!"}
	at := 0
	for _, want := range order {
		i := strings.Index(text[at:], want)
		if i < 0 {
			t.Fatalf("the transcript lacks %q after position %d:\n%s", want, at, text)
		}
		at += i + len(want)
	}
	req, _ := http.NewRequest("GET", ts.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+v.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") ||
		res.Header.Get("Content-Disposition") != `attachment; filename="conversation-`+conv.ID+`.txt"` {
		t.Fatalf("the visitor's transcript: %d %v", res.StatusCode, res.Header)
	}
	if strings.Contains(string(body), "Carrier lost it") || !strings.Contains(string(body), "It ships again today.") {
		t.Fatalf("the visitor's transcript:\n%s", body)
	}
	if st, _ := v.raw("GET", path+"?notes=1", nil); st != 403 {
		t.Fatalf("a visitor asking for the notes: status %d", st)
	}
}
