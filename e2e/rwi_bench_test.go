package e2e

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pbx/config"
	"pbx/internal/testkit"
)

// Benchmarks of the RWI control plane over real WebSockets on loopback,
// with real phones answering the calls. They run only under -bench, e.g.
//
//	go test -run XXX -bench RWI -benchtime 2s ./e2e/
//
// Everything is in one process: the PBX, the phones and the RWI clients
// (testkit.RWIClient, which decodes every frame into maps), so time and
// allocations per operation are those of both ends of the WebSocket.

// rwiBenchToken is the RWI token of the benchmarks' PBX.
const rwiBenchToken = "rwi-bench-token-0001"

// rwiBenchWait bounds each wait of the RWI benchmarks: a response, an
// event, an answer.
const rwiBenchWait = 5 * time.Second

// rwiBenchPBX starts a PBX whose RWI token admits every connection the
// benchmarks open (the default is 10 per token).
func rwiBenchPBX(b *testing.B) *testkit.PBX {
	b.Helper()
	return testkit.StartPBX(b, "", func(c *config.Config) {
		c.RWI.Tokens = []config.RWIToken{{
			Name: "bench", Token: rwiBenchToken, Scopes: []string{"call.control"}, MaxConnections: 1000,
		}}
	})
}

// rwiBenchDial opens an RWI session; unlike testkit.DialRWI it returns
// its error, so that many goroutines can dial at once.
func rwiBenchDial(b *testing.B, p *testkit.PBX) (*testkit.RWIClient, error) {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+rwiBenchToken)
	conn, res, err := testkit.DialRWIRaw(p.HTTPAddr(), h, "")
	if err != nil {
		return nil, err
	}
	return testkit.NewRWIClient(b, conn, res.Header.Get("X-RWI-Session")), nil
}

// rwiBenchDo sends one request and waits for its response; an error
// response is an error.
func rwiBenchDo(c *testkit.RWIClient, action string, params any) (testkit.RWIResponse, error) {
	id, err := c.Send(action, params)
	if err != nil {
		return testkit.RWIResponse{}, err
	}
	r, err := c.Await(id, rwiBenchWait)
	if err != nil {
		return r, err
	}
	if !r.OK {
		return r, fmt.Errorf("%s: %s: %s", action, r.Code, r.Message)
	}
	return r, nil
}

