package routing

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/parleychat/parley"
)

// Peers connects the routing engines of a cluster's nodes. Each engine
// assigns conversations to the agents connected to its own node (claims in
// the store keep two nodes from assigning one conversation twice), but
// whether an agent is online is a question about the whole cluster: the
// widget's "someone can answer now", a transfer to a named agent, the
// supervisor's list, and whether an agent who left this node is gone or
// reconnected to another. So each engine tells the others, on every change
// and every few seconds, whom it has connected.
type Peers interface {
	// SharePresence sends this node's snapshot to the other nodes.
	SharePresence(snapshot []byte) error
	// OnPresence calls fn with every snapshot another node sends.
	OnPresence(fn func(snapshot []byte)) error
}

// How often a node sends its snapshot unasked, by default (Config.PeerBeat);
// another node's snapshot counts for three beats (a node that stops, or
// loses NATS, drops out of the others' view then).
const defaultPeerBeat = 5 * time.Second

func (e *Engine) peerExpiry() time.Duration { return 3 * e.cfg.PeerBeat }

// snapshot is one node's connected people.
type snapshot struct {
	Node   string         `json:"node"`
	People []peerPresence `json:"people"`
}

type peerPresence struct {
	Account  string   `json:"a"`
	User     string   `json:"u"`
	Presence Presence `json:"p"`
}

// peerView is the latest snapshot of another node.
type peerView struct {
	seen   time.Time
	people map[string]Presence // "account/user" → presence
}

// UsePeers joins the engine to the other nodes of a cluster. Call before Run.
func (e *Engine) UsePeers(p Peers) error {
	e.peers = p
	e.node = parley.NewID("node")
	return p.OnPresence(e.receivePresence)
}

// sharePresence sends this node's connected people to the other nodes.
func (e *Engine) sharePresence() {
	if e.peers == nil {
		return
	}
	e.mu.Lock()
	s := snapshot{Node: e.node, People: []peerPresence{}}
	for k, p := range e.people {
		if p.connections > 0 {
			acc, user, _ := strings.Cut(k, "/")
			s.People = append(s.People, peerPresence{acc, user, p.presence})
		}
	}
	e.presenceChanged = false
	e.lastShared = e.now()
	e.mu.Unlock()
	b, _ := json.Marshal(s)
	if err := e.peers.SharePresence(b); err != nil {
		e.log.Warn("routing: sharing presence with the other nodes", "err", err)
	}
}

// receivePresence keeps another node's snapshot.
func (e *Engine) receivePresence(b []byte) {
	var s snapshot
	if err := json.Unmarshal(b, &s); err != nil || s.Node == e.node {
		return
	}
	v := &peerView{seen: e.now(), people: make(map[string]Presence, len(s.People))}
	for _, p := range s.People {
		v.people[p.Account+"/"+p.User] = p.Presence
	}
	e.mu.Lock()
	e.remote[s.Node] = v
	e.mu.Unlock()
}

// remoteLocked returns the user's presence on the other nodes, and
// whether any of them has the user connected. Call with e.mu held.
func (e *Engine) remoteLocked(key string) (Presence, bool) {
	best, found := Offline, false
	now := e.now()
	for node, v := range e.remote {
		if now.Sub(v.seen) > e.peerExpiry() {
			delete(e.remote, node)
			continue
		}
		if pr, ok := v.people[key]; ok {
			found = true
			if pr == Online || (pr == Away && best == Offline) {
				best = pr
			}
		}
	}
	return best, found
}

// anyoneOnlineRemoteLocked reports whether another node has an online user
// of the account connected. Call with e.mu held.
func (e *Engine) anyoneOnlineRemoteLocked(accountID string) bool {
	prefix := accountID + "/"
	now := e.now()
	for _, v := range e.remote {
		if now.Sub(v.seen) > e.peerExpiry() {
			continue
		}
		for k, pr := range v.people {
			if pr == Online && strings.HasPrefix(k, prefix) {
				return true
			}
		}
	}
	return false
}

// elsewhereLocked gives decide each agent's presence on the other nodes
// ("" when connected to none of them). Call with e.mu held.
func (e *Engine) elsewhereLocked(accountID string) func(userID string) Presence {
	if len(e.remote) == 0 {
		return func(string) Presence { return "" }
	}
	return func(userID string) Presence {
		if pr, ok := e.remoteLocked(accountID + "/" + userID); ok {
			return pr
		}
		return ""
	}
}

// Nodes counts the cluster's nodes this one hears from, itself included
// (1 outside a cluster).
func (e *Engine) Nodes() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n, now := 1, e.now()
	for _, v := range e.remote {
		if now.Sub(v.seen) <= e.peerExpiry() {
			n++
		}
	}
	return n
}

// Leads reports whether this node is the one that runs the cluster's
// periodic chores (retention, queue notices): the node with the oldest ID
// (IDs are time-ordered, so the longest running) among those it hears
// from. Outside a cluster, or while it hears from no other node, it
// leads. Nodes may disagree for a moment — a node that just started, one
// that lost NATS — so a chore must stay safe to run twice; leading only
// spares the others the repeated work.
func (e *Engine) Leads() bool {
	if e.peers == nil {
		return true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	for node, v := range e.remote {
		if now.Sub(v.seen) <= e.peerExpiry() && node < e.node {
			return false
		}
	}
	return true
}
