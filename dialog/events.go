package dialog

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// DefaultHistory is how many events a Bus keeps for resuming subscribers
// when NewBus is given no size, and what the zero Bus keeps.
const DefaultHistory = 4096

// DefaultBuffer is a subscription's buffer when its filter names none.
const DefaultBuffer = 256

// legMapMin is the number of legs from which a filter looks legs up in a
// map instead of scanning a slice: below it, the scan is cheaper.
const legMapMin = 8

// ErrTooLate is returned by Subscribe when the events a subscriber asks to
// resume from are no longer in the history, or were never published by this
// bus (the engine restarted). The client must resynchronise its state
// instead of resuming.
var ErrTooLate = errors.New("dialog: too late to resume events")

// EventFilter says which events a subscription receives and where it starts.
//
// An event matches when its kind is one of Kinds (or Kinds is empty) and
// its LegID or OtherLegID is one of Legs (or Legs is empty). Events that
// concern no leg, such as engine.draining, match only an empty Legs.
type EventFilter struct {
	Kinds []EventKind
	Legs  []string

	// After resumes the subscription after this sequence number: it first
	// receives, from the history, every matching event with a greater Seq,
	// in order, then live events, with no gap and no duplicate. After 0
	// with Resume false subscribes to live events only; Resume with After
	// 0 asks for the whole stream from the first event.
	After  uint64
	Resume bool

	// Buffer bounds how many undelivered live events the subscription may
	// hold before it is declared lagged; DefaultBuffer when zero. A resumed
	// subscription's buffer grows by the size of its replay, so the
	// replay never counts as lag.
	Buffer int
}

// Bus fans events out to subscribers and keeps a bounded history of them so
// that a subscriber can resume by sequence number.
//
// Publishing never blocks: each subscription has a bounded buffer, and one
// that is full is disconnected, after one last event of kind EventLagged,
// rather than fed a stream with holes. The zero Bus is ready to use and
// keeps DefaultHistory events. A Bus must not be copied after first use.
type Bus struct {
	mu   sync.Mutex
	seq  uint64  // the last published sequence number
	ring []Event // the history: event seq s sits at ring[(s-1)%len(ring)]
	size int     // len(ring) once allocated; 0 means DefaultHistory
	held int     // how many events ring holds, at most len(ring)
	subs []*Subscription
}

// NewBus returns a bus that keeps the last history events for resuming
// subscribers (DefaultHistory when history is not positive).
func NewBus(history int) *Bus {
	if history <= 0 {
		history = DefaultHistory
	}
	return &Bus{size: history}
}

// Subscription receives the events its filter matches on C, until Close or
// until it falls behind. Either way C is closed; a lagged subscription's
// last event is of kind EventLagged.
type Subscription struct {
	// C delivers events in Seq order.
	C <-chan Event

	ch    chan Event
	bus   *Bus
	kinds []EventKind
	byLeg bool                // the filter names legs
	legs  []string            // the legs, when fewer than legMapMin
	legm  map[string]struct{} // the legs, when more
	room  int                 // cap(ch) minus the slot kept for the lagged notice

	// Guarded by bus.mu.
	idx     int    // position in bus.subs while live, -1 once ended
	lagged  bool   // ended because it fell behind
	through uint64 // once ended: every matching event up to this seq was put on C
}

// Publish stamps e with the next sequence number and the current time,
// keeps it in the history and hands it to every subscription it matches. It
// returns the stamped event. It never blocks.
func (b *Bus) Publish(e Event) Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ring == nil {
		if b.size <= 0 {
			b.size = DefaultHistory
		}
		b.ring = make([]Event, b.size)
	}
	b.seq++
	e.Seq = b.seq
	e.Time = time.Now()
	b.ring[(e.Seq-1)%uint64(len(b.ring))] = e
	if b.held < len(b.ring) {
		b.held++
	}
	// Walk backwards so that removing subs[i] moves in an element that was
	// already served.
	for i := len(b.subs) - 1; i >= 0; i-- {
		s := b.subs[i]
		if !s.matches(&e) {
			continue
		}
		if len(s.ch) < s.room {
			s.ch <- e
			continue
		}
		// Full: the reserved slot takes the notice. Everything before e
		// was delivered or did not match, so the subscriber resumes after
		// e.Seq-1.
		s.lagged = true
		s.ch <- Event{Seq: e.Seq - 1, Time: e.Time, Kind: EventLagged}
		b.remove(s, e.Seq-1)
	}
	return e
}

