package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/parleychat/parley/internal/bench"
	"github.com/parleychat/parley/internal/bot/demo"
)

// cmdBench runs `parley bench`: load against a Parley it starts (its own
// process, a temporary data dir) or against --url.
func cmdBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parley bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scenario := fs.String("scenario", "steady,max", "comma-separated: idle, steady, max, storm, bot, or all")
	url := fs.String("url", "", "a running Parley to load (default: start one with a temporary data dir)")
	key := fs.String("api-key", "", "an admin API key of the account to use (with --url)")
	duration := fs.Duration("duration", 10*time.Second, "measured time of steady and bot")
	warmup := fs.Duration("warmup", 2*time.Second, "warm-up before measuring")
	conversations := fs.Int("conversations", 1000, "steady: conversations sending 1 message/s each")
	agents := fs.Int("agents", 10, "agents receiving")
	idle := fs.Int("idle-conns", 10000, "idle: connections held")
	storm := fs.Int("storm-clients", 5000, "storm: clients that drop and reconnect at once")
	step := fs.Duration("step", 3*time.Second, "max: length of each load step")
	steps := fs.String("steps", "8,16,32,64,128,256,512", "max: visitor–agent pairs at each step")
	ceiling := fs.Duration("max-p99", 50*time.Millisecond, "max: the p99 latency ceiling")
	receipts := fs.Bool("receipts", false, "steady and max: agents send a read receipt for every visitor message, as the console does")
	baseline := fs.String("baseline", "echo", `"echo" measures a bare WebSocket echo server with the same clients ("" skips it)`)
	asJSON := fs.Bool("json", false, "print the results as JSON")
	plot := fs.String("plot", "", "write latency against load (max scenario) to this SVG file")
	debugAddr := fs.String("server-debug-addr", "", "start the server with --debug-addr (pprof) on this loopback address")
	cpuProfile := fs.String("cpuprofile", "", "write the load generator's own CPU profile to this file")
	serverCPUs := fs.String("server-cpus", "", "confine the server it starts to these CPUs (e.g. 0 or 0-1; Linux), as if the generator were elsewhere")
	benchCPUs := fs.String("bench-cpus", "", "confine this load generator to these CPUs (e.g. 1; Linux)")
	var cluster benchCluster
	fs.StringVar(&cluster.databaseURL, "database-url", "", "start the server on this PostgreSQL database (cluster shape) instead of a temporary SQLite file")
	fs.StringVar(&cluster.natsURL, "nats-url", "", "with --nodes 2: the NATS server between the nodes")
	fs.IntVar(&cluster.nodes, "nodes", 1, "nodes to start (2: visitors on one, agents on the other; needs --database-url and --nats-url)")
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	if cluster.nodes < 1 || cluster.nodes > 2 {
		return errors.New("--nodes is 1 or 2")
	}
	if cluster.nodes == 2 && (cluster.databaseURL == "" || cluster.natsURL == "") {
		return errors.New("--nodes 2 needs --database-url and --nats-url")
	}
	if (cluster.databaseURL != "" || cluster.natsURL != "") && *url != "" {
		return errors.New("--database-url and --nats-url start the server(s); with --url, start yours yourself")
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	onServer, err := parseCPUs(*serverCPUs)
	if err != nil {
		return fmt.Errorf("--server-cpus: %w", err)
	}
	if len(onServer) > 0 && *url != "" {
		return errors.New("--server-cpus confines the server the bench starts; with --url, start yours under taskset")
	}
	onBench, err := parseCPUs(*benchCPUs)
	if err != nil {
		return fmt.Errorf("--bench-cpus: %w", err)
	}
	if err := confineSelf(onBench); err != nil {
		return err
	}
	if *baseline != "" && *baseline != "echo" {
		return errors.New(`--baseline must be "echo" or ""`)
	}
	var pairs []int
	for _, v := range strings.Split(*steps, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || (len(pairs) > 0 && n <= pairs[len(pairs)-1]) {
			return fmt.Errorf("--steps must be rising positive numbers, not %q", *steps)
		}
		pairs = append(pairs, n)
	}
	scenarios := strings.Split(*scenario, ",")
	if *scenario == "all" {
		scenarios = []string{"idle", "steady", "max", "storm", "bot"}
	}
	runs := map[string]func(context.Context, *bench.Target, bench.Options) (*bench.Result, error){
		"idle": bench.Idle, "steady": bench.Steady, "max": bench.Max, "storm": bench.Storm, "bot": bench.Bot,
	}
	for _, s := range scenarios {
		if runs[s] == nil {
			return fmt.Errorf("unknown scenario %q (idle, steady, max, storm, bot, all)", s)
		}
	}
	// A live line on a terminal; plain lines otherwise. The server process
	// writes its errors to the same stderr, from another goroutine.
	term := false
	if f, ok := stderr.(*os.File); ok && isTerminal(f) {
		term = true
	}
	stderr = &syncWriter{w: stderr}
	progress := func(line string) { fmt.Fprintln(stderr, line) }
	if term {
		progress = func(line string) { fmt.Fprintf(stderr, "\r\033[K%s", line) }
	}
	opt := bench.Options{Warmup: *warmup, Duration: *duration, Conversations: *conversations, Agents: *agents, IdleConns: *idle,
		StormClients: *storm, MaxStep: *step, MaxSteps: pairs, MaxP99: *ceiling, Baseline: *baseline == "echo", Receipts: *receipts, BotConfig: demo.Northwind, Progress: progress}

	var results []*bench.Result
	serverAllowed := "" // the CPUs the started server may use, for the report
	for _, s := range scenarios {
		// Each scenario gets a fresh server, so one's data does not weigh on the next.
		t, stop, err := benchTarget(ctx, *url, *key, *debugAddr, onServer, cluster, stderr)
		if err != nil {
			return err
		}
		if t.PID != 0 {
			serverAllowed = cpusAllowed(t.PID)
		}
		progress(fmt.Sprintf("%s: starting", s))
		r, err := runs[s](ctx, t, opt)
		stop()
		if err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
		results = append(results, r)
	}
	if term {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if *plot != "" {
		for _, r := range results {
			if r.Scenario == "max" {
				f, err := os.Create(*plot)
				if err != nil {
					return err
				}
				bench.WritePlot(f, r)
				f.Close()
			}
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"results": results, "cpus": numCPU(), "at": time.Now().UTC(),
			"server_cpus_allowed": serverAllowed, "bench_cpus_allowed": cpusAllowed(os.Getpid())})
	}
	bench.WriteTable(stdout, results)
	if len(onServer) > 0 || len(onBench) > 0 {
		fmt.Fprintf(stdout, "server on CPUs %s, load generator on CPUs %s\n", serverAllowed, cpusAllowed(os.Getpid()))
	}
	return nil
}

