package node

import (
	"context"
	"time"

	"pbx/dialog"
)

// metricsBuffer is how many events the metrics feed may fall behind by
// before the bus declares it lagged.
const metricsBuffer = 1024

// feedMetrics reads the engine's events into the metrics histograms until
// ctx ends. Start runs it under the node's wait group. A subscription
// dropped for lagging resumes after the last event it was served, so no
// call's setup time is lost; if the history no longer reaches back that
// far, it follows live events again. Either way the lag is logged.
func (s *Node) feedMetrics(ctx context.Context) {
	f := dialog.EventFilter{Buffer: metricsBuffer}
	for ctx.Err() == nil {
		sub, err := s.engine.Subscribe(f)
		if err != nil && f.Resume {
			s.log.Warn("metrics: event history too short to resume; following live events", "after", f.After, "error", err)
			f = dialog.EventFilter{Buffer: metricsBuffer}
			sub, err = s.engine.Subscribe(f)
		}
		if err != nil {
			s.log.Error("metrics: subscribe to events", "error", err)
			return
		}
		lagged := s.readEvents(ctx, sub)
		sub.Close()
		if !lagged {
			return
		}
		f.After, f.Resume = sub.Last(), true
		s.log.Warn("metrics fell behind the event bus; resuming", "after", f.After)
	}
}

// readEvents passes sub's events to the metrics until ctx ends or the bus
// closes sub; it reports whether the bus closed it for lagging.
func (s *Node) readEvents(ctx context.Context, sub *dialog.Subscription) (lagged bool) {
	for {
		select {
		case <-ctx.Done():
			return false
		case ev, ok := <-sub.C:
			if !ok {
				return sub.Lagged()
			}
			s.mx.ObserveEvent(ev, time.Now())
		}
	}
}
