package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/natstest"
	"github.com/parleychat/parley/internal/pgtest"
	"github.com/parleychat/parley/internal/sqlstore"
)

// TestMain lets a test start this binary as a real parley process, so it
// can be killed with SIGKILL like a crashing server.
func TestMain(m *testing.M) {
	if args := os.Getenv("PARLEY_TEST_EXEC_ARGS"); args != "" {
		var list []string
		json.Unmarshal([]byte(args), &list)
		os.Args = append([]string{"parley"}, list...)
		main() // exits non-zero itself on failure
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startProcess runs "parley serve" in a child process and returns it and
// its base URL.
func startProcess(t *testing.T, dir string, flags ...string) (*exec.Cmd, string) {
	t.Helper()
	args, _ := json.Marshal(append([]string{"serve", "--addr", "127.0.0.1:0", "--data", dir, "--log-level", "warn"}, flags...))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PARLEY_TEST_EXEC_ARGS="+string(args))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(out)
	urls := make(chan string, 1)
	go func() {
		for lines.Scan() {
			if u, ok := strings.CutPrefix(lines.Text(), "Parley is listening on "); ok {
				urls <- u
			}
		}
	}()
	select {
	case u := <-urls:
		return cmd, u
	case <-time.After(15 * time.Second):
		t.Fatal("server did not start")
	}
	return nil, ""
}

func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, func(string) string { return "" }, nil, &out, &errOut); err != nil {
		t.Fatalf("parley %v: %v\n%s", args, err, errOut.String())
	}
	return strings.TrimSpace(out.String())
}

