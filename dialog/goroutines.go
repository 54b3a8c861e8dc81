package dialog

import "sync"

// goroutines counts the goroutines the engine started, so that Drain
// returns only once they have all returned. Unlike sync.WaitGroup it lets a
// goroutine start while Drain already waits: a CANCEL or a timer may post
// to a leg as the engine drains, and that work is waited for too. The zero
// value is ready to use.
type goroutines struct {
	mu   sync.Mutex
	n    int
	cond sync.Cond
}

// Add counts delta more (or, negative, fewer) running goroutines.
func (g *goroutines) Add(delta int) {
	g.mu.Lock()
	g.n += delta
	if g.n < 0 {
		g.mu.Unlock()
		panic("dialog: negative goroutine count")
	}
	if g.n == 0 && g.cond.L != nil {
		g.cond.Broadcast()
	}
	g.mu.Unlock()
}

// Done counts one goroutine as returned.
func (g *goroutines) Done() { g.Add(-1) }

// Wait returns when no counted goroutine is running.
func (g *goroutines) Wait() {
	g.mu.Lock()
	if g.cond.L == nil {
		g.cond.L = &g.mu
	}
	for g.n > 0 {
		g.cond.Wait()
	}
	g.mu.Unlock()
}
