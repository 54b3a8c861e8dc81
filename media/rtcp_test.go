package media

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// The endpoint reports on what it receives (a receiver report while it
// sends nothing, a sender report once it does) to the port above the far
// end's RTP, and keeps what the far end's reports say about its stream.
func TestRTCPReports(t *testing.T) {
	e := newTestEngine(t, Config{RTCPEvery: 50 * time.Millisecond})
	e.rtcpSeen = make(chan *Endpoint, 16)
	ep := newTestEndpoint(t, e, PCMU, 0)
	phone := newFarEnd(t)
	ep.SetRemote(phone.addr())
	for _, seq := range []uint16{1, 2, 3, 6, 7} { // 4 and 5 lost
		phone.send(ep, rtpPacket(0, 42, seq, uint32(seq)*160, make([]byte, 160)))
	}

	rr := awaitReport(t, phone, func(p rtcp.Packet) bool {
		r, ok := p.(*rtcp.ReceiverReport)
		return ok && len(r.Reports) == 1 && r.Reports[0].LastSequenceNumber == 7
	}).(*rtcp.ReceiverReport)
	if got := rr.Reports[0]; rr.SSRC != ep.SSRC() || got.SSRC != 42 || got.TotalLost != 2 || got.FractionLost != 2*256/7 {
		t.Fatalf("receiver report %+v", rr)
	}

	for range 3 {
		mustWrite(t, ep, make([]byte, 160))
		phone.recv()
	}
	sr := awaitReport(t, phone, func(p rtcp.Packet) bool {
		_, ok := p.(*rtcp.SenderReport)
		return ok
	}).(*rtcp.SenderReport)
	if sr.SSRC != ep.SSRC() || sr.PacketCount != 3 || sr.OctetCount != 480 || len(sr.Reports) != 1 || sr.Reports[0].TotalLost != 2 {
		t.Fatalf("sender report %+v", sr)
	}

	// The far end reports on our stream: 5 lost, jitter 80 units = 10 ms.
	report, err := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 42, Reports: []rtcp.ReceptionReport{
		{SSRC: ep.SSRC(), TotalLost: 5, Jitter: 80, LastSequenceNumber: 3},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	rtcpAddr := netip.AddrPortFrom(ep.LocalAddr().Addr(), ep.LocalAddr().Port()+1)
	if _, err := phone.rtcp.WriteToUDPAddrPort(report, rtcpAddr); err != nil {
		t.Fatal(err)
	}
	select {
	case <-e.rtcpSeen:
	case <-time.After(2 * time.Second):
		t.Fatal("the endpoint never read the far end's report")
	}
	if s := ep.Stats(); s.RemoteLost != 5 || s.RemoteJitter != 10*time.Millisecond || s.Lost != 2 || s.PacketsIn != 5 || s.PacketsOut != 3 {
		t.Fatalf("stats %+v", s)
	}
}

// awaitReport reads compound packets until one holds a packet that
// matches, and checks every compound carries the SDES CNAME.
func awaitReport(t *testing.T, f *farEnd, match func(rtcp.Packet) bool) rtcp.Packet {
	t.Helper()
	for range 50 {
		pkts := f.recvRTCP()
		if len(pkts) < 2 {
			t.Fatalf("compound RTCP of %d packets, want a report and SDES", len(pkts))
		}
		if sdes, ok := pkts[1].(*rtcp.SourceDescription); !ok || len(sdes.Chunks) != 1 || sdes.Chunks[0].Items[0].Type != rtcp.SDESCNAME {
			t.Fatalf("second packet %T is not an SDES CNAME", pkts[1])
		}
		if match(pkts[0]) {
			return pkts[0]
		}
	}
	t.Fatal("no matching RTCP report")
	return nil
}

func TestParseRTCP(t *testing.T) {
	const ours = 0xabcdef
	sr := &rtcp.SenderReport{SSRC: 7, NTPTime: 0x1122334455667788, Reports: []rtcp.ReceptionReport{
		{SSRC: 1, TotalLost: 99}, {SSRC: ours, TotalLost: 4, Jitter: 16},
	}}
	tests := []struct {
		name    string
		pkts    []rtcp.Packet
		want    rtcpInfo
		wantErr bool
	}{
		{"sender report about us", []rtcp.Packet{sr},
			rtcpInfo{hasReport: true, report: sr.Reports[1], hasSR: true, srSSRC: 7, srNTP: 0x1122334455667788}, false},
		{"receiver report about someone else", []rtcp.Packet{&rtcp.ReceiverReport{SSRC: 7, Reports: []rtcp.ReceptionReport{{SSRC: 1}}}},
			rtcpInfo{}, false},
		{"bye", []rtcp.Packet{&rtcp.ReceiverReport{SSRC: 7}, &rtcp.Goodbye{Sources: []uint32{7}}},
			rtcpInfo{bye: true}, false},
	}
	for _, tt := range tests {
		b, err := rtcp.Marshal(tt.pkts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseRTCP(b, ours)
		if err != nil || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
	if _, err := parseRTCP([]byte{0x81, 0xc9, 0, 7}, ours); err == nil {
		t.Error("truncated report parsed")
	}
}

func TestNTPTime(t *testing.T) {
	got := ntpTime(time.Date(1970, 1, 1, 0, 0, 1, 500_000_000, time.UTC))
	if want := uint64(2208988801)<<32 | 1<<31; got != want {
		t.Fatalf("ntpTime = %#x, want %#x", got, want)
	}
}
