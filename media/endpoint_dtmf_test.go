package media

import (
	"testing"
	"time"
)

// pair makes two endpoints of one engine facing each other, as two phones
// would, with the telephone-event payload type each sends with.
func pair(t *testing.T, e *Engine, c Codec, dtmfPT uint8) (a, b *Endpoint) {
	a, b = newTestEndpoint(t, e, c, dtmfPT), newTestEndpoint(t, e, c, dtmfPT)
	a.SetRemote(b.LocalAddr())
	b.SetRemote(a.LocalAddr())
	return a, b
}

func TestSendAndReceiveDigits(t *testing.T) {
	for _, tt := range []struct {
		name   string
		codec  Codec
		dtmfPT uint8
		src    DigitSource
	}{
		{"telephone-event", PCMU, 101, SourceRFC4733},
		{"in-band µ-law", PCMU, 0, SourceInband},
		{"in-band A-law", PCMA, 0, SourceInband},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEngine(t, Config{})
			a, b := pair(t, e, tt.codec, tt.dtmfPT)
			got := make(chan Digit, 16)
			b.OnDigit(func(d Digit, src DigitSource) {
				if src != tt.src {
					t.Errorf("source %v, want %v", src, tt.src)
				}
				got <- d
			})
			b.SetInbandDTMF(tt.dtmfPT == 0)
			keys := "159#*0D"
			for _, k := range keys {
				if err := a.SendDigit(Digit{Key: k, Duration: 100 * time.Millisecond}); err != nil {
					t.Fatal(err)
				}
			}
			if !a.SendingDigit() {
				t.Fatal("not sending")
			}
			var heard []rune
			for range keys {
				select {
				case d := <-got:
					heard = append(heard, d.Key)
					if d.Duration < 60*time.Millisecond || d.Duration > 200*time.Millisecond {
						t.Errorf("%c held %v, want about 100ms", d.Key, d.Duration)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("heard %q, want %q", string(heard), keys)
				}
			}
			if string(heard) != keys {
				t.Fatalf("heard %q, want %q", string(heard), keys)
			}
			if err := a.SendDigit(Digit{Key: 'x'}); err == nil {
				t.Fatal("sent a key that is not DTMF")
			}
		})
	}
}

// While a press is sent, the bridged stream pauses and the press's
// packets share one timestamp: the far end's receiver sees exactly one
// press, then audio resumes on the same SSRC.
func TestDigitIntoARelayedStream(t *testing.T) {
	e := newTestEngine(t, Config{})
	a, b, phoneA, phoneB := bridged(t, e, PCMU, 101, PCMU, 101)
	phoneA.talk(t, a, PCMU, 700)
	first := phoneB.recv()
	if err := b.SendDigit(Digit{Key: '7', Duration: 80 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	var eventTs []uint32
	var ends int
	for ends < 3 {
		p := phoneB.recv()
		if p.SSRC != first.SSRC {
			t.Fatalf("SSRC changed")
		}
		if p.PayloadType != 101 {
			if len(eventTs) > 0 {
				t.Fatalf("audio between event packets")
			}
			continue
		}
		ev, err := ParseTelephoneEvent(p.Payload)
		if err != nil || ev.Event != 7 {
			t.Fatalf("event %+v %v", ev, err)
		}
		eventTs = append(eventTs, p.Timestamp)
		if ev.End {
			ends++
		}
	}
	for _, ts := range eventTs {
		if ts != eventTs[0] {
			t.Fatalf("event timestamps %v differ", eventTs)
		}
	}
	// Audio comes back after the press.
	for {
		p := phoneB.recv()
		if p.PayloadType == PCMU.PayloadType {
			if int32(p.Timestamp-eventTs[0]) < 640 {
				t.Fatalf("audio resumed at ts %d, inside the 80 ms press at %d", p.Timestamp, eventTs[0])
			}
			break
		}
	}
}

// A re-INVITE that changes the telephone-event payload type, with the far
// end restarting its stream under a new SSRC, does not make the repeated
// end packets of a press already reported count as a second press.
func TestDigitStateSurvivesRenegotiation(t *testing.T) {
	e := newTestEngine(t, Config{})
	ep := newTestEndpoint(t, e, PCMU, 101)
	phone := newFarEnd(t)
	ep.SetRemote(phone.addr())
	got := make(chan Digit, 4)
	ep.OnDigit(func(d Digit, _ DigitSource) { got <- d })
	event := func(end bool, dur uint16) []byte {
		b := make([]byte, TelephoneEventLen)
		TelephoneEvent{Event: 5, End: end, Volume: 10, Duration: dur}.MarshalTo(b)
		return b
	}
	phone.send(ep, rtpPacket(101, 1, 1, 8000, event(false, 160)))
	phone.send(ep, rtpPacket(101, 1, 2, 8000, event(true, 800)))
	select {
	case d := <-got:
		if d.Key != '5' {
			t.Fatalf("key %c", d.Key)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("press not reported")
	}
	ep.SetCodec(PCMU, 96) // the re-INVITE
	phone.send(ep, rtpPacket(96, 2, 500, 8000, event(true, 800)))
	phone.send(ep, rtpPacket(96, 2, 501, 8000, event(true, 800)))
	// A new press after them is the next thing reported.
	phone.send(ep, rtpPacket(96, 2, 502, 9600, event(true, 480)))
	select {
	case d := <-got:
		if d.Key != '5' || d.Duration != 60*time.Millisecond {
			t.Fatalf("got %c for %v: the repeated end packets counted as a press", d.Key, d.Duration)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the new press was not reported")
	}
}

// In-band detection decodes a frame at a time, so a far end that sends
// 60 ms packets is heard as well as one that sends 20 ms packets.
func TestInbandDigitsInLongPackets(t *testing.T) {
	e := newTestEngine(t, Config{})
	ep := newTestEndpoint(t, e, PCMU, 0)
	phone := newFarEnd(t)
	ep.SetRemote(phone.addr())
	got := make(chan Digit, 4)
	ep.OnDigit(func(d Digit, _ DigitSource) { got <- d })
	ep.SetInbandDTMF(true)

	const keys = "73#"
	var pcm []int16
	for _, k := range keys {
		tone, _ := NewDTMFTone(k)
		press := make([]int16, 12*FrameSamples) // 240 ms of tone, then as much silence
		tone.Read(press[:len(press)/2])
		pcm = append(pcm, press...)
	}
	const perPacket = 3 * FrameSamples
	law := make([]byte, perPacket)
	for i := 0; i+perPacket <= len(pcm); i += perPacket {
		EncodeUlaw(law, pcm[i:i+perPacket])
		phone.send(ep, rtpPacket(0, 3, uint16(i/perPacket), uint32(i), law))
	}
	for _, want := range keys {
		select {
		case d := <-got:
			if d.Key != want {
				t.Fatalf("heard %c, want %c", d.Key, want)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("%c not heard", want)
		}
	}
}
