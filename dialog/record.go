package dialog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"pbx/media"
	"pbx/recordings"
	"pbx/sounds"
)

// ErrNoRecordings is returned when recording is not configured.
var ErrNoRecordings = errors.New("dialog: recording is not configured")

// RecordOptions say how a bridge is recorded.
type RecordOptions struct {
	Mode        recordings.Mode // stereo (the leg named left, the others right) or mono
	Beep        *bool           // play a beep to every party at the start; nil: recordings.beep
	MaxDuration time.Duration   // stop by itself after this long; 0: no limit
}

// bridgeRecording is a recording tapped from a bridge's mixer.
type bridgeRecording struct {
	rec  *recordings.Recording
	b    *Bridge
	left *Leg // the leg on the left channel; when it has left, the bridge's first party
}

// publish reports an event of the recording as one of its left leg, so
// that it carries the leg's call, owner and direction as leg events do.
func (r *bridgeRecording) publish(ev Event) {
	ev.BridgeID, ev.Detail = r.b.id, r.rec.ID()
	if r.left != nil {
		r.left.publish(ev)
		return
	}
	r.b.e.events.publish(ev)
}

func (r *bridgeRecording) stop() {
	if _, err := r.rec.Stop(); err != nil {
		r.b.e.log.Warn("recording stop", "recording", r.rec.ID(), "error", err)
	}
}

// retap connects the recording to the mixer's talking members; b.mu held.
// Supervisors who only listen or whisper are not in it, nor is a party
// hearing hold music: during a consultation the recording runs on as
// silence.
func (b *Bridge) retap() {
	if b.tap != nil {
		b.mixer.RemoveTap(b.tap)
		b.tap = nil
	}
	if b.rec == nil || b.mixer == nil {
		return
	}
	left := b.rec.left
	if _, ok := b.members[left]; !ok {
		if p := b.partiesLocked(); len(p) > 0 {
			left = p[0]
		}
	}
	var l, r []*media.Member
	for leg, mem := range b.members {
		switch m := b.supervise[leg].mode; {
		case m == SuperviseListen || m == SuperviseWhisper:
		case leg == left:
			l = append(l, mem)
		default:
			r = append(r, mem)
		}
	}
	b.tap = b.mixer.AddTap(l, r, b.rec.rec.WriteFrame)
}

// Record records the bridge a leg is in, that leg on the left channel.
// It returns the recording's id; recording.started and .stopped report it.
func (e *Engine) Record(ctx context.Context, legID string, o RecordOptions) (string, error) {
	l, err := e.liveLeg("record", legID)
	if err != nil {
		return "", err
	}
	b := l.currentBridge()
	if b == nil {
		return "", fmt.Errorf("record %s: %w: in no bridge", legID, ErrInvalidState)
	}
	return e.record(b, l, o)
}

// RecordBridge records a bridge, its first party on the left channel.
func (e *Engine) RecordBridge(ctx context.Context, bridgeID string, o RecordOptions) (string, error) {
	e.mu.Lock()
	b := e.bridges[bridgeID]
	e.mu.Unlock()
	if b == nil {
		return "", fmt.Errorf("record bridge %s: %w", bridgeID, ErrNotFound)
	}
	return e.record(b, nil, o)
}

func (e *Engine) record(b *Bridge, left *Leg, o RecordOptions) (string, error) {
	if e.archive == nil {
		return "", ErrNoRecordings
	}
	parties := b.parties()
	if left == nil && len(parties) > 0 {
		left = parties[0]
	}
	b.mu.Lock()
	if b.ended {
		b.mu.Unlock()
		return "", fmt.Errorf("record bridge %s: %w", b.id, ErrNotFound)
	}
	if b.rec != nil {
		id := b.rec.rec.ID()
		b.mu.Unlock()
		return id, nil
	}
	meta := recordings.Meta{}
	if left != nil {
		meta = recordings.Meta{CallID: left.call.ID, LegID: left.id, Caller: left.call.From, Callee: left.call.To}
	}
	br := &bridgeRecording{b: b, left: left}
	rec, err := e.archive.Start(meta, recordings.StartOptions{
		Mode: o.Mode, Beep: o.Beep, MaxDuration: o.MaxDuration,
		OnStop: func(entry recordings.Entry) { b.recordingEnded(br, entry) },
	})
	if err != nil {
		b.mu.Unlock()
		return "", fmt.Errorf("record bridge %s: %w", b.id, err)
	}
	br.rec = rec
	b.rec = br
	b.reconcile()
	b.mu.Unlock()
	e.mu.Lock()
	e.recs[rec.ID()] = br
	e.mu.Unlock()
	beep := e.opts.RecordBeep
	if o.Beep != nil {
		beep = *o.Beep
	}
	if beep {
		if p, err := e.player(false, sounds.Beep); err == nil {
			b.addSource(p, nil, nil)
		}
	}
	e.log.Info("recording started", "bridge", b.id, "recording", rec.ID())
	br.publish(Event{Kind: EventRecordingStarted})
	return rec.ID(), nil
}

func (b *Bridge) recordingEnded(br *bridgeRecording, entry recordings.Entry) {
	b.mu.Lock()
	if b.rec == br {
		b.rec = nil
		b.reconcile()
	}
	b.mu.Unlock()
	b.e.mu.Lock()
	delete(b.e.recs, entry.ID)
	b.e.mu.Unlock()
	b.e.log.Info("recording stopped", "recording", entry.ID, "duration", entry.Duration.Round(time.Millisecond))
	br.publish(Event{Kind: EventRecordingStopped, Duration: entry.Duration})
}

func (e *Engine) recording(op, id string) (*bridgeRecording, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r := e.recs[id]; r != nil {
		return r, nil
	}
	return nil, fmt.Errorf("%s recording %s: %w", op, id, ErrNotFound)
}

// StopRecording stops a recording and returns its index entry.
func (e *Engine) StopRecording(ctx context.Context, id string) (recordings.Entry, error) {
	r, err := e.recording("stop", id)
	if err != nil {
		return recordings.Entry{}, err
	}
	return r.rec.Stop()
}

// PauseRecording writes silence until ResumeRecording, so the file's
// timeline stays true.
func (e *Engine) PauseRecording(ctx context.Context, id string) error {
	return e.withRecording("pause", id, EventRecordingPaused, (*recordings.Recording).Pause)
}

// ResumeRecording ends a pause.
func (e *Engine) ResumeRecording(ctx context.Context, id string) error {
	return e.withRecording("resume", id, EventRecordingResumed, (*recordings.Recording).Resume)
}

// MaskRecording silences the left or right channel's party in the file.
func (e *Engine) MaskRecording(ctx context.Context, id string, left, right bool) error {
	return e.withRecording("mask", id, "", func(r *recordings.Recording) { r.Mask(left, right) })
}

func (e *Engine) withRecording(op, id string, kind EventKind, fn func(*recordings.Recording)) error {
	r, err := e.recording(op, id)
	if err != nil {
		return err
	}
	fn(r.rec)
	if kind != "" {
		r.publish(Event{Kind: kind})
	}
	return nil
}

// toggleRecording starts or stops recording the bridge l is in (the
// feature code).
func (e *Engine) toggleRecording(l *Leg) {
	b := l.currentBridge()
	if b == nil {
		return
	}
	b.mu.Lock()
	r := b.rec
	b.mu.Unlock()
	if r != nil {
		r.stop()
		return
	}
	if _, err := e.record(b, nil, RecordOptions{}); err != nil {
		l.log.Warn("recording by key press", "error", err)
	}
}
