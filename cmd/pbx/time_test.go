package main

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 2, 10, 30, 0, 0, time.UTC)
	local := func(y int, m time.Month, d, h, min, s int) time.Time {
		return time.Date(y, m, d, h, min, s, 0, time.Local)
	}
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"", time.Time{}, true},
		{"24h", now.Add(-24 * time.Hour), true},
		{"90m", now.Add(-90 * time.Minute), true},
		{"2026-11-01", local(2026, 11, 1, 0, 0, 0), true},
		{"2026-11-01T08:15", local(2026, 11, 1, 8, 15, 0), true},
		{"2026-11-01T08:15:30", local(2026, 11, 1, 8, 15, 30), true},
		{"2026-11-01T08:15:30Z", time.Date(2026, 11, 1, 8, 15, 30, 0, time.UTC), true},
		{"2026-11-01T08:15:30.5+02:00", time.Date(2026, 11, 1, 6, 15, 30, 5e8, time.UTC), true},
		{"yesterday", time.Time{}, false},
		{"2026-13-01", time.Time{}, false},
		{"24", time.Time{}, false},
	}
	for _, tc := range tests {
		got, err := parseTime(tc.in, now)
		if (err == nil) != tc.ok || !got.Equal(tc.want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// FuzzParseTime: any text is a time or an error, never a panic; a time
// accepted reads back the same from its RFC 3339 form, as the commands pass
// it to the API.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"", "24h", "2026-11-01", "2026-11-01T08:15", "2026-11-01T08:15:30Z", "-5m", "x"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 2, 10, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseTime(s, now)
		if err != nil {
			if !got.IsZero() {
				t.Fatalf("parseTime(%q): %v with an error", s, got)
			}
			return
		}
		if got.IsZero() {
			return
		}
		back, err := parseTime(got.Format(time.RFC3339Nano), now)
		if err != nil || !back.Equal(got) {
			t.Fatalf("parseTime(%q) = %v; its RFC 3339 form reads %v, %v", s, got, back, err)
		}
	})
}

func TestHumanBytes(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"}, {100 << 20, "100.0 MiB"}, {9 << 30, "9.0 GiB"}} {
		if got := humanBytes(tc.n); got != tc.want {
			t.Errorf("humanBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
