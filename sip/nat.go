package sip

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Target tells where to send a request for a binding (RFC 3261 §10.3 with
// the NAT rules of RFC 3581 and RFC 5626): the Request-URI is the contact
// as registered, but the request goes to the address and over the transport
// the REGISTER came from. A phone behind NAT is reached through the pinhole
// its REGISTER opened, and for TCP, TLS and WebSocket sipgo finds the
// phone's own connection by that address and reuses it instead of dialling
// the (often unreachable) contact host.
//
// Use it as:
//
//	uri, dest, transport, err := b.Target()
//	req := sipmsg.NewRequest(sipmsg.INVITE, uri)
//	req.SetDestination(dest)
//	req.SetTransport(transport)
//
// A binding without a recorded source falls back to the contact's own host,
// port and transport parameter.
func (b Binding) Target() (uri sipmsg.Uri, destination string, transport string, err error) {
	if err := sipmsg.ParseUri(b.Contact, &uri); err != nil {
		return uri, "", "", fmt.Errorf("sip: binding of %s: contact %q: %w", b.AOR, b.Contact, err)
	}
	if uri.Wildcard || uri.Host == "" {
		return uri, "", "", fmt.Errorf("sip: binding of %s: contact %q has no host", b.AOR, b.Contact)
	}
	transport = strings.ToUpper(b.Transport)
	if transport == "" {
		transport = natURITransport(&uri)
	}
	destination = b.Source
	if destination == "" {
		port := uri.Port
		if port == 0 {
			port = sipmsg.DefaultPort(transport)
		}
		destination = net.JoinHostPort(strings.Trim(uri.Host, "[]"), strconv.Itoa(port))
	}
	if _, _, err := net.SplitHostPort(destination); err != nil {
		return uri, "", "", fmt.Errorf("sip: binding of %s: destination %q: %w", b.AOR, destination, err)
	}
	return uri, destination, transport, nil
}

// natURITransport is the transport a URI asks for: its transport
// parameter, TLS for sips, else UDP.
func natURITransport(u *sipmsg.Uri) string {
	t := "UDP"
	if v, ok := u.UriParams.Get("transport"); ok && v != "" {
		t = strings.ToUpper(v)
	}
	if u.IsEncrypted() {
		switch t {
		case "UDP", "TCP":
			t = "TLS"
		case "WS":
			t = "WSS"
		}
	}
	return t
}
