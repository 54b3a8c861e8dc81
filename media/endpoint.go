package media

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// ErrNoRemote is returned by WritePayload before the endpoint knows where
// to send: no SDP address yet and no packet to latch onto.
var ErrNoRemote = errors.New("media: no remote RTP address")

// endpointIDs names endpoints across engines, to tell relay sources apart.
var endpointIDs atomic.Uint64

// Endpoint is one RTP/RTCP socket pair toward one far end: one call leg.
// One goroutine reads its RTP socket; the engine's housekeeping goroutine
// drains its RTCP socket. What the RTP reader receives goes to the
// bridged peer (the relay) or, when not bridged, to the handler. Writers
// (the peer's reader, WritePayload, housekeeping) never wait on the
// reader. Thousands are open at once, so what each holds is kept small:
// no buffer of its own (see rtpSocket), state most calls never use made
// on first use, and a reader whose stack stays at the 2 KB a goroutine
// starts with while it relays.
type Endpoint struct {
	e    *Engine
	id   uint64
	sock rtpSocket // RTP
	// rtcp is the RTCP socket, on the RTP port + 1. It opens once RTP
	// flows (openRTCP), so a leg that carries no media costs one socket,
	// not two, and the file-descriptor limit stretches twice as far.
	rtcp  atomic.Pointer[net.UDPConn]
	local netip.AddrPort

	// Read per packet, so swapped atomically rather than locked.
	peer       atomic.Pointer[Endpoint]
	handler    atomic.Pointer[func(*rtp.Header, []byte)]
	codec      atomic.Pointer[codecState]
	remote     atomic.Pointer[netip.AddrPort] // where RTP goes: from SDP, then latched
	rtcpRemote atomic.Pointer[netip.AddrPort] // where RTCP came from, once it has
	lastPacket atomic.Int64                   // since the engine's epoch, +1; 0 before any packet
	inHandler  atomic.Bool
	// closed is read on every generated packet, so it is atomic; it is
	// set under mu, so that what mu guards sees it change in order.
	closed atomic.Bool

	packetsOut, bytesOut atomic.Uint64

	mu        sync.Mutex // guards the fields below; never held across I/O or callbacks
	sdpRemote netip.AddrPort
	timeout   time.Duration
	onTimeout func()
	armedAt   time.Time
	fired     bool

	nextRTCP time.Time // housekeeping goroutine only

	out  outStream
	rx   rxStats
	dtmf dtmfState

	// wmu serialises every send of RTP, relayed or written, around w, so
	// packets leave in the order they were numbered.
	wmu sync.Mutex
	w   socketWriter

	hdr *rtp.Header // the reader's, handed to the handler; made by the first delivery

	reading sync.WaitGroup // the RTP reader, until it returns
}

func newEndpoint(e *Engine, rtpConn *net.UDPConn, now time.Time) (*Endpoint, error) {
	sock, err := newRTPSocket(rtpConn)
	if err != nil {
		return nil, err
	}
	local := rtpConn.LocalAddr().(*net.UDPAddr).AddrPort()
	ep := &Endpoint{
		e:       e,
		id:      endpointIDs.Add(1),
		sock:    sock,
		local:   netip.AddrPortFrom(local.Addr().Unmap(), local.Port()),
		timeout: e.cfg.Timeout,
		armedAt: now,
	}
	ep.w.init()
	ep.codec.Store(newCodecState(PCMU, 0))
	ep.out.init(rand.Uint32(), uint16(rand.Uint32()), rand.Uint32())
	// Stagger the first report so endpoints made together do not report
	// together forever after.
	ep.nextRTCP = now.Add(e.cfg.RTCPEvery/2 + rand.N(e.cfg.RTCPEvery/2+1))
	return ep, nil
}

// LocalAddr is the RTP address the endpoint is bound to, for the SDP the
// signalling layer sends. Its RTCP port is one above.
func (ep *Endpoint) LocalAddr() netip.AddrPort { return ep.local }

// SSRC is the synchronisation source of what this endpoint sends.
func (ep *Endpoint) SSRC() uint32 { return ep.out.ssrc }

