package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/server"
)

// TestEveryRouteKeepsAccountsApart calls every REST route with account A's
// admin credentials and account B's IDs: each answers 404 (or refuses the
// reference) and no response carries B's data.
func TestEveryRouteKeepsAccountsApart(t *testing.T) {
	ts := startServer(t, t.TempDir())
	a := seedBrand(t, ts, "Alpha")
	b := seedBrand(t, ts, "Beta")
	bVisitor := ts.newVisitor(t, b.account.ID)
	bConv := bVisitor.open(t)
	bVisitor.do("POST", "/api/v1/conversations/"+bConv.ID+"/messages", map[string]any{"text": "B's secret"}, nil)
	var bSkill parley.Skill
	ts.withKey(t, b.apiKey).do("POST", "/api/v1/skills", map[string]any{"name": "beta-only"}, &bSkill)
	bKeyID := strings.SplitN(b.apiKey, ".", 2)[0]
	var bFile struct{ Message parley.Message }
	bVisitor.do("POST", "/api/v1/conversations/"+bConv.ID+"/attachments?name=b.png", pngBytes, &bFile)
	bAttachment := bFile.Message.Attachment.ID
	var bCanned parley.CannedResponse
	ts.withKey(t, b.apiKey).do("POST", "/api/v1/canned-responses", map[string]any{"shortcut": "secret", "text": "B's secret reply"}, &bCanned)
	var bHook parley.Webhook
	ts.withKey(t, b.apiKey).do("POST", "/api/v1/webhooks", map[string]any{"url": "https://b.example.com/hook"}, &bHook)
	bVisitor.do("POST", "/api/v1/conversations/"+bConv.ID+"/messages", map[string]any{"text": "B's secret again"}, nil)
	var bDelivery string
	waitFor(t, func() bool {
		ds, _ := ts.Store.ListDeliveries(t.Context(), b.account.ID, bHook.ID, 10)
		if len(ds) > 0 {
			bDelivery = ds[0].ID
		}
		return bDelivery != ""
	})
	ts.newVisitor(t, a.account.ID).open(t) // A has data of its own
	if _, err := ts.Store.SetAgentStatus(t.Context(), b.account.ID, b.agent.ID, parley.StatusChange{Status: parley.StatusOnline, Cause: parley.CauseAgent}); err != nil {
		t.Fatal(err)
	}
	ts.withKey(t, b.apiKey).do("PUT", "/api/v1/bot", map[string]any{"enabled": false, "handoff": map[string]any{"skill": bSkill.ID},
		"articles": []map[string]any{{"id": "vault", "title": "Vault code", "body": "B's bot secret"}}}, nil)
	if err := ts.Store.AppendEvent(t.Context(), &parley.Event{AccountID: b.account.ID, Type: parley.EventBotMissed, ConversationID: bConv.ID,
		Data: json.RawMessage(`{"question":"B's secret question"}`)}); err != nil {
		t.Fatal(err)
	}

	// What each route is called with: B's IDs in the path, the query and the body.
	type call struct {
		path   string
		body   any
		status int // expected; lists answer 200 with only A's data
	}
	calls := map[string]call{
		"POST /api/v1/auth/login":                               {"/api/v1/auth/login", map[string]any{"email": b.admin.Email, "password": "wrong password"}, 401},
		"POST /api/v1/auth/sso/start":                           {"/api/v1/auth/sso/start", map[string]any{"email": b.admin.Email}, 404}, // B has no single sign-on
		"GET /api/v1/auth/sso/start":                            {"/api/v1/auth/sso/start?account=" + b.account.ID, nil, 200},            // back to the console's login, with the reason
		"GET /api/v1/auth/sso/callback":                         {"/api/v1/auth/sso/callback?state=x&code=y", nil, 200},                  // likewise
		"GET /api/v1/sso":                                       {"/api/v1/sso", nil, 200},
		"POST /api/v1/auth/passkey/start":                       {"/api/v1/auth/passkey/start", nil, 400}, // the test server is at an IP address: no passkeys there
		"POST /api/v1/auth/passkey/finish":                      {"/api/v1/auth/passkey/finish", map[string]any{"credential": map[string]any{"id": "x"}}, 401},
		"GET /api/v1/me/passkeys":                               {"/api/v1/me/passkeys", nil, 403}, // a person's only
		"POST /api/v1/me/passkeys/start":                        {"/api/v1/me/passkeys/start", map[string]any{"password": "x"}, 403},
		"POST /api/v1/me/passkeys":                              {"/api/v1/me/passkeys", map[string]any{"credential": map[string]any{"id": "x"}}, 403},
		"DELETE /api/v1/me/passkeys/{id}":                       {"/api/v1/me/passkeys/x", nil, 403},
		"PATCH /api/v1/me/passkeys/{id}":                        {"/api/v1/me/passkeys/x", map[string]any{"name": "mine"}, 403},
		"PUT /api/v1/sso":                                       {"/api/v1/sso", map[string]any{"issuer": "ftp://a.example.com", "client_id": "x", "client_secret": "y"}, 400},
		"DELETE /api/v1/sso":                                    {"/api/v1/sso", nil, 204},
		"POST /api/v1/auth/logout":                              {"/api/v1/auth/logout", nil, 204}, // an API key has no session: nothing to end
		"GET /api/v1/me":                                        {"/api/v1/me", nil, 200},
		"POST /api/v1/conversations/{id}/macro":                 {"/api/v1/conversations/" + bConv.ID + "/macro", map[string]any{"name": "x"}, 404},
		"GET /api/v1/consumers":                                 {"/api/v1/consumers?q=B", nil, 200}, // only A's contacts
		"PATCH /api/v1/consumers/{id}":                          {"/api/v1/consumers/" + bVisitor.consumer.ID, map[string]any{"name": "hijacked"}, 404},
		"GET /api/v1/conversations/{id}/activity":               {"/api/v1/conversations/" + bConv.ID + "/activity", nil, 404},
		"GET /api/v1/conversations/{id}/suggestions":            {"/api/v1/conversations/" + bConv.ID + "/suggestions?q=refund", nil, 404},
		"POST /api/v1/conversations/{id}/messages/{seq}/redact": {"/api/v1/conversations/" + bConv.ID + "/messages/1/redact", nil, 404},
		"POST /api/v1/conversations/{id}/notes/{note}/redact":   {"/api/v1/conversations/" + bConv.ID + "/notes/note_x/redact", nil, 404},
		"POST /api/v1/me/mentions/seen":                         {"/api/v1/me/mentions/seen", nil, 403},
		"GET /api/v1/me/views":                                  {"/api/v1/me/views", nil, 403},
		"PUT /api/v1/me/views":                                  {"/api/v1/me/views", map[string]any{"views": []any{}}, 403},
		"POST /api/v1/me/sessions/end-others":                   {"/api/v1/me/sessions/end-others", nil, 403},
		"PATCH /api/v1/me":                                      {"/api/v1/me", map[string]any{"mention_emails": false}, 403},                                         // a person's only
		"GET /api/v1/me/metrics":                                {"/api/v1/me/metrics", nil, 403},                                                                     // a person's only
		"PUT /api/v1/me/password":                               {"/api/v1/me/password", map[string]any{"current_password": "x", "new_password": "long enough"}, 403}, // a person's only
		"POST /api/v1/me/two-factor":                            {"/api/v1/me/two-factor", map[string]any{"password": "x"}, 403},
		"GET /api/v1/me/two-factor/qr.png":                      {"/api/v1/me/two-factor/qr.png", nil, 403},
		"POST /api/v1/me/two-factor/confirm":                    {"/api/v1/me/two-factor/confirm", map[string]any{"code": "123456"}, 403},
		"POST /api/v1/me/two-factor/disable":                    {"/api/v1/me/two-factor/disable", map[string]any{"password": "x"}, 403},
		"POST /api/v1/me/two-factor/recovery-codes":             {"/api/v1/me/two-factor/recovery-codes", map[string]any{"password": "x"}, 403},
		"DELETE /api/v1/me/two-factor/trusted-browsers":         {"/api/v1/me/two-factor/trusted-browsers", nil, 403}, // a person's own: keys have none
		"DELETE /api/v1/users/{id}/two-factor":                  {"/api/v1/users/" + b.agent.ID + "/two-factor", nil, 404},
		"PUT /api/v1/users/{id}/photo":                          {"/api/v1/users/" + b.agent.ID + "/photo", pngBytes, 404},
		"DELETE /api/v1/users/{id}/photo":                       {"/api/v1/users/" + b.agent.ID + "/photo", nil, 404},
		"PUT /api/v1/me/photo":                                  {"/api/v1/me/photo", pngBytes, 403}, // a person's only
		"DELETE /api/v1/me/photo":                               {"/api/v1/me/photo", nil, 403},
		"DELETE /api/v1/users/{id}/sso-link":                    {"/api/v1/users/" + b.agent.ID + "/sso-link", nil, 404},
		"POST /api/v1/consumer-tokens":                          {"/api/v1/consumer-tokens", map[string]any{"account_id": "acc_missing0000000000000000000"}, 404},
		"GET /api/v1/users":                                     {"/api/v1/users", nil, 200},
		"POST /api/v1/users":                                    {"/api/v1/users", map[string]any{"email": "new@alpha.test", "password": "long enough", "skills": []string{bSkill.ID}}, 400},
		"GET /api/v1/users/{id}":                                {"/api/v1/users/" + b.agent.ID, nil, 404},
		"PATCH /api/v1/users/{id}":                              {"/api/v1/users/" + b.agent.ID, map[string]any{"name": "hijacked"}, 404},
		"GET /api/v1/skills":                                    {"/api/v1/skills", nil, 200},
		"PATCH /api/v1/conversations/{id}/fields":               {"/api/v1/conversations/" + bConv.ID + "/fields", map[string]any{"order": "x"}, 404},
		"GET /api/v1/visitors":                                  {"/api/v1/visitors", nil, 200},                                            // only A's pages
		"POST /api/v1/visitors/{pv}/invite":                     {"/api/v1/visitors/pvbeta0001/invite", map[string]any{"text": "Hi"}, 403}, // people invite, not keys
		"DELETE /api/v1/visitors/{pv}/invite":                   {"/api/v1/visitors/pvbeta0001/invite", nil, 404},
		"POST /api/v1/skills":                                   {"/api/v1/skills", map[string]any{"name": "beta-only"}, 201}, // names are per account
		"PATCH /api/v1/skills/{id}":                             {"/api/v1/skills/" + bSkill.ID, map[string]any{"name": "hijacked"}, 404},
		"GET /api/v1/api-keys":                                  {"/api/v1/api-keys", nil, 200},
		"POST /api/v1/api-keys":                                 {"/api/v1/api-keys", map[string]any{"name": "x"}, 201},
		"DELETE /api/v1/api-keys/{id}":                          {"/api/v1/api-keys/" + bKeyID, nil, 404},
		"GET /api/v1/conversations":                             {"/api/v1/conversations?consumer_id=" + bVisitor.consumer.ID, nil, 200},
		"POST /api/v1/conversations":                            {"/api/v1/conversations", map[string]any{"consumer_id": bVisitor.consumer.ID}, 404},
		"GET /api/v1/conversations/{id}":                        {"/api/v1/conversations/" + bConv.ID, nil, 404},
		"GET /api/v1/conversations/{id}/queue":                  {"/api/v1/conversations/" + bConv.ID + "/queue", nil, 404},
		"POST /api/v1/conversations/{id}/close":                 {"/api/v1/conversations/" + bConv.ID + "/close", map[string]any{"reason": "x"}, 404},
		"GET /api/v1/conversations/{id}/messages":               {"/api/v1/conversations/" + bConv.ID + "/messages", nil, 404},
		"GET /api/v1/conversations/{id}/transcript":             {"/api/v1/conversations/" + bConv.ID + "/transcript?notes=1", nil, 404},
		"POST /api/v1/conversations/{id}/messages":              {"/api/v1/conversations/" + bConv.ID + "/messages", map[string]any{"text": "injected"}, 404},
		"GET /api/v1/events":                                    {"/api/v1/events", nil, 200},
		"GET /api/v1/events/stream":                             {"/api/v1/events/stream?after=" + parley.EncodeCursor(b.account.ID, 1), nil, 400}, // B's cursor
		"GET /api/v1/openapi.json":                              {"/api/v1/openapi.json", nil, 200},
		"GET /api/v1/widget-settings":                           {"/api/v1/widget-settings", nil, 200},
		"PUT /api/v1/widget-settings":                           {"/api/v1/widget-settings", map[string]any{"label": "Alpha chat"}, 200},
		"GET /api/v1/widget/tamper-report":                      {"/api/v1/widget/tamper-report", nil, 200},
		"GET /api/v1/widget-identity":                           {"/api/v1/widget-identity", nil, 200},
		"PUT /api/v1/widget-identity":                           {"/api/v1/widget-identity", map[string]any{"alg": "HS256", "key": strings.Repeat("a", 32)}, 200},
		"DELETE /api/v1/widget-identity":                        {"/api/v1/widget-identity", nil, 204},
		"POST /api/v1/conversations/{id}/attachments":           {"/api/v1/conversations/" + bConv.ID + "/attachments?name=x.png", pngBytes, 404},
		"PATCH /api/v1/consumers/me":                            {"/api/v1/consumers/me", map[string]any{"name": "x"}, 403},  // visitors only; staff have no profile here
		"POST /api/v1/conversations/{id}/accept":                {"/api/v1/conversations/" + bConv.ID + "/accept", nil, 403}, // API keys are not agents
		"PUT /api/v1/conversations/{id}/labels":                 {"/api/v1/conversations/" + bConv.ID + "/labels", map[string]any{"labels": []string{}}, 404},
		"PUT /api/v1/conversations/{id}/priority":               {"/api/v1/conversations/" + bConv.ID + "/priority", map[string]any{"priority": 5}, 404},
		"PUT /api/v1/conversations/{id}/followers/{user}":       {"/api/v1/conversations/" + bConv.ID + "/followers/" + b.agent.ID, nil, 404},
		"DELETE /api/v1/conversations/{id}/followers/{user}":    {"/api/v1/conversations/" + bConv.ID + "/followers/" + b.agent.ID, nil, 404},
		"PUT /api/v1/conversations/{id}/snooze":                 {"/api/v1/conversations/" + bConv.ID + "/snooze", map[string]any{"until": nil}, 404},
		"POST /api/v1/conversations/{id}/transfer":              {"/api/v1/conversations/" + bConv.ID + "/transfer", map[string]any{"skill_id": bSkill.ID}, 404},
		"POST /api/v1/conversations/{id}/csat":                  {"/api/v1/conversations/" + bConv.ID + "/csat", map[string]any{"score": 5}, 403},                   // visitors only
		"POST /api/v1/conversations/{id}/transcript/email":      {"/api/v1/conversations/" + bConv.ID + "/transcript/email", map[string]any{}, 403},                 // visitors only
		"POST /api/v1/conversations/{id}/pages":                 {"/api/v1/conversations/" + bConv.ID + "/pages", map[string]any{"url": "https://a.example/"}, 403}, // visitors only
		"GET /api/v1/consumers/{id}":                            {"/api/v1/consumers/" + bVisitor.consumer.ID, nil, 404},
		"POST /api/v1/consumers/{id}/block":                     {"/api/v1/consumers/" + bVisitor.consumer.ID + "/block", nil, 404},
		"POST /api/v1/consumers/{id}/unblock":                   {"/api/v1/consumers/" + bVisitor.consumer.ID + "/unblock", nil, 404},
		"POST /api/v1/consumers/{id}/merge":                     {"/api/v1/consumers/" + bVisitor.consumer.ID + "/merge", map[string]any{"into": bVisitor.consumer.ID + "x"}, 404},
		"GET /api/v1/team":                                      {"/api/v1/team", nil, 200},
		"GET /api/v1/conversations/{id}/notes":                  {"/api/v1/conversations/" + bConv.ID + "/notes", nil, 404},
		"POST /api/v1/conversations/{id}/notes":                 {"/api/v1/conversations/" + bConv.ID + "/notes", map[string]any{"text": "spy"}, 404},
		"GET /api/v1/canned-responses":                          {"/api/v1/canned-responses", nil, 200},
		"POST /api/v1/canned-responses":                         {"/api/v1/canned-responses", map[string]any{"shortcut": "hours", "text": "Alpha hours"}, 201},
		"DELETE /api/v1/canned-responses/{id}":                  {"/api/v1/canned-responses/" + bCanned.ID, nil, 404},
		"PUT /api/v1/canned-responses/{id}":                     {"/api/v1/canned-responses/" + bCanned.ID, map[string]any{"shortcut": "secret", "text": "overwritten"}, 404},
		"GET /api/v1/supervisor/overview":                       {"/api/v1/supervisor/overview", nil, 200},
		"GET /api/v1/agent-status":                              {"/api/v1/agent-status", nil, 200},
		"PUT /api/v1/users/{id}/status":                         {"/api/v1/users/" + b.agent.ID + "/status", map[string]any{"status": "offline"}, 404},
		"GET /api/v1/account-settings":                          {"/api/v1/account-settings", nil, 200},
		"PUT /api/v1/account-settings":                          {"/api/v1/account-settings", map[string]any{"auto_assign": true}, 200},
		"PATCH /api/v1/account-settings":                        {"/api/v1/account-settings", map[string]any{"response_target_seconds": 60}, 200},
		"GET /api/v1/attachments/{id}":                          {"/api/v1/attachments/" + bAttachment, nil, 404},
		"GET /api/v1/bot":                                       {"/api/v1/bot", nil, 200},
		"PUT /api/v1/bot":                                       {"/api/v1/bot", map[string]any{"handoff": map[string]any{"skill": bSkill.ID}}, 400}, // B's skill is no skill in A
		"POST /api/v1/bot/import":                               {"/api/v1/bot/import", map[string]any{"handoff": map[string]any{"skill": bSkill.ID}}, 400},
		"GET /api/v1/bot/export":                                {"/api/v1/bot/export?format=json", nil, 200},
		"POST /api/v1/bot/test":                                 {"/api/v1/bot/test", map[string]any{"text": "what is the vault code"}, 404}, // A has no bot
		"POST /api/v1/bot/check":                                {"/api/v1/bot/check", map[string]any{}, 404},                                // A has no bot
		"GET /api/v1/bot/missed":                                {"/api/v1/bot/missed", nil, 200},                                            // A's bot missed nothing
		"GET /api/v1/bot/help-stats":                            {"/api/v1/bot/help-stats", nil, 200},                                        // A's articles only
		"GET /api/v1/webhooks":                                  {"/api/v1/webhooks", nil, 200},
		"GET /api/v1/consumers/{id}/export":                     {"/api/v1/consumers/" + bVisitor.consumer.ID + "/export", nil, 404},
		"DELETE /api/v1/consumers/{id}":                         {"/api/v1/consumers/" + bVisitor.consumer.ID, nil, 404},
		"GET /api/v1/audit-log":                                 {"/api/v1/audit-log", nil, 200},
		"GET /api/v1/metrics":                                   {"/api/v1/metrics?skill=" + bSkill.ID, nil, 400}, // B's skill is no skill of A
		"GET /api/v1/exports/{what}": {"/api/v1/exports/messages?format=csv&from=" + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339) +
			"&to=" + time.Now().Add(time.Hour).UTC().Format(time.RFC3339), nil, 200}, // only A's messages
		"POST /api/v1/webhooks":                          {"/api/v1/webhooks", map[string]any{"url": "https://a.example.com/hook"}, 201},
		"GET /api/v1/webhooks/{id}":                      {"/api/v1/webhooks/" + bHook.ID, nil, 404},
		"PATCH /api/v1/webhooks/{id}":                    {"/api/v1/webhooks/" + bHook.ID, map[string]any{"url": "https://evil.example.com/"}, 404},
		"DELETE /api/v1/webhooks/{id}":                   {"/api/v1/webhooks/" + bHook.ID, nil, 404},
		"GET /api/v1/webhooks/{id}/deliveries":           {"/api/v1/webhooks/" + bHook.ID + "/deliveries", nil, 404},
		"POST /api/v1/webhook-deliveries/{id}/redeliver": {"/api/v1/webhook-deliveries/" + bDelivery + "/redeliver", nil, 404},
	}
	// B vouches for its visitors with its own key; A's calls never touch it.
	if err := ts.Store.SetIdentityKey(t.Context(), b.account.ID, parley.IdentityKey{Alg: "HS256", Key: bIdentityKey}); err != nil {
		t.Fatal(err)
	}
	aAdmin := ts.withKey(t, a.apiKey)
	bEventsBefore, _ := ts.Store.ListEvents(t.Context(), b.account.ID, parley.EventFilter{Limit: 1000})
	secrets := []string{b.account.ID, bConv.ID, bVisitor.consumer.ID, b.agent.ID, bSkill.ID, bKeyID, "B's secret", b.admin.Email, "B's bot secret", "vault", bHook.Secret, "b.example.com"}
	for _, rt := range ts.API.Routes() {
		key := rt.Method + " " + rt.Path
		t.Run(key, func(t *testing.T) {
			c, ok := calls[key]
			if !ok {
				t.Fatalf("route %s has no cross-account case: add one", key)
			}
			aAdmin.t = t
			status, raw := aAdmin.raw(rt.Method, c.path, c.body)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, raw)
			}
			leaks := secrets
			if key == "GET /api/v1/audit-log" {
				// A's audit log records A's own calls, B's IDs it asked for
				// included; nothing else of B's.
				var asked strings.Builder
				for _, c := range calls {
					fmt.Fprint(&asked, c.path, c.body)
				}
				leaks = nil
				for _, s := range secrets {
					if !strings.Contains(asked.String(), s) {
						leaks = append(leaks, s)
					}
				}
			}
			if status >= 400 {
				// Errors may echo the caller's own input (the ID it asked
				// for), never anything else of B's.
				asked := c.path + fmt.Sprint(c.body)
				leaks = nil
				for _, s := range secrets {
					if !strings.Contains(asked, s) {
						leaks = append(leaks, s)
					}
				}
			}
			for _, s := range leaks {
				if strings.Contains(string(raw), s) {
					t.Fatalf("response carries account B's %q: %s", s, raw)
				}
			}
		})
	}
	aAdmin.t = t
	bEventsAfter, _ := ts.Store.ListEvents(t.Context(), b.account.ID, parley.EventFilter{Limit: 1000})
	if len(bEventsAfter) != len(bEventsBefore) {
		t.Fatalf("account A's calls changed account B: %d new events", len(bEventsAfter)-len(bEventsBefore))
	}
	got, _ := ts.Store.FindUser(t.Context(), b.account.ID, b.agent.ID)
	if got.Name == "hijacked" {
		t.Fatal("A renamed B's user")
	}
	if k, err := ts.Store.FindIdentityKey(t.Context(), b.account.ID); err != nil || k.Key != bIdentityKey {
		t.Fatalf("A's calls changed B's identity key: %+v %v", k, err)
	}
	// A visitor identity signed with B's key is no identity in A.
	tok := signIdentity(t, bIdentityKey, "b-customer-1", time.Hour)
	if st, raw := ts.anon(t).raw("POST", "/api/v1/consumer-tokens", map[string]string{"account_id": a.account.ID, "identity_token": tok}); st != 401 {
		t.Fatalf("B-signed identity in A: %d %s", st, raw)
	}
}

