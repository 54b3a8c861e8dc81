package media

import (
	"context"
	"sync"
	"testing"
	"time"
)

// talk makes the far end send a tone to ep every 20 ms until the test ends.
func (f *farEnd) talk(t testing.TB, to *Endpoint, c Codec, freq float64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	t.Cleanup(func() { cancel(); wg.Wait() })
	go func() {
		defer wg.Done()
		gen := NewToneGenerator(freq, 6000)
		pcm := make([]int16, FrameSamples)
		payload := make([]byte, FrameSamples)
		tk := time.NewTicker(FrameDuration)
		defer tk.Stop()
		ssrc := uint32(freq)
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
			gen.Read(pcm)
			if c.Name == PCMA.Name {
				EncodeAlaw(payload, pcm)
			} else {
				EncodeUlaw(payload, pcm)
			}
			b, _ := rtpPacket(c.PayloadType, ssrc, uint16(i), uint32(i*FrameSamples), payload).Marshal()
			f.conn.WriteToUDPAddrPort(b, to.LocalAddr())
		}
	}()
}

// hear collects the decoded audio of the next n packets.
func (f *farEnd) hear(c Codec, n int) []int16 {
	var pcm []int16
	for range n {
		p := f.recv()
		pcm = append(pcm, decode(c, p.Payload)...)
	}
	return pcm
}

// heardTones says which of freqs are present in pcm, skipping its first
// 100 ms while buffers fill.
func heardTones(pcm []int16, freqs ...float64) map[float64]bool {
	if len(pcm) > 800 {
		pcm = pcm[800:]
	}
	return DetectTones(pcm, freqs)
}
