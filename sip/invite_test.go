package sip

import (
	"errors"
	"strings"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"
)

func TestNewInvite(t *testing.T) {
	sdp := []byte("v=0\r\no=pbx 1 1 IN IP4 192.0.2.1\r\ns=pbx\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 20000 RTP/AVP 0\r\n")
	req := NewInvite(InviteOptions{
		Target:      sipmsg.Uri{Scheme: "sip", User: "1002", Host: "192.0.2.20", Port: 5062},
		Destination: "192.0.2.20:5062",
		Transport:   "tcp",
		FromUser:    "1001",
		FromName:    "Alice",
		FromHost:    "pbx.example",
		ToUser:      "1002",
		MaxForwards: 69,
		UserAgent:   "pbx/1.0",
		Headers:     []sipmsg.Header{sipmsg.NewHeader("X-Call-Tag", "queue=sales"), sipmsg.NewHeader("Call-Info", "<http://x>;purpose=info")},
		SDP:         sdp,
	})
	if req.Method != sipmsg.INVITE || req.Recipient.String() != "sip:1002@192.0.2.20:5062" {
		t.Errorf("request line %s %s", req.Method, req.Recipient.String())
	}
	if req.Destination() != "192.0.2.20:5062" || !strings.EqualFold(req.Transport(), "tcp") {
		t.Errorf("destination %s over %s", req.Destination(), req.Transport())
	}
	from := req.From()
	if from == nil || from.DisplayName != "Alice" || from.Address.String() != "sip:1001@pbx.example" {
		t.Fatalf("From %v", from)
	}
	if tag, _ := from.Params.Get("tag"); len(tag) != 16 {
		t.Errorf("From tag %q, want 16 characters", tag)
	}
	if to := req.To(); to == nil || to.Address.String() != "sip:1002@192.0.2.20" || to.Params.Has("tag") {
		t.Errorf("To %v", to)
	}
	if mf := req.MaxForwards(); mf == nil || mf.Val() != 69 {
		t.Errorf("Max-Forwards %v, want 69", mf)
	}
	want := map[string]string{
		"Content-Type": "application/sdp",
		"Allow":        AllowMethods,
		"Supported":    "timer",
		"User-Agent":   "pbx/1.0",
		"X-Call-Tag":   "queue=sales",
		"Call-Info":    "<http://x>;purpose=info",
	}
	for name, value := range want {
		hs := req.GetHeaders(name)
		if len(hs) != 1 || hs[0].Value() != value {
			t.Errorf("%s: %v, want one %q", name, hs, value)
		}
	}
	if string(req.Body()) != string(sdp) {
		t.Errorf("body %q", req.Body())
	}
	for _, name := range []string{"Via", "Call-ID", "CSeq", "Contact"} {
		if h := req.GetHeader(name); h != nil {
			t.Errorf("%s set (%v): sipgo fills it in when sending", name, h)
		}
	}
}

func TestNewInviteDefaults(t *testing.T) {
	tests := []struct {
		name    string
		hops    int
		wantMF  uint32
		ua      string
		headers []sipmsg.Header
		wantUA  []string
	}{
		{name: "no hops given", hops: 0, wantMF: 70, ua: "pbx", wantUA: []string{"pbx"}},
		{name: "negative hops", hops: -3, wantMF: 70},
		{name: "hops cut down", hops: 5000, wantMF: 70},
		{name: "one hop left", hops: 1, wantMF: 1},
		{name: "program's User-Agent wins", hops: 70, wantMF: 70, ua: "pbx", headers: []sipmsg.Header{sipmsg.NewHeader("user-agent", "bot")}, wantUA: []string{"bot"}},
		{name: "control characters dropped from User-Agent", hops: 70, wantMF: 70, ua: "pbx\r\nX-Evil: 1", wantUA: []string{"pbxX-Evil: 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := NewInvite(InviteOptions{Target: sipmsg.Uri{Scheme: "sip", User: "9", Host: "h"}, FromUser: "1", FromHost: "pbx",
				MaxForwards: tt.hops, UserAgent: tt.ua, Headers: tt.headers})
			if mf := req.MaxForwards(); mf == nil || mf.Val() != tt.wantMF {
				t.Errorf("Max-Forwards %v, want %d", mf, tt.wantMF)
			}
			var ua []string
			for _, h := range req.GetHeaders("User-Agent") {
				ua = append(ua, h.Value())
			}
			if strings.Join(ua, "|") != strings.Join(tt.wantUA, "|") {
				t.Errorf("User-Agent %q, want %q", ua, tt.wantUA)
			}
			if req.GetHeader("Content-Type") != nil || len(req.Body()) != 0 {
				t.Errorf("no offer, yet Content-Type %v and body %q", req.GetHeader("Content-Type"), req.Body())
			}
			if to := req.To(); to.Address.Host != "h" {
				t.Errorf("To host %q, want the target's", to.Address.Host)
			}
		})
	}
}