func TestRolesAreEnforced(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	agent, supervisor, admin := ts.login(t, b.agent), ts.login(t, b.supervisor), ts.login(t, b.admin)
	v1, v2 := ts.newVisitor(t, b.account.ID), ts.newVisitor(t, b.account.ID)
	conv1 := v1.open(t)
	newUser := func(email string) map[string]any {
		return map[string]any{"email": email, "password": "long enough", "role": "agent"}
	}
	cases := []struct {
		name   string
		c      *client
		method string
		path   string
		body   any
		status int
	}{
		{"agent cannot create users", agent, "POST", "/api/v1/users", newUser("a1@acme.test"), 403},
		{"supervisor cannot create users", supervisor, "POST", "/api/v1/users", newUser("a2@acme.test"), 403},
		{"admin creates users", admin, "POST", "/api/v1/users", newUser("a3@acme.test"), 201},
		{"agent cannot list users", agent, "GET", "/api/v1/users", nil, 403},
		{"supervisor lists users", supervisor, "GET", "/api/v1/users", nil, 200},
		{"agent reads themself", agent, "GET", "/api/v1/users/" + b.agent.ID, nil, 200},
		{"agent cannot read a colleague", agent, "GET", "/api/v1/users/" + b.admin.ID, nil, 403},
		{"agent cannot reset a colleague's second factor", agent, "DELETE", "/api/v1/users/" + b.supervisor.ID + "/two-factor", nil, 403},
		{"supervisor cannot reset a colleague's second factor", supervisor, "DELETE", "/api/v1/users/" + b.agent.ID + "/two-factor", nil, 403},
		{"agent cannot set a colleague's photo", agent, "PUT", "/api/v1/users/" + b.supervisor.ID + "/photo", pngBytes, 403},
		{"supervisor cannot remove a colleague's photo", supervisor, "DELETE", "/api/v1/users/" + b.agent.ID + "/photo", nil, 403},
		{"consumer has no photo", v1.client, "PUT", "/api/v1/me/photo", pngBytes, 403},
		{"consumer has no password to change", v1.client, "PUT", "/api/v1/me/password", map[string]any{"current_password": "x", "new_password": "long enough"}, 403},
		{"consumer has no profile to change", v1.client, "PATCH", "/api/v1/me", map[string]any{"mention_emails": false}, 403},
		{"agent changes their own preferences", agent, "PATCH", "/api/v1/me", map[string]any{"mention_emails": true}, 200},
		{"agent reads their own metrics", agent, "GET", "/api/v1/me/metrics", nil, 200},
		{"consumer has no metrics", v1.client, "GET", "/api/v1/me/metrics", nil, 403},
		{"agent reads their own views", agent, "GET", "/api/v1/me/views", nil, 200},
		{"consumer has no views", v1.client, "PUT", "/api/v1/me/views", map[string]any{"views": []any{}}, 403},
		{"consumer cannot record a page in another's conversation", v2.client, "POST", "/api/v1/conversations/" + conv1.ID + "/pages", map[string]any{"url": "https://acme.test/"}, 404},
		{"consumer records a page in their conversation", v1.client, "POST", "/api/v1/conversations/" + conv1.ID + "/pages", map[string]any{"url": "https://acme.test/"}, 204},
		{"agent cannot record a visitor's page", agent, "POST", "/api/v1/conversations/" + conv1.ID + "/pages", map[string]any{"url": "https://acme.test/"}, 403},
		{"consumer cannot mail themself another's conversation", v2.client, "POST", "/api/v1/conversations/" + conv1.ID + "/transcript/email", map[string]any{"email": "x@acme.test"}, 404},
		{"agent cannot mail a transcript as the visitor", agent, "POST", "/api/v1/conversations/" + conv1.ID + "/transcript/email", map[string]any{}, 403},
		{"consumer cannot merge contacts", v1.client, "POST", "/api/v1/consumers/" + v1.consumer.ID + "/merge", map[string]any{"into": v2.consumer.ID}, 403},
		{"a change of nothing is refused", agent, "PATCH", "/api/v1/me", map[string]any{}, 400},
		{"consumer has no second factor", v1.client, "POST", "/api/v1/me/two-factor", map[string]any{"password": "x"}, 403},
		{"consumer has no passkeys", v1.client, "GET", "/api/v1/me/passkeys", nil, 403},
		{"consumer cannot add a passkey", v1.client, "POST", "/api/v1/me/passkeys/start", map[string]any{"password": "x"}, 403},
		{"agent lists their own passkeys", agent, "GET", "/api/v1/me/passkeys", nil, 200},
		{"agent cannot read events", agent, "GET", "/api/v1/events", nil, 403},
		{"supervisor reads events", supervisor, "GET", "/api/v1/events", nil, 200},
		{"agent cannot read the team's statuses", agent, "GET", "/api/v1/agent-status", nil, 403},
		{"supervisor reads the team's statuses", supervisor, "GET", "/api/v1/agent-status", nil, 200},
		{"agent cannot set a colleague's status", agent, "PUT", "/api/v1/users/" + b.supervisor.ID + "/status", map[string]any{"status": "offline"}, 403},
		{"supervisor sets an agent's status", supervisor, "PUT", "/api/v1/users/" + b.agent.ID + "/status", map[string]any{"status": "away"}, 200},
		{"agent cannot create API keys", agent, "POST", "/api/v1/api-keys", map[string]any{"name": "k"}, 403},
		{"agent cannot unlink a colleague's single sign-on", agent, "DELETE", "/api/v1/users/" + b.supervisor.ID + "/sso-link", nil, 403},
		{"agent cannot create skills", agent, "POST", "/api/v1/skills", map[string]any{"name": "s"}, 403},
		{"consumer cannot set a conversation's fields", v1.client, "PATCH", "/api/v1/conversations/" + conv1.ID + "/fields", map[string]any{"order": "x"}, 403},
		{"agent lists the visitors on the site", agent, "GET", "/api/v1/visitors", nil, 200},
		{"consumer cannot list the visitors on the site", v1.client, "GET", "/api/v1/visitors", nil, 403},
		{"consumer cannot invite a visitor", v1.client, "POST", "/api/v1/visitors/pvsomeone1/invite", map[string]any{"text": "Hi"}, 403},
		{"consumer cannot withdraw an invitation", v1.client, "DELETE", "/api/v1/visitors/pvsomeone1/invite", nil, 403},
		{"supervisor cannot change skills", supervisor, "PATCH", "/api/v1/skills/skl_any", map[string]any{"overflow_after_seconds": 60}, 403},
		{"agent reads conversations", agent, "GET", "/api/v1/conversations/" + conv1.ID, nil, 200},
		{"consumer reads their conversation", v1.client, "GET", "/api/v1/conversations/" + conv1.ID, nil, 200},
		{"consumer cannot read another consumer's conversation", v2.client, "GET", "/api/v1/conversations/" + conv1.ID, nil, 404},
		{"consumer cannot read another consumer's messages", v2.client, "GET", "/api/v1/conversations/" + conv1.ID + "/messages", nil, 404},
		{"consumer cannot read another consumer's place in line", v2.client, "GET", "/api/v1/conversations/" + conv1.ID + "/queue", nil, 404},
		{"consumer reads their place in line", v1.client, "GET", "/api/v1/conversations/" + conv1.ID + "/queue", nil, 200},
		{"consumer cannot write to another consumer's conversation", v2.client, "POST", "/api/v1/conversations/" + conv1.ID + "/messages", map[string]any{"text": "hi"}, 404},
		{"consumer cannot close another consumer's conversation", v2.client, "POST", "/api/v1/conversations/" + conv1.ID + "/close", nil, 404},
		{"consumer cannot label their conversation", v1.client, "PUT", "/api/v1/conversations/" + conv1.ID + "/labels", map[string]any{"labels": []string{}}, 403},
		{"agent labels conversations", agent, "PUT", "/api/v1/conversations/" + conv1.ID + "/labels", map[string]any{"labels": []string{}}, 200},
		{"consumer cannot read the activity", v1.client, "GET", "/api/v1/conversations/" + conv1.ID + "/activity", nil, 403},
		{"agent reads the activity", agent, "GET", "/api/v1/conversations/" + conv1.ID + "/activity", nil, 200},
		{"consumer cannot ask for suggested replies", v1.client, "GET", "/api/v1/conversations/" + conv1.ID + "/suggestions", nil, 403},
		{"consumer cannot remove a message", v1.client, "POST", "/api/v1/conversations/" + conv1.ID + "/messages/1/redact", nil, 403},
		{"consumer cannot remove a note", v1.client, "POST", "/api/v1/conversations/" + conv1.ID + "/notes/note_x/redact", nil, 403},
		{"agent asks for suggested replies", agent, "GET", "/api/v1/conversations/" + conv1.ID + "/suggestions", nil, 200},
		{"consumer cannot apply a macro", v1.client, "POST", "/api/v1/conversations/" + conv1.ID + "/macro", map[string]any{"name": "x"}, 403},
		{"consumer cannot list contacts", v1.client, "GET", "/api/v1/consumers", nil, 403},
		{"consumer cannot edit another visitor", v1.client, "PATCH", "/api/v1/consumers/" + v2.consumer.ID, map[string]any{"name": "x"}, 403},
		{"agent edits a visitor", agent, "PATCH", "/api/v1/consumers/" + v2.consumer.ID, map[string]any{"name": "Vee"}, 200},
		{"agent lists contacts", agent, "GET", "/api/v1/consumers", nil, 200},
		{"consumer cannot block another visitor", v1.client, "POST", "/api/v1/consumers/" + v2.consumer.ID + "/block", nil, 403},
		{"consumer cannot unblock themself", v1.client, "POST", "/api/v1/consumers/" + v1.consumer.ID + "/unblock", nil, 403},
		{"agent cannot edit canned responses", agent, "PUT", "/api/v1/canned-responses/can_missing0000000000000000", map[string]any{"shortcut": "x", "text": "y"}, 403},
		{"consumer cannot read another consumer's transcript", v2.client, "GET", "/api/v1/conversations/" + conv1.ID + "/transcript", nil, 404},
		{"agent cannot change the settings", agent, "PATCH", "/api/v1/account-settings", map[string]any{"auto_assign": true}, 403},
		{"agent cannot read single sign-on", agent, "GET", "/api/v1/sso", nil, 403},
		{"supervisor cannot read single sign-on", supervisor, "GET", "/api/v1/sso", nil, 403},
		{"agent cannot set single sign-on", agent, "PUT", "/api/v1/sso", map[string]any{"issuer": "https://x.example.com"}, 403},
		{"agent cannot remove single sign-on", agent, "DELETE", "/api/v1/sso", nil, 403},
		{"consumer cannot list users", v1.client, "GET", "/api/v1/users", nil, 403},
		{"consumer cannot read events", v1.client, "GET", "/api/v1/events", nil, 403},
		{"anonymous cannot list conversations", ts.anon(t), "GET", "/api/v1/conversations", nil, 401},
		{"supervisor cannot read the bot", supervisor, "GET", "/api/v1/bot", nil, 403},
		{"agent cannot change the bot", agent, "PUT", "/api/v1/bot", map[string]any{"enabled": true}, 403},
		{"consumer cannot test the bot", v1.client, "POST", "/api/v1/bot/test", map[string]any{"text": "hi"}, 403},
		{"admin reads the bot", admin, "GET", "/api/v1/bot", nil, 200},
		{"agent cannot read what visitors asked the bot", agent, "GET", "/api/v1/bot/missed", nil, 403},
		{"agent cannot read the help center's statistics", agent, "GET", "/api/v1/bot/help-stats", nil, 403},
		{"agent cannot check the bot", agent, "POST", "/api/v1/bot/check", map[string]any{}, 403},
		{"supervisor cannot list webhooks", supervisor, "GET", "/api/v1/webhooks", nil, 403},
		{"agent cannot create webhooks", agent, "POST", "/api/v1/webhooks", map[string]any{"url": "https://x.example.com"}, 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.t = t
			if st, raw := tc.c.raw(tc.method, tc.path, tc.body); st != tc.status {
				t.Fatalf("%s %s: status %d, want %d: %s", tc.method, tc.path, st, tc.status, raw)
			}
		})
	}
	// A consumer's list holds only their own conversations.
	v2.open(t)
	var page struct{ Conversations []parley.Conversation }
	v2.t = t
	v2.do("GET", "/api/v1/conversations", nil, &page)
	for _, c := range page.Conversations {
		if c.ConsumerID != v2.consumer.ID {
			t.Fatalf("consumer 2 listed %s of consumer %s", c.ID, c.ConsumerID)
		}
	}
	if len(page.Conversations) != 1 {
		t.Fatalf("consumer 2 listed %d conversations, want 1", len(page.Conversations))
	}
}

