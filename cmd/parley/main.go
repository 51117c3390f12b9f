// Command parley runs Parley: the messaging server and its admin commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/auth"
	"github.com/parleychat/parley/internal/email"
	"github.com/parleychat/parley/internal/server"
	"github.com/parleychat/parley/internal/sqlstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "parley:", err)
		}
		os.Exit(1)
	}
}

const usage = `parley — conversational engagement for brands

Usage:
  parley serve     [--addr 127.0.0.1:8080] [--data ./parley-data]   run the server
  parley demo      [same flags as serve]                          run the server with a seeded demo brand
  parley migrate   [--data DIR]                                   apply schema migrations
  parley backup    --out FILE.tar.gz [--data DIR]                  back up the data dir while it runs (database, attachments, secret)
  parley restore   --from FILE.tar.gz --data NEWDIR               restore a backup into a new data dir
  parley export --account ID --from T [--to T] [--what conversations|messages|events|contacts|agent-status] [--format ndjson|csv] [--out FILE]
  parley account create --name NAME                               create an account (brand)
  parley user create --account ID --email E --password P [--role admin|supervisor|agent] [--name N]
  parley user reset-two-factor --email E                          turn a user's two-factor authentication off and end their sessions
  parley apikey create --account ID [--name N] [--role admin]     create an API key (secret shown once)
  parley bot import FILE [--account ID]                          load a bot (.yaml, .json) or add FAQs (.csv: question,answer[,title])
  parley bot export [--account ID] [--format yaml|json]          print the bot's configuration
  parley bot eval --train FILE --test FILE [--oos-label L] [--holdout-every K [--holdout-fold F]] [--per-label N] [--language L]
                                                                 measure the intent classifier
  parley bench [--scenario idle,steady,max,storm,bot|all] [--baseline echo] [--json] [--plot FILE.svg] [--url URL --api-key KEY]
  parley version

Every flag can also be set by an environment variable: --max-message-chars is PARLEY_MAX_MESSAGE_CHARS.
`

// run is the whole program; tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, getenv, stdout, stderr)
	case "demo":
		return cmdDemo(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, getenv, stdout, stderr)
	case "account", "user", "apikey":
		if cmd == "user" && len(rest) > 0 && rest[0] == "reset-two-factor" {
			return cmdResetTwoFactor(ctx, rest[1:], getenv, stdout, stderr)
		}
		if len(rest) == 0 || rest[0] != "create" {
			return fmt.Errorf("usage: parley %s create ...", cmd)
		}
		return cmdCreate(ctx, cmd, rest[1:], getenv, stdout, stderr)
	case "bot":
		return cmdBot(ctx, rest, getenv, stdout, stderr)
	case "export":
		return cmdExport(ctx, rest, getenv, stdout, stderr)
	case "bench":
		return cmdBench(ctx, rest, getenv, stdout, stderr)
	case "backup":
		return cmdBackup(ctx, rest, getenv, stdout, stderr)
	case "restore":
		return cmdRestore(ctx, rest, getenv, stdout, stderr, stdin)
	case "version", "--version":
		fmt.Fprintf(stdout, "parley %s %s\n", parley.Version, parley.Commit)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// parse parses flags, then lets PARLEY_* environment variables set every
// flag the command line left alone: --max-message-chars is
// PARLEY_MAX_MESSAGE_CHARS. The environment comes through getenv so tests
// pass their own.
func parse(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		env := "PARLEY_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(env); v != "" && !set[f.Name] && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", env, e)
			}
		}
	})
	return err
}

type serveFlags struct {
	cfg       server.Config
	perMinute struct{ login, visitors, beacons, visitorMessages int }
	origins   string
	proxies   string
	logLevel  string
	logFormat string
}

