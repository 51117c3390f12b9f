package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// The metrics rollup's rows: kept per account, found by time, and written
// only by the writer whose cursor is where it says.
func testMetricsRollup(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	a := newFixture(t, s, "A")
	b := newFixture(t, s, "B")
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	row := func(kind, item string, seq int64, start, end time.Time, data string) *parley.RollupRow {
		return &parley.RollupRow{Kind: kind, Item: item, Seq: seq, Start: start, End: end, Data: []byte(data)}
	}
	if seq, err := s.RollupCursor(ctx, a.account.ID); err != nil || seq != 0 {
		t.Fatalf("a new account's cursor = %d, %v", seq, err)
	}
	first := []*parley.RollupRow{
		row(parley.RollupConversation, "c1", 3, t0, t0.Add(time.Hour), `{"n":1}`),
		row(parley.RollupConversation, "c2", 5, t0.Add(2*time.Hour), parley.RollupOpen, `{"n":2}`),
		row(parley.RollupHour, "2026-11-02T09:00:00Z", 5, t0, t0.Add(time.Hour), `{"m":7}`),
	}
	if err := s.SaveRollup(ctx, a.account.ID, 0, 5, first); err != nil {
		t.Fatal(err)
	}
	// A second writer that read from the same cursor is refused, whole.
	late := []*parley.RollupRow{row(parley.RollupConversation, "c3", 4, t0, t0, `{}`)}
	if err := s.SaveRollup(ctx, a.account.ID, 0, 4, late); parley.ErrorCode(err) != parley.ECONFLICT {
		t.Fatalf("a save from a stale cursor: %v", err)
	}
	if err := s.SaveRollup(ctx, a.account.ID, 3, 4, late); parley.ErrorCode(err) != parley.ECONFLICT {
		t.Fatalf("a save from a wrong cursor: %v", err)
	}
	if rs, _ := s.RollupRows(ctx, a.account.ID, parley.RollupConversation, []string{"c3"}); len(rs) != 0 {
		t.Fatalf("a refused save wrote %d rows", len(rs))
	}
	// Saving again replaces a row.
	if err := s.SaveRollup(ctx, a.account.ID, 5, 9, []*parley.RollupRow{row(parley.RollupConversation, "c2", 9, t0.Add(2*time.Hour), t0.Add(3*time.Hour), `{"n":3}`)}); err != nil {
		t.Fatal(err)
	}
	if seq, err := s.RollupCursor(ctx, a.account.ID); err != nil || seq != 9 {
		t.Fatalf("cursor = %d, %v; want 9", seq, err)
	}
	rs, err := s.RollupRows(ctx, a.account.ID, parley.RollupConversation, []string{"c2", "c1", "missing"})
	if err != nil || len(rs) != 2 {
		t.Fatalf("rows by item: %d, %v", len(rs), err)
	}
	slices.SortFunc(rs, func(x, y *parley.RollupRow) int { return int(x.Seq - y.Seq) })
	if r := rs[1]; r.Item != "c2" || r.Seq != 9 || string(r.Data) != `{"n":3}` || !r.End.Equal(t0.Add(3*time.Hour)) || !r.Start.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("replaced row = %+v", r)
	}
	// Rows saved without the cursor: the cursor stays, and a row read less
	// far (a lower seq) never replaces one read further.
	if err := s.SaveRollupRows(ctx, a.account.ID, []*parley.RollupRow{
		row(parley.RollupConversation, "c2", 7, t0, t0, `{"n":"older"}`),
		row(parley.RollupConversation, "c4", 12, t0.Add(2*time.Hour), parley.RollupOpen, `{"n":4}`),
	}); err != nil {
		t.Fatal(err)
	}
	if seq, _ := s.RollupCursor(ctx, a.account.ID); seq != 9 {
		t.Fatalf("saving rows moved the cursor to %d", seq)
	}
	rs, err = s.RollupRows(ctx, a.account.ID, parley.RollupConversation, []string{"c2", "c4"})
	if err != nil || len(rs) != 2 {
		t.Fatalf("rows by item: %d, %v", len(rs), err)
	}
	slices.SortFunc(rs, func(x, y *parley.RollupRow) int { return int(x.Seq - y.Seq) })
	if rs[0].Item != "c2" || rs[0].Seq != 9 || string(rs[0].Data) != `{"n":3}` || rs[1].Item != "c4" || rs[1].Seq != 12 {
		t.Fatalf("after saving an older c2 and a new c4: %+v, %+v", rs[0], rs[1])
	}
	if err := s.SaveRollup(ctx, a.account.ID, 9, 10, []*parley.RollupRow{row(parley.RollupConversation, "c4", 10, t0, t0, `{"n":"older"}`)}); err != nil {
		t.Fatal(err)
	}
	if rs, _ := s.RollupRows(ctx, a.account.ID, parley.RollupConversation, []string{"c4"}); len(rs) != 1 || rs[0].Seq != 12 || string(rs[0].Data) != `{"n":4}` {
		t.Fatalf("a save with the cursor took c4 back: %+v", rs)
	}
	scan := func(accountID string, from, to time.Time) []string {
		t.Helper()
		var got []string
		if err := s.ScanRollup(ctx, accountID, from, to, func(r *parley.RollupRow) error {
			got = append(got, r.Kind+":"+r.Item)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		return got
	}
	for _, c := range []struct {
		from, to time.Time
		want     []string
	}{
		{t0, t0.Add(24 * time.Hour), []string{"conversation:c1", "conversation:c2", "conversation:c4", "hour:2026-11-02T09:00:00Z"}},
		{t0.Add(90 * time.Minute), t0.Add(24 * time.Hour), []string{"conversation:c2", "conversation:c4"}}, // c1 and the hour ended before
		{t0.Add(-time.Hour), t0, nil}, // nothing had started
		{t0.Add(time.Hour), t0.Add(2 * time.Hour), []string{"conversation:c1", "hour:2026-11-02T09:00:00Z"}},
	} {
		if got := scan(a.account.ID, c.from, c.to); !slices.Equal(got, c.want) {
			t.Errorf("rows of %s–%s = %v, want %v", c.from.Format("15:04"), c.to.Format("15:04"), got, c.want)
		}
	}
	// Another account sees none of it, and has its own cursor.
	if got := scan(b.account.ID, t0.Add(-time.Hour), t0.Add(time.Hour)); len(got) != 0 {
		t.Fatalf("B sees A's rollup: %v", got)
	}
	if rs, _ := s.RollupRows(ctx, b.account.ID, parley.RollupConversation, []string{"c1"}); len(rs) != 0 {
		t.Fatalf("B reads A's rows by item")
	}
	if err := s.SaveRollup(ctx, b.account.ID, 0, 2, nil); err != nil {
		t.Fatal(err)
	}
	if seq, _ := s.RollupCursor(ctx, a.account.ID); seq != 10 {
		t.Fatalf("B's save moved A's cursor to %d", seq)
	}
}
