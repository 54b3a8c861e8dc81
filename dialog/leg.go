package dialog

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo"

	"pbx/media"
	"pbx/sip"
)

// dtmfPT is the payload type the PBX offers for telephone-event.
const dtmfPT = 101

// Direction says who placed a leg: the far end (inbound) or the PBX.
type Direction string

// Directions.
const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// LegState is where a leg is in its life: ringing → early → answered →
// held → ended. A held leg returns to answered when it resumes.
type LegState int

// Leg states.
const (
	StateRinging LegState = iota
	StateEarly
	StateAnswered
	StateHeld
	StateEnded
)

var stateNames = [...]string{"ringing", "early", "answered", "held", "ended"}

func (s LegState) String() string { return stateNames[s] }

// LegInfo is a snapshot of a leg, safe to keep and to read from any
// goroutine.
type LegInfo struct {
	ID        string
	CallID    string // the call record the leg belongs to
	SIPCallID string // the Call-ID of the leg's SIP dialog; "" until it has one
	Direction Direction
	From, To  string
	Context   string // inbound: the dial-plan rule that offered it; outbound: the originator's context
	State     LegState
	Codec     string
	BridgeID  string
	Owner     string // the control-plane session commanding it, "" for the dial plan
	Created   time.Time
	Answered  time.Time
}

// Leg is one side of a call: one SIP dialog, UAS toward a caller or UAC
// toward a callee, and the media endpoint that anchors its RTP. It is
// registered by id from the moment it exists until it ends.
//
// Signalling changes of one leg (SIP requests, commands, media events)
// run one at a time on its serial queue (ops). mu guards the fields below
// it for short reads and writes; no I/O happens under mu, and mu is never
// held while a bridge's lock is taken (bridge.mu, then leg.mu).
type Leg struct {
	id        string
	dir       Direction
	e         *Engine
	call      *Call
	from      string
	to        string
	context   string
	ep        *media.Endpoint
	log       *slog.Logger
	ops       serial
	final     chan struct{} // inbound: closed once the INVITE has its final response
	finalOnce sync.Once
	ctx       context.Context // done when the leg has ended
	cancel    context.CancelFunc

	peer       string // user or trunk this leg talks to, for logs and records
	user       string // the authenticated user on the far end, "" for a trunk
	musicClass string // what the far end hears when held

	mu           sync.Mutex
	srv          *sipgo.DialogServerSession // inbound
	cli          *sipgo.DialogClientSession // outbound, once a fork answered
	dialogID     string
	sipCallID    string
	cancelDial   context.CancelFunc // outbound, while it rings
	state        LegState
	bridge       *Bridge
	owner        string
	remote       sip.SessionDesc // the far end's last SDP
	invite       [][2]string     // the headers of the initial INVITE (LegHeaders)
	codec        sip.SDPCodec    // codec in use toward this far end
	dtmf         uint8           // telephone-event PT the far end uses, 0 if none
	sessID       uint64
	version      uint64
	created      time.Time
	answeredAt   time.Time
	phoneHeld    bool         // the far end put the call on hold (sendonly, inactive)
	hold         string       // music class the leg hears by Hold, "" when not held
	soloTransfer bool         // a transfer of this leg alone (no transferor) is under way
	park         string       // music class the leg hears while parked, "" for silence
	music        *media.Music // what a parked leg hears
	playing      int          // prompts playing straight to the parked leg
	tapped       bool         // a program takes its incoming audio (Echo, Capture)
	sessTimer    Timer
	keys         keySubscribers
	features     bool // the feature codes listen to its keys
	roomKeys     bool // the conference mute key listens to its keys
	byeDone      bool // BYE sent or received: no BYE to send at the end
	cause        Cause
	onEnds       []func() // run when the leg ends, on its queue; they must not block
}