func TestSessionsNeedCSRFAndEndOnDeactivation(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	admin := ts.login(t, b.admin)
	agent := ts.login(t, b.agent)
	token := admin.csrf
	admin.csrf = ""
	if st, raw := admin.raw("POST", "/api/v1/skills", map[string]any{"name": "billing"}); st != 403 || errorCode(raw) != parley.EFORBIDDEN {
		t.Fatalf("no CSRF token: %d %s", st, raw)
	}
	admin.csrf = "wrong"
	if st, _ := admin.raw("POST", "/api/v1/skills", map[string]any{"name": "billing"}); st != 403 {
		t.Fatalf("wrong CSRF token: %d", st)
	}
	admin.csrf = token
	if st, _ := admin.raw("POST", "/api/v1/skills", map[string]any{"name": "billing"}); st != 201 {
		t.Fatalf("with CSRF token: %d", st)
	}
	// Login failures all look the same.
	var wrongPass, noUser struct {
		Error struct{ Code, Message string }
	}
	ts.anon(t).do("POST", "/api/v1/auth/login", map[string]any{"email": b.agent.Email, "password": "nope nope"}, &wrongPass)
	ts.anon(t).do("POST", "/api/v1/auth/login", map[string]any{"email": "ghost@acme.test", "password": "nope nope"}, &noUser)
	if wrongPass != noUser || wrongPass.Error.Code != parley.EUNAUTHORIZED {
		t.Fatalf("login errors differ: %+v vs %+v", wrongPass, noUser)
	}
	// Deactivating the agent ends their session at once.
	if st, _ := admin.raw("PATCH", "/api/v1/users/"+b.agent.ID, map[string]any{"active": false}); st != 200 {
		t.Fatalf("deactivate: %d", st)
	}
	if st, _ := agent.raw("GET", "/api/v1/me", nil); st != 401 {
		t.Fatalf("deactivated agent's session: %d, want 401", st)
	}
	if st, _ := ts.anon(t).raw("POST", "/api/v1/auth/login", map[string]any{"email": b.agent.Email, "password": password}); st != 401 {
		t.Fatalf("deactivated agent can log in: %d", st)
	}
	// Logout ends the session.
	if st, _ := admin.raw("POST", "/api/v1/auth/logout", nil); st != 204 {
		t.Fatalf("logout: %d", st)
	}
	if st, _ := admin.raw("GET", "/api/v1/me", nil); st != 401 {
		t.Fatalf("after logout: %d", st)
	}
}