func serveFlagSet(name string, stderr io.Writer) (*flag.FlagSet, *serveFlags) {
	fs := flag.NewFlagSet("parley "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &serveFlags{}
	fs.StringVar(&f.cfg.Addr, "addr", "127.0.0.1:8080", "listen address (host:port; port 0 picks a free one)")
	fs.StringVar(&f.cfg.DataDir, "data", "parley-data", "data directory (SQLite file, secret)")
	fs.StringVar(&f.cfg.DatabaseURL, "database-url", "", databaseURLUsage)
	fs.StringVar(&f.cfg.NATSURL, "nats-url", "", "NATS server(s) (nats://…) carrying events between the nodes of a cluster (needs --database-url and --secret)")
	fs.StringVar(&f.cfg.NATSPrefix, "nats-prefix", "parley", "subject prefix of this installation on NATS")
	fs.StringVar(&f.cfg.Secret, "secret", "", "secret that signs consumer tokens (default: generated into the data dir)")
	fs.IntVar(&f.cfg.MaxMessageChars, "max-message-chars", 4096, "longest message text, in characters")
	fs.Int64Var(&f.cfg.MaxBodyBytes, "max-body-bytes", 1<<20, "largest REST request body")
	fs.Int64Var(&f.cfg.MaxAttachmentBytes, "max-attachment-bytes", 10<<20, "largest attachment (images and PDFs), and largest photo upload")
	fs.Int64Var(&f.cfg.MaxFrameBytes, "max-frame-bytes", 64<<10, "largest WebSocket frame from a client")
	fs.StringVar(&f.origins, "allowed-origins", "", "comma-separated extra origins allowed to open WebSockets")
	fs.StringVar(&f.proxies, "trusted-proxies", "", "comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For names the client (empty: none)")
	fs.BoolVar(&f.cfg.SecureCookies, "secure-cookies", false, "mark session cookies Secure (set when served over HTTPS)")
	fs.StringVar(&f.cfg.TLSCert, "tls-cert", "", "serve HTTPS with this certificate (PEM; with --tls-key), without a proxy in front")
	fs.StringVar(&f.cfg.TLSKey, "tls-key", "", "the certificate's private key (PEM)")
	fs.IntVar(&f.perMinute.login, "login-per-minute", 10, "login attempts per client address per minute (0: no limit)")
	fs.IntVar(&f.perMinute.visitors, "visitors-per-minute", 60, "new visitor tokens per client address per minute (0: no limit)")
	fs.IntVar(&f.perMinute.beacons, "beacons-per-minute", 600, "widget beacons per client address per minute (0: no limit)")
	fs.IntVar(&f.perMinute.visitorMessages, "visitor-messages-per-minute", 240, "messages and files one visitor may send per minute, in bursts of 20 (0: no limit)")
	fs.BoolVar(&f.cfg.AllowPrivateOutbound, "allow-private-outbound", false, "let bot connectors and webhooks call private, loopback and plain-HTTP addresses (development only)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "text", "text or json")
	fs.StringVar(&f.cfg.SMTPURL, "smtp-url", "", "mail server for email replies: smtp://user:password@host:587 (STARTTLS) or smtps://…:465 (empty: brands cannot mail replies)")
	fs.StringVar(&f.cfg.MailFrom, "mail-from", "", "sender address of email replies, e.g. replies@example.com (each brand's name goes beside it; needs --smtp-url)")
	fs.StringVar(&f.cfg.PublicURL, "public-url", "", "the address people reach Parley at (https://chat.example.com), for links in emails")
	fs.StringVar(&f.cfg.InboundSMTPAddr, "inbound-smtp-addr", "", "take visitors' answers to email replies by SMTP on this address (e.g. :25; needs --inbound-domain and --smtp-url)")
	fs.StringVar(&f.cfg.InboundDomain, "inbound-domain", "", "the domain of the reply addresses, whose MX is this server or a mail service's (e.g. reply.example.com)")
	fs.IntVar(&f.cfg.InboundMaxConns, "inbound-smtp-max-conns", email.DefaultMaxConns, "inbound SMTP connections open at once; one more is told 421, try again later")
	fs.IntVar(&f.cfg.InboundMaxConnsPerAddress, "inbound-smtp-max-conns-per-address", email.DefaultMaxConnsPerAddress, "inbound SMTP connections open at once from one address (an IPv6 address: its /64)")
	fs.StringVar(&f.cfg.InboundSenderCheck, "inbound-sender-check", "note", "an answer by email that no DKIM signature of its sender's domain vouches for: note (taken, the agent warned in a private note), require (refused) or off")
	fs.StringVar(&f.cfg.InboundWebhookToken, "inbound-webhook-token", "", "take visitors' answers from a mail service's inbound webhook (POST /inbound/email, HTTP Basic with this password, 16+ characters; needs --inbound-domain and --smtp-url)")
	fs.StringVar(&f.cfg.DebugAddr, "debug-addr", "", "serve Go's pprof profiles on this address (loopback only; empty: off)")
	return fs, f
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log-format must be text or json, not %q", format)
}

// parseServe reads the flags and environment that serve and demo share.
func parseServe(name string, args []string, getenv func(string) string, stderr io.Writer) (server.Config, *slog.Logger, error) {
	fs, f := serveFlagSet(name, stderr)
	if err := parse(fs, args, getenv); err != nil {
		return server.Config{}, nil, err
	}
	log, err := newLogger(stderr, f.logLevel, f.logFormat)
	if err != nil {
		return server.Config{}, nil, err
	}
	if f.origins != "" {
		f.cfg.AllowedOrigins = strings.Split(f.origins, ",")
	}
	if f.cfg.TrustedProxies, err = server.ParseTrustedProxies(f.proxies); err != nil {
		return server.Config{}, nil, err
	}
	perMinute := func(n int, burst int) server.RateLimit {
		if n <= 0 {
			return server.RateLimit{}
		}
		return server.RateLimit{Every: time.Minute / time.Duration(n), Burst: burst}
	}
	d := server.DefaultRateLimits
	f.cfg.RateLimits = &server.RateLimits{
		Login:           perMinute(f.perMinute.login, d.Login.Burst),
		ConsumerTokens:  perMinute(f.perMinute.visitors, d.ConsumerTokens.Burst),
		Beacons:         perMinute(f.perMinute.beacons, d.Beacons.Burst),
		VisitorMessages: perMinute(f.perMinute.visitorMessages, d.VisitorMessages.Burst),
	}
	return f.cfg, log, nil
}

// fewProcs: below this many Go Ps (GOMAXPROCS; Go's default is the CPUs
// the process may use), the server doubles them. The store's commits and
// checkpoints are blocking system calls (fsync, pread), and a P in one is
// handed on only when the runtime's monitor takes it back. With a single
// P — a one-CPU machine or container — the server crawled: pinned to one
// core, `parley bench` max measured 1,934 msgs/s with one P and 6,721
// with two (docs/performance.md item 17). With two Ps on two cores, a
// steady send → ack p99 of 12.9 ms on average fell to 10.6 with four
// (item 25). Past three CPUs one P more or less in a syscall matters
// less, and Go's default stands. GOMAXPROCS in the environment is obeyed
// as given.
const fewProcs = 4

// ensureProcs doubles GOMAXPROCS when it is below fewProcs, unless the
// environment sets it; it returns the Ps the server runs with and whether
// it changed them.
func ensureProcs(getenv func(string) string) (int, bool) {
	n := runtime.GOMAXPROCS(0)
	if getenv("GOMAXPROCS") != "" || n >= fewProcs {
		return n, false
	}
	runtime.GOMAXPROCS(2 * n)
	return 2 * n, true
}

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, log, err := parseServe("serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	if procs, raised := ensureProcs(getenv); raised {
		log.Info("GOMAXPROCS doubled: a P blocked in a commit's fsync leaves too few to the rest", "gomaxprocs", procs, "cpus", runtime.NumCPU())
	}
	s, err := server.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	if err := s.Listen(); err != nil {
		s.Store.Close()
		return err
	}
	fmt.Fprintf(stdout, "Parley is listening on %s\n", s.URL())
	return s.Serve(ctx)
}

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parley migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := addStoreFlags(fs)
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	store, err := openStore(ctx, sf) // opening applies what is pending
	if err != nil {
		return err
	}
	defer store.Close()
	applied, err := store.AppliedMigrations(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "schema up to date: %s\n", strings.Join(applied, ", "))
	return nil
}

