package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/auth"
)

// scimClient calls the SCIM endpoints as an identity provider does.
type scimClient struct {
	t     *testing.T
	base  string
	token string
}

func (c scimClient) call(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+"/scim/v2"+path, rd)
	req.Header.Set("Content-Type", "application/scim+json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if len(raw) > 0 && res.Header.Get("Content-Type") != "application/scim+json" {
		c.t.Fatalf("%s %s: Content-Type %q", method, path, res.Header.Get("Content-Type"))
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: %s", method, path, raw)
		}
	}
	return res.StatusCode, out
}

// TestIdentityProvidersProvisionPeopleOverSCIM: the requests Okta and
// Microsoft Entra ID send, in their shapes — find, create, update,
// deactivate (which logs the person out at once), delete — kept to the
// brand of the admin API key.
func TestIdentityProvidersProvisionPeopleOverSCIM(t *testing.T) {
	ts := startServer(t, t.TempDir())
	acme, globex := seedBrand(t, ts, "Acme"), seedBrand(t, ts, "Globex")
	idp := scimClient{t: t, base: ts.url, token: acme.apiKey}

	// What the provider reads first.
	if st, cfg := idp.call("GET", "/ServiceProviderConfig", nil); st != 200 || cfg["patch"].(map[string]any)["supported"] != true {
		t.Fatalf("ServiceProviderConfig: %d %v", st, cfg)
	}
	if st, rt := idp.call("GET", "/ResourceTypes", nil); st != 200 || rt["totalResults"].(float64) != 1 {
		t.Fatalf("ResourceTypes: %d %v", st, rt)
	}

	// Okta looks the person up, then creates them.
	if st, list := idp.call("GET", `/Users?filter=userName%20eq%20%22nina%40acme.test%22&startIndex=1&count=100`, nil); st != 200 || list["totalResults"].(float64) != 0 {
		t.Fatalf("lookup before: %d %v", st, list)
	}
	st, nina := idp.call("POST", "/Users", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "nina@acme.test",
		"name": map[string]string{"givenName": "Nina", "familyName": "Novak"}, "emails": []map[string]any{{"primary": true, "value": "nina@acme.test", "type": "work"}},
		"displayName": "Nina Novak", "locale": "en-US", "externalId": "00u1abcd", "active": true,
	})
	if st != 201 || nina["userName"] != "nina@acme.test" || nina["active"] != true || nina["id"] == nil {
		t.Fatalf("create: %d %v", st, nina)
	}
	id := nina["id"].(string)
	u, err := ts.Store.FindUser(t.Context(), acme.account.ID, id)
	if err != nil || u.Name != "Nina Novak" || u.Role != parley.RoleAgent || !u.Active || u.ExternalID != "00u1abcd" || u.PasswordHash != "" {
		t.Fatalf("the person made: %+v %v", u, err)
	}
	if st, e := idp.call("POST", "/Users", map[string]any{"userName": "nina@acme.test"}); st != 409 || e["scimType"] != "uniqueness" {
		t.Fatalf("creating her twice: %d %v", st, e)
	}
	if st, e := idp.call("POST", "/Users", map[string]any{"userName": globex.agent.Email}); st != 409 {
		t.Fatalf("an email of another brand: %d %v", st, e)
	}
	if st, e := idp.call("POST", "/Users", map[string]any{"userName": "no-at-sign"}); st != 400 || e["scimType"] != "invalidValue" {
		t.Fatalf("a userName that is not an email: %d %v", st, e)
	}

	// Entra ID looks people up by externalId, and by userName.
	for _, f := range []string{`externalId%20eq%20%2200u1abcd%22`, `userName%20eq%20%22NINA%40acme.test%22`} {
		if st, list := idp.call("GET", "/Users?filter="+f, nil); st != 200 || list["totalResults"].(float64) != 1 ||
			list["Resources"].([]any)[0].(map[string]any)["id"] != id {
			t.Fatalf("filter %s: %d %v", f, st, list)
		}
	}
	if st, e := idp.call("GET", `/Users?filter=userName%20co%20%22nina%22`, nil); st != 400 || e["scimType"] != "invalidFilter" {
		t.Fatalf("an operator Parley does not read: %d %v", st, e)
	}
	// Paging: five people, two at a time.
	if st, page := idp.call("GET", "/Users?startIndex=3&count=2", nil); st != 200 || page["totalResults"].(float64) != 4 || page["itemsPerPage"].(float64) != 2 || page["startIndex"].(float64) != 3 {
		t.Fatalf("a page: %d %v", st, page)
	}

	// Okta's PUT replaces the profile; the email cannot change.
	if st, got := idp.call("PUT", "/Users/"+id, map[string]any{"userName": "nina@acme.test", "name": map[string]string{"givenName": "Nina", "familyName": "Novak-Berg"},
		"roles": []map[string]any{{"value": "supervisor", "primary": true}}, "active": true}); st != 200 || got["displayName"] != "Nina Novak-Berg" ||
		got["roles"].([]any)[0].(map[string]any)["value"] != "supervisor" {
		t.Fatalf("PUT: %d %v", st, got)
	}
	if st, e := idp.call("PUT", "/Users/"+id, map[string]any{"userName": "nina.berg@acme.test"}); st != 400 || e["scimType"] != "mutability" {
		t.Fatalf("a new email: %d %v", st, e)
	}

	// The person works in the console; Entra deactivates her with its
	// string "False": her session ends and her socket closes at once.
	if err := setPassword(t, ts, acme.account.ID, id); err != nil {
		t.Fatal(err)
	}
	u, _ = ts.Store.FindUser(t.Context(), acme.account.ID, id)
	nc := ts.login(t, u)
	ws := sessionWS(t, ts, nc)
	st, got := idp.call("PATCH", "/Users/"+id, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []map[string]any{{"op": "Replace", "path": "active", "value": "False"}, {"op": "Add", "path": "title", "value": "Agent"}}})
	if st != 200 || got["active"] != false {
		t.Fatalf("PATCH active False: %d %v", st, got)
	}
	if code := ws.waitClosed(); code != 4001 {
		t.Fatalf("her socket closed with %d, want 4001", code)
	}
	if st := nc.do("GET", "/api/v1/me", nil, nil); st != 401 {
		t.Fatalf("her session after the deactivation: %d", st)
	}
	// Okta's PATCH with a value object brings her back.
	if st, got := idp.call("PATCH", "/Users/"+id, map[string]any{"Operations": []map[string]any{{"op": "replace", "value": map[string]any{"active": true}}}}); st != 200 || got["active"] != true {
		t.Fatalf("PATCH active true: %d %v", st, got)
	}
	if st, e := idp.call("PATCH", "/Users/"+id, map[string]any{"Operations": []map[string]any{{"op": "replace", "path": "roles", "value": []map[string]any{{"value": "owner"}}}}}); st != 400 || !strings.Contains(e["detail"].(string), "Operations[0]") {
		t.Fatalf("a role Parley does not have: %d %v", st, e)
	}

	// DELETE deactivates: conversations keep naming her. To SCIM she is
	// gone (RFC 7644 §3.6): every call about her is 404, and lists leave
	// her out.
	if st, _ := idp.call("DELETE", "/Users/"+id, nil); st != 204 {
		t.Fatalf("DELETE: %d", st)
	}
	if u, _ := ts.Store.FindUser(t.Context(), acme.account.ID, id); u.Active || !u.Deprovisioned || u.Name == "" {
		t.Fatalf("after DELETE she is %+v; want kept, inactive and deprovisioned", u)
	}
	for _, c := range []struct {
		method string
		body   any
	}{
		{"GET", nil},
		{"PUT", map[string]any{"userName": "nina@acme.test", "active": true}},
		{"PATCH", map[string]any{"Operations": []map[string]any{{"op": "replace", "path": "active", "value": true}}}},
		{"DELETE", nil},
	} {
		if st, e := idp.call(c.method, "/Users/"+id, c.body); st != 404 || e["schemas"].([]any)[0] != "urn:ietf:params:scim:api:messages:2.0:Error" {
			t.Fatalf("%s after DELETE: %d %v", c.method, st, e)
		}
	}
	if u, _ := ts.Store.FindUser(t.Context(), acme.account.ID, id); u.Active {
		t.Fatal("a PUT or PATCH after DELETE brought her back")
	}
	if st, list := idp.call("GET", `/Users?filter=userName%20eq%20%22nina%40acme.test%22`, nil); st != 200 || list["totalResults"].(float64) != 0 {
		t.Fatalf("lookup after DELETE: %d %v", st, list)
	}
	// Made again, she comes back: the same person, as the provider now
	// says, with her conversations.
	st, again := idp.call("POST", "/Users", map[string]any{"userName": "nina@acme.test", "displayName": "Nina Novak-Ruiz", "externalId": "00u1abcd"})
	if st != 201 || again["id"] != id || again["active"] != true || again["displayName"] != "Nina Novak-Ruiz" {
		t.Fatalf("created again after DELETE: %d %v (want 201, id %s)", st, again, id)
	}
	if st, _ := idp.call("GET", "/Users/"+id, nil); st != 200 {
		t.Fatalf("GET once made again: %d", st)
	}
	// And an admin who reactivates someone the provider deleted brings
	// them back to SCIM too.
	if st, _ := idp.call("DELETE", "/Users/"+id, nil); st != 204 {
		t.Fatalf("DELETE again: %d", st)
	}
	if st := ts.withKey(t, acme.apiKey).do("PATCH", "/api/v1/users/"+id, map[string]any{"active": true}, nil); st != 200 {
		t.Fatalf("an admin reactivates: %d", st)
	}
	if st, got := idp.call("GET", "/Users/"+id, nil); st != 200 || got["active"] != true {
		t.Fatalf("GET after an admin reactivated her: %d %v", st, got)
	}

	// Only the brand's own people, only with an admin key.
	if st, _ := idp.call("GET", "/Users/"+globex.agent.ID, nil); st != 404 {
		t.Fatalf("another brand's person: %d", st)
	}
	if st, _ := idp.call("PATCH", "/Users/"+globex.agent.ID, map[string]any{"Operations": []map[string]any{{"op": "replace", "path": "active", "value": false}}}); st != 404 {
		t.Fatalf("deactivating another brand's person: %d", st)
	}
	if g, _ := ts.Store.FindUser(t.Context(), globex.account.ID, globex.agent.ID); !g.Active {
		t.Fatal("another brand's person was deactivated")
	}
	var agentKey struct {
		Key string `json:"secret"`
	}
	ts.withKey(t, acme.apiKey).do("POST", "/api/v1/api-keys", map[string]any{"name": "agent key", "role": "agent"}, &agentKey)
	if st, e := (scimClient{t: t, base: ts.url, token: agentKey.Key}).call("GET", "/Users", nil); st != 403 || e["schemas"].([]any)[0] != "urn:ietf:params:scim:api:messages:2.0:Error" {
		t.Fatalf("an agent's key: %d %v", st, e)
	}
	if st, _ := (scimClient{t: t, base: ts.url}).call("GET", "/Users", nil); st != 401 {
		t.Fatalf("no token: %d", st)
	}
	if st, _ := idp.call("GET", "/Groups", nil); st != 404 {
		t.Fatalf("Groups: %d", st)
	}

	// Every change is in the brand's audit log.
	var audit struct {
		Entries []parley.AuditEntry `json:"entries"`
	}
	ts.withKey(t, acme.apiKey).do("GET", "/api/v1/audit-log?limit=200", nil, &audit)
	seen := map[string]bool{}
	for _, e := range audit.Entries {
		if strings.HasPrefix(e.Action, "POST /scim") || strings.HasPrefix(e.Action, "PATCH /scim") || strings.HasPrefix(e.Action, "DELETE /scim") || strings.HasPrefix(e.Action, "PUT /scim") {
			seen[e.Action+" "+http.StatusText(e.Status)] = true
		}
	}
	for _, want := range []string{"POST /scim/v2/Users Created", "POST /scim/v2/Users Conflict", "PUT /scim/v2/Users/{id} OK", "PATCH /scim/v2/Users/{id} OK", "DELETE /scim/v2/Users/{id} No Content"} {
		if !seen[want] {
			t.Errorf("audit log lacks %q: %v", want, seen)
		}
	}
}

// setPassword gives a person made by provisioning (who has none) the
// test password, so a test can log in as them.
func setPassword(t *testing.T, ts *testServer, accountID, id string) error {
	hash, err := auth.HashPassword(password, fastPasswords)
	if err != nil {
		return err
	}
	_, _, err = ts.Store.ChangeUser(t.Context(), accountID, id, nil, func(u *parley.User) error { u.PasswordHash = hash; return nil })
	return err
}
