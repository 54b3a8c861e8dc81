package sip

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// floodLog is a log destination that counts lines and keeps them.
type floodLog struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines int
}

func (l *floodLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines += bytes.Count(p, []byte("\n"))
	return l.buf.Write(p)
}

func (l *floodLog) snapshot() (string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String(), l.lines
}

// floodKinds are the requests of the flood, sent in turn: what anybody
// who can reach the port can send, as fast as they like.
var floodKinds = []string{
	"garbage",              // not SIP at all
	"no via",               // parses, but no transaction can be made of it
	"unknown method",       // FOO: 501
	"unserved method",      // SUBSCRIBE: 405 with Allow
	"register no auth",     // 401 challenge
	"invite no auth",       // 407 challenge
	"answer too large",     // FOO with a Call-ID so long the 501 does not fit a datagram
	"register wrong auth",  // from its own address: counted by the guard, banned, then silence
	"register no auth tcp", // over TCP: the same 401, for the TCP path
}

// floodRequest builds request i of a kind. local is the sender's address,
// written in Via so that answers come back to it.
func floodRequest(kind string, i int, local, pbx string) []byte {
	branch := fmt.Sprintf("z9hG4bK-flood-%d", i)
	callID := fmt.Sprintf("flood-%d@test", i)
	transport := "UDP"
	method, extra := "", ""
	switch kind {
	case "garbage":
		return []byte(fmt.Sprintf("\x16\x03\x01 not sip %d \x00\xff{}\r\n\r\n", i))
	case "no via":
		return []byte(fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nFrom: <sip:x@test>;tag=%d\r\nTo: <sip:y@test>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", pbx, i, callID))
	case "unknown method":
		method = "FOO"
	case "unserved method":
		method = "SUBSCRIBE"
		extra = "Event: presence\r\n"
	case "register no auth", "register no auth tcp":
		method = "REGISTER"
		extra = "Contact: <sip:1001@" + local + ">\r\nExpires: 60\r\n"
		if kind == "register no auth tcp" {
			transport = "TCP"
		}
	case "register wrong auth":
		method = "REGISTER"
		extra = fmt.Sprintf("Contact: <sip:1001@%s>\r\nAuthorization: Digest username=\"1001\", realm=\"pbx.test\", nonce=\"n%d\", uri=\"sip:%s\", response=\"00000000000000000000000000000000\", algorithm=MD5\r\n", local, i, pbx)
	case "invite no auth":
		method = "INVITE"
		extra = "Contact: <sip:1001@" + local + ">\r\n"
	case "answer too large":
		method = "FOO"
		callID = strings.Repeat("x", 1400) + callID
	default:
		panic(kind)
	}
	return []byte(fmt.Sprintf("%s sip:1001@%s SIP/2.0\r\nVia: SIP/2.0/%s %s;branch=%s;rport\r\nMax-Forwards: 70\r\nFrom: <sip:1001@pbx.test>;tag=f%d\r\nTo: <sip:1001@pbx.test>\r\nCall-ID: %s\r\nCSeq: 1 %s\r\n%sContent-Length: 0\r\n\r\n",
		method, pbx, transport, local, branch, i, callID, method, extra))
}

// A flood of malformed, unknown-method and unauthenticated requests is
// answered without the PBX writing a line per request, without it keeping
// a transaction per request, and without it losing its legitimate users:
// a phone still registers during and after it.
func TestFloodBoundedLogsAndMemory(t *testing.T) {
	const total = 20000
	logs := &floodLog{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))

	clock := newLocTestClock()
	digest := NewDigest("pbx.test", time.Minute, WithDigestClock(clock.Now))
	guard := NewGuard(5, time.Minute, 10*time.Minute, nil, WithGuardClock(clock.Now), WithGuardLogger(log))
	stack, err := NewStack(StackOptions{UDP: "127.0.0.1:0", TCP: "127.0.0.1:0", Logger: log, ReadFilter: guard.ReadFilter()})
	if err != nil {
		t.Fatal(err)
	}
	reg := NewRegistrar(RegistrarOptions{Digest: digest, Guard: guard, Lookup: regTestLookup, Logger: log, Clock: clock.Now})
	stack.Server.OnRegister(reg.HandleRegister)
	// INVITE as the engine should answer a caller who has not
	// authenticated: a stateless 407.
	stack.Server.OnInvite(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		if _, res, _ := digest.Authenticate(req, true, regTestLookup); res != nil {
			RespondStateless(tx, res)
		}
	})
	if err := stack.Listen(context.Background()); err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			stack.Close()
		}
	})
	udp, _ := stack.Addr("UDP")
	tcp, _ := stack.Addr("TCP")
	pbx := udp.String()

	// Senders: the bulk from 127.0.0.2, wrong passwords from 127.0.0.3
	// (which the guard bans), TCP from 127.0.0.2.
	bulk, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer bulk.Close()
	wrong, err := net.ListenPacket("udp", "127.0.0.3:0")
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	tcpConn, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).Dial("tcp", tcp.String())
	if err != nil {
		t.Fatal(err)
	}
	defer tcpConn.Close()

	// Count what comes back to the bulk sender, by status. Each answer
	// returns a credit: the bulk sender keeps at most floodWindow requests
	// unanswered, so the flood runs as fast as the PBX answers rather than
	// as fast as the kernel drops.
	const floodWindow = 256
	credits := make(chan struct{}, floodWindow)
	answers := map[int]int{}
	var answersMu sync.Mutex
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		buf := make([]byte, 65536)
		for {
			n, _, err := bulk.ReadFrom(buf)
			if err != nil {
				return
			}
			var code int
			if _, err := fmt.Sscanf(string(buf[:n]), "SIP/2.0 %d", &code); err == nil {
				answersMu.Lock()
				answers[code]++
				answersMu.Unlock()
				select {
				case <-credits:
				default:
				}
			}
		}
	}()
	// take waits for a credit; if none comes back for a while the
	// requests outstanding were dropped, and all credits are returned.
	stalled := time.NewTimer(time.Hour)
	take := func() {
		select {
		case credits <- struct{}{}:
			return
		default:
		}
		stalled.Reset(100 * time.Millisecond)
		select {
		case credits <- struct{}{}:
		case <-stalled.C:
			for len(credits) > 0 {
				<-credits
			}
			credits <- struct{}{}
		}
		stalled.Stop()
	}

	tcpAnswers := make(chan int, 1)
	go func() {
		n := 0
		buf := make([]byte, 65536)
		for {
			m, err := tcpConn.Read(buf)
			n += bytes.Count(buf[:m], []byte("SIP/2.0 401"))
			if err != nil {
				tcpAnswers <- n
				return
			}
		}
	}()

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	goroutinesBefore := runtime.NumGoroutine()

	// A phone registers while the flood runs.
	phone := newRegTestPhone(t, &regTestPBX{udp: pbx}, "127.0.0.1", "1001", "pw1001", "UDP")
	phoneContact := phone.contact("")
	phoneResult := make(chan error, 1)
	floodHalf := make(chan struct{})
	go func() {
		<-floodHalf
		res, err := phone.tryRegister([]string{phoneContact}, 60)
		if err == nil && res.StatusCode != 200 {
			err = fmt.Errorf("status %d", res.StatusCode)
		}
		phoneResult <- err
	}()

	start := time.Now()
	bulkAddr := bulk.LocalAddr().String()
	wrongAddr := wrong.LocalAddr().String()
	dst := net.UDPAddrFromAddrPort(udp)
	for i := range total {
		kind := floodKinds[i%len(floodKinds)]
		switch kind {
		case "register wrong auth":
			wrong.WriteTo(floodRequest(kind, i, wrongAddr, pbx), dst)
		case "register no auth tcp":
			tcpConn.Write(floodRequest(kind, i, tcpConn.LocalAddr().String(), pbx))
		case "garbage", "answer too large":
			bulk.WriteTo(floodRequest(kind, i, bulkAddr, pbx), dst)
		default:
			take()
			bulk.WriteTo(floodRequest(kind, i, bulkAddr, pbx), dst)
		}
		if i == total/2 {
			close(floodHalf)
		}
	}
	sent := time.Since(start)

	if err := <-phoneResult; err != nil {
		t.Fatalf("a phone could not register during the flood: %v", err)
	}
	// And after it.
	if res, err := phone.tryRegister([]string{phoneContact}, 60); err != nil || res.StatusCode != 200 {
		t.Fatalf("a phone could not register after the flood: %v %v", res, err)
	}
	if !guard.Banned(netip.MustParseAddr("127.0.0.3")) {
		t.Error("the source of wrong passwords was not banned")
	}

	// Every request was handled (or dropped by the kernel) once the
	// goroutines sipgo started for them are gone; then nothing of them
	// may stay in memory: no transactions kept for 32 s.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutinesBefore+10 && time.Now().Before(deadline) {
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	goroutinesAfter := runtime.NumGoroutine()

	stack.Close() // writes the summaries of suppressed lines
	closed = true
	bulk.Close()
	<-readerDone
	tcpConn.Close()
	answers[-401] = <-tcpAnswers // 401s over TCP

	text, lines := logs.snapshot()
	answersMu.Lock()
	defer answersMu.Unlock()
	if testing.Verbose() {
		t.Logf("log:\n%s", text)
	}
	t.Logf("%d requests sent in %v; answers to the bulk sender by status: %v; %d log lines; heap %+d KB; goroutines %d -> %d",
		total, sent.Round(time.Millisecond), answers, lines, growth/1024, goroutinesBefore, goroutinesAfter)

	// Each kind of line a sender can cause: at most DefaultLogBurst, then
	// a summary. A dozen kinds at most.
	if lines > 100 {
		t.Errorf("%d log lines for %d requests; want at most 100:\n%s", lines, total, text)
	}
	if !strings.Contains(text, "suppressed similar lines") {
		t.Errorf("no summary of suppressed lines:\n%s", text)
	}
	for _, bad := range []string{"level=ERROR", "level=WARN msg=\"SIP request handler not found\"", "405 Method Not Allowed' failed"} {
		if strings.Contains(text, bad) {
			t.Errorf("log has %q:\n%s", bad, text)
		}
	}
	for _, code := range []int{400, 401, 405, 407, 501} {
		if answers[code] == 0 {
			t.Errorf("no %d answered to the flood (answers %v)", code, answers)
		}
	}
	// A challenge is sent once per INVITE: a 407 kept in a transaction
	// would be sent again every 0.5, 1, 2, 4 s to whatever source the
	// request claimed.
	if invites := total / len(floodKinds); answers[407] > invites+1 {
		t.Errorf("%d answers 407 to %d INVITEs: challenges retransmitted", answers[407], invites)
	}
	if growth > 8<<20 {
		t.Errorf("heap grew by %d MB and stayed: transactions or state kept per request", growth>>20)
	}
	if goroutinesAfter > goroutinesBefore+10 {
		t.Errorf("%d goroutines before the flood, %d after", goroutinesBefore, goroutinesAfter)
	}
}
