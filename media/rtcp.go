package media

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/pion/rtcp"
)

// ntpTime converts wall time to the 64-bit NTP format of sender reports.
func ntpTime(t time.Time) uint64 {
	secs := uint64(t.Unix()) + 2208988800
	frac := uint64(t.Nanosecond()) * (1 << 32) / 1e9
	return secs<<32 | frac
}

// report builds this endpoint's reception report for the far end's stream.
func (ep *Endpoint) report() (rtcp.ReceptionReport, bool) {
	s := &ep.stats
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return rtcp.ReceptionReport{}, false
	}
	exp := s.expected()
	expInterval := exp - s.expectedPrior
	recvInterval := s.received - s.receivedPrior
	s.expectedPrior, s.receivedPrior = exp, s.received
	var fraction uint8
	if expInterval > 0 && expInterval > recvInterval {
		fraction = uint8((expInterval - recvInterval) << 8 / expInterval)
	}
	lost := s.lost()
	if lost > 0x7fffff {
		lost = 0x7fffff
	}
	return rtcp.ReceptionReport{SSRC: s.ssrc, FractionLost: fraction, TotalLost: uint32(lost),
		LastSequenceNumber: s.cycles | uint32(s.maxSeq), Jitter: uint32(s.jitter)}, true
}

// sendRTCP sends a sender report if this endpoint sent RTP since the last
// one, else a receiver report, to the far end's RTCP port.
func (ep *Endpoint) sendRTCP(now time.Time) {
	dst, ok := ep.destination()
	if !ok {
		return
	}
	dst = netip.AddrPortFrom(dst.Addr(), dst.Port()+1)
	rr, haveRR := ep.report()
	var reports []rtcp.ReceptionReport
	if haveRR {
		reports = []rtcp.ReceptionReport{rr}
	}
	ep.out.mu.Lock()
	ssrc, ts, packets, octets, sent := ep.out.ssrc, ep.out.ts, ep.out.packets, ep.out.octets, ep.out.started
	ep.out.mu.Unlock()
	var pkt rtcp.Packet
	if sent {
		pkt = &rtcp.SenderReport{SSRC: ssrc, NTPTime: ntpTime(now), RTPTime: ts, PacketCount: packets, OctetCount: octets, Reports: reports}
	} else {
		pkt = &rtcp.ReceiverReport{SSRC: ssrc, Reports: reports}
	}
	b, err := pkt.Marshal()
	if err != nil {
		return
	}
	ep.mu.Lock()
	conn := ep.rtcp
	ep.mu.Unlock()
	if conn != nil {
		conn.WriteToUDPAddrPort(b, dst)
	}
}

// readRTCP keeps what the far end reports about the stream this endpoint sends.
func (ep *Endpoint) readRTCP(conn *net.UDPConn) {
	buf := make([]byte, 1500)
	for {
		n, _, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		ep.handleRTCP(buf[:n])
	}
}

func (ep *Endpoint) handleRTCP(b []byte) {
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		return
	}
	ep.out.mu.Lock()
	ours := ep.out.ssrc
	ep.out.mu.Unlock()
	for _, p := range pkts {
		var reports []rtcp.ReceptionReport
		switch r := p.(type) {
		case *rtcp.SenderReport:
			reports = r.Reports
		case *rtcp.ReceiverReport:
			reports = r.Reports
		}
		for _, rr := range reports {
			if rr.SSRC != ours {
				continue
			}
			ep.stats.mu.Lock()
			ep.stats.remoteLost = uint64(rr.TotalLost)
			ep.stats.remoteJitterUnits = rr.Jitter
			ep.stats.mu.Unlock()
		}
	}
}