func postJSON(t *testing.T, url, bearer string, body any, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

type visitorConv struct {
	token, conv string
}

// TestAckedMessagesSurviveAKill kills the server process with SIGKILL in
// the middle of a burst, restarts it on the same data directory, and checks
// that every acknowledged message is there with its seq, and that seqs have
// no gaps.
func TestAckedMessagesSurviveAKill(t *testing.T) {
	dir := t.TempDir()
	account := runCLI(t, "account", "create", "--data", dir, "--name", "Acme")
	// The visitors' burst is a load generator: with the per-visitor rate
	// on, the server refuses most of it, and a client that sends without
	// reading its refusals is rightly cut off as too slow (4008).
	cmd, url := startProcess(t, dir, "--visitor-messages-per-minute", "0")

	const visitors = 8
	var convs []visitorConv
	for i := 0; i < visitors; i++ {
		var tok struct{ Token string }
		if st := postJSON(t, url+"/api/v1/consumer-tokens", "", map[string]string{"account_id": account}, &tok); st != 201 {
			t.Fatalf("consumer token: %d", st)
		}
		var conv struct{ ID string }
		if st := postJSON(t, url+"/api/v1/conversations", tok.Token, map[string]any{}, &conv); st != 201 {
			t.Fatalf("open: %d", st)
		}
		convs = append(convs, visitorConv{tok.Token, conv.ID})
	}

	type ack struct {
		conv, clientID string
		seq            int64
	}
	var (
		mu    sync.Mutex
		acked []ack
		wg    sync.WaitGroup
	)
	enough := make(chan struct{})
	var once sync.Once
	wsURL := strings.Replace(url, "http", "ws", 1) + "/api/v1/ws"
	for i, vc := range convs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			ws, _, err := websocket.Dial(ctx, wsURL, nil)
			if err != nil {
				t.Error(err)
				return
			}
			defer ws.CloseNow()
			auth, _ := json.Marshal(map[string]string{"type": "auth", "token": vc.token})
			ws.Write(ctx, websocket.MessageText, auth)
			// Pipeline sends; read acks as they come, until the server dies.
			go func() {
				for n := 0; ; n++ {
					f, _ := json.Marshal(map[string]any{"type": "send", "conversation_id": vc.conv, "client_id": fmt.Sprintf("v%d-%d", i, n),
						"message": map[string]string{"type": "text", "text": fmt.Sprintf("burst %d", n)}})
					if ws.Write(ctx, websocket.MessageText, f) != nil {
						return
					}
				}
			}()
			for {
				_, data, err := ws.Read(ctx)
				if err != nil {
					return
				}
				var f struct {
					Type     string
					ClientID string `json:"client_id"`
					Seq      int64
				}
				json.Unmarshal(data, &f)
				if f.Type != "ack" {
					continue
				}
				mu.Lock()
				acked = append(acked, ack{vc.conv, f.ClientID, f.Seq})
				if len(acked) >= 400 {
					once.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		}()
	}
	select {
	case <-enough:
	case <-time.After(60 * time.Second):
		t.Fatal("burst did not reach 400 acks")
	}
	cmd.Process.Kill() // SIGKILL: no drain, no deferred cleanup
	cmd.Wait()
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	_, url = startProcess(t, dir)
	for _, vc := range convs {
		stored := map[string]int64{}
		var after int64
		for {
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/conversations/%s/messages?after_seq=%d&limit=500", url, vc.conv, after), nil)
			req.Header.Set("Authorization", "Bearer "+vc.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var page struct {
				Messages []struct {
					Seq      int64
					ClientID string `json:"client_id"`
				}
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err := json.Unmarshal(body, &page); err != nil || resp.StatusCode != 200 {
				t.Fatalf("list after restart: %d %s", resp.StatusCode, body)
			}
			if len(page.Messages) == 0 {
				break
			}
			for _, m := range page.Messages {
				if m.Seq != after+1 {
					t.Fatalf("conversation %s: seq %d follows %d", vc.conv, m.Seq, after)
				}
				after = m.Seq
				stored[m.ClientID] = m.Seq
			}
		}
		for _, a := range acked {
			if a.conv != vc.conv {
				continue
			}
			if seq, ok := stored[a.clientID]; !ok || seq != a.seq {
				t.Fatalf("acked message %s (seq %d) lost or moved after the kill: stored seq %d, present %v", a.clientID, a.seq, seq, ok)
			}
		}
	}
	t.Logf("%d acked messages all present after SIGKILL and restart", len(acked))
}

func TestCLICreatesAccountsUsersAndKeys(t *testing.T) {
	dir := t.TempDir()
	account := runCLI(t, "account", "create", "--data", dir, "--name", "Acme")
	if !strings.HasPrefix(account, "acc_") {
		t.Fatalf("account create printed %q", account)
	}
	user := runCLI(t, "user", "create", "--data", dir, "--account", account, "--email", "ann@acme.test", "--password", "long enough", "--role", "admin")
	if !strings.HasPrefix(user, "usr_") {
		t.Fatalf("user create printed %q", user)
	}
	key := runCLI(t, "apikey", "create", "--data", dir, "--account", account, "--name", "crm")
	if !strings.HasPrefix(key, "key_") || !strings.Contains(key, ".") {
		t.Fatalf("apikey create printed %q", key)
	}
	// The operator turns a locked-out user's second factor off.
	if out := runCLI(t, "user", "reset-two-factor", "--data", dir, "--email", "ann@acme.test"); !strings.Contains(out, "ann@acme.test is off") {
		t.Fatalf("reset-two-factor printed %q", out)
	}
	if out := runCLI(t, "migrate", "--data", dir); !strings.Contains(out, "0001_core.sql") {
		t.Fatalf("migrate printed %q", out)
	}
	if out := runCLI(t, "version"); !strings.HasPrefix(out, "parley ") {
		t.Fatalf("version printed %q", out)
	}
	// The environment sets flags the command line leaves alone.
	var out, errOut bytes.Buffer
	env := map[string]string{"PARLEY_DATA": dir, "PARLEY_NAME": "From Env"}
	if err := run(context.Background(), []string{"account", "create"}, func(k string) string { return env[k] }, nil, &out, &errOut); err != nil {
		t.Fatalf("env flags: %v %s", err, errOut.String())
	}
	// Bad input is refused with a reason.
	for _, args := range [][]string{
		{"user", "create", "--data", dir, "--account", account, "--email", "x@acme.test", "--password", "short"},
		{"user", "create", "--data", dir, "--account", account, "--email", "ann@acme.test", "--password", "long enough"},
		{"user", "create", "--data", dir, "--account", "acc_nope", "--email", "y@acme.test", "--password", "long enough"},
		{"account", "create", "--data", dir},
		{"user", "reset-two-factor", "--data", dir, "--email", "nobody@acme.test"},
		{"teleport"},
	} {
		if err := run(context.Background(), args, func(string) string { return "" }, nil, io.Discard, io.Discard); err == nil {
			t.Fatalf("parley %v succeeded", args)
		}
	}
}

func TestDemoSeedsOnceAndServes(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 2; i++ { // the second start finds the seeded brand
		args, _ := json.Marshal([]string{"demo", "--addr", "127.0.0.1:0", "--data", dir, "--log-level", "warn"})
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "PARLEY_TEST_EXEC_ARGS="+string(args))
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		var url string
		seen := ""
		for lines.Scan() {
			seen += lines.Text() + "\n"
			if u, ok := strings.CutPrefix(lines.Text(), "Parley is listening on "); ok {
				url = u
			}
			if strings.HasPrefix(lines.Text(), "REST API") {
				break
			}
		}
		if url == "" || !strings.Contains(seen, demoAgentEmail) {
			t.Fatalf("demo printed:\n%s", seen)
		}
		var login struct{ User struct{ Email string } }
		if st := postJSON(t, url+"/api/v1/auth/login", "", map[string]string{"email": demoAgentEmail, "password": demoPassword}, &login); st != 200 {
			t.Fatalf("demo agent login: %d", st)
		}
		// The demo's own mailbox: the page, and the brand mailing replies.
		if !strings.Contains(seen, url+"/demo/mail/") {
			t.Fatalf("demo printed no mailbox:\n%s", seen)
		}
		res, err := http.Get(url + "/demo/mail/")
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("demo mailbox: %v %v", res, err)
		}
		res.Body.Close()
		// The first start mails the supervisor and the admin the latest
		// week's report, which the mailbox shows.
		for deadline := time.Now().Add(30 * time.Second); i == 0; {
			res, err := http.Get(url + "/demo/mail/")
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if strings.Count(string(page), "your week in Parley") >= 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no weekly report in the demo's mailbox:\n%s", page)
			}
			time.Sleep(100 * time.Millisecond) // polling a page, no event to wait on
		}
		cmd.Process.Signal(os.Interrupt) // graceful stop
		if err := cmd.Wait(); err != nil {
			t.Fatalf("demo did not stop cleanly on SIGINT: %v", err)
		}
	}
	// The team's canned responses, seeded once for both starts.
	noDatabase := ""
	store, err := openStore(context.Background(), storeFlags{data: &dir, databaseURL: &noDatabase})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	agent, err := store.FindUserByEmail(context.Background(), demoAgentEmail)
	if err != nil {
		t.Fatal(err)
	}
	if canned, err := store.ListCannedResponses(context.Background(), agent.AccountID); err != nil || len(canned) != 4 {
		t.Fatalf("the demo's canned responses: %d, %v", len(canned), err)
	}

	// The week before the first start, written once: the bot answering
	// and handing over, the team answering, ratings, and at the end two
	// visitors waiting, one for the demo agent, one talking to the bot.
	ctx := context.Background()
	byState := map[parley.ConversationState][]*parley.Conversation{}
	for _, st := range []parley.ConversationState{parley.StateClosed, parley.StateQueued, parley.StateAssigned, parley.StateBot} {
		byState[st], _ = store.ListConversations(ctx, agent.AccountID, parley.ConversationFilter{State: st, Limit: 500})
	}
	if n := len(byState[parley.StateClosed]); n < 50 || n > 200 {
		t.Fatalf("%d closed conversations in the demo's week", n)
	}
	if q, a, b := byState[parley.StateQueued], byState[parley.StateAssigned], byState[parley.StateBot]; len(q) != 2 || len(a) != 1 || a[0].AssigneeID != agent.ID || len(b) != 1 {
		t.Fatalf("the present: %d queued, %d assigned %+v, %d with the bot", len(q), len(a), a, len(b))
	}
	oldest := byState[parley.StateClosed][len(byState[parley.StateClosed])-1]
	if age := time.Since(oldest.CreatedAt); age < 5*24*time.Hour || age > 7*24*time.Hour {
		t.Fatalf("the oldest conversation is %v old", age)
	}
	agents := map[string]bool{}
	for _, c := range byState[parley.StateClosed] {
		if c.AssigneeID != "" {
			agents[c.AssigneeID] = true
		}
	}
	if len(agents) != 3 {
		t.Fatalf("%d agents answered in the week", len(agents))
	}
	for _, typ := range []string{parley.EventBotAnswered, parley.EventBotHandoff, parley.EventCSATSubmitted, parley.EventWidgetLoaded, parley.EventAgentStatusChanged, parley.EventConversationFields} {
		if events, err := store.ListEvents(ctx, agent.AccountID, parley.EventFilter{Types: []string{typ}, Limit: 1}); err != nil || len(events) == 0 {
			t.Fatalf("no %s in the demo's week (%v)", typ, err)
		}
	}
}

