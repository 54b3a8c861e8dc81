package agentrpc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"pbx/dialog"
	"pbx/media"
	"pbx/wav"
)

// op runs one bot request on its call. data goes in the 200's data; end
// says control of the call is over (hangup, redirect). Errors are
// answered by statusOf, unless the request was cancelled or the call
// ended meanwhile, which the caller answers (499, 487).
type op func(cl *call, t *transaction) (data any, end bool, err error)

// ops are the requests a bot may send, by name.
var ops = map[string]op{
	"ring":      opRing,
	"answer":    opAnswer,
	"play":      opPlay,
	"read_dtmf": opReadDTMF,
	"listen":    opListen,
	"echo":      opEcho,
	"hangup":    opHangup,
	"redirect":  opRedirect,
}

// The data of the requests that take arguments.
type (
	playArgs struct {
		URI string `json:"uri"`
	}
	readDTMFArgs struct {
		Duration    float64 `json:"duration_sec"`
		Termination string  `json:"termination"`
	}
	listenArgs struct {
		Duration float64 `json:"duration_sec"`
		Format   string  `json:"audio_format"`
	}
	redirectArgs struct {
		Endpoint string `json:"endpoint"`
	}
)

// Limits of the requests' arguments.
const (
	defaultDuration = 10 * time.Second
	maxListen       = 30 * time.Second // 30 s of 8 kHz PCM is 480 KB, as diagox bounds it
	maxReadDTMF     = time.Hour
	maxDigits       = 64
)

func opRing(cl *call, t *transaction) (any, bool, error) {
	return nil, false, cl.s.e.Ring(t.ctx, cl.did)
}

// opAnswer answers the call; answering an answered call is no error.
func opAnswer(cl *call, t *transaction) (any, bool, error) {
	if cl.answered() {
		return nil, false, nil
	}
	return nil, false, cl.s.e.Answer(t.ctx, cl.did)
}

// opHangup ends the call. Ending it cancels the request's own context,
// so the hangup does not wait on that context.
func opHangup(cl *call, t *transaction) (any, bool, error) {
	return nil, true, cl.s.e.Hangup(context.WithoutCancel(t.ctx), cl.did, dialog.CauseNormal)
}

// answered reports whether the call is up (answered or held).
func (cl *call) answered() bool { return cl.requireAnswered("") == nil }

// requireAnswered checks the call is up: a call still ringing gets 400 with
// reason (diagox spells it two ways), one that has gone 487.
func (cl *call) requireAnswered(reason string) error {
	info, ok := cl.s.e.Leg(cl.did)
	switch {
	case !ok || info.State == dialog.StateEnded:
		return dialog.ErrNotFound
	case info.State == dialog.StateAnswered || info.State == dialog.StateHeld:
		return nil
	}
	return &status{code: codeBad, reason: reason}
}

// opPlay plays a WAV file or URL to the caller and answers when it ends.
func opPlay(cl *call, t *transaction) (any, bool, error) {
	var args playArgs
	if err := decodeArgs(t.f.Data, &args); err != nil {
		return nil, false, badRequest(err.Error())
	}
	if err := cl.requireAnswered("call not answered"); err != nil {
		return nil, false, err
	}
	e := cl.s.e
	var pb *dialog.Playback
	var err error
	switch uri := args.URI; {
	case strings.HasPrefix(uri, "file://"):
		name := strings.TrimSuffix(strings.TrimPrefix(uri, "file://"), ".wav")
		pcm, lerr := cl.s.playback.Load(name)
		if lerr != nil {
			return nil, false, fail(codeBad, "playback not found uri="+uri, lerr.Error())
		}
		t.progress(183, "Playback In Progress")
		pb, err = e.Play(t.ctx, cl.did, media.NewPlayer(false, pcm), dialog.PlayOptions{})
	case strings.HasPrefix(uri, "http://"), strings.HasPrefix(uri, "https://"):
		t.progress(183, "Playback In Progress")
		pb, err = e.PlayURL(t.ctx, cl.did, uri, dialog.PlayOptions{})
		if errors.Is(err, dialog.ErrBadTarget) && t.ctx.Err() == nil {
			return nil, false, fail(codeBad, "playback not found uri="+uri, err.Error())
		}
	default:
		return nil, false, &status{code: codeBad, reason: "unknown playback type uri=" + uri}
	}
	if err != nil {
		return nil, false, err
	}
	select {
	case <-pb.Done():
		if pb.Reason() == "hangup" {
			return nil, false, dialog.ErrNotFound
		}
		return nil, false, nil
	case <-t.ctx.Done():
		pb.Stop()
		return nil, false, t.ctx.Err()
	}
}

// opReadDTMF collects keys for duration_sec, or until the termination
// key, which is included in the digits as diagox returns them.
func opReadDTMF(cl *call, t *transaction) (any, bool, error) {
	var args readDTMFArgs
	if err := decodeArgs(t.f.Data, &args); err != nil {
		return nil, false, badRequest(err.Error())
	}
	d, err := duration(args.Duration, maxReadDTMF)
	if err != nil {
		return nil, false, badRequest(err.Error())
	}
	if len(args.Termination) > 1 || args.Termination != "" && !strings.ContainsAny(args.Termination, "0123456789*#ABCD") {
		return nil, false, badRequest(fmt.Sprintf("termination %q: want one DTMF key", args.Termination))
	}
	if err := cl.requireAnswered("call not answered"); err != nil {
		return nil, false, err
	}
	t.progress(183, "Read DTMF In Progress")
	got, err := cl.s.e.CollectDTMF(t.ctx, cl.did, dialog.CollectOptions{
		Max: maxDigits, Timeout: d, InterDigit: d, Total: d, Terminator: args.Termination,
	})
	if err != nil {
		return nil, false, err
	}
	digits := got.Digits
	if got.Reason == "terminator" {
		digits += args.Termination
	}
	return map[string]string{"dtmf": digits}, false, nil
}

