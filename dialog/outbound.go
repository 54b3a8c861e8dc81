package dialog

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"pbx/media"
	"pbx/sip"
)

// dialTarget is one place to send an INVITE.
type dialTarget struct {
	uri       sipmsg.Uri
	dest      string // host:port the request goes to
	transport string
	peer      string // for logs and records
	fromUser  string
	toUser    string
	username  string // credentials for the far end's challenge (trunks)
	password  string
	music     string // hold-music class of the far end
	user      string // the extension dialled, "" for a trunk
}

// dial reaches the route's target and returns the leg that answered, or the
// cause of failure.
func (e *Engine) dial(ctx context.Context, call *Call, route Route) (*Leg, Cause) {
	switch route.Kind {
	case "extension":
		number := route.Number
		if len(route.Args) > 0 {
			number = route.Args[0]
		}
		return e.dialExtension(ctx, call, number)
	case "trunk":
		return e.dialTrunks(ctx, call, route.Args, route.Number)
	default:
		call.log.Warn("no handler for target kind", "kind", route.Kind)
		return nil, CauseNotFound
	}
}

// dialExtension rings every registered contact of an extension at once.
// The first to answer wins; the others are cancelled.
func (e *Engine) dialExtension(ctx context.Context, call *Call, ext string) (*Leg, Cause) {
	if _, ok := e.users(ext); !ok {
		return nil, CauseNotFound
	}
	bindings := e.loc.Lookup(ext)
	if len(bindings) == 0 {
		return nil, CauseUnavailable
	}
	var targets []dialTarget
	for _, b := range bindings {
		uri, dest, transport, err := b.Target()
		if err != nil {
			call.log.Warn("unusable contact", "contact", b.Contact, "error", err)
			continue
		}
		targets = append(targets, dialTarget{uri: uri, dest: dest, transport: transport, peer: ext, fromUser: call.From, toUser: ext, music: e.userMusic(ext), user: ext})
	}
	if len(targets) == 0 {
		return nil, CauseUnavailable
	}
	return e.fork(ctx, call, targets)
}

// dialTrunks tries each trunk in turn; a 5xx, 408 or transport failure moves
// on to the next one.
func (e *Engine) dialTrunks(ctx context.Context, call *Call, names []string, number string) (*Leg, Cause) {
	cause := CauseCongestion
	for _, name := range names {
		t := e.trunks.byName[name]
		if t == nil {
			call.log.Warn("unknown trunk", "trunk", name)
			continue
		}
		host := t.cfg.Host
		if h, _, ok := strings.Cut(host, ":"); ok {
			host = h
		}
		from := call.From
		if t.cfg.CallerID != "" {
			from = t.cfg.CallerID
		}
		target := dialTarget{
			uri:       sipmsg.Uri{Scheme: "sip", User: number, Host: host},
			dest:      t.destination(),
			transport: t.transport(),
			peer:      "trunk:" + name,
			fromUser:  from, toUser: number,
			username: t.cfg.Username, password: t.cfg.Password,
			music: t.cfg.Music,
		}
		leg, c := e.fork(ctx, call, []dialTarget{target})
		if leg != nil {
			call.mu.Lock()
			call.trunk = name
			call.mu.Unlock()
			return leg, CauseNormal
		}
		cause = c
		if c != CauseCongestion && c != CauseNoAnswer || ctx.Err() != nil {
			return nil, c
		}
		call.log.Info("trunk failed, trying the next", "trunk", name, "cause", c.String())
	}
	return nil, cause
}

type forkResult struct {
	leg   *Leg
	cause Cause
}

// fork sends one INVITE per target at once. It returns the first leg to
// answer; the rest are cancelled, or hung up if they answer too.
func (e *Engine) fork(ctx context.Context, call *Call, targets []dialTarget) (*Leg, Cause) {
	fctx, cancel := context.WithCancel(ctx)
	results := make(chan forkResult, len(targets))
	var early earlyMedia
	for _, t := range targets {
		go func() {
			leg, cause := e.invite(fctx, call, t, &early)
			results <- forkResult{leg, cause}
		}()
	}
	var winner *Leg
	cause := CauseUnavailable
	got := 0
	for got < len(targets) && winner == nil {
		r := <-results
		got++
		if r.leg != nil {
			winner = r.leg
			break
		}
		cause = worseCause(cause, r.cause, got == 1)
	}
	cancel()
	if winner != nil {
		early.winner(call, winner)
		if err := winner.cli.Ack(context.Background()); err != nil {
			call.log.Warn("ack to callee", "error", err)
		}
	}
	if got < len(targets) {
		// Reap the other forks in the background: a cancelled INVITE may
		// take up to 64*T1 to finish, and one may have answered anyway.
		e.wg.Add(1)
		go func(left int) {
			defer e.wg.Done()
			for ; left > 0; left-- {
				if r := <-results; r.leg != nil {
					r.leg.cli.Ack(context.Background())
					r.leg.bye()
					r.leg.ep.Close()
				}
			}
		}(len(targets) - got)
	}
	if winner == nil {
		return nil, cause
	}
	return winner, CauseNormal
}

// worseCause keeps the most telling failure across forks: busy wins, then
// decline, then whatever came first.
func worseCause(old, next Cause, first bool) Cause {
	rank := func(c Cause) int {
		switch c {
		case CauseBusy:
			return 3
		case CauseDeclined:
			return 2
		case CauseNoAnswer:
			return 1
		}
		return 0
	}
	if first || rank(next) > rank(old) {
		return next
	}
	return old
}

