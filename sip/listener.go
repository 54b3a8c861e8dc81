package sip

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// connLimitListener is the TCP (and TLS) listener the stack hands to
// sipgo. It does two things sipgo's accept loop does not:
//
//   - It bounds the connections open at once, in total and per source
//     address. Each connection costs sipgo a goroutine and a 32 KB read
//     buffer and the process a descriptor, whether or not a byte of SIP
//     ever arrives, so without a bound anyone can open connections until
//     memory or descriptors run out. A connection past a bound is closed
//     as soon as it is accepted.
//   - It keeps accepting after a temporary failure. sipgo stops serving
//     TCP for good on the first error Accept returns, and running out of
//     descriptors (EMFILE) is such an error: one burst of connections
//     would end TCP service until restart. Here the listener waits (5 ms,
//     doubling up to 1 s) and tries again, as net/http does.
type connLimitListener struct {
	net.Listener
	maxTotal, maxPerIP int
	log                *slog.Logger // limited

	mu    sync.Mutex
	total int
	perIP map[netip.Addr]int
}

// Defaults for StackOptions.MaxTCPConns and MaxTCPConnsPerIP.
const (
	defaultTCPConnsPerIP = 128 // phones behind one NAT, each with its connection
	minTCPConns          = 64
	tcpConnsNofileDiv    = 10 // a tenth of the descriptors: the share dialog's admission leaves to all but RTP
)

// defaultMaxTCPConns is a tenth of the open-file limit, at least 64.
func defaultMaxTCPConns() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return minTCPConns * 16
	}
	return max(int(min(rl.Cur, 1<<20))/tcpConnsNofileDiv, minTCPConns)
}

func newConnLimitListener(ln net.Listener, maxTotal, maxPerIP int, log *slog.Logger) *connLimitListener {
	if maxTotal <= 0 {
		maxTotal = defaultMaxTCPConns()
	}
	if maxPerIP <= 0 {
		maxPerIP = defaultTCPConnsPerIP
	}
	return &connLimitListener{Listener: ln, maxTotal: maxTotal, maxPerIP: maxPerIP, log: log, perIP: map[netip.Addr]int{}}
}

// Accept returns the next connection within the bounds.
func (l *connLimitListener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !acceptRetryable(err) {
				return nil, err
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			l.log.Warn("sip: accept failed, retrying", "addr", l.Addr().String(), "in", delay, "error", err)
			time.Sleep(delay)
			continue
		}
		delay = 0
		ip := connRemoteIP(c)
		if !l.take(ip) {
			l.log.Info("sip: connection refused: too many open", "source", c.RemoteAddr().String(), "max_total", l.maxTotal, "max_per_source", l.maxPerIP)
			c.Close()
			continue
		}
		return &limitedConn{Conn: c, release: func() { l.give(ip) }}, nil
	}
}

// open is the number of connections accepted and not yet closed.
func (l *connLimitListener) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

func (l *connLimitListener) take(ip netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= l.maxTotal || l.perIP[ip] >= l.maxPerIP {
		return false
	}
	l.total++
	l.perIP[ip]++
	return true
}

func (l *connLimitListener) give(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.perIP[ip] <= 1 {
		delete(l.perIP, ip)
	} else {
		l.perIP[ip]--
	}
}

// acceptRetryable reports whether an Accept error is one the listener
// survives: out of descriptors or buffers, or a connection aborted before
// it was taken.
func acceptRetryable(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func connRemoteIP(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// limitedConn gives its place back once, on the first Close.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
