package media

import (
	"testing"
	"time"
)

type arrival struct {
	ssrc uint32
	seq  uint16
	ts   uint32
	at   uint32 // arrival in timestamp units
}

// Loss is expected minus received per RFC 3550 A.1 and A.3: wraps,
// reordering and duplicates are not loss; a new source starts afresh but
// the earlier loss stays counted.
func TestReceiveLoss(t *testing.T) {
	seqs := func(ssrc uint32, s ...uint16) []arrival {
		var a []arrival
		for _, q := range s {
			a = append(a, arrival{ssrc: ssrc, seq: q})
		}
		return a
	}
	tests := []struct {
		name    string
		packets []arrival
		lost    uint64
		extMax  uint32
	}{
		{"in order", seqs(1, 1, 2, 3, 4, 5), 0, 5},
		{"gap", seqs(1, 1, 2, 3, 6, 7), 2, 7},
		{"wrap", seqs(1, 65533, 65534, 65535, 0, 1), 0, 65536 + 1},
		{"loss across the wrap", seqs(1, 65534, 1), 2, 65536 + 1},
		{"reordered", seqs(1, 1, 3, 2, 4), 0, 4},
		{"duplicate", seqs(1, 1, 2, 2, 3), 0, 3},
		{"new source keeps earlier loss", append(seqs(1, 1, 2, 4), seqs(2, 100, 101)...), 1, 101},
		{"a lone jump is ignored", seqs(1, 1, 2, 20000, 3), 0, 3},
		{"a confirmed jump restarts", seqs(1, 1, 2, 20000, 20001, 20003), 1, 20003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s rxStats
			for _, p := range tt.packets {
				h := rtpView{ssrc: p.ssrc, seq: p.seq}
				s.update(&h, 172, true, 8000, 0)
			}
			var st Stats
			s.snapshot(&st)
			rr, _ := s.report(time.Now())
			if st.Lost != tt.lost || rr.LastSequenceNumber != tt.extMax {
				t.Fatalf("lost %d, extended max %d; want %d, %d", st.Lost, rr.LastSequenceNumber, tt.lost, tt.extMax)
			}
		})
	}
}

// Jitter follows RFC 3550 A.8: J += (|D| - J) / 16, in timestamp units.
func TestReceiveJitter(t *testing.T) {
	tests := []struct {
		name    string
		packets []arrival
		want    time.Duration
	}{
		{"steady 20 ms", []arrival{{1, 1, 160, 1000}, {1, 2, 320, 1160}, {1, 3, 480, 1320}}, 0},
		// D = 80 units (10 ms late): J = 80/16 = 5 units = 625 µs.
		{"one late packet", []arrival{{1, 1, 160, 1000}, {1, 2, 320, 1240}}, 625 * time.Microsecond},
		// D = 80 then 80: J = 5, then 5 + (80-5)/16 = 9 units (rounded as A.8 does).
		{"late then back", []arrival{{1, 1, 160, 1000}, {1, 2, 320, 1240}, {1, 3, 480, 1320}}, 9 * 125 * time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s rxStats
			for _, p := range tt.packets {
				h := rtpView{ssrc: p.ssrc, seq: p.seq, ts: p.ts}
				s.update(&h, 172, true, 8000, p.at)
			}
			var st Stats
			s.snapshot(&st)
			if st.Jitter != tt.want {
				t.Fatalf("jitter %s, want %s", st.Jitter, tt.want)
			}
		})
	}
}

func TestArrivalUnits(t *testing.T) {
	if got := arrivalUnits(1500*time.Millisecond, 8000); got != 12000 {
		t.Fatalf("1.5 s = %d units, want 12000", got)
	}
}
