package dialog

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"
)

// A program may name a number of this PBX as a SIP URI: sip:1001@local.
// A sip: or sips: URI whose host is "local", "localhost", the node's name,
// the digest realm or one of the PBX's own SIP addresses (and whose port,
// if any, is one the PBX listens on) is a local number: its user part is
// routed as if dialled. Any other URI is a SIP destination of its own.

// isSIPURI reports whether a target is written as a SIP URI.
func isSIPURI(to string) bool {
	return strings.HasPrefix(to, "sip:") || strings.HasPrefix(to, "sips:")
}

// self is what names this PBX in a URI.
type self struct {
	names []string     // lower-case host names: local, localhost, the node, the realm
	ips   []netip.Addr // the addresses the PBX listens on and writes in Contact
	anyIP bool         // a transport listens on every address: each of the machine's is the PBX's
	ports []int        // the ports the PBX listens on
}

// self gathers the names and addresses of this PBX, as they are now.
func (e *Engine) self() self {
	s := self{names: []string{"local", "localhost"}}
	for _, n := range []string{e.opts.Node, e.realm()} {
		if n != "" {
			s.names = append(s.names, strings.ToLower(n))
		}
	}
	if a, err := netip.ParseAddr(e.stack.Host()); err == nil {
		s.ips = append(s.ips, a.Unmap())
	}
	for _, t := range []string{"UDP", "TCP", "TLS"} {
		a, ok := e.stack.Addr(t)
		if !ok {
			continue
		}
		s.ports = append(s.ports, int(a.Port()))
		if a.Addr().IsUnspecified() {
			s.anyIP = true
		} else {
			s.ips = append(s.ips, a.Addr().Unmap())
		}
	}
	return s
}

func (e *Engine) realm() string {
	if e.digest == nil {
		return ""
	}
	return e.digest.Realm()
}

// localUser returns the number a URI names when it names this PBX.
func (s self) localUser(uri sipmsg.Uri) (string, bool) {
	if uri.Port != 0 && !containsInt(s.ports, uri.Port) {
		return "", false
	}
	host := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(uri.Host, "["), "]"))
	if host == "" {
		return "", false
	}
	for _, n := range s.names {
		if host == n {
			return uri.User, true
		}
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return "", false
	}
	a = a.Unmap()
	for _, ip := range s.ips {
		if a == ip {
			return uri.User, true
		}
	}
	if s.anyIP && (a.IsLoopback() || machineHas(a)) {
		return uri.User, true
	}
	return "", false
}

// machineHas reports whether one of the machine's interfaces has address a.
func machineHas(a netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, x := range addrs {
		if n, ok := x.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap() == a {
				return true
			}
		}
	}
	return false
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// sipTarget parses a SIP URI target. number is set when it names this
// PBX (the user part, to route as dialled); otherwise target is where to
// send the INVITE.
func (s self) sipTarget(to string) (number string, target dialTarget, err error) {
	var uri sipmsg.Uri
	if err := sipmsg.ParseUri(to, &uri); err != nil || uri.Host == "" {
		return "", dialTarget{}, fmt.Errorf("%w: bad SIP URI %q", ErrBadTarget, to)
	}
	if user, ok := s.localUser(uri); ok {
		if user == "" || strings.ContainsAny(user, ":@;?") {
			return "", dialTarget{}, fmt.Errorf("%w: %q names this PBX but no number", ErrBadTarget, to)
		}
		return user, dialTarget{}, nil
	}
	port := uri.Port
	if port == 0 {
		port = 5060
	}
	transport := "udp"
	if t, ok := uri.UriParams.Get("transport"); ok && t != "" {
		transport = strings.ToLower(t)
	}
	return "", dialTarget{
		uri: uri, dest: net.JoinHostPort(strings.Trim(uri.Host, "[]"), strconv.Itoa(port)), transport: transport,
		peer: uri.User + "@" + uri.Host, toUser: uri.User, music: "default",
	}, nil
}