func TestBotEvalPrintsTheMeasures(t *testing.T) {
	out := runCLI(t, "bot", "eval", "--train", "../../internal/bot/nlu/testdata/banking77/train.csv",
		"--test", "../../internal/bot/nlu/testdata/banking77/test.csv", "--per-label", "10")
	// 770 phrases and the 77 intent names.
	for _, want := range []string{"trained on 847 phrases, 77 intents", "accuracy", "macro-F1", "calibration", "in scope      answered right", "latency p99"} {
		if !strings.Contains(out, want) {
			t.Fatalf("bot eval printed:\n%s\nwithout %q", out, want)
		}
	}
	// Every fourth of the 77 intents held out: by default the 4th, 8th …
	// 76th (19 of them), in fold 1 the 1st, 5th … 77th (20).
	for fold, intents := range map[string]string{"": "58 intents", "1": "57 intents"} {
		args := []string{"bot", "eval", "--train", "../../internal/bot/nlu/testdata/banking77/train.csv",
			"--test", "../../internal/bot/nlu/testdata/banking77/test.csv", "--per-label", "10", "--holdout-every", "4"}
		if fold != "" {
			args = append(args, "--holdout-fold", fold)
		}
		if out := runCLI(t, args...); !strings.Contains(out, intents) || !strings.Contains(out, "out of scope  answered (wrong)") {
			t.Fatalf("bot eval with fold %q printed:\n%s\nwithout %q", fold, out, intents)
		}
	}
	var buf bytes.Buffer
	if err := run(context.Background(), []string{"bot", "eval", "--train", "missing.csv", "--test", "x.csv"}, func(string) string { return "" }, nil, &buf, &buf); err == nil {
		t.Fatal("a missing file was accepted")
	}
	for _, fold := range [][]string{{"--holdout-every", "4", "--holdout-fold", "5"}, {"--holdout-fold", "1"}} {
		err := run(context.Background(), append([]string{"bot", "eval", "--train", "a.csv", "--test", "b.csv"}, fold...), func(string) string { return "" }, nil, &buf, &buf)
		if err == nil || !strings.Contains(err.Error(), "a fold is from 1 to --holdout-every") {
			t.Fatalf("%v: %v", fold, err)
		}
	}
	err := run(context.Background(), []string{"bot", "eval", "--train", "a.csv", "--test", "b.csv", "--language", "xx"}, func(string) string { return "" }, nil, &buf, &buf)
	if err == nil || !strings.Contains(err.Error(), "de, en, es, fi, fr, it, nb") {
		t.Fatalf("an unknown language: %v", err)
	}
}

