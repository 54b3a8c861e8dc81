package media

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// DigitSource tells how a key press reached the PBX.
type DigitSource uint8

// The forms a key press takes on the wire. SourceInfo is for the
// signalling layer, which reads SIP INFO; media sees the other two.
const (
	SourceRFC4733 DigitSource = iota + 1
	SourceInband
	SourceInfo
)

func (s DigitSource) String() string {
	switch s {
	case SourceRFC4733:
		return "rfc4733"
	case SourceInband:
		return "inband"
	case SourceInfo:
		return "info"
	}
	return "unknown"
}

// dtmfState is an endpoint's DTMF: what it has heard (telephone-events and,
// when asked, in-band tones) and what it is sending. The receive state is
// made by the first telephone-event, as most calls never press a key, and
// then lives as long as the endpoint, so a re-INVITE that changes the
// payload type or the far end's SSRC does not turn a repeated end packet
// into a second press.
type dtmfState struct {
	onDigit  atomic.Pointer[func(Digit, DigitSource)]
	inbandOn atomic.Bool
	busy     atomic.Bool // a press is being sent: generated audio pauses

	mu     sync.Mutex // the reader's and housekeeping's, around recv and inband
	recv   *EventReceiver
	inband *inbandState // made by the first SetInbandDTMF(true): most legs never need it

	smu    sync.Mutex
	queue  []Digit
	sender *digitSender
}

// inbandState is tone detection with its decode buffer, a frame long:
// longer packets are decoded a frame at a time.
type inbandState struct {
	det InbandDetector
	pcm [FrameSamples]int16
}

// OnDigit sets what is told of every key press the far end makes, once,
// when it ends, whether it came as telephone-events or (with
// SetInbandDTMF) as tones. It runs on the endpoint's reader or the
// engine's housekeeping goroutine and must not block. nil stops it.
func (ep *Endpoint) OnDigit(fn func(Digit, DigitSource)) {
	if fn == nil {
		ep.dtmf.onDigit.Store(nil)
		return
	}
	ep.dtmf.onDigit.Store(&fn)
}

// SetInbandDTMF turns on tone detection in what the far end sends, for a
// far end that negotiated no telephone-event. It costs a decode and eight
// Goertzel filters per packet, so it is off by default.
func (ep *Endpoint) SetInbandDTMF(on bool) {
	ep.dtmf.mu.Lock()
	switch {
	case ep.dtmf.inband != nil:
		ep.dtmf.inband.det.Reset()
	case on:
		ep.dtmf.inband = &inbandState{}
	}
	ep.dtmf.mu.Unlock()
	ep.dtmf.inbandOn.Store(on)
}

// report hands a receiver's result to OnDigit.
func (ep *Endpoint) report(res EventResult, src DigitSource) {
	fp := ep.dtmf.onDigit.Load()
	if fp == nil {
		return
	}
	if res.PrevEnd {
		(*fp)(res.Prev, src)
	}
	if res.End {
		(*fp)(res.Digit, src)
	}
}

// receiveEvent runs on the reader for every telephone-event packet.
func (ep *Endpoint) receiveEvent(h *rtpView, payload []byte, cs *codecState, now time.Time) {
	ev, err := ParseTelephoneEvent(payload)
	if err != nil {
		return
	}
	ep.dtmf.mu.Lock()
	if ep.dtmf.recv == nil {
		ep.dtmf.recv = new(EventReceiver)
	}
	res := ep.dtmf.recv.Packet(h.ssrc, h.ts, h.marker, ev, cs.clock, now)
	ep.dtmf.mu.Unlock()
	ep.report(res, SourceRFC4733)
}

// receiveInband runs on the reader for audio packets while in-band
// detection is on.
func (ep *Endpoint) receiveInband(payload []byte, cs *codecState) {
	for len(payload) > 0 {
		chunk := payload[:min(len(payload), FrameSamples)]
		payload = payload[len(chunk):]
		ep.dtmf.mu.Lock()
		var res EventResult
		if in := ep.dtmf.inband; in != nil {
			if n, ok := decodeFor(cs, in.pcm[:], chunk); ok {
				res = in.det.Frame(in.pcm[:n])
			}
		}
		ep.dtmf.mu.Unlock()
		ep.report(res, SourceInband)
	}
}

