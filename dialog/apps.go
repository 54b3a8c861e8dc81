package dialog

import (
	"fmt"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"pbx/media"
	"pbx/sip"
	"pbx/sounds"
)

// Applications are dial plan targets the PBX answers itself: the echo
// test, a prompt to play, a conference room, hold music. Each runs on a goroutine of
// the call's own, owned by the engine's wait group, until the call ends.

// isApp says whether a target kind is an application.
func isApp(kind string) bool {
	return kind == "echo" || kind == "play" || kind == "conference" || kind == "music"
}

// runApp answers the call and starts its application.
func (e *Engine) runApp(call *Call, route Route) {
	if err := e.answerLocally(call); err != nil {
		call.log.Info("caller did not take the answer", "error", err)
		call.hangup(call.a, CauseCancelled)
		return
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		switch route.Kind {
		case "echo":
			e.echo(call)
		case "play":
			e.playAndHangUp(call, route.Args)
		case "music":
			class := call.a.musicClass
			if len(route.Args) > 0 {
				class = route.Args[0]
			}
			e.listenToMusic(call, class)
		case "conference":
			room := route.Number
			if len(route.Args) > 0 {
				room = route.Args[0]
			}
			e.conference(call, room)
		}
	}()
}

// answerLocally answers the caller with the PBX's own media.
func (e *Engine) answerLocally(call *Call) error {
	a := call.a
	codec, _, err := sip.Negotiate(call.offer, e.codecs)
	if err != nil {
		return fmt.Errorf("answer call %s: %w", call.ID, err)
	}
	a.applyRemote(call.offer, codec)
	res := sipmsg.NewSDPResponseFromRequest(a.srv.InviteRequest, a.answerSDP(codec))
	e.sessionTimerHeaders(a, a.srv.InviteRequest, res)
	call.mu.Lock()
	call.answer = time.Now()
	call.cancelDial = nil
	call.mu.Unlock()
	if err := a.srv.WriteResponse(res); err != nil {
		return fmt.Errorf("answer call %s: %w", call.ID, err)
	}
	call.log.Info("call answered by the PBX", "codec", codec.Name)
	call.publish(EventCallAnswered, a, "")
	call.watchMedia()
	e.startSessionTimer(a, a.srv.InviteRequest)
	return nil
}

// echo plays the echo-test prompt, then sends the caller back what it says.
func (e *Engine) echo(call *Call) {
	a := call.a
	if pb, err := e.playAlone(a, false, sounds.EchoTest); err == nil {
		select {
		case <-pb.Done():
		case <-call.done:
			pb.Stop()
			return
		}
	}
	a.ep.SetHandler(func(h *rtp.Header, payload []byte) {
		if h.PayloadType == a.ep.Codec().PayloadType {
			_ = a.ep.WritePayload(h.PayloadType, payload, uint32(len(payload)), h.Marker)
		}
	})
	<-call.done
}

// playAndHangUp plays prompts to the caller, then hangs up.
func (e *Engine) playAndHangUp(call *Call, names []string) {
	pb, err := e.playAlone(call.a, false, names...)
	if err != nil {
		call.log.Warn("play", "error", err)
		call.hangup(nil, CauseNormal)
		return
	}
	select {
	case <-pb.Done():
		call.hangup(nil, CauseNormal)
	case <-call.done:
		pb.Stop()
	}
}

// readKeys gives an application the keys a leg presses, until the
// returned stop is called.
func (l *Leg) readKeys() (<-chan media.Digit, func()) {
	ch := make(chan media.Digit, 16)
	l.mu.Lock()
	l.collector = ch
	l.mu.Unlock()
	return ch, func() {
		l.mu.Lock()
		l.collector = nil
		l.mu.Unlock()
	}
}

// collectNumber reads keys until '#', max keys, or a pause longer than
// timeout; ok is false when the call ended first.
func collectNumber(keys <-chan media.Digit, done <-chan struct{}, max int, timeout time.Duration) (number string, ok bool) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for len(number) < max {
		select {
		case d := <-keys:
			if d.Key == '#' {
				return number, true
			}
			number += string(d.Key)
			t.Reset(timeout)
		case <-t.C:
			return number, true
		case <-done:
			return number, false
		}
	}
	return number, true
}

// listenToMusic plays the caller a hold-music class until it hangs up: a
// number to check what callers on hold hear, and a load test's target.
func (e *Engine) listenToMusic(call *Call, class string) {
	m := e.music(class)
	m.Listen(call.a.ep)
	defer m.Unlisten(call.a.ep)
	<-call.done
}
