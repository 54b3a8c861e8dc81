package media

import (
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// Symmetric RTP: the endpoint sends where packets of a negotiated payload
// type come from, follows a NAT rebinding, and ignores other traffic.
func TestEndpointLatchesOntoSource(t *testing.T) {
	e := newTestEngine(t, Config{})
	ep := newTestEndpoint(t, e, PCMU, 101)
	sdp, natted, rebound, other := newFarEnd(t), newFarEnd(t), newFarEnd(t), newFarEnd(t)
	arrived := make(chan struct{}, 1)
	ep.SetHandler(func(*rtp.Header, []byte) { arrived <- struct{}{} })
	ep.SetRemote(sdp.addr())

	steps := []struct {
		name string
		from *farEnd
		pt   uint8
		want *farEnd // where the endpoint sends afterwards
	}{
		{"before any packet, the SDP address", nil, 0, sdp},
		{"audio from behind NAT latches", natted, 0, natted},
		{"comfort noise from elsewhere does not", rebound, 13, natted},
		{"audio from the rebound port re-latches", rebound, 0, rebound},
		{"telephone-event latches too", other, 101, other},
	}
	for i, st := range steps {
		if st.from != nil {
			st.from.send(ep, rtpPacket(st.pt, 1, uint16(i), uint32(i*160), make([]byte, 4)))
			select {
			case <-arrived:
			case <-time.After(2 * time.Second):
				t.Fatalf("%s: packet never arrived", st.name)
			}
		}
		if got := ep.Remote(); got != st.want.addr() {
			t.Fatalf("%s: remote %s, want %s", st.name, got, st.want.addr())
		}
		mustWrite(t, ep, []byte{1})
		st.want.recv()
	}

	ep.SetRemote(sdp.addr())
	if got := ep.Remote(); got != other.addr() {
		t.Fatalf("the same SDP again undid the latch: remote %s", got)
	}
	ep.SetRemote(natted.addr())
	if got := ep.Remote(); got != natted.addr() {
		t.Fatalf("a new SDP address was not taken: remote %s", got)
	}
}

func TestWritePayloadWithoutRemote(t *testing.T) {
	e := newTestEngine(t, Config{})
	ep := newTestEndpoint(t, e, PCMU, 0)
	if err := ep.WritePayload(0, []byte{1}, 160, false); !errors.Is(err, ErrNoRemote) {
		t.Fatalf("got %v, want ErrNoRemote", err)
	}
	ep.SetRemote(newFarEnd(t).addr())
	if err := ep.WritePayload(0, make([]byte, maxDatagram), 160, false); err == nil {
		t.Fatal("an oversized payload was sent")
	}
	if err := ep.WritePayload(200, []byte{1}, 160, false); err == nil {
		t.Fatal("payload type 200 was sent")
	}
}

// The inactivity watch fires once, from housekeeping, when packets stop;
// traffic keeps it quiet; 0 disables it. A later watch with a longer
// timeout is the witness that the earlier ones had their chance to fire
// again.
func TestEndpointTimeout(t *testing.T) {
	e := newTestEngine(t, Config{})
	var onceFired, disabledFired atomic.Int32
	fired := make(chan string, 8)

	once := newTestEndpoint(t, e, PCMU, 0)
	once.SetTimeout(150*time.Millisecond, func() {
		onceFired.Add(1)
		fired <- "once"
	})
	disabled := newTestEndpoint(t, e, PCMU, 0)
	disabled.SetTimeout(100*time.Millisecond, func() { disabledFired.Add(1) })
	disabled.SetTimeout(0, nil)
	closes := newTestEndpoint(t, e, PCMU, 0)
	closes.SetTimeout(100*time.Millisecond, func() {
		closes.Close() // hanging up from the callback must not deadlock
		fired <- "closes"
	})

	live := newTestEndpoint(t, e, PCMU, 0)
	live.SetTimeout(300*time.Millisecond, func() { fired <- "live" })
	phone := newFarEnd(t)
	stopTraffic := time.After(600 * time.Millisecond)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	seen := map[string]bool{}
traffic:
	for i := 0; ; i++ {
		select {
		case <-tick.C:
			phone.send(live, rtpPacket(0, 3, uint16(i), uint32(i*160), make([]byte, 160)))
		case name := <-fired:
			if name == "live" {
				t.Fatal("timeout fired while packets flowed")
			}
			seen[name] = true
		case <-stopTraffic:
			break traffic
		}
	}
	for !seen["live"] {
		select {
		case name := <-fired:
			seen[name] = true
		case <-time.After(3 * time.Second):
			t.Fatalf("timeouts seen: %v, want once, closes and live", seen)
		}
	}
	if !seen["once"] || !seen["closes"] {
		t.Fatalf("timeouts seen: %v, want once, closes and live", seen)
	}
	if n := onceFired.Load(); n != 1 {
		t.Fatalf("callback ran %d times, want once", n)
	}
	if disabledFired.Load() != 0 {
		t.Fatal("a disabled timeout fired")
	}
}

// Totals count every endpoint, open or closed; Close stops every goroutine
// the engine started and refuses new endpoints.
func TestEngineTotalsAndClose(t *testing.T) {
	before := runtime.NumGoroutine()
	e, err := NewEngine(Config{BindIP: loopback, Logger: quietLogger(), RTCPEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	a, b, phoneA, phoneB := bridged(t, e, PCMU, 0, PCMU, 0)
	for i := range 3 {
		phoneA.send(a, rtpPacket(0, 1, uint16(i), uint32(i*160), make([]byte, 160)))
		phoneB.recv()
	}
	tot := e.Totals()
	want := Totals{PacketsIn: 3, PacketsOut: 3, BytesIn: 3 * 172, BytesOut: 3 * 172, Endpoints: 2}
	if tot != want {
		t.Fatalf("totals %+v, want %+v", tot, want)
	}
	b.Close()
	if tot := e.Totals(); tot.PacketsOut != 3 || tot.Endpoints != 1 {
		t.Fatalf("after closing one endpoint: %+v", tot)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if tot := e.Totals(); tot.PacketsIn != 3 || tot.Endpoints != 0 {
		t.Fatalf("after Close: %+v", tot)
	}
	if _, err := e.NewEndpoint(); err == nil {
		t.Fatal("NewEndpoint after Close succeeded")
	}
	// Close waited for the goroutines; give them the instant to unwind.
	for i := 0; runtime.NumGoroutine() > before; i++ {
		if i == 100 {
			t.Fatalf("%d goroutines left running, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(time.Millisecond)
	}
}

// A handler may close its own endpoint.
func TestCloseFromHandler(t *testing.T) {
	e := newTestEngine(t, Config{})
	ep := newTestEndpoint(t, e, PCMU, 0)
	done := make(chan error, 1)
	ep.SetHandler(func(*rtp.Header, []byte) { done <- ep.Close() })
	newFarEnd(t).send(ep, rtpPacket(0, 1, 1, 160, []byte{0}))
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close from the handler hung")
	}
}
