package main

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clinicbot/clinicbot/internal/config"
	"github.com/clinicbot/clinicbot/internal/health"
	"github.com/clinicbot/clinicbot/internal/testenv"
)

// proxy is a TCP proxy on 127.0.0.1 that a test can take down (closing the
// connections it carries) and bring back up on the same address.
type proxy struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target, conns: make(map[net.Conn]bool)}
	p.up("127.0.0.1:0")
	t.Cleanup(func() { p.down(); p.wg.Wait() })
	return p
}

func (p *proxy) up(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatalf("proxy listen %s: %v", addr, err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.pipe(c) })
		}
	})
}

func (p *proxy) pipe(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[s] = true, true
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { io.Copy(s, c); s.Close() })
	wg.Go(func() { io.Copy(c, s); c.Close() })
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, s)
	p.mu.Unlock()
}

// down stops listening and cuts every connection: the service is gone.
func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
}

// reopen listens again on the same address.
func (p *proxy) reopen() { p.up(p.addr) }

// via returns rawURL with its host replaced by the proxy's address.
func (p *proxy) via(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		p.t.Fatal(err)
	}
	u.Host = p.addr
	return u.String()
}

func hostPort(t *testing.T, rawURL, defaultPort string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), defaultPort)
	}
	return u.Host
}

// TestReadyz: /readyz fails while PostgreSQL or Redis is unreachable and
// recovers once it is back, through the checks serve builds.
func TestReadyz(t *testing.T) {
	t.Parallel()
	pgURL := pgSchema(t)
	redisURL := testenv.RedisURL(t)
	pg := newProxy(t, hostPort(t, pgURL, "5432"))
	rd := newProxy(t, hostPort(t, redisURL, "6379"))
	cfg, err := config.Load([]string{
		"DATABASE_URL=" + pg.via(pgURL),
		"REDIS_URL=" + rd.via(redisURL),
		"CLINICBOT_DATA_KEY=" + strings.Repeat("ab", 32),
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{cfg: cfg, log: slog.New(slog.DiscardHandler), now: time.Now}
	c, err := e.openCore(t.Context(), nil)
	if err != nil {
		t.Fatalf("openCore: %v", err)
	}
	defer c.Close()
	if err := c.openRedis(t.Context(), cfg.RedisURL.Reveal(), e.log); err != nil {
		t.Fatalf("openRedis: %v", err)
	}
	srv := httptest.NewServer(&health.Checker{Checks: c.checks(), Timeout: time.Second})
	defer srv.Close()

	get := func() (int, string) {
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatalf("GET /readyz: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	// eventually polls until /readyz answers want; a pool may need a
	// request or two to drop connections cut under it.
	eventually := func(want int, wantBody string) {
		t.Helper()
		var code int
		var body string
		for range 100 {
			if code, body = get(); code == want && strings.Contains(body, wantBody) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("/readyz = %d %q, want %d %q", code, body, want, wantBody)
	}

	if code, body := get(); code != http.StatusOK {
		t.Fatalf("/readyz = %d %q with both up, want 200", code, body)
	}
	for _, tt := range []struct {
		name  string
		proxy *proxy
		check string
	}{
		{"postgres", pg, "store"},
		{"redis", rd, "redis"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.proxy.down()
			eventually(http.StatusServiceUnavailable, tt.check)
			tt.proxy.reopen()
			eventually(http.StatusOK, "ok")
		})
	}
	var ce *health.CheckError
	if err := (&health.Checker{Checks: c.checks()}).Ready(t.Context()); errors.As(err, &ce) {
		t.Errorf("Ready after recovery = %v", err)
	}
}
