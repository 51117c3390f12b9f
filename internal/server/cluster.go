package server

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/internal/natsbus"
)

// joinCluster connects this node's parts to the other nodes' over NATS
// (docs/cluster.md): besides the events the bus carries, whom each node
// has connected (routing), the widget beacons each node takes, logouts
// (which have no event), and the requests a rate budget let through.
func (s *Server) joinCluster() error {
	nb := s.nats
	if err := s.Routing.UsePeers(routingPeers{nb}); err != nil {
		return err
	}
	s.Metrics.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "parley_cluster_nodes",
			Help: "Nodes of the cluster this node hears from (presence snapshots in the last 15 s), itself included."},
			func() float64 { return float64(s.Routing.Nodes()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "parley_nats_connected",
			Help: "1 while this node's connection to NATS is up."},
			func() float64 {
				if nb.Ping(context.Background()) != nil {
					return 0
				}
				return 1
			}),
	)
	if err := s.Widget.UsePeers(widgetPeers{nb}); err != nil {
		return err
	}
	// The node that stored a visitor's message runs the bot's turn
	// (SubscribeLocal, in Open); every node hears of edits and handoffs,
	// and the node that leads the chores answers what a node that stopped
	// for good left unanswered.
	s.Bus.Subscribe(s.Bot.Track)
	s.Bot.RecoverEvery, s.Bot.RecoverAfter, s.Bot.Leads = time.Minute, 30*time.Second, s.Routing.Leads
	// A logout closes the session's sockets on every node (the key is the
	// token's hash, safe to pass around).
	s.API.OnLogout = func(key string) {
		s.gateway.EndSession(key)
		if err := nb.Announce("logout", []byte(key)); err != nil {
			s.log.Warn("telling the other nodes of a logout", "err", err)
		}
	}
	if err := nb.Listen("logout", func(key []byte) { s.gateway.EndSession(string(key)) }); err != nil {
		return err
	}
	// A request another node let through spends the same token here.
	return nb.Listen("ratelimit", func(b []byte) {
		name, addr, _ := strings.Cut(string(b), "\n")
		if lim := s.limiters[name]; lim != nil && addr != "" {
			lim.take(addr, time.Now())
		}
	})
}

// routingPeers carries the routing engines' presence snapshots.
type routingPeers struct{ bus *natsbus.Bus }

func (p routingPeers) SharePresence(b []byte) error { return p.bus.Announce("presence", b) }

func (p routingPeers) OnPresence(fn func([]byte)) error { return p.bus.Listen("presence", fn) }

// widgetPeers carries the widget's page-view beacons.
type widgetPeers struct{ bus *natsbus.Bus }

func (p widgetPeers) ShareBeacon(b []byte) error { return p.bus.Announce("beacons", b) }

func (p widgetPeers) OnBeacon(fn func([]byte)) error { return p.bus.Listen("beacons", fn) }
