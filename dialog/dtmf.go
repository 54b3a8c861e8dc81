package dialog

import (
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"pbx/media"
)

// legDigit is a key press heard on a leg, or (timeout) the end of the
// pause allowed between the keys of a number being collected.
type legDigit struct {
	leg     *Leg
	d       media.Digit
	src     media.DigitSource
	timeout bool
}

// keyBuffer is what a leg has keyed toward the feature codes, and the
// number it is keying for a transfer. Only the call's digit loop uses it.
type keyBuffer struct {
	keys   string
	at     time.Time
	mode   string // "", "blind" or "attended": collecting a number for it
	number string
	timer  *time.Timer
}

// heardDigit is the endpoint's OnDigit: it runs on the media reader and
// only queues the press for the call's digit loop.
func (l *Leg) heardDigit(d media.Digit, src media.DigitSource) {
	l.call().queueDigit(legDigit{leg: l, d: d, src: src})
}

// queueDigit hands a press to the call's digit loop, which is started by
// the first press and ends with the call.
func (c *Call) queueDigit(ld legDigit) {
	c.digitsOnce.Do(func() {
		c.digits = make(chan legDigit, 32)
		c.e.wg.Add(1)
		go c.digitLoop()
	})
	select {
	case c.digits <- ld:
	default:
		c.log.Warn("key press dropped: too many waiting", "leg", ld.leg.ID)
	}
}

func (c *Call) digitLoop() {
	defer c.e.wg.Done()
	for {
		select {
		case ld := <-c.digits:
			c.handleDigit(ld)
		case <-c.done:
			return
		}
	}
}

// handleDigit gives a press to whoever wants it: an application reading
// keys, a prompt that keys interrupt, the other party (in the form it
// negotiated) and the feature codes.
func (c *Call) handleDigit(ld legDigit) {
	l := ld.leg
	if ld.timeout {
		if l.keys.mode != "" {
			c.finishCollect(l)
		}
		return
	}
	c.e.events.publish(Event{Kind: EventDTMF, CallID: c.ID, LegID: l.ID, From: c.From, To: c.To,
		Digit: string(ld.d.Key), Source: ld.src.String()})
	c.log.Debug("key press", "leg", l.ID, "key", string(ld.d.Key), "source", ld.src.String())
	l.mu.Lock()
	col, intr := l.collector, l.interrupt
	l.interrupt = nil
	l.mu.Unlock()
	if intr != nil {
		intr()
	}
	if col != nil {
		select {
		case col <- ld.d:
		default:
		}
		return
	}
	c.relayDigit(ld)
	c.featureKey(l, ld.d.Key)
}

// relayDigit passes a press to the other party when the press did not
// reach it by itself: it came by SIP INFO, or the two legs negotiated
// different forms, or a mixer (which carries audio, not events) joins them.
func (c *Call) relayDigit(ld legDigit) {
	legs := c.talkers()
	if len(legs) != 2 || c.consultation() != nil {
		return
	}
	other := legs[0]
	if other == ld.leg {
		other = legs[1]
	} else if legs[1] != ld.leg {
		return
	}
	c.mediaMu.Lock()
	mixing := c.m.mixer != nil
	c.mediaMu.Unlock()
	otherEvents := other.remoteDTMF() != 0
	regenerate := ld.src == media.SourceInfo ||
		ld.src == media.SourceRFC4733 && (!otherEvents || mixing) ||
		ld.src == media.SourceInband && otherEvents
	if !regenerate {
		return
	}
	if err := other.ep.SendDigit(ld.d); err != nil {
		c.log.Debug("key press not relayed", "leg", other.ID, "error", err)
	}
}

