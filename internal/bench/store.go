package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The store's side of latency: how long its commits took while a step
// ran (from the server's /metrics), and how fast the data dir's disk
// syncs on its own — the floor under every acknowledgement, as the echo
// server is the ceiling over every delivery.

// histogram is a Prometheus histogram read from /metrics: cumulative
// counts by upper bound, and the total count and sum.
type histogram struct {
	le         []float64 // upper bounds, ascending (+Inf last)
	cum        []float64
	count, sum float64
}

// metrics fetches the server's /metrics once ("" when it cannot).
func (t *Target) metrics(ctx context.Context) string {
	req, _ := http.NewRequestWithContext(ctx, "GET", t.URL+"/metrics", nil)
	res, err := t.client().Do(req)
	if err != nil {
		return ""
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return string(body)
}

// parseHistogram reads the named histogram from a /metrics text (zero
// when the server does not export it).
func parseHistogram(metrics, name string) histogram {
	var h histogram
	type bucket struct{ le, cum float64 }
	var bs []bucket
	for _, line := range strings.Split(metrics, "\n") {
		key, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(key, name+`_bucket{le="`):
			le, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(key, name+`_bucket{le="`), `"}`), 64)
			if err == nil {
				bs = append(bs, bucket{le, v})
			}
		case key == name+"_count":
			h.count = v
		case key == name+"_sum":
			h.sum = v
		}
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].le < bs[j].le })
	for _, b := range bs {
		h.le, h.cum = append(h.le, b.le), append(h.cum, b.cum)
	}
	return h
}

// since is what was observed between an earlier reading and this one.
func (h histogram) since(before histogram) histogram {
	d := histogram{le: h.le, cum: make([]float64, len(h.cum)), count: h.count - before.count, sum: h.sum - before.sum}
	for i := range h.cum {
		d.cum[i] = h.cum[i]
		if i < len(before.cum) && before.le[i] == h.le[i] {
			d.cum[i] -= before.cum[i]
		}
	}
	return d
}

// quantile is the upper bound of the bucket holding the q-quantile (an
// upper estimate; +Inf when it is past the last bound).
func (h histogram) quantile(q float64) float64 {
	if h.count <= 0 {
		return 0
	}
	for i, c := range h.cum {
		if c >= q*h.count {
			return h.le[i]
		}
	}
	return math.Inf(1)
}

// Commits is what the server's store did while a step ran.
type Commits struct {
	N               int64   `json:"commits"`
	WritesPerCommit float64 `json:"writes_per_commit"`
	P50, P99        float64 `json:"-"` // seconds, bucket upper bounds
	// WriterBusy is the share of the time the store's one writer spent
	// on batches (0–1; 0 when the server does not say). Near 1, writes
	// queue for it: it is what bounds the rate.
	WriterBusy float64 `json:"-"`
	// AckP50 and AckP99 are the server's own send → ack (a send frame's
	// arrival to its ack's write, parley_send_ack_seconds), seconds,
	// bucket upper bounds: what of the clients' send → ack the server
	// spent, the rest being the sockets and the clients' own scheduling.
	AckP50, AckP99 float64 `json:"-"`
}

// MarshalJSON writes the commit percentiles in milliseconds.
func (c Commits) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf(`{"commits":%d,"writes_per_commit":%.1f,"commit_p50_ms_at_most":%g,"commit_p99_ms_at_most":%g,"writer_busy":%.3f,"server_ack_p50_ms_at_most":%g,"server_ack_p99_ms_at_most":%g}`,
		c.N, c.WritesPerCommit, finite(c.P50*1000), finite(c.P99*1000), c.WriterBusy, finite(roundMS(c.AckP50)), finite(roundMS(c.AckP99)))), nil
}

// roundMS is s seconds in milliseconds to two decimals: bucket bounds
// made by multiplying (√2 apart) print as 11.31, not 11.313708498984769.
func roundMS(s float64) float64 {
	return math.Round(s*1e5) / 100
}

func finite(v float64) float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return -1
	}
	return v
}

// storeReading is the store's histograms at one moment.
type storeReading struct {
	at                                time.Time
	commit, batch, batchTime, sendAck histogram
}

func (t *Target) readStore(ctx context.Context) storeReading {
	m := t.metrics(ctx)
	return storeReading{time.Now(), parseHistogram(m, "parley_store_commit_seconds"), parseHistogram(m, "parley_store_batch_writes"),
		parseHistogram(m, "parley_store_batch_seconds"), parseHistogram(m, "parley_send_ack_seconds")}
}

// commitsSince summarises the commits between two readings.
func commitsSince(before, after storeReading) Commits {
	commit := after.commit.since(before.commit)
	batch := after.batch.since(before.batch)
	ack := after.sendAck.since(before.sendAck)
	c := Commits{N: int64(commit.count), P50: commit.quantile(0.5), P99: commit.quantile(0.99), AckP50: ack.quantile(0.5), AckP99: ack.quantile(0.99)}
	if batch.count > 0 {
		c.WritesPerCommit = batch.sum / batch.count
	}
	if span := after.at.Sub(before.at).Seconds(); span > 0 {
		c.WriterBusy = min(1, after.batchTime.since(before.batchTime).sum/span)
	}
	return c
}

func (c Commits) String() string {
	ms := func(s float64) string {
		if math.IsInf(s, 1) {
			return "more than the last bucket"
		}
		return fmt.Sprintf("≤ %g ms", roundMS(s))
	}
	return fmt.Sprintf("%d commits, %.1f writes each on average; commit (WAL write + fsync) p50 %s, p99 %s; the writer busy %.0f%% of the time; inside the server, send → ack p50 %s, p99 %s", c.N, c.WritesPerCommit, ms(c.P50), ms(c.P99), 100*c.WriterBusy, ms(c.AckP50), ms(c.AckP99))
}

// diskSync measures n writes of 16 KiB, each followed by an fsync, in a
// scratch file in dir: how fast this disk makes a small write durable
// with nothing else running.
func diskSync(dir string, n int) (Latency, error) {
	f, err := os.CreateTemp(dir, "fsync-probe-*")
	if err != nil {
		return Latency{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 16<<10)
	ds := make([]time.Duration, 0, n)
	for i := range n {
		t0 := time.Now()
		if _, err := f.WriteAt(buf, int64(i%64)*int64(len(buf))); err != nil {
			return Latency{}, err
		}
		if err := f.Sync(); err != nil {
			return Latency{}, err
		}
		ds = append(ds, time.Since(t0))
	}
	return summarize(ds), nil
}

// diskNote is diskSync as a line for the report, when the bench knows
// the server's data dir.
func (t *Target) diskNote() string {
	if t.DataDir == "" {
		return ""
	}
	l, err := diskSync(filepath.Clean(t.DataDir), 500)
	if err != nil {
		return "disk: " + err.Error()
	}
	return fmt.Sprintf("disk on its own (16 KiB write + fsync in the data dir, 500 times, before the load): p50 %s, p99 %s, max %s ms", ms(l.P50), ms(l.P99), ms(l.Max))
}
