package queue

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"pbx/config"
	"pbx/dialog"
	"pbx/store"
)

// StatsBucket is the store bucket of statistics. A queue's interval is
// kept under store.TimeKey(start) + "/" + queue; an agent's day under
// store.TimeKey(local midnight) + "/agent/" + id (a queue name never holds
// a '/'). Keys lead with the time, so retention prunes by age.
const StatsBucket = "cc_stats"

const (
	// defaultStatsInterval is a bucket's width when the configuration
	// does not say (Asterisk reporting tools use 15 minutes).
	defaultStatsInterval = 15 * time.Minute
	// statsFlushEvery is how often the buckets changed since the last
	// flush are written: a crash loses at most this much of the figures.
	statsFlushEvery = 5 * time.Second
	agentKeyPrefix  = "agent/"
)

// bucketRec is one interval of one queue as stats counts and persists it:
// a Bucket plus what the day's totals also need.
type bucketRec struct {
	queue string    // from the key
	start time.Time // from the key

	Offered       int           `json:"offered,omitempty"`
	Answered      int           `json:"answered,omitempty"`
	Abandoned     int           `json:"abandoned,omitempty"`
	Timeouts      int           `json:"timeouts,omitempty"`
	AnsweredInSL  int           `json:"answered_in_sl,omitempty"`
	AbandonedInSL int           `json:"abandoned_in_sl,omitempty"`
	Completed     int           `json:"completed,omitempty"` // calls whose talk time TalkSum holds
	HoldSum       time.Duration `json:"hold_sum,omitempty"`  // waits of the answered callers
	TalkSum       time.Duration `json:"talk_sum,omitempty"`
	MaxHold       time.Duration `json:"max_hold,omitempty"`
}

func (b *bucketRec) key() string { return store.TimeKey(b.start) + "/" + b.queue }

func (b *bucketRec) bucket() Bucket {
	return Bucket{
		Queue: b.queue, Start: b.start, Offered: b.Offered, Answered: b.Answered, Abandoned: b.Abandoned,
		Timeouts: b.Timeouts, AnsweredInSL: b.AnsweredInSL, HoldSum: b.HoldSum, TalkSum: b.TalkSum, MaxHold: b.MaxHold,
	}
}

// agentRec is one agent's day.
type agentRec struct {
	id  string    // from the key
	day time.Time // local midnight, from the key

	Answered int           `json:"answered,omitempty"`
	Missed   int           `json:"missed,omitempty"` // offers not taken (ring no answer)
	TalkTime time.Duration `json:"talk_time,omitempty"`
}

func (a *agentRec) key() string { return store.TimeKey(a.day) + "/" + agentKeyPrefix + a.id }

// queueStats is one queue's day: its buckets since midnight, in time order
// (the last is the current one), and its metric handles.
type queueStats struct {
	buckets []*bucketRec
	sl      time.Duration // service level threshold
	m       queueSeries   // zero when there is no registry
}

// stats counts what happens in queues and to agents, per queue in
// intervals of ContactCenter.StatsInterval starting at local midnight,
// per agent per day. Today's figures live in memory, are written to the
// store every few seconds and at close, and are read back at open, so a
// restart keeps them. The same events feed the Prometheus counters and
// histograms. Its methods are safe from any goroutine and cost a mutex and
// a few additions: they are called on call paths.
type stats struct {
	st       *store.Store // nil: nothing persisted
	clock    dialog.Clock
	interval time.Duration
	log      *slog.Logger
	metrics  *queueMetrics // nil: no registry

	mu      sync.Mutex
	day     time.Time // midnight of the day counted
	queues  map[string]*queueStats
	agents  map[string]*agentRec // today's
	dirty   map[*bucketRec]struct{}
	dirtyA  map[*agentRec]struct{}
	closed  bool
	flusher dialog.Timer

	flushMu sync.Mutex // one flush at a time
}