func TestBotImportExportAndPreciseErrors(t *testing.T) {
	dir := t.TempDir()
	account := runCLI(t, "account", "create", "--data", dir, "--name", "Acme")
	runCLI(t, "account", "create", "--data", dir, "--name", "Other")
	good := filepath.Join(dir, "bot.yaml")
	os.WriteFile(good, []byte("enabled: true\nintents:\n  - name: hours\n    phrases: [when are you open]\n    answer: Nine to five.\n"), 0o600)
	if out := runCLI(t, "bot", "import", good, "--data", dir, "--account", account); !strings.Contains(out, "version 1") {
		t.Fatalf("import said %q", out)
	}
	faq := filepath.Join(dir, "faq.csv")
	os.WriteFile(faq, []byte("question,answer\nDo you ship abroad?,Yes: to 30 countries.\nInternational delivery?,Yes: to 30 countries.\nCan I pay by PayPal?,We take PayPal.\n"), 0o600)
	if out := runCLI(t, "bot", "import", faq, "--data", dir, "--account", account); !strings.Contains(out, "added 2 articles") || !strings.Contains(out, "version 2") {
		t.Fatalf("FAQ import said %q", out)
	}
	exported := runCLI(t, "bot", "export", "--data", dir, "--account", account, "--format", "yaml")
	for _, want := range []string{"name: hours", "id: do-you-ship-abroad", "- International delivery?", "secret: whsec_"} {
		if !strings.Contains(exported, want) {
			t.Fatalf("export lacks %q:\n%s", want, exported)
		}
	}

	fail := func(name, content, want string) {
		t.Helper()
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(content), 0o600)
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"bot", "import", path, "--data", dir, "--account", account}, func(string) string { return "" }, nil, &out, &errOut)
		if err == nil || err.Error() != path+want {
			t.Fatalf("import of %s: %v, want %s%s", name, err, path, want)
		}
	}
	fail("cycle.yaml", "flows:\n  - name: f\n    steps:\n      - {id: a, kind: say, text: hi, next: a}\n",
		`:4: flows[0].steps[0]: step "a" is part of a loop that never waits for the visitor`)
	fail("bad.csv", "question,answer\nWhere are you?,\n", ":2: answer: is empty")
	fail("bad.yaml", "enabled: [\n", ":1: did not find expected node content")
	// Nothing changed: the last good configuration is still there.
	if again := runCLI(t, "bot", "export", "--data", dir, "--account", account, "--format", "yaml"); again != exported {
		t.Fatal("a refused import changed the configuration")
	}
	// Two accounts: the account must be named.
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"bot", "export", "--data", dir}, func(string) string { return "" }, nil, &out, &errOut); err == nil || !strings.Contains(err.Error(), "--account is required") {
		t.Fatalf("export without --account: %v", err)
	}
}

func TestExportWritesTheRangeAndRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	account := runCLI(t, "account", "create", "--data", dir, "--name", "Acme")
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, filepath.Join(dir, "parley.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := &parley.Consumer{AccountID: account}
	store.CreateConsumer(ctx, c)
	conv, _ := store.OpenConversation(ctx, account, parley.ConversationOpen{ConsumerID: c.ID, Channel: parley.ChannelWeb, State: parley.StateQueued})
	for i := 0; i < 3; i++ {
		store.AppendMessage(ctx, &parley.Message{AccountID: account, ConversationID: conv.ID, SenderKind: parley.SenderConsumer, SenderID: c.ID, Type: parley.MessageText, Text: fmt.Sprint("m", i)})
	}
	store.Close()
	out := filepath.Join(dir, "messages.ndjson")
	var stdout, stderr bytes.Buffer
	from := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	if err := run(ctx, []string{"export", "--data", dir, "--account", account, "--what", "messages", "--from", from, "--out", out}, func(string) string { return "" }, nil, &stdout, &stderr); err != nil {
		t.Fatal(err, stderr.String())
	}
	data, _ := os.ReadFile(out)
	if lines := strings.Split(strings.TrimSpace(string(data)), "\n"); len(lines) != 3 || !strings.Contains(lines[2], `"text":"m2"`) {
		t.Fatalf("exported %q", data)
	}
	if !strings.Contains(stderr.String(), "exported 3 messages") {
		t.Fatalf("stderr %q", stderr.String())
	}
	for _, args := range [][]string{
		{"--what", "users", "--from", from},
		{"--from", "2026-02-01", "--to", "2026-01-01"},
		{"--from", "last week"},
	} {
		err := run(ctx, append([]string{"export", "--data", dir, "--account", account}, args...), func(string) string { return "" }, nil, &stdout, &stderr)
		if err == nil {
			t.Fatalf("export %v was accepted", args)
		}
	}
}

