package media

import (
	"slices"
	"testing"
	"time"
)

// dtmfRxStep is one input to an EventReceiver: a packet, or a Tick if tick.
type dtmfRxStep struct {
	at     time.Duration // arrival, since the start of the test
	tick   bool
	ssrc   uint32
	ts     uint32
	marker bool
	code   uint8
	end    bool
	dur    uint16
	clock  uint32
}

// dtmfPkt is a telephone-event packet of stream 1 at 8 kHz.
func dtmfPkt(atMS int, ts uint32, code uint8, dur uint16, end bool) dtmfRxStep {
	return dtmfRxStep{at: time.Duration(atMS) * time.Millisecond, ssrc: 1, ts: ts, code: code, dur: dur, end: end, clock: 8000}
}

// dtmfTick is a Tick at atMS.
func dtmfTick(atMS int) dtmfRxStep {
	return dtmfRxStep{at: time.Duration(atMS) * time.Millisecond, tick: true}
}

// withSSRC is s from another stream.
func (s dtmfRxStep) withSSRC(ssrc uint32) dtmfRxStep { s.ssrc = ssrc; return s }

// withMarker is s with the marker bit.
func (s dtmfRxStep) withMarker() dtmfRxStep { s.marker = true; return s }

// withClock is s at another clock rate.
func (s dtmfRxStep) withClock(c uint32) dtmfRxStep { s.clock = c; return s }

// dtmfPress is the packets a typical sender makes for one press of code
// under ts starting at atMS: updates every 20 ms (the first marked) and
// three end packets, for a total of dur units at 8 kHz.
func dtmfPress(atMS int, ts uint32, code uint8, dur uint16) []dtmfRxStep {
	var s []dtmfRxStep
	at := atMS
	for d := uint16(160); d < dur; d += 160 {
		p := dtmfPkt(at, ts, code, d, false)
		if d == 160 {
			p = p.withMarker()
		}
		s = append(s, p)
		at += 20
	}
	for range 3 {
		s = append(s, dtmfPkt(at, ts, code, dur, true))
		at += 20
	}
	return s
}

// dtmfTicks are Ticks every 20 ms from fromMS up to toMS.
func dtmfTicks(fromMS, toMS int) []dtmfRxStep {
	var s []dtmfRxStep
	for at := fromMS; at <= toMS; at += 20 {
		s = append(s, dtmfTick(at))
	}
	return s
}

// dtmfSteps joins step lists.
func dtmfSteps(parts ...[]dtmfRxStep) []dtmfRxStep { return slices.Concat(parts...) }

// dtmfOne is a single step as a list.
func dtmfOne(s ...dtmfRxStep) []dtmfRxStep { return s }

// dtmfRunReceiver feeds steps to a new EventReceiver, in order.
func dtmfRunReceiver(in []dtmfRxStep) *dtmfLog {
	var r EventReceiver
	var l dtmfLog
	t0 := time.Unix(1700000000, 0)
	for _, s := range in {
		now := t0.Add(s.at)
		if s.tick {
			l.add(r.Tick(now))
			continue
		}
		ev := TelephoneEvent{Event: s.code, End: s.end, Volume: 10, Duration: s.dur}
		l.add(r.Packet(s.ssrc, s.ts, s.marker, ev, s.clock, now))
	}
	return &l
}