// SetRemote says where to send, from SDP. Symmetric RTP then takes over:
// once packets of a negotiated payload type arrive from elsewhere (a phone
// behind NAT, a NAT rebinding), the endpoint sends where they come from.
// Setting the address the last SDP already gave keeps a latched one, so
// a re-INVITE that changes nothing does not undo NAT traversal. An
// unspecified address or port 0 stops sending.
func (ep *Endpoint) SetRemote(addr netip.AddrPort) {
	addr = unmap(addr)
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if addr == ep.sdpRemote {
		return
	}
	ep.sdpRemote = addr
	ep.rtcpRemote.Store(nil)
	if !addr.IsValid() || addr.Port() == 0 || addr.Addr().IsUnspecified() {
		ep.remote.Store(nil)
		return
	}
	p := new(netip.AddrPort)
	*p = addr
	ep.remote.Store(p)
}

// Remote is where the endpoint sends RTP now, latched or from SDP; the
// zero AddrPort when it does not know.
func (ep *Endpoint) Remote() netip.AddrPort {
	if p := ep.remote.Load(); p != nil {
		return *p
	}
	return netip.AddrPort{}
}

// latch moves the destination to src once a packet of a negotiated payload
// type (expected) comes from there. Only a change allocates.
func (ep *Endpoint) latch(src netip.AddrPort, expected bool) {
	cur := ep.remote.Load()
	if cur != nil && *cur == src || !expected {
		return
	}
	p := new(netip.AddrPort)
	*p = src
	ep.remote.Store(p)
	ep.rtcpRemote.Store(nil)
	// slog builds its record in a frame of about 1 KB before it asks
	// whether the level is on: asked first, the reader's stack does not
	// grow for a line nobody reads.
	if !ep.e.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	var from netip.AddrPort
	if cur != nil {
		from = *cur
	}
	ep.e.log.Debug("rtp source latched", "local", ep.local, "from", from, "to", src)
}

// SetCodec sets the negotiated codec and the telephone-event payload type
// (0 for none). It may be called again mid-call, after a re-INVITE: the
// outgoing stream keeps its SSRC and numbering, and a bridge starts or
// stops transcoding with the next packet.
func (ep *Endpoint) SetCodec(c Codec, dtmfPT uint8) {
	cs := newCodecState(c, dtmfPT)
	ep.codec.Store(cs)
	if p := ep.peer.Load(); p != nil {
		if _, ok := transcoder(cs, p.codec.Load()); !ok {
			ep.e.log.Warn("bridged codecs cannot be converted; audio is dropped",
				"local", ep.local, "codec", c.Name, "peer_codec", p.Codec().Name)
		}
	}
}

// Codec is the negotiated codec.
func (ep *Endpoint) Codec() Codec { return ep.codec.Load().codec }

// SetHandler sets what receives packets while the endpoint is not bridged:
// every RTP packet that parses, whatever its payload type. It is called on
// the reader goroutine, so it must be quick; hdr and payload are reused
// once it returns. nil drops packets.
func (ep *Endpoint) SetHandler(h func(hdr *rtp.Header, payload []byte)) {
	if h == nil {
		ep.handler.Store(nil)
		return
	}
	ep.handler.Store(&h)
}

// SetTimeout watches for RTP inactivity: when no packet arrives for d,
// onTimeout is called once, from the engine's housekeeping goroutine (it
// must not block, nor call Engine.Close). d = 0 disables the watch, as for
// a held call. Each call re-arms it, counting from now.
func (ep *Endpoint) SetTimeout(d time.Duration, onTimeout func()) {
	now := ep.e.now()
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.timeout, ep.onTimeout, ep.armedAt, ep.fired = d, onTimeout, now, false
}

// expired says whether the inactivity watch fires now, and with what.
func (ep *Endpoint) expired(now time.Time) (fire func(), ok bool) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.closed.Load() || ep.timeout <= 0 || ep.fired {
		return nil, false
	}
	last := ep.armedAt
	if lp := ep.lastPacket.Load(); lp != 0 {
		if t := ep.e.epoch.Add(time.Duration(lp - 1)); t.After(last) {
			last = t
		}
	}
	if now.Sub(last) < ep.timeout {
		return nil, false
	}
	ep.fired = true
	return ep.onTimeout, true
}

