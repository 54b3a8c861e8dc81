package sip

import (
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// stRequest is an INVITE with the dialog headers a response needs and the
// given extra headers, name then value.
func stRequest(hdrs ...string) *sipmsg.Request {
	req := sipmsg.NewRequest(sipmsg.INVITE, sipmsg.Uri{Scheme: "sip", User: "1002", Host: "pbx.example"})
	via := &sipmsg.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "192.0.2.10", Port: 5060, Params: sipmsg.NewParams()}
	via.Params.Add("branch", "z9hG4bK-1")
	req.AppendHeader(via)
	from := &sipmsg.FromHeader{Address: sipmsg.Uri{Scheme: "sip", User: "1001", Host: "pbx.example"}, Params: sipmsg.NewParams()}
	from.Params.Add("tag", "f1")
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: "sip", User: "1002", Host: "pbx.example"}, Params: sipmsg.NewParams()})
	callID := sipmsg.CallIDHeader("st-test")
	req.AppendHeader(&callID)
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: 1, MethodName: sipmsg.INVITE})
	for i := 0; i+1 < len(hdrs); i += 2 {
		req.AppendHeader(sipmsg.NewHeader(hdrs[i], hdrs[i+1]))
	}
	return req
}

func TestNegotiateSessionTimer(t *testing.T) {
	const s = time.Second
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	type want struct {
		interval  time.Duration
		refresher Refresher
		local     bool
		require   bool
	}
	tests := []struct {
		name     string
		hdrs     []string
		policy   SessionTimerPolicy
		want     want
		code     int    // a response instead of a timer
		minSE    string // its Min-SE
		seHeader string // the Session-Expires the 2xx carries
	}{
		{name: "nothing asked", policy: SessionTimerPolicy{MinSE: 90 * s}},
		{name: "supported, nothing asked, PBX asks nothing", hdrs: []string{"Supported", "timer"}, policy: SessionTimerPolicy{MinSE: 90 * s}},
		{
			name: "supported, nothing asked, PBX asks", hdrs: []string{"Supported", "timer"},
			policy: SessionTimerPolicy{MinSE: 90 * s, Expires: 1800 * s},
			want:   want{1800 * s, RefresherUAC, false, true}, seHeader: "1800;refresher=uac",
		},
		{name: "not supported, PBX asks: nothing", policy: SessionTimerPolicy{MinSE: 90 * s, Expires: 1800 * s}},
		{
			name: "far end asks, no refresher", hdrs: []string{"Supported", "timer", "Session-Expires", "1800"},
			policy: SessionTimerPolicy{MinSE: 90 * s},
			want:   want{1800 * s, RefresherUAC, false, true}, seHeader: "1800;refresher=uac",
		},
		{
			name: "far end asks the PBX to refresh", hdrs: []string{"Supported", "timer", "Session-Expires", "1800;refresher=uas"},
			policy: SessionTimerPolicy{MinSE: 90 * s},
			want:   want{1800 * s, RefresherUAS, true, true}, seHeader: "1800;refresher=uas",
		},
		{
			name: "compact forms, capitals", hdrs: []string{"k", "100rel, TIMER", "x", " 600 ; Refresher = UAC "},
			policy: SessionTimerPolicy{MinSE: 90 * s},
			want:   want{600 * s, RefresherUAC, false, true}, seHeader: "600;refresher=uac",
		},
		{
			name: "Require: timer counts as support", hdrs: []string{"Require", "timer", "Session-Expires", "300"},
			policy: SessionTimerPolicy{MinSE: 90 * s},
			want:   want{300 * s, RefresherUAC, false, true}, seHeader: "300;refresher=uac",
		},
		{
			name: "too small, supported: 422", hdrs: []string{"Supported", "timer", "Session-Expires", "60"},
			policy: SessionTimerPolicy{MinSE: 90 * s}, code: 422, minSE: "90",
		},
		{
			name: "too small for the policy: 422", hdrs: []string{"Supported", "timer", "Session-Expires", "100"},
			policy: SessionTimerPolicy{MinSE: 120 * s}, code: 422, minSE: "120",
		},
		{
			name: "policy below the RFC floor", hdrs: []string{"Supported", "timer", "Session-Expires", "89"},
			policy: SessionTimerPolicy{}, code: 422, minSE: "90",
		},
		{
			name: "policy of a fraction of a second", hdrs: []string{"Supported", "timer", "Session-Expires", "90"},
			policy: SessionTimerPolicy{MinSE: 90*s + 500*time.Millisecond}, code: 422, minSE: "91",
		},
		{
			name: "too small, inserted by a proxy: raised", hdrs: []string{"Session-Expires", "60"},
			policy: SessionTimerPolicy{MinSE: 90 * s},
			want:   want{90 * s, RefresherUAS, true, false}, seHeader: "90;refresher=uas",
		},
		{
			name: "inserted by a proxy: the PBX refreshes", hdrs: []string{"Session-Expires", "1800;refresher=uac"},
			policy: SessionTimerPolicy{MinSE: 90 * s},
			want:   want{1800 * s, RefresherUAS, true, false}, seHeader: "1800;refresher=uas",
		},
		{
			name: "longer than the PBX wants: cut", hdrs: []string{"Supported", "timer", "Session-Expires", "3600"},
			policy: SessionTimerPolicy{MinSE: 90 * s, Expires: 1800 * s},
			want:   want{1800 * s, RefresherUAC, false, true}, seHeader: "1800;refresher=uac",
		},
		{
			name: "cut, but not below MinSE", hdrs: []string{"Supported", "timer", "Session-Expires", "3600"},
			policy: SessionTimerPolicy{MinSE: 120 * s, Expires: 100 * s},
			want:   want{120 * s, RefresherUAC, false, true}, seHeader: "120;refresher=uac",
		},
		{
			name: "cut, but not below the request's Min-SE", hdrs: []string{"Supported", "timer", "Session-Expires", "3600", "Min-SE", "2400"},
			policy: SessionTimerPolicy{MinSE: 90 * s, Expires: 1800 * s},
			want:   want{2400 * s, RefresherUAC, false, true}, seHeader: "2400;refresher=uac",
		},
		{
			name: "shorter than the PBX wants: kept", hdrs: []string{"Supported", "timer", "Session-Expires", "600"},
			policy: SessionTimerPolicy{MinSE: 90 * s, Expires: 1800 * s},
			want:   want{600 * s, RefresherUAC, false, true}, seHeader: "600;refresher=uac",
		},
		{name: "bad Session-Expires", hdrs: []string{"Session-Expires", "abc"}, policy: SessionTimerPolicy{MinSE: 90 * s}, code: 400},
		{name: "empty Session-Expires", hdrs: []string{"Session-Expires", ""}, policy: SessionTimerPolicy{MinSE: 90 * s}, code: 400},
		{name: "bad refresher", hdrs: []string{"Session-Expires", "1800;refresher=me"}, policy: SessionTimerPolicy{MinSE: 90 * s}, code: 400},
		{name: "huge Session-Expires", hdrs: []string{"Session-Expires", "99999999999"}, policy: SessionTimerPolicy{MinSE: 90 * s}, code: 400},
		{name: "bad Min-SE", hdrs: []string{"Session-Expires", "1800", "Min-SE", "-1"}, policy: SessionTimerPolicy{MinSE: 90 * s}, code: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, res := NegotiateSessionTimer(stRequest(tt.hdrs...), tt.policy, now)
			if tt.code != 0 {
				if res == nil {
					t.Fatalf("got timer %+v, want a %d", st, tt.code)
				}
				if res.StatusCode != tt.code {
					t.Fatalf("got %d, want %d", res.StatusCode, tt.code)
				}
				if h := res.GetHeader("Min-SE"); (h == nil) != (tt.minSE == "") || h != nil && h.Value() != tt.minSE {
					t.Errorf("Min-SE %v, want %q", h, tt.minSE)
				}
				if st.Active() {
					t.Errorf("a refused request left an active timer %+v", st)
				}
				return
			}
			if res != nil {
				t.Fatalf("got a %d, want timer %+v", res.StatusCode, tt.want)
			}
			got := want{st.Interval, st.Refresher, st.LocalRefresh, st.Require}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if !st.Start.Equal(now) {
				t.Errorf("start %v, want %v", st.Start, now)
			}
			hs := st.Headers()
			if tt.seHeader == "" {
				if len(hs) != 0 {
					t.Errorf("headers %v, want none", hs)
				}
				return
			}
			if len(hs) == 0 || hs[0].Name() != "Session-Expires" || hs[0].Value() != tt.seHeader {
				t.Fatalf("headers %v, want Session-Expires: %s", hs, tt.seHeader)
			}
			hasRequire := len(hs) == 2 && hs[1].Name() == "Require" && hs[1].Value() == "timer"
			if hasRequire != tt.want.require || len(hs) > 2 {
				t.Errorf("headers %v, want Require: timer %v", hs, tt.want.require)
			}
		})
	}
}

