package dialog

import (
	"strings"

	"pbx/media"
)

// The feature codes of a dial-plan call: *1 records, ## number # sends
// the other party to number (blind), *2 number # consults number first
// (attended; *2 again returns). They are one key subscriber per leg.

// featureKeys is one leg's progress through the codes. Only the leg's
// queue touches it.
type featureKeys struct {
	keys   string
	at     int64 // unix nanoseconds of the last key
	mode   string
	number string
	timer  Timer
}

// watchFeatures subscribes the feature codes to a leg's keys, once per
// leg however many calls it goes through (transfers, redirects).
func (e *Engine) watchFeatures(l *Leg) {
	f := e.opts.Features
	if f.Record == "" && f.BlindTransfer == "" && f.AttendedTransfer == "" {
		return
	}
	l.mu.Lock()
	already := l.features
	l.features = true
	l.mu.Unlock()
	if already {
		return
	}
	fk := &featureKeys{}
	l.keys.subscribe(func(d media.Digit) { e.featureKey(l, fk, d.Key) })
}

// featureKey runs on the leg's queue.
func (e *Engine) featureKey(l *Leg, fk *featureKeys, key rune) {
	f := e.opts.Features
	b := l.currentBridge()
	if b == nil {
		return
	}
	if fk.mode != "" {
		if key == '#' {
			e.finishCollect(l, fk)
			return
		}
		fk.number += string(key)
		e.armCollect(l, fk)
		return
	}
	now := e.clock.Now().UnixNano()
	if now-fk.at > int64(f.DigitTimeout) {
		fk.keys = ""
	}
	fk.at = now
	fk.keys += string(key)
	if len(fk.keys) > 16 {
		fk.keys = fk.keys[len(fk.keys)-16:]
	}
	switch {
	case f.Record != "" && strings.HasSuffix(fk.keys, f.Record):
		fk.keys = ""
		e.goOwned(func() { e.toggleRecording(l) })
	case f.AttendedTransfer != "" && strings.HasSuffix(fk.keys, f.AttendedTransfer):
		fk.keys = ""
		if x := e.consultationOf(l); x != nil {
			e.goOwned(func() { x.cancel("cancelled") })
			return
		}
		fk.mode, fk.number = "attended", ""
		e.armCollect(l, fk)
	case f.BlindTransfer != "" && strings.HasSuffix(fk.keys, f.BlindTransfer):
		fk.keys = ""
		fk.mode, fk.number = "blind", ""
		e.armCollect(l, fk)
	}
}

// armCollect (re)starts the pause allowed before the next key.
func (e *Engine) armCollect(l *Leg, fk *featureKeys) {
	if fk.timer != nil {
		fk.timer.Stop()
	}
	fk.timer = e.clock.AfterFunc(e.opts.Features.DigitTimeout, func() {
		l.ops.post(func() {
			if fk.mode != "" {
				e.finishCollect(l, fk)
			}
		})
	})
}

// finishCollect acts on a transfer number keyed after its code.
func (e *Engine) finishCollect(l *Leg, fk *featureKeys) {
	if fk.timer != nil {
		fk.timer.Stop()
		fk.timer = nil
	}
	mode, number := fk.mode, fk.number
	fk.mode, fk.number = "", ""
	if number == "" {
		return
	}
	switch mode {
	case "blind":
		e.goOwned(func() {
			if err := e.blindTransfer(l, number, nil); err != nil {
				l.log.Info("transfer by keys", "error", err)
			}
		})
	case "attended":
		e.goOwned(func() {
			if _, err := e.consult(l, number); err != nil {
				l.log.Info("consultation by keys", "error", err)
			}
		})
	}
}

// EnableFeatures turns the in-call feature codes (record, blind and
// attended transfer) on for a leg a program bridged, as the dial plan does
// for the legs of its own calls: a queue lets its agents transfer and
// record their calls.
func (e *Engine) EnableFeatures(legID string) error {
	l, err := e.liveLeg("enable features", legID)
	if err != nil {
		return err
	}
	e.watchFeatures(l)
	return nil
}
