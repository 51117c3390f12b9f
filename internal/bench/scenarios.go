package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// Options tune the scenarios. Zero fields take the defaults.
type Options struct {
	Warmup, Duration time.Duration // per measured phase (defaults 2 s, 10 s)
	Conversations    int           // steady: conversations sending 1 message/s each (1,000)
	Agents           int           // agents receiving (10)
	IdleConns        int           // idle: connections held (10,000)
	StormClients     int           // storm: clients that drop and reconnect (5,000)
	BotVisitors      int           // bot: visitors asking at once (20)
	MaxSteps         []int         // max: pairs at each step (8 … 512)
	MaxStep          time.Duration // max: length of one step (3 s)
	MaxP99           time.Duration // max: the latency ceiling (50 ms)
	Baseline         bool          // also measure the echo server
	// Receipts: in steady and max, each agent answers every visitor
	// message with a read receipt, as the console does (a store write
	// per message more).
	Receipts  bool
	BotConfig []byte       // bot: the YAML to import
	Progress  func(string) // live progress lines
}

func (o *Options) defaults() {
	if o.Warmup <= 0 {
		o.Warmup = 2 * time.Second
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Conversations <= 0 {
		o.Conversations = 1000
	}
	if o.Agents <= 0 {
		o.Agents = 10
	}
	if o.IdleConns <= 0 {
		o.IdleConns = 10000
	}
	if o.StormClients <= 0 {
		o.StormClients = 5000
	}
	if o.BotVisitors <= 0 {
		o.BotVisitors = 20
	}
	if len(o.MaxSteps) == 0 {
		o.MaxSteps = []int{8, 16, 32, 64, 128, 256, 512}
	}
	if o.MaxStep <= 0 {
		o.MaxStep = 3 * time.Second
	}
	if o.MaxP99 <= 0 {
		o.MaxP99 = 50 * time.Millisecond
	}
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
}

// Step is one load level of the max scenario.
type Step struct {
	Pairs   int     `json:"pairs"`
	Rate    float64 `json:"messages_per_second"`
	Latency Latency `json:"latency"`
	// AckLatency is send → the sender has its ack: the message is durable.
	AckLatency Latency  `json:"ack_latency"`
	Commits    *Commits `json:"store,omitempty"` // the server's commits during the step (Parley steps only)
	// Where the machine's CPU went during the step (Parley steps only):
	// the server's and this load generator's CPU per delivered message,
	// and the share of all cores busy.
	ServerCPU   float64 `json:"server_cpu_us_per_message,omitempty"`
	DiskKiB     float64 `json:"server_disk_kib_per_message,omitempty"` // written to storage by the server
	BenchCPU    float64 `json:"bench_cpu_us_per_message,omitempty"`
	MachineBusy float64 `json:"machine_busy,omitempty"`
}

// Result is one scenario's outcome.
type Result struct {
	Scenario      string   `json:"scenario"`
	Messages      int64    `json:"messages_delivered"`
	Persisted     int64    `json:"messages_persisted"`
	Rate          float64  `json:"messages_per_second"`
	Latency       Latency  `json:"latency"`
	AckLatency    *Latency `json:"ack_latency,omitempty"` // send → ack (durable), where measured
	Commits       *Commits `json:"store,omitempty"`       // the server's commits in the measured window, where measured
	Errors        int64    `json:"errors"`
	Lost          int64    `json:"lost"`
	Duplicates    int64    `json:"duplicates"`
	Connections   int      `json:"connections,omitempty"`
	ConnectRate   float64  `json:"connects_per_second,omitempty"`
	ServerRSSMiB  float64  `json:"server_rss_mib,omitempty"`
	RSSPerConnKiB float64  `json:"rss_per_connection_kib,omitempty"`
	CPUPer1000    float64  `json:"server_cpu_seconds_per_1000_messages,omitempty"`
	Resync        float64  `json:"resync_seconds,omitempty"`
	Steps         []Step   `json:"steps,omitempty"`
	EchoSteps     []Step   `json:"echo_steps,omitempty"`
	EchoRate      float64  `json:"echo_messages_per_second,omitempty"`
	Ratio         float64  `json:"parley_over_echo,omitempty"`
	Notes         []string `json:"notes,omitempty"`
}

// proc reads a process's resident set and CPU time from /proc.
func proc(pid int) (rss int64, cpu time.Duration) {
	if pid == 0 {
		return 0, 0
	}
	if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				rss = kb * 1024
			}
		}
	}
	if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		s := string(data)
		if i := strings.LastIndexByte(s, ')'); i > 0 {
			f := strings.Fields(s[i+1:])
			if len(f) > 13 {
				u, _ := strconv.ParseInt(f[11], 10, 64)
				k, _ := strconv.ParseInt(f[12], 10, 64)
				cpu = time.Duration(u+k) * 10 * time.Millisecond // USER_HZ is 100 on Linux
			}
		}
	}
	return rss, cpu
}

