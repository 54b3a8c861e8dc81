package dialog

import (
	"context"
	"fmt"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"pbx/sip"
)

// Who ended a leg, as leg.ended reports it.
const (
	byLocal  = "local"  // the PBX, on a command or the dial plan's behalf
	byRemote = "remote" // the far end: BYE, CANCEL or a failure response
	bySystem = "system" // a timeout or the shutdown
)

// end ends the leg once: it leaves its bridge, the far end is told (BYE
// after answer, a final response to a ringing inbound leg), its media is
// released, and the call record learns of it. code is the SIP status sent
// or received, 0 when none. It runs on the leg's queue.
func (l *Leg) end(cause Cause, by string, code int) {
	l.mu.Lock()
	if l.state == StateEnded {
		l.mu.Unlock()
		return
	}
	prev := l.state
	l.state = StateEnded
	l.cause = cause
	srv, cli := l.srv, l.cli
	sendBye := !l.byeDone && by != byRemote
	if srv != nil || cli != nil {
		// Without a dialog yet (a callee answering as the leg ends), the
		// dialling ends the dialog it gets.
		l.byeDone = true
	}
	timer, music, cancelDial, onEnds := l.sessTimer, l.music, l.cancelDial, l.onEnds
	l.sessTimer, l.music, l.onEnds = nil, nil, nil
	l.mu.Unlock()

	l.call.decide(l, cause, by)
	l.cancel()
	if timer != nil {
		timer.Stop()
	}
	if cancelDial != nil {
		cancelDial()
	}
	if b := l.currentBridge(); b != nil {
		b.leave(l, true)
	}
	if music != nil {
		music.Unlisten(l.ep)
	}
	l.keys.closeAll()
	switch {
	case prev == StateRinging || prev == StateEarly:
		if srv != nil && by != byRemote {
			if code == 0 {
				code, _ = cause.SIP()
			}
			if code < 300 { // hung up before its answer: a ringing caller gets no 2xx without media
				code = 480
			}
			reason := reasonPhrase(code)
			if err := srv.Respond(code, reason, nil); err != nil {
				l.log.Debug("final response not sent", "code", code, "error", err)
			}
		}
	case sendBye:
		l.bye(srv, cli)
	}
	l.finalSent()
	l.ep.Close()
	l.e.unregister(l)
	l.log.Info("leg ended", "cause", cause.String(), "by", by, "code", code)
	l.publish(Event{Kind: EventLegEnded, Cause: cause.String(), SIPCode: code, By: by})
	l.call.legEnded(l)
	for _, fn := range onEnds {
		fn()
	}
}

// bye ends an answered dialog, bounded in time.
func (l *Leg) bye(srv *sipgo.DialogServerSession, cli *sipgo.DialogClientSession) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	switch {
	case cli != nil:
		err = cli.Bye(ctx)
		cli.Close()
	case srv != nil:
		err = srv.Bye(ctx)
		srv.Close()
	}
	if err != nil {
		l.log.Debug("bye failed", "error", err)
	}
}

// answer accepts an inbound leg's offer with the PBX's media: the codec
// the leg's bridge partner uses when the offer has it (then the relay
// needs no transcoding), else the best shared one. It runs on the leg's
// queue.
func (l *Leg) answer() error {
	l.mu.Lock()
	srv, state, offer := l.srv, l.state, l.remote
	l.mu.Unlock()
	switch {
	case state == StateEnded:
		return fmt.Errorf("answer %s: %w", l.id, ErrNotFound)
	case state >= StateAnswered:
		return nil // already answered, either way: a redirected leg is
	case srv == nil:
		return fmt.Errorf("answer %s: %w: an outbound leg is answered by its far end", l.id, ErrInvalidState)
	}
	prefer := ""
	if b := l.currentBridge(); b != nil {
		if o := b.other(l); o != nil {
			prefer = o.currentCodec().Name
		}
	}
	body, err := l.acceptOffer(offer, prefer)
	if err != nil {
		return fmt.Errorf("answer %s: %w", l.id, err)
	}
	st, refused := l.negotiateTimer(srv.InviteRequest)
	if refused != nil {
		// Checked when the INVITE came; a policy change since cannot
		// refuse an answer now: answer without a timer.
		st = sip.SessionTimer{}
	}
	res := sipmsg.NewSDPResponseFromRequest(srv.InviteRequest, body)
	addHeaders(res, st.Headers())
	// The leg is answered from the moment the 200 leaves; sipgo's write
	// returns only with the caller's ACK.
	l.answered()
	if err := srv.WriteResponse(res); err != nil {
		// The caller vanished (CANCEL raced the answer, or no ACK).
		l.end(CauseCancelled, byRemote, 0)
		return fmt.Errorf("answer %s: %w", l.id, err)
	}
	l.finalSent()
	l.armTimer(st)
	return nil
}

// answered moves a leg to answered and starts what an answered leg has.
func (l *Leg) answered() {
	if !l.setState(StateAnswered) {
		return
	}
	info := l.Info()
	setup := info.Answered.Sub(info.Created)
	l.log.Info("leg answered", "codec", info.Codec, "setup", setup.Round(time.Millisecond))
	l.watchMedia(true)
	l.publish(Event{Kind: EventLegAnswered, Setup: setup})
	if b := l.currentBridge(); b != nil {
		b.update()
	}
	l.reconcileSolo()
	l.call.legAnswered(l)
}

// ring sends 180 on a ringing inbound leg.
func (l *Leg) ring() error {
	l.mu.Lock()
	srv, state := l.srv, l.state
	l.mu.Unlock()
	if srv == nil || state != StateRinging {
		return fmt.Errorf("ring %s: %w: not a ringing inbound leg", l.id, ErrInvalidState)
	}
	if err := srv.Respond(180, "Ringing", nil); err != nil {
		return fmt.Errorf("ring %s: %w", l.id, err)
	}
	l.publish(Event{Kind: EventLegRinging})
	return nil
}

// earlyMedia sends 183 with the PBX's answer, so the caller hears what
// the leg's bridge plays before the call is answered.
func (l *Leg) earlyMedia(prefer string) error {
	l.mu.Lock()
	srv, state, offer := l.srv, l.state, l.remote
	l.mu.Unlock()
	if srv == nil || state != StateRinging {
		return nil
	}
	body, err := l.acceptOffer(offer, prefer)
	if err != nil {
		return err
	}
	r := sipmsg.NewResponseFromRequest(srv.InviteRequest, 183, "Session Progress", body)
	r.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	if err := srv.WriteResponse(r); err != nil {
		return fmt.Errorf("early media on %s: %w", l.id, err)
	}
	if l.setState(StateEarly) {
		l.publish(Event{Kind: EventLegEarly})
	}
	return nil
}

// acceptOffer answers a far end's offer, once (sip.AnswerOffer holds the
// rules): the codec is prefer when the offer has it (then a relay needs no
// transcoding), else the best shared one. The endpoint is pointed at the
// far end, and the PBX's answer SDP returned.
func (l *Leg) acceptOffer(offer sip.SessionDesc, prefer string) ([]byte, error) {
	a, err := sip.AnswerOffer(offer, l.e.opts.Codecs, prefer)
	if err != nil {
		return nil, err
	}
	l.applyRemote(offer, a.Codec)
	return l.sdp([]sip.SDPCodec{a.Codec}, a.DTMF, a.Direction, a.Streams), nil
}
