//go:build !linux

package realtime

import "net"

// poller parks idle connections on Linux (epoll). Elsewhere readers never
// park: an idle connection keeps its reader goroutine.
type poller struct{}

func newPoller() *poller              { return nil }
func socketFD(net.Conn) (int, bool)   { return -1, false }
func (p *poller) park(c *conn) bool   { return false }
func (p *poller) unpark(c *conn) bool { return false }