// rwiBenchSessions opens n subscribed sessions, eight at a time, and
// fails the benchmark when one cannot be opened.
func rwiBenchSessions(b *testing.B, p *testkit.PBX, n int) []*testkit.RWIClient {
	b.Helper()
	clients := make([]*testkit.RWIClient, n)
	err := rwiBenchEach(n, 8, func(i int) error {
		c, err := rwiBenchDial(b, p)
		if err != nil {
			return fmt.Errorf("session %d: %w", i, err)
		}
		clients[i] = c
		_, err = rwiBenchDo(c, "session.subscribe", map[string]any{"contexts": []string{fmt.Sprint("bench", i)}})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return clients
}

// rwiBenchEach runs fn(0..n-1) on at most width goroutines at once and
// returns the first error.
func rwiBenchEach(n, width int, fn func(i int) error) error {
	var wg sync.WaitGroup
	sem := make(chan struct{}, width)
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(i); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs // nil when the channel is empty
}

// rwiBenchOriginate has session c call dest under the name callID and
// waits until the call is answered (and parked: no bridge).
func rwiBenchOriginate(c *testkit.RWIClient, callID, dest string) error {
	if _, err := rwiBenchDo(c, "call.originate", map[string]any{
		"call_id": callID, "destination": dest, "caller_id": "2000", "timeout_secs": 10,
	}); err != nil {
		return err
	}
	_, err := c.NextEvent("call.answered", callID, rwiBenchWait)
	return err
}

// rwiBenchAnswerer answers every call that rings on its phones, with a
// few goroutines per phone (an answer waits for the PBX's ACK, and a
// phone refuses with 486 a call it has no room to queue), and keeps the
// calls it answered.
type rwiBenchAnswerer struct {
	stop   chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	calls  []*testkit.PhoneCall
	failed atomic.Int64
}

func startRWIBenchAnswerer(phones []*testkit.Phone, workers int) *rwiBenchAnswerer {
	a := &rwiBenchAnswerer{stop: make(chan struct{})}
	for _, ph := range phones {
		for range workers {
			a.wg.Add(1)
			go func() {
				defer a.wg.Done()
				for {
					select {
					case <-a.stop:
						return
					default:
					}
					in, err := ph.Incoming(100 * time.Millisecond) // short, so that stop is not held up
					if err != nil {
						continue // nothing rang
					}
					c, err := in.Answer()
					if err != nil {
						a.failed.Add(1)
						continue
					}
					a.mu.Lock()
					a.calls = append(a.calls, c)
					a.mu.Unlock()
				}
			}()
		}
	}
	return a
}

// finish hangs up every answered call from the phone's side, waits for
// the BYEs to be answered, and stops the answering goroutines.
func (a *rwiBenchAnswerer) finish(b *testing.B) {
	close(a.stop)
	a.wg.Wait()
	if n := a.failed.Load(); n > 0 {
		b.Errorf("%d calls could not be answered", n)
	}
	a.mu.Lock()
	calls := a.calls
	a.mu.Unlock()
	if err := rwiBenchEach(len(calls), 16, func(i int) error { return calls[i].Hangup() }); err != nil {
		b.Errorf("hang up: %v", err)
	}
}

// rwiBenchParkCalls has each session originate perSession calls to the
// phones' extensions in turn, named leg0, leg1..., eight calls being set
// up at once, and returns the names.
func rwiBenchParkCalls(b *testing.B, clients []*testkit.RWIClient, perSession int, exts []string) []string {
	b.Helper()
	names := make([]string, perSession)
	for j := range names {
		names[j] = fmt.Sprint("leg", j)
	}
	err := rwiBenchEach(len(clients)*perSession, 8, func(k int) error {
		i, j := k/perSession, k%perSession
		if err := rwiBenchOriginate(clients[i], names[j], exts[k%len(exts)]); err != nil {
			return fmt.Errorf("session %d, %s: %w", i, names[j], err)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return names
}

// rwiBenchHold is one session's hold state across the runs of a
// benchmark: which of its legs the next command is about, and whether
// that leg is on hold.
type rwiBenchHold struct {
	leg  int
	held bool
}

// next is the command that toggles the current leg's hold, and the event
// it must bring; after an unhold the next leg's turn comes.
func (h *rwiBenchHold) next(names []string) (action, event, callID string) {
	callID = names[h.leg]
	if !h.held {
		h.held = true
		return "call.hold", "media.hold.started", callID
	}
	h.held = false
	h.leg = (h.leg + 1) % len(names)
	return "call.unhold", "media.hold.stopped", callID
}

// BenchmarkRWICommands is commands per second on one connection, one
// request at a time: session.list_calls (the session's registry), and
// call.hold / call.unhold in turn on a parked call answered by a test
// phone (an engine operation on the leg's queue, with its
// media.hold.started / media.hold.stopped event sent too).
func BenchmarkRWICommands(b *testing.B) { benchRWICommands(b, 1) }

// BenchmarkRWICommands50 is BenchmarkRWICommands across 50 connections at
// once, each with its own parked call; b.N is split among them.
func BenchmarkRWICommands50(b *testing.B) { benchRWICommands(b, 50) }

func benchRWICommands(b *testing.B, conns int) {
	p := rwiBenchPBX(b)
	ans := startRWIBenchAnswerer([]*testkit.Phone{phone(b, p, "1001"), phone(b, p, "1002")}, 4)
	// Deferred: runs before the cleanups close the sessions, the phones
	// and the PBX.
	defer ans.finish(b)
	clients := rwiBenchSessions(b, p, conns)
	names := rwiBenchParkCalls(b, clients, 1, []string{"1001", "1002"})

	b.Run("list_calls", func(b *testing.B) {
		runRWICommands(b, clients, func(i int) (string, any) {
			return "session.list_calls", map[string]any{}
		})
	})
	holds := make([]rwiBenchHold, conns)
	b.Run("hold_unhold", func(b *testing.B) {
		runRWICommands(b, clients, func(i int) (string, any) {
			action, _, callID := holds[i].next(names)
			return action, map[string]any{"call_id": callID}
		})
	})
}

// runRWICommands has every client send the commands op gives it, one at
// a time, until b.N commands in all are answered; it reports commands per
// second and the round-trip percentiles.
func runRWICommands(b *testing.B, clients []*testkit.RWIClient, op func(i int) (string, any)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	rtts := make([][]time.Duration, len(clients))
	b.ReportAllocs()
	b.ResetTimer()
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				action, params := op(i)
				t0 := time.Now()
				if _, err := rwiBenchDo(c, action, params); err != nil {
					b.Errorf("session %d: %v", i, err)
					return
				}
				rtts[i] = append(rtts[i], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	all := slices.Concat(rtts...)
	b.ReportMetric(float64(len(all))/b.Elapsed().Seconds(), "cmds/s")
	b.ReportMetric(rwiBenchPercentile(all, 0.50), "p50-ms")
	b.ReportMetric(rwiBenchPercentile(all, 0.99), "p99-ms")
}

// rwiBenchPercentile is the q-quantile of d in milliseconds (nearest
// rank), 0 for no samples. It sorts d.
func rwiBenchPercentile(d []time.Duration, q float64) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(q*float64(len(d))+0.5) - 1
	i = max(0, min(i, len(d)-1))
	return float64(d[i]) / float64(time.Millisecond)
}

// BenchmarkRWIEventFanout is event latency with 200 calls up: 100
// sessions each own two parked calls answered by test phones, and every
// session toggles hold on its calls (call.hold, then call.unhold, then
// the other call), each time waiting for the event the command brings
// (media.hold.started / media.hold.stopped). One operation is one command
// and its event; b.N is split among the sessions. Two loads:
//
//   - saturated: every session sends its next command as soon as it has
//     the last one's event and response, so 100 commands are always in
//     flight: the figures are the most the process sustains and the
//     queueing delay at that rate;
//   - paced: 1000 commands a second in all, each session one every 100 ms
//     (staggered), well under that: the figures are the latency of an
//     event when the PBX is not saturated.
//
// Reported: command-to-event latency as the client sees it (from before
// the request is written to the moment the waiting goroutine has the
// event: the server's handling, the engine's event bus and routing, both
// WebSocket ends and the client's decoding and wake-up), p50 / p99 / max;
// and the event's own "timestamp" (the engine's time of the event) to its
// receipt, p50 / p99, which leaves out the request's way in. That
// timestamp has millisecond precision, truncated: ts figures are high by
// up to 1 ms.
func BenchmarkRWIEventFanout(b *testing.B) {
	const sessions, perSession = 100, 2
	p := rwiBenchPBX(b)
	ans := startRWIBenchAnswerer([]*testkit.Phone{phone(b, p, "1001"), phone(b, p, "1002")}, 8)
	defer ans.finish(b)
	clients := rwiBenchSessions(b, p, sessions)
	names := rwiBenchParkCalls(b, clients, perSession, []string{"1001", "1002"})
	if got := len(p.Engine().Legs()); got != sessions*perSession {
		b.Fatalf("%d legs up, want %d", got, sessions*perSession)
	}
	holds := make([]rwiBenchHold, sessions)
	b.Run("saturated", func(b *testing.B) { runRWIFanout(b, clients, names, holds, 0) })
	b.Run("paced", func(b *testing.B) { runRWIFanout(b, clients, names, holds, 100*time.Millisecond) })
}

// runRWIFanout runs b.N hold toggles across the clients, each client
// starting one every interval (0: back to back), and reports the
// latencies of their events.
func runRWIFanout(b *testing.B, clients []*testkit.RWIClient, names []string, holds []rwiBenchHold, interval time.Duration) {
	var next atomic.Int64
	var wg sync.WaitGroup
	lat := make([][]time.Duration, len(clients))
	lag := make([][]time.Duration, len(clients))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Staggered: the sessions' turns spread over the interval.
			due := start.Add(interval * time.Duration(i) / time.Duration(len(clients)))
			timer := time.NewTimer(0)
			defer timer.Stop()
			for next.Add(1) <= int64(b.N) {
				if interval > 0 {
					timer.Reset(time.Until(due))
					<-timer.C
					due = due.Add(interval)
				}
				action, event, callID := holds[i].next(names)
				t0 := time.Now()
				id, err := c.Send(action, map[string]any{"call_id": callID})
				if err != nil {
					b.Errorf("session %d: %v", i, err)
					return
				}
				ev, err := c.NextEvent(event, callID, rwiBenchWait)
				if err != nil {
					b.Errorf("session %d: %v", i, err)
					return
				}
				now := time.Now()
				lat[i] = append(lat[i], now.Sub(t0))
				at, err := time.Parse(time.RFC3339Nano, ev.Timestamp)
				if err != nil {
					b.Errorf("session %d: event timestamp %q: %v", i, ev.Timestamp, err)
					return
				}
				lag[i] = append(lag[i], now.Sub(at))
				if r, err := c.Await(id, rwiBenchWait); err != nil || !r.OK {
					b.Errorf("session %d: %s %s: %s %s %v", i, action, callID, r.Code, r.Message, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	all, lags := slices.Concat(lat...), slices.Concat(lag...)
	b.ReportMetric(float64(len(all))/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(rwiBenchPercentile(all, 0.50), "p50-ms")
	b.ReportMetric(rwiBenchPercentile(all, 0.99), "p99-ms")
	b.ReportMetric(rwiBenchPercentile(all, 1), "max-ms")
	b.ReportMetric(rwiBenchPercentile(lags, 0.50), "ts-p50-ms")
	b.ReportMetric(rwiBenchPercentile(lags, 0.99), "ts-p99-ms")
}

// rwiIdleSessions is how many idle sessions BenchmarkRWIIdleSession opens.
const rwiIdleSessions = 200

// BenchmarkRWIIdleSession is the memory an idle session costs: each
// iteration starts a PBX, opens 200 sessions, each subscribed to a
// context, and reports the live heap plus goroutine stacks after a
// collection, minus the same before, per session. The client runs in the
// same process, so the sub-benchmarks split the figure:
//
//   - testkit_client: both ends, the client being testkit.RWIClient
//     (a gorilla connection, its buffers and its reader goroutine);
//   - raw_client: the server's share, the client being a bare TCP socket
//     that did the WebSocket handshake and sent session.subscribe by hand
//     and keeps nothing else;
//   - tcp_pair: a bare accepted TCP connection and its client socket, per
//     pair, to size what raw_client counts besides the server's share
//     (its client socket: about half of this).
//
// Kernel socket buffers are not in these figures. ns/op is the time to
// start a PBX and open the sessions, not a figure of interest.
func BenchmarkRWIIdleSession(b *testing.B) {
	b.Run("testkit_client", func(b *testing.B) {
		runRWIIdle(b, func(p *testkit.PBX, i int) (func(), error) {
			c, err := rwiBenchDial(b, p)
			if err != nil {
				return nil, err
			}
			if _, err := rwiBenchDo(c, "session.subscribe", map[string]any{"contexts": []string{fmt.Sprint("idle", i)}}); err != nil {
				c.Close()
				return nil, err
			}
			return c.Close, nil
		})
	})
	b.Run("raw_client", func(b *testing.B) {
		runRWIIdle(b, func(p *testkit.PBX, i int) (func(), error) {
			conn, err := rwiRawSession(p.HTTPAddr(), rwiBenchToken, fmt.Sprint("idle", i))
			if err != nil {
				return nil, err
			}
			return func() { conn.Close() }, nil
		})
	})
	b.Run("tcp_pair", func(b *testing.B) {
		var per, gr float64
		for range b.N {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			accepted := make(chan net.Conn, rwiIdleSessions)
			go func() {
				defer close(accepted)
				for range rwiIdleSessions {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					accepted <- c
				}
			}()
			mem0, g0 := rwiBenchMem()
			var conns []net.Conn
			for range rwiIdleSessions {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				conns = append(conns, c)
			}
			var served []net.Conn
			for c := range accepted {
				served = append(served, c)
			}
			mem1, g1 := rwiBenchMem()
			per += (float64(mem1) - float64(mem0)) / rwiIdleSessions
			gr += float64(g1-g0) / rwiIdleSessions
			runtime.KeepAlive(served)
			for _, c := range slices.Concat(conns, served) {
				c.Close()
			}
			ln.Close()
		}
		b.ReportMetric(per/float64(b.N), "B/pair")
		b.ReportMetric(gr/float64(b.N), "goroutines/pair")
	})
}

// runRWIIdle is one idle-session figure: open gives one session and the
// function that closes it.
func runRWIIdle(b *testing.B, open func(p *testkit.PBX, i int) (func(), error)) {
	var per, gr float64
	for range b.N {
		p := rwiBenchPBX(b)
		mem0, g0 := rwiBenchMem()
		closers := make([]func(), rwiIdleSessions)
		if err := rwiBenchEach(rwiIdleSessions, 8, func(i int) error {
			var err error
			closers[i], err = open(p, i)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		mem1, g1 := rwiBenchMem()
		per += (float64(mem1) - float64(mem0)) / rwiIdleSessions
		gr += float64(g1-g0) / rwiIdleSessions
		for _, c := range closers {
			if c != nil {
				c()
			}
		}
		p.Stop()
	}
	b.ReportMetric(per/float64(b.N), "B/session")
	b.ReportMetric(gr/float64(b.N), "goroutines/session")
}

// rwiBenchMem is the live heap plus goroutine stacks after a full
// collection, and the number of goroutines.
func rwiBenchMem() (uint64, int) {
	runtime.GC()
	runtime.GC() // the first may leave finalizers' objects for the second
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse, runtime.NumGoroutine()
}

// rwiRawSession opens an RWI session with the least a client can keep:
// it dials TCP, does the WebSocket handshake and sends one masked
// session.subscribe frame by hand, reads the success, and returns the bare
// connection, holding no buffer and no goroutine.
func rwiRawSession(addr, token, context string) (net.Conn, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("raw rwi dial: %w", err)
	}
	fail := func(err error) (net.Conn, error) {
		conn.Close()
		return nil, fmt.Errorf("raw rwi session: %w", err)
	}
	conn.SetDeadline(time.Now().Add(rwiBenchWait))
	var key [16]byte
	rand.Read(key[:])
	req := "GET /rwi/v1 HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(key[:]) + "\r\n" +
		"Sec-WebSocket-Protocol: rwi-v1\r\nAuthorization: Bearer " + token + "\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return fail(err)
	}
	br := bufio.NewReader(conn) // dropped on return: the server sends nothing unasked
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		return fail(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSwitchingProtocols {
		return fail(fmt.Errorf("upgrade: %s", res.Status))
	}
	payload := []byte(`{"rwi":"1.0","action_id":"s","action":"session.subscribe","params":{"contexts":["` + context + `"]}}`)
	if _, err := conn.Write(rwiMaskedFrame(payload)); err != nil {
		return fail(err)
	}
	got, err := rwiReadFrame(br)
	if err != nil {
		return fail(err)
	}
	if !strings.Contains(string(got), `"response":"success"`) {
		return fail(fmt.Errorf("subscribe: %s", got))
	}
	if br.Buffered() > 0 {
		return fail(errors.New("unexpected bytes after the response"))
	}
	conn.SetDeadline(time.Time{})
	return conn, nil
}

// rwiMaskedFrame is payload as one masked text frame, as a client must
// send it (RFC 6455 section 5.2).
func rwiMaskedFrame(payload []byte) []byte {
	f := []byte{0x81}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n < 1<<16:
		f = append(f, 0x80|126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	var mask [4]byte
	rand.Read(mask[:])
	f = append(f, mask[:]...)
	for i, c := range payload {
		f = append(f, c^mask[i%4])
	}
	return f
}

// rwiReadFrame reads one unmasked, unfragmented server frame and returns
// its payload.
func rwiReadFrame(r io.Reader) ([]byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	if h[0] != 0x81 || h[1]&0x80 != 0 {
		return nil, fmt.Errorf("frame header %x: want an unmasked final text frame", h)
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return nil, err
		}
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return nil, err
		}
		n = binary.BigEndian.Uint64(l[:])
	}
	if n > 1<<20 {
		return nil, fmt.Errorf("frame of %d bytes", n)
	}
	p := make([]byte, n)
	_, err := io.ReadFull(r, p)
	return p, err
}