func TestSessionTimerDeadline(t *testing.T) {
	const s = time.Second
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		interval          time.Duration
		deadline, refresh time.Duration // after start; -1 for the zero time
	}{
		{interval: 0, deadline: -1, refresh: -1},
		{interval: 60 * s, deadline: 40 * s, refresh: 30 * s},      // a third: 20 s
		{interval: 90 * s, deadline: 60 * s, refresh: 45 * s},      // a third: 30 s
		{interval: 96 * s, deadline: 64 * s, refresh: 48 * s},      // a third: 32 s
		{interval: 1800 * s, deadline: 1768 * s, refresh: 900 * s}, // capped at 32 s
	}
	for _, tt := range tests {
		st := SessionTimer{Interval: tt.interval, Start: start}
		at := func(d time.Duration) time.Time {
			if d < 0 {
				return time.Time{}
			}
			return start.Add(d)
		}
		if got := st.Deadline(); !got.Equal(at(tt.deadline)) {
			t.Errorf("interval %v: deadline %v, want %v", tt.interval, got, at(tt.deadline))
		}
		if got := st.RefreshAt(); !got.Equal(at(tt.refresh)) {
			t.Errorf("interval %v: refresh at %v, want %v", tt.interval, got, at(tt.refresh))
		}
	}
}

