package dialog

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"pbx/sip"
)

// dialTarget is one place to send an INVITE.
type dialTarget struct {
	uri       sipmsg.Uri
	dest      string // host:port the request goes to
	transport string
	peer      string // for logs and records
	toUser    string
	username  string // credentials for the far end's challenge (trunks)
	password  string
	music     string // hold-music class of the far end
	user      string // the extension dialled, "" for a trunk
	trunk     string // the trunk, "" for an extension
	callerID  string // the trunk's caller id, "" to keep the caller's
}

// dialOptions say how an outbound leg's INVITEs look and whom its progress
// is told.
type dialOptions struct {
	fromUser    string
	fromName    string
	maxForwards int             // 0: 70
	headers     []sipmsg.Header // extra headers a program asked for
	callerOffer sip.SessionDesc // the caller's offer: its codecs go first, so the relay needs no transcoding
	timeout     time.Duration   // 0: the engine's ring timeout
	// onRinging and onEarly run on the outbound leg's queue when its far
	// end rings or starts early media.
	onRinging func()
	onEarly   func()
}

// dial rings an outbound leg's destination: each group of targets at once
// (an extension's contacts), the groups one after another while they
// fail with 5xx, 408 or no answer (trunk failover). It returns once the
// leg is answered (true) or has ended.
func (e *Engine) dial(ctx context.Context, l *Leg, groups [][]dialTarget, o dialOptions) bool {
	timeout := o.timeout
	if timeout <= 0 {
		timeout = e.opts.RingTimeout
	}
	// The ring timeout runs on the engine's clock, so tests can drive it.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var timedOut atomic.Bool
	ring := e.clock.AfterFunc(timeout, func() {
		timedOut.Store(true)
		cancel()
	})
	defer ring.Stop()
	l.mu.Lock()
	l.cancelDial = cancel
	l.mu.Unlock()
	cause, code := CauseCongestion, 0
	for _, g := range groups {
		if winner := e.fork(ctx, l, g, o, &cause, &code); winner {
			l.mu.Lock()
			l.cancelDial = nil
			l.mu.Unlock()
			answered := false
			l.ops.do(context.Background(), func() error {
				if l.ended() {
					return nil
				}
				if g[0].trunk != "" {
					l.call.setTrunk(g[0].trunk)
				}
				l.answered()
				answered = true
				return nil
			})
			if !answered {
				l.mu.Lock()
				srv, cli, done := l.srv, l.cli, l.byeDone
				l.byeDone = true
				l.mu.Unlock()
				if !done { // the callee may have sent BYE already
					l.bye(srv, cli)
				}
			}
			return answered
		}
		if cause != CauseCongestion && cause != CauseNoAnswer || ctx.Err() != nil {
			break
		}
		l.log.Info("route failed, trying the next", "peer", g[0].peer, "cause", cause.String())
	}
	by := byRemote
	switch {
	case timedOut.Load():
		cause, by, code = CauseNoAnswer, bySystem, 0
	case ctx.Err() != nil:
		cause, by, code = CauseCancelled, byLocal, 0
	}
	l.ops.do(context.Background(), func() error { l.end(cause, by, code); return nil })
	return false
}