// benchCommits is what `parley bench --json` says of the server's commits.
type benchCommits struct {
	Commits         int64   `json:"commits"`
	WritesPerCommit float64 `json:"writes_per_commit"`
	WriterBusy      float64 `json:"writer_busy"`
	ServerAckP99    float64 `json:"server_ack_p99_ms_at_most"`
}

// TestBenchRunsEveryScenarioEndToEnd runs `parley bench` small: a real
// server process, real clients, every scenario, JSON out. Numbers are not
// asserted (they are benchmarks); that nothing is lost, is.
func TestBenchRunsEveryScenarioEndToEnd(t *testing.T) {
	benchChildEnv = "PARLEY_TEST_EXEC_ARGS"
	defer func() { benchChildEnv = "" }()
	plot := filepath.Join(t.TempDir(), "max.svg")
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"bench", "--scenario", "all", "--json", "--plot", plot, "--conversations", "20", "--agents", "2",
		"--duration", "1s", "--warmup", "200ms", "--idle-conns", "50", "--storm-clients", "40", "--step", "300ms", "--steps", "2,4"}, func(string) string { return "" }, nil, &out, &errOut)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	var report struct {
		Results []struct {
			Scenario    string  `json:"scenario"`
			Delivered   int64   `json:"messages_delivered"`
			Persisted   int64   `json:"messages_persisted"`
			Lost        int64   `json:"lost"`
			Duplicates  int64   `json:"duplicates"`
			Errors      int64   `json:"errors"`
			Connections int     `json:"connections"`
			RSS         float64 `json:"server_rss_mib"`
			EchoRate    float64 `json:"echo_messages_per_second"`
			Ack         *struct {
				Samples int `json:"samples"`
			} `json:"ack_latency"`
			Store *benchCommits `json:"store"`
			Steps []struct {
				Pairs int           `json:"pairs"`
				Store *benchCommits `json:"store"`
			} `json:"steps"`
		} `json:"results"`
	}
	if err := json.Unmarshal(out.Bytes(), &report); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	got := map[string]bool{}
	for _, r := range report.Results {
		got[r.Scenario] = true
		if r.Lost != 0 || r.Duplicates != 0 {
			t.Errorf("%s: %d lost, %d duplicated", r.Scenario, r.Lost, r.Duplicates)
		}
		if r.Delivered == 0 && r.Scenario != "idle" {
			t.Errorf("%s delivered nothing", r.Scenario)
		}
		if r.RSS == 0 {
			t.Errorf("%s: no server RSS", r.Scenario)
		}
		switch r.Scenario {
		case "idle":
			if r.Connections != 50 || r.Errors != 0 {
				t.Errorf("idle: %d connections, %d errors", r.Connections, r.Errors)
			}
		case "storm":
			if r.Delivered != 40 || r.Persisted != 40 {
				t.Errorf("storm: %d of %d resynced", r.Delivered, r.Persisted)
			}
		case "max":
			if len(r.Steps) == 0 || r.EchoRate == 0 {
				t.Errorf("max: %d steps, echo %v", len(r.Steps), r.EchoRate)
			}
			// Each step reads the server's store; a 300 ms step on a
			// machine busy with other tests may commit nothing, but not all.
			committed := false
			for _, s := range r.Steps {
				if s.Store == nil || (s.Store.Commits > 0 && s.Store.WritesPerCommit < 1) {
					t.Errorf("max: step of %d pairs reports no reading of the server's store: %+v", s.Pairs, s.Store)
				}
				committed = committed || (s.Store != nil && s.Store.Commits > 0)
			}
			if !committed {
				t.Errorf("max: no step reports a commit of the server's store")
			}
		case "steady":
			if r.Ack == nil || r.Ack.Samples == 0 || r.Store == nil || r.Store.Commits == 0 {
				t.Errorf("steady: no send → ack latencies or store commits: %+v %+v", r.Ack, r.Store)
			} else if r.Store.WriterBusy <= 0 || r.Store.WriterBusy > 1 {
				t.Errorf("steady: the store's writer was busy %v of the time over %d commits; want a share in (0, 1]", r.Store.WriterBusy, r.Store.Commits)
			} else if r.Store.ServerAckP99 <= 0 {
				t.Errorf("steady: the server's own send → ack p99 is %v ms; want a bucket's bound (the server reports parley_send_ack_seconds)", r.Store.ServerAckP99)
			}
		}
	}
	if len(got) != 5 {
		t.Fatalf("scenarios run: %v", got)
	}
	if svg, err := os.ReadFile(plot); err != nil || !strings.Contains(string(svg), "Parley p99") {
		t.Fatalf("plot: %v", err)
	}
}

