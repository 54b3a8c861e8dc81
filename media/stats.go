package media

import (
	"sync"
	"time"
)

// Stats describe one endpoint's traffic.
type Stats struct {
	PacketsIn, PacketsOut, BytesIn, BytesOut uint64
	Lost                                     uint64        // packets missing from what the far end sent (RFC 3550)
	Jitter                                   time.Duration // interarrival jitter of what the far end sent
	RemoteLost                               uint64        // what the far end reports losing of ours (RTCP)
	RemoteJitter                             time.Duration
	LastPacket                               time.Time
}

// recvStats follows a received stream per RFC 3550 appendix A.1 and A.8.
type recvStats struct {
	mu                sync.Mutex
	packetsIn         uint64
	bytesIn           uint64
	packetsOut        uint64
	bytesOut          uint64
	started           bool
	ssrc              uint32
	baseSeq           uint32
	maxSeq            uint16
	cycles            uint32
	received          uint64
	expectedPrior     uint64
	receivedPrior     uint64
	transit           int64
	jitter            float64 // in timestamp units
	epoch             time.Time
	remoteLost        uint64
	remoteJitterUnits uint32
}

func (s *recvStats) sent(n int) {
	s.mu.Lock()
	s.packetsOut++
	s.bytesOut += uint64(n)
	s.mu.Unlock()
}

func (s *recvStats) add(seq uint16, ts, ssrc uint32, now time.Time, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.packetsIn++
	s.bytesIn += uint64(n)
	if !s.started || ssrc != s.ssrc {
		s.started, s.ssrc = true, ssrc
		s.baseSeq, s.maxSeq, s.cycles = uint32(seq), seq, 0
		s.received, s.expectedPrior, s.receivedPrior = 0, 0, 0
		s.epoch = now
		s.transit, s.jitter = 0, 0
	} else if delta := seq - s.maxSeq; delta < 3000 {
		if seq < s.maxSeq {
			s.cycles += 1 << 16
		}
		s.maxSeq = seq
	} else if delta <= 65535-100 {
		// A jump: the far end restarted its sequence.
		s.baseSeq, s.maxSeq, s.cycles, s.received = uint32(seq), seq, 0, 0
	}
	s.received++
	arrival := int64(now.Sub(s.epoch) / (125 * time.Microsecond)) // 8 kHz units
	transit := arrival - int64(ts)
	if s.received > 1 {
		d := transit - s.transit
		if d < 0 {
			d = -d
		}
		s.jitter += (float64(d) - s.jitter) / 16
	}
	s.transit = transit
}

func (s *recvStats) expected() uint64 {
	return uint64(s.cycles) + uint64(s.maxSeq) - uint64(s.baseSeq) + 1
}

func (s *recvStats) lost() uint64 {
	if !s.started {
		return 0
	}
	exp := s.expected()
	if exp < s.received {
		return 0
	}
	return exp - s.received
}

// Stats reads the endpoint's counters.
func (ep *Endpoint) Stats() Stats {
	s := &ep.stats
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{
		PacketsIn: s.packetsIn, PacketsOut: s.packetsOut, BytesIn: s.bytesIn, BytesOut: s.bytesOut,
		Lost: s.lost(), Jitter: time.Duration(s.jitter) * 125 * time.Microsecond,
		RemoteLost: s.remoteLost, RemoteJitter: time.Duration(s.remoteJitterUnits) * 125 * time.Microsecond,
		LastPacket: time.Unix(0, ep.lastPacket.Load()),
	}
}
