// Package metrics defines the Prometheus collectors Parley exports at
// GET /metrics, on a registry of its own (no global state).
package metrics

import (
	"math"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the collectors shared by the server's parts.
type Metrics struct {
	Registry *prometheus.Registry

	Connections     *prometheus.GaugeVec     // open WebSocket connections by kind
	Parked          prometheus.Gauge         // idle connections waiting on the poller, without a reader goroutine
	Parks           prometheus.Counter       // times a connection was parked
	FramesIn        *prometheus.CounterVec   // client frames by type
	FramesOut       prometheus.Counter       // frames written to clients
	FrameErrors     *prometheus.CounterVec   // error frames by code
	SlowDisconnects prometheus.Counter       // clients dropped for not keeping up
	Messages        *prometheus.CounterVec   // messages stored, by sender kind
	SendLatency     prometheus.Histogram     // send frame in → ack out
	HTTPRequests    *prometheus.CounterVec   // REST requests by route and status
	HTTPLatency     *prometheus.HistogramVec // REST latency by route
	LauncherVisible prometheus.Histogram     // widget script start → launcher visible, as browsers report it
	WidgetBeacons   *prometheus.CounterVec   // widget beacons by kind
	BotTurns        *prometheus.HistogramVec // visitor message stored → bot's reply stored, by band
	StoreCommit     prometheus.Histogram     // the store's COMMIT: the WAL write and its fsync
	StoreBatch      prometheus.Histogram     // writes per transaction (group commit)
	StoreBatchTime  prometheus.Histogram     // how long each batch held the store's one writer
	Emails          *prometheus.CounterVec   // reply emails by outcome (sent, skipped, failed)
	InboundEmails   *prometheus.CounterVec   // visitors' answers by email, by outcome
	InboundRefused  prometheus.Counter       // inbound SMTP connections refused over the limits
}

// New registers Parley's collectors and the Go runtime's on a new registry.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		Connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "parley_ws_connections", Help: "Open WebSocket connections, by principal kind.",
		}, []string{"kind"}),
		Parked: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parley_ws_parked_connections", Help: "Idle WebSocket connections parked on the poller (no reader goroutine).",
		}),
		Parks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_ws_parks_total", Help: "Times an idle WebSocket connection was parked on the poller.",
		}),
		FramesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_ws_frames_in_total", Help: "Frames received from clients, by frame type.",
		}, []string{"type"}),
		FramesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_ws_frames_out_total", Help: "Frames written to clients.",
		}),
		FrameErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_ws_errors_total", Help: "Error frames sent to clients, by code.",
		}, []string{"code"}),
		SlowDisconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_ws_slow_disconnects_total", Help: "Clients disconnected because their outgoing queue overflowed.",
		}),
		Messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_messages_total", Help: "Messages stored, by sender kind.",
		}, []string{"sender"}),
		SendLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "parley_send_ack_seconds", Help: "Time from a send frame's arrival to its ack (message durable).",
			// Steps of √2 from 0.25 ms to 0.18 s: fine enough to tell 8 ms
			// from 11 around the 10 ms an ack is meant to take at most.
			Buckets: prometheus.ExponentialBuckets(0.00025, math.Sqrt2, 20),
		}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_http_requests_total", Help: "REST requests, by route and status.",
		}, []string{"route", "status"}),
		HTTPLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "parley_http_request_seconds", Help: "REST request latency, by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"route"}),
	}
	m.LauncherVisible = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "parley_widget_launcher_visible_seconds", Help: "Time from the widget script starting to its launcher being visible, reported by browsers.",
		Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
	})
	m.WidgetBeacons = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_widget_beacons_total", Help: "Widget page-view beacons received, by kind.",
	}, []string{"kind"})
	m.BotTurns = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "parley_bot_turn_seconds", Help: "Time from a visitor's message being stored to the bot's reply being stored, by band (answer, confirm, miss, flow, handoff).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	}, []string{"band"})
	m.StoreCommit = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "parley_store_commit_seconds", Help: "Time the store's commits take (writing the log and the fsync); every acknowledged write waits for one.",
		Buckets: prometheus.ExponentialBuckets(0.000125, 2, 14),
	})
	m.StoreBatch = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "parley_store_batch_writes", Help: "Writes that shared one transaction and one fsync (group commit).",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
	})
	m.StoreBatchTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "parley_store_batch_seconds", Help: "Time each batch held the store's one writer: its statements, the commit, publishing its events. A sum growing by nearly a second each second means writes queue for the writer.",
		Buckets: prometheus.ExponentialBuckets(0.000125, 2, 14),
	})
	m.Emails = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_reply_emails_total", Help: "Agents' unread replies owed to visitors by email, by outcome: sent, skipped (read in time, no address) or failed (refused by the mail server).",
	}, []string{"outcome"})
	m.InboundEmails = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_inbound_emails_total", Help: "Visitors' answers by email (SMTP or a mail service's webhook), by outcome: taken, unverified (taken; no DKIM signature of the sender's domain verified, and the agent was told), automatic (an out-of-office, dropped), refused (for good) or deferred (try again later).",
	}, []string{"outcome"})
	m.InboundRefused = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parley_inbound_smtp_refused_connections_total", Help: "Inbound SMTP connections answered 421 because too many were open, in all or from one address.",
	})
	r.MustRegister(m.LauncherVisible, m.WidgetBeacons, m.BotTurns, m.StoreCommit, m.StoreBatch, m.StoreBatchTime, m.Emails, m.InboundEmails, m.InboundRefused)
	for _, kind := range []string{"consumer", "user", "api_key"} {
		m.Connections.WithLabelValues(kind) // show zeros before the first connection
	}
	r.MustRegister(m.Connections, m.Parked, m.Parks, m.FramesIn, m.FramesOut, m.FrameErrors, m.SlowDisconnects,
		m.Messages, m.SendLatency, m.HTTPRequests, m.HTTPLatency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}