func TestBadRequestsGetPreciseErrorsAndChangeNothing(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) { c.MaxMessageChars = 50; c.MaxBodyBytes = 4096 })
	b := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	msgs := "/api/v1/conversations/" + conv.ID + "/messages"
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		code   string
	}{
		{"malformed JSON", "POST", msgs, `{"text":`, 400, parley.EINVALID},
		{"unknown field", "POST", msgs, `{"text":"hi","colour":"red"}`, 400, parley.EINVALID},
		{"wrong field type", "POST", msgs, `{"text":42}`, 400, parley.EINVALID},
		{"trailing data", "POST", msgs, `{"text":"hi"} {"text":"again"}`, 400, parley.EINVALID},
		{"empty body", "POST", msgs, ``, 400, parley.EINVALID},
		{"invalid UTF-8", "POST", msgs, []byte("{\"text\":\"a\xffb\"}"), 400, parley.EINVALID},
		{"NUL byte", "POST", msgs, `{"text":"a\u0000b"}`, 400, parley.EINVALID},
		{"over the message limit", "POST", msgs, fmt.Sprintf(`{"text":%q}`, strings.Repeat("ü", 51)), 413, parley.ETOOLARGE},
		{"over the body limit", "POST", msgs, fmt.Sprintf(`{"text":%q}`, strings.Repeat("a", 5000)), 413, parley.ETOOLARGE},
		{"unknown message type", "POST", msgs, `{"type":"hologram","text":"hi"}`, 400, parley.EINVALID},
		{"after_seq in the future", "GET", msgs + "?after_seq=99", nil, 400, parley.EINVALID},
		{"after_seq not a number", "GET", msgs + "?after_seq=abc", nil, 400, parley.EINVALID},
		{"unknown conversation", "GET", "/api/v1/conversations/conv_nope", nil, 404, parley.ENOTFOUND},
		{"unknown route", "GET", "/api/v1/teleport", nil, 404, parley.ENOTFOUND},
		{"wrong method", "DELETE", "/api/v1/conversations", nil, 405, parley.EMETHOD},
		{"bad state filter", "GET", "/api/v1/conversations?state=limbo", nil, 400, parley.EINVALID},
		{"bad cursor", "GET", "/api/v1/conversations?cursor=42", nil, 400, parley.EINVALID},
		{"bad limit", "GET", "/api/v1/conversations?limit=0", nil, 400, parley.EINVALID},
		{"unknown order", "GET", "/api/v1/conversations?order=random", nil, 400, parley.EINVALID},
		{"unknown snooze filter", "GET", "/api/v1/conversations?snoozed=sometimes", nil, 400, parley.EINVALID},
		{"the queue's order with a cursor", "GET", "/api/v1/conversations?order=queue&cursor=" + conv.ID, nil, 400, parley.EINVALID},
		{"bad label filter", "GET", "/api/v1/conversations?label=Not%20One", nil, 400, parley.EINVALID},
	}
	before, _ := ts.Store.ListEvents(t.Context(), b.account.ID, parley.EventFilter{Limit: 1000})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v.t = t
			st, raw := v.raw(tc.method, tc.path, tc.body)
			if st != tc.status || errorCode(raw) != tc.code {
				t.Fatalf("status %d %s, want %d %s", st, raw, tc.status, tc.code)
			}
			if !strings.Contains(string(raw), `"message":"`) {
				t.Fatalf("no human message: %s", raw)
			}
		})
	}
	v.t = t
	after, _ := ts.Store.ListEvents(t.Context(), b.account.ID, parley.EventFilter{Limit: 1000})
	if len(after) != len(before) {
		t.Fatalf("bad requests wrote %d events", len(after)-len(before))
	}
	// Wrong content type and missing auth.
	req, _ := http.NewRequest("POST", ts.url+msgs, strings.NewReader(`{"text":"hi"}`))
	req.Header.Set("Authorization", "Bearer "+v.token)
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 400 {
		t.Fatalf("text/plain body: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	if st, raw := ts.anon(t).raw("GET", msgs, nil); st != 401 || errorCode(raw) != parley.EUNAUTHORIZED {
		t.Fatalf("no auth: %d %s", st, raw)
	}
}

