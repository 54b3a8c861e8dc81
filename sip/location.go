package sip

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// KV is the persistence this package needs; the project's store implements
// it. Values are JSON. Get returns nil for an absent key; ForEach on an
// absent bucket calls nothing. fn must not write to the store.
type KV interface {
	Put(bucket, key string, value []byte) error
	Get(bucket, key string) ([]byte, error)
	Delete(bucket, key string) error
	ForEach(bucket string, fn func(key string, value []byte) error) error
}

// BatchKV is a KV that also writes many keys of one bucket in one
// transaction, a nil value deleting its key; the project's store has it.
// With it, registrations that arrive together share one fsync instead of
// queueing for one each.
type BatchKV interface {
	KV
	PutMany(bucket string, kv map[string][]byte) error
}

// locationBucket holds one key per address of record, whose value is the
// JSON array of its bindings.
const locationBucket = "registrations"

// Binding is one registered contact of an address of record.
type Binding struct {
	AOR        string    `json:"aor"`       // the user part of the To URI: "1001" (the PBX serves one domain)
	Contact    string    `json:"contact"`   // the Contact URI as sent, without header parameters
	Source     string    `json:"source"`    // "ip:port" the REGISTER came from
	Transport  string    `json:"transport"` // "UDP", "TCP", "TLS", "WS", "WSS"
	Expires    time.Time `json:"expires"`
	CallID     string    `json:"call_id"`
	CSeq       uint32    `json:"cseq"`
	Q          float64   `json:"q"`
	InstanceID string    `json:"instance_id,omitempty"` // +sip.instance, without quotes and angle brackets
	UserAgent  string    `json:"user_agent,omitempty"`
	Reachable  bool      `json:"reachable"`
}

// LocationOption configures a Location.
type LocationOption func(*Location)

// WithLocationClock makes the Location read time from c instead of time.Now.
func WithLocationClock(c Clock) LocationOption {
	return func(l *Location) {
		if c != nil {
			l.now = c
		}
	}
}

// WithLocationLogger sets the logger for persistence problems.
func WithLocationLogger(log *slog.Logger) LocationOption {
	return func(l *Location) {
		if log != nil {
			l.log = log
		}
	}
}

// Location is the location service: address of record to bindings, kept
// in memory, written through to a KV store on every change and loaded from
// it on start. Expired bindings are never returned; Sweep forgets them.
//
// Writes are group-committed: a change waits until a transaction holding
// it has been written, but one transaction holds every address of record
// changed meanwhile. Written one at a time, each in its own fsync'd
// transaction, registrations queued behind each other, and at 3,000/s the
// answers came late enough for phones to retransmit.
type Location struct {
	kv  KV
	now Clock
	log *slog.Logger

	mu   sync.RWMutex
	aors map[string][]Binding

	// Group commit (see persist). wmu guards the fields below it; it is
	// never held while mu is, nor during a write.
	wmu     sync.Mutex
	wdone   *sync.Cond          // broadcast when a batch has been written
	dirty   map[string]struct{} // changed AORs no batch has taken yet
	next    uint64              // the number of the batch that will take dirty
	written uint64              // the number of the last batch written
	writing bool                // a caller is writing a batch
}