// publish is the engine's name for Publish when it has no use for the
// stamped event.
func (b *Bus) publish(e Event) { b.Publish(e) }

// Seq returns the sequence number of the last published event, 0 before the
// first.
func (b *Bus) Seq() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seq
}

// Subscribe starts a subscription for the events f matches. When f resumes
// (After > 0 or Resume), the history is read and the subscription registered
// under one lock, so concurrent publishers can neither slip an event into a
// gap nor deliver one twice. It fails with an error wrapping ErrTooLate when
// the history no longer holds every event after f.After.
func (b *Bus) Subscribe(f EventFilter) (*Subscription, error) {
	n := f.Buffer
	if n <= 0 {
		n = DefaultBuffer
	}
	// The filter is copied so that the caller may reuse its slices.
	s := &Subscription{bus: b, kinds: slices.Clone(f.Kinds), byLeg: len(f.Legs) > 0}
	for _, id := range f.Legs {
		if id != "" { // an event without a leg matches no leg filter
			s.legs = append(s.legs, id)
		}
	}
	if len(s.legs) >= legMapMin {
		s.legm = make(map[string]struct{}, len(s.legs))
		for _, id := range s.legs {
			s.legm[id] = struct{}{}
		}
		s.legs = nil
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	resume := f.After > 0 || f.Resume
	replay := 0
	if resume {
		oldest := b.seq - uint64(b.held) + 1
		if f.After > b.seq {
			return nil, fmt.Errorf("%w: after %d, but the last event is %d", ErrTooLate, f.After, b.seq)
		}
		if f.After+1 < oldest {
			return nil, fmt.Errorf("%w: after %d, but the history starts at %d", ErrTooLate, f.After, oldest)
		}
		for seq := f.After + 1; seq <= b.seq; seq++ {
			if s.matches(b.at(seq)) {
				replay++
			}
		}
	}
	s.room = n + replay
	s.ch = make(chan Event, s.room+1)
	s.C = s.ch
	if replay > 0 {
		for seq := f.After + 1; seq <= b.seq; seq++ {
			if e := b.at(seq); s.matches(e) {
				s.ch <- *e
			}
		}
	}
	s.idx = len(b.subs)
	b.subs = append(b.subs, s)
	return s, nil
}

// at returns the history's event seq, which the caller knows it holds.
func (b *Bus) at(seq uint64) *Event {
	return &b.ring[(seq-1)%uint64(len(b.ring))]
}

// remove ends s, complete through seq, and closes its channel. b.mu is held.
func (b *Bus) remove(s *Subscription, through uint64) {
	last := len(b.subs) - 1
	moved := b.subs[last]
	b.subs[s.idx] = moved
	moved.idx = s.idx
	b.subs[last] = nil
	b.subs = b.subs[:last]
	s.idx = -1
	s.through = through
	close(s.ch)
}

// matches reports whether e passes the subscription's filter.
func (s *Subscription) matches(e *Event) bool {
	if len(s.kinds) > 0 {
		found := false
		for _, k := range s.kinds {
			if k == e.Kind {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if !s.byLeg {
		return true
	}
	if s.legm != nil {
		_, a := s.legm[e.LegID]
		_, o := s.legm[e.OtherLegID]
		return a || o
	}
	for _, id := range s.legs {
		if id == e.LegID || id == e.OtherLegID {
			return true
		}
	}
	return false
}

// Close ends the subscription and closes C; events already on C can still
// be read. Closing twice, or after a lag, is harmless.
func (s *Subscription) Close() {
	b := s.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.idx >= 0 {
		b.remove(s, b.seq)
	}
}

// Lagged reports whether the subscription was ended for falling behind.
func (s *Subscription) Lagged() bool {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	return s.lagged
}

// Last returns the sequence number through which the subscription has been
// served: every matching event with a Seq up to it has been put on C, and
// none after it will be once the subscription has ended. A client that
// drains C after Close or a lag resumes with After: Last() and misses
// nothing.
func (s *Subscription) Last() uint64 {
	b := s.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.idx >= 0 {
		return b.seq
	}
	return s.through
}
