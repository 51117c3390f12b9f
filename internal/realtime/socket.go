package realtime

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// socket is the server end of one WebSocket (RFC 6455), framed by
// gobwas/ws. It holds no buffer while the connection is idle: the reader
// borrows a bufio.Reader from a pool while it reads, and the writer builds
// frames in a slice that it drops when it stops (conn.drain).
type socket struct {
	nc           net.Conn
	br           *bufio.Reader // borrowed while reading; owned by the reader
	limit        int64         // largest message, in bytes
	writeTimeout time.Duration

	wmu       sync.Mutex // one write on the wire at a time
	closeSent bool       // under wmu: nothing is written after a close frame
}

// readBuffers are lent to sockets while they read.
var readBuffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 1024) }}

// borrowReader makes sure the socket has a read buffer.
func (s *socket) borrowReader() {
	if s.br == nil {
		s.br = readBuffers.Get().(*bufio.Reader)
		s.br.Reset(s.nc)
	}
}

// returnReader gives the read buffer back, unless it still holds bytes.
func (s *socket) returnReader() {
	if s.br != nil && s.br.Buffered() == 0 {
		s.br.Reset(nil)
		readBuffers.Put(s.br)
		s.br = nil
	}
}

// buffered reports whether bytes are already read and waiting.
func (s *socket) buffered() bool { return s.br != nil && s.br.Buffered() > 0 }

// closeError ends a connection with a close code: the peer's close frame
// (peer true), or a violation of the protocol by the peer.
type closeError struct {
	code   ws.StatusCode
	reason string
	peer   bool
}

func (e *closeError) Error() string {
	if e.peer {
		return fmt.Sprintf("peer closed the WebSocket: %d %s", e.code, e.reason)
	}
	return fmt.Sprintf("WebSocket closed: %d %s", e.code, e.reason)
}

// readMessage returns the next whole message (text or binary), joining
// fragments and answering pings on the way. A close frame from the peer
// comes back as a *closeError with peer set.
func (s *socket) readMessage() (ws.OpCode, []byte, error) {
	s.borrowReader()
	var op ws.OpCode
	var msg []byte
	for {
		h, err := ws.ReadHeader(s.br)
		if err != nil {
			if errors.Is(err, ws.ErrHeaderLengthMSB) || errors.Is(err, ws.ErrHeaderLengthUnexpected) {
				return 0, nil, &closeError{code: ws.StatusProtocolError, reason: err.Error()}
			}
			return 0, nil, err
		}
		state := ws.StateServerSide
		if op != 0 {
			state = state.Set(ws.StateFragmented)
		}
		if err := ws.CheckHeader(h, state); err != nil {
			return 0, nil, &closeError{code: ws.StatusProtocolError, reason: err.Error()}
		}
		if h.OpCode.IsControl() {
			payload := make([]byte, h.Length)
			if _, err := io.ReadFull(s.br, payload); err != nil {
				return 0, nil, err
			}
			ws.Cipher(payload, h.Mask, 0)
			switch h.OpCode {
			case ws.OpPing:
				if err := s.writeControl(ws.OpPong, payload); err != nil {
					return 0, nil, err
				}
			case ws.OpClose:
				return 0, nil, peerClose(payload)
			}
			continue
		}
		if int64(len(msg))+h.Length > s.limit {
			return 0, nil, &closeError{code: ws.StatusMessageTooBig, reason: fmt.Sprintf("a message may have at most %d bytes", s.limit)}
		}
		if op == 0 {
			op = h.OpCode
		}
		n := len(msg)
		if cap(msg)-n < int(h.Length) {
			grown := make([]byte, n, n+int(h.Length))
			copy(grown, msg)
			msg = grown
		}
		msg = msg[:n+int(h.Length)]
		if _, err := io.ReadFull(s.br, msg[n:]); err != nil {
			return 0, nil, err
		}
		ws.Cipher(msg[n:], h.Mask, 0)
		if h.Fin {
			return op, msg, nil
		}
	}
}

// peerClose reads a close frame's body: a status code and a UTF-8 reason.
func peerClose(body []byte) *closeError {
	switch {
	case len(body) == 0:
		return &closeError{code: ws.StatusNoStatusRcvd, peer: true}
	case len(body) == 1:
		return &closeError{code: ws.StatusProtocolError, reason: "close frame body of one byte"}
	}
	code := ws.StatusCode(binary.BigEndian.Uint16(body))
	reason := string(body[2:])
	if err := ws.CheckCloseFrameData(code, reason); err != nil || !utf8.ValidString(reason) {
		return &closeError{code: ws.StatusProtocolError, reason: "invalid close frame"}
	}
	return &closeError{code: code, reason: reason, peer: true}
}

// appendText appends payload to buf as one unmasked text frame.
func appendText(buf, payload []byte) []byte {
	h := ws.Header{Fin: true, OpCode: ws.OpText, Length: int64(len(payload))}
	w := frameBuffer(buf)
	ws.WriteHeader(&w, h) // writing to a slice cannot fail
	return append(w, payload...)
}

// frameBuffer lets ws.WriteHeader write into a slice.
type frameBuffer []byte

func (b *frameBuffer) Write(p []byte) (int, error) {
	*b = append(*b, p...)
	return len(p), nil
}

// write puts already framed bytes on the wire.
func (s *socket) write(frames []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closeSent {
		return net.ErrClosed
	}
	s.nc.SetWriteDeadline(time.Now().Add(s.writeTimeout))
	_, err := s.nc.Write(frames)
	return err
}

func (s *socket) writeControl(op ws.OpCode, payload []byte) error {
	return s.write(ws.MustCompileFrame(ws.NewFrame(op, true, payload)))
}

// closeWait bounds how long a closing server waits for the peer's close
// frame after sending its own.
const closeWait = 2 * time.Second

// close ends the connection as e says: a close frame with its code and
// reason (unless abrupt), then, unless the peer already sent its close, a
// short wait for the peer's (what it sends meanwhile is dropped: it was
// never acked), then the TCP connection. Only the reader calls it.
func (s *socket) close(e ending) {
	if !e.abrupt {
		var body []byte
		if e.code != ws.StatusNoStatusRcvd {
			body = ws.NewCloseFrameBody(e.code, e.reason)
		}
		err := s.writeControl(ws.OpClose, body)
		s.wmu.Lock()
		s.closeSent = true
		s.wmu.Unlock()
		if err == nil && !e.peerClosed {
			s.nc.SetReadDeadline(time.Now().Add(closeWait))
			for {
				if _, _, err := s.readMessage(); err != nil {
					break
				}
			}
		}
	} else {
		s.wmu.Lock()
		s.closeSent = true
		s.wmu.Unlock()
	}
	s.nc.Close()
	if s.br != nil {
		s.br.Reset(nil)
		readBuffers.Put(s.br)
		s.br = nil
	}
}