// tickDTMF ends, on the housekeeping goroutine, a press whose end packets
// were all lost.
func (ep *Endpoint) tickDTMF(now time.Time) {
	ep.dtmf.mu.Lock()
	var res EventResult
	if ep.dtmf.recv != nil {
		res = ep.dtmf.recv.Tick(now)
	}
	ep.dtmf.mu.Unlock()
	ep.report(res, SourceRFC4733)
}

var errNotAKey = errors.New("media: not a DTMF key")

// SendDigit sends a key press in the form the far end negotiated:
// telephone-events when it has a payload type for them, otherwise tones in
// the audio. Presses queue and go out one after another, paced by the
// engine's clock; while one is sent, relayed and generated audio toward
// this far end pauses, so the press is not garbled.
func (ep *Endpoint) SendDigit(d Digit) error {
	if !ValidKey(d.Key) {
		return fmt.Errorf("media: send %q to %s: %w", d.Key, ep.local, errNotAKey)
	}
	d.Duration = min(max(d.Duration, MinSendDuration), MaxSendDuration)
	s := &ep.dtmf
	s.smu.Lock()
	defer s.smu.Unlock()
	s.queue = append(s.queue, d)
	s.busy.Store(true)
	if s.sender == nil {
		s.sender = &digitSender{ep: ep}
		ep.e.clock.add(s.sender)
	}
	return nil
}

// SendingDigit reports whether a key press is going out now.
func (ep *Endpoint) SendingDigit() bool { return ep.dtmf.busy.Load() }

// digitSender sends an endpoint's queued presses on the clock, then leaves
// it.
type digitSender struct {
	ep     *Endpoint
	ended  bool // clock goroutine only
	inband bool
	ev     EventSender
	tone   DTMFTone
	frames int // in-band frames of tone left, then of silence
	gap    int
	first  bool
	buf    [FrameSamples]byte
	pcm    [FrameSamples]int16
}

// inbandGap is the silence after an in-band press, so two presses of one
// key are heard as two.
const inbandGap = 3

// next takes the next press off the queue; false when there is none, and
// then the sender has left the clock (or is leaving it).
func (s *digitSender) next() bool {
	st := &s.ep.dtmf
	st.smu.Lock()
	defer st.smu.Unlock()
	if len(st.queue) == 0 || s.ep.isClosed() {
		st.queue = st.queue[:0]
		st.sender = nil
		st.busy.Store(false)
		s.ended = true
		go s.ep.e.clock.remove(s)
		return false
	}
	d := st.queue[0]
	st.queue = append(st.queue[:0], st.queue[1:]...)
	cs := s.ep.codec.Load()
	s.inband = cs.dtmfPT == 0
	s.first = true
	if s.inband {
		s.tone.Reset(d.Key)
		s.frames = int((d.Duration + FrameDuration - 1) / FrameDuration)
		s.gap = inbandGap
	} else {
		s.ev.Reset(d, 10)
	}
	return true
}

func (s *digitSender) tick(time.Time) {
	if s.ended {
		return
	}
	if s.inband && s.frames == 0 && s.gap == 0 || !s.inband && s.ev.Done() {
		if !s.next() {
			return
		}
	}
	cs := s.ep.codec.Load()
	if s.inband {
		if s.frames > 0 {
			s.tone.Read(s.pcm[:])
			s.frames--
		} else {
			clear(s.pcm[:])
			s.gap--
		}
		if n, ok := encodeFor(cs, s.buf[:], s.pcm[:]); ok {
			_ = s.ep.WritePayload(cs.codec.PayloadType, s.buf[:n], uint32(n), s.first)
		}
		s.first = false
		return
	}
	n, marker, done := s.ev.Next(s.buf[:], cs.frame)
	if n == 0 {
		return
	}
	// Every packet of an event carries the timestamp of its start; after
	// the last, the stream's clock moves on by the whole event.
	var advance uint32
	if done {
		ev, _ := ParseTelephoneEvent(s.buf[:n])
		advance = (uint32(ev.Duration) + cs.frame - 1) / cs.frame * cs.frame
	}
	_ = s.ep.WritePayload(cs.dtmfPT, s.buf[:n], advance, marker)
}