// diskWritten is the bytes a process has caused to be written to storage
// (/proc/<pid>/io write_bytes; 0 where unknown).
func diskWritten(pid int) int64 {
	if pid == 0 {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// Steady: many conversations, each sending one message a second.
func Steady(ctx context.Context, t *Target, o Options) (*Result, error) {
	o.defaults()
	disk := t.diskNote() // before any load
	o.Progress(fmt.Sprintf("steady: setting up %d conversations and %d agents", o.Conversations, o.Agents))
	r, err := newRig(ctx, t, o.Agents, o.Conversations, o.Receipts)
	if err != nil {
		return nil, err
	}
	defer r.close()
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, p := range r.pairs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Spread the senders over the second.
			select {
			case <-time.After(time.Duration(rand.Int64N(int64(time.Second)))):
			case <-runCtx.Done():
				return
			}
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				if err := r.send(runCtx, p); err != nil {
					return
				}
				select {
				case <-runCtx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	o.Progress("steady: warming up")
	time.Sleep(o.Warmup)
	store0 := t.readStore(ctx)
	disk0 := t.diskWritten()
	_, cpu0 := t.proc()
	d0 := r.delivered.Load()
	r.recording.Store(true)
	start := time.Now()
	progress(ctx, o, "steady", o.Duration, r)
	r.recording.Store(false)
	elapsed := time.Since(start)
	delivered := r.delivered.Load() - d0
	rss, cpu1 := t.proc()
	written := t.diskWritten() - disk0
	commits := commitsSince(store0, t.readStore(ctx))
	stop()
	wg.Wait()
	lat, ackLat := r.takeLatencies()
	ack := summarize(ackLat)
	res := &Result{Scenario: "steady", Rate: float64(delivered) / elapsed.Seconds(), Latency: summarize(lat), AckLatency: &ack, Commits: &commits,
		ServerRSSMiB: float64(rss) / (1 << 20), Connections: o.Conversations + o.Agents}
	if delivered > 0 && t.PID != 0 {
		res.CPUPer1000 = (cpu1 - cpu0).Seconds() / (float64(delivered) / 1000)
	}
	res.Lost = r.loss(5 * time.Second)
	res.Messages, res.Persisted, res.Errors, res.Duplicates = r.delivered.Load(), r.acked.Load(), r.errors.Load(), r.dups.Load()
	res.Notes = append(res.Notes, "delivered and persisted count the whole run (warm-up and wind-down too); the rate and latency, the measured window",
		fmt.Sprintf("send → ack (durable): p50 %s, p90 %s, p99 %s, max %s ms", ms(ack.P50), ms(ack.P90), ms(ack.P99), ms(ack.Max)),
		"store: "+commits.String())
	if delivered > 0 && t.PID != 0 && written > 0 { // nothing written: the store is PostgreSQL's
		res.Notes = append(res.Notes, fmt.Sprintf("server wrote %.1f KiB to disk per message (WAL, checkpoints; /proc/<pid>/io)", float64(written)/1024/float64(delivered)))
	}
	if disk != "" {
		res.Notes = append(res.Notes, disk)
	}
	return res, nil
}

// progress prints a live line every second of a measured phase.
func progress(ctx context.Context, o Options, name string, d time.Duration, r *rig) {
	end := time.Now().Add(d)
	last := r.delivered.Load()
	for time.Now().Before(end) && ctx.Err() == nil {
		time.Sleep(min(time.Second, time.Until(end)))
		now := r.delivered.Load()
		o.Progress(fmt.Sprintf("%s: %d msgs/s delivered, %d errors", name, now-last, r.errors.Load()))
		last = now
	}
}

// closedLoop runs n pairs, each sending its next message once the last one
// arrived, for d; it returns the step.
func closedLoop(ctx context.Context, r *rig, n int, d time.Duration) Step {
	runCtx, stop := context.WithTimeout(ctx, d)
	defer stop()
	r.takeLatencies()
	d0 := r.delivered.Load()
	store0 := r.t.readStore(ctx)
	disk0 := r.t.diskWritten()
	_, server0 := r.t.proc()
	_, bench0 := proc(os.Getpid())
	busy0, total0 := machineTicks()
	r.recording.Store(true)
	start := time.Now()
	var wg sync.WaitGroup
	for _, p := range r.pairs[:n] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil {
				select { // drop a stale arrival signal
				case <-p.arrived:
				default:
				}
				if r.send(runCtx, p) != nil {
					return
				}
				select {
				case <-p.arrived:
				case <-runCtx.Done():
					return
				case <-time.After(5 * time.Second):
					r.errors.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	r.recording.Store(false)
	elapsed := time.Since(start)
	delivered := r.delivered.Load() - d0
	lat, ackLat := r.takeLatencies()
	commits := commitsSince(store0, r.t.readStore(ctx))
	step := Step{Pairs: n, Rate: float64(delivered) / elapsed.Seconds(), Latency: summarize(lat), AckLatency: summarize(ackLat), Commits: &commits}
	_, server1 := r.t.proc()
	_, bench1 := proc(os.Getpid())
	disk1 := r.t.diskWritten()
	busy1, total1 := machineTicks()
	if delivered > 0 {
		if r.t.PID != 0 {
			step.ServerCPU = float64((server1 - server0).Microseconds()) / float64(delivered)
			step.DiskKiB = float64(disk1-disk0) / 1024 / float64(delivered)
		}
		step.BenchCPU = float64((bench1 - bench0).Microseconds()) / float64(delivered)
	}
	if total1 > total0 {
		step.MachineBusy = float64(busy1-busy0) / float64(total1-total0)
	}
	return step
}

// machineTicks reads all cores' busy and total time from /proc/stat (in
// clock ticks); zeros where there is no /proc.
func machineTicks() (busy, total int64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i >= 8 { // guest time is counted in user already
			break
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// Max raises the load until p99 passes the ceiling and reports the highest
// rate below it, and the echo server's at the same steps.
func Max(ctx context.Context, t *Target, o Options) (*Result, error) {
	o.defaults()
	most := o.MaxSteps[len(o.MaxSteps)-1]
	o.Progress(fmt.Sprintf("max: setting up %d pairs", most))
	r, err := newRig(ctx, t, o.Agents, most, o.Receipts)
	if err != nil {
		return nil, err
	}
	defer r.close()
	closedLoop(ctx, r, o.MaxSteps[0], o.Warmup)
	res := &Result{Scenario: "max"}
	_, cpu0 := t.proc()
	d0 := r.delivered.Load()
	for _, n := range o.MaxSteps {
		s := closedLoop(ctx, r, n, o.MaxStep)
		res.Steps = append(res.Steps, s)
		o.Progress(fmt.Sprintf("max: %d pairs: %.0f msgs/s, p99 %v", n, s.Rate, s.Latency.P99))
		if s.Latency.P99 <= o.MaxP99 && s.Rate > res.Rate {
			res.Rate, res.Latency = s.Rate, s.Latency
		}
		if s.Latency.P99 > o.MaxP99 {
			break
		}
	}
	rss, cpu1 := t.proc()
	delivered := r.delivered.Load() - d0
	if delivered > 0 && t.PID != 0 {
		res.CPUPer1000 = (cpu1 - cpu0).Seconds() / (float64(delivered) / 1000)
	}
	res.ServerRSSMiB = float64(rss) / (1 << 20)
	res.Lost = r.loss(5 * time.Second)
	res.Messages, res.Persisted, res.Errors, res.Duplicates = r.delivered.Load(), r.acked.Load(), r.errors.Load(), r.dups.Load()
	if o.Baseline {
		echo, err := echoSteps(ctx, o, res.Steps)
		if err != nil {
			return nil, err
		}
		res.EchoSteps = echo
		for _, s := range echo {
			if s.Latency.P99 <= o.MaxP99 && s.Rate > res.EchoRate {
				res.EchoRate = s.Rate
			}
		}
		if res.EchoRate > 0 {
			res.Ratio = res.Rate / res.EchoRate
		}
	}
	return res, nil
}

// Idle holds many authenticated connections and measures the server's
// memory per connection.
func Idle(ctx context.Context, t *Target, o Options) (*Result, error) {
	o.defaults()
	n := o.IdleConns
	o.Progress(fmt.Sprintf("idle: creating %d visitors", n))
	tokens := make([]string, n)
	if err := parallel(n, 64, func(i int) error {
		v, err := t.newVisitor(ctx, false)
		if err == nil {
			tokens[i] = v.token
		}
		return err
	}); err != nil {
		return nil, err
	}
	time.Sleep(time.Second) // let the server settle after the token burst before the baseline reading
	before, _ := t.proc()
	o.Progress(fmt.Sprintf("idle: connecting %d", n))
	conns := make([]*conn, n)
	var failed atomic.Int64
	start := time.Now()
	parallel(n, 64, func(i int) error {
		c, err := dial(ctx, t.URL, tokens[i], nil, nil)
		if err != nil {
			failed.Add(1)
			return nil
		}
		conns[i] = c
		return nil
	})
	connectTime := time.Since(start)
	// Connections settle: an idle connection's reader parks after the
	// server's reader linger. Wait until (nearly) all are parked, or 20 s.
	ok := n - int(failed.Load())
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if p, found := t.serverMetrics(ctx)["parley_ws_parked_connections"]; !found || p >= float64(ok)*0.99 {
			break
		}
	}
	time.Sleep(time.Second) // and the memory they let go is back with the runtime
	after, _ := t.proc()
	notes := t.runtimeNotes(ctx)
	for _, c := range conns {
		if c != nil {
			c.drop()
		}
	}
	res := &Result{Scenario: "idle", Connections: ok, ConnectRate: float64(ok) / connectTime.Seconds(), Errors: failed.Load(), ServerRSSMiB: float64(after) / (1 << 20), Notes: notes}
	if t.PID != 0 && ok > 0 {
		res.RSSPerConnKiB = float64(after-before) / 1024 / float64(ok)
	}
	return res, nil
}

// Storm drops every client at once; while they are away each conversation
// gets a message; all reconnect at once and resync. It reports how long
// until every client had its missed message, and what was lost.
func Storm(ctx context.Context, t *Target, o Options) (*Result, error) {
	o.defaults()
	n := o.StormClients
	o.Progress(fmt.Sprintf("storm: setting up %d visitors", n))
	visitors := make([]*visitor, n)
	if err := parallel(n, 64, func(i int) error {
		v, err := t.newVisitor(ctx, true)
		visitors[i] = v
		return err
	}); err != nil {
		return nil, err
	}
	// The brand's server (the API key) writes into every conversation while the visitors are away.
	var acked atomic.Int64
	brand, err := dial(ctx, t.agentURL(), t.APIKey, nil, func(f frame, _ time.Time) {
		if f.Type == "ack" {
			acked.Add(1)
		}
	})
	if err != nil {
		return nil, err
	}
	defer brand.close()
	conns := make([]*conn, n)
	o.Progress(fmt.Sprintf("storm: connecting %d", n))
	if err := parallel(n, 64, func(i int) error {
		c, err := dial(ctx, t.URL, visitors[i].token, nil, nil)
		conns[i] = c
		return err
	}); err != nil {
		return nil, err
	}
	o.Progress("storm: everyone drops")
	for _, c := range conns {
		c.drop()
	}
	for i, v := range visitors {
		brand.send(ctx, map[string]any{"type": "send", "id": fmt.Sprint(i), "conversation_id": v.conversation, "client_id": fmt.Sprintf("storm-%d", i),
			"message": map[string]string{"type": "text", "text": "While you were away: your order shipped."}})
	}
	for deadline := time.Now().Add(60 * time.Second); acked.Load() < int64(n) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond) // polling the ack counter
	}
	o.Progress("storm: everyone reconnects and resyncs")
	var got atomic.Int64
	var errs atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 1000)
	for _, v := range visitors {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			done := make(chan struct{})
			var once sync.Once
			c, err := dial(ctx, t.URL, v.token, nil, func(f frame, _ time.Time) {
				if f.Type == "message" && strings.HasPrefix(f.Message.ClientID, "storm-") {
					once.Do(func() { got.Add(1); close(done) })
				}
			})
			if err != nil {
				errs.Add(1)
				return
			}
			defer c.drop()
			// It had seen nothing before (seq 0): the resync brings what it missed.
			c.send(ctx, map[string]any{"type": "subscribe", "id": "r", "conversation_id": v.conversation, "after_seq": 0})
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				errs.Add(1)
			}
		}()
	}
	wg.Wait()
	resync := time.Since(start)
	rss, _ := t.proc()
	return &Result{Scenario: "storm", Connections: n, Resync: resync.Seconds(), Messages: got.Load(), Persisted: acked.Load(),
		Lost: acked.Load() - got.Load(), Errors: errs.Load(), ServerRSSMiB: float64(rss) / (1 << 20), ConnectRate: float64(n) / resync.Seconds()}, nil
}

// Bot: visitors ask the bot questions, each asking the next once answered.
func Bot(ctx context.Context, t *Target, o Options) (*Result, error) {
	o.defaults()
	t.call(ctx, "POST", "/api/v1/skills", t.APIKey, map[string]string{"name": "general"}, nil) // the demo bot hands off there; it may exist
	if err := t.importBot(ctx, o.BotConfig); err != nil {
		return nil, err
	}
	questions := []string{"How long does delivery take?", "Can I pay with PayPal?", "What size should I order?", "How do I return an item?", "When do I get my refund?"}
	type asker struct {
		v   *visitor
		c   *conn
		ans chan time.Time
	}
	askers := make([]*asker, o.BotVisitors)
	if err := parallel(o.BotVisitors, 16, func(i int) error {
		v, err := t.newVisitor(ctx, true)
		if err != nil {
			return err
		}
		a := &asker{v: v, ans: make(chan time.Time, 16)}
		a.c, err = dial(ctx, t.URL, v.token, nil, func(f frame, at time.Time) {
			// The first message of the bot's answer (its client ID ends in :0).
			if f.Type == "message" && f.Message.SenderKind == "bot" && strings.HasSuffix(f.Message.ClientID, ":0") {
				a.ans <- at
			}
		})
		if err != nil {
			return err
		}
		askers[i] = a
		return a.c.send(ctx, map[string]any{"type": "subscribe", "id": "s", "conversation_id": v.conversation, "after_seq": 0})
	}); err != nil {
		return nil, err
	}
	defer func() {
		for _, a := range askers {
			a.c.close()
		}
	}()
	var mu sync.Mutex
	var lat []time.Duration
	var answered, errs atomic.Int64
	runCtx, stop := context.WithTimeout(ctx, o.Duration)
	defer stop()
	start := time.Now()
	var wg sync.WaitGroup
	for i, a := range askers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; runCtx.Err() == nil; n++ {
				sent := time.Now()
				a.c.send(runCtx, map[string]any{"type": "send", "id": fmt.Sprint(n), "conversation_id": a.v.conversation, "client_id": fmt.Sprintf("q%d-%d", i, n),
					"message": map[string]string{"type": "text", "text": questions[(i+n)%len(questions)]}})
				select {
				case at := <-a.ans:
					answered.Add(1)
					mu.Lock()
					lat = append(lat, at.Sub(sent))
					mu.Unlock()
				case <-time.After(5 * time.Second):
					errs.Add(1)
				case <-runCtx.Done():
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	rss, _ := t.proc()
	return &Result{Scenario: "bot", Messages: answered.Load(), Rate: float64(answered.Load()) / elapsed.Seconds(), Latency: summarize(lat), Errors: errs.Load(),
		ServerRSSMiB: float64(rss) / (1 << 20), Connections: o.BotVisitors,
		Notes: []string{"rate is answered questions per second; each visitor asks the next once answered"}}, nil
}

func (t *Target) importBot(ctx context.Context, yaml []byte) error {
	req, _ := http.NewRequestWithContext(ctx, "POST", t.URL+"/api/v1/bot/import?file=bench.yaml", strings.NewReader(string(yaml)))
	req.Header.Set("Content-Type", "application/yaml")
	req.Header.Set("Authorization", "Bearer "+t.APIKey)
	res, err := t.client().Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		var e json.RawMessage
		json.NewDecoder(res.Body).Decode(&e)
		return fmt.Errorf("bot import: %s %s", res.Status, e)
	}
	return nil
}

// echoSteps runs the same closed-loop pattern against a bare WebSocket
// echo server in this process: the machine's ceiling.
func echoSteps(ctx context.Context, o Options, steps []Step) ([]Step, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(echo)}
	go srv.Serve(ln)
	defer srv.Close()
	url := "ws://" + ln.Addr().String()
	most := steps[len(steps)-1].Pairs
	clients := make([]*conn, most)
	if err := parallel(most, 32, func(i int) error {
		c, err := dialWS(ctx, url, nil)
		clients[i] = c
		return err
	}); err != nil {
		return nil, err
	}
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.drop()
			}
		}
	}()
	payload, _ := json.Marshal(map[string]any{"type": "send", "id": "b1", "conversation_id": "cnv_0000000000000000000000", "client_id": "b1",
		"message": map[string]string{"type": "text", "text": "Hello, I have a question about my order b1"}})
	var out []Step
	for _, s := range steps {
		runCtx, stop := context.WithTimeout(ctx, o.MaxStep)
		var mu sync.Mutex
		var lat []time.Duration
		var n atomic.Int64
		start := time.Now()
		var wg sync.WaitGroup
		for _, c := range clients[:s.Pairs] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var local []time.Duration
				for runCtx.Err() == nil {
					t0 := time.Now()
					if c.writeFrame(runCtx, ws.OpText, payload) != nil {
						return
					}
					if _, err := c.next(); err != nil {
						return
					}
					local = append(local, time.Since(t0))
					n.Add(1)
				}
				mu.Lock()
				lat = append(lat, local...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		stop()
		step := Step{Pairs: s.Pairs, Rate: float64(n.Load()) / time.Since(start).Seconds(), Latency: summarize(lat)}
		o.Progress(fmt.Sprintf("echo: %d pairs: %.0f msgs/s, p99 %v", s.Pairs, step.Rate, step.Latency.P99))
		out = append(out, step)
	}
	return out, nil
}