// NewLocation makes a location service backed by kv (nil keeps bindings in
// memory only) and loads the bindings persisted there, dropping expired
// ones.
func NewLocation(kv KV, opts ...LocationOption) (*Location, error) {
	l := &Location{
		kv: kv, now: time.Now, log: slog.Default(), aors: make(map[string][]Binding),
		dirty: make(map[string]struct{}), next: 1,
	}
	l.wdone = sync.NewCond(&l.wmu)
	for _, o := range opts {
		o(l)
	}
	if kv == nil {
		return l, nil
	}
	now := l.now()
	var dirty []string
	err := kv.ForEach(locationBucket, func(key string, value []byte) error {
		var bs []Binding
		if err := json.Unmarshal(value, &bs); err != nil {
			l.log.Warn("location: unreadable registration skipped", "aor", key, "error", err)
			return nil
		}
		keep := bs[:0]
		for _, b := range bs {
			if b.Expires.After(now) && b.AOR == key {
				keep = append(keep, b)
			}
		}
		if len(keep) != len(bs) {
			dirty = append(dirty, key)
		}
		if len(keep) > 0 {
			l.aors[key] = keep
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("location: load %s: %w", locationBucket, err)
	}
	l.persist(dirty...)
	return l, nil
}

// Lookup returns the unexpired bindings of aor, highest q first, most
// recently refreshed first among equals.
func (l *Location) Lookup(aor string) []Binding {
	now := l.now()
	l.mu.RLock()
	out := locationLive(l.aors[aor], now)
	l.mu.RUnlock()
	locationSort(out)
	return out
}

// All returns every unexpired binding, by AOR, then as Lookup orders them.
func (l *Location) All() []Binding {
	now := l.now()
	l.mu.RLock()
	aors := make([]string, 0, len(l.aors))
	for aor := range l.aors {
		aors = append(aors, aor)
	}
	sort.Strings(aors)
	out := []Binding{}
	for _, aor := range aors {
		bs := locationLive(l.aors[aor], now)
		locationSort(bs)
		out = append(out, bs...)
	}
	l.mu.RUnlock()
	return out
}

// Sweep forgets expired bindings, in memory and in the store.
func (l *Location) Sweep() {
	now := l.now()
	var changed []string
	l.mu.Lock()
	for aor, bs := range l.aors {
		live := locationLive(bs, now)
		if len(live) == len(bs) {
			continue
		}
		changed = append(changed, aor)
		if len(live) == 0 {
			delete(l.aors, aor)
		} else {
			l.aors[aor] = live
		}
	}
	l.mu.Unlock()
	l.persist(changed...)
}

// SetReachable records whether the contact of aor answered its last
// qualify ping. Only a change is written to the store.
func (l *Location) SetReachable(aor, contact string, ok bool) {
	changed := false
	l.mu.Lock()
	bs := l.aors[aor]
	for i := range bs {
		if bs[i].Contact == contact && bs[i].Reachable != ok {
			bs[i].Reachable = ok
			changed = true
		}
	}
	l.mu.Unlock()
	if changed {
		l.persist(aor)
	}
}

// update runs fn on the current (unexpired) bindings of aor under the lock
// and stores what it returns, unless it returns an error. The result is
// persisted before update returns.
func (l *Location) update(aor string, fn func(current []Binding) ([]Binding, error)) error {
	now := l.now()
	l.mu.Lock()
	cur := locationLive(l.aors[aor], now)
	next, err := fn(cur)
	if err != nil {
		l.mu.Unlock()
		return err
	}
	if len(next) == 0 {
		delete(l.aors, aor)
	} else {
		l.aors[aor] = slices.Clone(next)
	}
	l.mu.Unlock()
	l.persist(aor)
	return nil
}

// persist returns once the store holds the current bindings of aors (or
// once writing them failed, which is logged: the bindings stay in memory).
//
// The AORs are marked dirty. If no batch is being written, the caller
// writes one: every dirty AOR, with its state at that time, in one
// transaction. Otherwise it waits for that batch to end, and then for the
// batch that took its AORs, writing that one itself if nobody else has
// started it. So one caller writes at most one batch, batches never
// overlap, and each reads the state after the changes it was taken for:
// the store always ends with the latest state, even when updates race.
func (l *Location) persist(aors ...string) {
	if l.kv == nil || len(aors) == 0 {
		return
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	for _, aor := range aors {
		l.dirty[aor] = struct{}{}
	}
	mine := l.next
	for l.written < mine {
		if l.writing {
			l.wdone.Wait()
			continue
		}
		batch, n := l.dirty, l.next
		l.dirty, l.next, l.writing = make(map[string]struct{}), n+1, true
		l.wmu.Unlock()
		l.write(batch)
		l.wmu.Lock()
		l.written, l.writing = n, false
		l.wdone.Broadcast()
	}
}

// write stores the current bindings of each AOR of batch in one
// transaction when the KV can (BatchKV), else key by key; an AOR without
// bindings is deleted.
func (l *Location) write(batch map[string]struct{}) {
	state := make(map[string][]Binding, len(batch))
	l.mu.RLock()
	for aor := range batch {
		state[aor] = slices.Clone(l.aors[aor])
	}
	l.mu.RUnlock()
	vals := make(map[string][]byte, len(state))
	for aor, bs := range state {
		if len(bs) == 0 {
			vals[aor] = nil
			continue
		}
		v, err := json.Marshal(bs)
		if err != nil {
			l.log.Error("location: persist registration", "aor", aor, "error", err)
			continue
		}
		vals[aor] = v
	}
	if bkv, ok := l.kv.(BatchKV); ok {
		if err := bkv.PutMany(locationBucket, vals); err != nil {
			l.log.Error("location: persist registrations", "aors", len(vals), "error", err)
		}
		return
	}
	for aor, v := range vals {
		var err error
		if v == nil {
			err = l.kv.Delete(locationBucket, aor)
		} else {
			err = l.kv.Put(locationBucket, aor, v)
		}
		if err != nil {
			l.log.Error("location: persist registration", "aor", aor, "error", err)
		}
	}
}

// locationLive returns a fresh slice of the bindings that have not expired.
func locationLive(bs []Binding, now time.Time) []Binding {
	out := make([]Binding, 0, len(bs))
	for _, b := range bs {
		if b.Expires.After(now) {
			out = append(out, b)
		}
	}
	return out
}

func locationSort(bs []Binding) {
	sort.SliceStable(bs, func(i, j int) bool {
		if bs[i].Q != bs[j].Q {
			return bs[i].Q > bs[j].Q
		}
		return bs[i].Expires.After(bs[j].Expires)
	})
}

// locationContactKey normalises a contact URI for comparison (RFC 3261
// §19.1.4, simplified): scheme and host are case-insensitive, the default
// port equals no port only for the same transport, URI parameters compare
// by name case-insensitively, in any order.
func locationContactKey(u *sipmsg.Uri) string {
	var b strings.Builder
	scheme := strings.ToLower(u.Scheme)
	if scheme == "" {
		scheme = "sip"
	}
	b.WriteString(scheme)
	b.WriteByte(':')
	b.WriteString(u.User)
	b.WriteByte('@')
	b.WriteString(strings.ToLower(u.Host))
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(u.Port))
	if u.UriParams != nil {
		params := make([]string, 0, u.UriParams.Length())
		for _, kv := range u.UriParams {
			params = append(params, strings.ToLower(kv.K)+"="+kv.V)
		}
		sort.Strings(params)
		for _, p := range params {
			b.WriteByte(';')
			b.WriteString(p)
		}
	}
	return b.String()
}

// locationBindingKey is the comparison key of a stored binding's contact.
func locationBindingKey(b *Binding) string {
	var u sipmsg.Uri
	if err := sipmsg.ParseUri(b.Contact, &u); err != nil {
		return b.Contact
	}
	return locationContactKey(&u)
}
