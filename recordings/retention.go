package recordings

import (
	"context"
	"errors"
	"time"
)

// retainLoop runs Retain every RetainEvery until ctx ends.
func (a *Archive) retainLoop(ctx context.Context) {
	defer a.wg.Done()
	if a.opts.MaxAge == 0 && a.opts.MaxTotalBytes == 0 {
		return // nothing to enforce
	}
	t := time.NewTicker(a.opts.RetainEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := a.Retain(a.opts.Now())
		if err != nil {
			a.log.Error("recordings retention", "err", err, "removed", n)
		} else if n > 0 {
			a.log.Info("recordings retention", "removed", n)
		}
	}
}

// Retain applies the retention policy at now: it removes finished
// recordings that started more than MaxAge ago, then the oldest finished
// ones until all recordings together (those in progress included) take at
// most MaxTotalBytes. Files, index entries and the folders left empty go.
// It reports how many recordings it removed; on errors it carries on with
// the others and returns them all.
func (a *Archive) Retain(now time.Time) (removed int, err error) {
	entries, err := a.List(Filter{}) // newest first, live sizes for active ones
	if err != nil {
		return 0, err
	}
	var (
		errs  []error
		kept  []Entry // finished, newest first
		total int64
	)
	for _, e := range entries {
		switch {
		case e.Active:
			total += e.Size
		case a.opts.MaxAge > 0 && e.Start.Before(now.Add(-a.opts.MaxAge)):
			if err := a.remove(e); err != nil {
				errs = append(errs, err)
				total += e.Size
				continue
			}
			removed++
		default:
			kept = append(kept, e)
			total += e.Size
		}
	}
	if a.opts.MaxTotalBytes > 0 {
		for i := len(kept) - 1; i >= 0 && total > a.opts.MaxTotalBytes; i-- {
			if err := a.remove(kept[i]); err != nil {
				errs = append(errs, err)
				continue
			}
			total -= kept[i].Size
			removed++
		}
	}
	return removed, errors.Join(errs...)
}