// TestNewInviteHostileInput checks that nothing a caller or a program
// supplies breaks the request: once written and parsed back, it still has
// one From, one To and one Call-ID, and the values come back as given.
func TestNewInviteHostileInput(t *testing.T) {
	req := NewInvite(InviteOptions{
		Target:   sipmsg.Uri{Scheme: "sip", User: "1002", Host: "192.0.2.20"},
		FromUser: "+1 (555) <x>@evil\r\nVia: x",
		FromName: `Bob "the \"boss\"" \`,
		FromHost: "pbx.example",
		ToUser:   "%2B32%zz",
		Headers: []sipmsg.Header{
			sipmsg.NewHeader("Call-ID", "stolen"),
			sipmsg.NewHeader("i", "stolen"),
			sipmsg.NewHeader("X-Split", "a\r\nVia: SIP/2.0/UDP evil"),
			sipmsg.NewHeader("X Bad", "name"),
			nil,
			sipmsg.NewHeader("X-Ok", "kept"),
		},
	})
	// sipgo fills these in when sending; the test does it by hand.
	via := &sipmsg.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "192.0.2.1", Port: 5060, Params: sipmsg.NewParams()}
	via.Params.Add("branch", "z9hG4bK-x")
	req.PrependHeader(via)
	callID := sipmsg.CallIDHeader("c1")
	req.AppendHeader(&callID)
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: 1, MethodName: sipmsg.INVITE})

	msg, err := sipmsg.ParseMessage([]byte(req.String()))
	if err != nil {
		t.Fatalf("the request does not parse: %v\n%s", err, req)
	}
	back := msg.(*sipmsg.Request)
	for _, name := range []string{"Via", "From", "To", "Call-ID", "CSeq"} {
		if n := len(back.GetHeaders(name)); n != 1 {
			t.Errorf("%d %s headers in\n%s", n, name, req)
		}
	}
	if back.CallID().Value() != "c1" || back.GetHeader("i") != nil {
		t.Errorf("Call-ID replaced:\n%s", req)
	}
	if back.GetHeader("X-Split") != nil || back.GetHeader("X Bad") != nil || back.GetHeader("X-Ok") == nil {
		t.Errorf("extra headers not filtered:\n%s", req)
	}
	if got, want := back.From().Address.User, "+1%20(555)%20%3Cx%3E%40evil%0D%0AVia%3A%20x"; got != want {
		t.Errorf("From user %q, want %q", got, want)
	}
	if got, want := back.From().DisplayName, `Bob \"the \"boss\"\" \\`; got != want {
		t.Errorf("From display name %q, want %q", got, want)
	}
	if got, want := back.To().Address.User, "%2B32%25zz"; got != want {
		t.Errorf("To user %q, want %q", got, want)
	}
}

func TestValidExtraHeader(t *testing.T) {
	tests := []struct {
		name, value string
		ok          bool
	}{
		{"X-Call-Tag", "queue=sales", true},
		{"P-Asserted-Identity", `"Alice" <sip:1001@pbx>`, true},
		{"Subject", "", true},
		{"X-Tab", "a\tb", true},
		{"X-Utf8", "Zoë", true},
		{"Alert-Info", "<http://x/ring>;info=alert-group", true},
		{"User-Agent", "bot", true},
		{"", "x", false},
		{"X Space", "x", false},
		{"X:Colon", "x", false},
		{"X-Ünicode", "x", false},
		{strings.Repeat("X", extraNameMax+1), "x", false},
		{"X-Long", strings.Repeat("v", extraValueMax+1), false},
		{"X-CRLF", "a\r\nVia: x", false},
		{"X-LF", "a\nb", false},
		{"X-NUL", "a\x00", false},
		{"X-DEL", "a\x7f", false},
		{"X-Bad-UTF8", "a\xff", false},
		{"Via", "SIP/2.0/UDP x", false},
		{"from", "<sip:x@y>", false},
		{"TO", "<sip:x@y>", false},
		{"Call-ID", "x", false},
		{"CSeq", "1 INVITE", false},
		{"Contact", "<sip:x@y>", false},
		{"Max-Forwards", "1", false},
		{"Content-Length", "0", false},
		{"Content-Type", "text/plain", false},
		{"v", "x", false}, {"f", "x", false}, {"t", "x", false}, {"i", "x", false},
		{"m", "x", false}, {"l", "x", false}, {"c", "x", false},
	}
	for _, tt := range tests {
		err := ValidExtraHeader(tt.name, tt.value)
		if (err == nil) != tt.ok {
			t.Errorf("ValidExtraHeader(%q, %q) = %v, want ok %v", tt.name, tt.value, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrExtraHeader) {
			t.Errorf("ValidExtraHeader(%q, %q) = %v, not an ErrExtraHeader", tt.name, tt.value, err)
		}
	}
}

// FuzzExtraHeader feeds header names and values from control planes to
// the check and to NewInvite: whatever passes, the request written still
// parses with exactly one of each header that makes the dialog.
func FuzzExtraHeader(f *testing.F) {
	f.Add("X-Call-Tag", "queue=sales", "1001", "Alice")
	f.Add("Via", "SIP/2.0/UDP x", "a@b", `"`)
	f.Add("X-Split", "a\r\nVia: x", "\r\n", "\\")
	f.Fuzz(func(t *testing.T, name, value, user, display string) {
		err := ValidExtraHeader(name, value)
		if err == nil && (reservedHeaders[strings.ToLower(name)] || strings.ContainsAny(value, "\r\n\x00")) {
			t.Fatalf("accepted %q: %q", name, value)
		}
		req := NewInvite(InviteOptions{Target: sipmsg.Uri{Scheme: "sip", User: "9", Host: "h"}, FromUser: user, FromName: display, FromHost: "pbx", ToUser: user,
			Headers: []sipmsg.Header{sipmsg.NewHeader(name, value)}})
		callID := sipmsg.CallIDHeader("c1")
		req.AppendHeader(&callID)
		req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: 1, MethodName: sipmsg.INVITE})
		msg, err := sipmsg.ParseMessage([]byte(req.String()))
		if err != nil {
			t.Fatalf("the request does not parse: %v\n%q", err, req.String())
		}
		back := msg.(*sipmsg.Request)
		for _, h := range []string{"From", "To", "Call-ID", "CSeq", "Max-Forwards"} {
			if n := len(back.GetHeaders(h)); n != 1 {
				t.Fatalf("%d %s headers in %q", n, h, req.String())
			}
		}
	})
}
