package upstream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/semroute/semroute/internal/telemetry"
)

// h1Client posts to plain-HTTP upstreams (a vLLM, Ollama or TEI server on
// the same host or network) over pooled keep-alive HTTP/1.1 connections,
// writing the request and reading the answer on the calling goroutine.
// net/http's Transport hands each request to the connection's writer
// goroutine and its answer back from the reader goroutine; on loopback that
// hand-off is about 7 µs of a 24 µs call (BENCHMARKS.md, "The upstream
// call"). HTTPS upstreams, and any an HTTP proxy from the environment
// applies to, keep net/http (and HTTP/2).
//
// The subset of HTTP/1.1 it speaks: one POST with a Content-Length body;
// answers framed by Content-Length, chunked transfer coding (trailers read
// and dropped) or the connection's end; 1xx answers skipped. Anything else
// is an error that names it. A connection goes back to the pool only once
// its answer was read to the end and neither side asked to close it.
type h1Client struct {
	dial           func(ctx context.Context, addr string) (*h1Conn, error)
	maxIdlePerHost int
	idleTimeout    time.Duration

	mu   sync.Mutex
	idle map[string][]*h1Conn // by host:port, most recently used last
}

func newH1Client() *h1Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &h1Client{
		dial: func(ctx context.Context, addr string) (*h1Conn, error) {
			nc, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				return nil, err
			}
			return newH1Conn(nc), nil
		},
		maxIdlePerHost: 256,
		idleTimeout:    90 * time.Second,
		idle:           map[string][]*h1Conn{},
	}
}

// h1Target is where a deployment's requests go, parsed once.
type h1Target struct {
	addr string // host:port to dial
	host string // the Host header
	path string // the request target, with its query
}

// h1For returns the target of base's chat completions for the plain-HTTP
// client, or nil when base is not for it: not http://, carrying a user
// name, or behind a proxy set in the environment.
func h1For(base, endpoint string) *h1Target {
	u, err := url.Parse(strings.TrimSuffix(base, "/") + "/" + endpoint)
	if err != nil || u.Scheme != "http" || u.Host == "" || u.User != nil || u.Opaque != "" {
		return nil
	}
	if p, err := http.ProxyFromEnvironment(&http.Request{URL: u}); err != nil || p != nil {
		return nil
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return &h1Target{addr: addr, host: u.Host, path: u.RequestURI()}
}

// h1Conn is a connection and its read buffer.
type h1Conn struct {
	net.Conn
	br     *bufio.Reader
	idleAt time.Time
	head   []byte // the request head, rebuilt for each request
}

// h1Response is an answer's status line and headers; Body must be read to
// its end or closed.
type h1Response struct {
	Status int
	Header http.Header
	Body   io.ReadCloser
}

// Bounds on an answer's head.
const (
	h1MaxLine    = 16 << 10
	h1MaxHeaders = 256
)

// errAbandoned is what a body closed before its end reads afterwards (its
// connection is closed, not pooled).
var errAbandoned = errors.New("the answer was not read to its end")

// h1MaxInterim bounds the interim (1xx) answers before the final one.
const h1MaxInterim = 8

// post sends body to t and returns the answer once its head has arrived.
// ctx bounds the whole exchange, the body's reading included.
func (c *h1Client) post(ctx context.Context, t *h1Target, body []byte, apiKey string, stream bool) (*h1Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	conn, reused, err := c.get(ctx, t.addr)
	if err != nil {
		return nil, err
	}
	resp, err := c.exchange(ctx, conn, t, body, apiKey, stream)
	if err != nil && reused && errors.Is(err, errNothingWritten) && ctx.Err() == nil {
		// The server closed the idle connection just as it was taken:
		// nothing reached it, so one try on a new connection is safe.
		if conn, err = c.dial(ctx, t.addr); err != nil {
			return nil, err
		}
		resp, err = c.exchange(ctx, conn, t, body, apiKey, stream)
	}
	return resp, err
}

// errNothingWritten marks a request that failed before any of it was sent.
var errNothingWritten = errors.New("nothing was written")

func (c *h1Client) exchange(ctx context.Context, conn *h1Conn, t *h1Target, body []byte, apiKey string, stream bool) (*h1Response, error) {
	b := &h1Body{client: c, conn: conn, addr: t.addr, ctx: ctx}
	if ctx.Done() != nil {
		b.stop = context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	}
	fail := func(err error) (*h1Response, error) {
		b.finish(false)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %v", ctx.Err(), err)
		}
		return nil, err
	}
	conn.head = appendHead(conn.head[:0], t, len(body), apiKey, stream, telemetry.OutgoingOf(ctx))
	bufs := net.Buffers{conn.head, body}
	if n, err := bufs.WriteTo(conn.Conn); err != nil { // one writev
		if n == 0 {
			err = fmt.Errorf("%w: %w", errNothingWritten, err)
		}
		return fail(err)
	}
	resp := &h1Response{Body: b}
	for interim := 0; ; interim++ {
		if interim > h1MaxInterim {
			return fail(fmt.Errorf("the upstream sent more than %d interim answers", h1MaxInterim))
		}
		status, proto1, err := readStatus(conn.br)
		if err != nil {
			return fail(err)
		}
		var f framing
		resp.Header, f, err = readHeader(conn.br, status != http.StatusOK)
		if err != nil {
			return fail(err)
		}
		if status >= 100 && status < 200 {
			if status == http.StatusSwitchingProtocols {
				return fail(errors.New("the upstream switched protocols"))
			}
			continue // an interim answer (103 Early Hints): the final one follows
		}
		resp.Status = status
		b.reuse = !proto1 && !f.close
		if proto1 {
			f.chunked = false // HTTP/1.0 has no transfer codings (as net/http reads it)
		}
		switch {
		case status == http.StatusNoContent || status == http.StatusNotModified:
			b.left = 0
		case f.chunked:
			b.chunks = httputil.NewChunkedReader(conn.br)
		case f.length >= 0:
			b.left = f.length
		default: // the body ends with the connection
			b.left, b.reuse = -1, false
		}
		if b.left == 0 && b.chunks == nil {
			b.finish(b.reuse)
		}
		return resp, nil
	}
}

