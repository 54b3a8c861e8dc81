package rwi

import (
	"strings"
	"time"

	"pbx/dialog"
	"pbx/recordings"
)

func init() {
	register("media.play", scopeCall, play)
	register("media.stop", scopeCall, stopPlay)
	register("record.start", scopeRecord, recordStart)
	register("record.pause", scopeRecord, func(x *cmd) (any, *Error) {
		return x.onRecording(func(id string) error { return x.srv.e.PauseRecording(x.ctx, id) })
	})
	register("record.resume", scopeRecord, func(x *cmd) (any, *Error) {
		return x.onRecording(func(id string) error { return x.srv.e.ResumeRecording(x.ctx, id) })
	})
	register("record.stop", scopeRecord, recordStop)
	for _, m := range []string{"listen", "whisper", "barge", "takeover"} {
		register("supervisor."+m, scopeSupervisor, func(x *cmd) (any, *Error) { return supervise(x, m) })
	}
	register("supervisor.stop", scopeSupervisor, func(x *cmd) (any, *Error) { return supervise(x, "stop") })
	register("sip.message", scopeCall, func(x *cmd) (any, *Error) { return sipRequest(x, "MESSAGE") })
	register("sip.notify", scopeCall, func(x *cmd) (any, *Error) { return sipRequest(x, "NOTIFY") })
	register("sip.options_ping", scopeCall, func(x *cmd) (any, *Error) { return sipRequest(x, "OPTIONS") })
}

func play(x *cmd) (any, *Error) {
	var p struct {
		CallID string  `json:"call_id"`
		LegID  *string `json:"leg_id"`
		Source struct {
			Type       string `json:"type"`
			SourceType string `json:"source_type"`
			URI        string `json:"uri"`
			Looped     bool   `json:"looped"`
		} `json:"source"`
		Loop            bool `json:"loop"`
		LoopPlayback    bool `json:"loop_playback"`
		InterruptOnDTMF bool `json:"interrupt_on_dtmf"`
	}
	if err := decodeParams(x.params, &p); err != nil {
		return nil, err
	}
	kind := p.Source.Type
	if kind == "" {
		kind = p.Source.SourceType
	}
	if p.Source.URI == "" {
		return nil, fail(CodeInvalidParams, "source.uri is required")
	}
	o := dialog.PlayOptions{Loop: p.Loop || p.LoopPlayback || p.Source.Looped, Interrupt: p.InterruptOnDTMF}
	info, err := x.ss.leg(p.CallID, control)
	if err != nil {
		return nil, err
	}
	e := x.srv.e
	var pb *dialog.Playback
	var perr error
	switch kind {
	case "file":
		name := strings.TrimSuffix(strings.TrimPrefix(p.Source.URI, "file://"), ".wav")
		pb, perr = e.PlayPrompts(x.ctx, info.ID, []string{name}, o)
	case "url":
		pb, perr = e.PlayURL(x.ctx, info.ID, p.Source.URI, o)
	case "music":
		pb, perr = e.PlayMusic(x.ctx, info.ID, p.Source.URI, o)
	default:
		return nil, fail(CodeInvalidParams, "source.type %q: want file, url or music", kind)
	}
	if err := engineError(perr); err != nil {
		return nil, err
	}
	return map[string]string{"call_id": p.CallID, "play_id": pb.ID}, nil
}

func stopPlay(x *cmd) (any, *Error) {
	var p struct {
		CallID string  `json:"call_id"`
		LegID  *string `json:"leg_id"`
		PlayID string  `json:"play_id"`
	}
	if err := decodeParams(x.params, &p); err != nil {
		return nil, err
	}
	info, err := x.ss.leg(p.CallID, control)
	if err != nil {
		return nil, err
	}
	n := 1
	var serr error
	if p.PlayID != "" {
		serr = x.srv.e.StopPlay(x.ctx, p.PlayID)
	} else {
		n, serr = x.srv.e.StopPlays(x.ctx, info.ID)
	}
	if err := engineError(serr); err != nil {
		return nil, err
	}
	return map[string]any{"call_id": p.CallID, "stopped": n}, nil
}

// recordModes maps record.start's modes to recording layouts.
var recordModes = map[string]recordings.Mode{
	"": "", "mixed": recordings.Mono, "mono": recordings.Mono,
	"stereo": recordings.Stereo, "separate_legs": recordings.Stereo,
}

func recordStart(x *cmd) (any, *Error) {
	var p struct {
		CallID          string `json:"call_id"`
		Mode            string `json:"mode"`
		Beep            *bool  `json:"beep"`
		MaxDurationSecs int    `json:"max_duration_secs"`
	}
	if err := decodeParams(x.params, &p); err != nil {
		return nil, err
	}
	mode, ok := recordModes[p.Mode]
	if !ok {
		return nil, fail(CodeInvalidParams, "mode %q: want mixed or stereo", p.Mode)
	}
	if p.MaxDurationSecs < 0 {
		return nil, fail(CodeInvalidParams, "max_duration_secs %d: want 0 or more", p.MaxDurationSecs)
	}
	info, err := x.ss.leg(p.CallID, control)
	if err != nil {
		return nil, err
	}
	if _, on := x.srv.e.RecordingOf(info.ID); on {
		return nil, fail(CodeInvalidState, "call %q is already being recorded", p.CallID)
	}
	id, rerr := x.srv.e.Record(x.ctx, info.ID, dialog.RecordOptions{
		Mode: mode, Beep: p.Beep, MaxDuration: time.Duration(p.MaxDurationSecs) * time.Second,
	})
	if err := engineError(rerr); err != nil {
		return nil, err
	}
	return map[string]string{"call_id": p.CallID, "recording_id": id}, nil
}