func TestConversationPagingAndEvents(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	api := ts.withKey(t, b.apiKey)
	var created []string
	for i := 0; i < 5; i++ {
		var c parley.Conversation
		if st := api.do("POST", "/api/v1/conversations", map[string]any{"consumer": map[string]any{"external_id": fmt.Sprintf("crm-%d", i%2), "name": "Customer"}}, &c); st != 201 {
			t.Fatalf("API channel open: %d", st)
		}
		if c.Channel != parley.ChannelAPI {
			t.Fatalf("channel %q", c.Channel)
		}
		created = append(created, c.ID)
	}
	var seen []string
	cursor := ""
	for {
		var page struct {
			Conversations []struct {
				parley.Conversation
				ConsumerName string `json:"consumer_name"`
				LastMessage  *struct {
					Text string `json:"text"`
				} `json:"last_message"`
			}
			NextCursor string `json:"next_cursor"`
		}
		api.do("GET", "/api/v1/conversations?limit=2&cursor="+cursor, nil, &page)
		for _, c := range page.Conversations {
			seen = append(seen, c.ID)
			if c.ConsumerName != "Customer" { // lists say who is writing
				t.Errorf("conversation %s lists its visitor as %q, want %q", c.ID, c.ConsumerName, "Customer")
			}
			if c.LastMessage != nil { // nothing was said in these yet
				t.Errorf("conversation %s has a last message %+v", c.ID, c.LastMessage)
			}
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(seen) != 5 || seen[0] != created[4] || seen[4] != created[0] {
		t.Fatalf("paged %v, want newest first of %v", seen, created)
	}
	// The same external ID is the same consumer.
	c0, _ := ts.Store.FindConversation(t.Context(), b.account.ID, created[0])
	c2, _ := ts.Store.FindConversation(t.Context(), b.account.ID, created[2])
	if c0.ConsumerID != c2.ConsumerID {
		t.Fatal("external_id did not find the existing consumer")
	}
	var closed parley.Conversation
	if st := api.do("POST", "/api/v1/conversations/"+created[0]+"/close", map[string]any{"reason": "resolved"}, &closed); st != 200 || closed.State != parley.StateClosed {
		t.Fatalf("close: %d %+v", st, closed)
	}
	if st, raw := api.raw("POST", "/api/v1/conversations/"+created[0]+"/close", nil); st != 409 || errorCode(raw) != parley.ECONFLICT {
		t.Fatalf("close twice: %d %s", st, raw)
	}
	var events struct {
		Events     []parley.Event
		NextCursor string `json:"next_cursor"`
	}
	api.do("GET", "/api/v1/events?types=conversation.opened,conversation.closed", nil, &events)
	if len(events.Events) != 6 {
		t.Fatalf("%d events, want 5 opened + 1 closed", len(events.Events))
	}
	// A pattern names every type under it.
	var conv struct{ Events []parley.Event }
	api.do("GET", "/api/v1/events?types=conversation.*", nil, &conv)
	if len(conv.Events) < 6 {
		t.Fatalf("conversation.*: %d events, want at least the 6 above", len(conv.Events))
	}
	for _, e := range conv.Events {
		if !strings.HasPrefix(e.Type, "conversation.") {
			t.Fatalf("conversation.* returned a %s event", e.Type)
		}
	}
	api.do("GET", "/api/v1/events?after="+events.NextCursor, nil, &events)
	if len(events.Events) != 0 {
		t.Fatalf("events after the last cursor: %d", len(events.Events))
	}
	// Pages follow each other with no gap and no repeat.
	var all []int64
	for cursor := ""; ; {
		var page struct {
			Events     []parley.Event
			NextCursor string `json:"next_cursor"`
		}
		api.do("GET", "/api/v1/events?limit=3&after="+cursor, nil, &page)
		if len(page.Events) == 0 {
			break
		}
		for _, e := range page.Events {
			all = append(all, e.Seq)
		}
		cursor = page.NextCursor
	}
	for i, seq := range all {
		if seq != int64(i+1) {
			t.Fatalf("paged seqs %v", all)
		}
	}
	// Cursors are the account's: malformed or foreign ones are refused precisely.
	other := seedBrand(t, ts, "Other")
	foreign := parley.EncodeCursor(other.account.ID, 2)
	for cursor, want := range map[string]string{"12": "malformed", "djE6eHl6": "malformed", foreign: "belongs to another account"} {
		st, raw := api.raw("GET", "/api/v1/events?after="+cursor, nil)
		if st != 400 || errorCode(raw) != parley.EINVALID || !strings.Contains(string(raw), want) {
			t.Fatalf("cursor %q: %d %s", cursor, st, raw)
		}
	}
	for _, bad := range []string{"made.up", "made.*", "*"} {
		if st, raw := api.raw("GET", "/api/v1/events?types="+bad, nil); st != 400 || errorCode(raw) != parley.EINVALID {
			t.Fatalf("unknown event type %q: %d %s", bad, st, raw)
		}
	}
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	ts := startServer(t, t.TempDir())
	for path, want := range map[string]string{"/healthz": `"ok"`, "/readyz": `"ready"`, "/metrics": "parley_ws_connections"} {
		st, raw := ts.anon(t).raw("GET", path, nil)
		if st != 200 || !strings.Contains(string(raw), want) {
			t.Fatalf("%s: %d %s", path, st, raw)
		}
	}
	// The store reports its commits: seeding a brand writes, so some were made.
	seedBrand(t, ts, "Acme")
	_, raw := ts.anon(t).raw("GET", "/metrics", nil)
	for _, name := range []string{"parley_store_commit_seconds_count", "parley_store_batch_writes_sum"} {
		var v float64
		for _, line := range strings.Split(string(raw), "\n") {
			if value, ok := strings.CutPrefix(line, name+" "); ok {
				fmt.Sscan(value, &v)
			}
		}
		if v < 1 {
			t.Errorf("%s is %v after writes", name, v)
		}
	}
}

func TestSessionCookieFlags(t *testing.T) {
	for _, secure := range []bool{false, true} {
		ts := startServer(t, t.TempDir(), func(c *server.Config) { c.SecureCookies = secure })
		b := seedBrand(t, ts, "Acme")
		resp, err := http.Post(ts.url+"/api/v1/auth/login", "application/json",
			strings.NewReader(fmt.Sprintf(`{"email":%q,"password":%q}`, b.agent.Email, password)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		sc := resp.Header.Get("Set-Cookie")
		if !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Strict") || strings.Contains(sc, "Secure") != secure {
			t.Fatalf("secure=%v: Set-Cookie %q", secure, sc)
		}
	}
}

const bIdentityKey = "beta-brand-shared-identity-secret-0123456789"

// signIdentity makes a visitor identity token as a brand's site would.
func signIdentity(t testing.TB, secret, sub string, ttl time.Duration) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub, "name": "Casey " + sub, "email": sub + "@example.com", "exp": time.Now().Add(ttl).Unix(),
	}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestIdentifiedVisitorsFollowTheirIdentity(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	admin := ts.withKey(t, b.apiKey)
	secret := "acme-shared-identity-secret-0123456789"
	if st, raw := admin.raw("PUT", "/api/v1/widget-identity", map[string]any{"alg": "HS512", "key": secret}); st != 400 {
		t.Fatalf("unknown alg: %d %s", st, raw)
	}
	if st, raw := admin.raw("PUT", "/api/v1/widget-identity", map[string]any{"alg": "HS256", "key": "short"}); st != 400 {
		t.Fatalf("short secret: %d %s", st, raw)
	}
	if st, raw := admin.raw("PUT", "/api/v1/widget-identity", map[string]any{"alg": "RS256", "key": "not a pem"}); st != 400 {
		t.Fatalf("bad PEM: %d %s", st, raw)
	}
	if st, raw := admin.raw("PUT", "/api/v1/widget-identity", map[string]any{"alg": "HS256", "key": secret}); st != 200 || strings.Contains(string(raw), secret) {
		t.Fatalf("set key: %d %s", st, raw)
	}
	issue := func(tok string) (int, string) {
		var out struct {
			Consumer parley.Consumer
		}
		st := ts.anon(t).do("POST", "/api/v1/consumer-tokens", map[string]string{"account_id": b.account.ID, "identity_token": tok}, &out)
		return st, out.Consumer.ID
	}
	st1, c1 := issue(signIdentity(t, secret, "cust-42", time.Hour))
	st2, c2 := issue(signIdentity(t, secret, "cust-42", time.Hour))
	if st1 != 201 || st2 != 201 || c1 == "" || c1 != c2 {
		t.Fatalf("same sub, two devices: %d %s / %d %s", st1, c1, st2, c2)
	}
	c, _ := ts.Store.FindConsumer(t.Context(), b.account.ID, c1)
	if c.ExternalID != "cust-42" || c.Email != "cust-42@example.com" {
		t.Fatalf("consumer: %+v", c)
	}
	for name, tok := range map[string]string{
		"expired":        signIdentity(t, secret, "cust-42", -time.Hour),
		"too long-lived": signIdentity(t, secret, "cust-42", 48*time.Hour),
		"wrong key":      signIdentity(t, "another-secret-that-is-long-enough-000", "cust-42", time.Hour),
		"garbage":        "not.a.jwt",
		"no subject":     signIdentity(t, secret, "", time.Hour),
	} {
		if st, _ := issue(tok); st != 401 {
			t.Fatalf("%s identity token: %d, want 401", name, st)
		}
	}
	waitEvents(t, ts, b.account.ID, parley.EventIdentityRejected, 5)
}

// pngBytes is a real 1×1 PNG.
var pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")

func TestAttachmentsAreCheckedAndServedOnlyToParticipants(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) { c.MaxAttachmentBytes = 64 << 10 })
	b := seedBrand(t, ts, "Acme")
	v, stranger := ts.newVisitor(t, b.account.ID), ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	up := "/api/v1/conversations/" + conv.ID + "/attachments"
	var sent struct {
		Message   parley.Message
		Duplicate bool
	}
	if st := v.do("POST", up+"?name=boot.png&caption=this+one&client_id=f1", pngBytes, &sent); st != 201 || sent.Message.Type != parley.MessageFile ||
		sent.Message.Attachment.ContentType != "image/png" || sent.Message.Text != "this one" {
		t.Fatalf("upload: %d %+v", st, sent)
	}
	if st := v.do("POST", up+"?name=boot.png&client_id=f1", pngBytes, &sent); st != 200 || !sent.Duplicate {
		t.Fatalf("resend: %d %+v", st, sent)
	}
	pdf := []byte("%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")
	var pdfSent struct{ Message parley.Message }
	if st := v.do("POST", up+"?name=receipt.pdf", pdf, &pdfSent); st != 201 || pdfSent.Message.Attachment.ContentType != "application/pdf" {
		t.Fatalf("pdf: %d %+v", st, pdfSent)
	}
	for name, c := range map[string]struct {
		body   []byte
		status int
	}{
		"an executable called .png": {[]byte("MZ\x90\x00 this is not an image"), 400},
		"HTML called .png":          {[]byte("<html><script>alert(1)</script></html>"), 400},
		"empty":                     {[]byte{}, 400},
		"too big":                   {append(append([]byte{}, pngBytes...), make([]byte, 70<<10)...), 413},
	} {
		if st, raw := v.raw("POST", up+"?name=x.png", c.body); st != c.status {
			t.Fatalf("%s: %d %s", name, st, raw)
		}
	}
	if st, raw := v.raw("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"type": "file", "attachment": map[string]any{"id": pdfSent.Message.Attachment.ID}}); st != 400 {
		t.Fatalf("file message through /messages: %d %s", st, raw)
	}
	// The participant and the brand's staff can fetch it; another visitor cannot.
	get := func(c *client, id string) (int, http.Header, []byte) {
		req, _ := http.NewRequest("GET", ts.url+"/api/v1/attachments/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+c.bearer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, body
	}
	id := sent.Message.Attachment.ID
	st, h, body := get(v.client, id)
	if st != 200 || string(body) != string(pngBytes) || h.Get("Content-Type") != "image/png" ||
		!strings.HasPrefix(h.Get("Content-Disposition"), "inline") || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("participant download: %d %v", st, h)
	}
	if st, h, _ := get(ts.withKey(t, b.apiKey), pdfSent.Message.Attachment.ID); st != 200 || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment") {
		t.Fatalf("staff pdf download: %d %v", st, h)
	}
	if st, _, _ := get(stranger.client, id); st != 404 {
		t.Fatalf("another visitor fetched the attachment: %d", st)
	}
}

