package dialog

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"pbx/media"
	"pbx/recordings"
	"pbx/sounds"
)

// ErrNoRecordings is returned when recording is asked of a PBX that has
// no recordings archive.
var ErrNoRecordings = errors.New("dialog: recording is not configured")

// ErrNotRecording is returned for a call that is not being recorded.
var ErrNotRecording = errors.New("dialog: call is not being recorded")

// RecordOptions choose how a call is recorded; zero values take pbx.yaml's
// recordings section.
type RecordOptions struct {
	Mode        recordings.Mode // stereo (caller left, callee right) or mono
	Beep        *bool           // play a beep to both parties at the start
	MaxDuration time.Duration
	// Leg records from one leg's side: that leg's voice on the left, what
	// it hears on the right (an agent's side of a call, say). "" records
	// the call, caller on the left.
	Leg string
}

// callRecording is a recording tapping a call's mixer.
type callRecording struct {
	rec *recordings.Recording
	log *slog.Logger
	leg *Leg // the leg on the left; nil for the caller's, whoever it is now
}

func (r *callRecording) stop() {
	if _, err := r.rec.Stop(); err != nil {
		r.log.Warn("recording stop", "recording", r.rec.ID(), "error", err)
	}
}

// retap points the recording at the mixer's current members: the caller's
// leg on the left, everyone else on the right; silence during a
// consultation. mediaMu must be held.
func (c *Call) retap() {
	m := &c.m
	if m.tap != nil {
		m.mixer.RemoveTap(m.tap)
		m.tap = nil
	}
	if m.recording == nil || m.mixer == nil {
		return
	}
	c.mu.Lock()
	caller := c.a
	c.mu.Unlock()
	if m.recording.leg != nil {
		caller = m.recording.leg
	}
	var left, right []*media.Member
	if c.consultation() != nil {
		// The transferor's private talk with the target stays out of the
		// call's recording, which runs on as silence.
		m.tap = m.mixer.AddTap(nil, nil, m.recording.rec.WriteFrame)
		return
	}
	for l, mem := range m.members {
		if l == caller {
			left = append(left, mem)
		} else {
			right = append(right, mem)
		}
	}
	m.tap = m.mixer.AddTap(left, right, m.recording.rec.WriteFrame)
}

// Record starts recording an answered call and returns the recording's
// id. Recording moves the call's media into a mixer (seamlessly) for as
// long as it lasts.
func (e *Engine) Record(callID string, o RecordOptions) (string, error) {
	c, err := e.answeredCall(callID)
	if err != nil {
		return "", err
	}
	return c.startRecording(o)
}

func (c *Call) startRecording(o RecordOptions) (string, error) {
	e := c.e
	if e.archive == nil {
		return "", ErrNoRecordings
	}
	c.mediaMu.Lock()
	if c.isEnded() {
		c.mediaMu.Unlock()
		return "", fmt.Errorf("record call %s: %w", c.ID, ErrNoCall)
	}
	if c.m.recording != nil {
		id := c.m.recording.rec.ID()
		c.mediaMu.Unlock()
		return id, nil
	}
	c.mu.Lock()
	meta := recordings.Meta{CallID: c.ID, Caller: c.From, Callee: c.To}
	legs := []*Leg{c.a, c.b}
	c.mu.Unlock()
	var leg *Leg
	if o.Leg != "" {
		for _, l := range legs {
			if l != nil && l.ID == o.Leg {
				leg = l
			}
		}
		if leg == nil {
			c.mediaMu.Unlock()
			return "", fmt.Errorf("record leg %s of call %s: %w", o.Leg, c.ID, ErrNoLeg)
		}
		meta.LegID = leg.ID
	}
	var cr *callRecording
	rec, err := e.archive.Start(meta, recordings.StartOptions{
		Mode: o.Mode, Beep: o.Beep, MaxDuration: o.MaxDuration,
		OnStop: func(entry recordings.Entry) { c.recordingEnded(cr, entry) },
	})
	if err != nil {
		c.mediaMu.Unlock()
		return "", fmt.Errorf("record call %s: %w", c.ID, err)
	}
	cr = &callRecording{rec: rec, log: c.log, leg: leg}
	c.m.recording = cr
	c.remixLocked()
	c.mediaMu.Unlock()
	beep := e.cfg.Recordings.Beep
	if o.Beep != nil {
		beep = *o.Beep
	}
	if beep {
		c.playInto(nil, false, sounds.Beep)
	}
	c.log.Info("recording started", "recording", rec.ID())
	c.e.events.publish(Event{Kind: EventRecordingStarted, CallID: c.ID, From: c.From, To: c.To, Detail: rec.ID()})
	return rec.ID(), nil
}

// recordingEnded runs when a recording stops, by request or by itself
// (its maximum duration): the call leaves the mixer if nothing else needs it.
func (c *Call) recordingEnded(cr *callRecording, entry recordings.Entry) {
	c.mediaMu.Lock()
	if c.m.recording == cr && cr != nil {
		c.m.recording = nil
		c.remixLocked()
	}
	c.mediaMu.Unlock()
	c.log.Info("recording stopped", "recording", entry.ID, "duration", entry.Duration.Round(time.Millisecond))
	c.e.events.publish(Event{Kind: EventRecordingStopped, CallID: c.ID, From: c.From, To: c.To, Detail: entry.ID})
}

// StopRecording stops a call's recording and returns its index entry.
func (e *Engine) StopRecording(callID string) (recordings.Entry, error) {
	c, err := e.answeredCall(callID)
	if err != nil {
		return recordings.Entry{}, err
	}
	c.mediaMu.Lock()
	cr := c.m.recording
	c.mediaMu.Unlock()
	if cr == nil {
		return recordings.Entry{}, ErrNotRecording
	}
	return cr.rec.Stop()
}

// PauseRecording writes silence until ResumeRecording, keeping the
// file's timeline true: for card numbers and the like.
func (e *Engine) PauseRecording(callID string) error {
	return e.withRecording(callID, EventRecordingPaused, (*recordings.Recording).Pause)
}

// ResumeRecording ends a pause.
func (e *Engine) ResumeRecording(callID string) error {
	return e.withRecording(callID, EventRecordingResumed, (*recordings.Recording).Resume)
}

// MaskRecording silences one direction or both in the recording, or makes
// them audible again.
func (e *Engine) MaskRecording(callID string, caller, callee bool) error {
	return e.withRecording(callID, "", func(r *recordings.Recording) { r.Mask(caller, callee) })
}

func (e *Engine) withRecording(callID string, kind EventKind, fn func(*recordings.Recording)) error {
	c, err := e.answeredCall(callID)
	if err != nil {
		return err
	}
	c.mediaMu.Lock()
	cr := c.m.recording
	c.mediaMu.Unlock()
	if cr == nil {
		return ErrNotRecording
	}
	fn(cr.rec)
	if kind != "" {
		e.events.publish(Event{Kind: kind, CallID: c.ID, From: c.From, To: c.To, Detail: cr.rec.ID()})
	}
	return nil
}

// toggleRecording is the record feature code: start, or stop.
func (c *Call) toggleRecording(by *Leg) {
	c.mediaMu.Lock()
	cr := c.m.recording
	c.mediaMu.Unlock()
	if cr != nil {
		cr.stop()
		return
	}
	if _, err := c.startRecording(RecordOptions{}); err != nil {
		c.log.Warn("recording by key press", "leg", by.ID, "error", err)
	}
}
