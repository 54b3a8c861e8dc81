package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// StackOptions says where the stack listens and how it presents itself.
type StackOptions struct {
	UDP, TCP, TLS string      // listen addresses; "" disables the transport; ":0" picks a free port
	TLSConfig     *tls.Config // required when TLS is set
	Host          string      // address written in Via and Contact; "" = the bound address (127.0.0.1 when unspecified)
	UserAgent     string
	ReadFilter    sipmsg.TransportReadFilter // drops input before parsing (the guard's bans)
	Logger        *slog.Logger

	// TCP and TLS connections open at once, in all and from one source
	// address; past either a new connection is closed on accept. 0 takes
	// the defaults: a tenth of the open-file limit (at least 64), and 128.
	MaxTCPConns, MaxTCPConnsPerIP int
}

// Stack is the PBX's SIP endpoint: one sipgo user agent with its server,
// and one client per transport so that requests leave from the port the
// transport listens on (far ends answer and call back to that port).
//
// Anyone who can reach a SIP port can make sipgo log, so everything sipgo
// logs goes through a LogLimiter, with the levels of the events a sender
// causes lowered (see sipgoLogHandler); requests for methods no handler
// serves are answered by the stack itself, statelessly (noRoute).
type Stack struct {
	UA     *sipgo.UserAgent
	Server *sipgo.Server

	opts     StackOptions
	log      *slog.Logger
	limiter  *LogLimiter
	sipgoLog *slog.Logger // for sipgo: limited, levels adapted
	peerLog  *slog.Logger // for events a remote sender causes at will: limited
	mu       sync.Mutex
	addrs    map[string]netip.AddrPort // "UDP", "TCP", "TLS" -> bound address
	clients  map[string]*sipgo.Client
	autoHost string // Host when bound to all addresses, found once
	closers  []func() error
	conns    map[string]*connLimitListener // "TCP", "TLS"
	strayOK  atomic.Pointer[func(*sipmsg.Response) bool]
}

