package media

import (
	"sync"
	"time"

	"github.com/pion/rtcp"
)

// Stats describe one endpoint's traffic, for CDRs, metrics and the
// control planes' call-quality fields.
type Stats struct {
	PacketsIn, PacketsOut uint64 // RTP packets received and sent
	BytesIn, BytesOut     uint64 // their sizes, RTP headers included
	// Lost counts packets the far end sent that never arrived: expected
	// minus received per RFC 3550 A.3, summed over every source it used.
	Lost uint64
	// Jitter is the RFC 3550 interarrival jitter of what arrives.
	Jitter time.Duration
	// RemoteLost and RemoteJitter are what the far end's RTCP reports say
	// of the stream this endpoint sends.
	RemoteLost   uint64
	RemoteJitter time.Duration
	// RoundTrip is the RTCP round-trip time, 0 until a report allows it.
	RoundTrip time.Duration
	// LastPacket is when the last RTP packet arrived; zero before any.
	LastPacket time.Time
}

// RFC 3550 appendix A.1 constants.
const (
	maxDropout  = 3000
	maxMisorder = 100
	seqMod      = 1 << 16
)

// rxStats follows the stream an endpoint receives (RFC 3550 A.1, A.3,
// A.8) and what the far end reports about the stream it sends. The reader
// goroutine updates it per packet; housekeeping and Stats read it. mu is
// never held across I/O.
type rxStats struct {
	mu      sync.Mutex
	packets uint64
	bytes   uint64

	active        bool // a source is being followed
	ssrc          uint32
	maxSeq        uint16
	cycles        uint32 // sequence wraps, shifted by 16
	baseSeq       uint32
	badSeq        uint32
	received      uint32
	expectedPrior uint32
	receivedPrior uint32
	haveTransit   bool
	transit       uint32
	jitter16      uint32 // interarrival jitter in timestamp units, times 16
	clock         uint32 // timestamp units per second of the source
	lostEarlier   uint64 // lost on sources followed before this one

	srSSRC uint32    // sender of the last SR received
	lastSR uint32    // its NTP timestamp, middle 32 bits
	srAt   time.Time // when it arrived

	remoteLost   uint64
	remoteJitter time.Duration
	roundTrip    time.Duration
}

// initSeq starts following a source at seq.
func (s *rxStats) initSeq(seq uint16) {
	s.baseSeq = uint32(seq)
	s.maxSeq = seq
	s.badSeq = seqMod + 1
	s.cycles = 0
	s.received, s.expectedPrior, s.receivedPrior = 0, 0, 0
	s.haveTransit, s.jitter16 = false, 0
}

// update accounts one packet of n bytes that arrived at arrival (in the
// source's timestamp units, any origin). Only audio feeds the jitter:
// telephone-events repeat one timestamp for the length of a key press.
func (s *rxStats) update(h *rtpView, n int, audio bool, clock uint32, arrival uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.packets++
	s.bytes += uint64(n)
	s.clock = clock
	switch {
	case !s.active || h.ssrc != s.ssrc:
		if s.active {
			s.lostEarlier += s.lostLocked()
		}
		s.active, s.ssrc = true, h.ssrc
		s.initSeq(h.seq)
	default:
		udelta := h.seq - s.maxSeq
		switch {
		case udelta < maxDropout:
			if h.seq < s.maxSeq {
				s.cycles += seqMod
			}
			s.maxSeq = h.seq
		case udelta <= seqMod-maxMisorder:
			// A big jump: believe it only when the next packet follows it.
			if uint32(h.seq) != s.badSeq {
				s.badSeq = (uint32(h.seq) + 1) & (seqMod - 1)
				return
			}
			s.lostEarlier += s.lostLocked()
			s.initSeq(h.seq)
		default:
			// Duplicate or reordered: counted, the maximum stays.
		}
	}
	s.received++
	if !audio {
		return
	}
	transit := arrival - h.ts
	if s.haveTransit {
		d := int32(transit - s.transit)
		if d < 0 {
			d = -d
		}
		s.jitter16 += uint32(d) - ((s.jitter16 + 8) >> 4)
	}
	s.transit, s.haveTransit = transit, true
}

func (s *rxStats) expectedLocked() int64 {
	return int64(s.cycles) + int64(s.maxSeq) - int64(s.baseSeq) + 1
}

// lostLocked is the cumulative loss of the current source, never negative
// (duplicates can make received exceed expected).
func (s *rxStats) lostLocked() uint64 {
	if !s.active {
		return 0
	}
	if lost := s.expectedLocked() - int64(s.received); lost > 0 {
		return uint64(lost)
	}
	return 0
}

// report builds the reception report block for the current source and
// starts a new reporting interval (RFC 3550 A.3). ok is false before any
// packet arrived.
func (s *rxStats) report(now time.Time) (rr rtcp.ReceptionReport, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.active {
		return rr, false
	}
	expected := s.expectedLocked()
	expectedInterval := expected - int64(s.expectedPrior)
	receivedInterval := int64(s.received) - int64(s.receivedPrior)
	s.expectedPrior, s.receivedPrior = uint32(expected), s.received
	if lostInterval := expectedInterval - receivedInterval; expectedInterval > 0 && lostInterval > 0 {
		rr.FractionLost = uint8(lostInterval << 8 / expectedInterval)
	}
	rr.SSRC = s.ssrc
	rr.TotalLost = uint32(min(s.lostLocked(), 0x7fffff))
	rr.LastSequenceNumber = s.cycles + uint32(s.maxSeq)
	rr.Jitter = s.jitter16 >> 4
	if s.srSSRC == s.ssrc && !s.srAt.IsZero() {
		rr.LastSenderReport = s.lastSR
		rr.Delay = uint32(now.Sub(s.srAt) * 65536 / time.Second)
	}
	return rr, true
}

// remote keeps what the far end's RTCP said. clock converts its jitter,
// in units of the stream this endpoint sends, to time.
func (s *rxStats) remote(info rtcpInfo, clock uint32, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if info.hasSR {
		s.srSSRC, s.lastSR, s.srAt = info.srSSRC, uint32(info.srNTP>>16), now
	}
	if !info.hasReport {
		return
	}
	r := info.report
	s.remoteLost = uint64(r.TotalLost)
	s.remoteJitter = time.Duration(r.Jitter) * time.Second / time.Duration(clock)
	if r.LastSenderReport != 0 {
		// RFC 3550 §6.4.1: A - LSR - DLSR, in 1/65536 s.
		if rtt := int32(uint32(ntpTime(now)>>16) - r.LastSenderReport - r.Delay); rtt >= 0 {
			s.roundTrip = time.Duration(rtt) * time.Second / 65536
		}
	}
}

// snapshot fills the receive side of Stats.
func (s *rxStats) snapshot(st *Stats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st.PacketsIn, st.BytesIn = s.packets, s.bytes
	st.Lost = s.lostEarlier + s.lostLocked()
	if s.clock > 0 {
		st.Jitter = time.Duration(s.jitter16>>4) * time.Second / time.Duration(s.clock)
	}
	st.RemoteLost, st.RemoteJitter, st.RoundTrip = s.remoteLost, s.remoteJitter, s.roundTrip
}

// arrivalUnits converts the time since an endpoint's epoch to timestamp
// units of clock, for the jitter's transit times. It wraps like RTP
// timestamps do, which the jitter arithmetic expects.
func arrivalUnits(since time.Duration, clock uint32) uint32 {
	sec := since / time.Second
	rem := since % time.Second
	return uint32(int64(sec)*int64(clock) + int64(rem)*int64(clock)/int64(time.Second))
}