// featureKey matches the keys of an answered call's party against the
// feature codes, or collects the number a transfer code asked for.
func (c *Call) featureKey(l *Leg, key rune) {
	legs := c.talkers()
	if len(legs) != 2 || l != legs[0] && l != legs[1] {
		return
	}
	f := c.e.cfg.Features
	kb := &l.keys
	if kb.mode != "" {
		if key == '#' {
			c.finishCollect(l)
			return
		}
		kb.number += string(key)
		c.armCollect(l)
		return
	}
	now := time.Now()
	if now.Sub(kb.at) > f.DigitTimeout {
		kb.keys = ""
	}
	kb.at = now
	kb.keys += string(key)
	if len(kb.keys) > 16 {
		kb.keys = kb.keys[len(kb.keys)-16:]
	}
	switch {
	case f.Record != "" && strings.HasSuffix(kb.keys, f.Record):
		kb.keys = ""
		go c.toggleRecording(l)
	case f.AttendedTransfer != "" && strings.HasSuffix(kb.keys, f.AttendedTransfer):
		kb.keys = ""
		if cs := c.consultation(); cs != nil && cs.transferor == l {
			go c.cancelConsultation(cs, "cancelled")
			return
		}
		kb.mode, kb.number = "attended", ""
		c.armCollect(l)
	case f.BlindTransfer != "" && strings.HasSuffix(kb.keys, f.BlindTransfer):
		kb.keys = ""
		kb.mode, kb.number = "blind", ""
		c.armCollect(l)
	}
}

// armCollect (re)starts the pause allowed before the next key.
func (c *Call) armCollect(l *Leg) {
	if l.keys.timer != nil {
		l.keys.timer.Stop()
	}
	l.keys.timer = time.AfterFunc(c.e.cfg.Features.DigitTimeout, func() {
		c.queueDigit(legDigit{leg: l, timeout: true})
	})
}

// finishCollect acts on a transfer number keyed after its code.
func (c *Call) finishCollect(l *Leg) {
	kb := &l.keys
	if kb.timer != nil {
		kb.timer.Stop()
		kb.timer = nil
	}
	mode, number := kb.mode, kb.number
	kb.mode, kb.number = "", ""
	if number == "" {
		return
	}
	switch mode {
	case "blind":
		go c.blindTransfer(l, number, nil)
	case "attended":
		go c.startConsultation(l, number)
	}
}

// onInfo takes an in-dialog INFO: a key press as application/dtmf-relay
// or application/dtmf goes to the leg's call like any other press; other
// INFO bodies are acknowledged and ignored.
func (e *Engine) onInfo(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	l := e.legFor(req)
	if l == nil {
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	d, isDTMF, ok := parseInfoDTMF(ct, req.Body())
	if isDTMF && !ok {
		respond(tx, req, 400, "Bad Request")
		return
	}
	if isDTMF {
		l.heardDigit(d, media.SourceInfo) // before the 200: the next INFO must queue after this one
	}
	respond(tx, req, 200, "OK")
}

// parseInfoDTMF reads a key press from an INFO body. isDTMF says whether
// the content type is one of the DTMF ones; ok whether the body holds a
// valid key. application/dtmf-relay carries "Signal=5" and
// "Duration=160" (milliseconds) lines; application/dtmf carries the key
// alone.
func parseInfoDTMF(contentType string, body []byte) (d media.Digit, isDTMF, ok bool) {
	ct, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(contentType)), ";")
	ct = strings.TrimSpace(ct)
	if ct != "application/dtmf-relay" && ct != "application/dtmf" {
		return d, false, false
	}
	if len(body) > 1024 {
		return d, true, false
	}
	d.Duration = 100 * time.Millisecond
	text := strings.TrimSpace(string(body))
	if ct == "application/dtmf" && !strings.Contains(text, "=") {
		return keyFrom(text, d)
	}
	var key string
	for _, line := range strings.Split(text, "\n") {
		name, value, found := strings.Cut(line, "=")
		if !found {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "signal":
			key = value
		case "duration":
			if ms, err := strconv.Atoi(value); err == nil && ms > 0 && ms <= 10000 {
				d.Duration = time.Duration(ms) * time.Millisecond
			}
		}
	}
	return keyFrom(key, d)
}

// keyFrom reads one key, also as an event number (10 is *, 11 is #).
func keyFrom(s string, d media.Digit) (media.Digit, bool, bool) {
	switch {
	case s == "10":
		s = "*"
	case s == "11":
		s = "#"
	}
	if len(s) != 1 {
		return d, true, false
	}
	k := rune(strings.ToUpper(s)[0])
	if !media.ValidKey(k) {
		return d, true, false
	}
	d.Key = k
	return d, true, true
}