// appendHead writes the request's head: with out's trace context and
// request id (see telemetry.Outgoing), which cost no allocation.
func appendHead(dst []byte, t *h1Target, n int, apiKey string, stream bool, out telemetry.Outgoing) []byte {
	dst = append(dst, "POST "...)
	dst = append(dst, t.path...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, t.host...)
	dst = append(dst, "\r\nUser-Agent: semroute\r\nContent-Type: application/json\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	if apiKey != "" {
		dst = append(dst, "\r\nAuthorization: Bearer "...)
		dst = append(dst, apiKey...)
	}
	if stream {
		dst = append(dst, "\r\nAccept: text/event-stream"...)
	}
	dst = out.AppendHead(dst)
	return append(dst, "\r\n\r\n"...)
}

// readLine returns the next line of the head without its line ending.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, fmt.Errorf("a line of the answer's head is longer than %d bytes", br.Size())
	case errors.Is(err, io.EOF) && len(line) == 0:
		return nil, io.EOF
	case errors.Is(err, io.EOF):
		return nil, io.ErrUnexpectedEOF
	case err != nil:
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// readStatus reads a status line: the code, and whether the server speaks
// HTTP/1.0 (whose connections are not kept).
func readStatus(br *bufio.Reader) (int, bool, error) {
	line, err := readLine(br)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("the upstream closed the connection without an answer")
		}
		return 0, false, err
	}
	proto, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok || (string(proto) != "HTTP/1.1" && string(proto) != "HTTP/1.0") {
		return 0, false, fmt.Errorf("the upstream's answer does not start with an HTTP/1.x status line: %q", truncate(line))
	}
	code, _, _ := bytes.Cut(rest, []byte(" "))
	status, err := strconv.Atoi(string(code))
	if err != nil || len(code) != 3 || status < 100 {
		return 0, false, fmt.Errorf("the upstream's status line has no status code: %q", truncate(line))
	}
	return status, string(proto) == "HTTP/1.0", nil
}

// framing is what an answer's headers say about its body and connection.
type framing struct {
	length  int64 // Content-Length, or -1
	chunked bool
	close   bool // Connection: close
}

// readHeader reads header lines up to the blank line, keeping them in an
// http.Header only when keep is set (for an error's Retry-After; a 200's
// headers are not used).
func readHeader(br *bufio.Reader, keep bool) (http.Header, framing, error) {
	f := framing{length: -1}
	var h http.Header
	if keep {
		h = http.Header{}
	}
	for n := 0; ; n++ {
		line, err := readLine(br)
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, f, fmt.Errorf("reading the answer's headers: %w", err)
		}
		if len(line) == 0 {
			return h, f, nil
		}
		if n == h1MaxHeaders {
			return nil, f, fmt.Errorf("the answer has more than %d header lines", h1MaxHeaders)
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t") {
			return nil, f, fmt.Errorf("the answer has a malformed header line: %q", truncate(line))
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || f.length >= 0 && f.length != n {
				return nil, f, fmt.Errorf("the answer has an invalid Content-Length: %q", truncate(value))
			}
			f.length = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			if !bytes.EqualFold(value, []byte("chunked")) {
				return nil, f, fmt.Errorf("the answer's transfer coding %q is not supported", truncate(value))
			}
			f.chunked = true
		case bytes.EqualFold(name, []byte("Connection")):
			for _, v := range bytes.Split(value, []byte(",")) {
				if bytes.EqualFold(bytes.TrimSpace(v), []byte("close")) {
					f.close = true
				}
			}
		}
		if keep {
			key := textproto.CanonicalMIMEHeaderKey(string(name))
			h[key] = append(h[key], string(value))
		}
	}
}