func (e *Engine) newLeg(dir Direction, call *Call, ep *media.Endpoint, from, to, ctxName string) *Leg {
	now := e.clock.Now()
	l := &Leg{
		id: e.newID(), dir: dir, e: e, call: call, from: from, to: to, context: ctxName, ep: ep,
		final: make(chan struct{}), created: now, sessID: uint64(now.UnixNano() / 1000),
	}
	l.ops.wg = &e.wg
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.log = e.log.With("call", call.ID, "leg", l.id)
	ep.OnDigit(func(d media.Digit, src media.DigitSource) { l.ops.post(func() { l.heardDigit(d, src) }) })
	return l
}

// ID is the leg's stable id, distinct from its SIP Call-ID.
func (l *Leg) ID() string { return l.id }

// Info takes a snapshot of the leg.
func (l *Leg) Info() LegInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	li := LegInfo{
		ID: l.id, CallID: l.call.ID, SIPCallID: l.sipCallID, Direction: l.dir, From: l.from, To: l.to, Context: l.context,
		State: l.state, Codec: l.codec.Name, Owner: l.owner, Created: l.created, Answered: l.answeredAt,
	}
	if l.bridge != nil {
		li.BridgeID = l.bridge.id
	}
	return li
}

func (l *Leg) getState() LegState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state
}

func (l *Leg) ended() bool { return l.getState() == StateEnded }

// wasAnswered reports whether the leg was ever answered, ended or not.
func (l *Leg) wasAnswered() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.answeredAt.IsZero()
}

func (l *Leg) getOwner() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.owner
}

func (l *Leg) currentBridge() *Bridge {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bridge
}

// publish sends a leg event, with the leg's direction, its owner at this
// moment, its bridge and one other leg of it.
func (l *Leg) publish(ev Event) {
	ev.LegID = l.id
	ev.CallID = l.call.ID
	ev.Direction = string(l.dir)
	l.mu.Lock()
	ev.Owner = l.owner
	b := l.bridge
	l.mu.Unlock()
	if ev.BridgeID == "" {
		if b != nil {
			ev.BridgeID = b.id
			if ev.OtherLegID == "" {
				if o := b.other(l); o != nil {
					ev.OtherLegID = o.id
				}
			}
		}
	}
	l.e.events.publish(ev)
}

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
	a, err := netip.ParseAddr(l.e.stack.Host())
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
	l.ep.SetInbandDTMF(d.DTMF == 0 && l.e.opts.InbandDTMF)
}

func (l *Leg) currentCodec() sip.SDPCodec {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.codec
}

func (l *Leg) remoteDTMF() uint8 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dtmf
}

func mediaCodec(c sip.SDPCodec) media.Codec {
	if mc, ok := media.CodecByName(c.Name); ok {
		return mc
	}
	return media.Codec{Name: c.Name, PayloadType: c.PayloadType, ClockRate: c.ClockRate}
}

// setState moves the leg to s and reports whether it changed.
func (l *Leg) setState(s LegState) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state == s || l.state == StateEnded {
		return false
	}
	l.state = s
	if s == StateAnswered && l.answeredAt.IsZero() {
		l.answeredAt = l.e.clock.Now()
	}
	return true
}

// watchMedia hangs the leg up when its RTP stops, unless the call is on
// hold. The callback runs on media's housekeeping goroutine, so it only
// queues the hang-up on the leg's own queue.
func (l *Leg) watchMedia(on bool) {
	if !on {
		l.ep.SetTimeout(0, nil)
		return
	}
	l.ep.SetTimeout(l.e.opts.RTPTimeout, func() {
		l.ops.post(func() { l.end(CauseMediaTimeout, bySystem, 0) })
	})
}

// remoteOffer is the far end's last SDP.
func (l *Leg) remoteOffer() sip.SessionDesc {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.remote
}

// endCause is why the leg ended, once it has.
func (l *Leg) endCause() Cause {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cause
}

// onEnd adds fn to what runs when the leg ends; at once if it has.
func (l *Leg) onEnd(fn func()) {
	l.mu.Lock()
	if l.state != StateEnded {
		l.onEnds = append(l.onEnds, fn)
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	fn()
}

// finalSent notes that an inbound leg's INVITE has its final response:
// sipgo ends the server transaction when onInvite returns, so onInvite
// waits for this.
func (l *Leg) finalSent() { l.finalOnce.Do(func() { close(l.final) }) }
