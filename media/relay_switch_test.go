package media

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// tickSignal is a clock ticker that tells the test each frame the clock
// runs, so a test can wait for the clock instead of sleeping.
type tickSignal chan struct{}

func (s tickSignal) tick(time.Time) {
	select {
	case s <- struct{}{}:
	default:
	}
}

// talkerPayload marks what phone A says, so the far end of b tells relayed
// packets from generated ones.
var talkerPayload = bytes.Repeat([]byte{0x11}, FrameSamples)

// A hold, a prompt, a conference or a key press takes b's outgoing stream
// away from the relay for a while and gives it back. The phone on b sees
// one stream throughout, as from a phone that held and resumed on its
// own: one SSRC, sequence numbers that go up by exactly one per packet
// sent (a phone counts any skip as loss), the marker bit on the first
// packet after each switch, and the timestamp moved on by the time that
// passed. Phone A goes on talking meanwhile, and what it says while not
// relayed must not show up as a gap.
func TestStreamContinuousAcrossSwitches(t *testing.T) {
	const generated = 8 // frames b is sent by something other than the relay
	const (
		gapIn  = 100 * time.Millisecond // between the last relayed packet and the switch away
		gapOut = 60 * time.Millisecond  // between the switch back and phone A's next packet
	)
	// What feeds b meanwhile; start returns how to stop it.
	feeds := []struct {
		name   string
		unbrid bool // the switch unbridges, as hold and the mixer do
		frames int  // packets b is sent meanwhile
		start  func(t *testing.T, e *Engine, b *Endpoint) (stop func())
		// Timestamp jumps, in samples, at the switch away and back.
		in, out uint32
	}{
		{"nothing: the held side hears silence", true, 0,
			func(*testing.T, *Engine, *Endpoint) func() { return func() {} },
			0, uint32((gapIn + gapOut + FrameDuration) / time.Millisecond * 8)},
		{"hold music", true, generated,
			func(_ *testing.T, e *Engine, b *Endpoint) func() {
				m := e.NewMusic("test", toneClip(600, 50))
				m.Listen(b)
				return func() { m.Unlisten(b); m.Close() }
			},
			uint32(gapIn / time.Millisecond * 8), uint32((gapOut + FrameDuration) / time.Millisecond * 8)},
		{"a prompt", true, generated,
			func(_ *testing.T, e *Engine, b *Endpoint) func() {
				p := e.Play(b, NewPlayer(true, toneClip(700, 5)), nil)
				return p.Stop
			},
			uint32(gapIn / time.Millisecond * 8), uint32((gapOut + FrameDuration) / time.Millisecond * 8)},
		{"a mixer", true, generated,
			func(_ *testing.T, e *Engine, b *Endpoint) func() {
				m := e.NewMixer()
				mem := m.AddEndpoint(b)
				return func() { m.Remove(mem); m.Close() }
			},
			uint32(gapIn / time.Millisecond * 8), uint32((gapOut + FrameDuration) / time.Millisecond * 8)},
		{"a key press", false, 5, // three updates and two more ends
			func(t *testing.T, e *Engine, b *Endpoint) func() {
				ticks := make(tickSignal, 1)
				e.clock.add(ticks)
				if err := b.SendDigit(Digit{Key: '4', Duration: MinSendDuration}); err != nil {
					t.Fatal(err)
				}
				return func() {
					for b.SendingDigit() {
						<-ticks
					}
					e.clock.remove(ticks)
				}
			},
			// The press's packets share its first timestamp; the stream
			// goes on after the whole press (60 ms, three frames).
			uint32(gapIn / time.Millisecond * 8), 480 - FrameSamples + uint32((gapOut+FrameDuration)/time.Millisecond*8)},
	}
	for _, tt := range feeds {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			e := newTestEngine(t, Config{Now: clock.Now})
			a, b, phoneA, phoneB := bridged(t, e, PCMU, 101, PCMU, 101)
			var seq uint16 = 30000
			var ts uint32 = 1 << 20
			say := func() {
				phoneA.send(a, rtpPacket(0, 0xa, seq, ts, talkerPayload))
				seq++
				ts += FrameSamples
			}
			var heard []rtp.Packet
			for range 3 {
				clock.Advance(FrameDuration)
				say()
				heard = append(heard, phoneB.recv())
			}

			// Switch away. Phone A talks on; while unbridged its
			// packets go to a's handler, which says when each is in.
			var inA chan struct{}
			if tt.unbrid {
				Unbridge(a, b)
				inA = make(chan struct{}, generated)
				a.SetHandler(func(*rtp.Header, []byte) { inA <- struct{}{} })
			}
			clock.Advance(gapIn)
			stop := tt.start(t, e, b)
			if tt.unbrid {
				for range generated {
					say()
					<-inA
				}
			}
			for range tt.frames {
				heard = append(heard, phoneB.recv())
			}
			stop()

			// Switch back.
			clock.Advance(gapOut)
			if tt.unbrid {
				a.SetHandler(nil)
				if err := Bridge(a, b); err != nil {
					t.Fatal(err)
				}
			}
			for relayed := 0; relayed < 3; {
				clock.Advance(FrameDuration)
				say()
				for {
					p := phoneB.recv()
					heard = append(heard, p)
					if bytes.Equal(p.Payload, talkerPayload) {
						relayed++
						break
					}
				}
			}
			checkOneStream(t, heard, b.SSRC(), tt.in, tt.out)
		})
	}
}

