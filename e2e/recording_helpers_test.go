package e2e

import (
	"encoding/binary"
	"os"
	"testing"
)

// recording is a recording read back: its rate and its channels, as
// 16-bit samples, kept apart (wav.Decode mixes them down).
type recording struct {
	rate     int
	channels [][]int16
}

// readRecording reads a 16-bit PCM WAV file chunk by chunk.
func readRecording(t *testing.T, path string) recording {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read recording: %v", err)
	}
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("%s is not a RIFF/WAVE file", path)
	}
	var w recording
	nch, bits := 0, 0
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8 : min(off+8+size, len(b))]
		switch id {
		case "fmt ":
			if len(body) < 16 || binary.LittleEndian.Uint16(body) != 1 {
				t.Fatalf("%s: fmt chunk %x: want PCM", path, body)
			}
			nch, w.rate, bits = int(binary.LittleEndian.Uint16(body[2:])), int(binary.LittleEndian.Uint32(body[4:])), int(binary.LittleEndian.Uint16(body[14:]))
		case "data":
			if nch == 0 || bits != 16 {
				t.Fatalf("%s: data before fmt, or %d bits, want 16", path, bits)
			}
			w.channels = make([][]int16, nch)
			for i := 0; i+2*nch <= len(body); i += 2 * nch {
				for ch := range nch {
					w.channels[ch] = append(w.channels[ch], int16(binary.LittleEndian.Uint16(body[i+2*ch:])))
				}
			}
			return w
		}
		off += 8 + size + size%2
	}
	t.Fatalf("%s: no data chunk", path)
	return w
}
