package wav

import (
	"slices"
	"testing"
)

// Encode makes a file Decode reads back sample for sample.
func TestEncodeRoundTrip(t *testing.T) {
	in := []int16{0, 1, -1, 32767, -32768, 1234}
	out, err := Decode(Encode(in))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(in, out) {
		t.Fatalf("decoded %v, want %v", out, in)
	}
	if got := len(Encode(nil)); got != headerSize {
		t.Fatalf("empty file is %d bytes, want %d", got, headerSize)
	}
}
