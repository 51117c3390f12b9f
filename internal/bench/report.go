package bench

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }

// WriteTable prints the results for people.
func WriteTable(w io.Writer, results []*Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tmsgs/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\tdelivered\tlost\tdup\terrors\tconns\tconn/s\tRSS MiB\tKiB/conn\tCPU s/1k msgs\t")
	for _, r := range results {
		l := r.Latency
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%.0f\t%.1f\t%.1f\t%.3f\t\n",
			r.Scenario, r.Rate, ms(l.P50), ms(l.P90), ms(l.P99), ms(l.Max), r.Messages, r.Lost, r.Duplicates, r.Errors,
			r.Connections, r.ConnectRate, r.ServerRSSMiB, r.RSSPerConnKiB, r.CPUPer1000)
	}
	tw.Flush()
	for _, r := range results {
		if len(r.Steps) > 0 {
			fmt.Fprintf(w, "\n%s — load steps (closed loop: each visitor sends its next message once the agent has the last):\n", r.Scenario)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "pairs\tParley msgs/s\tp50 ms\tp99 ms\tack p99 ms\twrites/commit\tcommit p99 ms\twriter busy\tdisk KiB/msg\tserver µs CPU/msg\tbench µs CPU/msg\tmachine busy\techo msgs/s\techo p99 ms\t")
			for i, s := range r.Steps {
				echo, echoP99 := "", ""
				if i < len(r.EchoSteps) {
					echo, echoP99 = fmt.Sprintf("%.0f", r.EchoSteps[i].Rate), ms(r.EchoSteps[i].Latency.P99)
				}
				writes, commitP99, writer := "", "", ""
				if c := s.Commits; c != nil && c.N > 0 {
					writes, commitP99, writer = fmt.Sprintf("%.1f", c.WritesPerCommit), fmt.Sprintf("≤ %g", finite(c.P99*1000)), fmt.Sprintf("%.0f%%", 100*c.WriterBusy)
				}
				disk := "—" // nothing on this machine's disk from Parley itself: a remote store (PostgreSQL)
				if s.DiskKiB > 0 {
					disk = fmt.Sprintf("%.1f", s.DiskKiB)
				}
				fmt.Fprintf(tw, "%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%.0f\t%.0f%%\t%s\t%s\t\n", s.Pairs, s.Rate, ms(s.Latency.P50), ms(s.Latency.P99), ms(s.AckLatency.P99),
					writes, commitP99, writer, disk, s.ServerCPU, s.BenchCPU, 100*s.MachineBusy, echo, echoP99)
			}
			tw.Flush()
			if r.EchoRate > 0 {
				fmt.Fprintf(w, "best below the p99 ceiling: Parley %.0f msgs/s, echo %.0f msgs/s, Parley/echo %.1f%%\n", r.Rate, r.EchoRate, 100*r.Ratio)
			}
		}
		if r.Resync > 0 {
			fmt.Fprintf(w, "\n%s: %d clients resynced in %.2f s; %d of %d missed messages delivered\n", r.Scenario, r.Connections, r.Resync, r.Messages, r.Persisted)
		}
		for _, n := range r.Notes {
			fmt.Fprintf(w, "%s: %s\n", r.Scenario, n)
		}
	}
}

// WritePlot draws latency percentiles against the offered load of the max
// scenario (and the echo server's p99) as SVG.
func WritePlot(w io.Writer, r *Result) {
	const W, H, left, right, top, bottom = 720, 420, 70, 20, 40, 50
	pw, ph := float64(W-left-right), float64(H-top-bottom)
	maxRate, maxLat := 1.0, 1.0
	for _, s := range append(append([]Step(nil), r.Steps...), r.EchoSteps...) {
		maxRate = math.Max(maxRate, s.Rate)
		maxLat = math.Max(maxLat, float64(s.Latency.P99.Microseconds())/1000)
	}
	maxLat = math.Ceil(maxLat/10) * 10
	maxRate = math.Ceil(maxRate/5000) * 5000
	x := func(rate float64) float64 { return left + pw*rate/maxRate }
	y := func(msv float64) float64 { return top + ph - ph*msv/maxLat }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", W, H)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", W, H)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="14">Latency (send → deliver) against delivered load — parley bench, max scenario</text>`+"\n", left)
	for i := 0; i <= 5; i++ {
		v := maxLat * float64(i) / 5
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/><text x="%d" y="%.1f" text-anchor="end">%.0f ms</text>`+"\n", left, W-right, y(v), y(v), left-6, y(v)+4, v)
		rv := maxRate * float64(i) / 5
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%.0f</text>`+"\n", x(rv), H-bottom+18, rv)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">messages per second</text>`+"\n", left+pw/2, H-12)
	line := func(steps []Step, pick func(Latency) time.Duration, color, name string, dash string) {
		if len(steps) == 0 {
			return
		}
		var pts []string
		for _, s := range steps {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(s.Rate), y(float64(pick(s.Latency).Microseconds())/1000)))
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>`+"\n", strings.Join(pts, " "), color, dash)
		last := steps[len(steps)-1]
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="%s">%s</text>`+"\n", x(last.Rate)+4, y(float64(pick(last.Latency).Microseconds())/1000)-4, color, name)
	}
	line(r.Steps, func(l Latency) time.Duration { return l.P50 }, "#1f5eff", "Parley p50", "")
	line(r.Steps, func(l Latency) time.Duration { return l.P90 }, "#7a5af8", "Parley p90", "")
	line(r.Steps, func(l Latency) time.Duration { return l.P99 }, "#f04438", "Parley p99", "")
	line(r.EchoSteps, func(l Latency) time.Duration { return l.P99 }, "#12b76a", "echo p99", "6 4")
	b.WriteString("</svg>\n")
	io.WriteString(w, b.String())
}
