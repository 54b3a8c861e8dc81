package sip

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// statelessTestStack is a Stack on loopback UDP with a REGISTER handler
// and those setup adds (before it listens: sipgo's handler table is not
// safe to change while serving), logging at debug level into sink.
func statelessTestStack(t *testing.T, sink *logSink, setup func(*Stack)) string {
	t.Helper()
	stack, err := NewStack(StackOptions{UDP: "127.0.0.1:0", Logger: textLogger(sink, slog.LevelDebug)})
	if err != nil {
		t.Fatal(err)
	}
	stack.Server.OnRegister(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		RespondStateless(tx, sipmsg.NewResponseFromRequest(req, 401, "Unauthorized", nil))
	})
	if setup != nil {
		setup(stack)
	}
	if err := stack.Listen(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stack.Close() })
	a, _ := stack.Addr("UDP")
	return a.String()
}

// statelessTestPeer is a bare UDP socket that sends raw requests and reads
// raw answers.
type statelessTestPeer struct {
	t    *testing.T
	conn net.PacketConn
	dst  net.Addr
}

func newStatelessTestPeer(t *testing.T, pbx string) *statelessTestPeer {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	dst, _ := net.ResolveUDPAddr("udp", pbx)
	return &statelessTestPeer{t: t, conn: c, dst: dst}
}

func (p *statelessTestPeer) send(method string, i int, extra string) {
	p.t.Helper()
	msg := fmt.Sprintf("%s sip:1001@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-st-%d\r\nFrom: <sip:a@test>;tag=%d\r\nTo: <sip:1001@test>\r\nCall-ID: st-%d%s\r\nCSeq: 1 %s\r\nContent-Length: 0\r\n\r\n",
		method, p.dst, p.conn.LocalAddr(), i, i, i, extra, method)
	if _, err := p.conn.WriteTo([]byte(msg), p.dst); err != nil {
		p.t.Fatal(err)
	}
}

// answer reads the next answer; the deadline only bounds a broken test.
func (p *statelessTestPeer) answer() *sipmsg.Response {
	p.t.Helper()
	buf := make([]byte, 65536)
	p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := p.conn.ReadFrom(buf)
	if err != nil {
		p.t.Fatalf("no answer: %v", err)
	}
	msg, err := sipmsg.ParseMessage(buf[:n])
	if err != nil {
		p.t.Fatalf("answer does not parse: %v\n%s", err, buf[:n])
	}
	res, ok := msg.(*sipmsg.Response)
	if !ok {
		p.t.Fatalf("got a request:\n%s", buf[:n])
	}
	return res
}

// A method the PBX knows but serves no handler for gets 405 with Allow; a
// method it does not know gets 501; an ACK gets nothing. Each is a debug
// line, not sipgo's warning.
func TestNoRouteAnswers(t *testing.T) {
	sink := newLogSink("")
	pbx := statelessTestStack(t, sink, func(s *Stack) {
		s.Server.OnOptions(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {})
	})
	peer := newStatelessTestPeer(t, pbx)

	tests := []struct {
		method string
		want   int
		allow  string
	}{
		{"SUBSCRIBE", 405, "OPTIONS, REGISTER"},
		{"PUBLISH", 405, "OPTIONS, REGISTER"},
		{"FOO", 501, ""},
	}
	for i, tt := range tests {
		peer.send(tt.method, i, "")
		res := peer.answer()
		if res.StatusCode != tt.want {
			t.Errorf("%s: %d, want %d", tt.method, res.StatusCode, tt.want)
		}
		h := res.GetHeader("Allow")
		switch {
		case tt.allow == "" && h != nil:
			t.Errorf("%s: Allow %q on a %d", tt.method, h.Value(), res.StatusCode)
		case tt.allow != "" && (h == nil || h.Value() != tt.allow):
			t.Errorf("%s: Allow %v, want %q", tt.method, h, tt.allow)
		}
	}

	// An ACK matching nothing is never answered: after it, the next answer
	// is the 501 of the FOO sent after it.
	peer.send("ACK", 100, "")
	peer.send("FOO", 101, "")
	if res := peer.answer(); res.StatusCode != 501 || res.CallID().Value() != "st-101" {
		t.Fatalf("after an ACK: %d for %s, want 501 for st-101", res.StatusCode, res.CallID().Value())
	}

	if n := sink.count("level=WARN") + sink.count("level=ERROR"); n > 0 {
		t.Errorf("%d warnings or errors:\n%s", n, strings.Join(sink.all(), "\n"))
	}
	if n := sink.count(`msg="sip: method not served" method=FOO status=501`); n == 0 {
		t.Errorf("no debug line for FOO:\n%s", strings.Join(sink.all(), "\n"))
	}
	if n := sink.count("method=ACK"); n > 0 {
		t.Errorf("the ACK was handled as an unserved method:\n%s", strings.Join(sink.all(), "\n"))
	}
}

// An answer that the request made too large for a UDP datagram is not
// sent, and that is a debug line, not an error of the PBX.
func TestNoRouteAnswerTooLargeForUDP(t *testing.T) {
	sink := newLogSink("too_large_for_udp=true")
	pbx := statelessTestStack(t, sink, nil)
	peer := newStatelessTestPeer(t, pbx)
	peer.send("FOO", 1, strings.Repeat("x", 1400))
	line := sink.waitMarked(t)
	if !strings.Contains(line, "level=DEBUG") {
		t.Errorf("too large answer logged as %q", line)
	}
	// The stack still answers a normal request.
	peer.send("FOO", 2, "")
	if res := peer.answer(); res.StatusCode != 501 || res.CallID().Value() != "st-2" {
		t.Fatalf("%d for %s, want 501 for st-2", res.StatusCode, res.CallID().Value())
	}
	if n := sink.count("level=ERROR") + sink.count("level=WARN"); n > 0 {
		t.Errorf("%d warnings or errors:\n%s", n, strings.Join(sink.all(), "\n"))
	}
}

// A stateless challenge to an INVITE is sent once: no transaction is left
// to retransmit it while waiting for an ACK that a forged source never
// sends. A retransmitted INVITE is answered again.
func TestRespondStatelessInviteNotRetransmitted(t *testing.T) {
	sink := newLogSink("")
	handled := make(chan struct{}, 4)
	pbx := statelessTestStack(t, sink, func(s *Stack) {
		s.Server.OnInvite(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
			RespondStateless(tx, sipmsg.NewResponseFromRequest(req, 407, "Proxy Authentication Required", nil))
			handled <- struct{}{}
		})
	})
	peer := newStatelessTestPeer(t, pbx)
	peer.send("INVITE", 1, "")
	if res := peer.answer(); res.StatusCode != 407 {
		t.Fatalf("status %d", res.StatusCode)
	}
	<-handled
	// The INVITE again (same branch): a new transaction, a new answer.
	peer.send("INVITE", 1, "")
	if res := peer.answer(); res.StatusCode != 407 {
		t.Fatalf("status %d", res.StatusCode)
	}
	<-handled
	// Timer G would resend the 407 after T1 (500 ms); wait past it for an
	// answer to a request sent after that, which must be the next thing
	// to arrive.
	time.Sleep(sipmsg.T1 + 100*time.Millisecond)
	peer.send("FOO", 2, "")
	if res := peer.answer(); res.StatusCode != 501 {
		t.Fatalf("a %d arrived before the answer to FOO: the 407 was retransmitted", res.StatusCode)
	}
}
