package sip

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// Qualifier pings every registered contact with OPTIONS and marks those
// that do not answer as unreachable.
type Qualifier struct {
	client *sipgo.Client
	loc    *Location
	every  time.Duration
	log    *slog.Logger
}

// NewQualifier makes a qualifier that pings every interval.
func NewQualifier(client *sipgo.Client, loc *Location, every time.Duration, logger *slog.Logger) *Qualifier {
	if logger == nil {
		logger = slog.Default()
	}
	return &Qualifier{client: client, loc: loc, every: every, log: logger}
}

// Run pings until ctx ends.
func (q *Qualifier) Run(ctx context.Context) {
	t := time.NewTicker(q.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			q.round(ctx)
		}
	}
}

// round pings every binding, at most 32 at a time.
func (q *Qualifier) round(ctx context.Context) {
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for _, b := range q.loc.All() {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			ok := q.ping(ctx, b)
			q.loc.SetReachable(b.AOR, b.Contact, ok)
			if !ok {
				q.log.Info("contact unreachable", "aor", b.AOR, "contact", b.Contact)
			}
		}()
	}
	wg.Wait()
}

func (q *Qualifier) ping(ctx context.Context, b Binding) bool {
	uri, dest, transport, err := b.Target()
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req := sipmsg.NewRequest(sipmsg.OPTIONS, uri)
	req.SetDestination(dest)
	req.SetTransport(transport)
	res, err := q.client.Do(ctx, req)
	return err == nil && res != nil // any answer, even an error, proves the contact is there
}