// fork sends one INVITE per target at once. The first to answer wins and
// becomes the leg's dialog; the rest are cancelled, or hung up if they
// answer too. cause and code are set to the most telling failure.
func (e *Engine) fork(ctx context.Context, l *Leg, targets []dialTarget, o dialOptions, cause *Cause, code *int) bool {
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		cs    *sipgo.DialogClientSession
		cause Cause
		code  int
		t     dialTarget
	}
	results := make(chan result, len(targets))
	var early sync.Once
	var ringing sync.Once
	for _, t := range targets {
		e.goOwned(func() {
			cs, c, sc := e.invite(fctx, l, t, o, &early, &ringing)
			results <- result{cs, c, sc, t}
		})
	}
	var winner *sipgo.DialogClientSession
	var wt dialTarget
	got := 0
	for got < len(targets) && winner == nil {
		r := <-results
		got++
		if r.cs != nil {
			winner, wt = r.cs, r.t
			break
		}
		if got == 1 || rankCause(r.cause) > rankCause(*cause) {
			*cause, *code = r.cause, r.code
		}
	}
	cancel()
	if got < len(targets) {
		// Reap the other forks: a cancelled INVITE may take up to 64*T1 to
		// finish, and one may have answered anyway.
		e.goOwned(func() {
			for left := len(targets) - got; left > 0; left-- {
				if r := <-results; r.cs != nil {
					r.cs.Ack(context.Background())
					l.bye(nil, r.cs)
				}
			}
		})
	}
	if winner == nil {
		return false
	}
	// The leg is findable by its dialog before the ACK leaves: a callee
	// may send BYE as soon as it has the ACK.
	hdrs := headerPairs(winner.InviteRequest)
	l.mu.Lock()
	l.cli = winner
	l.peer, l.user, l.musicClass = wt.peer, wt.user, wt.music
	l.invite = hdrs
	l.mu.Unlock()
	e.indexDialog(l, winner.ID, winner.InviteRequest.CallID().Value())
	if err := winner.Ack(context.Background()); err != nil {
		l.log.Warn("ack to callee", "error", err)
	}
	// The callee's 2xx sets the session timer: the PBX refreshes when it
	// is named refresher (uac), else watches for the callee's refresh.
	if st, err := sip.SessionTimerFromResponse(winner.InviteResponse, e.clock.Now()); err == nil {
		l.armTimer(st)
	}
	return true
}

