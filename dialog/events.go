package dialog

import (
	"sync"
	"time"
)

// Bus fans events out to subscribers. Publishing never blocks: a subscriber
// whose buffer is full is disconnected (its channel closed, Lagged true)
// rather than fed a stream with holes.
type Bus struct {
	mu   sync.Mutex
	seq  uint64
	subs map[*Subscription]struct{}
}

// Subscription receives events on C until Close, or until it falls behind.
type Subscription struct {
	C      <-chan Event
	ch     chan Event
	bus    *Bus
	lagged bool
}

// Subscribe starts a subscription with a buffer of n events.
func (b *Bus) Subscribe(n int) *Subscription {
	if n <= 0 {
		n = 64
	}
	s := &Subscription{ch: make(chan Event, n), bus: b}
	s.C = s.ch
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs == nil {
		b.subs = map[*Subscription]struct{}{}
	}
	b.subs[s] = struct{}{}
	return s
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	if _, ok := s.bus.subs[s]; ok {
		delete(s.bus.subs, s)
		close(s.ch)
	}
}

// Lagged reports whether the subscription was dropped for falling behind.
func (s *Subscription) Lagged() bool {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	return s.lagged
}

func (b *Bus) publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	e.Seq = b.seq
	e.Time = time.Now()
	for s := range b.subs {
		select {
		case s.ch <- e:
		default:
			s.lagged = true
			delete(b.subs, s)
			close(s.ch)
		}
	}
}
