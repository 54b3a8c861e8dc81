package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Time-keyed buckets (call records, the queue log, statistics buckets)
// begin every key with TimeKey, so key order is time order: a range is one
// cursor seek, and retention deletes from the front of the bucket.

// TimeKey is the leading part of a key in a time-keyed bucket: t in UTC at
// fixed width with nanoseconds, the format the cdr bucket uses. Append "/"
// and something unique to make a key.
func TimeKey(t time.Time) string { return timeKey(t) }

// KeyTime reads the time a key made with TimeKey begins with; ok is false
// when the key does not begin with one.
func KeyTime(key string) (t time.Time, ok bool) {
	if len(key) < len(keyTime) {
		return time.Time{}, false
	}
	t, err := time.Parse(keyTime, key[:len(keyTime)])
	return t, err == nil
}

// scanChunk is how many keys one read transaction of a range walk takes. A
// read transaction holds the map of the file: while one is open a writer
// that must grow the file waits, so long walks are cut into short ones.
const scanChunk = 512

// Range calls fn, outside any transaction, for the keys of a time-keyed
// bucket whose leading time is in [from, to) (a zero to has no end), in
// key order: the first limit of them, or all when limit <= 0. It reads in
// short transactions, so walking a day of records never stalls writers; a
// key written meanwhile past the walk's position is seen. An error from fn
// stops the walk and is returned as is.
func (s *Store) Range(bucket string, from, to time.Time, limit int, fn func(key string, value []byte) error) error {
	n := 0
	return s.scan(bucket, from, to, func(chunk []pair) error {
		for _, p := range chunk {
			if limit > 0 && n >= limit {
				return errStop
			}
			n++
			if err := fn(p.k, p.v); err != nil {
				return err
			}
		}
		if limit > 0 && n >= limit {
			return errStop
		}
		return nil
	})
}

// errStop ends a scan early without an error.
var errStop = errors.New("stop")

type pair struct {
	k string
	v []byte
}

// scan walks [from, to) of a time-keyed bucket in chunks of scanChunk keys,
// one read transaction each, calling fn outside the transaction. fn
// returning errStop ends the walk with no error.
func (s *Store) scan(bucket string, from, to time.Time, fn func([]pair) error) error {
	seek := []byte(timeKey(from))
	var end []byte
	if !to.IsZero() {
		end = []byte(timeKey(to))
	}
	chunk := make([]pair, 0, scanChunk)
	for {
		chunk = chunk[:0]
		var next []byte
		err := s.db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte(bucket))
			if b == nil {
				return nil
			}
			c := b.Cursor()
			for k, v := c.Seek(seek); k != nil; k, v = c.Next() {
				if end != nil && bytes.Compare(k, end) >= 0 {
					return nil
				}
				if len(chunk) == scanChunk {
					next = bytes.Clone(k)
					return nil
				}
				if v != nil {
					chunk = append(chunk, pair{string(k), bytes.Clone(v)})
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: read %s: %w", bucket, err)
		}
		if len(chunk) > 0 {
			if err := fn(chunk); err != nil {
				if errors.Is(err, errStop) {
					return nil
				}
				return err
			}
		}
		if next == nil {
			return nil
		}
		seek = next
	}
}

// DefaultPruneBatch is how many keys one pruning transaction deletes when
// the caller does not say: small enough that the write lock is held for a
// few milliseconds, so calls ending meanwhile wait no longer than that to
// write their records.
const DefaultPruneBatch = 1000

// Prune deletes the keys of a time-keyed bucket whose leading time is
// before before, in transactions of at most batch keys (<= 0:
// DefaultPruneBatch), and reports how many it deleted. Keys that do not
// begin with a time are left alone. Deleted pages are reused by later
// writes; the file itself only shrinks by Compact.
func (s *Store) Prune(bucket string, before time.Time, batch int) (int, error) {
	return s.prune(context.Background(), bucket, before, batch)
}