func TestEventReceiver(t *testing.T) {
	msd := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		name string
		in   []dtmfRxStep
		want string
		durs []time.Duration // of the ends, in order
	}{
		{
			name: "normal press",
			in:   dtmfPress(0, 1000, 5, 800),
			want: "+5 -5", durs: []time.Duration{msd(100)},
		},
		{
			name: "end packets repeated many times",
			in:   dtmfSteps(dtmfPress(0, 1000, 1, 480), dtmfOne(dtmfPkt(100, 1000, 1, 480, true), dtmfPkt(120, 1000, 1, 480, true))),
			want: "+1 -1", durs: []time.Duration{msd(60)},
		},
		{
			name: "late duplicate end seconds later",
			in:   dtmfSteps(dtmfPress(0, 1000, 11, 640), dtmfOne(dtmfPkt(2900, 1000, 11, 640, true))),
			want: "+# -#", durs: []time.Duration{msd(80)},
		},
		{
			name: "duplicate long after the dedupe window is a new press",
			in:   dtmfSteps(dtmfPress(0, 1000, 11, 640), dtmfOne(dtmfPkt(4000, 1000, 11, 640, true))),
			want: "+# -# +# -#", durs: []time.Duration{msd(80), msd(80)},
		},
		{
			name: "retransmitted end under a new SSRC and payload clock",
			in: dtmfSteps(dtmfPress(0, 1000, 2, 800),
				dtmfOne(dtmfPkt(150, 1000, 2, 800, true).withSSRC(99), dtmfPkt(700, 1000, 2, 800, true).withSSRC(99).withClock(8000))),
			want: "+2 -2", durs: []time.Duration{msd(100)},
		},
		{
			name: "SSRC change mid-press keeps the press",
			in: dtmfOne(dtmfPkt(0, 1000, 3, 160, false).withMarker(), dtmfPkt(20, 1000, 3, 320, false),
				dtmfPkt(40, 1000, 3, 480, false).withSSRC(7), dtmfPkt(60, 1000, 3, 640, true).withSSRC(7),
				dtmfPkt(80, 1000, 3, 640, true)),
			want: "+3 -3", durs: []time.Duration{msd(80)},
		},
		{
			name: "all end packets lost: Tick ends it after the timeout",
			in: dtmfSteps(dtmfOne(dtmfPkt(0, 1000, 7, 160, false), dtmfPkt(20, 1000, 7, 320, false), dtmfPkt(40, 1000, 7, 480, false)),
				dtmfTicks(60, 600)),
			want: "+7 -7", durs: []time.Duration{msd(60)},
		},
		{
			name: "an end packet after the timeout is a duplicate",
			in: dtmfSteps(dtmfOne(dtmfPkt(0, 1000, 7, 160, false), dtmfPkt(20, 1000, 7, 320, false)), dtmfTicks(40, 400),
				dtmfOne(dtmfPkt(420, 1000, 7, 400, true))),
			want: "+7 -7", durs: []time.Duration{msd(40)},
		},
		{
			name: "no Tick: the next packet ends a timed-out press",
			in:   dtmfOne(dtmfPkt(0, 1000, 7, 160, false), dtmfPkt(20, 1000, 7, 320, false), dtmfPkt(500, 1000, 7, 400, false)),
			want: "+7 -7", durs: []time.Duration{msd(40)},
		},
		{
			name: "first packets lost: the end alone is a whole press",
			in:   dtmfOne(dtmfPkt(100, 1000, 0, 960, true), dtmfPkt(120, 1000, 0, 960, true), dtmfPkt(140, 1000, 0, 960, true)),
			want: "+0 -0", durs: []time.Duration{msd(120)},
		},
		{
			name: "new timestamp ends a press whose ends were lost",
			in: dtmfSteps(dtmfOne(dtmfPkt(0, 1000, 4, 160, false), dtmfPkt(20, 1000, 4, 320, false)),
				dtmfPress(60, 2000, 4, 480)),
			want: "+4 -4 +4 -4", durs: []time.Duration{msd(40), msd(60)},
		},
		{
			name: "new event code under the same timestamp is a new press",
			in:   dtmfSteps(dtmfOne(dtmfPkt(0, 1000, 4, 160, false), dtmfPkt(20, 1000, 4, 320, false)), dtmfPress(40, 1000, 6, 480)),
			want: "+4 -4 +6 -6", durs: []time.Duration{msd(40), msd(60)},
		},
		{
			name: "two presses of one key",
			in:   dtmfSteps(dtmfPress(0, 1000, 9, 640), dtmfPress(300, 4000, 9, 480)),
			want: "+9 -9 +9 -9", durs: []time.Duration{msd(80), msd(60)},
		},
		{
			name: "reordered: an update after the end",
			in: dtmfOne(dtmfPkt(0, 1000, 8, 160, false), dtmfPkt(20, 1000, 8, 480, true), dtmfPkt(25, 1000, 8, 320, false),
				dtmfPkt(40, 1000, 8, 480, true)),
			want: "+8 -8", durs: []time.Duration{msd(60)},
		},
		{
			name: "non-DTMF events ignored",
			in: dtmfOne(dtmfPkt(0, 1000, 16, 160, false), dtmfPkt(20, 1000, 16, 320, true), dtmfPkt(40, 2000, 200, 320, true),
				dtmfPkt(60, 3000, 255, 0, false)),
			want: "",
		},
		{
			name: "non-DTMF event does not end a press",
			in:   dtmfSteps(dtmfOne(dtmfPkt(0, 1000, 12, 160, false), dtmfPkt(10, 5000, 16, 160, false)), dtmfPress(20, 1000, 12, 480)),
			want: "+A -A", durs: []time.Duration{msd(60)},
		},
		{
			name: "duration from the largest field, at the packet's clock",
			in: dtmfOne(dtmfPkt(0, 1000, 13, 320, false).withClock(16000), dtmfPkt(20, 1000, 13, 640, false).withClock(16000),
				dtmfPkt(40, 1000, 13, 960, true).withClock(16000)),
			want: "+B -B", durs: []time.Duration{msd(60)},
		},
		{
			name: "clock 0 taken as 8000",
			in:   dtmfOne(dtmfPkt(0, 1000, 14, 800, true).withClock(0)),
			want: "+C -C", durs: []time.Duration{msd(100)},
		},
		{
			name: "absurd duration capped at 10 s",
			in:   dtmfOne(dtmfPkt(0, 1000, 15, 65535, true).withClock(1000)),
			want: "+D -D", durs: []time.Duration{10 * time.Second},
		},
		{
			name: "timestamp wrap is just another timestamp",
			in:   dtmfSteps(dtmfPress(0, 0xffffff00, 10, 480), dtmfPress(200, 0x40, 10, 480)),
			want: "+* -* +* -*", durs: []time.Duration{msd(60), msd(60)},
		},
		{
			name: "a ring of many ended presses still dedupes the latest",
			in: dtmfSteps(dtmfPress(0, 100, 1, 480), dtmfPress(100, 200, 2, 480), dtmfPress(200, 300, 3, 480),
				dtmfPress(300, 400, 4, 480), dtmfOne(dtmfPkt(400, 400, 4, 480, true), dtmfPkt(410, 300, 3, 480, true),
					dtmfPkt(420, 100, 1, 480, true))),
			want: dtmfPresses("1234"), durs: []time.Duration{msd(60), msd(60), msd(60), msd(60)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := dtmfRunReceiver(tt.in)
			if got := l.String(); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			var durs []time.Duration
			for _, d := range l.ends {
				durs = append(durs, d.Duration)
			}
			if !slices.Equal(durs, tt.durs) {
				t.Errorf("durations %v, want %v", durs, tt.durs)
			}
		})
	}
}

