package media

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// Endpoint is one RTP/RTCP socket pair toward one far end: one call leg.
// One goroutine reads its RTP socket; what it reads goes to the bridged
// peer (the relay) or to the handler.
type Endpoint struct {
	e    *Engine
	rtp  *net.UDPConn
	port int

	peer    atomic.Pointer[Endpoint]
	handler atomic.Pointer[func(*rtp.Header, []byte)]

	mu        sync.Mutex // guards the fields below, never held across I/O
	remote    netip.AddrPort
	latched   bool
	codec     Codec
	dtmfPT    uint8
	timeout   time.Duration
	onTimeout func()
	timedOut  bool
	armedAt   time.Time
	lastRTCP  time.Time
	closed    bool
	rtcp      *net.UDPConn // opened once media flows

	lastPacket atomic.Int64 // unix nanoseconds of the last packet received

	out   outStream // what this endpoint sends
	stats recvStats // what this endpoint receives
}

func newEndpoint(e *Engine, rtpConn *net.UDPConn) *Endpoint {
	ep := &Endpoint{e: e, rtp: rtpConn, port: rtpConn.LocalAddr().(*net.UDPAddr).Port, codec: PCMU}
	ep.out.init(rand.Uint32())
	return ep
}

// LocalAddr is the RTP address the endpoint is bound to.
func (ep *Endpoint) LocalAddr() netip.AddrPort {
	return ep.rtp.LocalAddr().(*net.UDPAddr).AddrPort()
}

// SetRemote says where to send, from SDP. Once packets arrive the endpoint
// latches onto the address they come from (symmetric RTP).
func (ep *Endpoint) SetRemote(a netip.AddrPort) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.latched && ep.remote.Addr() == a.Addr() {
		return // keep the latched port: the far end is behind NAT
	}
	ep.remote = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	ep.latched = false
}

// Remote is where the endpoint sends.
func (ep *Endpoint) Remote() netip.AddrPort {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.remote
}

// SetCodec sets the negotiated codec and telephone-event payload type (0:
// none). It may change mid-call, after a re-INVITE.
func (ep *Endpoint) SetCodec(c Codec, dtmfPT uint8) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.codec, ep.dtmfPT = c, dtmfPT
}

// Codec is the negotiated codec.
func (ep *Endpoint) Codec() Codec {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.codec
}

func (ep *Endpoint) codecs() (Codec, uint8) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.codec, ep.dtmfPT
}

// SetHandler receives packets while the endpoint is not bridged. It runs on
// the reader goroutine; header and payload are reused after it returns.
func (ep *Endpoint) SetHandler(h func(hdr *rtp.Header, payload []byte)) {
	if h == nil {
		ep.handler.Store(nil)
		return
	}
	ep.handler.Store(&h)
}

// SetTimeout hangs the call up (onTimeout, called once from the engine's
// housekeeping) when no packet arrives for d; 0 disables, as for a held call.
func (ep *Endpoint) SetTimeout(d time.Duration, onTimeout func()) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.timeout, ep.onTimeout, ep.timedOut = d, onTimeout, false
	ep.armedAt = time.Now()
}

// WritePayload sends one packet in this endpoint's outgoing stream.
// samples is how far the timestamp advances after this packet.
func (ep *Endpoint) WritePayload(pt uint8, payload []byte, samples uint32, marker bool) error {
	dst, ok := ep.destination()
	if !ok {
		return errNoRemote
	}
	n := ep.out.local(pt, payload, samples, marker)
	defer ep.out.mu.Unlock()
	return ep.send(ep.out.buf[:n], dst)
}

var errNoRemote = errors.New("media: no remote address yet")

func (ep *Endpoint) destination() (netip.AddrPort, bool) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.remote, ep.remote.IsValid() && ep.remote.Port() != 0
}

func (ep *Endpoint) send(pkt []byte, dst netip.AddrPort) error {
	if _, err := ep.rtp.WriteToUDPAddrPort(pkt, dst); err != nil {
		return err
	}
	ep.e.packetsOut.Add(1)
	ep.e.bytesOut.Add(uint64(len(pkt)))
	ep.stats.sent(len(pkt))
	return nil
}