// opListen records what the caller says and sends it as one binary
// frame: 1, the request id's length (big-endian uint32), the id, then
// the audio, raw 8 kHz 16-bit little-endian PCM or a WAV file.
func opListen(cl *call, t *transaction) (any, bool, error) {
	var args listenArgs
	if err := decodeArgs(t.f.Data, &args); err != nil {
		return nil, false, badRequest(err.Error())
	}
	if args.Duration > maxListen.Seconds() {
		return nil, false, &status{code: codeBad, reason: "Bad Request - Duration Seconds above Max"}
	}
	d, err := duration(args.Duration, maxListen)
	if err != nil {
		return nil, false, badRequest(err.Error())
	}
	if args.Format != "" && args.Format != "wav" && args.Format != "raw" {
		return nil, false, badRequest(fmt.Sprintf("audio_format %q: want wav or raw", args.Format))
	}
	if err := cl.requireAnswered("Call Not Answered"); err != nil {
		return nil, false, err
	}
	t.progress(183, "Recording In Progress")
	pcm, err := cl.s.e.Capture(t.ctx, cl.did, d)
	if err != nil {
		return nil, false, err
	}
	t.progress(190, "Recording Write")
	audio := wav.AppendPCM(nil, pcm)
	if args.Format == "wav" {
		audio = wav.Encode(pcm)
	}
	id := t.f.ID
	msg := make([]byte, 0, 5+len(id)+len(audio))
	msg = append(msg, 1)
	msg = binary.BigEndian.AppendUint32(msg, uint32(len(id)))
	msg = append(msg, id...)
	msg = append(msg, audio...)
	if err := cl.c.writeFrame(websocket.BinaryMessage, msg); err != nil {
		return nil, false, err
	}
	return map[string]any{"size": len(audio), "duration_sec": float64(len(pcm)) / 8000}, false, nil
}

// opEcho sends the caller its own voice until cancelled or the call ends.
func opEcho(cl *call, t *transaction) (any, bool, error) {
	if err := cl.requireAnswered("Call Not Answered"); err != nil {
		return nil, false, err
	}
	t.progress(183, "Echo In Progress")
	return nil, false, cl.s.e.Echo(t.ctx, cl.did)
}

// opRedirect gives the call up to an endpoint (its uri, or its users), a
// dial-plan target, or a number the dial plan routes; control ends.
func opRedirect(cl *call, t *transaction) (any, bool, error) {
	var args redirectArgs
	if err := decodeArgs(t.f.Data, &args); err != nil {
		return nil, false, badRequest(err.Error())
	}
	name := strings.TrimSpace(args.Endpoint)
	flow := &status{code: codeBad, reason: "Endpoint Can Not Be Flow API"}
	var target, number string
	if ep, ok := cl.s.endpoints[name]; ok {
		switch {
		case ep.IsAgent():
			return nil, false, flow
		case ep.URI != "":
			target = "uri:" + ep.URI
		case ep.Match.Type == "user" && len(ep.Match.Values) > 0:
			target = "extension:" + strings.Join(ep.Match.Values, ",")
		default:
			return nil, false, fail(codeBad, "Endpoint Does Not Exist", "endpoint "+name+" has no uri to send calls to")
		}
	} else if kind, _, isTarget := strings.Cut(name, ":"); isTarget {
		if kind == "agentrpc" {
			return nil, false, flow
		}
		target = name
	} else if _, err := strconv.ParseUint(strings.TrimPrefix(name, "*"), 10, 64); err == nil {
		number = name
	} else {
		return nil, false, &status{code: codeBad, reason: "Endpoint Does Not Exist"}
	}
	cl.release() // the call's next home may claim it
	var err error
	if number != "" {
		err = cl.s.e.RedirectNumber(t.ctx, cl.did, number)
	} else {
		err = cl.s.e.Redirect(t.ctx, cl.did, target)
	}
	if err != nil {
		cl.s.e.SetOwner(cl.did, cl.owner()) // still the bot's call
		if errors.Is(err, dialog.ErrBadTarget) {
			return nil, false, fail(codeBad, "Endpoint Does Not Exist", err.Error())
		}
		return nil, false, err
	}
	return nil, true, nil
}

// duration reads a duration_sec argument: absent or 0 is the default.
func duration(sec float64, most time.Duration) (time.Duration, error) {
	switch {
	case math.IsNaN(sec) || sec < 0 || sec > most.Seconds(): // compared before converting: 1e300 s overflows a Duration
		return 0, fmt.Errorf("duration_sec %v: want 0 to %v", sec, most.Seconds())
	case sec == 0:
		return defaultDuration, nil
	}
	return time.Duration(sec * float64(time.Second)), nil
}
