package testenv

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// Proxy is a TCP proxy on 127.0.0.1 in front of a service, which a test
// takes down (the service is gone: new connections are refused and those
// it carries are cut) or hangs (connections are accepted and never
// answered), and brings back up on the same address, to see a client fail
// and then recover by itself.
type Proxy struct {
	tb     testing.TB
	target string // host:port of the service
	url    string // the service's URL with the proxy as its host

	mu    sync.Mutex
	addr  string
	ln    net.Listener
	hung  bool
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// NewProxy starts a proxy in front of the service at rawURL (defaultPort
// when the URL names none); t.Cleanup takes it down and waits for its
// goroutines.
func NewProxy(tb testing.TB, rawURL, defaultPort string) *Proxy {
	tb.Helper()
	u, err := url.Parse(rawURL)
	if err != nil || u.Hostname() == "" {
		tb.Fatalf("proxy: %q is not a URL with a host", rawURL)
	}
	port := u.Port()
	if port == "" {
		port = defaultPort
	}
	p := &Proxy{tb: tb, target: net.JoinHostPort(u.Hostname(), port), conns: make(map[net.Conn]bool)}
	p.listen("127.0.0.1:0")
	u.Host = p.addr
	p.url = u.String()
	tb.Cleanup(func() {
		p.Down()
		p.wg.Wait()
	})
	return p
}

// URL is the service's URL with the proxy in its place.
func (p *Proxy) URL() string { return p.url }

// Down stops listening and cuts every connection the proxy carries.
func (p *Proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
}

// Hang cuts every connection the proxy carries and, until Up or Down,
// accepts new ones but never answers them: a server that hangs.
func (p *Proxy) Hang() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hung = true
	p.cut()
}

// cut closes every connection; the caller holds mu.
func (p *Proxy) cut() {
	for c := range p.conns {
		c.Close()
	}
}

// Up carries connections again, listening again on the same address
// after Down. Call it from the test's goroutine.
func (p *Proxy) Up() {
	p.tb.Helper()
	p.mu.Lock()
	up := p.ln != nil
	if p.hung {
		p.hung = false
		p.cut()
	}
	p.mu.Unlock()
	if !up {
		p.listen(p.addr)
	}
}

func (p *Proxy) listen(addr string) {
	p.tb.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.tb.Fatalf("proxy: listen on %s: %v", addr, err)
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

// pipe carries one connection until either side ends it or Down cuts it;
// while the proxy hangs, it holds the connection silent instead.
func (p *Proxy) pipe(c net.Conn) {
	p.mu.Lock()
	hung := p.hung
	if hung {
		p.conns[c] = true
	}
	p.mu.Unlock()
	if hung {
		io.Copy(io.Discard, c) // until the client gives up or cut
		c.Close()
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
		return
	}
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // taken down while dialling
		p.mu.Unlock()
		c.Close()
		s.Close()
		return
	}
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
