package realtime

import (
	"errors"
	"net"
	"time"

	"github.com/gobwas/ws"
	"github.com/parleychat/parley"
)

// startReader runs a reader for the connection in a new goroutine. At most
// one runs at a time: the first after authentication, then one each time
// the poller (or an ending) takes the connection off the poller.
func (c *conn) startReader() { go c.read() }

// read handles frames in arrival order until the connection ends, or until
// it has waited ReaderLinger without a frame: then it parks the connection
// and returns, and the poller starts a new reader when bytes arrive.
func (c *conn) read() {
	if c.idleTimer != nil {
		c.idleTimer.Stop()
	}
	for {
		idleAt := c.lastFrame.Add(c.g.cfg.IdleTimeout)
		if c.g.poller != nil && !c.sock.buffered() && time.Until(idleAt) > c.g.cfg.ReaderLinger {
			if !c.setReadDeadline(time.Now().Add(c.g.cfg.ReaderLinger)) {
				c.finish()
				return
			}
			c.sock.borrowReader()
			_, err := c.sock.br.Peek(1)
			switch {
			case err == nil:
			case isTimeout(err):
				if c.park() {
					return
				}
				continue // not parked (an ending arrived, or the poller refused): read on
			default:
				c.readFailed(err)
				c.finish()
				return
			}
		}
		if !c.setReadDeadline(idleAt) {
			c.finish()
			return
		}
		op, data, err := c.sock.readMessage()
		if err != nil {
			c.readFailed(err)
			c.finish()
			return
		}
		c.lastFrame = time.Now()
		if op != ws.OpText {
			c.replyError("", parley.Errorf(parley.EINVALID, "frames are JSON text, not binary"))
			continue
		}
		f, err := parseFrame(data)
		if err != nil {
			c.replyError(frameID(data), err)
			continue
		}
		c.handle(f)
	}
}

// setReadDeadline sets the socket's read deadline unless the connection
// is ending (then it reports false).
func (c *conn) setReadDeadline(t time.Time) bool {
	c.endMu.Lock()
	defer c.endMu.Unlock()
	if c.end.asked {
		return false
	}
	c.sock.nc.SetReadDeadline(t)
	return true
}

// park hands the idle connection to the poller, giving back the read
// buffer, and arms the idle timeout. It reports false when the connection
// is ending (the reader goes on to finish it). Everything the reader owns
// is settled before the poller has it: a new reader may start at once.
func (c *conn) park() bool {
	c.sock.returnReader()
	wait := time.Until(c.lastFrame.Add(c.g.cfg.IdleTimeout))
	if wait <= 0 || c.sock.buffered() {
		return false
	}
	if c.idleTimer == nil {
		c.idleTimer = time.AfterFunc(wait, c.wakeParked)
	} else {
		c.idleTimer.Reset(wait)
	}
	c.endMu.Lock()
	defer c.endMu.Unlock()
	c.g.metrics.Parked.Inc()
	if c.end.asked || !c.g.poller.park(c) {
		c.g.metrics.Parked.Dec()
		c.idleTimer.Stop()
		return false
	}
	c.g.metrics.Parks.Inc()
	return true
}

// wakeParked takes the connection off the poller, if it is parked, and
// starts a reader: bytes arrived, it reached its idle timeout (the reader
// finds the deadline passed and closes it), or it is ending.
func (c *conn) wakeParked() {
	if c.g.poller.unpark(c) {
		c.g.metrics.Parked.Dec()
		c.startReader()
	}
}

// readEnding is how a connection ends when reading fails with err: as the
// peer's close frame or protocol violation says, with onTimeout when
// nothing came in time, and without a close frame when the network went.
func readEnding(err error, onTimeout ending) ending {
	var ce *closeError
	switch {
	case errors.As(err, &ce):
		return ending{code: ce.code, reason: ce.reason, peerClosed: ce.peer}
	case isTimeout(err):
		return onTimeout
	}
	return ending{abrupt: true}
}

// readFailed records why reading stopped. A timeout is the idle timeout,
// unless an ending woke the reader (then that ending, asked first, wins).
func (c *conn) readFailed(err error) {
	c.closeWith(readEnding(err, ending{code: CloseIdleTimeout, reason: "no frame within the heartbeat timeout"}))
}

// finish ends the connection: the queue is written, the close frame sent,
// the socket closed, and the connection forgotten.
func (c *conn) finish() {
	end, _ := c.ending()
	c.stopWriting(end.abrupt)
	c.cancel()
	if c.idleTimer != nil {
		c.idleTimer.Stop()
	}
	c.sock.close(end)
	c.g.unregister(c)
	c.g.metrics.Connections.WithLabelValues(string(c.principal.Kind)).Dec()
	c.g.wg.Done()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