func TestSessionTimerFromResponse(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		se        string // "" for none
		interval  time.Duration
		refresher Refresher
		local     bool
		wantErr   bool
	}{
		{se: ""},
		{se: "1800;refresher=uac", interval: 1800 * time.Second, refresher: RefresherUAC, local: true},
		{se: "1800;refresher=uas", interval: 1800 * time.Second, refresher: RefresherUAS},
		{se: "900", interval: 900 * time.Second, refresher: RefresherUAC, local: true},
		{se: "0;refresher=uas", wantErr: true},
		{se: "x", wantErr: true},
	}
	for _, tt := range tests {
		res := sipmsg.NewResponseFromRequest(stRequest(), 200, "OK", nil)
		if tt.se != "" {
			res.AppendHeader(sipmsg.NewHeader("Session-Expires", tt.se))
		}
		st, err := SessionTimerFromResponse(res, now)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: error %v, want error %v", tt.se, err, tt.wantErr)
			continue
		}
		if st.Interval != tt.interval || st.Refresher != tt.refresher || st.LocalRefresh != tt.local || st.Require || !st.Start.Equal(now) {
			t.Errorf("%q: %+v, want %v %s local %v", tt.se, st, tt.interval, tt.refresher, tt.local)
		}
	}
}

func TestParseSessionExpires(t *testing.T) {
	tests := []struct {
		in        string
		interval  time.Duration
		refresher Refresher
		wantErr   bool
	}{
		{in: "1800", interval: 1800 * time.Second},
		{in: "1800;refresher=uac", interval: 1800 * time.Second, refresher: RefresherUAC},
		{in: " 90 ; foo=bar ; REFRESHER = Uas ", interval: 90 * time.Second, refresher: RefresherUAS},
		{in: "0", interval: 0},
		{in: "4294967295", interval: 4294967295 * time.Second},
		{in: "4294967296", wantErr: true},
		{in: "", wantErr: true},
		{in: ";refresher=uac", wantErr: true},
		{in: "18 00", wantErr: true},
		{in: "-5", wantErr: true},
		{in: "1800;refresher", wantErr: true},
		{in: "1800;refresher=both", wantErr: true},
	}
	for _, tt := range tests {
		d, r, err := ParseSessionExpires(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && (d != tt.interval || r != tt.refresher) {
			t.Errorf("%q: %v %q, want %v %q", tt.in, d, r, tt.interval, tt.refresher)
		}
	}
}

// FuzzSessionExpires feeds Session-Expires, Min-SE and Supported values from
// the wire through the parser and the negotiation: neither panics, what
// parses is whole seconds with a known refresher, and a 2xx never grants
// less than the RFC's 90 seconds and carries a Session-Expires that parses
// back to the same timer.
func FuzzSessionExpires(f *testing.F) {
	f.Add("1800;refresher=uac", "", "timer")
	f.Add("60", "90", "timer")
	f.Add(" 90 ; REFRESHER = Uas ", "120;x=y", "")
	f.Add("99999999999999999999", "", "100rel")
	f.Fuzz(func(t *testing.T, se, minSE, supported string) {
		d, r, err := ParseSessionExpires(se)
		if err == nil && (d < 0 || d%time.Second != 0 || r != "" && r != RefresherUAC && r != RefresherUAS) {
			t.Fatalf("ParseSessionExpires(%q) = %v %q", se, d, r)
		}
		hdrs := []string{"Session-Expires", se, "Supported", supported}
		if minSE != "" {
			hdrs = append(hdrs, "Min-SE", minSE)
		}
		st, res := NegotiateSessionTimer(stRequest(hdrs...), SessionTimerPolicy{MinSE: 90 * time.Second}, time.Unix(0, 0))
		if res != nil {
			if res.StatusCode != 400 && res.StatusCode != 422 || res.StatusCode == 422 && res.GetHeader("Min-SE") == nil {
				t.Fatalf("response %d %v", res.StatusCode, res.GetHeader("Min-SE"))
			}
			return
		}
		if st.Interval < MinSessionInterval {
			t.Fatalf("granted %v", st.Interval)
		}
		hs := st.Headers()
		d, r, err = ParseSessionExpires(hs[0].Value())
		if err != nil || d != st.Interval || r != st.Refresher {
			t.Fatalf("Session-Expires %q reads as %v %q %v, want %v %q", hs[0].Value(), d, r, err, st.Interval, st.Refresher)
		}
	})
}