// Behind a load balancer every request comes from its address: with the
// balancer trusted, rate limits and the audit log see each visitor's own
// address; without it, a client cannot dodge its limit by writing
// X-Forwarded-For.
func TestRateLimitsAndTheAuditLogSeeTheClientBehindATrustedProxy(t *testing.T) {
	limits := server.RateLimits{Login: server.RateLimit{Every: time.Hour, Burst: 2}}
	loopback, _ := server.ParseTrustedProxies("127.0.0.1")
	behind := startServer(t, t.TempDir(), func(c *server.Config) { c.RateLimits = &limits; c.TrustedProxies = loopback })
	direct := startServer(t, t.TempDir(), func(c *server.Config) { c.RateLimits = &limits })
	send := func(ts *testServer, method, path, forwardedFor, apiKey string, body any) (int, []byte) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, ts.url+path, strings.NewReader(string(b)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", forwardedFor)
		if apiKey != "" {
			req.Header.Set("Authorization", "Bearer "+apiKey)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res.StatusCode, raw
	}
	login := func(ts *testServer, forwardedFor string) int {
		st, _ := send(ts, "POST", "/api/v1/auth/login", forwardedFor, "", map[string]any{"email": "nobody@acme.test", "password": "guess"})
		return st
	}
	for _, who := range []string{"198.51.100.1", "198.51.100.1"} {
		if st := login(behind, who); st != 401 {
			t.Fatalf("a guess from %s: %d", who, st)
		}
	}
	if st := login(behind, "198.51.100.1"); st != 429 {
		t.Fatalf("a third guess from the same visitor behind the proxy: %d", st)
	}
	if st := login(behind, "6.6.6.6, 198.51.100.2"); st != 401 {
		t.Fatalf("another visitor behind the same proxy was limited: %d", st)
	}
	for i, who := range []string{"198.51.100.1", "198.51.100.2"} {
		if st := login(direct, who); st != 401 {
			t.Fatalf("guess %d: %d", i, st)
		}
	}
	if st := login(direct, "198.51.100.3"); st != 429 {
		t.Fatalf("a header the server does not trust dodged the limit: %d", st)
	}
	b := seedBrand(t, behind, "Acme")
	if st, raw := send(behind, "POST", "/api/v1/skills", "198.51.100.9", b.apiKey, map[string]string{"name": "vip"}); st != 201 {
		t.Fatalf("create a skill: %d %s", st, raw)
	}
	var audit struct{ Entries []parley.AuditEntry }
	behind.withKey(t, b.apiKey).do("GET", "/api/v1/audit-log", nil, &audit)
	if len(audit.Entries) == 0 || audit.Entries[0].Action != "POST /api/v1/skills" || audit.Entries[0].IP != "198.51.100.9" {
		t.Fatalf("audit entries %+v", audit.Entries)
	}
}

func TestPublicEndpointsAreRateLimited(t *testing.T) {
	limits := server.RateLimits{Login: server.RateLimit{Every: time.Hour, Burst: 3}, ConsumerTokens: server.RateLimit{Every: time.Hour, Burst: 2}}
	ts := startServer(t, t.TempDir(), func(c *server.Config) { c.RateLimits = &limits })
	b := seedBrand(t, ts, "Acme")
	for i := 0; i < 3; i++ {
		if st, _ := ts.anon(t).raw("POST", "/api/v1/auth/login", map[string]any{"email": b.agent.Email, "password": "guess " + fmt.Sprint(i)}); st != 401 {
			t.Fatalf("guess %d: %d", i, st)
		}
	}
	st, raw := ts.anon(t).raw("POST", "/api/v1/auth/login", map[string]any{"email": b.agent.Email, "password": password})
	if st != 429 || errorCode(raw) != parley.ERATELIMITED {
		t.Fatalf("fourth login in the window: %d %s", st, raw)
	}
	for i := 0; i < 2; i++ {
		ts.newVisitor(t, b.account.ID)
	}
	if st, _ := ts.anon(t).raw("POST", "/api/v1/consumer-tokens", map[string]string{"account_id": b.account.ID}); st != 429 {
		t.Fatalf("third visitor token in the window: %d", st)
	}
	// Other routes are not limited.
	if st, _ := ts.withKey(t, b.apiKey).raw("GET", "/api/v1/me", nil); st != 200 {
		t.Fatalf("me: %d", st)
	}
}
