package dialog

import "testing"

func TestCauseFromSIP(t *testing.T) {
	for _, tt := range []struct {
		code int
		want Cause
	}{
		{486, CauseBusy}, {600, CauseBusy}, {404, CauseNotFound}, {603, CauseDeclined},
		{408, CauseNoAnswer}, {480, CauseNoAnswer}, {487, CauseCancelled}, {488, CauseCodecMismatch},
		{403, CauseForbidden}, {500, CauseCongestion}, {503, CauseCongestion}, {410, CauseUnavailable},
	} {
		if got := causeFromSIP(tt.code); got != tt.want {
			t.Errorf("%d: %s, want %s", tt.code, got, tt.want)
		}
	}
}

// Every cause has a name, a SIP status and a disposition: the one table
// every surface reads.
func TestCauseTableComplete(t *testing.T) {
	for c := CauseNormal; c <= CauseSessionTimer; c++ {
		code, reason := c.SIP()
		if c.String() == "" || code == 0 || reason == "" || c.Disposition() == "" {
			t.Errorf("cause %d is missing from the table", c)
		}
	}
}
