// Command flood sends a bounded flood of hostile SIP to a PBX on loopback:
// datagrams that are not SIP, requests without Via, unknown and unserved
// methods, REGISTER and INVITE without credentials or with wrong ones, and
// a request whose answer cannot fit a datagram; over UDP and over a few TCP
// connections, optionally with idle TCP connections held open. It is the
// "flood" mode of bench/run.sh, which measures what the PBX logs and how
// much memory it keeps meanwhile.
//
// It only talks to 127.0.0.0/8, stops after -n requests or -max, whichever
// comes first, and prints one summary line.
//
//	go run ./bench/flood -target 127.0.0.1:5060 -n 300000 -rate 10000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// kinds are the requests sent, in turn.
var kinds = []string{
	"garbage", "no-via", "unknown-method", "unserved-method",
	"register-no-auth", "register-wrong-auth", "invite-no-auth", "too-large",
}

// request builds request i of a kind, with local written in Via so that
// answers come back.
func request(kind string, i int, transport, local, target string) []byte {
	method, extra := "", ""
	callID := fmt.Sprintf("flood-%d-%s@bench", i, transport)
	switch kind {
	case "garbage":
		return []byte(fmt.Sprintf("\x16\x03\x01 not sip %d \x00\xff{}\r\n\r\n", i))
	case "no-via":
		return []byte(fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nFrom: <sip:x@bench>;tag=%d\r\nTo: <sip:y@bench>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", target, i, callID))
	case "unknown-method":
		method = "FOO"
	case "unserved-method":
		method, extra = "SUBSCRIBE", "Event: presence\r\n"
	case "register-no-auth":
		method, extra = "REGISTER", "Contact: <sip:1001@"+local+">\r\nExpires: 60\r\n"
	case "register-wrong-auth":
		method = "REGISTER"
		extra = fmt.Sprintf("Contact: <sip:1001@%s>\r\nAuthorization: Digest username=\"1001\", realm=\"pbx\", nonce=\"n%d\", uri=\"sip:%s\", response=\"00000000000000000000000000000000\", algorithm=MD5\r\n", local, i, target)
	case "invite-no-auth":
		method, extra = "INVITE", "Contact: <sip:1001@"+local+">\r\n"
	case "too-large":
		method, callID = "FOO", strings.Repeat("x", 1400)+callID
	}
	return []byte(fmt.Sprintf("%s sip:1001@%s SIP/2.0\r\nVia: SIP/2.0/%s %s;branch=z9hG4bK-flood-%s-%d;rport\r\nMax-Forwards: 70\r\nFrom: <sip:1001@bench>;tag=f%d\r\nTo: <sip:1001@bench>\r\nCall-ID: %s\r\nCSeq: 1 %s\r\n%sContent-Length: 0\r\n\r\n",
		method, target, transport, local, transport, i, i, callID, method, extra))
}

// counts are answers received, by status code.
type counts struct {
	mu sync.Mutex
	by map[string]int
}

func (c *counts) add(data []byte) {
	for _, line := range strings.Split(string(data), "\r\n") {
		if code, ok := strings.CutPrefix(line, "SIP/2.0 "); ok && len(code) >= 3 {
			c.mu.Lock()
			c.by[code[:3]]++
			c.mu.Unlock()
		}
	}
}

func (c *counts) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.by))
	for k := range c.by {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%d", k, c.by[k])
	}
	return strings.TrimSpace(b.String())
}

func loopback(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() || !a.IsLoopback() {
		return netip.Addr{}, fmt.Errorf("%q: only 127.0.0.0/8 is allowed", s)
	}
	return a, nil
}

