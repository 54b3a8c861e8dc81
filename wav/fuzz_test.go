package wav

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// FuzzDecode feeds Decode arbitrary bytes: it must never panic, and what it
// returns must be bounded by the input (at most two output samples per
// input byte, the 4 kHz 8-bit mono case).
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := Decode(data)
		if err != nil {
			if out != nil {
				t.Fatalf("samples with an error: %v", err)
			}
			return
		}
		if len(out) > 2*len(data)+1 {
			t.Fatalf("%d samples from %d bytes", len(out), len(data))
		}
	})
}

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the FuzzDecode seed corpus in testdata")

// seeds are the checked-in seed corpus of FuzzDecode: one small file per
// format, a truncated one, one with unknown chunks, and garbage. ok says
// whether the seed is a file Decode reads.
func seeds() []struct {
	name string
	data []byte
	ok   bool
} {
	mk := func(sp spec) []byte { return makeWAV(sp, 64, sine(1000, 0.5)) }
	pcm := mk(spec{tag: tagPCM, bits: 16, rate: 8000, channels: 1})
	crashed := append([]byte(nil), mk(spec{tag: tagPCM, bits: 16, rate: 8000, channels: 2})...)
	binary.LittleEndian.PutUint32(crashed[40:], 0xFFFFFFFF)
	return []struct {
		name string
		data []byte
		ok   bool
	}{
		{"pcm16_8k_mono", pcm, true},
		{"pcm16_48k_stereo", mk(spec{tag: tagPCM, bits: 16, rate: 48000, channels: 2}), true},
		{"pcm16_44k1_stereo", mk(spec{tag: tagPCM, bits: 16, rate: 44100, channels: 2}), true},
		{"pcm8_11k", mk(spec{tag: tagPCM, bits: 8, rate: 11025, channels: 1}), true},
		{"pcm24_96k_6ch_ext", mk(spec{tag: tagPCM, bits: 24, rate: 96000, channels: 6, extensible: true}), true},
		{"pcm32_16k", mk(spec{tag: tagPCM, bits: 32, rate: 16000, channels: 1}), true},
		{"float32_4k", mk(spec{tag: tagFloat, bits: 32, rate: 4000, channels: 1}), true},
		{"ulaw_8k", mk(spec{tag: tagULaw, bits: 8, rate: 8000, channels: 1}), true},
		{"alaw_8k_ext", mk(spec{tag: tagALaw, bits: 8, rate: 8000, channels: 1, extensible: true}), true},
		{"pcm16_list_chunks", mk(spec{tag: tagPCM, bits: 16, rate: 16000, channels: 1, extraChunks: true}), true},
		{"truncated", pcm[:len(pcm)-37], true},
		{"crashed_ffffffff", crashed[:len(crashed)-5], true},
		{"garbage", []byte("RIFF\x10\x00\x00\x00WAVEfmt \xff\xff\xff\xff\x01\x02"), false},
		{"not_riff", []byte("ID3\x03\x00\x00\x00\x00\x00\x00mp3 frames follow"), false},
	}
}

// The seed corpus in testdata is what seeds() describes, and each seed
// decodes, or fails to, as it should. Run with -update-seeds to rewrite it.
func TestFuzzSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	for _, s := range seeds() {
		path := filepath.Join(dir, s.name)
		enc := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(s.data)))
		if *updateSeeds {
			if err := os.WriteFile(path, []byte(enc), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update-seeds)", err)
		}
		if !bytes.Equal(got, []byte(enc)) {
			t.Errorf("%s is stale (run with -update-seeds)", path)
		}
		out, err := Decode(s.data)
		if (err == nil) != s.ok {
			t.Errorf("%s: %d samples, error %v; want ok=%v", s.name, len(out), err, s.ok)
		}
	}
}
