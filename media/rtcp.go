package media

import (
	"fmt"
	"net/netip"
	"syscall"
	"time"

	"github.com/pion/rtcp"
)

// rtcpInfo is what an endpoint keeps of one compound RTCP packet from its
// far end.
type rtcpInfo struct {
	hasReport bool
	report    rtcp.ReceptionReport // the far end's report on our stream
	hasSR     bool
	srSSRC    uint32 // the far end's SSRC, from its sender report
	srNTP     uint64
	bye       bool
}

// parseRTCP reads a compound RTCP packet and keeps the report block about
// ours, this endpoint's SSRC. It needs no socket, so it is fuzzed from
// bytes.
func parseRTCP(b []byte, ours uint32) (rtcpInfo, error) {
	var info rtcpInfo
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		return info, fmt.Errorf("media: parse rtcp: %w", err)
	}
	take := func(reports []rtcp.ReceptionReport) {
		for _, r := range reports {
			if r.SSRC == ours {
				info.hasReport, info.report = true, r
			}
		}
	}
	for _, p := range pkts {
		switch r := p.(type) {
		case *rtcp.SenderReport:
			info.hasSR, info.srSSRC, info.srNTP = true, r.SSRC, r.NTPTime
			take(r.Reports)
		case *rtcp.ReceiverReport:
			take(r.Reports)
		case *rtcp.Goodbye:
			info.bye = true
		}
	}
	return info, nil
}

// ntpTime is t in the 64-bit NTP format of sender reports.
func ntpTime(t time.Time) uint64 {
	const unixToNTP = 2208988800
	secs := uint64(t.Unix()) + unixToNTP
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}

// drainRTCP reads what waits on the RTCP socket, without blocking. RTCP
// comes every few seconds, so the housekeeping goroutine serves every
// endpoint's socket instead of a reader goroutine (and buffer) each.
func (ep *Endpoint) drainRTCP(buf []byte) {
	c := ep.rtcp.Load()
	if c == nil {
		return
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	for range 64 { // bounded: a flood waits for the next tick
		var n int
		var from syscall.Sockaddr
		var rerr error
		if err := rc.Read(func(fd uintptr) bool {
			n, from, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT)
			return true
		}); err != nil || rerr != nil {
			return // nothing more waiting, or the socket closed
		}
		var src netip.AddrPort
		switch a := from.(type) {
		case *syscall.SockaddrInet4:
			src = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
		case *syscall.SockaddrInet6:
			src = netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
		}
		ep.receiveRTCP(buf[:n], src, true)
	}
}

// receiveRTCP keeps what the far end reports. RTCP arriving on the RTCP
// socket also latches where reports go, as RTP latches where media goes.
func (ep *Endpoint) receiveRTCP(b []byte, src netip.AddrPort, onRTCPPort bool) {
	info, err := parseRTCP(b, ep.out.ssrc)
	if err != nil {
		ep.e.log.Debug("bad rtcp", "local", ep.local, "from", src, "error", err)
		return
	}
	src = unmap(src)
	if onRTCPPort {
		if cur := ep.rtcpRemote.Load(); cur == nil || *cur != src {
			p := new(netip.AddrPort)
			*p = src
			ep.rtcpRemote.Store(p)
		}
	}
	ep.rx.remote(info, ep.codec.Load().clock, ep.e.now())
	if info.bye {
		ep.e.log.Debug("rtcp bye", "local", ep.local, "from", src)
	}
	if ch := ep.e.rtcpSeen; ch != nil {
		select {
		case ch <- ep:
		default:
		}
	}
}

// rtcpDest is where reports go: where the far end's RTCP comes from, else
// the port above its RTP.
func (ep *Endpoint) rtcpDest() (netip.AddrPort, bool) {
	if p := ep.rtcpRemote.Load(); p != nil {
		return *p, true
	}
	if p := ep.remote.Load(); p != nil && p.Port() < 65535 {
		return netip.AddrPortFrom(p.Addr(), p.Port()+1), true
	}
	return netip.AddrPort{}, false
}

// buildReport makes the compound packet for one reporting interval: a
// sender report if RTP went out since the last one, else a receiver
// report, with a reception block on the far end's stream once it has sent
// some, and the SDES CNAME every compound packet must carry.
func (ep *Endpoint) buildReport(now time.Time) ([]byte, error) {
	cs := ep.codec.Load()
	var blocks []rtcp.ReceptionReport
	if rr, ok := ep.rx.report(now); ok {
		blocks = append(blocks, rr)
	}
	o := &ep.out
	o.mu.Lock()
	sent := o.sentSinceReport
	o.sentSinceReport = false
	rtpTime, packets, octets := o.rtpTimeAt(now, cs.clock), o.packets, o.octets
	o.mu.Unlock()
	var first rtcp.Packet
	if sent {
		first = &rtcp.SenderReport{SSRC: o.ssrc, NTPTime: ntpTime(now), RTPTime: rtpTime,
			PacketCount: packets, OctetCount: octets, Reports: blocks}
	} else {
		first = &rtcp.ReceiverReport{SSRC: o.ssrc, Reports: blocks}
	}
	b, err := rtcp.Marshal([]rtcp.Packet{first, ep.sdes()})
	if err != nil {
		return nil, fmt.Errorf("media: marshal rtcp report: %w", err)
	}
	return b, nil
}

func (ep *Endpoint) sdes() *rtcp.SourceDescription {
	return &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{
		Source: ep.out.ssrc,
		Items:  []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: ep.e.cname}},
	}}}
}

// sendReport sends this interval's report, from the housekeeping goroutine.
func (ep *Endpoint) sendReport(now time.Time) {
	dst, ok := ep.rtcpDest()
	if !ok {
		return
	}
	conn := ep.openRTCP()
	if conn == nil {
		return
	}
	b, err := ep.buildReport(now)
	if err != nil {
		ep.e.log.Warn("rtcp report not sent", "local", ep.local, "error", err)
		return
	}
	if _, err := conn.WriteToUDPAddrPort(b, dst); err != nil {
		ep.e.log.Debug("rtcp send failed", "local", ep.local, "to", dst, "error", err)
	}
}

// sendBye tells the far end this stream ends, best effort, when it sent
// anything at all.
func (ep *Endpoint) sendBye() {
	dst, ok := ep.rtcpDest()
	ep.out.mu.Lock()
	started := ep.out.started
	ep.out.mu.Unlock()
	conn := ep.rtcp.Load()
	if !ok || !started || conn == nil {
		return
	}
	b, err := ep.buildReport(ep.e.now())
	if err != nil {
		return
	}
	bye, err := (&rtcp.Goodbye{Sources: []uint32{ep.out.ssrc}}).Marshal()
	if err != nil {
		return
	}
	if _, err := conn.WriteToUDPAddrPort(append(b, bye...), dst); err != nil {
		ep.e.log.Debug("rtcp bye not sent", "local", ep.local, "to", dst, "error", err)
	}
}