// WritePayload sends one packet in this endpoint's outgoing stream, under
// its SSRC, with the next sequence number and the local timestamp;
// samples is how far that timestamp advances for the next packet written.
// marker starts a talkspurt: the timestamp then moves on by the time since
// the stream's last packet, so a writer that paused need not count it.
// It may be called from any goroutine, also while bridged: the stream
// stays continuous either way.
func (ep *Endpoint) WritePayload(pt uint8, payload []byte, samples uint32, marker bool) error {
	if pt > 127 {
		return fmt.Errorf("media: write to %s: payload type %d out of range", ep.local, pt)
	}
	if len(payload) > maxDatagram-rtpHeaderLen {
		return fmt.Errorf("media: write %d bytes to %s: %w", len(payload), ep.local, errPayloadTooBig)
	}
	dst := ep.remote.Load()
	if dst == nil {
		return fmt.Errorf("media: write to %s: %w", ep.local, ErrNoRemote)
	}
	cs := ep.codec.Load()
	now := ep.e.now()
	buf := datagramBufs.Get().(*[maxDatagram]byte)
	defer datagramBufs.Put(buf)
	ep.wmu.Lock()
	defer ep.wmu.Unlock()
	n := ep.out.local(buf[:], pt, payload, samples, marker, cs, now)
	ep.countOut(n)
	if err := ep.w.write(&ep.sock, buf[:n], *dst); err != nil {
		ep.uncountOut(n)
		ep.out.unsend(buf[:n])
		return fmt.Errorf("media: send rtp from %s to %s: %w", ep.local, *dst, err)
	}
	return nil
}

// writeGenerated sends a frame the PBX made (a prompt, music, a mix) unless
// a key press is going out: the press has the stream to itself meanwhile.
func (ep *Endpoint) writeGenerated(pt uint8, payload []byte, samples uint32, marker bool) {
	if ep.dtmf.busy.Load() {
		return
	}
	_ = ep.WritePayload(pt, payload, samples, marker) // a failed write loses this frame only
}

// countOut counts a packet of n bytes before it is written, so the
// counters never lag what the far end has received; uncountOut takes it
// back when the write fails.
func (ep *Endpoint) countOut(n int) {
	ep.packetsOut.Add(1)
	ep.bytesOut.Add(uint64(n))
}

func (ep *Endpoint) uncountOut(n int) {
	ep.packetsOut.Add(^uint64(0))
	ep.bytesOut.Add(-uint64(n))
}

// Stats reads the endpoint's counters.
func (ep *Endpoint) Stats() Stats {
	var s Stats
	ep.rx.snapshot(&s)
	s.PacketsOut, s.BytesOut = ep.packetsOut.Load(), ep.bytesOut.Load()
	if lp := ep.lastPacket.Load(); lp != 0 {
		s.LastPacket = ep.e.epoch.Add(time.Duration(lp - 1))
	}
	return s
}

func (ep *Endpoint) isClosed() bool { return ep.closed.Load() }

// rtpPort is the port the RTP socket holds in the engine's pool.
func (ep *Endpoint) rtpPort() int { return int(ep.local.Port()) }

// Close unbridges the endpoint, says RTCP BYE, closes both sockets, ends
// the reader goroutine and returns the ports to the pool. Closing twice
// is harmless. Called from the endpoint's own handler, it does not wait for
// the reader, which ends as soon as the handler returns.
func (ep *Endpoint) Close() error {
	ep.mu.Lock()
	if ep.closed.Load() {
		ep.mu.Unlock()
		return nil
	}
	ep.closed.Store(true)
	ep.mu.Unlock()
	ep.unbridgeAll()
	ep.handler.Store(nil)
	ep.sendBye()
	err := ep.sock.conn.Close()
	if c := ep.rtcp.Load(); c != nil {
		err = errors.Join(err, c.Close())
	}
	if !ep.inHandler.Load() {
		ep.reading.Wait()
	}
	ep.e.forget(ep)
	if err != nil {
		return fmt.Errorf("media: close endpoint %s: %w", ep.local, err)
	}
	return nil
}

// readRTP is the endpoint's one RTP reader. It holds a buffer only while
// a datagram is in hand (see rtpSocket). Its frame is kept small, and
// what is rare kept out of it, because the relay path runs on top of it
// and the whole path fits in a goroutine's first 2 KB of stack.
func (ep *Endpoint) readRTP() {
	defer ep.readerDone()
	r := newSocketReader()
	for {
		pkt, src, err := r.next(&ep.sock)
		if err != nil {
			if ep.readFailed(err) {
				return
			}
			continue
		}
		ep.receive(pkt, src)
		r.release()
	}
}

func (ep *Endpoint) readerDone() {
	ep.reading.Done()
	ep.e.readers.Done()
}