// rankCause orders failures across forks: busy wins, then decline, then
// no answer, then whatever came first.
func rankCause(c Cause) int {
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

// invite dials one target and waits for its answer. On success the leg's
// media points at the callee; the dialog is not yet ACKed.
func (e *Engine) invite(ctx context.Context, l *Leg, t dialTarget, o dialOptions, early, ringing *sync.Once) (*sipgo.DialogClientSession, Cause, int) {
	log := l.log.With("peer", t.peer)
	from := o.fromUser
	if t.callerID != "" {
		from = t.callerID
	}
	hops := o.maxForwards
	if hops <= 0 {
		hops = 70
	}
	req := sip.NewInvite(sip.InviteOptions{
		Target: t.uri, Destination: t.dest, Transport: t.transport,
		FromUser: from, FromName: o.fromName, FromHost: e.stack.Host(),
		ToUser: t.toUser, MaxForwards: hops, UserAgent: e.opts.UserAgent,
		Headers: o.headers,
		SDP:     l.sdp(sip.OfferCodecs(o.callerOffer, e.opts.Codecs), dtmfPT, "sendrecv", nil),
	})
	dua, err := e.stack.DialogUA(t.transport)
	if err != nil {
		log.Warn("cannot dial", "error", err)
		return nil, CauseCongestion, 0
	}
	cs, err := dua.WriteInvite(ctx, req)
	if err != nil {
		log.Warn("invite not sent", "error", err)
		return nil, CauseCongestion, 0
	}
	l.noteInvite(headerPairs(req), false)
	err = cs.WaitAnswer(ctx, sipgo.AnswerOptions{
		Username: t.username, Password: t.password,
		OnResponse: func(res *sipmsg.Response) error {
			if res.IsProvisional() && res.StatusCode > 100 {
				e.provisional(l, res, o, early, ringing)
			}
			return nil
		},
	})
	res := cs.InviteResponse
	if err != nil && (res == nil || !res.IsSuccess()) {
		var de *sipgo.ErrDialogResponse
		switch {
		case errors.As(err, &de):
			log.Info("callee refused", "code", de.Res.StatusCode)
			return nil, causeFromSIP(de.Res.StatusCode), de.Res.StatusCode
		case ctx.Err() != nil:
			if res == nil || res.IsProvisional() {
				// No final response: the CANCEL failed, likely with 481
				// as the callee answered; its 200 comes as a stray.
				e.rememberCancelled(l, cs)
			}
			return nil, CauseNoAnswer, 0
		default:
			log.Info("callee unreachable", "error", err)
			return nil, CauseCongestion, 0
		}
	}
	if err != nil {
		// A 200 raced our CANCEL: the dialog exists and must be ended.
		if id, idErr := sipmsg.DialogIDFromResponse(res); idErr == nil {
			cs.ID = id
		}
		cs.Ack(context.Background())
		l.bye(nil, cs)
		return nil, CauseCancelled, 0
	}
	answer, err := sip.ParseSDP(res.Body())
	var codec sip.SDPCodec
	if err == nil {
		codec, err = sip.AnsweredCodec(answer, sip.OfferCodecs(o.callerOffer, e.opts.Codecs))
	}
	if err != nil {
		log.Warn("callee answered without usable SDP", "error", err)
		cs.Ack(context.Background())
		l.bye(nil, cs)
		return nil, CauseCodecMismatch, 488
	}
	if ctx.Err() != nil {
		// Another fork won, or the leg was hung up, while this one answered.
		return cs, CauseNormal, 200
	}
	l.applyRemote(answer, codec)
	return cs, CauseNormal, 200
}

// provisional takes a fork's 180 or 183: the first 180 makes the leg
// ringing, the first SDP in a provisional response its early media.
func (e *Engine) provisional(l *Leg, res *sipmsg.Response, o dialOptions, early, ringing *sync.Once) {
	if len(res.Body()) > 0 {
		d, err := sip.ParseSDP(res.Body())
		if err == nil && len(d.Codecs) > 0 {
			early.Do(func() {
				l.applyRemote(d, d.Codecs[0])
				l.ops.post(func() {
					if l.setState(StateEarly) {
						l.publish(Event{Kind: EventLegEarly})
						if b := l.currentBridge(); b != nil {
							b.update()
						}
						if o.onEarly != nil {
							o.onEarly()
						}
					}
				})
			})
			return
		}
	}
	if res.StatusCode == 180 || res.StatusCode == 183 {
		ringing.Do(func() {
			l.ops.post(func() {
				if l.getState() == StateRinging {
					l.publish(Event{Kind: EventLegRinging})
					if o.onRinging != nil {
						o.onRinging()
					}
				}
			})
		})
	}
}

// extensionTargets are the registered contacts of an extension.
func (e *Engine) extensionTargets(ext string) ([]dialTarget, Cause) {
	if _, ok := e.users(ext); !ok {
		return nil, CauseNotFound
	}
	var targets []dialTarget
	for _, b := range e.loc.Lookup(ext) {
		uri, dest, transport, err := b.Target()
		if err != nil {
			e.log.Warn("unusable contact", "contact", b.Contact, "error", err)
			continue
		}
		targets = append(targets, dialTarget{uri: uri, dest: dest, transport: transport, peer: ext, toUser: ext, music: e.userMusic(ext), user: ext})
	}
	if len(targets) == 0 {
		return nil, CauseUnavailable
	}
	return targets, CauseNormal
}

// ringGroup is every reachable contact of several users, rung at once.
// With none reachable, the cause says why: no such user, or none
// registered.
func (e *Engine) ringGroup(exts []string) ([]dialTarget, Cause) {
	var all []dialTarget
	cause := CauseNotFound
	for _, ext := range exts {
		targets, c := e.extensionTargets(ext)
		all = append(all, targets...)
		if c != CauseNotFound {
			cause = c
		}
	}
	if len(all) == 0 {
		return nil, cause
	}
	return all, CauseNormal
}

// trunkTargets are the trunks of a failover list, one group each.
func (e *Engine) trunkTargets(names []string, number string) [][]dialTarget {
	var groups [][]dialTarget
	for _, name := range names {
		t := e.trunks.byName[name]
		if t == nil {
			e.log.Warn("unknown trunk", "trunk", name)
			continue
		}
		host := t.cfg.Host
		if h, _, ok := strings.Cut(host, ":"); ok {
			host = h
		}
		groups = append(groups, []dialTarget{{
			uri:       sipmsg.Uri{Scheme: "sip", User: number, Host: host},
			dest:      t.destination(),
			transport: t.transport(),
			peer:      "trunk:" + name,
			toUser:    number,
			username:  t.cfg.Username, password: t.cfg.Password,
			music: t.cfg.Music, trunk: name, callerID: t.cfg.CallerID,
		}})
	}
	return groups
}
