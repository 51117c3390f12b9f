package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/gobwas/ws"
)

// The load generator's WebSocket client is written on gobwas/ws, the
// low-level library Parley's own socket layer uses, so that the generator
// spends as little of the shared machine's CPU per frame as the server
// side does: frames are read into one reused buffer and each outgoing
// frame is one write, with no per-call context timers. (The tests talk to
// the server with a different library, coder/websocket, as a cross-check.)

// maxFrame bounds what a client accepts in one message.
const maxFrame = 1 << 20

// conn is one WebSocket client; every frame it reads goes to onFrame, in
// the reading goroutine.
type conn struct {
	nc      net.Conn
	br      *bufio.Reader
	onFrame func(frame, time.Time)
	done    chan struct{}

	wmu  sync.Mutex // one writer at a time; wbuf and wdl are its
	wbuf []byte
	wdl  time.Time // the write deadline set on nc
	rbuf []byte    // the reader's

	mu  sync.Mutex
	err error
}

func wsURL(u string) string { return "ws" + strings.TrimPrefix(u, "http") + "/api/v1/ws" }

// dialWS opens a WebSocket to url with the extra handshake header.
func dialWS(ctx context.Context, url string, header http.Header) (*conn, error) {
	d := ws.Dialer{Timeout: 30 * time.Second}
	if len(header) > 0 {
		d.Header = ws.HandshakeHeaderHTTP(header)
	}
	nc, br, _, err := d.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	if br == nil {
		br = bufio.NewReaderSize(nc, 4096)
	}
	return &conn{nc: nc, br: br, done: make(chan struct{})}, nil
}

// dial connects and authenticates with token (or the cookie in header).
func dial(ctx context.Context, url, token string, header http.Header, onFrame func(frame, time.Time)) (*conn, error) {
	c, err := dialWS(ctx, wsURL(url), header)
	if err != nil {
		return nil, err
	}
	if err := c.send(ctx, map[string]string{"type": "auth", "id": "auth", "token": token}); err != nil {
		c.drop()
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		c.nc.SetReadDeadline(dl)
	}
	data, err := c.next()
	c.nc.SetReadDeadline(time.Time{})
	if err != nil {
		c.drop()
		return nil, err
	}
	var f frame
	if json.Unmarshal(data, &f); f.Type != "authenticated" {
		c.drop()
		return nil, fmt.Errorf("auth answered %s", data)
	}
	c.onFrame = onFrame
	go c.read()
	return c, nil
}

// decodeFrame decodes a server frame with encoding/json/v2's mirror, as
// the gateway does: a quarter of v1's CPU, and the generator shares the
// machine with the server.
func decodeFrame(data []byte) (frame, bool) {
	var f frame
	err := jsonv2.Unmarshal(data, &f, frameOptions)
	return f, err == nil
}

// frameOptions decode a server frame: an error frame's "message" is its
// text, not a message, and is skipped (so the error is counted, not
// dropped as a frame that failed to decode).
var frameOptions = jsonv2.WithUnmarshalers(jsonv2.UnmarshalFromFunc(func(dec *jsontext.Decoder, m *message) error {
	if dec.PeekKind() == '"' {
		return dec.SkipValue()
	}
	return errors.ErrUnsupported // an object: decoded as usual
}))

func (c *conn) read() {
	defer close(c.done)
	for {
		data, err := c.next()
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
		now := time.Now()
		if f, ok := decodeFrame(data); ok && c.onFrame != nil {
			c.onFrame(f, now)
		}
	}
}

// next returns the next data message's payload, valid until the next
// call. It answers pings and ends with an error at a close frame.
func (c *conn) next() ([]byte, error) {
	msg := c.rbuf[:0]
	for {
		h, err := ws.ReadHeader(c.br)
		if err != nil {
			return nil, err
		}
		if h.Length > maxFrame || int64(len(msg))+h.Length > maxFrame {
			return nil, fmt.Errorf("a frame of %d bytes is over the client's limit", h.Length)
		}
		start := len(msg)
		msg = slices.Grow(msg, int(h.Length))[:start+int(h.Length)]
		if _, err := io.ReadFull(c.br, msg[start:]); err != nil {
			return nil, err
		}
		if h.Masked {
			ws.Cipher(msg[start:], h.Mask, 0)
		}
		switch h.OpCode {
		case ws.OpPing:
			payload := append([]byte(nil), msg[start:]...)
			msg = msg[:start]
			if err := c.writeFrame(context.Background(), ws.OpPong, payload); err != nil {
				return nil, err
			}
			continue
		case ws.OpPong:
			msg = msg[:start]
			continue
		case ws.OpClose:
			return nil, errors.New("the server closed the connection")
		}
		if h.Fin {
			c.rbuf = msg
			return msg, nil
		}
	}
}

// send writes v as one text frame.
func (c *conn) send(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.sendText(ctx, b)
}

// sendText writes JSON already encoded as one text frame.
func (c *conn) sendText(ctx context.Context, b []byte) error { return c.writeFrame(ctx, ws.OpText, b) }

// writeGuard bounds a write whose context has no deadline: a server that
// stops reading fails the write instead of hanging the bench.
const writeGuard = 30 * time.Second

// writeFrame writes one masked frame (a client's frames are masked) in
// one write, by ctx's deadline (or within writeGuard). The deadline on the
// socket is moved only when it must be, not once per frame.
func (c *conn) writeFrame(ctx context.Context, op ws.OpCode, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	dl, ok := ctx.Deadline()
	if !ok {
		if now := time.Now(); c.wdl.Sub(now) > writeGuard/2 {
			dl = c.wdl // still far enough away
		} else {
			dl = now.Add(writeGuard)
		}
	}
	if !dl.Equal(c.wdl) {
		c.nc.SetWriteDeadline(dl)
		c.wdl = dl
	}
	h := ws.Header{Fin: true, OpCode: op, Length: int64(len(payload)), Masked: true, Mask: ws.NewMask()}
	w := frameBuffer(c.wbuf[:0])
	ws.WriteHeader(&w, h) // writing to a slice cannot fail
	start := len(w)
	w = append(w, payload...)
	ws.Cipher(w[start:], h.Mask, 0)
	c.wbuf = w
	_, err := c.nc.Write(w)
	return err
}

// close ends the connection with a close frame.
func (c *conn) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c.writeFrame(ctx, ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))
	c.nc.Close()
}

// drop ends the connection without a close frame, as a lost network does.
func (c *conn) drop() { c.nc.Close() }

// frameBuffer lets ws.WriteHeader write into a slice.
type frameBuffer []byte

func (b *frameBuffer) Write(p []byte) (int, error) {
	*b = append(*b, p...)
	return len(p), nil
}