// TestFewProcsAreDoubled: on a machine with fewer than four CPUs the
// server runs with twice Go's default Ps (one stalls in a commit's
// fsync), unless GOMAXPROCS is set; on a larger one Go's default stands.
func TestFewProcsAreDoubled(t *testing.T) {
	was := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(was)
	if _, raised := ensureProcs(func(k string) string {
		if k == "GOMAXPROCS" {
			return "1"
		}
		return ""
	}); raised || runtime.GOMAXPROCS(0) != 1 {
		t.Fatalf("GOMAXPROCS=1 in the environment was overridden: %d", runtime.GOMAXPROCS(0))
	}
	for from, want := range map[int]int{1: 2, 2: 4, 3: 6, 4: 4, 8: 8} {
		runtime.GOMAXPROCS(from)
		got, raised := ensureProcs(func(string) string { return "" })
		if got != want || runtime.GOMAXPROCS(0) != want || raised != (want != from) {
			t.Errorf("%d Ps became %d (reported %d, raised %v); want %d", from, runtime.GOMAXPROCS(0), got, raised, want)
		}
	}
}

func TestCPUListsParse(t *testing.T) {
	for in, want := range map[string]string{"": "[]", "0": "[0]", "0,2": "[0 2]", "1-3": "[1 2 3]", " 0 , 2-3 ": "[0 2 3]"} {
		got, err := parseCPUs(in)
		if err != nil || fmt.Sprint(got) != want && !(want == "[]" && got == nil) {
			t.Errorf("parseCPUs(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"x", "1-", "3-1", "-1", "0,,1", "2000"} {
		if _, err := parseCPUs(bad); err == nil {
			t.Errorf("parseCPUs(%q) accepted", bad)
		}
	}
}

// TestBenchConfinesTheServerItStarts: --server-cpus puts the server on
// the CPUs asked for, as if the load generator ran elsewhere.
func TestBenchConfinesTheServerItStarts(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("CPU affinity is Linux's")
	}
	benchChildEnv = "PARLEY_TEST_EXEC_ARGS"
	defer func() { benchChildEnv = "" }()
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"bench", "--scenario", "max", "--json", "--agents", "1", "--warmup", "100ms",
		"--step", "200ms", "--steps", "1", "--baseline", "", "--server-cpus", "0"}, func(string) string { return "" }, nil, &out, &errOut)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	var report struct {
		ServerCPUs string `json:"server_cpus_allowed"`
	}
	if err := json.Unmarshal(out.Bytes(), &report); err != nil {
		t.Fatal(err)
	}
	if report.ServerCPUs != "0" {
		t.Fatalf("the server ran on CPUs %q, want 0", report.ServerCPUs)
	}
	if err := run(context.Background(), []string{"bench", "--server-cpus", "0", "--url", "http://127.0.0.1:1", "--api-key", "k"}, func(string) string { return "" }, nil, &out, &errOut); err == nil {
		t.Fatal("--server-cpus with --url was accepted")
	}
}