// TestEventReceiverResultShape checks how one result carries several
// events: the end of a press whose end packets were lost rides with the
// next press's begin.
func TestEventReceiverResultShape(t *testing.T) {
	var r EventReceiver
	t0 := time.Unix(0, 0)
	type in struct {
		ts   uint32
		code uint8
		end  bool
		dur  uint16
		at   time.Duration
	}
	tests := []struct {
		name string
		in   in
		want EventResult
	}{
		{"begin", in{1000, 1, false, 160, 0}, EventResult{Begin: true, Digit: Digit{Key: '1'}}},
		{"update", in{1000, 1, false, 320, 20 * time.Millisecond}, EventResult{}},
		{"next press, end packet only", in{2000, 2, true, 480, 100 * time.Millisecond}, EventResult{
			PrevEnd: true, Prev: Digit{Key: '1', Duration: 40 * time.Millisecond},
			Begin: true, End: true, Digit: Digit{Key: '2', Duration: 60 * time.Millisecond},
		}},
		{"its duplicate", in{2000, 2, true, 480, 120 * time.Millisecond}, EventResult{}},
		{"the first press's late end", in{1000, 1, true, 400, 130 * time.Millisecond}, EventResult{}},
		{"third press", in{3000, 3, false, 160, 200 * time.Millisecond}, EventResult{Begin: true, Digit: Digit{Key: '3'}}},
		{"third press ends", in{3000, 3, true, 480, 240 * time.Millisecond}, EventResult{
			End: true, Digit: Digit{Key: '3', Duration: 60 * time.Millisecond},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := TelephoneEvent{Event: tt.in.code, End: tt.in.end, Duration: tt.in.dur}
			got := r.Packet(1, tt.in.ts, false, ev, 8000, t0.Add(tt.in.at))
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if got.Empty() != (tt.want == EventResult{}) {
				t.Errorf("Empty() = %v", got.Empty())
			}
		})
	}
}

func TestEventReceiverDoesNotAllocate(t *testing.T) {
	var r EventReceiver
	now := time.Unix(0, 0)
	ts := uint32(0)
	i := 0
	allocs := testing.AllocsPerRun(500, func() {
		now = now.Add(20 * time.Millisecond)
		ev := TelephoneEvent{Event: uint8(i % 16), Duration: uint16(160 * (i%5 + 1)), End: i%5 == 4}
		r.Packet(1, ts, i%5 == 0, ev, 8000, now)
		r.Tick(now)
		if i%5 == 4 {
			ts += 2000
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("Packet and Tick allocate %v times per call", allocs)
	}
}

func BenchmarkEventReceiver(b *testing.B) {
	var r EventReceiver
	now := time.Unix(0, 0)
	ts := uint32(0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		now = now.Add(20 * time.Millisecond)
		ev := TelephoneEvent{Event: uint8(i % 16), Duration: uint16(160 * (i%5 + 1)), End: i%5 == 4}
		r.Packet(1, ts, i%5 == 0, ev, 8000, now)
		if i%5 == 4 {
			ts += 2000
		}
		i++
	}
}
