package recordings_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"

	"pbx/media"
	"pbx/recordings"
	"pbx/store"
)

// BenchmarkRecordedCalls records 500 calls the way the PBX does: each
// call's two endpoints in a mixer on the shared clock, a tap feeding the
// recording, and real RTP arriving every 20 ms on every endpoint from
// loopback. It runs 5 s of real time and reports the frames dropped (the
// target is none), the clock frames skipped, and the clock goroutine's
// share of a core. Run it with -benchtime=1x.
func BenchmarkRecordedCalls(b *testing.B) {
	const calls, window = 500, 5 * time.Second
	for b.Loop() {
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		e, err := media.NewEngine(media.Config{BindIP: netip.MustParseAddr("127.0.0.1"), RTCPEvery: time.Hour, Logger: log})
		if err != nil {
			b.Fatal(err)
		}
		st, err := store.Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		arch, err := recordings.Open(context.Background(), recordings.Options{Dir: b.TempDir(), Format: recordings.Stereo}, st, log)
		if err != nil {
			b.Fatal(err)
		}
		sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		phones, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		var eps []*media.Endpoint
		var recs []*recordings.Recording
		var mixers []*media.Mixer
		for i := range calls {
			a, err1 := e.NewEndpoint()
			c, err2 := e.NewEndpoint()
			if err1 != nil || err2 != nil {
				b.Fatal(err1, err2)
			}
			a.SetRemote(sink.LocalAddr().(*net.UDPAddr).AddrPort())
			c.SetRemote(sink.LocalAddr().(*net.UDPAddr).AddrPort())
			m := e.NewMixer()
			ma, mc := m.AddEndpoint(a), m.AddEndpoint(c)
			rec, err := arch.Start(recordings.Meta{CallID: "call", Caller: "a", Callee: "c"}, recordings.StartOptions{})
			if err != nil {
				b.Fatal(i, err)
			}
			m.AddTap([]*media.Member{ma}, []*media.Member{mc}, rec.WriteFrame)
			eps = append(eps, a, c)
			recs = append(recs, rec)
			mixers = append(mixers, m)
		}
		// The phones: one goroutine sends every endpoint a 20 ms packet
		// every 20 ms.
		payload := make([]byte, media.FrameSamples)
		pcm := make([]int16, media.FrameSamples)
		media.NewToneGenerator(440, 8000).Read(pcm)
		media.EncodeUlaw(payload, pcm)
		stop := make(chan struct{})
		sent := make(chan struct{})
		go func() {
			defer close(sent)
			tk := time.NewTicker(media.FrameDuration)
			defer tk.Stop()
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				case <-tk.C:
				}
				for i, ep := range eps {
					pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(seq),
						Timestamp: uint32(seq * media.FrameSamples), SSRC: uint32(i + 1)}, Payload: payload}
					buf, _ := pkt.Marshal()
					phones.WriteToUDPAddrPort(buf, ep.LocalAddr())
				}
			}
		}()
		before := e.Clock().Stats()
		start := time.Now()
		<-time.After(window) // the measurement window itself
		after := e.Clock().Stats()
		elapsed := time.Since(start)
		close(stop)
		<-sent
		var total time.Duration
		for _, r := range recs {
			entry, err := r.Stop()
			if err != nil {
				b.Fatal(err)
			}
			total += entry.Duration
		}
		for _, m := range mixers {
			m.Close()
		}
		b.ReportMetric(float64(arch.DroppedFrames()), "dropped-frames")
		b.ReportMetric(float64(after.Skipped-before.Skipped), "skipped-frames")
		b.ReportMetric(float64(after.Busy-before.Busy)/float64(elapsed), "clock-cores")
		b.ReportMetric(total.Seconds()/calls, "s-recorded/call")
		if arch.DroppedFrames() != 0 {
			b.Errorf("%d frames dropped", arch.DroppedFrames())
		}
		arch.Close()
		e.Close()
		st.Close()
		sink.Close()
		phones.Close()
	}
}