// NewStack builds the user agent and server. Nothing listens until Listen.
func NewStack(o StackOptions) (*Stack, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.UserAgent == "" {
		o.UserAgent = "pbx"
	}
	s := &Stack{opts: o, log: o.Logger, limiter: NewLogLimiter(0, 0),
		addrs: map[string]netip.AddrPort{}, clients: map[string]*sipgo.Client{}, conns: map[string]*connLimitListener{}}
	s.sipgoLog = slog.New(&sipgoLogHandler{next: s.limiter.Handler(o.Logger.Handler())})
	s.peerLog = s.limiter.Logger(o.Logger)

	tpOpts := []sipmsg.TransportLayerOption{sipmsg.WithTransportLayerLogger(s.sipgoLog)}
	if o.ReadFilter != nil {
		tpOpts = append(tpOpts, sipmsg.WithTransportLayerReadFilter(o.ReadFilter))
	}
	uaOpts := []sipgo.UserAgentOption{
		sipgo.WithUserAgent(o.UserAgent),
		sipgo.WithUserAgentTransportLayerOptions(tpOpts...),
		sipgo.WithUserAgentTransactionLayerOptions(
			sipmsg.WithTransactionLayerLogger(s.sipgoLog),
			sipmsg.WithTransactionLayerUnhandledResponseHandler(s.strayResponse)),
	}
	if o.TLSConfig != nil {
		uaOpts = append(uaOpts, sipgo.WithUserAgenTLSConfig(o.TLSConfig))
	}
	ua, err := sipgo.NewUA(uaOpts...)
	if err != nil {
		return nil, fmt.Errorf("sip: new user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(s.sipgoLog))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("sip: new server: %w", err)
	}
	srv.OnNoRoute(s.noRoute)
	s.UA, s.Server = ua, srv
	return s, nil
}

// PeerLogger is the stack's logger limited by its LogLimiter: for the
// events a remote sender can cause at will (a failed authentication, a
// malformed or unroutable request), so a flood of them writes a few lines
// and a count rather than a line each.
func (s *Stack) PeerLogger() *slog.Logger { return s.peerLog }

// OnStrayInviteOK sets f to take the 2xx responses to INVITE that match no
// client transaction: a callee's answer that crossed a CANCEL the PBX
// already gave up on reaches the stack only this way, and the dialog
// engine must ACK and hang it up. f returns whether it took the response;
// it runs on a transport's reading goroutine, so it must not block.
func (s *Stack) OnStrayInviteOK(f func(*sipmsg.Response) bool) { s.strayOK.Store(&f) }

// strayResponse takes the responses that match no client transaction:
// retransmissions after a transaction ended, or anything a sender makes up.
// A 2xx to INVITE goes to the OnStrayInviteOK hook first.
func (s *Stack) strayResponse(res *sipmsg.Response) {
	if f := s.strayOK.Load(); f != nil && res.IsSuccess() {
		if cseq := res.CSeq(); cseq != nil && cseq.MethodName == sipmsg.INVITE && (*f)(res) {
			return
		}
	}
	s.peerLog.Debug("sip: response matches no transaction", "status", res.StatusCode, "source", res.Source())
}

// Listen binds every configured transport and serves them until Close
// (not when ctx ends: requests such as trunk unregistrations still leave
// during shutdown). It returns once all listeners are bound, so Addr is
// valid.
// TCP given as ":0" after UDP reuses UDP's port when it can, so that one
// port number serves both, as phones expect.
func (s *Stack) Listen(ctx context.Context) error {
	if s.opts.UDP != "" {
		pc, err := net.ListenPacket("udp", s.opts.UDP)
		if err != nil {
			return fmt.Errorf("sip: listen udp %s: %w", s.opts.UDP, err)
		}
		s.bound("UDP", pc.LocalAddr(), pc.Close)
		go s.serve("UDP", func() error { return s.Server.ServeUDP(pc) })
		if err := WaitUDPServing(s.UA, pc.LocalAddr().String()); err != nil {
			return err
		}
	}
	for _, t := range []struct{ name, addr string }{{"TCP", s.opts.TCP}, {"TLS", s.opts.TLS}} {
		if t.addr == "" {
			continue
		}
		addr := t.addr
		if t.name == "TCP" && strings.HasSuffix(addr, ":0") {
			if u, ok := s.addrs["UDP"]; ok {
				addr = strings.TrimSuffix(addr, "0") + strconv.Itoa(int(u.Port()))
			}
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil && addr != t.addr {
			ln, err = net.Listen("tcp", t.addr)
		}
		if err != nil {
			return fmt.Errorf("sip: listen %s %s: %w", strings.ToLower(t.name), t.addr, err)
		}
		if t.name == "TLS" && s.opts.TLSConfig == nil {
			ln.Close()
			return errors.New("sip: tls listener needs a certificate")
		}
		limited := newConnLimitListener(ln, s.opts.MaxTCPConns, s.opts.MaxTCPConnsPerIP, s.peerLog)
		s.mu.Lock()
		s.conns[t.name] = limited
		s.mu.Unlock()
		s.bound(t.name, ln.Addr(), ln.Close)
		if t.name == "TLS" {
			go s.serve("TLS", func() error { return s.Server.ServeTLS(tls.NewListener(limited, s.opts.TLSConfig)) })
			continue
		}
		go s.serve(t.name, func() error { return s.Server.ServeTCP(limited) })
	}
	return nil
}

func (s *Stack) bound(transport string, a net.Addr, closer func() error) {
	ap, _ := netip.ParseAddrPort(a.String())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addrs[transport] = ap
	s.closers = append(s.closers, closer)
	s.log.Info("sip listening", "transport", transport, "addr", ap.String())
}

func (s *Stack) serve(transport string, f func() error) {
	if err := f(); err != nil && !errors.Is(err, net.ErrClosed) {
		s.log.Debug("sip listener stopped", "transport", transport, "error", err)
	}
}

// OpenConns is the number of TCP or TLS connections accepted on a
// transport and not yet closed, for metrics.
func (s *Stack) OpenConns(transport string) int {
	s.mu.Lock()
	l := s.conns[strings.ToUpper(transport)]
	s.mu.Unlock()
	if l == nil {
		return 0
	}
	return l.open()
}

// Addr is the address a transport is bound to.
func (s *Stack) Addr(transport string) (netip.AddrPort, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.addrs[strings.ToUpper(transport)]
	return a, ok
}

// Host is the address the PBX writes into Via, Contact and SDP: the
// configured one, else the address a transport is bound to, else (bound
// to all addresses) the machine's first non-loopback IPv4 address, so
// phones on the LAN can reach it without configuration.
func (s *Stack) Host() string {
	if s.opts.Host != "" {
		return s.opts.Host
	}
	for _, t := range []string{"UDP", "TCP", "TLS"} {
		if a, ok := s.Addr(t); ok && !a.Addr().IsUnspecified() {
			return a.Addr().Unmap().String()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.autoHost == "" {
		s.autoHost = "127.0.0.1"
		if ip, _, err := sipmsg.ResolveInterfacesIP("ip4", nil); err == nil && ip != nil {
			s.autoHost = ip.String()
		}
	}
	return s.autoHost
}

// Contact is the PBX's Contact header for a transport.
func (s *Stack) Contact(transport string) sipmsg.ContactHeader {
	transport = normTransport(transport)
	a, _ := s.Addr(transport)
	c := sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", Host: s.Host(), Port: int(a.Port())}}
	if transport != "UDP" {
		c.Address.UriParams = sipmsg.NewParams()
		c.Address.UriParams.Add("transport", strings.ToLower(transport))
	}
	return c
}

// Client is the sipgo client whose requests leave through the given
// transport's listening address.
func (s *Stack) Client(transport string) (*sipgo.Client, error) {
	transport = normTransport(transport)
	host := s.Host() // before the lock: Host takes it too
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[transport]; ok {
		return c, nil
	}
	a, ok := s.addrs[transport]
	if !ok {
		return nil, fmt.Errorf("sip: transport %s is not listening", transport)
	}
	opts := []sipgo.ClientOption{sipgo.WithClientHostname(host), sipgo.WithClientPort(int(a.Port())), sipgo.WithClientLogger(s.sipgoLog)}
	if transport == "UDP" {
		// Send from the listening socket: sipgo finds it in its pool under
		// the socket's own address.
		opts = append(opts, sipgo.WithClientConnectionAddr(a.String()))
	}
	c, err := sipgo.NewClient(s.UA, opts...)
	if err != nil {
		return nil, fmt.Errorf("sip: client %s: %w", transport, err)
	}
	s.clients[transport] = c
	return c, nil
}

// DialogUA is a sipgo dialog user agent bound to a transport.
func (s *Stack) DialogUA(transport string) (*sipgo.DialogUA, error) {
	c, err := s.Client(transport)
	if err != nil {
		return nil, err
	}
	return &sipgo.DialogUA{Client: c, ContactHDR: s.Contact(transport), RewriteContact: true}, nil
}

// Close stops the listeners and the user agent, then writes the counts of
// log lines still held back by the limiter.
func (s *Stack) Close() error {
	s.mu.Lock()
	closers := s.closers
	s.closers = nil
	s.mu.Unlock()
	for _, c := range closers {
		c()
	}
	var err error
	if closers != nil {
		err = s.UA.Close()
	}
	s.limiter.Close()
	return err
}

// WaitUDPServing waits until sipgo serves a UDP socket, so requests can
// leave from it: ServeUDP registers the socket from its own goroutine.
func WaitUDPServing(ua *sipgo.UserAgent, addr string) error {
	deadline := time.Now().Add(2 * time.Second)
	for {
		if c, err := ua.TransportLayer().GetConnection("udp", addr); err == nil && c != nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sip: udp %s is not serving", addr)
		}
		time.Sleep(time.Millisecond)
	}
}

func normTransport(t string) string {
	t = strings.ToUpper(t)
	if t == "" {
		return "UDP"
	}
	return t
}