func cmdCreate(ctx context.Context, what string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parley "+what+" create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := addStoreFlags(fs)
	name := fs.String("name", "", "name")
	account := fs.String("account", "", "account ID")
	email := fs.String("email", "", "user's email (login)")
	password := fs.String("password", "", "user's password (or PARLEY_PASSWORD)")
	role := fs.String("role", "", "admin, supervisor or agent")
	maxConc := fs.Int("max-concurrent", 3, "user's conversations at once")
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	store, err := openStore(ctx, sf)
	if err != nil {
		return err
	}
	defer store.Close()
	switch what {
	case "account":
		if strings.TrimSpace(*name) == "" {
			return errors.New("--name is required")
		}
		a := &parley.Account{Name: strings.TrimSpace(*name)}
		if err := store.CreateAccount(ctx, a); err != nil {
			return err
		}
		fmt.Fprintln(stdout, a.ID)
	case "user":
		if *account == "" || *email == "" || *password == "" {
			return errors.New("--account, --email and --password are required")
		}
		if len(*password) < auth.MinPasswordLength {
			return fmt.Errorf("--password must have at least %d characters", auth.MinPasswordLength)
		}
		r := parley.Role(*role)
		if r == "" {
			r = parley.RoleAgent
		}
		if !r.Valid() {
			return fmt.Errorf("--role must be admin, supervisor or agent")
		}
		hash, err := auth.HashPassword(*password, auth.DefaultPasswordParams)
		if err != nil {
			return err
		}
		n := *name
		if n == "" {
			n = strings.SplitN(*email, "@", 2)[0]
		}
		u := &parley.User{AccountID: *account, Email: *email, Name: n, Role: r, MaxConcurrent: *maxConc, Active: true, PasswordHash: hash}
		if err := store.CreateUser(ctx, u); err != nil {
			return err
		}
		fmt.Fprintln(stdout, u.ID)
	case "apikey":
		if *account == "" {
			return errors.New("--account is required")
		}
		r := parley.Role(*role)
		if r == "" {
			r = parley.RoleAdmin
		}
		a, err := auth.New(store, make([]byte, 32)) // key creation does not sign tokens
		if err != nil {
			return err
		}
		_, secret, err := a.NewAPIKey(ctx, *account, *name, r)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, secret)
	}
	return nil
}

