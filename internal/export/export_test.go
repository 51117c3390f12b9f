package export_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/export"
	"github.com/parleychat/parley/internal/sqlstore"
)

// peakRSS reads the process's high-water resident set (VmHWM) in MiB.
func peakRSS() float64 {
	data, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkExportMillionEvents exports 1,000,000 events as NDJSON and CSV
// and reports the peak RSS during the export: it must stay flat (the
// export reads a page at a time), not grow with the row count.
func BenchmarkExportMillionEvents(b *testing.B) {
	const n = 1_000_000
	ctx := context.Background()
	a := &parley.Account{Name: "Export"}
	start := time.Now().Add(-time.Hour).UnixMicro()
	db, err := sqlstore.BulkEvents(ctx, filepath.Join(b.TempDir(), "export.db"), a, func(write func(*parley.Event) error) error {
		for i := 1; i <= n; i++ {
			data := fmt.Sprintf(`{"id":"msg_%d","text":"message number %d from a visitor, long enough to look like one"}`, i, i)
			if err := write(&parley.Event{Seq: int64(i), Type: parley.EventMessageCreated, ConversationID: fmt.Sprintf("cnv_%d", i%5000),
				MessageSeq: int64(i), Data: []byte(data), CreatedAt: time.UnixMicro(start + int64(i))}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, format := range []string{export.NDJSON, export.CSV} {
		b.Run(format, func(b *testing.B) {
			for range b.N {
				os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // reset VmHWM to the current RSS
				before := peakRSS()
				began := time.Now()
				rows, err := export.Write(ctx, db, a.ID, export.Request{What: export.Events, Format: format, From: time.UnixMicro(start), To: time.Now()}, io.Discard, nil)
				if err != nil || rows != n {
					b.Fatalf("%d rows, %v", rows, err)
				}
				b.ReportMetric(float64(n)/time.Since(began).Seconds(), "rows/s")
				b.ReportMetric(before, "RSS-before-MiB")
				b.ReportMetric(peakRSS(), "peak-RSS-MiB")
			}
		})
	}
}

func TestTheRangeIsChecked(t *testing.T) {
	day := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	for _, r := range []export.Request{
		{What: "events", Format: "ndjson", From: day("2026-02-01"), To: day("2026-01-01")},
		{What: "events", Format: "ndjson", From: day("2026-01-01"), To: day("2026-01-01")},
		{What: "events", Format: "ndjson", From: day("2024-01-01"), To: day("2026-01-01")},
		{What: "events", Format: "ndjson"},
		{What: "users", Format: "ndjson", From: day("2026-01-01"), To: day("2026-01-02")},
		{What: "events", Format: "xls", From: day("2026-01-01"), To: day("2026-01-02")},
	} {
		if err := r.Validate(); parley.ErrorCode(err) != parley.EINVALID {
			t.Errorf("%+v: %v", r, err)
		}
	}
	if err := (export.Request{What: "events", Format: "csv", From: day("2026-01-01"), To: day("2026-12-31")}).Validate(); err != nil {
		t.Fatal(err)
	}
}

// Contacts: the visitors who wrote and became a contact in the range, with
// their attributes and counts; a visitor who never wrote is not one; a
// cell that a spreadsheet would run as a formula is quoted.
func TestContactsExport(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "p.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a := &parley.Account{Name: "Acme"}
	if err := db.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	from := time.Now().Add(-time.Minute)
	var ids []string
	for i, c := range []*parley.Consumer{
		{Name: "Zoe Adams", Email: "zoe@example.test", Attributes: map[string]string{"plan": "gold"}},
		{Name: "=HYPERLINK(\"http://evil.test\")"},
		{Name: "Never Wrote"},
	} {
		c.AccountID = a.ID
		if err := db.CreateConsumer(ctx, c); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
		if i < 2 {
			if _, err := db.OpenConversation(ctx, a.ID, parley.ConversationOpen{ConsumerID: c.ID, Channel: parley.ChannelWeb, State: parley.StateQueued}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var out strings.Builder
	n, err := export.Write(ctx, db, a.ID, export.Request{What: export.Contacts, Format: export.CSV, From: from, To: time.Now().Add(time.Minute)}, &out, nil)
	if err != nil || n != 2 {
		t.Fatalf("%d contacts, %v:\n%s", n, err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if lines[0] != "id,external_id,name,email,attributes,created_at,conversations,last_activity_at,blocked" ||
		!strings.HasPrefix(lines[1], ids[1]+`,,"'=HYPERLINK`) || !strings.HasPrefix(lines[2], ids[0]+",,Zoe Adams,zoe@example.test,\"{\"\"plan\"\":\"\"gold\"\"}\"") {
		t.Fatalf("the export:\n%s", out.String())
	}
	// Outside the range: none.
	n, err = export.Write(ctx, db, a.ID, export.Request{What: export.Contacts, Format: export.NDJSON, From: from.Add(-time.Hour), To: from}, io.Discard, nil)
	if err != nil || n != 0 {
		t.Fatalf("before the range: %d, %v", n, err)
	}
}

// The agent-status export lists the spans that overlap the range, with
// each one's seconds within it, a reason a formula would start quoted; a
// range over 92 days is refused.
func TestAgentStatusExport(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "s.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a := &parley.Account{Name: "Acme"}
	if err := db.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	ann := &parley.User{AccountID: a.ID, Email: "ann@acme.test", Name: "Ann", Role: parley.RoleAgent, MaxConcurrent: 2, Active: true}
	if err := db.CreateUser(ctx, ann); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Hour) // in the past: lasting spans count up to now
	for _, c := range []parley.StatusChange{
		{Status: "online", Cause: "agent", At: t0},
		{Status: "away", Reason: "=Lunch", Cause: "agent", At: t0.Add(2 * time.Hour)},
		{Status: "offline", Cause: "agent", At: t0.Add(3 * time.Hour)},
	} {
		if _, err := db.SetAgentStatus(ctx, a.ID, ann.ID, c); err != nil {
			t.Fatal(err)
		}
	}
	var out strings.Builder
	n, err := export.Write(ctx, db, a.ID, export.Request{What: export.AgentStatus, Format: export.CSV, From: t0.Add(time.Hour), To: t0.Add(150 * time.Minute)}, &out, nil)
	if err != nil || n != 2 {
		t.Fatalf("%d spans, %v:\n%s", n, err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if lines[0] != "user_id,status,reason,cause,by,since,until,seconds_in_range" ||
		!strings.HasPrefix(lines[1], ann.ID+",online,,agent,,") || !strings.HasSuffix(lines[1], ",3600") ||
		!strings.HasPrefix(lines[2], ann.ID+",away,'=Lunch,agent,,") || !strings.HasSuffix(lines[2], ",1800") {
		t.Fatalf("the export:\n%s", out.String())
	}
	err = export.Request{What: export.AgentStatus, Format: export.CSV, From: t0.Add(-100 * 24 * time.Hour), To: t0}.Validate()
	if parley.ErrorCode(err) != parley.EINVALID {
		t.Fatalf("a 100-day range: %v", err)
	}
}