func main() {
	target := flag.String("target", "127.0.0.1:5060", "PBX address (127.0.0.0/8 only), UDP and TCP")
	src := flag.String("src", "127.0.0.4", "source address (127.0.0.0/8 only); not a trunk's, so INVITEs are challenged")
	n := flag.Int("n", 300000, "requests to send in all (UDP and TCP)")
	rate := flag.Int("rate", 10000, "requests per second")
	maxDur := flag.Duration("max", 30*time.Second, "stop after this long in any case")
	tcpConns := flag.Int("tcp", 4, "TCP connections carrying part of the flood (0: UDP only)")
	idle := flag.Int("idle", 0, "idle TCP connections to open and hold")
	idleSrc := flag.String("idle-src", "127.0.0.5", "source address of the idle connections (127.0.0.0/8 only)")
	only := flag.String("kinds", strings.Join(kinds, ","), "kinds of request to send, in turn")
	flag.Parse()

	host, port, err := net.SplitHostPort(*target)
	if err == nil {
		_, err = loopback(host)
	}
	var srcIP, idleIP netip.Addr
	if err == nil {
		srcIP, err = loopback(*src)
	}
	if err == nil {
		idleIP, err = loopback(*idleSrc)
	}
	send := strings.Split(*only, ",")
	for _, k := range send {
		if err == nil && !slices.Contains(kinds, k) {
			err = fmt.Errorf("unknown kind %q (known: %s)", k, strings.Join(kinds, ","))
		}
	}
	if err != nil || *n < 1 || *rate < 1 || *maxDur <= 0 || *maxDur > 2*time.Minute {
		fmt.Fprintf(os.Stderr, "flood: bad arguments (%v); -max is at most 2m\n", err)
		os.Exit(2)
	}
	dst := net.JoinHostPort(host, port)

	ctx, cancel := context.WithTimeout(context.Background(), *maxDur)
	defer cancel()
	answers := &counts{by: map[string]int{}}
	var wg sync.WaitGroup
	var sent, tcpRefused atomic.Int64

	udp, err := net.ListenPacket("udp", net.JoinHostPort(srcIP.String(), "0"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "flood:", err)
		os.Exit(1)
	}
	udpDst, _ := net.ResolveUDPAddr("udp", dst)
	wg.Add(1)
	go func() { // reads answers until the socket closes
		defer wg.Done()
		buf := make([]byte, 65536)
		for {
			m, _, err := udp.ReadFrom(buf)
			if err != nil {
				return
			}
			answers.add(buf[:m])
		}
	}()

	// Idle connections: opened, held, never written to.
	var idleConns []net.Conn
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: srcIP.AsSlice()}, Timeout: 2 * time.Second}
	idleDialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: idleIP.AsSlice()}, Timeout: 2 * time.Second}
	for range *idle {
		c, err := idleDialer.DialContext(ctx, "tcp", dst)
		if err != nil {
			tcpRefused.Add(1)
			continue
		}
		idleConns = append(idleConns, c)
	}

	// The flood: one sender paced by a ticker; every tcpEvery-th request
	// goes over TCP, round-robin over the connections.
	tcp := make([]net.Conn, *tcpConns)
	redial := func(k int) net.Conn {
		if tcp[k] != nil {
			tcp[k].Close()
		}
		c, err := dialer.DialContext(ctx, "tcp", dst)
		if err != nil {
			tcpRefused.Add(1)
			tcp[k] = nil
			return nil
		}
		tcp[k] = c
		wg.Add(1)
		go func() { // reads answers until the connection closes
			defer wg.Done()
			buf := make([]byte, 65536)
			for {
				m, err := c.Read(buf)
				answers.add(buf[:m])
				if err != nil {
					return
				}
			}
		}()
		return c
	}
	const tcpEvery = 5
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	perTick := max(*rate/100, 1)
	udpLocal := udp.LocalAddr().String()
	i := 0
loop:
	for i < *n {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
		}
		for j := 0; j < perTick && i < *n; j, i = j+1, i+1 {
			kind := send[i%len(send)]
			if *tcpConns > 0 && i%tcpEvery == 0 && kind != "too-large" {
				k := (i / tcpEvery) % *tcpConns
				c := tcp[k]
				if c == nil {
					if c = redial(k); c == nil {
						continue
					}
				}
				if _, err := c.Write(request(kind, i, "TCP", c.LocalAddr().String(), dst)); err != nil {
					redial(k) // sipgo closes a connection that sent garbage
					continue
				}
			} else {
				udp.WriteTo(request(kind, i, "UDP", udpLocal, dst), udpDst)
			}
			sent.Add(1)
		}
	}
	elapsed := time.Since(start)

	// Answers still in flight: give them a second, then close everything.
	time.Sleep(time.Second)
	udp.Close()
	for _, c := range tcp {
		if c != nil {
			c.Close()
		}
	}
	idleOpen := 0
	for _, c := range idleConns {
		// A connection the PBX refused reads EOF at once.
		c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
			idleOpen++
		}
		c.Close()
	}
	wg.Wait()
	fmt.Printf("flood: sent %d requests in %.1fs (%.0f/s) from %s to %s; answers: %s; tcp dial failures %d; idle tcp held open %d of %d\n",
		sent.Load(), elapsed.Seconds(), float64(sent.Load())/elapsed.Seconds(), srcIP, dst, answers, tcpRefused.Load(), idleOpen, len(idleConns))
}