// openStats restores today's figures from the store and starts flushing.
// cfg gives the interval and each queue's service level (queues added at
// run time: setServiceLevel); reg, when not nil, gets the pbx_queue_*
// metrics. log is where store errors go (nil: not logged).
func openStats(st *store.Store, cfg *config.Config, clock dialog.Clock, reg prometheus.Registerer, log *slog.Logger) (*stats, error) {
	if clock == nil {
		clock = dialog.SystemClock{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &stats{
		st: st, clock: clock, interval: defaultStatsInterval, log: log,
		queues: map[string]*queueStats{}, agents: map[string]*agentRec{},
		dirty: map[*bucketRec]struct{}{}, dirtyA: map[*agentRec]struct{}{},
	}
	if cfg != nil {
		if cfg.ContactCenter.StatsInterval > 0 {
			s.interval = cfg.ContactCenter.StatsInterval
		}
		for i := range cfg.Queues {
			s.queue(cfg.Queues[i].Name).sl = cfg.Queues[i].ServiceLevel
		}
	}
	if reg != nil {
		m, err := newQueueMetrics(reg)
		if err != nil {
			return nil, err
		}
		s.metrics = m
		for name, q := range s.queues {
			q.m = m.series(name)
		}
	}
	s.day = localMidnight(clock.Now())
	if err := s.restore(); err != nil {
		s.metrics.unregister()
		return nil, err
	}
	if st != nil {
		s.flusher = clock.AfterFunc(statsFlushEvery, s.tick)
	}
	return s, nil
}

// restore reads today's buckets and agent days from the store.
func (s *stats) restore() error {
	if s.st == nil {
		return nil
	}
	err := s.st.Range(StatsBucket, s.day, time.Time{}, 0, func(k string, v []byte) error {
		t, ok := store.KeyTime(k)
		if !ok || len(k) <= len(store.TimeKey(t)) {
			return nil
		}
		name := k[len(store.TimeKey(t))+1:]
		t = t.In(s.day.Location())
		if id, ok := strings.CutPrefix(name, agentKeyPrefix); ok {
			a := &agentRec{id: id, day: t}
			if err := json.Unmarshal(v, a); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			if t.Equal(s.day) {
				s.agents[id] = a
			}
			return nil
		}
		b := &bucketRec{queue: name, start: t}
		if err := json.Unmarshal(v, b); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		q := s.queue(name)
		q.buckets = append(q.buckets, b) // keys are in time order
		return nil
	})
	if err != nil {
		return fmt.Errorf("queue stats: restore today's: %w", err)
	}
	return nil
}

// localMidnight is the start of t's day where t is.
func localMidnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

// queue is name's stats, made on first use. s.mu is held.
func (s *stats) queue(name string) *queueStats {
	q := s.queues[name]
	if q == nil {
		q = &queueStats{}
		if s.metrics != nil {
			q.m = s.metrics.series(name)
		}
		s.queues[name] = q
	}
	return q
}

// setServiceLevel sets the threshold a queue's answered calls are measured
// against, for a queue added or changed at run time.
func (s *stats) setServiceLevel(queue string, d time.Duration) {
	s.mu.Lock()
	s.queue(queue).sl = d
	s.mu.Unlock()
}

// rollDay moves the count to the day of now when midnight has passed. The
// day before stays in dirty until flushed. s.mu is held.
func (s *stats) rollDay(now time.Time) {
	day := localMidnight(now)
	if !day.After(s.day) {
		return
	}
	s.day = day
	for _, q := range s.queues {
		i := 0
		for i < len(q.buckets) && q.buckets[i].start.Before(day) {
			i++
		}
		q.buckets = slices.Delete(q.buckets, 0, i)
	}
	clear(s.agents)
}

// current is queue's bucket for now, made if needed. s.mu is held.
func (s *stats) current(q *queueStats, name string, now time.Time) *bucketRec {
	s.rollDay(now)
	start := s.day
	if now.After(start) {
		start = start.Add(now.Sub(start) / s.interval * s.interval)
	}
	n := len(q.buckets)
	if n > 0 && q.buckets[n-1].start.Equal(start) {
		return q.buckets[n-1]
	}
	// A new interval; or the wall clock stepped back into an earlier one.
	i, found := slices.BinarySearchFunc(q.buckets, start, func(b *bucketRec, t time.Time) int { return b.start.Compare(t) })
	if found {
		return q.buckets[i]
	}
	b := &bucketRec{queue: name, start: start}
	q.buckets = slices.Insert(q.buckets, i, b)
	return b
}

// agent is id's record for today, made if needed. s.mu is held.
func (s *stats) agent(id string) *agentRec {
	a := s.agents[id]
	if a == nil {
		a = &agentRec{id: id, day: s.day}
		s.agents[id] = a
	}
	if s.st != nil {
		s.dirtyA[a] = struct{}{}
	}
	return a
}

// update runs f on queue's current bucket under the lock and marks it to
// be written; it returns the queue's metric handles.
func (s *stats) update(queue string, now time.Time, f func(b *bucketRec, q *queueStats)) queueSeries {
	s.mu.Lock()
	q := s.queue(queue)
	b := s.current(q, queue, now)
	f(b, q)
	if s.st != nil {
		s.dirty[b] = struct{}{}
	}
	m := q.m
	s.mu.Unlock()
	return m
}

// offered counts a caller joining queue.
func (s *stats) offered(queue string) {
	m := s.update(queue, s.clock.Now(), func(b *bucketRec, _ *queueStats) { b.Offered++ })
	m.offered.inc()
}

// answered counts a caller of queue answered by agent after waiting hold.
// It is in the service level when hold is within the queue's threshold.
func (s *stats) answered(queue, agent string, hold time.Duration) {
	m := s.update(queue, s.clock.Now(), func(b *bucketRec, q *queueStats) {
		b.Answered++
		b.HoldSum += hold
		b.MaxHold = max(b.MaxHold, hold)
		if hold <= q.sl {
			b.AnsweredInSL++
		}
		if agent != "" {
			s.agent(agent).Answered++
		}
	})
	m.answered.inc()
	m.wait.observe(hold)
}

// completed counts the end of an answered call of queue that agent talked
// on for talk.
func (s *stats) completed(queue, agent string, talk time.Duration) {
	s.update(queue, s.clock.Now(), func(b *bucketRec, _ *queueStats) {
		b.Completed++
		b.TalkSum += talk
		if agent != "" {
			s.agent(agent).TalkTime += talk
		}
	})
}

// abandoned counts a caller of queue hanging up after waiting wait; within
// the service level it counts toward SL2 (AbandonedInSL).
func (s *stats) abandoned(queue string, wait time.Duration) {
	m := s.update(queue, s.clock.Now(), func(b *bucketRec, q *queueStats) {
		b.Abandoned++
		if wait <= q.sl {
			b.AbandonedInSL++
		}
	})
	m.abandoned.inc()
	m.wait.observe(wait)
}

// timedOut counts a caller of queue sent to the fallback after waiting
// wait (max_wait).
func (s *stats) timedOut(queue string, wait time.Duration) {
	m := s.update(queue, s.clock.Now(), func(b *bucketRec, _ *queueStats) { b.Timeouts++ })
	m.wait.observe(wait)
}

// ringNoAnswer counts an offer of a queue call that agent did not take
// after ringing ring.
func (s *stats) ringNoAnswer(queue, agent string, ring time.Duration) {
	if agent == "" {
		return
	}
	now := s.clock.Now()
	s.mu.Lock()
	s.rollDay(now)
	s.agent(agent).Missed++
	s.mu.Unlock()
}

// ringAnswered records how long agent's phone rang before they took a call
// of queue.
func (s *stats) ringAnswered(queue, agent string, ring time.Duration) {
	if s.metrics == nil {
		return
	}
	s.mu.Lock()
	m := s.queue(queue).m
	s.mu.Unlock()
	m.ring.observe(ring)
}

// agentTotals is what agent did today: calls answered, offers missed, and
// time talked, for AgentStatus.
func (s *stats) agentTotals(agent string) (answered, missed int, talk time.Duration) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollDay(now)
	if a := s.agents[agent]; a != nil {
		return a.Answered, a.Missed, a.TalkTime
	}
	return 0, 0, 0
}

// totals are queue's figures for today.
func (s *stats) totals(queue string) Totals {
	now := s.clock.Now()
	var sum bucketRec
	s.mu.Lock()
	s.rollDay(now)
	if q := s.queues[queue]; q != nil {
		for _, b := range q.buckets {
			sum.add(b)
		}
	}
	s.mu.Unlock()
	return sum.totals()
}

// add adds b's counts to r's.
func (r *bucketRec) add(b *bucketRec) {
	r.Offered += b.Offered
	r.Answered += b.Answered
	r.Abandoned += b.Abandoned
	r.Timeouts += b.Timeouts
	r.AnsweredInSL += b.AnsweredInSL
	r.AbandonedInSL += b.AbandonedInSL
	r.Completed += b.Completed
	r.HoldSum += b.HoldSum
	r.TalkSum += b.TalkSum
	r.MaxHold = max(r.MaxHold, b.MaxHold)
}

// totals derives the figures: the service level is the answered within
// the threshold over the answered, in percent (Asterisk's SL; 0 with none
// answered); holds average over the answered, talk over completed calls.
func (r *bucketRec) totals() Totals {
	t := Totals{
		Offered: r.Offered, Answered: r.Answered, Abandoned: r.Abandoned, Timeouts: r.Timeouts,
		AnsweredInSL: r.AnsweredInSL, AbandonedInSL: r.AbandonedInSL, LongestHold: r.MaxHold,
	}
	if r.Answered > 0 {
		t.ServiceLevel = serviceLevel(r.AnsweredInSL, r.Answered)
		t.AvgHold = r.HoldSum / time.Duration(r.Answered)
	}
	if r.Completed > 0 {
		t.AvgTalk = r.TalkSum / time.Duration(r.Completed)
	}
	return t
}

// serviceLevel is in / of × 100, 0 when of is 0.
func serviceLevel(in, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(in) * 100 / float64(of)
}

// history is queue's buckets that start in [from, to) (a zero to has no
// end), oldest first: from the store, with today's as counted now. Empty
// intervals are absent.
func (s *stats) history(queue string, from, to time.Time) ([]Bucket, error) {
	byStart := map[time.Time]Bucket{}
	loc := s.clock.Now().Location() // as today's buckets are
	if s.st != nil {
		err := s.st.Range(StatsBucket, from, to, 0, func(k string, v []byte) error {
			t, ok := store.KeyTime(k)
			if !ok || k[len(store.TimeKey(t)):] != "/"+queue {
				return nil
			}
			b := bucketRec{queue: queue, start: t.In(loc)}
			if err := json.Unmarshal(v, &b); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			byStart[t.UTC()] = b.bucket()
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("queue %s history: %w", queue, err)
		}
	}
	s.mu.Lock()
	if q := s.queues[queue]; q != nil {
		for _, b := range q.buckets {
			if !b.start.Before(from) && (to.IsZero() || b.start.Before(to)) {
				byStart[b.start.UTC()] = b.bucket()
			}
		}
	}
	s.mu.Unlock()
	out := make([]Bucket, 0, len(byStart))
	for _, b := range byStart {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b Bucket) int { return a.Start.Compare(b.Start) })
	return out, nil
}

// tick is the flush timer: flush, then set the timer again.
func (s *stats) tick() {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return
	}
	s.flushLocked()
	s.mu.Lock()
	if !s.closed {
		s.flusher = s.clock.AfterFunc(statsFlushEvery, s.tick)
	}
	s.mu.Unlock()
}

