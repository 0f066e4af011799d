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
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/semroute/semroute/router"
)

// countConns starts srv counting the connections it accepts.
func countConns(srv *httptest.Server) *atomic.Int64 {
	var n atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	srv.Start()
	return &n
}

func h1Post(t *testing.T, c *h1Client, base, key string, stream bool, body string) (int, http.Header, string, error) {
	t.Helper()
	tg := h1For(base, "v1/chat/completions")
	if tg == nil {
		t.Fatalf("h1For(%q) = nil", base)
	}
	resp, err := c.post(context.Background(), tg, []byte(body), key, stream)
	if err != nil {
		return 0, nil, "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.Status, resp.Header, string(b), err
}

// TestH1Exchange: the request arrives as net/http would send it, answers
// framed by length or chunks (with a trailer) are read whole, and one
// connection serves every request in turn.
func TestH1Exchange(t *testing.T) {
	type seen struct{ method, uri, host, auth, accept, ctype, body string }
	var got []seen
	var mu sync.Mutex
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Method, r.RequestURI, r.Host, r.Header.Get("Authorization"), r.Header.Get("Accept"), r.Header.Get("Content-Type"), string(b)})
		mu.Unlock()
		if r.Header.Get("Accept") == "text/event-stream" {
			w.Header().Set("Trailer", "X-Done")
			for i := range 3 {
				io.WriteString(w, strings.Repeat(string(rune('a'+i)), 5000))
				w.(http.Flusher).Flush() // chunked
			}
			w.Header().Set("X-Done", "yes")
			return
		}
		io.WriteString(w, "answer to "+string(b))
	}))
	conns := countConns(srv)
	defer srv.Close()
	c := newH1Client()
	for i := range 10 {
		stream := i%2 == 1
		status, _, body, err := h1Post(t, c, srv.URL+"/", "sk-test", stream, `{"n":1}`)
		if err != nil || status != 200 {
			t.Fatalf("request %d: %d %v", i, status, err)
		}
		want := `answer to {"n":1}`
		if stream {
			want = strings.Repeat("a", 5000) + strings.Repeat("b", 5000) + strings.Repeat("c", 5000)
		}
		if body != want {
			t.Fatalf("request %d: body %.40q… (%d bytes), want %.40q… (%d bytes)", i, body, len(body), want, len(want))
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 10 requests in turn, want 1", n)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	want := seen{"POST", "/v1/chat/completions", host, "Bearer sk-test", "", "application/json", `{"n":1}`}
	if got[0] != want {
		t.Errorf("the upstream saw %+v, want %+v", got[0], want)
	}
	if got[1].accept != "text/event-stream" {
		t.Errorf("a stream's request has Accept %q", got[1].accept)
	}
}

// TestH1Concurrent: requests from many goroutines at once each get their
// own answer, and connections are reused across them.
func TestH1Concurrent(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	}))
	conns := countConns(srv)
	defer srv.Close()
	c := newH1Client()
	var wg sync.WaitGroup
	errs := make(chan error, 32*20)
	for g := range 32 {
		wg.Go(func() {
			for i := range 20 {
				want := fmt.Sprintf(`{"g":%d,"i":%d}`, g, i)
				status, _, body, err := h1Post(t, c, srv.URL, "", false, want)
				if err != nil || status != 200 || body != want {
					errs <- fmt.Errorf("%d %q %v, want %q", status, body, err, want)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := conns.Load(); n > 32 {
		t.Errorf("%d connections for 32 goroutines", n)
	}
}

// TestH1KeepsNoConnectionItShouldNot: answers that end with the connection,
// say "Connection: close" or come from HTTP/1.0 are read whole, and the
// next request opens a new connection and succeeds.
func TestH1KeepsNoConnectionItShouldNot(t *testing.T) {
	for _, tc := range []struct{ name, answer string }{
		{"ends with the connection", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\nthe whole body"},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 14\r\n\r\nthe whole body"},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 14\r\n\r\nthe whole body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, conns := scripted(t, func(int) string { return tc.answer }, true)
			c := newH1Client()
			for i := range 3 {
				status, _, body, err := h1Post(t, c, srv, "", false, "{}")
				if err != nil || status != 200 || body != "the whole body" {
					t.Fatalf("request %d: %d %q %v", i, status, body, err)
				}
			}
			if n := conns.Load(); n != 3 {
				t.Errorf("%d connections for 3 requests, want 3", n)
			}
		})
	}
}

// TestH1IdleClosedByServer: a server that closes a kept connection while
// it is idle (its keep-alive timeout) does not fail the next request.
func TestH1IdleClosedByServer(t *testing.T) {
	srv, conns := scripted(t, func(int) string { return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" }, true)
	c := newH1Client()
	for i := range 3 {
		if i > 0 {
			time.Sleep(20 * time.Millisecond) // the server's close arrives
		}
		if status, _, body, err := h1Post(t, c, srv, "", false, "{}"); err != nil || status != 200 || body != "ok" {
			t.Fatalf("request %d: %d %q %v", i, status, body, err)
		}
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("%d connections, want 3 (each closed by the server)", n)
	}
}

// TestH1Answers: interim answers are skipped, error answers keep their
// headers, and malformed or cut answers fail with an error that says what
// was wrong.
func TestH1Answers(t *testing.T) {
	for _, tc := range []struct {
		name, answer string
		status       int
		body, err    string
	}{
		{"early hints first", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, "ok", ""},
		{"rate limited", "HTTP/1.1 429 Too Many Requests\r\nretry-after: 7\r\nContent-Length: 4\r\n\r\nslow", 429, "slow", ""},
		{"no content", "HTTP/1.1 204 No Content\r\n\r\n", 204, "", ""},
		{"bare line feeds", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", 200, "ok", ""},
		{"not HTTP", "SSH-2.0-OpenSSH\r\n\r\n", 0, "", "status line"},
		{"no status code", "HTTP/1.1 OK\r\n\r\n", 0, "", "no status code"},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n", 0, "", "Content-Length"},
		{"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", 0, "", "Content-Length"},
		{"gzip coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 0, "", "transfer coding"},
		{"malformed header", "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", 0, "", "malformed header"},
		{"header cut", "HTTP/1.1 200 OK\r\nContent-Len", 0, "", "unexpected EOF"},
		{"nothing", "", 0, "", "without an answer"},
		{"long header", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("x", 20000) + "\r\n\r\n", 0, "", "longer than"},
		{"body cut", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", 200, "short", "unexpected EOF"},
		{"chunks cut", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", 200, "hello", "EOF"},
		{"switching protocols", "HTTP/1.1 101 Switching Protocols\r\n\r\n", 0, "", "switched protocols"},
		{"endless early hints", strings.Repeat("HTTP/1.1 103 Early Hints\r\n\r\n", 20), 0, "", "interim answers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := scripted(t, func(int) string { return tc.answer }, true)
			status, h, body, err := h1Post(t, newH1Client(), srv, "", false, "{}")
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
			if status != tc.status || body != tc.body {
				t.Errorf("got %d %q, want %d %q", status, body, tc.status, tc.body)
			}
			if tc.status == 429 && h.Get("Retry-After") != "7" {
				t.Errorf("Retry-After %q, want 7 (headers %v)", h.Get("Retry-After"), h)
			}
		})
	}
}

// TestH1Cancel: cancelling the context ends a request waiting for its
// answer, or for the rest of its body, with the context's error, and the
// connection is not used again.
func TestH1Cancel(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("part") != "" {
			io.WriteString(w, "first part")
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	conns := countConns(srv)
	defer srv.Close()
	defer close(release)
	c := newH1Client()
	for _, part := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		u := srv.URL
		if part {
			u += "/?part=1"
		}
		time.AfterFunc(50*time.Millisecond, cancel)
		tg := h1For(u, "")
		resp, err := c.post(ctx, tg, []byte("{}"), "", false)
		if part {
			if err != nil {
				t.Fatal(err)
			}
			_, err = io.ReadAll(resp.Body)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("part %v: error %v, want context.Canceled", part, err)
		}
	}
	if n := len(c.idle[strings.TrimPrefix(srv.URL, "http://")]); n != 0 {
		t.Errorf("%d cancelled connections pooled", n)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// TestH1AbandonedBody: a body closed before its end closes its connection.
func TestH1AbandonedBody(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 100000))
	}))
	conns := countConns(srv)
	defer srv.Close()
	c := newH1Client()
	tg := h1For(srv.URL, "")
	for range 2 {
		resp, err := c.post(context.Background(), tg, []byte("{}"), "", false)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Read(make([]byte, 10))
		resp.Body.Close()
		if _, err := resp.Body.Read(make([]byte, 10)); !errors.Is(err, errAbandoned) {
			t.Errorf("read after Close: %v", err)
		}
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (an abandoned one is not reused)", n)
	}
}

// TestH1IdleTimeout: a connection idle longer than the idle timeout is
// closed, not reused.
func TestH1IdleTimeout(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	conns := countConns(srv)
	defer srv.Close()
	c := newH1Client()
	c.idleTimeout = 30 * time.Millisecond
	for i := range 3 {
		if i == 2 {
			time.Sleep(60 * time.Millisecond)
		}
		if status, _, _, err := h1Post(t, c, srv.URL, "", false, "{}"); err != nil || status != 200 {
			t.Fatalf("request %d: %d %v", i, status, err)
		}
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (the first reused once, then idle too long)", n)
	}
}

// TestKeyWithNewlineUsesNetHTTP: an API key with a control character (a
// newline read from a file, say) is not written into a request head by
// hand; the call goes through net/http, which refuses it.
func TestKeyWithNewlineUsesNetHTTP(t *testing.T) {
	up := newFake(t, "a", nil)
	t.Setenv("H1_TEST_KEY", "sk-test\n")
	p := NewPool(config(router.Model{Name: "a", BaseURL: up.URL, Model: "m", APIKeyEnv: "H1_TEST_KEY"}), nil, os.LookupEnv)
	if d := p.models["a"].deps[0]; d.h1 != nil {
		t.Fatal("a key with a newline goes through the plain-HTTP client")
	}
	t.Setenv("H1_TEST_KEY", "sk-test")
	p = NewPool(config(router.Model{Name: "a", BaseURL: up.URL, Model: "m", APIKeyEnv: "H1_TEST_KEY"}), nil, os.LookupEnv)
	if d := p.models["a"].deps[0]; d.h1 == nil {
		t.Fatal("a plain key does not go through the plain-HTTP client")
	}
}

func TestH1For(t *testing.T) {
	for base, want := range map[string]string{
		"http://127.0.0.1:8000/v1":     "127.0.0.1:8000 /v1/chat/completions",
		"http://localhost/v1/":         "localhost:80 /v1/chat/completions",
		"https://api.example.com/v1":   "",
		"http://user:pw@127.0.0.1/v1":  "",
		"http:opaque":                  "",
		"not a url\x7f":                "",
		"http://127.0.0.1:8000/a%2Fb/": "127.0.0.1:8000 /a%2Fb/chat/completions",
	} {
		var got string
		if tg := h1For(base, "chat/completions"); tg != nil {
			got = tg.addr + " " + tg.path
		}
		if got != want {
			t.Errorf("h1For(%q) = %q, want %q", base, got, want)
		}
	}
}

// scripted serves answer(i) to the i-th request on loopback, closing each
// connection after its answer when closeAfter is set; it counts the
// connections.
func scripted(t *testing.T, answer func(int) string, closeAfter bool) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var conns, requests atomic.Int64
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					io.WriteString(conn, answer(int(requests.Add(1)-1)))
					if closeAfter {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String(), &conns
}

// FuzzH1Answer: whatever bytes an upstream answers, reading them never
// panics, and an answer read without error has the status and body
// net/http reads from the same bytes.
func FuzzH1Answer(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n\r\n",
		"HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 500 Oops\r\nRetry-After: 3\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.0 200 OK\r\n\r\nto the end",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, answer []byte) {
		client, server := net.Pipe()
		defer client.Close()
		defer server.Close()
		go func() {
			defer server.Close()
			server.Write(answer)
		}()
		go io.Copy(io.Discard, server) // the request
		c := newH1Client()
		c.dial = func(context.Context, string) (*h1Conn, error) { return newH1Conn(client), nil }
		resp, err := c.post(context.Background(), &h1Target{addr: "x", host: "x", path: "/"}, []byte("{}"), "", false)
		if err != nil {
			return
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return
		}
		br := bufio.NewReader(bytes.NewReader(answer))
		want, err := http.ReadResponse(br, nil)
		for err == nil && want.StatusCode >= 100 && want.StatusCode < 200 {
			want, err = http.ReadResponse(br, nil)
		}
		if err != nil {
			return // net/http is stricter here; ours read it
		}
		wbody, err := io.ReadAll(want.Body)
		if err != nil {
			return
		}
		if resp.Status != want.StatusCode || !bytes.Equal(body, wbody) {
			t.Errorf("read %d %q; net/http reads %d %q", resp.Status, body, want.StatusCode, wbody)
		}
	})
}
