package rwi

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"time"

	"pbx/dialog"
)

func init() {
	register("call.originate", scopeCall, originate)
	register("call.answer", scopeCall, func(x *cmd) (any, *Error) {
		return x.onLeg(claim, func(id string) error { return x.srv.e.Answer(x.ctx, id) })
	})
	register("call.ring", scopeCall, func(x *cmd) (any, *Error) {
		return x.onLeg(claim, func(id string) error { return x.srv.e.Ring(x.ctx, id) })
	})
	register("call.reject", scopeCall, reject)
	register("call.hangup", scopeCall, hangup)
	register("call.bridge", scopeCall, bridge)
	register("call.unbridge", scopeCall, func(x *cmd) (any, *Error) {
		return x.onLeg(control, func(id string) error { return x.srv.e.Unbridge(x.ctx, id) })
	})
	register("call.transfer", scopeCall, transfer)
	register("call.transfer.attended", scopeCall, attendedTransfer)
	register("call.transfer.complete", scopeCall, func(x *cmd) (any, *Error) {
		return x.onConsultation(func(id string) error { return x.srv.e.CompleteTransfer(x.ctx, id) })
	})
	register("call.transfer.cancel", scopeCall, func(x *cmd) (any, *Error) {
		return x.onConsultation(func(id string) error { return x.srv.e.CancelTransfer(x.ctx, id) })
	})
	register("call.hold", scopeCall, hold)
	register("call.unhold", scopeCall, func(x *cmd) (any, *Error) {
		return x.onLeg(control, func(id string) error { return x.srv.e.Unhold(x.ctx, id) })
	})
	register("call.send_dtmf", scopeCall, sendDTMF)
	register("dtmf.collect", scopeCall, collectDTMF)
}

// callParams names one leg.
type callParams struct {
	CallID string `json:"call_id"`
}

// callData is the reply of a command on one leg.
type callData struct {
	CallID string `json:"call_id"`
}

// onLeg runs fn on the leg named by params {call_id} and replies with it.
func (x *cmd) onLeg(how access, fn func(legID string) error) (any, *Error) {
	p, err := decode[callParams](x)
	if err != nil {
		return nil, err
	}
	info, err := x.ss.leg(p.CallID, how)
	if err != nil {
		return nil, err
	}
	if err := engineError(fn(info.ID)); err != nil {
		return nil, err
	}
	return callData(p), nil
}

var callIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,127}$`)

func originate(x *cmd) (any, *Error) {
	var p struct {
		CallID       string            `json:"call_id"`
		Destination  string            `json:"destination"`
		CallerID     string            `json:"caller_id"`
		CallerName   string            `json:"caller_name"`
		TimeoutSecs  int               `json:"timeout_secs"`
		Trunk        string            `json:"trunk"`
		ExtraHeaders map[string]string `json:"extra_headers"`
		Music        string            `json:"music"`
		Context      string            `json:"context"`
	}
	if err := decodeParams(x.params, &p); err != nil {
		return nil, err
	}
	switch {
	case strings.TrimSpace(p.Destination) == "":
		return nil, fail(CodeInvalidParams, "destination is required")
	case p.CallID != "" && !callIDRe.MatchString(p.CallID):
		return nil, fail(CodeInvalidParams, "call_id %q: want up to 128 letters, digits and _.:@+-", p.CallID)
	case p.TimeoutSecs < 0 || p.TimeoutSecs > 3600:
		return nil, fail(CodeInvalidParams, "timeout_secs %d: want 0 to 3600", p.TimeoutSecs)
	}
	ss, e := x.ss, x.srv.e
	if n := len(ss.legs()); n >= x.srv.cfg.MaxLegs {
		return nil, fail(CodeRateLimited, "the session owns %d legs, its limit", n)
	}
	if !ss.allowOriginate(x.srv.clock.Now()) {
		return nil, fail(CodeRateLimited, "more than %g originates a second", x.srv.cfg.OriginateRate)
	}
	// The name is taken before the leg exists, so that no event of the
	// new leg goes out under its engine id.
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if p.CallID != "" {
		if _, taken := ss.names[p.CallID]; taken {
			return nil, fail(CodeInvalidParams, "call_id %q is already in use", p.CallID)
		}
	}
	info, err := e.Originate(x.ctx, dialog.OriginateRequest{
		To: p.Destination, Trunk: p.Trunk, CallerID: p.CallerID, CallerName: p.CallerName,
		Timeout: time.Duration(p.TimeoutSecs) * time.Second, Headers: p.ExtraHeaders,
		Music: p.Music, Owner: ss.tag, Context: p.Context,
	})
	if err != nil {
		return nil, engineError(err)
	}
	ss.owned[info.ID] = true
	name := info.ID
	if p.CallID != "" {
		name = p.CallID
		ss.names[name], ss.aliases[info.ID] = info.ID, name
	}
	return map[string]string{"call_id": name, "leg_id": info.ID}, nil
}

// endParams end a leg: call.reject and call.hangup.
type endParams struct {
	CallID string `json:"call_id"`
	Reason string `json:"reason"`
	Code   int    `json:"code"`
}

// rejectCodes maps call.reject's reasons to SIP statuses.
var rejectCodes = map[string]int{"": 603, "busy": 486, "decline": 603, "unavailable": 480, "reject": 403, "forbidden": 403, "not_found": 404}

func reject(x *cmd) (any, *Error) {
	p, err := decode[endParams](x)
	if err != nil {
		return nil, err
	}
	code, ok := rejectCodes[p.Reason]
	if !ok {
		return nil, fail(CodeInvalidParams, "reason %q: want busy, decline, unavailable or reject", p.Reason)
	}
	if p.Code != 0 {
		if p.Code < 400 || p.Code > 699 {
			return nil, fail(CodeInvalidParams, "code %d: want 400 to 699", p.Code)
		}
		code = p.Code
	}
	info, err := x.ss.leg(p.CallID, claim)
	if err != nil {
		return nil, err
	}
	if err := engineError(x.srv.e.Reject(x.ctx, info.ID, code)); err != nil {
		return nil, err
	}
	return callData{CallID: p.CallID}, nil
}

// hangupCauses maps call.hangup's reasons to causes; the cause gives the
// SIP status a caller still ringing gets.
var hangupCauses = map[string]dialog.Cause{
	"": dialog.CauseNormal, "normal": dialog.CauseNormal, "caller": dialog.CauseNormal, "callee": dialog.CauseNormal,
	"system": dialog.CauseNormal, "busy": dialog.CauseBusy, "no_answer": dialog.CauseNoAnswer,
	"rejected": dialog.CauseDeclined, "decline": dialog.CauseDeclined, "unavailable": dialog.CauseUnavailable,
	"canceled": dialog.CauseCancelled, "cancelled": dialog.CauseCancelled, "failed": dialog.CauseCongestion,
	"abandoned": dialog.CauseNormal, "forbidden": dialog.CauseForbidden, "not_found": dialog.CauseNotFound,
}

// hangupCodes maps a SIP status given as code to a cause.
var hangupCodes = map[int]dialog.Cause{
	403: dialog.CauseForbidden, 404: dialog.CauseNotFound, 480: dialog.CauseUnavailable, 486: dialog.CauseBusy,
	487: dialog.CauseCancelled, 503: dialog.CauseCongestion, 603: dialog.CauseDeclined,
}

func hangup(x *cmd) (any, *Error) {
	p, err := decode[endParams](x)
	if err != nil {
		return nil, err
	}
	cause, ok := hangupCauses[p.Reason]
	if !ok {
		return nil, fail(CodeInvalidParams, "reason %q: want normal, busy, no_answer, rejected, unavailable, canceled, failed or abandoned", p.Reason)
	}
	if p.Code != 0 {
		if cause, ok = hangupCodes[p.Code]; !ok {
			return nil, fail(CodeInvalidParams, "code %d: want 403, 404, 480, 486, 487, 503 or 603", p.Code)
		}
	}
	info, err := x.ss.leg(p.CallID, control)
	if err != nil {
		return nil, err
	}
	if err := engineError(x.srv.e.Hangup(x.ctx, info.ID, cause)); err != nil {
		return nil, err
	}
	return callData{CallID: p.CallID}, nil
}

func bridge(x *cmd) (any, *Error) {
	var p struct {
		LegA string `json:"leg_a"`
		LegB string `json:"leg_b"`
	}
	if err := decodeParams(x.params, &p); err != nil {
		return nil, err
	}
	if p.LegA == "" || p.LegB == "" {
		return nil, fail(CodeInvalidParams, "leg_a and leg_b are required")
	}
	a, err := x.ss.leg(p.LegA, control)
	if err != nil {
		return nil, err
	}
	b, err := x.ss.leg(p.LegB, control)
	if err != nil {
		return nil, err
	}
	info, berr := x.srv.e.Bridge(x.ctx, a.ID, b.ID)
	if err := engineError(berr); err != nil {
		return nil, err
	}
	return map[string]string{"bridge_id": info.ID, "leg_a": p.LegA, "leg_b": p.LegB}, nil
}

type transferParams struct {
	CallID      string `json:"call_id"`
	Target      string `json:"target"`
	TimeoutSecs int    `json:"timeout_secs"`
}

// transferLeg reads a transfer's params and the leg it moves.
func (x *cmd) transferLeg() (transferParams, dialog.LegInfo, *Error) {
	p, err := decode[transferParams](x)
	if err != nil {
		return p, dialog.LegInfo{}, err
	}
	if p.Target == "" {
		return p, dialog.LegInfo{}, fail(CodeInvalidParams, "target is required")
	}
	info, err := x.ss.leg(p.CallID, control)
	return p, info, err
}

// transfer sends a leg to a target and hangs up its peer once the target
// answers. It replies at once; call.transferred or call.transfer.failed
// follow.
func transfer(x *cmd) (any, *Error) {
	p, info, err := x.transferLeg()
	if err != nil {
		return nil, err
	}
	srv := x.srv
	srv.goOwned(func() {
		if err := srv.e.Transfer(srv.ctx, info.ID, p.Target); err != nil {
			srv.log.Info("rwi transfer failed", "leg", info.ID, "target", p.Target, "error", err)
		}
	})
	return callData{CallID: p.CallID}, nil
}

func attendedTransfer(x *cmd) (any, *Error) {
	p, info, err := x.transferLeg()
	if err != nil {
		return nil, err
	}
	ss := x.ss
	ss.mu.Lock()
	defer ss.mu.Unlock()
	c, terr := x.srv.e.AttendedTransfer(x.ctx, info.ID, p.Target)
	if err := engineError(terr); err != nil {
		return nil, err
	}
	ss.owned[c.ID] = true
	name := "consult-" + p.CallID + "-" + newID()[:6]
	ss.names[name], ss.aliases[c.ID] = c.ID, name
	return map[string]string{"call_id": p.CallID, "consultation_call_id": name}, nil
}

// onConsultation runs fn on the consultation leg named by
// consultation_call_id.
func (x *cmd) onConsultation(fn func(legID string) error) (any, *Error) {
	var p struct {
		CallID             string `json:"call_id"`
		ConsultationCallID string `json:"consultation_call_id"`
	}
	if err := decodeParams(x.params, &p); err != nil {
		return nil, err
	}
	if p.ConsultationCallID == "" {
		return nil, fail(CodeInvalidParams, "consultation_call_id is required")
	}
	id := x.ss.resolve(p.ConsultationCallID)
	if _, isLeg := x.srv.e.Leg(id); isLeg || id == p.ConsultationCallID {
		// The target's leg: the session must command it. (A transfer
		// to an application has no leg to consult; its id is a name
		// only the session that started it holds.)
		info, err := x.ss.leg(p.ConsultationCallID, control)
		if err != nil {
			return nil, err
		}
		id = info.ID
	}
	if err := engineError(fn(id)); err != nil {
		return nil, err
	}
	return map[string]string{"consultation_call_id": p.ConsultationCallID}, nil
}

func hold(x *cmd) (any, *Error) {
	var p struct {
		CallID string `json:"call_id"`
		Music  string `json:"music"`
	}
	if err := decodeParams(x.params, &p); err != nil {
		return nil, err
	}
	info, err := x.ss.leg(p.CallID, control)
	if err != nil {
		return nil, err
	}
	if err := engineError(x.srv.e.Hold(x.ctx, info.ID, strings.TrimSuffix(p.Music, ".wav"))); err != nil {
		return nil, err
	}
	return callData{CallID: p.CallID}, nil
}

var dtmfRe = regexp.MustCompile(`^[0-9*#A-Da-d]{1,64}$`)

func sendDTMF(x *cmd) (any, *Error) {
	var p struct {
		CallID string `json:"call_id"`
		LegID  string `json:"leg_id"` // rustpbx names a side; a leg here is one side
		Digits string `json:"digits"`
	}
	if err := decodeParams(x.params, &p); err != nil {
		return nil, err
	}
	if !dtmfRe.MatchString(p.Digits) {
		return nil, fail(CodeInvalidParams, "digits %q: want 1 to 64 of 0-9 * # A-D", p.Digits)
	}
	info, err := x.ss.leg(p.CallID, control)
	if err != nil {
		return nil, err
	}
	if err := engineError(x.srv.e.SendDTMF(x.ctx, info.ID, strings.ToUpper(p.Digits))); err != nil {
		return nil, err
	}
	return callData{CallID: p.CallID}, nil
}

// collectDTMF starts reading keys and replies at once; dtmf.collected
// reports the number.
func collectDTMF(x *cmd) (any, *Error) {
	var p struct {
		CallID       string `json:"call_id"`
		LegID        string `json:"leg_id"`
		MinDigits    int    `json:"min_digits"`
		MaxDigits    int    `json:"max_digits"`
		TimeoutMS    int    `json:"timeout_ms"`
		InterDigitMS int    `json:"inter_digit_ms"`
		Terminator   string `json:"terminator"`
	}
	if err := decodeParams(x.params, &p); err != nil {
		return nil, err
	}
	switch {
	case p.MinDigits < 0 || p.MaxDigits < 0 || p.MaxDigits > 64 || (p.MaxDigits > 0 && p.MinDigits > p.MaxDigits):
		return nil, fail(CodeInvalidParams, "min_digits %d, max_digits %d: want 0 <= min <= max <= 64", p.MinDigits, p.MaxDigits)
	case p.TimeoutMS < 0 || p.TimeoutMS > 600000 || p.InterDigitMS < 0 || p.InterDigitMS > 600000:
		return nil, fail(CodeInvalidParams, "timeouts: want 0 to 600000 ms")
	case p.Terminator != "" && !dtmfRe.MatchString(p.Terminator):
		return nil, fail(CodeInvalidParams, "terminator %q: want DTMF keys", p.Terminator)
	}
	if p.MaxDigits == 0 {
		p.MaxDigits = 16
	}
	if p.TimeoutMS == 0 {
		p.TimeoutMS = 10000
	}
	info, err := x.ss.leg(p.CallID, control)
	if err != nil {
		return nil, err
	}
	srv := x.srv
	o := dialog.CollectOptions{
		Min: p.MinDigits, Max: p.MaxDigits, Terminator: p.Terminator,
		Timeout: time.Duration(p.TimeoutMS) * time.Millisecond, InterDigit: time.Duration(p.InterDigitMS) * time.Millisecond,
	}
	srv.goOwned(func() {
		// The engine reports the number as leg.digits; a leg that ends
		// first ends the collection.
		if _, err := srv.e.CollectDTMF(srv.ctx, info.ID, o); err != nil && !isCancelled(err) {
			srv.log.Debug("rwi dtmf collect", "leg", info.ID, "error", err)
		}
	})
	return callData{CallID: p.CallID}, nil
}

func isCancelled(err error) bool { return errors.Is(err, context.Canceled) }

// goOwned runs f on a goroutine Close waits for; not once the server
// is closing.
func (s *Server) goOwned(f func()) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		f()
	}()
}