// flushLocked writes the buckets and agent days changed since the last
// flush in one transaction; on failure they stay marked and the next
// flush tries again. s.flushMu is held.
func (s *stats) flushLocked() error {
	s.mu.Lock()
	if len(s.dirty) == 0 && len(s.dirtyA) == 0 {
		s.mu.Unlock()
		return nil
	}
	kv := make(map[string][]byte, len(s.dirty)+len(s.dirtyA))
	var err error
	for b := range s.dirty {
		if kv[b.key()], err = json.Marshal(b); err != nil {
			break
		}
	}
	for a := range s.dirtyA {
		if kv[a.key()], err = json.Marshal(a); err != nil {
			break
		}
	}
	bs, as := s.dirty, s.dirtyA
	s.dirty, s.dirtyA = map[*bucketRec]struct{}{}, map[*agentRec]struct{}{}
	s.mu.Unlock()
	if err == nil {
		err = s.st.PutMany(StatsBucket, kv)
	}
	if err != nil {
		s.mu.Lock()
		for b := range bs {
			s.dirty[b] = struct{}{}
		}
		for a := range as {
			s.dirtyA[a] = struct{}{}
		}
		s.mu.Unlock()
		s.log.Error("queue stats: write to the store", "records", len(kv), "error", err)
		return fmt.Errorf("queue stats: write: %w", err)
	}
	return nil
}

// gauges makes the per-queue gauges (callers waiting, agents by state)
// read snapshot at each scrape. The Center passes its Queues.
func (s *stats) gauges(snapshot func() []QueueStatus) {
	if s.metrics != nil {
		s.metrics.snapshot.Store(&snapshot)
	}
}

// close writes what changed since the last flush and stops the flushing.
// The metrics read through gauges are withdrawn from the registry (the
// counters stay: a Center opened again on it goes on counting). Calling it
// again does nothing.
func (s *stats) close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.flusher != nil {
		s.flusher.Stop()
	}
	s.mu.Unlock()
	s.metrics.unregister()
	if s.st == nil {
		return nil
	}
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	return s.flushLocked()
}