// Close releases the sockets; the reader goroutines end.
func (ep *Endpoint) Close() error {
	ep.mu.Lock()
	if ep.closed {
		ep.mu.Unlock()
		return nil
	}
	ep.closed = true
	rtcpConn := ep.rtcp
	ep.mu.Unlock()
	if p := ep.peer.Load(); p != nil {
		Unbridge(ep, p)
	}
	ep.rtp.Close()
	if rtcpConn != nil {
		rtcpConn.Close()
	}
	ep.e.lostClosed.Add(ep.Stats().Lost)
	ep.e.forget(ep)
	return nil
}

// readRTP is the endpoint's one RTP reader.
func (ep *Endpoint) readRTP() {
	buf := make([]byte, 1500)
	var hdr rtp.Header
	for {
		n, src, err := ep.rtp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		ep.receive(buf[:n], src, &hdr)
	}
}

// receive handles one packet read from the socket: latch, count, then relay
// or hand to the handler. It allocates nothing.
func (ep *Endpoint) receive(pkt []byte, src netip.AddrPort, hdr *rtp.Header) {
	h, ok := parseHeader(pkt)
	if !ok {
		return
	}
	now := time.Now()
	ep.lastPacket.Store(now.UnixNano())
	ep.e.packetsIn.Add(1)
	ep.e.bytesIn.Add(uint64(len(pkt)))
	ep.latch(src, h.pt)
	codec, dtmf := ep.codecs()
	if h.pt == codec.PayloadType {
		ep.stats.add(h.seq, h.ts, h.ssrc, now, len(pkt))
	}
	if peer := ep.peer.Load(); peer != nil {
		peer.forward(pkt, h, ep, codec.PayloadType, dtmf)
		return
	}
	if hp := ep.handler.Load(); hp != nil {
		hdr.Version = 2
		hdr.Marker = h.marker
		hdr.PayloadType = h.pt
		hdr.SequenceNumber = h.seq
		hdr.Timestamp = h.ts
		hdr.SSRC = h.ssrc
		(*hp)(hdr, pkt[h.off:h.end])
	}
}

// latch switches the destination to where packets really come from, once a
// packet of the negotiated kind arrives from there.
func (ep *Endpoint) latch(src netip.AddrPort, pt uint8) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	if src == ep.remote {
		ep.latched = true
		return
	}
	if pt == ep.codec.PayloadType || (ep.dtmfPT != 0 && pt == ep.dtmfPT) {
		ep.remote = src
		ep.latched = true
	}
}

// housekeep runs on the engine's goroutine: timeouts and RTCP.
func (ep *Endpoint) housekeep(now time.Time) {
	ep.mu.Lock()
	var fire func()
	if ep.timeout > 0 && !ep.timedOut && ep.onTimeout != nil {
		last := time.Unix(0, ep.lastPacket.Load())
		if last.Before(ep.armedAt) {
			last = ep.armedAt
		}
		if now.Sub(last) >= ep.timeout {
			ep.timedOut = true
			fire = ep.onTimeout
		}
	}
	rtcpDue := now.Sub(ep.lastRTCP) >= ep.e.cfg.RTCPEvery && ep.lastPacket.Load() != 0 && !ep.closed
	if rtcpDue {
		ep.lastRTCP = now
		if ep.rtcp == nil {
			ep.openRTCP()
		}
	}
	ep.mu.Unlock()
	if fire != nil {
		go fire()
	}
	if rtcpDue {
		ep.sendRTCP(now)
	}
}

// openRTCP binds the RTCP socket on the port above RTP, with mu held. When
// the port is taken the endpoint goes on without RTCP.
func (ep *Endpoint) openRTCP() {
	addr := ep.LocalAddr()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr.Addr(), addr.Port()+1)))
	if err != nil {
		ep.e.log.Debug("no rtcp socket", "port", addr.Port()+1, "error", err)
		ep.lastRTCP = time.Now().Add(time.Hour) // do not retry every tick
		return
	}
	ep.rtcp = c
	go ep.readRTCP(c)
}
