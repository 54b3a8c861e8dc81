package dialog

import (
	"context"
	"sync"
)

// serial runs one leg's work one piece at a time, in arrival order: SIP
// requests, control-plane commands and media events of a leg never race.
// It keeps no goroutine while idle (a parked leg costs no stack): the
// first piece of work starts one, which runs until the queue is empty.
// Every such goroutine is counted in the engine's wait group, so Drain
// waits for it.
type serial struct {
	wg      *goroutines
	mu      sync.Mutex
	queue   []func()
	running bool
}

// post queues fn and returns at once. It never blocks, so media's
// goroutines may call it.
func (s *serial) post(fn func()) {
	s.mu.Lock()
	s.queue = append(s.queue, fn)
	if s.running {
		s.mu.Unlock()
		return
	}
	s.running = true
	s.wg.Add(1)
	s.mu.Unlock()
	go s.run()
}

func (s *serial) run() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.running = false
			s.queue = nil
			s.mu.Unlock()
			return
		}
		fn := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.mu.Unlock()
		fn()
	}
}

// do runs fn in order with the rest of the leg's work and waits for it,
// or for ctx. fn still runs if ctx ends first; its result is then lost.
func (s *serial) do(ctx context.Context, fn func() error) error {
	done := make(chan error, 1)
	s.post(func() { done <- fn() })
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