func truncate(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}

// h1Body reads an answer's body and hands its connection back at the end.
type h1Body struct {
	client *h1Client
	conn   *h1Conn
	addr   string
	ctx    context.Context
	stop   func() bool // the context watch, nil without one
	chunks io.Reader   // the chunked body, or nil
	left   int64       // bytes left with a Content-Length, -1 to the end
	reuse  bool
	done   bool
	err    error // what Read returns once done
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.done {
		if b.err == nil {
			return 0, io.EOF
		}
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var err error
	switch {
	case b.chunks != nil:
		n, err = b.chunks.Read(p)
		if errors.Is(err, io.EOF) {
			if terr := skipTrailer(b.conn.br); terr != nil {
				return n, b.fail(terr)
			}
			b.finish(b.reuse)
			return n, io.EOF
		}
	case b.left >= 0:
		if int64(len(p)) > b.left {
			p = p[:b.left]
		}
		n, err = b.conn.br.Read(p)
		b.left -= int64(n)
		if b.left == 0 {
			b.finish(b.reuse)
			return n, io.EOF
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
	default:
		n, err = b.conn.br.Read(p)
		if errors.Is(err, io.EOF) {
			b.finish(false)
			return n, io.EOF
		}
	}
	if err != nil {
		return n, b.fail(err)
	}
	return n, nil
}

// skipTrailer reads the lines after a chunked body's last chunk up to the
// blank line that ends the answer.
func skipTrailer(br *bufio.Reader) error {
	for n := 0; n <= h1MaxHeaders; n++ {
		line, err := readLine(br)
		if err != nil {
			return fmt.Errorf("reading the answer's trailer: %w", err)
		}
		if len(line) == 0 {
			return nil
		}
	}
	return fmt.Errorf("the answer has more than %d trailer lines", h1MaxHeaders)
}

// fail ends the body with err, or with the context's error when the
// context ended it.
func (b *h1Body) fail(err error) error {
	b.finish(false)
	if cerr := b.ctx.Err(); cerr != nil {
		err = fmt.Errorf("%w: %v", cerr, err)
	}
	b.err = err
	return err
}

func (b *h1Body) Close() error {
	if !b.done {
		b.finish(false)
		b.err = errAbandoned
	}
	return nil
}

// finish stops the context watch and pools the connection when reuse is
// set and the watch had not fired, or closes it.
func (b *h1Body) finish(reuse bool) {
	if b.done {
		return
	}
	b.done = true
	if b.stop != nil && !b.stop() {
		reuse = false // the deadline was set in the past
	}
	if reuse {
		b.client.put(b.addr, b.conn)
	} else {
		b.conn.Close()
	}
}

// get takes the most recently used idle connection to addr that is still
// open, or dials one; reused says which.
func (c *h1Client) get(ctx context.Context, addr string) (conn *h1Conn, reused bool, err error) {
	now := time.Now()
	for {
		c.mu.Lock()
		conns := c.idle[addr]
		if len(conns) == 0 {
			c.mu.Unlock()
			break
		}
		conn = conns[len(conns)-1]
		conns[len(conns)-1] = nil
		c.idle[addr] = conns[:len(conns)-1]
		c.mu.Unlock()
		if now.Sub(conn.idleAt) < c.idleTimeout && alive(conn.Conn) {
			return conn, true, nil
		}
		conn.Close()
	}
	conn, err = c.dial(ctx, addr)
	return conn, false, err
}

func newH1Conn(nc net.Conn) *h1Conn {
	return &h1Conn{Conn: nc, br: bufio.NewReaderSize(nc, h1MaxLine)}
}

// put keeps conn for reuse, or closes it when addr has enough idle ones.
func (c *h1Client) put(addr string, conn *h1Conn) {
	if conn.br.Buffered() > 0 { // bytes past the answer: out of step
		conn.Close()
		return
	}
	conn.idleAt = time.Now()
	var stale []*h1Conn
	c.mu.Lock()
	conns := c.idle[addr]
	// The least recently used come first: close those idle too long.
	for len(conns) > 0 && conn.idleAt.Sub(conns[0].idleAt) >= c.idleTimeout {
		stale = append(stale, conns[0])
		conns[0] = nil
		conns = conns[1:]
	}
	if len(conns) < c.maxIdlePerHost {
		conns = append(conns, conn)
		conn = nil
	}
	c.idle[addr] = conns
	c.mu.Unlock()
	if conn != nil {
		stale = append(stale, conn)
	}
	for _, s := range stale {
		s.Close()
	}
}
