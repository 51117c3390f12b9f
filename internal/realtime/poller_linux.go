package realtime

import (
	"net"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// poller watches parked connections — idle ones whose reader goroutine
// ended — with one epoll instance, and starts a reader again when bytes
// arrive. An idle connection so costs a map entry, not a goroutine and
// its stack.
type poller struct {
	epfd   int
	mu     sync.Mutex
	parked map[int]*conn // fd → connection, while parked
}

func newPoller() *poller {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil // readers never park; everything else works the same
	}
	p := &poller{epfd: fd, parked: make(map[int]*conn)}
	go p.run()
	return p
}

// socketFD returns the descriptor under a TCP connection.
func socketFD(nc net.Conn) (int, bool) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return 0, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	fd := -1
	raw.Control(func(f uintptr) { fd = int(f) })
	return fd, fd >= 0
}

// park registers c, whose reader is ending, to be woken when its socket
// has bytes (or hangs up). The descriptor stays registered only while
// parked, so a closed and reused descriptor can never wake the wrong
// connection: whoever unparks deletes it first.
func (p *poller) park(c *conn) bool {
	if p == nil || c.fd < 0 {
		return false
	}
	p.mu.Lock()
	p.parked[c.fd] = c
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(c.fd)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		p.mu.Lock()
		delete(p.parked, c.fd)
		p.mu.Unlock()
		return false
	}
	return true
}

// unpark takes c off the poller. It reports false when c was not parked
// (another waker got there first); exactly one waker wins.
func (p *poller) unpark(c *conn) bool {
	if p == nil {
		return false
	}
	p.mu.Lock()
	if p.parked[c.fd] != c {
		p.mu.Unlock()
		return false
	}
	delete(p.parked, c.fd)
	p.mu.Unlock()
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	return true
}

func (p *poller) run() {
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		for _, ev := range events[:n] {
			p.mu.Lock()
			c := p.parked[int(ev.Fd)]
			p.mu.Unlock()
			if c != nil {
				c.wakeParked()
			}
		}
	}
}