func TestTrustedProxiesComeFromTheFlagOrTheEnvironment(t *testing.T) {
	env := func(k string) string {
		if k == "PARLEY_TRUSTED_PROXIES" {
			return "10.0.0.0/8, 192.0.2.7"
		}
		return ""
	}
	cfg, _, err := parseServe("serve", nil, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(cfg.TrustedProxies); got != "[10.0.0.0/8 192.0.2.7/32]" {
		t.Fatalf("trusted proxies %s", got)
	}
	if _, _, err := parseServe("serve", []string{"--trusted-proxies", "lb.internal"}, func(string) string { return "" }, io.Discard); err == nil ||
		!strings.Contains(err.Error(), `"lb.internal" is neither an address nor a CIDR range`) {
		t.Fatalf("a name instead of an address: %v", err)
	}
}

// TestBenchLoadsATwoNodeCluster: with --nodes 2 the bench starts two nodes
// on one PostgreSQL database and one NATS, visitors on one and agents on
// the other; every message crosses nodes and none is lost, and every read
// receipt the agents send (--receipts) is taken without an error.
func TestBenchLoadsATwoNodeCluster(t *testing.T) {
	natsURL := natstest.URL(t)
	db := pgtest.Database(t)
	benchChildEnv = "PARLEY_TEST_EXEC_ARGS"
	defer func() { benchChildEnv = "" }()
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"bench", "--scenario", "steady", "--json", "--conversations", "20", "--agents", "2",
		"--duration", "1s", "--warmup", "200ms", "--receipts", "--nodes", "2", "--database-url", db, "--nats-url", natsURL}, func(string) string { return "" }, nil, &out, &errOut)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	var report struct {
		Results []struct {
			Delivered int64 `json:"messages_delivered"`
			Lost      int64 `json:"lost"`
			Errors    int64 `json:"errors"`
		} `json:"results"`
	}
	if err := json.Unmarshal(out.Bytes(), &report); err != nil {
		t.Fatal(err)
	}
	if r := report.Results[0]; r.Delivered < 20 || r.Lost != 0 || r.Errors != 0 {
		t.Fatalf("two nodes: %+v", r)
	}
	for _, args := range [][]string{{"--nodes", "2"}, {"--nodes", "3", "--database-url", db, "--nats-url", natsURL}, {"--database-url", db, "--url", "http://127.0.0.1:1", "--api-key", "k"}} {
		if err := run(context.Background(), append([]string{"bench"}, args...), func(string) string { return "" }, nil, &out, &errOut); err == nil {
			t.Fatalf("bench %v was accepted", args)
		}
	}
}

// TestCLIAdministersAPostgreSQLInstallation: the admin commands take
// --database-url (or PARLEY_DATABASE_URL) as serve does; the data dir is
// not needed then.
func TestCLIAdministersAPostgreSQLInstallation(t *testing.T) {
	db := pgtest.Database(t)
	account := runCLI(t, "account", "create", "--database-url", db, "--name", "Acme")
	if !strings.HasPrefix(account, "acc_") {
		t.Fatalf("account create printed %q", account)
	}
	env := map[string]string{"PARLEY_DATABASE_URL": db}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"user", "create", "--account", account, "--email", "ann@acme.test", "--password", "long enough", "--role", "admin"},
		func(k string) string { return env[k] }, nil, &out, &errOut); err != nil || !strings.HasPrefix(out.String(), "usr_") {
		t.Fatalf("user create from the environment: %q %v %s", out.String(), err, errOut.String())
	}
	if out := runCLI(t, "migrate", "--database-url", db); !strings.Contains(out, "0011_schema.sql") {
		t.Fatalf("migrate printed %q", out)
	}
	bot := filepath.Join(t.TempDir(), "faq.csv")
	os.WriteFile(bot, []byte("question,answer\nWhere is my parcel?,It ships in two days.\n"), 0o600)
	runCLI(t, "bot", "import", bot, "--database-url", db)
	if out := runCLI(t, "bot", "export", "--database-url", db, "--format", "json"); !strings.Contains(out, "ships in two days") {
		t.Fatalf("bot export printed %q", out)
	}
	if err := run(context.Background(), []string{"account", "create", "--database-url", "postgres://nobody@127.0.0.1:1/none", "--name", "X"}, func(string) string { return "" }, nil, io.Discard, io.Discard); err == nil {
		t.Fatal("an unreachable database was accepted")
	}
}
