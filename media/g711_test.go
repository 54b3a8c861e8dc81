package media

import (
	"testing"

	"github.com/zaf/g711"
)

// Each law decodes and re-encodes to a code that decodes the same, and
// the frame helpers agree with zaf/g711's own slice functions.
func TestG711RoundTrip(t *testing.T) {
	codes := make([]byte, 256)
	for i := range codes {
		codes[i] = byte(i)
	}
	tests := []struct {
		name   string
		decode func([]int16, []byte)
		encode func([]byte, []int16)
		zafDec func([]byte) []byte
	}{
		{"ulaw", DecodeUlaw, EncodeUlaw, g711.DecodeUlaw},
		{"alaw", DecodeAlaw, EncodeAlaw, g711.DecodeAlaw},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pcm := make([]int16, 256)
			tt.decode(pcm, codes)
			lpcm := tt.zafDec(codes)
			for i, s := range pcm {
				if want := int16(uint16(lpcm[2*i]) | uint16(lpcm[2*i+1])<<8); s != want {
					t.Fatalf("code %#x: %d, zaf says %d", i, s, want)
				}
			}
			again := make([]byte, 256)
			tt.encode(again, pcm)
			pcm2 := make([]int16, 256)
			tt.decode(pcm2, again)
			for i := range pcm {
				if pcm[i] != pcm2[i] {
					t.Fatalf("code %#x: %d then %d", i, pcm[i], pcm2[i])
				}
			}
		})
	}
}

func TestG711DoesNotAllocate(t *testing.T) {
	pcm, law := make([]int16, 160), make([]byte, 160)
	allocs := testing.AllocsPerRun(100, func() {
		EncodeUlaw(law, pcm)
		DecodeUlaw(pcm, law)
		EncodeAlaw(law, pcm)
		DecodeAlaw(pcm, law)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per frame", allocs)
	}
}

// Transcoding µ-law to A-law changes a sample by no more than A-law's own
// quantisation step at that level.
func TestTranscodeTables(t *testing.T) {
	for i := range 256 {
		u := ulawSample(byte(i))
		a := alawSample(ulawToAlaw[i])
		step := max(abs(int(u))/16, 16)
		if d := abs(int(u) - int(a)); d > step {
			t.Errorf("µ-law %#x = %d became A-law %d", i, u, a)
		}
	}
	for i := range 256 {
		a := alawSample(byte(i))
		u := ulawSample(alawToUlaw[i])
		step := max(abs(int(a))/16, 16)
		if d := abs(int(u) - int(a)); d > step {
			t.Errorf("A-law %#x = %d became µ-law %d", i, a, u)
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func ulawSample(b byte) int16 { return g711.DecodeUlawFrame(b) }
func alawSample(b byte) int16 { return g711.DecodeAlawFrame(b) }
