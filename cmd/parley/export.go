package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/parleychat/parley/internal/export"
	"github.com/schollz/progressbar/v3"
)

// cmdExport writes an account's data to a file or stdout, with a progress
// spinner on a terminal and a plain count line otherwise.
func cmdExport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parley export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := addStoreFlags(fs)
	account := fs.String("account", "", "account ID")
	from := fs.String("from", "", "start, inclusive (2026-11-01 or RFC 3339)")
	to := fs.String("to", "", "end, exclusive (default: now)")
	what := fs.String("what", "conversations", "conversations, messages, events, contacts or agent-status")
	format := fs.String("format", "ndjson", "ndjson or csv")
	out := fs.String("out", "", "file to write (default: standard output)")
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	if *account == "" || *from == "" {
		return errors.New("usage: parley export --account ID --from T [--to T] [--what conversations|messages|events|contacts|agent-status] [--format ndjson|csv] [--out FILE]")
	}
	req := export.Request{What: *what, Format: *format, To: time.Now()}
	var err error
	if req.From, err = export.ParseTime("--from", *from); err != nil {
		return err
	}
	if *to != "" {
		if req.To, err = export.ParseTime("--to", *to); err != nil {
			return err
		}
	}
	if err := req.Validate(); err != nil {
		return err
	}
	store, err := openAccount(ctx, sf, account)
	if err != nil {
		return err
	}
	defer store.Close()
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	progress := plainProgress(stderr, *what)
	if f, ok := stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		bar := progressbar.NewOptions64(-1, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("exporting "+*what),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("rows"),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
		defer bar.Close()
		progress = func(int) { bar.Add(1) }
	}
	start := time.Now()
	n, err := export.Write(ctx, store, *account, req, w, progress)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "exported %d %s in %.1f s\n", n, *what, time.Since(start).Seconds())
	return nil
}

// plainProgress prints a line every 100,000 rows, for logs and pipes.
func plainProgress(w io.Writer, what string) func(int) {
	return func(n int) {
		if n%100000 == 0 {
			fmt.Fprintf(w, "%d %s…\n", n, what)
		}
	}
}
