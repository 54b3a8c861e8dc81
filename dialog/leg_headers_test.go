package dialog

import (
	"slices"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"
)

// headerPairs keeps a request's headers in order, names as the request
// has them, credentials left out; noteInvite keeps the first INVITE sent until the answered one
// replaces it.
func TestLegHeadersKept(t *testing.T) {
	req := sipmsg.NewRequest(sipmsg.INVITE, sipmsg.Uri{User: "1002", Host: "pbx"})
	req.AppendHeader(sipmsg.NewHeader("X-Campaign", "7"))
	req.AppendHeader(sipmsg.NewHeader("Subject", "order 42"))
	req.AppendHeader(sipmsg.NewHeader("Proxy-Authorization", `Digest username="1001", response="0123"`))
	req.AppendHeader(sipmsg.NewHeader("X-Campaign", "8"))
	want := [][2]string{{"X-Campaign", "7"}, {"Subject", "order 42"}, {"X-Campaign", "8"}}
	got := headerPairs(req)
	if !slices.Equal(got, want) {
		t.Fatalf("headerPairs = %q, want %q", got, want)
	}

	first, second, answered := [][2]string{{"A", "1"}}, [][2]string{{"B", "2"}}, [][2]string{{"C", "3"}}
	tests := []struct {
		name  string
		notes []func(l *Leg)
		want  [][2]string
	}{
		{"none yet", nil, nil},
		{"first sent", []func(l *Leg){func(l *Leg) { l.noteInvite(first, false) }}, first},
		{"a second fork does not replace it", []func(l *Leg){
			func(l *Leg) { l.noteInvite(first, false) }, func(l *Leg) { l.noteInvite(second, false) },
		}, first},
		{"the answered one does", []func(l *Leg){
			func(l *Leg) { l.noteInvite(first, false) }, func(l *Leg) { l.noteInvite(answered, true) },
		}, answered},
	}
	for _, tt := range tests {
		l := &Leg{}
		for _, f := range tt.notes {
			f(l)
		}
		if !slices.Equal(l.invite, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, l.invite, tt.want)
		}
	}
}
