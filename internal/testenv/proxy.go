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
// it carries are cut), hangs (connections are accepted and never
// answered) or stalls (as hung, and the connections it carries stay open
// but carry nothing), and brings back up on the same address, to see a
// client fail and then recover by itself.
type Proxy struct {
	tb     testing.TB
	target string // host:port of the service
	url    string // the service's URL with the proxy as its host

	mu      sync.Mutex
	resumed *sync.Cond // broadcast when stalled is cleared
	addr    string
	ln      net.Listener
	hung    bool
	stalled bool
	conns   map[net.Conn]bool // true: accepted while hung, never answered
	wg      sync.WaitGroup
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
	p.resumed = sync.NewCond(&p.mu)
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
	p.resume()
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

// Stall holds what every connection the proxy carries sends from now on,
// leaving it open, and until Up or Down accepts new connections but never
// answers them: a server that hangs on connections a client already holds.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hung, p.stalled = true, true
}

// cut closes every connection; the caller holds mu.
func (p *Proxy) cut() {
	for c := range p.conns {
		c.Close()
	}
}

// resume ends a stall: held data goes on; the caller holds mu.
func (p *Proxy) resume() {
	p.stalled = false
	p.resumed.Broadcast()
}

// Up carries connections again, listening again on the same address
// after Down. Call it from the test's goroutine.
func (p *Proxy) Up() {
	p.tb.Helper()
	p.mu.Lock()
	up := p.ln != nil
	if p.hung {
		p.hung = false
		for c, silent := range p.conns {
			if silent {
				c.Close()
			}
		}
	}
	p.resume()
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
		p.conns[c] = true // silent
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
	p.conns[c], p.conns[s] = false, false
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { p.carry(s, c); s.Close() })
	wg.Go(func() { p.carry(c, s); c.Close() })
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, s)
	p.mu.Unlock()
}

// carry copies src to dst until either fails, holding what it read while
// the proxy is stalled.
func (p *Proxy) carry(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.stalled {
				p.resumed.Wait()
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