// readFailed says whether a failed read means the socket is closed; any
// other failure is logged and reading goes on.
//
//go:noinline
func (ep *Endpoint) readFailed(err error) bool {
	if errors.Is(err, net.ErrClosed) || ep.isClosed() {
		return true
	}
	ep.e.log.Debug("rtp read failed", "local", ep.local, "error", err)
	return false
}

// receive handles one datagram read from the RTP socket: parse, latch,
// count, then relay to the peer or hand to the handler. RTCP multiplexed
// on the RTP port is passed to the RTCP path. On RTP it allocates nothing.
func (ep *Endpoint) receive(pkt []byte, src netip.AddrPort) {
	if isRTCP(pkt) {
		ep.receiveRTCP(pkt, src, false)
		return
	}
	h, err := parseRTP(pkt)
	if err != nil {
		return
	}
	now := ep.e.now()
	since := now.Sub(ep.e.epoch)
	cs := ep.codec.Load()
	audio := h.pt == cs.codec.PayloadType
	event := cs.dtmfPT != 0 && h.pt == cs.dtmfPT
	ep.latch(unmap(src), audio || event)
	ep.rx.update(&h, len(pkt), audio, cs.clock, arrivalUnits(since, cs.clock))
	ep.lastPacket.Store(int64(since) + 1)
	switch {
	case event:
		ep.receiveEvent(&h, pkt[h.off:h.end], cs, now)
	case audio && ep.dtmf.inbandOn.Load():
		ep.receiveInband(pkt[h.off:h.end], cs)
	}
	if peer := ep.peer.Load(); peer != nil {
		peer.relay(pkt, &h, ep.id, cs, now)
		return
	}
	if hp := ep.handler.Load(); hp != nil {
		ep.deliver(*hp, pkt, &h)
	}
}

// deliver hands a packet to the handler with a reused rtp.Header.
func (ep *Endpoint) deliver(handler func(*rtp.Header, []byte), pkt []byte, h *rtpView) {
	if ep.hdr == nil {
		ep.hdr = new(rtp.Header) // once: most endpoints only relay
	}
	hdr := ep.hdr
	if _, err := hdr.Unmarshal(pkt); err != nil {
		// parseRTP accepted it: keep what it read, without extensions.
		*hdr = rtp.Header{Version: 2, CSRC: hdr.CSRC[:0], Extensions: hdr.Extensions[:0]}
		hdr.Marker, hdr.PayloadType, hdr.SequenceNumber, hdr.Timestamp, hdr.SSRC = h.marker, h.pt, h.seq, h.ts, h.ssrc
	}
	ep.inHandler.Store(true)
	defer ep.inHandler.Store(false)
	handler(hdr, pkt[h.off:h.end])
}

// housekeep runs on the engine's goroutine: the inactivity watch, then
// RTCP when due.
func (ep *Endpoint) housekeep(now time.Time) {
	if fire, ok := ep.expired(now); ok {
		if fire != nil {
			fire()
		} else {
			ep.e.log.Info("rtp inactivity timeout", "local", ep.local, "remote", ep.Remote())
		}
	}
	ep.tickDTMF(now)
	ep.drainRTCP(ep.e.rtcpBuf[:])
	if now.Before(ep.nextRTCP) || ep.isClosed() {
		return
	}
	ep.nextRTCP = now.Add(ep.e.cfg.RTCPEvery)
	ep.sendReport(now)
}

// unmap turns an IPv4-mapped IPv6 address, as a dual-stack socket reports
// it, into plain IPv4 so addresses compare equal.
func unmap(a netip.AddrPort) netip.AddrPort {
	if a.Addr().Is4In6() {
		return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	}
	return a
}

// openRTCP binds the RTCP socket and starts its reader, once the endpoint
// has carried RTP. It runs on the housekeeping goroutine. When the port is
// taken by someone else, the endpoint goes on without RTCP.
func (ep *Endpoint) openRTCP() *net.UDPConn {
	if c := ep.rtcp.Load(); c != nil {
		return c
	}
	if ep.lastPacket.Load() == 0 && ep.packetsOut.Load() == 0 {
		return nil
	}
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.closed.Load() {
		return nil
	}
	c, err := ep.e.pool.listen(ep.rtpPort() + 1)
	if err != nil {
		ep.e.log.Debug("no rtcp socket", "local", ep.local, "error", err)
		return nil
	}
	ep.rtcp.Store(c)
	return c
}
