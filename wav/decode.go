package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/zaf/g711"
)

// ErrFormat is wrapped by every error Decode returns: the data is not a
// WAV file, is damaged beyond use, or holds an encoding Decode does not
// support.
var ErrFormat = errors.New("not a supported WAV file")

// SampleRate is the rate of what Decode returns and of what Writer writes.
const SampleRate = 8000

// Limits on what Decode accepts.
const (
	minRate     = 4000
	maxRate     = 192000
	maxChannels = 8
)

// WAVE format tags.
const (
	tagPCM        = 0x0001
	tagFloat      = 0x0003
	tagALaw       = 0x0006
	tagULaw       = 0x0007
	tagExtensible = 0xFFFE
)

// guidTail is the part of a KSDATAFORMAT_SUBTYPE_* GUID after its first two
// bytes, which hold the plain format tag.
var guidTail = [14]byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

// format is what the fmt chunk says, reduced to what decoding needs.
type format struct {
	tag      uint16 // tagPCM, tagFloat, tagALaw or tagULaw (never extensible)
	channels int
	rate     int
	bits     int
}

// frameSize is the number of bytes one sample of every channel takes.
func (f format) frameSize() int { return f.channels * f.bits / 8 }

// Decode returns the audio of a WAV file as 8 kHz mono signed 16-bit PCM,
// whatever rate, channel count and encoding the file holds: channels are
// averaged and other rates resampled.
//
// Decode is tolerant of a file whose writer died: when the data chunk's
// size is 0, 0xFFFFFFFF or larger than what follows, it decodes the bytes
// that are there (dropping a trailing partial frame). It skips chunks it
// does not know. Everything else that is malformed or unsupported is an
// error wrapping ErrFormat. Decode never trusts a size field to allocate:
// memory use is bounded by a small multiple of len(data).
func Decode(data []byte) ([]int16, error) {
	if len(data) < 12 {
		return nil, fmt.Errorf("wav: %d bytes, too short for a RIFF header: %w", len(data), ErrFormat)
	}
	if string(data[0:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return nil, fmt.Errorf("wav: no RIFF/WAVE header: %w", ErrFormat)
	}
	// The RIFF size is ignored: a crashed writer leaves it wrong, and the
	// chunks say all there is to know.
	var (
		f       format
		haveFmt bool
		audio   []byte
		haveDat bool
	)
	rest := data[12:]
chunks:
	for len(rest) > 0 && !(haveFmt && haveDat) {
		if len(rest) < 8 {
			if haveDat {
				break chunks // trailing junk after the audio
			}
			return nil, fmt.Errorf("wav: %d stray bytes where a chunk header should be: %w", len(rest), ErrFormat)
		}
		id := string(rest[0:4])
		size := uint64(binary.LittleEndian.Uint32(rest[4:8]))
		body := rest[8:]
		switch id {
		case "fmt ":
			if haveFmt {
				return nil, fmt.Errorf("wav: fmt chunk: repeated: %w", ErrFormat)
			}
			if size > uint64(len(body)) {
				return nil, fmt.Errorf("wav: fmt chunk: %d bytes declared, %d present: %w", size, len(body), ErrFormat)
			}
			var err error
			if f, err = parseFmt(body[:size]); err != nil {
				return nil, err
			}
			haveFmt = true
		case "data":
			if haveDat {
				return nil, fmt.Errorf("wav: data chunk: repeated: %w", ErrFormat)
			}
			haveDat = true
			if crashed(size, body) {
				audio = body
				size = uint64(len(body))
			} else {
				audio = body[:size]
			}
		default:
			if size > uint64(len(body)) {
				if haveDat {
					break chunks // a damaged trailing chunk after the audio
				}
				return nil, fmt.Errorf("wav: %q chunk: %d bytes declared, %d present: %w", printable(id), size, len(body), ErrFormat)
			}
		}
		next := size + size&1 // chunks are padded to an even size
		if next >= uint64(len(body)) {
			rest = nil
		} else {
			rest = body[next:]
		}
	}
	if !haveFmt {
		return nil, fmt.Errorf("wav: no fmt chunk: %w", ErrFormat)
	}
	if !haveDat {
		return nil, fmt.Errorf("wav: no data chunk: %w", ErrFormat)
	}
	mono := downmix(f, audio)
	if f.rate == SampleRate {
		out := make([]int16, len(mono))
		for i, x := range mono {
			out[i] = clamp16(x)
		}
		return out, nil
	}
	return resample(mono, f.rate), nil
}

// crashed tells whether a data chunk's declared size cannot be right, so
// the bytes that follow are the audio: a writer that never fixed its header
// leaves 0 or 0xFFFFFFFF (as streaming writers do), and a file cut short
// declares more than it holds. A size of 0 followed by what looks like another chunk is taken as a
// truly empty data chunk.
func crashed(size uint64, body []byte) bool {
	switch {
	case size > uint64(len(body)):
		return true
	case size == 0:
		return len(body) > 0 && !looksLikeChunk(body)
	}
	return false
}

// looksLikeChunk tells whether b starts with a chunk header: four
// printable ASCII characters and a size that fits in what follows.
func looksLikeChunk(b []byte) bool {
	if len(b) < 8 {
		return false
	}
	for _, c := range b[:4] {
		if c < 0x20 || c > 0x7E {
			return false
		}
	}
	return uint64(binary.LittleEndian.Uint32(b[4:8])) <= uint64(len(b)-8)
}

// printable quotes a chunk id safely for an error message.
func printable(id string) string {
	b := []byte(id)
	for i, c := range b {
		if c < 0x20 || c > 0x7E {
			b[i] = '?'
		}
	}
	return string(b)
}

// parseFmt reads a fmt chunk's body and checks that Decode can handle it.
func parseFmt(b []byte) (format, error) {
	if len(b) < 16 {
		return format{}, fmt.Errorf("wav: fmt chunk: %d bytes, want at least 16: %w", len(b), ErrFormat)
	}
	tag := binary.LittleEndian.Uint16(b[0:2])
	f := format{
		tag:      tag,
		channels: int(binary.LittleEndian.Uint16(b[2:4])),
		rate:     int(binary.LittleEndian.Uint32(b[4:8])),
		bits:     int(binary.LittleEndian.Uint16(b[14:16])),
	}
	blockAlign := int(binary.LittleEndian.Uint16(b[12:14]))
	if tag == tagExtensible {
		if len(b) < 40 || binary.LittleEndian.Uint16(b[16:18]) < 22 {
			return format{}, fmt.Errorf("wav: fmt chunk: WAVE_FORMAT_EXTENSIBLE without its 22-byte extension: %w", ErrFormat)
		}
		if [14]byte(b[26:40]) != guidTail {
			return format{}, fmt.Errorf("wav: fmt chunk: unknown WAVE_FORMAT_EXTENSIBLE subformat GUID: %w", ErrFormat)
		}
		f.tag = binary.LittleEndian.Uint16(b[24:26])
		// The valid-bits field may say 20 of 24; the container size is
		// what matters for decoding, and the padding bits are zero.
	}
	switch f.tag {
	case tagPCM:
		if f.bits != 8 && f.bits != 16 && f.bits != 24 && f.bits != 32 {
			return format{}, fmt.Errorf("wav: fmt chunk: %d-bit PCM, want 8, 16, 24 or 32: %w", f.bits, ErrFormat)
		}
	case tagFloat:
		if f.bits != 32 {
			return format{}, fmt.Errorf("wav: fmt chunk: %d-bit float, want 32: %w", f.bits, ErrFormat)
		}
	case tagALaw, tagULaw:
		if f.bits != 8 {
			return format{}, fmt.Errorf("wav: fmt chunk: %d-bit G.711, want 8: %w", f.bits, ErrFormat)
		}
	default:
		return format{}, fmt.Errorf("wav: fmt chunk: format tag %#04x not supported (PCM, float, A-law and µ-law are): %w", f.tag, ErrFormat)
	}
	if f.channels < 1 || f.channels > maxChannels {
		return format{}, fmt.Errorf("wav: fmt chunk: %d channels, want 1 to %d: %w", f.channels, maxChannels, ErrFormat)
	}
	if f.rate < minRate || f.rate > maxRate {
		return format{}, fmt.Errorf("wav: fmt chunk: sample rate %d Hz, want %d to %d: %w", f.rate, minRate, maxRate, ErrFormat)
	}
	if blockAlign != f.frameSize() {
		return format{}, fmt.Errorf("wav: fmt chunk: block align %d, want %d for %d channels of %d bits: %w", blockAlign, f.frameSize(), f.channels, f.bits, ErrFormat)
	}
	return f, nil
}

// downmix decodes audio to one channel, the average of all, in the scale
// of 16-bit samples (±32768) but unrounded, so the resampler works on the
// exact values. A trailing partial frame is dropped.
func downmix(f format, audio []byte) []float32 {
	fs := f.frameSize()
	n := len(audio) / fs
	out := make([]float32, n)
	bps := f.bits / 8
	scale := 1 / float32(f.channels)
	for i := range n {
		frame := audio[i*fs : (i+1)*fs]
		var sum float32
		for c := range f.channels {
			sum += sample(f.tag, frame[c*bps:(c+1)*bps])
		}
		out[i] = sum * scale
	}
	return out
}

// sample decodes one sample of one channel in 16-bit scale.
func sample(tag uint16, b []byte) float32 {
	switch tag {
	case tagULaw:
		return float32(g711.DecodeUlawFrame(b[0]))
	case tagALaw:
		return float32(g711.DecodeAlawFrame(b[0]))
	case tagFloat:
		v := math.Float32frombits(binary.LittleEndian.Uint32(b))
		if v != v { // NaN
			return 0
		}
		return max(-1, min(1, v)) * 32768
	}
	switch len(b) {
	case 1:
		return float32(int(b[0])-128) * 256
	case 2:
		return float32(int16(binary.LittleEndian.Uint16(b)))
	case 3:
		v := int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 8
		return float32(v) / 256
	default:
		return float32(int32(binary.LittleEndian.Uint32(b))) / 65536
	}
}

// clamp16 rounds x to the nearest 16-bit sample, saturating.
func clamp16(x float32) int16 {
	switch {
	case x >= 32767:
		return 32767
	case x <= -32768:
		return -32768
	case x >= 0:
		return int16(x + 0.5)
	default:
		return int16(x - 0.5)
	}
}