// cmdResetTwoFactor is the operator's way back in for someone who lost
// their phone and recovery codes when no admin of their brand can help
// (they are the only admin): their second factor goes off and their
// sessions end; they log in with their password and set it up again.
func cmdResetTwoFactor(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parley user reset-two-factor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := addStoreFlags(fs)
	email := fs.String("email", "", "the user's email (login)")
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	if *email == "" {
		return errors.New("--email is required")
	}
	store, err := openStore(ctx, sf)
	if err != nil {
		return err
	}
	defer store.Close()
	u, err := store.FindUserByEmail(ctx, *email)
	if err != nil {
		return fmt.Errorf("no user has the email %q", *email)
	}
	a, err := auth.New(store, make([]byte, 32)) // nothing here signs tokens
	if err != nil {
		return err
	}
	ended, err := a.ResetTwoFactor(ctx, u.AccountID, u.ID, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "two-factor authentication of %s is off; %d sessions ended\n", u.Email, len(ended))
	return nil
}

const databaseURLUsage = "PostgreSQL database (postgres://…) to use instead of the data dir's SQLite file"

// storeFlags are the flags of the commands that open the store themselves.
type storeFlags struct{ data, databaseURL *string }

func addStoreFlags(fs *flag.FlagSet) storeFlags {
	return storeFlags{
		data:        fs.String("data", "parley-data", "data directory"),
		databaseURL: fs.String("database-url", "", databaseURLUsage),
	}
}

// openStore opens the database (applying migrations): PostgreSQL's when
// a URL is given, else the data dir's SQLite file.
func openStore(ctx context.Context, f storeFlags) (*sqlstore.DB, error) {
	return openStoreWith(ctx, f, sqlstore.Options{})
}

// openStoreWith opens the store with options (the demo's seeding clock).
func openStoreWith(ctx context.Context, f storeFlags, o sqlstore.Options) (*sqlstore.DB, error) {
	if *f.databaseURL != "" {
		return sqlstore.OpenPostgres(ctx, *f.databaseURL, o)
	}
	if err := os.MkdirAll(*f.data, 0o700); err != nil {
		return nil, err
	}
	return sqlstore.Open(ctx, filepath.Join(*f.data, "parley.db"), o)
}

// openAccount opens the data dir's database for one account: *account must
// exist, and when it is empty the data dir must hold exactly one, which it
// becomes.
func openAccount(ctx context.Context, f storeFlags, account *string) (*sqlstore.DB, error) {
	store, err := openStore(ctx, f)
	if err != nil {
		return nil, err
	}
	if *account == "" {
		accounts, err := store.ListAccounts(ctx)
		if err != nil {
			store.Close()
			return nil, err
		}
		if len(accounts) != 1 {
			store.Close()
			return nil, fmt.Errorf("--account is required: the data dir has %d accounts", len(accounts))
		}
		*account = accounts[0].ID
	}
	if _, err := store.FindAccount(ctx, *account); err != nil {
		store.Close()
		return nil, err
	}
	return store, nil
}