func (s *Store) prune(ctx context.Context, bucket string, before time.Time, batch int) (int, error) {
	if batch <= 0 {
		batch = DefaultPruneBatch
	}
	cut := []byte(timeKey(before))
	var seek []byte // nil: the first key
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		// Find the batch in a read transaction, which does not hold up
		// writers, then delete it in a write transaction that only deletes.
		var (
			old  [][]byte
			next []byte
		)
		err := s.db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte(bucket))
			if b == nil {
				return nil
			}
			c := b.Cursor()
			k, _ := c.First()
			if seek != nil {
				k, _ = c.Seek(seek)
			}
			for scanned := 0; k != nil && bytes.Compare(k, cut) < 0; k, _ = c.Next() {
				if scanned == batch {
					next = bytes.Clone(k)
					return nil
				}
				scanned++
				if _, ok := KeyTime(string(k)); ok {
					old = append(old, bytes.Clone(k))
				}
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("store: prune %s: %w", bucket, err)
		}
		if len(old) > 0 {
			err := s.db.Update(func(tx *bolt.Tx) error {
				b := tx.Bucket([]byte(bucket))
				if b == nil {
					return nil
				}
				for _, k := range old {
					if err := b.Delete(k); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return total, fmt.Errorf("store: prune %s: %w", bucket, err)
			}
			total += len(old)
		}
		if next == nil {
			return total, nil
		}
		seek = next
	}
}

// PruneRule keeps a time-keyed bucket to MaxAge; a MaxAge of 0 keeps
// everything.
type PruneRule struct {
	Bucket string
	MaxAge time.Duration
}

// DefaultPruneEvery is how often StartPruner runs when not told.
const DefaultPruneEvery = time.Hour

// Pruner applies retention rules in the background; Close stops it.
type Pruner struct {
	cancel context.CancelFunc
	done   chan struct{}
	passed chan int // tests: a pass ended having removed this many keys
}

// StartPruner applies rules now and then every every (<= 0:
// DefaultPruneEvery), until ctx ends or Close. Each pass deletes, bucket by
// bucket, the keys older than the rule's MaxAge, in small transactions (see
// Prune), so it runs beside calls without stalling them. What it removes
// and any error are logged to log (nil: not logged).
func (s *Store) StartPruner(ctx context.Context, rules []PruneRule, every time.Duration, log *slog.Logger) *Pruner {
	if every <= 0 {
		every = DefaultPruneEvery
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var active []PruneRule
	for _, r := range rules {
		if r.MaxAge > 0 && r.Bucket != "" {
			active = append(active, r)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &Pruner{cancel: cancel, done: make(chan struct{}), passed: make(chan int, 1)}
	go func() {
		defer close(p.done)
		if len(active) == 0 {
			return
		}
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			n := s.prunePass(ctx, active, log)
			select {
			case p.passed <- n:
			default:
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// prunePass applies every rule once and reports how many keys it removed.
func (s *Store) prunePass(ctx context.Context, rules []PruneRule, log *slog.Logger) int {
	total := 0
	for _, r := range rules {
		start := time.Now()
		before := start.Add(-r.MaxAge)
		n, err := s.prune(ctx, r.Bucket, before, DefaultPruneBatch)
		total += n
		switch {
		case ctx.Err() != nil:
			return total
		case err != nil:
			log.Error("prune store", "bucket", r.Bucket, "before", before, "removed", n, "error", err)
		case n > 0:
			log.Info("pruned store", "bucket", r.Bucket, "before", before, "removed", n, "took", time.Since(start))
		}
	}
	return total
}

// Close stops the pruner, interrupting a pass between two transactions,
// and returns when it has stopped. Calling it again does nothing.
func (p *Pruner) Close() {
	p.cancel()
	<-p.done
}

// Compact copies the store into a new bbolt file at dst, leaving out the
// free pages that pruning left behind, so dst is as small as the data. dst
// must not exist. Compaction reads the whole store in one transaction, so
// it is meant for a store no PBX is running on (`pbx compact` opens it
// for writing, so that none starts meanwhile, and renames dst over it).
func (s *Store) Compact(dst string) error {
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("store: compact into %s: file exists", dst)
	}
	d, err := bolt.Open(dst, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		return fmt.Errorf("store: compact: create %s: %w", dst, err)
	}
	if err := bolt.Compact(d, s.db, 64<<20); err != nil {
		d.Close()
		os.Remove(dst)
		return fmt.Errorf("store: compact into %s: %w", dst, err)
	}
	if err := d.Sync(); err != nil {
		d.Close()
		os.Remove(dst)
		return fmt.Errorf("store: compact: flush %s: %w", dst, err)
	}
	if err := d.Close(); err != nil {
		os.Remove(dst)
		return fmt.Errorf("store: compact: close %s: %w", dst, err)
	}
	return nil
}
