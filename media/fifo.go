package media

import "sync"

// fifoSamples is how much received audio a mixer member buffers: 1024
// samples, 128 ms at 8 kHz.
const fifoSamples = 1024

// fifoMaxDelay bounds the delay the buffer may build up when packets come
// in bursts: beyond three frames, the oldest audio is dropped, so a party
// never drifts behind the others.
const fifoMaxDelay = 3 * FrameSamples

// pcmFIFO carries decoded audio from an endpoint's reader goroutine to the
// clock's: packets arrive when the network delivers them, frames leave on
// the tick. It absorbs the difference, whatever the far end's packet size.
type pcmFIFO struct {
	mu    sync.Mutex
	buf   [fifoSamples]int16
	start int // index of the oldest sample
	n     int // samples buffered
}

// write appends samples, dropping the oldest ones the buffer cannot keep.
func (f *pcmFIFO) write(samples []int16) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(samples) > fifoSamples {
		samples = samples[len(samples)-fifoSamples:]
	}
	for len(samples) > 0 {
		end := (f.start + f.n) % fifoSamples
		k := copy(f.buf[end:], samples)
		if f.n+k > fifoSamples {
			drop := f.n + k - fifoSamples
			f.start = (f.start + drop) % fifoSamples
			f.n -= drop
		}
		f.n += k
		samples = samples[k:]
	}
	if f.n > fifoMaxDelay+FrameSamples {
		drop := f.n - fifoMaxDelay
		f.start = (f.start + drop) % fifoSamples
		f.n -= drop
	}
}

// read takes one frame; false when less than a frame is buffered, and
// then frame is silence.
func (f *pcmFIFO) read(frame []int16) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n < len(frame) {
		clear(frame)
		return false
	}
	k := copy(frame, f.buf[f.start:min(f.start+len(frame), fifoSamples)])
	copy(frame[k:], f.buf[:len(frame)-k])
	f.start = (f.start + len(frame)) % fifoSamples
	f.n -= len(frame)
	return true
}