// echo is the bare WebSocket echo server: each data frame goes back as
// it came, written in one write, on the same library Parley's socket
// layer uses.
func echo(w http.ResponseWriter, r *http.Request) {
	nc, _, _, err := ws.UpgradeHTTP(r, w)
	if err != nil {
		return
	}
	defer nc.Close()
	br := bufio.NewReaderSize(nc, 4096)
	var buf, out []byte
	for {
		h, err := ws.ReadHeader(br)
		if err != nil || h.Length > maxFrame {
			return
		}
		buf = slices.Grow(buf[:0], int(h.Length))[:h.Length]
		if _, err := io.ReadFull(br, buf); err != nil {
			return
		}
		if h.Masked {
			ws.Cipher(buf, h.Mask, 0)
		}
		switch h.OpCode {
		case ws.OpClose:
			return
		case ws.OpPing, ws.OpPong:
			continue
		}
		w := frameBuffer(out[:0])
		ws.WriteHeader(&w, ws.Header{Fin: h.Fin, OpCode: h.OpCode, Length: h.Length})
		out = append(w, buf...)
		if _, err := nc.Write(out); err != nil {
			return
		}
	}
}

// runtimeNotes reads the server's Go runtime gauges from /metrics: where
// its memory is (goroutine stacks or heap) while the connections are held.
func (t *Target) runtimeNotes(ctx context.Context) []string {
	m := t.serverMetrics(ctx)
	var out []string
	for _, name := range []string{"go_goroutines", "go_memstats_stack_inuse_bytes", "go_memstats_heap_inuse_bytes", "parley_ws_parked_connections"} {
		v, ok := m[name]
		switch {
		case !ok:
		case strings.HasSuffix(name, "bytes"):
			out = append(out, fmt.Sprintf("server %s %.1f MiB", name, v/(1<<20)))
		default:
			out = append(out, fmt.Sprintf("server %s %.0f", name, v))
		}
	}
	return out
}

// serverMetrics reads the server's unlabelled Prometheus samples.
func (t *Target) serverMetrics(ctx context.Context) map[string]float64 {
	req, _ := http.NewRequestWithContext(ctx, "GET", t.URL+"/metrics", nil)
	res, err := t.client().Do(req)
	if err != nil {
		return nil
	}
	defer res.Body.Close()
	buf := new(strings.Builder)
	io.Copy(buf, res.Body)
	out := map[string]float64{}
	for _, line := range strings.Split(buf.String(), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
			out[name] = v
		}
	}
	return out
}