// recordingOf finds the recording of the call named by params {call_id}.
func (x *cmd) recordingOf() (string, string, *Error) {
	p, err := decode[callParams](x)
	if err != nil {
		return "", "", err
	}
	info, err := x.ss.leg(p.CallID, control)
	if err != nil {
		return "", "", err
	}
	id, ok := x.srv.e.RecordingOf(info.ID)
	if !ok {
		return "", "", fail(CodeInvalidState, "call %q is not being recorded", p.CallID)
	}
	return p.CallID, id, nil
}

func (x *cmd) onRecording(fn func(id string) error) (any, *Error) {
	callID, id, err := x.recordingOf()
	if err != nil {
		return nil, err
	}
	if err := engineError(fn(id)); err != nil {
		return nil, err
	}
	return map[string]string{"call_id": callID, "recording_id": id}, nil
}

func recordStop(x *cmd) (any, *Error) {
	callID, id, err := x.recordingOf()
	if err != nil {
		return nil, err
	}
	entry, serr := x.srv.e.StopRecording(x.ctx, id)
	if err := engineError(serr); err != nil {
		return nil, err
	}
	return map[string]any{
		"call_id": callID, "recording_id": id,
		"duration_secs": entry.Duration.Seconds(), "file_size": entry.Size,
	}, nil
}

func supervise(x *cmd, mode string) (any, *Error) {
	var p struct {
		SupervisorCallID string `json:"supervisor_call_id"`
		TargetCallID     string `json:"target_call_id"`
		AgentLeg         string `json:"agent_leg"`
	}
	if err := decodeParams(x.params, &p); err != nil {
		return nil, err
	}
	sup, err := x.ss.leg(p.SupervisorCallID, control)
	if err != nil {
		return nil, err
	}
	e := x.srv.e
	if mode == "stop" {
		if err := engineError(e.StopSupervise(x.ctx, sup.ID)); err != nil {
			return nil, err
		}
		return map[string]string{"supervisor_call_id": p.SupervisorCallID, "target_call_id": p.TargetCallID}, nil
	}
	// The target is the agent's leg, whoever owns it: the scope is what
	// lets a supervisor in.
	target, ok := e.Leg(x.ss.resolve(p.TargetCallID))
	if !ok {
		return nil, fail(CodeCallNotFound, "no call %q", p.TargetCallID)
	}
	var serr error
	switch mode {
	case "listen":
		serr = e.Listen(x.ctx, sup.ID, target.ID)
	case "whisper":
		serr = e.Whisper(x.ctx, sup.ID, target.ID)
	case "barge":
		serr = e.Barge(x.ctx, sup.ID, target.ID)
	case "takeover":
		serr = e.Takeover(x.ctx, sup.ID, target.ID)
	}
	if err := engineError(serr); err != nil {
		return nil, err
	}
	return map[string]string{"supervisor_call_id": p.SupervisorCallID, "target_call_id": p.TargetCallID}, nil
}

// maxBody bounds the body of a SIP request sent in a call.
const maxBody = 16 << 10

func sipRequest(x *cmd, method string) (any, *Error) {
	var p struct {
		CallID      string            `json:"call_id"`
		ContentType string            `json:"content_type"`
		Body        string            `json:"body"`
		Event       string            `json:"event"`
		Headers     map[string]string `json:"headers"`
	}
	if err := decodeParams(x.params, &p); err != nil {
		return nil, err
	}
	if len(p.Body) > maxBody {
		return nil, fail(CodeInvalidParams, "body: %d bytes, at most %d", len(p.Body), maxBody)
	}
	headers := map[string]string{}
	for k, v := range p.Headers {
		headers[k] = v
	}
	switch method {
	case "MESSAGE":
		if p.ContentType == "" {
			p.ContentType = "text/plain"
		}
	case "NOTIFY":
		if p.Event == "" {
			return nil, fail(CodeInvalidParams, "event is required")
		}
		if p.ContentType == "" && p.Body != "" {
			p.ContentType = "application/json"
		}
		headers["Event"] = p.Event
		headers["Subscription-State"] = "terminated"
	case "OPTIONS":
		p.ContentType, p.Body = "", ""
	}
	info, err := x.ss.leg(p.CallID, control)
	if err != nil {
		return nil, err
	}
	var body []byte
	if p.Body != "" {
		body = []byte(p.Body)
	}
	code, serr := x.srv.e.SendRequest(x.ctx, info.ID, method, headers, p.ContentType, body)
	if err := engineError(serr); err != nil {
		return nil, err
	}
	return map[string]any{"call_id": p.CallID, "sip_status": code}, nil
}
