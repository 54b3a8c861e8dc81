package media

import (
	"bytes"
	"testing"
)

func TestTelephoneEvent(t *testing.T) {
	tests := []struct {
		name  string
		wire  []byte
		ev    TelephoneEvent
		digit rune
	}{
		{"digit 5, end", []byte{5, 0x8a, 0x03, 0x20}, TelephoneEvent{Event: 5, End: true, Volume: 10, Duration: 800}, '5'},
		{"star, in progress", []byte{10, 0x0a, 0x00, 0xa0}, TelephoneEvent{Event: 10, Volume: 10, Duration: 160}, '*'},
		{"hash", []byte{11, 0x00, 0, 0}, TelephoneEvent{Event: 11}, '#'},
		{"D", []byte{15, 0x3f, 0xff, 0xff}, TelephoneEvent{Event: 15, Volume: 63, Duration: 65535}, 'D'},
		{"flash hook is no digit", []byte{16, 0, 0, 0}, TelephoneEvent{Event: 16}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := ParseTelephoneEvent(tt.wire)
			if err != nil || ev != tt.ev {
				t.Fatalf("parsed %+v, %v; want %+v", ev, err, tt.ev)
			}
			if d, ok := ev.Digit(); d != tt.digit || ok != (tt.digit != 0) {
				t.Fatalf("digit %q %v, want %q", d, ok, tt.digit)
			}
			buf := make([]byte, TelephoneEventLen)
			if n, err := ev.MarshalTo(buf); err != nil || n != 4 || !bytes.Equal(buf, tt.wire) {
				t.Fatalf("marshalled % x, %v; want % x", buf, err, tt.wire)
			}
		})
	}
	if _, err := ParseTelephoneEvent([]byte{1, 2, 3}); err == nil {
		t.Fatal("a 3-byte event parsed")
	}
}
