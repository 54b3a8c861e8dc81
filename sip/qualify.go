package sip

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// Qualifier pings every registered contact with OPTIONS at a fixed
// interval and records in the Location whether it answered. Any final
// response counts as an answer (a phone may well refuse OPTIONS); a
// timeout or a transport error does not.
type Qualifier struct {
	client  *sipgo.Client
	loc     *Location
	every   time.Duration
	log     *slog.Logger
	timeout time.Duration // per ping
	workers int           // pings in flight at most
}

// NewQualifier makes a qualifier that pings every interval (30 s if
// every <= 0) through client, which should belong to the PBX's user agent
// so that pings leave from the ports phones registered to.
func NewQualifier(client *sipgo.Client, loc *Location, every time.Duration, logger *slog.Logger) *Qualifier {
	if every <= 0 {
		every = 30 * time.Second
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Qualifier{client: client, loc: loc, every: every, log: logger, timeout: 5 * time.Second, workers: 32}
}

// Run pings every binding now and then once per interval, each round
// finishing before the next starts, until ctx is done.
func (q *Qualifier) Run(ctx context.Context) {
	t := time.NewTicker(q.every)
	defer t.Stop()
	for {
		q.round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// round pings every binding, q.workers at a time, and waits for all.
func (q *Qualifier) round(ctx context.Context) {
	sem := make(chan struct{}, q.workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, b := range q.loc.All() {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			ok := q.ping(ctx, b)
			if ctx.Err() != nil {
				return // shutting down: the failure says nothing of the phone
			}
			if ok != b.Reachable {
				q.log.Info("qualify: contact reachability changed", "aor", b.AOR, "contact", b.Contact, "reachable", ok)
			}
			q.loc.SetReachable(b.AOR, b.Contact, ok)
		}()
	}
}

// ping sends one OPTIONS to the binding's target and reports whether a
// final response came back in time.
func (q *Qualifier) ping(ctx context.Context, b Binding) bool {
	uri, dest, transport, err := b.Target()
	if err != nil {
		q.log.Debug("qualify: unusable binding", "aor", b.AOR, "contact", b.Contact, "error", err)
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, q.timeout)
	defer cancel()
	req := sipmsg.NewRequest(sipmsg.OPTIONS, uri)
	req.SetDestination(dest)
	req.SetTransport(transport)
	res, err := q.client.Do(ctx, req, sipgo.ClientRequestBuild, qualifyFlowLaddr)
	if err != nil {
		q.log.Debug("qualify: no answer", "aor", b.AOR, "contact", b.Contact, "destination", dest, "transport", transport, "error", err)
		return false
	}
	return res != nil && !res.IsProvisional()
}

// qualifyFlowLaddr undoes a client's forced local address for stream
// transports. A client bound to the UDP listener (WithClientConnectionAddr)
// would otherwise make sipgo pick a TCP connection by that local address —
// whichever phone connected last — instead of the binding's own connection,
// found by its remote address.
func qualifyFlowLaddr(_ *sipgo.Client, req *sipmsg.Request) error {
	if !strings.EqualFold(req.Transport(), "UDP") {
		req.Laddr = sipmsg.Addr{}
	}
	return nil
}
