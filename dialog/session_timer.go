package dialog

import (
	"context"
	"strconv"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"pbx/sip"
)

// RFC 4028 session timers, per leg. sip negotiates (sip.NegotiateSessionTimer
// for what a far end asks, sip.SessionTimerFromResponse for what a callee
// granted); the leg only keeps the timer: when the far end refreshes, a
// missing refresh ends the leg at the deadline; when the PBX refreshes, it
// sends UPDATE half way through the interval.

// negotiateTimer answers the session-timer part of a request to the leg:
// the timer its 2xx sets, or the response to send instead (422, 400).
func (l *Leg) negotiateTimer(req *sipmsg.Request) (sip.SessionTimer, *sipmsg.Response) {
	return sip.NegotiateSessionTimer(req, l.e.timerPolicy(), l.e.clock.Now())
}

func (e *Engine) timerPolicy() sip.SessionTimerPolicy {
	return sip.SessionTimerPolicy{MinSE: e.opts.MinSE, Expires: e.opts.SessionExpires}
}

// armTimer replaces the leg's session timer with st, counted from now. An
// inactive st just stops the old one.
func (l *Leg) armTimer(st sip.SessionTimer) {
	st.Start = l.e.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sessTimer != nil {
		l.sessTimer.Stop()
		l.sessTimer = nil
	}
	if !st.Active() || l.state == StateEnded {
		return
	}
	if st.LocalRefresh {
		l.sessTimer = l.e.clock.AfterFunc(st.RefreshAt().Sub(st.Start), func() {
			l.ops.post(func() { l.refreshSession(st) })
		})
		return
	}
	l.sessTimer = l.e.clock.AfterFunc(st.Deadline().Sub(st.Start), func() {
		l.ops.post(func() { l.end(CauseSessionTimer, bySystem, 0) })
	})
}

// refreshSession sends the UPDATE that refreshes a session the PBX is the
// refresher of; a far end that does not answer it is hung up. It runs on
// the leg's queue.
func (l *Leg) refreshSession(st sip.SessionTimer) {
	if l.ended() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	secs := strconv.FormatInt(int64(st.Interval/time.Second), 10)
	hdrs := []sipmsg.Header{
		sipmsg.NewHeader("Session-Expires", secs+";refresher=uac"),
		sipmsg.NewHeader("Supported", "timer"),
	}
	res, err := l.request(ctx, sipmsg.UPDATE, hdrs, "", nil)
	if err != nil || !res.IsSuccess() {
		l.log.Info("session refresh failed", "error", err)
		l.end(CauseSessionTimer, bySystem, 0)
		return
	}
	next, err := sip.SessionTimerFromResponse(res, l.e.clock.Now())
	if err != nil || !next.Active() {
		next = st // the far end kept the interval it had
	}
	next.LocalRefresh = true
	l.armTimer(next)
}
