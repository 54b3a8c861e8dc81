// Package testengine runs a call engine on loopback for the unit tests of
// the packages above dialog (queue, campaign, rwi, eccp). They cannot use
// testkit, which starts a whole node and so imports them.
package testengine

import (
	"context"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"pbx/dialog"
	"pbx/media"
	"pbx/sip"
)

// Start runs a call engine on loopback, with o's options and its own SIP
// stack (a free UDP port, listening) and media engine, and returns it
// with its SIP address. It stops when the test ends: its legs are hung
// up, it is drained unless far, and its sockets are closed.
//
// A far end (one that only answers the calls of another engine) is not
// drained: Drain's wait on the engine's goroutines races, under the race
// detector, with the goroutine dialog starts on an inbound leg's SIP
// session context, which joins that wait group from zero. That is
// dialog's to fix; the waiting leg of a test is outbound.
func Start(t testing.TB, o dialog.Options, far bool) (*dialog.Engine, netip.AddrPort) {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	stack, err := sip.NewStack(sip.StackOptions{UDP: "127.0.0.1:0", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	me, err := media.NewEngine(media.Config{BindIP: netip.MustParseAddr("127.0.0.1"), RTCPEvery: time.Hour, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if o.Node == "" {
		o.Node = "t"
	}
	o.Stack, o.Media, o.Logger, o.RingTimeout = stack, me, quiet, 10*time.Second
	o.Digest = sip.NewDigest("test", time.Minute)
	o.Guard = sip.NewGuard(100, time.Minute, time.Minute, nil)
	o.Lookup = func(string) (string, bool) { return "", false }
	e, err := dialog.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := stack.Listen(context.Background()); err != nil {
		t.Fatal(err)
	}
	addr, _ := stack.Addr("UDP")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, l := range e.Legs() {
			_ = e.Hangup(ctx, l.ID, dialog.CauseNormal)
		}
		if !far {
			e.Drain(ctx)
		}
		stack.Close()
		me.Close()
	})
	return e, addr
}