// benchCluster says where the servers the bench starts keep their data:
// by default a temporary SQLite file; or a PostgreSQL database, with one
// node or two joined by NATS.
type benchCluster struct {
	databaseURL, natsURL string
	nodes                int
}

// benchTarget is --url, or Parley started as its own process(es) on a
// temporary data dir (or the PostgreSQL database given) with rate limits
// off, so the server's memory and CPU are its own.
func benchTarget(ctx context.Context, url, key, debugAddr string, cpus []int, cluster benchCluster, stderr io.Writer) (*bench.Target, func(), error) {
	if url != "" {
		if key == "" {
			return nil, nil, errors.New("--url needs --api-key (an admin key of the account to load)")
		}
		t := &bench.Target{URL: strings.TrimRight(url, "/"), APIKey: key}
		return t, func() {}, t.Init(ctx)
	}
	var dirs []string
	cleanup := func() {
		for _, d := range dirs {
			os.RemoveAll(d)
		}
	}
	newDir := func() (string, error) {
		dir, err := os.MkdirTemp("", "parley-bench-*")
		if err == nil {
			dirs = append(dirs, dir)
		}
		return dir, err
	}
	dir, err := newDir()
	if err != nil {
		return nil, nil, err
	}
	storeArgs := func(dir string) []string {
		if cluster.databaseURL != "" {
			return []string{"--data", dir, "--database-url", cluster.databaseURL}
		}
		return []string{"--data", dir}
	}
	var out strings.Builder
	noenv := func(string) string { return "" }
	if err := run(ctx, append([]string{"account", "create", "--name", "Bench"}, storeArgs(dir)...), noenv, nil, &out, stderr); err != nil {
		cleanup()
		return nil, nil, err
	}
	account := strings.TrimSpace(out.String())
	out.Reset()
	if err := run(ctx, append([]string{"apikey", "create", "--account", account, "--name", "bench"}, storeArgs(dir)...), noenv, nil, &out, stderr); err != nil {
		cleanup()
		return nil, nil, err
	}
	apiKey := strings.TrimSpace(out.String())
	exe, err := os.Executable()
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	var secret [24]byte
	rand.Read(secret[:])
	var cmds []*exec.Cmd
	stop := func() {
		for _, cmd := range cmds {
			cmd.Process.Signal(os.Interrupt)
		}
		for _, cmd := range cmds {
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		}
		cleanup()
	}
	var urls []string
	for n := range cluster.nodes {
		if n > 0 {
			if dir, err = newDir(); err != nil {
				stop()
				return nil, nil, err
			}
		}
		serveArgs := append([]string{"serve", "--addr", "127.0.0.1:0", "--log-level", "error",
			"--login-per-minute", "0", "--visitors-per-minute", "0", "--beacons-per-minute", "0",
			"--visitor-messages-per-minute", "0"}, storeArgs(dir)...)
		if cluster.natsURL != "" {
			serveArgs = append(serveArgs, "--nats-url", cluster.natsURL, "--nats-prefix", "parleybench"+hex.EncodeToString(secret[:4]),
				"--secret", hex.EncodeToString(secret[:]))
		}
		if debugAddr != "" && n == 0 {
			serveArgs = append(serveArgs, "--debug-addr", debugAddr)
		}
		cmd := exec.CommandContext(ctx, exe, serveArgs...)
		if benchChildEnv != "" { // under go test: the test binary runs main with these args
			raw, _ := json.Marshal(serveArgs)
			cmd = exec.CommandContext(ctx, exe)
			cmd.Env = append(os.Environ(), benchChildEnv+"="+string(raw))
		}
		cmd.Stderr = stderr
		pipe, _ := cmd.StdoutPipe()
		if err := startOnCPUs(cmd, cpus); err != nil {
			stop()
			return nil, nil, err
		}
		cmds = append(cmds, cmd)
		line, err := bufio.NewReader(pipe).ReadString('\n')
		if err != nil || !strings.Contains(line, "listening on ") {
			stop()
			return nil, nil, fmt.Errorf("the server did not start: %q %v", line, err)
		}
		go io.Copy(io.Discard, pipe)
		urls = append(urls, strings.TrimSpace(line[strings.Index(line, "listening on ")+len("listening on "):]))
	}
	t := &bench.Target{URL: urls[0], APIKey: apiKey, AccountID: account, PID: cmds[0].Process.Pid, DataDir: dirs[0]}
	if cluster.databaseURL != "" {
		t.DataDir = "" // the disk that matters is PostgreSQL's
	}
	if len(cmds) == 2 {
		t.AgentURL, t.OtherPIDs = urls[1], []int{cmds[1].Process.Pid}
	}
	return t, stop, nil
}

// benchChildEnv, set by tests, names the variable through which the test
// binary is told to run `parley serve` (see TestMain).
var benchChildEnv string

func isTerminal(f *os.File) bool { return isatty.IsTerminal(f.Fd()) }

func numCPU() int { return runtime.NumCPU() }

// syncWriter serialises writes from several goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
