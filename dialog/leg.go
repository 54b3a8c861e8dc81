package dialog

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"

	"pbx/media"
	"pbx/sip"
)

// dtmfPT is the payload type the PBX offers for telephone-event.
const dtmfPT = 101

// Leg is one side of a call: one SIP dialog, UAS toward a caller or UAC
// toward a callee, and the media endpoint that anchors its RTP.
type Leg struct {
	ID string // stable id used by the control planes, distinct from the SIP Call-ID

	cur        atomic.Pointer[Call]       // the call it belongs to; an attended transfer moves it
	srv        *sipgo.DialogServerSession // set on the caller's leg
	cli        *sipgo.DialogClientSession // set on a leg the PBX dialed
	ep         *media.Endpoint
	dialogID   string
	peer       string // user or trunk this leg talks to, for logs and records
	user       string // the authenticated user on the far end, "" for a trunk
	musicClass string // what the far end hears when held

	mu        sync.Mutex
	remote    sip.SessionDesc // the far end's last SDP
	codec     sip.SDPCodec    // codec in use toward this far end
	dtmf      uint8           // telephone-event PT the far end uses, 0 if none
	sessID    uint64
	version   uint64
	answered  time.Time
	sessTimer *time.Timer
	detached  bool          // transferred away: its BYE no longer ends the call
	byeSent   bool          // the PBX has sent, or the far end has sent, BYE
	gone      chan struct{} // closed when the far end of a detached leg hangs up
	keys      keyBuffer
	collector chan<- media.Digit // an application reading this leg's keys
	interrupt func()             // stops a prompt that keys interrupt
}

func newLeg(id string, call *Call, ep *media.Endpoint) *Leg {
	l := &Leg{ID: id, ep: ep, sessID: uint64(time.Now().UnixNano() / 1000), gone: make(chan struct{})}
	l.cur.Store(call)
	ep.OnDigit(l.heardDigit)
	return l
}

// call is the call the leg belongs to now.
func (l *Leg) call() *Call { return l.cur.Load() }

// sdp builds the PBX's SDP for this leg: an offer, or with the offer's
// streams an answer that mirrors its m-lines. Each call bumps the version,
// as a new offer or answer must.
func (l *Leg) sdp(codecs []sip.SDPCodec, dtmf uint8, direction string, streams []sip.SDPStream) []byte {
	l.mu.Lock()
	l.version++
	v := l.version
	l.mu.Unlock()
	return sip.BuildSDP(sip.SDPOptions{
		SessionID: l.sessID, Version: v, Addr: l.localAddr(),
		Codecs: codecs, DTMF: dtmf, Direction: direction, UserAgent: "pbx", Streams: streams,
	})
}

// localAddr is the address written in SDP: the PBX's SIP host and the
// endpoint's port.
func (l *Leg) localAddr() netip.AddrPort {
	host := l.call().e.stack.Host()
	a, err := netip.ParseAddr(host)
	if err != nil {
		a = netip.MustParseAddr("127.0.0.1")
	}
	return netip.AddrPortFrom(a, l.ep.LocalAddr().Port())
}

// applyRemote points the endpoint at the far end's SDP and sets the codec.
func (l *Leg) applyRemote(d sip.SessionDesc, codec sip.SDPCodec) {
	l.mu.Lock()
	l.remote, l.codec, l.dtmf = d, codec, d.DTMF
	l.mu.Unlock()
	if d.Addr.Port() != 0 && !d.Addr.Addr().IsUnspecified() {
		l.ep.SetRemote(d.Addr)
	}
	l.ep.SetCodec(mediaCodec(codec), d.DTMF)
	// A far end without telephone-events keys its digits as tones.
	l.ep.SetInbandDTMF(d.DTMF == 0 && l.call().e.cfg.Media.InbandDTMF)
}

func (l *Leg) currentCodec() sip.SDPCodec {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.codec
}

func mediaCodec(c sip.SDPCodec) media.Codec {
	if mc, ok := media.CodecByName(c.Name); ok {
		return mc
	}
	return media.Codec{Name: c.Name, PayloadType: c.PayloadType, ClockRate: c.ClockRate}
}

// supportedCodecs turns the configured codec names into SDP codecs.
func supportedCodecs(names []string) []sip.SDPCodec {
	out := make([]sip.SDPCodec, 0, len(names))
	for _, n := range names {
		if mc, ok := media.CodecByName(n); ok {
			out = append(out, sip.SDPCodec{Name: mc.Name, PayloadType: mc.PayloadType, ClockRate: mc.ClockRate})
		}
	}
	return out
}

// offerCodecs orders the PBX's codecs for an offer toward a callee: the
// caller's codecs first, in its order, so that the legs can share one codec
// and the relay needs no transcoding; then the rest the PBX supports.
func offerCodecs(callerOffer sip.SessionDesc, supported []sip.SDPCodec) []sip.SDPCodec {
	out := make([]sip.SDPCodec, 0, len(supported))
	for _, c := range callerOffer.Codecs {
		for _, s := range supported {
			if s.Name == c.Name && !containsCodec(out, s.Name) {
				out = append(out, s)
			}
		}
	}
	for _, s := range supported {
		if !containsCodec(out, s.Name) {
			out = append(out, s)
		}
	}
	return out
}

func containsCodec(cs []sip.SDPCodec, name string) bool {
	for _, c := range cs {
		if c.Name == name {
			return true
		}
	}
	return false
}

// codecFor picks the codec toward a far end whose offer is d: prefer, if
// that far end offers it, the codec the other leg uses (no transcoding).
func codecFor(d sip.SessionDesc, prefer string, supported []string) (sip.SDPCodec, error) {
	for _, c := range d.Codecs {
		if c.Name == prefer {
			return c, nil
		}
	}
	c, _, err := sip.Negotiate(d, supported)
	return c, err
}