// checkOneStream asserts that heard is relayed packets, then generated
// ones (none for a plain gap), then relayed ones again, all one stream
// with consecutive sequence numbers, and that the timestamp jumps by in
// and out at the two switches.
func checkOneStream(t *testing.T, heard []rtp.Packet, ssrc uint32, in, out uint32) {
	t.Helper()
	var switches []int
	for i, p := range heard {
		if p.SSRC != ssrc {
			t.Fatalf("packet %d: ssrc %#x, want %#x", i, p.SSRC, ssrc)
		}
		if i == 0 {
			continue
		}
		prev := heard[i-1]
		if p.SequenceNumber != prev.SequenceNumber+1 {
			t.Fatalf("packet %d: seq %d after %d: skipped %d", i, p.SequenceNumber, prev.SequenceNumber,
				p.SequenceNumber-prev.SequenceNumber-1)
		}
		if bytes.Equal(p.Payload, talkerPayload) != bytes.Equal(prev.Payload, talkerPayload) {
			switches = append(switches, i)
			if !p.Marker {
				t.Errorf("packet %d: no marker bit on the first packet after a switch", i)
			}
		}
	}
	want := []uint32{in, out}
	if in == 0 { // nothing generated: one gap in the relayed stream
		want = []uint32{out}
		for i := 1; i < len(heard); i++ {
			if heard[i].Marker {
				switches = append(switches, i)
			}
		}
	}
	if len(switches) != len(want) {
		t.Fatalf("%d switches at %v, want %d", len(switches), switches, len(want))
	}
	for k, i := range switches {
		if got := heard[i].Timestamp - heard[i-1].Timestamp; got != want[k] {
			t.Errorf("switch %d (packet %d): timestamp moved %d, want %d", k, i, got, want[k])
		}
	}
}

// Packets the relay does not pass on, because the far end has no address
// for a while, negotiated no telephone-events, or could not be written
// to, leave no gap in what it is sent: the next packet it is sent is
// numbered one after the last.
func TestRelayDropsLeaveNoGap(t *testing.T) {
	e := newTestEngine(t, Config{})
	a, b, phoneA, phoneB := bridged(t, e, PCMU, 101, PCMU, 0)
	pressed := make(chan Digit, 1)
	a.OnDigit(func(d Digit, _ DigitSource) { pressed <- d })
	var seq uint16
	var ts uint32
	say := func(pt uint8, payload []byte) {
		seq++
		ts += FrameSamples
		phoneA.send(a, rtpPacket(pt, 7, seq, ts, payload))
	}
	event := make([]byte, TelephoneEventLen)
	TelephoneEvent{Event: 1, End: true, Volume: 10, Duration: 160}.MarshalTo(event)

	say(0, talkerPayload)
	last := phoneB.recv()
	steps := []struct {
		name     string
		withhold func()
		audio    int // audio packets withheld, before the press
	}{
		{"no address", func() { b.SetRemote(netip.AddrPort{}) }, 4},
		{"events toward a side without them", func() {}, 0},
		{"failed writes", func() { b.SetRemote(netip.MustParseAddrPort("[::1]:9")) }, 4}, // not from an IPv4 socket
	}
	for _, st := range steps {
		st.withhold()
		for range st.audio {
			say(0, talkerPayload)
		}
		// A press, its end packet sent three times: b negotiated no
		// events, so they are dropped too. Its report says a's reader
		// is past them all.
		say(101, event)
		for range 2 {
			seq++
			phoneA.send(a, rtpPacket(101, 7, seq, ts, event))
		}
		<-pressed
		b.SetRemote(phoneB.addr())
		say(0, talkerPayload)
		got := phoneB.recv()
		if got.SSRC != last.SSRC || got.SequenceNumber != last.SequenceNumber+1 {
			t.Fatalf("%s: ssrc %#x seq +%d; want ssrc %#x seq +1",
				st.name, got.SSRC, got.SequenceNumber-last.SequenceNumber, last.SSRC)
		}
		if !got.Marker {
			t.Errorf("%s: no marker bit on the first packet after the drops", st.name)
		}
		last = got
	}
}

// A generated stream that pauses, a prompt and then hold music a second
// later with nothing in between, resumes on the next sequence number with
// its timestamp moved on by the pause.
func TestGeneratedStreamAfterAPause(t *testing.T) {
	clock := newFakeClock()
	e := newTestEngine(t, Config{Now: clock.Now})
	ep := newTestEndpoint(t, e, PCMU, 0)
	phone := newFarEnd(t)
	ep.SetRemote(phone.addr())
	p := e.Play(ep, NewPlayer(false, toneClip(700, 3)), nil)
	var heard []rtp.Packet
	for range 3 {
		heard = append(heard, phone.recv())
	}
	<-p.Done()
	clock.Advance(time.Second)
	m := e.NewMusic("test", toneClip(600, 50))
	defer m.Close()
	m.Listen(ep)
	defer m.Unlisten(ep)
	heard = append(heard, phone.recv(), phone.recv())
	for i := 1; i < len(heard); i++ {
		got, prev := heard[i], heard[i-1]
		wantTs := uint32(FrameSamples)
		if i == 3 {
			wantTs = 8000 // the pause, in samples
		}
		if got.SSRC != prev.SSRC || got.SequenceNumber != prev.SequenceNumber+1 ||
			got.Timestamp-prev.Timestamp != wantTs || got.Marker != (i == 3) {
			t.Fatalf("packet %d: ssrc %#x seq +%d ts +%d marker %v; want the same ssrc, seq +1, ts +%d, marker %v",
				i, got.SSRC, got.SequenceNumber-prev.SequenceNumber, got.Timestamp-prev.Timestamp, got.Marker, wantTs, i == 3)
		}
	}
}