// invite dials one target and waits for its answer. On success the leg's
// media points at the callee and the leg is indexed; it is not yet ACKed.
func (e *Engine) invite(ctx context.Context, call *Call, t dialTarget, early *earlyMedia) (*Leg, Cause) {
	ep, err := e.media.NewEndpoint()
	if err != nil {
		call.log.Error("no media endpoint", "error", err)
		return nil, CauseCongestion
	}
	leg := newLeg(e.newID(), call, ep)
	leg.peer = t.peer
	leg.user = t.user
	leg.musicClass = t.music
	log := call.log.With("leg", leg.ID, "peer", t.peer)

	req := sipmsg.NewRequest(sipmsg.INVITE, t.uri)
	req.SetDestination(t.dest)
	req.SetTransport(t.transport)
	host := e.stack.Host()
	from := &sipmsg.FromHeader{DisplayName: call.req.From().DisplayName,
		Address: sipmsg.Uri{Scheme: "sip", User: t.fromUser, Host: host}, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: "sip", User: t.toUser, Host: t.uri.Host}})
	req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	req.AppendHeader(sipmsg.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, NOTIFY"))
	req.AppendHeader(sipmsg.NewHeader("Supported", "timer"))
	hops := sipmsg.MaxForwardsHeader(70)
	if mf := call.req.MaxForwards(); mf != nil {
		hops = sipmsg.MaxForwardsHeader(mf.Val() - 1) // loops through trunks die out
	}
	req.AppendHeader(&hops)
	if ua := e.cfg.SIP.UserAgent; ua != "" {
		req.AppendHeader(sipmsg.NewHeader("User-Agent", ua))
	}
	req.SetBody(leg.sdp(offerCodecs(call.offer, supportedCodecs(e.codecs)), dtmfPT, "sendrecv", nil))

	dua, err := e.stack.DialogUA(t.transport)
	if err != nil {
		ep.Close()
		log.Warn("cannot dial", "error", err)
		return nil, CauseCongestion
	}
	cs, err := dua.WriteInvite(ctx, req)
	if err != nil {
		ep.Close()
		log.Warn("invite not sent", "error", err)
		return nil, CauseCongestion
	}
	leg.cli = cs
	err = cs.WaitAnswer(ctx, sipgo.AnswerOptions{
		Username: t.username, Password: t.password,
		OnResponse: func(res *sipmsg.Response) error {
			if res.IsProvisional() && res.StatusCode > 100 {
				early.provisional(call, leg, res)
			}
			return nil
		},
	})
	res := cs.InviteResponse
	if err != nil && (res == nil || !res.IsSuccess()) {
		ep.Close()
		var de *sipgo.ErrDialogResponse
		switch {
		case errors.As(err, &de):
			log.Info("callee refused", "code", de.Res.StatusCode)
			return nil, causeFromSIP(de.Res.StatusCode)
		case ctx.Err() != nil:
			return nil, CauseNoAnswer
		default:
			log.Info("callee unreachable", "error", err)
			return nil, CauseCongestion
		}
	}
	if err != nil {
		// A 200 raced our CANCEL: the dialog exists and must be ended.
		if id, idErr := sipmsg.DialogIDFromResponse(res); idErr == nil {
			cs.ID = id
		}
		cs.Ack(context.Background())
		leg.bye()
		ep.Close()
		return nil, CauseCancelled
	}
	answer, err := sip.ParseSDP(res.Body())
	if err != nil || len(answer.Codecs) == 0 {
		log.Warn("callee answered without usable SDP", "error", err)
		cs.Ack(context.Background())
		leg.bye()
		ep.Close()
		return nil, CauseCodecMismatch
	}
	leg.applyRemote(answer, answer.Codecs[0])
	leg.answered = time.Now()
	e.indexLeg(leg, cs.ID)
	return leg, CauseNormal
}

// earlyMedia relays ringing and early media from the forks to the caller:
// the first 180 becomes the caller's 180, and the first fork to send SDP in
// a provisional response has its media bridged to the caller at once.
type earlyMedia struct {
	mu      sync.Mutex
	ringing bool
	leg     *Leg
	sdp     []byte
	codec   sip.SDPCodec
}

func (m *earlyMedia) provisional(call *Call, leg *Leg, res *sipmsg.Response) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if call.isAnswered() {
		return // a transfer dialing: the call's parties are talking already
	}
	a := call.a
	if len(res.Body()) > 0 && m.leg == nil {
		d, err := sip.ParseSDP(res.Body())
		if err == nil && len(d.Codecs) > 0 {
			leg.applyRemote(d, d.Codecs[0])
			codec, err := codecFor(call.offer, d.Codecs[0].Name, call.e.codecs)
			if err == nil {
				a.applyRemote(call.offer, codec)
				m.leg, m.codec = leg, codec
				m.sdp = a.answerSDP(codec)
				if err := media.Bridge(a.ep, leg.ep); err != nil {
					call.log.Warn("early media bridge", "error", err)
				}
				r := sipmsg.NewResponseFromRequest(a.srv.InviteRequest, 183, "Session Progress", m.sdp)
				r.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
				if err := a.srv.WriteResponse(r); err != nil {
					call.log.Debug("183 not sent", "error", err)
				}
				return
			}
		}
	}
	if !m.ringing && m.leg == nil && res.StatusCode == 180 {
		m.ringing = true
		call.publish(EventCallRinging, leg, "")
		if err := a.srv.Respond(180, "Ringing", nil); err != nil {
			call.log.Debug("180 not sent", "error", err)
		}
	}
}

// winner moves early media off a fork that lost.
func (m *earlyMedia) winner(call *Call, w *Leg) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.leg != nil && m.leg != w {
		media.Unbridge(call.a.ep, m.leg.ep)
	}
}
