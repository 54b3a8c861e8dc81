package dialog

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// testSelf is a PBX named pbx1 in realm pbx, listening on 10.0.0.5:5060
// (UDP and TCP) and 5061 (TLS).
var testSelf = self{
	names: []string{"local", "localhost", "pbx1", "pbx"},
	ips:   []netip.Addr{netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("2001:db8::5")},
	ports: []int{5060, 5060, 5061},
}

func TestSIPTargetLocalNumbers(t *testing.T) {
	for _, c := range []struct {
		uri    string
		number string // the local number, "" for a destination of its own
		dest   string // where the INVITE goes, for the others
		err    bool
	}{
		{uri: "sip:1001@local", number: "1001"},
		{uri: "sip:1001@LocalHost", number: "1001"},
		{uri: "sip:1001@pbx1", number: "1001"},
		{uri: "sips:1001@pbx", number: "1001"},
		{uri: "sip:1001@10.0.0.5", number: "1001"},
		{uri: "sip:1001@10.0.0.5:5060", number: "1001"},
		{uri: "sip:1001@10.0.0.5:5061;transport=tls", number: "1001"},
		{uri: "sip:1001@[2001:db8::5]", number: "1001"},
		{uri: "sip:8001@local;user=phone", number: "8001"},
		{uri: "sip:1001@10.0.0.5:5070", dest: "10.0.0.5:5070"}, // another service on the same host
		{uri: "sip:1001@10.0.0.6", dest: "10.0.0.6:5060"},
		{uri: "sip:bob@example.com:5080;transport=tcp", dest: "example.com:5080"},
		{uri: "sip:bob@[2001:db8::9]", dest: "[2001:db8::9]:5060"},
		{uri: "sip:@local", err: true},
		{uri: "sip:local", err: true},
		{uri: "sip:", err: true},
	} {
		number, target, err := testSelf.sipTarget(c.uri)
		switch {
		case c.err:
			if !errors.Is(err, ErrBadTarget) {
				t.Errorf("%s: %v, want ErrBadTarget", c.uri, err)
			}
		case err != nil:
			t.Errorf("%s: %v", c.uri, err)
		case number != c.number:
			t.Errorf("%s: number %q, want %q", c.uri, number, c.number)
		case c.number == "" && target.dest != c.dest:
			t.Errorf("%s: INVITE to %q, want %q", c.uri, target.dest, c.dest)
		}
	}
}

// With a transport bound to every address, loopback names the PBX too.
func TestSIPTargetAnyAddress(t *testing.T) {
	s := self{names: []string{"local"}, anyIP: true, ports: []int{5060}}
	if n, _, err := s.sipTarget("sip:1001@127.0.0.1"); err != nil || n != "1001" {
		t.Fatalf("loopback with a wildcard listener: %q %v", n, err)
	}
	if n, _, err := s.sipTarget("sip:1001@192.0.2.77"); err != nil || n != "" {
		t.Fatalf("a foreign address: %q %v", n, err)
	}
}

// FuzzSIPTarget: a program's destination never panics, and a local
// number is always a plain user part.
func FuzzSIPTarget(f *testing.F) {
	for _, s := range []string{"sip:1001@local", "sips:1@[2001:db8::5]:5061", "sip:@local", "sip:a:b@pbx1", "sip:x@10.0.0.5:99999", "sip:[::1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		number, _, err := testSelf.sipTarget(uri)
		if err != nil {
			if !errors.Is(err, ErrBadTarget) {
				t.Fatalf("%q: %v, not ErrBadTarget", uri, err)
			}
			return
		}
		if strings.ContainsAny(number, ":@;?") {
			t.Fatalf("%q: number %q", uri, number)
		}
	})
}
