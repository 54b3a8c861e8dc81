package media

import "time"

const (
	// EventTimeout is how long EventReceiver waits after the last packet
	// of a press before ending it on its own. RFC 4733 senders repeat the
	// event at least every 50 ms while the key is held (most every 20 ms),
	// so 300 ms is six lost updates in a row: long enough not to cut a
	// press short over a burst of loss, short enough that a press whose
	// three end packets were all lost still ends promptly.
	EventTimeout = 300 * time.Millisecond

	// eventDedupe is how long an ended press is remembered, so that late
	// or retransmitted packets of it (end packets above all, possibly
	// under a new SSRC or payload type after a re-INVITE) are recognised
	// as duplicates rather than taken for a new press. Such stragglers
	// arrive within a few hundred milliseconds; 3 s leaves a wide margin
	// while a sender that (against RFC 4733) reuses a timestamp for a
	// later press of the same key is rarely that quick.
	eventDedupe = 3 * time.Second

	// eventRecent is how many ended presses are remembered for eventDedupe.
	eventRecent = 8

	// maxEventDuration caps the duration reported for a press: the
	// 16-bit duration field at 8 kHz cannot exceed 8.2 s, so anything
	// longer comes from a bogus clock rate or a corrupt packet.
	maxEventDuration = 10 * time.Second
)

// eventID identifies one press on the wire: RFC 4733 gives every packet
// of an event the event's start timestamp, and a new event a new one.
type eventID struct {
	ts   uint32
	code uint8
}

// endedEvent is an ended press kept for dedupe.
type endedEvent struct {
	id    eventID
	at    time.Time
	valid bool
}

// EventReceiver turns a stream of telephone-event packets into key presses:
// one Begin and one End per press, however many packets (and repeated end
// packets) carried it.
//
// A press is identified by its RTP timestamp and event code only: neither
// the SSRC nor the payload type is part of it, so a retransmitted end
// packet that arrives under a new SSRC after a re-INVITE is still known
// as a duplicate. The marker bit is not needed either, since a new
// timestamp already says a new event began; a lost first packet must not
// lose the press.
//
// The zero value is ready to use. It is not safe for concurrent use; it
// does not allocate.
type EventReceiver struct {
	active   bool
	cur      eventID
	key      rune
	dur      time.Duration // the longest duration field seen
	lastSeen time.Time

	recent [eventRecent]endedEvent
	next   int // the slot of recent to overwrite next
}

// Packet handles one telephone-event packet. ts is its RTP timestamp,
// marker its M bit, clock the payload's clock rate (8000; 0 is taken as
// 8000), now the arrival time. It reports at most one begin and/or one
// end, and may also report the end of the previous press (PrevEnd) when
// this packet begins a new one before that press's end packet came.
// ssrc and marker are taken so that callers pass the whole header, but
// are not used: see EventReceiver for why they do not identify a press.
func (r *EventReceiver) Packet(ssrc uint32, ts uint32, marker bool, ev TelephoneEvent, clock uint32, now time.Time) EventResult {
	_, _ = ssrc, marker
	var res EventResult
	key, ok := ev.Digit()
	if !ok {
		return res
	}
	if r.active && now.Sub(r.lastSeen) >= EventTimeout {
		r.finish(&res, now)
	}
	id := eventID{ts: ts, code: ev.Event}
	if r.active && id != r.cur {
		r.finish(&res, now)
	}
	if !r.active {
		if r.ended(id, now) {
			return res
		}
		r.active, r.cur, r.key, r.dur = true, id, key, 0
		res.addBegin(key)
	}
	r.lastSeen = now
	if d := eventDuration(ev.Duration, clock); d > r.dur {
		r.dur = d
	}
	if ev.End {
		r.finish(&res, now)
	}
	return res
}

// Tick ends a press whose end packets were all lost: it is meant to be
// called every 20 ms, and ends a press that has had no packet for
// EventTimeout, with the duration its packets showed so far.
func (r *EventReceiver) Tick(now time.Time) EventResult {
	var res EventResult
	if r.active && now.Sub(r.lastSeen) >= EventTimeout {
		r.finish(&res, now)
	}
	return res
}

// finish ends the active press, reports it in res and remembers it.
func (r *EventReceiver) finish(res *EventResult, now time.Time) {
	res.addEnd(Digit{Key: r.key, Duration: r.dur})
	r.active = false
	r.recent[r.next] = endedEvent{id: r.cur, at: now, valid: true}
	r.next = (r.next + 1) % eventRecent
}

// ended reports whether id is a press that ended within eventDedupe.
func (r *EventReceiver) ended(id eventID, now time.Time) bool {
	for _, e := range r.recent {
		if e.valid && e.id == id {
			// A clock stepping back counts as recent too.
			if age := now.Sub(e.at); age >= -eventDedupe && age <= eventDedupe {
				return true
			}
		}
	}
	return false
}

// eventDuration converts a duration field in timestamp units to time,
// capped at maxEventDuration.
func eventDuration(units uint16, clock uint32) time.Duration {
	if clock == 0 {
		clock = ToneSampleRate
	}
	d := time.Duration(units) * time.Second / time.Duration(clock)
	return min(d, maxEventDuration)
}
