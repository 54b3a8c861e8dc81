package sip

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// listenerTestStack is a Stack serving TCP on loopback with the given
// connection limits; REGISTER gets 401.
func listenerTestStack(t *testing.T, maxConns, maxPerIP int) (*Stack, string) {
	t.Helper()
	sink := newLogSink("")
	stack, err := NewStack(StackOptions{TCP: "127.0.0.1:0", Logger: textLogger(sink, slog.LevelInfo),
		MaxTCPConns: maxConns, MaxTCPConnsPerIP: maxPerIP})
	if err != nil {
		t.Fatal(err)
	}
	stack.Server.OnRegister(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		RespondStateless(tx, sipmsg.NewResponseFromRequest(req, 401, "Unauthorized", nil))
	})
	if err := stack.Listen(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stack.Close() })
	a, _ := stack.Addr("TCP")
	return stack, a.String()
}

func listenerTestDial(t *testing.T, from, to string) net.Conn {
	t.Helper()
	c, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).Dial("tcp", to)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// listenerTestServed reports whether the PBX answers a REGISTER on c, or
// closed it.
func listenerTestServed(t *testing.T, c net.Conn, to string, i int) bool {
	t.Helper()
	c.Write(floodRequest("register no auth tcp", i, c.LocalAddr().String(), to))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	switch {
	case err == nil:
		if !strings.HasPrefix(string(buf[:n]), "SIP/2.0 401") {
			t.Fatalf("unexpected answer %q", buf[:n])
		}
		return true
	case errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET):
		return false
	default:
		t.Fatalf("read: %v", err)
		return false
	}
}

// waitOpen waits until the stack counts n TCP connections open (a
// connection is counted down when sipgo has seen its end, on its own
// goroutine).
func waitOpen(t *testing.T, s *Stack, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.OpenConns("TCP") != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d TCP connections open, want %d", s.OpenConns("TCP"), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Connections past the limit per source address are closed on accept;
// when one closes, its place is free again. Other sources are not
// affected.
func TestTCPConnectionsPerSource(t *testing.T) {
	stack, pbx := listenerTestStack(t, 100, 2)
	a1 := listenerTestDial(t, "127.0.0.1", pbx)
	a2 := listenerTestDial(t, "127.0.0.1", pbx)
	if !listenerTestServed(t, a1, pbx, 1) || !listenerTestServed(t, a2, pbx, 2) {
		t.Fatal("connections within the limit not served")
	}
	a3 := listenerTestDial(t, "127.0.0.1", pbx)
	if listenerTestServed(t, a3, pbx, 3) {
		t.Fatal("a third connection from one source was served")
	}
	b1 := listenerTestDial(t, "127.0.0.2", pbx)
	if !listenerTestServed(t, b1, pbx, 4) {
		t.Fatal("another source was refused")
	}
	waitOpen(t, stack, 3)

	a1.Close()
	waitOpen(t, stack, 2)
	a4 := listenerTestDial(t, "127.0.0.1", pbx)
	if !listenerTestServed(t, a4, pbx, 5) {
		t.Fatal("a place freed by a closed connection was not reused")
	}
}

// Past the total limit every new connection is closed on accept.
func TestTCPConnectionsTotal(t *testing.T) {
	stack, pbx := listenerTestStack(t, 2, 10)
	for i, ip := range []string{"127.0.0.1", "127.0.0.2"} {
		if !listenerTestServed(t, listenerTestDial(t, ip, pbx), pbx, i) {
			t.Fatalf("connection %d within the limit not served", i)
		}
	}
	if listenerTestServed(t, listenerTestDial(t, "127.0.0.3", pbx), pbx, 3) {
		t.Fatal("a connection past the total was served")
	}
	waitOpen(t, stack, 2)
}

// failingListener fails its first Accepts with an error, then accepts.
type failingListener struct {
	net.Listener
	errs []error
}

func (l *failingListener) Accept() (net.Conn, error) {
	if len(l.errs) > 0 {
		err := l.errs[0]
		l.errs = l.errs[1:]
		return nil, err
	}
	return l.Listener.Accept()
}

// Running out of descriptors does not end TCP service: the listener waits
// and accepts again. A closed listener ends it.
func TestTCPAcceptSurvivesEMFILE(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	aborted := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.ECONNABORTED)}
	ln := newConnLimitListener(&failingListener{Listener: inner, errs: []error{emfile, emfile, aborted}}, 10, 10, slog.New(slog.DiscardHandler))
	defer ln.Close()

	c := listenerTestDial(t, "127.0.0.1", inner.Addr().String())
	got, err := ln.Accept()
	if err != nil {
		t.Fatalf("Accept after EMFILE: %v", err)
	}
	if got.RemoteAddr().String() != c.LocalAddr().String() {
		t.Fatalf("accepted %v, dialled from %v", got.RemoteAddr(), c.LocalAddr())
	}
	if ln.open() != 1 {
		t.Fatalf("%d open", ln.open())
	}
	got.Close()
	got.Close() // gives its place back once
	if ln.open() != 0 {
		t.Fatalf("%d open after close", ln.open())
	}

	ln.Close()
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept on a closed listener: %v", err)
	}
}
