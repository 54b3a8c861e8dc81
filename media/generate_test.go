package media

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func toneClip(freq float64, frames int) []int16 {
	pcm := make([]int16, frames*FrameSamples)
	NewToneGenerator(freq, 8000).Read(pcm)
	return pcm
}

func TestPlaybackSendsAContinuousStream(t *testing.T) {
	e := newTestEngine(t, Config{})
	ep := newTestEndpoint(t, e, PCMA, 0)
	phone := newFarEnd(t)
	ep.SetRemote(phone.addr())
	finished := make(chan bool, 1)
	e.Play(ep, NewPlayer(false, toneClip(1000, 10)), func(f bool) { finished <- f })
	var pcm []int16
	var first uint16
	var firstTs uint32
	for i := range 10 {
		p := phone.recv()
		if i == 0 {
			first, firstTs = p.SequenceNumber, p.Timestamp
			if !p.Marker {
				t.Fatal("first packet has no marker bit")
			}
		}
		if p.SSRC != ep.SSRC() || p.PayloadType != PCMA.PayloadType ||
			p.SequenceNumber != first+uint16(i) || p.Timestamp != firstTs+uint32(i*FrameSamples) {
			t.Fatalf("packet %d: ssrc %x pt %d seq %d ts %d", i, p.SSRC, p.PayloadType, p.SequenceNumber, p.Timestamp)
		}
		pcm = append(pcm, decode(PCMA, p.Payload)...)
	}
	if got := DetectTones(pcm, []float64{1000}); !got[1000] {
		t.Fatal("the far end does not hear the prompt")
	}
	select {
	case f := <-finished:
		if !f {
			t.Fatal("reported stopped, want finished")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no end reported")
	}
}

func TestPlaybackStop(t *testing.T) {
	e := newTestEngine(t, Config{})
	ep := newTestEndpoint(t, e, PCMU, 0)
	phone := newFarEnd(t)
	ep.SetRemote(phone.addr())
	finished := make(chan bool, 1)
	p := e.Play(ep, NewPlayer(true, toneClip(500, 5)), func(f bool) { finished <- f })
	phone.recv()
	p.Stop()
	if <-finished {
		t.Fatal("a stopped playback reported finished")
	}
	sent := ep.Stats().PacketsOut
	<-time.After(3 * FrameDuration) // nothing to await: absence of packets is the point
	if got := ep.Stats().PacketsOut; got != sent {
		t.Fatalf("%d packets sent after Stop", got-sent)
	}
}

func TestMusicIsOneSharedStream(t *testing.T) {
	e := newTestEngine(t, Config{})
	music := toneClip(600, 50)
	for i := range music {
		music[i] = int16(int(music[i]) * (20 + i/FrameSamples) / 80) // every frame differs
	}
	m := e.NewMusic("default", music)
	defer m.Close()
	a, b := newTestEndpoint(t, e, PCMU, 0), newTestEndpoint(t, e, PCMU, 0)
	c := newTestEndpoint(t, e, PCMA, 0)
	pa, pb, pc := newFarEnd(t), newFarEnd(t), newFarEnd(t)
	a.SetRemote(pa.addr())
	b.SetRemote(pb.addr())
	c.SetRemote(pc.addr())
	m.Listen(a)
	first := pa.recv()
	var heardA [][]byte
	for range 5 {
		heardA = append(heardA, pa.recv().Payload)
	}
	m.Listen(b) // joins at the stream's current position
	m.Listen(c)
	gotB, gotC := pb.recv(), pc.recv()
	// b's first payload is one a heard too, within a frame or two of
	// joining (listeners are served in different phases of the frame).
	for range 3 {
		heardA = append(heardA, pa.recv().Payload)
	}
	found := false
	for _, p := range heardA[len(heardA)-5:] {
		found = found || bytes.Equal(p, gotB.Payload)
	}
	if !found {
		t.Fatal("the second listener does not hear the same stream as the first")
	}
	if bytes.Equal(gotB.Payload, first.Payload) {
		t.Fatal("the second listener started from the beginning, not the current position")
	}
	if got := DetectTones(decode(PCMA, gotC.Payload), []float64{600}); !got[600] {
		t.Fatal("the A-law listener does not hear the music")
	}
	if m.Listeners() != 3 {
		t.Fatalf("%d listeners, want 3", m.Listeners())
	}
	m.Unlisten(a)
	b.Close()
	// Ticks go by (c's packets are their pace) until b's phase drops it.
	for i := 0; i < 10 && m.Listeners() != 1; i++ {
		pc.recv()
	}
	if m.Listeners() != 1 {
		t.Fatalf("%d listeners after one left and one hung up, want 1", m.Listeners())
	}
}

// threeParties makes a mixer of three endpoints whose phones each send
// their own tone.
func threeParties(t *testing.T) (*Mixer, [3]*Member, [3]*farEnd) {
	e := newTestEngine(t, Config{})
	m := e.NewMixer()
	t.Cleanup(m.Close)
	var members [3]*Member
	var phones [3]*farEnd
	codecs := [3]Codec{PCMU, PCMA, PCMU}
	for i, f := range []float64{500, 900, 1300} {
		ep := newTestEndpoint(t, e, codecs[i], 0)
		phones[i] = newFarEnd(t)
		ep.SetRemote(phones[i].addr())
		members[i] = m.AddEndpoint(ep)
		phones[i].talk(t, ep, codecs[i], f)
	}
	return m, members, phones
}

func TestMixerEachHearsTheOthers(t *testing.T) {
	_, _, phones := threeParties(t)
	codecs := [3]Codec{PCMU, PCMA, PCMU}
	freqs := []float64{500, 900, 1300}
	for i, p := range phones {
		got := heardTones(p.hear(codecs[i], 30), freqs...)
		for j, f := range freqs {
			if got[f] != (i != j) {
				t.Errorf("party %d hears %v Hz: %v, want %v", i, f, got[f], i != j)
			}
		}
	}
}

func TestMixerMatrix(t *testing.T) {
	m, mem, phones := threeParties(t)
	// Whisper: party 2 is a supervisor heard by party 0 only.
	m.SetHears(mem[1], mem[2], false)
	codecs := [3]Codec{PCMU, PCMA, PCMU}
	freqs := []float64{500, 900, 1300}
	want := [3][3]bool{{false, true, true}, {true, false, false}, {true, true, false}}
	for i, p := range phones {
		got := heardTones(p.hear(codecs[i], 30), freqs...)
		for j, f := range freqs {
			if got[f] != want[i][j] {
				t.Errorf("whisper: party %d hears %v Hz: %v, want %v", i, f, got[f], want[i][j])
			}
		}
	}
	// Listen: nobody hears party 2; and party 0 is deaf.
	m.SetHears(mem[1], mem[2], true)
	m.SetMuted(mem[2], true)
	m.SetDeaf(mem[0], true)
	want = [3][3]bool{{false, false, false}, {true, false, false}, {true, true, false}}
	for i, p := range phones {
		got := heardTones(p.hear(codecs[i], 30), freqs...)
		for j, f := range freqs {
			if got[f] != want[i][j] {
				t.Errorf("listen: party %d hears %v Hz: %v, want %v", i, f, got[f], want[i][j])
			}
		}
	}
}

func TestMixerSourceAndTap(t *testing.T) {
	m, mem, phones := threeParties(t)
	m.Remove(mem[2])
	taps := make(chan [2][]int16, 100)
	tap := m.AddTap(mem[:1], mem[1:2], func(l, r []int16) {
		select {
		case taps <- [2][]int16{append([]int16(nil), l...), append([]int16(nil), r...)}:
		default:
		}
	})
	ended := make(chan struct{})
	m.AddSource(NewPlayer(false, toneClip(1700, 100)), func() { close(ended) })
	got := heardTones(phones[0].hear(PCMU, 30), 900, 1700)
	if !got[900] || !got[1700] {
		t.Fatalf("party 0 hears %v, want the other party and the prompt", got)
	}
	var left, right []int16
	for range 40 {
		f := <-taps
		left, right = append(left, f[0]...), append(right, f[1]...)
	}
	m.RemoveTap(tap)
	l, r := heardTones(left, 500, 900, 1700), heardTones(right, 500, 900, 1700)
	if !l[500] || l[900] || l[1700] || r[500] || !r[900] || r[1700] {
		t.Fatalf("tap left %v right %v: want 500 left and 900 right only", l, r)
	}
	select {
	case <-ended:
	case <-time.After(3 * time.Second):
		t.Fatal("source end not reported")
	}
	if m.Members() != 2 {
		t.Fatalf("%d members, want 2 once the prompt ended", m.Members())
	}
}

// TestRelayToMixerIsSeamless moves a relayed call into a mixer and back:
// the far end sees one SSRC, consecutive sequence numbers and no
// timestamp jump beyond the time that passed.
func TestRelayToMixerIsSeamless(t *testing.T) {
	e := newTestEngine(t, Config{})
	a, b, phoneA, phoneB := bridged(t, e, PCMU, 0, PCMU, 0)
	phoneA.talk(t, a, PCMU, 700)
	phoneB.talk(t, b, PCMU, 1100)
	check := func(stage string, prev, p rtpPacketView) {
		t.Helper()
		if p.ssrc != prev.ssrc {
			t.Fatalf("%s: SSRC changed %x → %x", stage, prev.ssrc, p.ssrc)
		}
		if p.seq != prev.seq+1 {
			t.Fatalf("%s: sequence %d after %d", stage, p.seq, prev.seq)
		}
		gap := time.Duration(p.ts-prev.ts) * time.Second / 8000
		elapsed := p.at.Sub(prev.at)
		if d := gap - elapsed; d > 30*time.Millisecond || d < -30*time.Millisecond {
			t.Fatalf("%s: timestamp moved %v while %v passed", stage, gap, elapsed)
		}
	}
	last := viewOf(phoneB.recv())
	for range 5 {
		last = viewOf(phoneB.recv())
	}
	Unbridge(a, b)
	m := e.NewMixer()
	defer m.Close()
	ma, mb := m.AddEndpoint(a), m.AddEndpoint(b)
	p := viewOf(phoneB.recv())
	check("relay to mixer", last, p)
	pcm := phoneB.hear(PCMU, 20)
	if got := heardTones(pcm, 700, 1100); !got[700] || got[1100] {
		t.Fatalf("in the mixer b hears %v, want a only", got)
	}
	last = viewOf(phoneB.recv())
	m.Remove(ma)
	m.Remove(mb)
	if err := Bridge(a, b); err != nil {
		t.Fatal(err)
	}
	check("mixer to relay", last, viewOf(phoneB.recv()))
}

type rtpPacketView struct {
	ssrc uint32
	seq  uint16
	ts   uint32
	at   time.Time
}

func viewOf(p rtp.Packet) rtpPacketView {
	return rtpPacketView{ssrc: p.SSRC, seq: p.SequenceNumber, ts: p.Timestamp, at: time.Now()}
}
