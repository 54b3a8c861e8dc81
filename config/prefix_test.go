package config

import "testing"

func TestParsePrefix(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"10.0.0.0/8", "10.0.0.0/8", true},
		{"192.0.2.7", "192.0.2.7/32", true},
		{"::1", "::1/128", true},
		{"::1/128", "::1/128", true},
		{"10.0.0.0/33", "", false},
		{"host.example", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		p, err := ParsePrefix(tt.in)
		if (err == nil) != tt.ok || (tt.ok && p.String() != tt.want) {
			t.Errorf("ParsePrefix(%q) = %v, %v; want %s, ok %v", tt.in, p, err, tt.want, tt.ok)
		}
	}
}
