package wav

import (
	"encoding/binary"
	"io"
	"math"
	"testing"

	"github.com/zaf/g711"
)

// memFile is an in-memory io.WriteSeeker, a file without a disk.
type memFile struct {
	b   []byte
	pos int64
}

func (m *memFile) Write(p []byte) (int, error) {
	if end := m.pos + int64(len(p)); end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	copy(m.b[m.pos:], p)
	m.pos += int64(len(p))
	return len(p), nil
}

func (m *memFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += m.pos
	case io.SeekEnd:
		off += int64(len(m.b))
	}
	m.pos = off
	return off, nil
}

// spec describes a WAV file for makeWAV to build.
type spec struct {
	tag         uint16 // tagPCM, tagFloat, tagALaw, tagULaw
	bits        int
	rate        int
	channels    int
	extensible  bool
	extraChunks bool // a LIST chunk of odd size before fmt and a junk one before data
}

// makeWAV builds a WAV file of sp whose channel c holds ch(c, t) for
// frames instants t (in seconds), values in [-1, 1]. It is written here,
// independently of Writer, so it can produce every layout Decode reads.
func makeWAV(sp spec, frames int, ch func(c int, t float64) float64) []byte {
	bps := sp.bits / 8
	var audio []byte
	for i := range frames {
		t := float64(i) / float64(sp.rate)
		for c := range sp.channels {
			audio = appendSample(audio, sp.tag, bps, ch(c, t))
		}
	}
	var fmtBody []byte
	tag := sp.tag
	if sp.extensible {
		tag = tagExtensible
	}
	fmtBody = binary.LittleEndian.AppendUint16(fmtBody, tag)
	fmtBody = binary.LittleEndian.AppendUint16(fmtBody, uint16(sp.channels))
	fmtBody = binary.LittleEndian.AppendUint32(fmtBody, uint32(sp.rate))
	fmtBody = binary.LittleEndian.AppendUint32(fmtBody, uint32(sp.rate*sp.channels*bps))
	fmtBody = binary.LittleEndian.AppendUint16(fmtBody, uint16(sp.channels*bps))
	fmtBody = binary.LittleEndian.AppendUint16(fmtBody, uint16(sp.bits))
	if sp.extensible {
		fmtBody = binary.LittleEndian.AppendUint16(fmtBody, 22)
		fmtBody = binary.LittleEndian.AppendUint16(fmtBody, uint16(sp.bits))
		fmtBody = binary.LittleEndian.AppendUint32(fmtBody, 0) // channel mask
		fmtBody = binary.LittleEndian.AppendUint16(fmtBody, sp.tag)
		fmtBody = append(fmtBody, guidTail[:]...)
	}
	body := []byte("WAVE")
	if sp.extraChunks {
		body = appendChunk(body, "LIST", []byte("INFOISFT\x05\x00\x00\x00test\x00"))
	}
	body = appendChunk(body, "fmt ", fmtBody)
	if sp.extraChunks {
		body = appendChunk(body, "junk", []byte{1, 2, 3})
	}
	body = appendChunk(body, "data", audio)
	return appendChunk(nil, "RIFF", body)
}

// appendChunk appends a chunk with its pad byte.
func appendChunk(b []byte, id string, body []byte) []byte {
	b = append(b, id...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(body)))
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// appendSample encodes v in [-1, 1] in the given encoding.
func appendSample(b []byte, tag uint16, bps int, v float64) []byte {
	s16 := int16(math.Round(max(-1, min(1, v)) * 32767))
	switch tag {
	case tagULaw:
		return append(b, g711.EncodeUlawFrame(s16))
	case tagALaw:
		return append(b, g711.EncodeAlawFrame(s16))
	case tagFloat:
		return binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(v)))
	}
	switch bps {
	case 1:
		return append(b, byte(int(math.Round(v*127))+128))
	case 2:
		return binary.LittleEndian.AppendUint16(b, uint16(s16))
	case 3:
		x := int32(math.Round(v * 8388607))
		return append(b, byte(x), byte(x>>8), byte(x>>16))
	default:
		return binary.LittleEndian.AppendUint32(b, uint32(int32(math.Round(v*2147483647))))
	}
}

// sine returns a channel function: a tone of freq Hz at amplitude amp.
func sine(freq, amp float64) func(int, float64) float64 {
	return func(_ int, t float64) float64 { return amp * math.Sin(2*math.Pi*freq*t) }
}

// level is the amplitude, in sample units, of the component of x at freq
// (Hz, at 8 kHz), by a Goertzel filter: a tone at amplitude 0.5 of full
// scale gives about 16384.
func level(x []int16, freq float64) float64 {
	w := 2 * math.Pi * freq / SampleRate
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * math.Sqrt(max(p, 0)) / float64(len(x))
}

// rms is the root mean square of x.
func rms(x []int16) float64 {
	var sum float64
	for _, v := range x {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(x)))
}

// middle drops the first and last tenth of x, where the resampler's
// kernel runs past the ends of the signal.
func middle(x []int16) []int16 { return x[len(x)/10 : len(x)-len(x)/10] }

// db is 20·log10(a/b).
func db(a, b float64) float64 { return 20 * math.Log10(a/b) }

// mustDecode decodes b or fails the test.
func mustDecode(t testing.TB, b []byte) []int16 {
	t.Helper()
	out, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
