package sip

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// KV is the persistence the sip package needs; the store implements it.
type KV interface {
	Put(bucket, key string, value []byte) error
	Get(bucket, key string) ([]byte, error)
	Delete(bucket, key string) error
	ForEach(bucket string, fn func(key string, value []byte) error) error
}

const regBucket = "registrations"

// Binding is one registered contact of an address of record.
type Binding struct {
	AOR        string    `json:"aor"`     // the user part: "1001"
	Contact    string    `json:"contact"` // the Contact URI as sent
	Source     string    `json:"source"`  // ip:port the REGISTER came from
	Transport  string    `json:"transport"`
	Expires    time.Time `json:"expires"`
	CallID     string    `json:"call_id"`
	CSeq       uint32    `json:"cseq"`
	Q          float64   `json:"q"`
	InstanceID string    `json:"instance_id,omitempty"`
	UserAgent  string    `json:"user_agent,omitempty"`
	Reachable  bool      `json:"reachable"`
}

func (b Binding) key() string { return b.AOR + "|" + b.Contact }

// Target says where to send a request for this binding: to the contact URI,
// but over the address and transport the REGISTER came from, so requests
// cross the phone's NAT and reuse its TCP connection.
func (b Binding) Target() (uri sipmsg.Uri, destination string, transport string, err error) {
	if err := sipmsg.ParseUri(b.Contact, &uri); err != nil {
		return uri, "", "", fmt.Errorf("binding %s: contact %q: %w", b.AOR, b.Contact, err)
	}
	return uri, b.Source, b.Transport, nil
}

// Location is the location service: address of record to bindings, kept
// in memory and persisted in a KV store.
type Location struct {
	kv  KV
	now Clock

	mu       sync.Mutex
	bindings map[string][]Binding
}

// LocationOption configures a Location.
type LocationOption func(*Location)

// WithLocationClock sets the clock used for expiry.
func WithLocationClock(c Clock) LocationOption { return func(l *Location) { l.now = c } }

// NewLocation loads the persisted bindings, dropping those expired.
func NewLocation(kv KV, opts ...LocationOption) (*Location, error) {
	l := &Location{kv: kv, now: time.Now, bindings: map[string][]Binding{}}
	for _, o := range opts {
		o(l)
	}
	if kv == nil {
		return l, nil
	}
	now := l.now()
	var stale []string
	err := kv.ForEach(regBucket, func(k string, v []byte) error {
		var b Binding
		if json.Unmarshal(v, &b) != nil || !b.Expires.After(now) {
			stale = append(stale, k)
			return nil
		}
		l.bindings[b.AOR] = append(l.bindings[b.AOR], b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load registrations: %w", err)
	}
	for _, k := range stale {
		kv.Delete(regBucket, k)
	}
	return l, nil
}

// Lookup returns the unexpired bindings of aor, highest q first.
func (l *Location) Lookup(aor string) []Binding {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var out []Binding
	for _, b := range l.bindings[aor] {
		if b.Expires.After(now) {
			out = append(out, b)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Q > out[j].Q })
	return out
}

// All returns every unexpired binding.
func (l *Location) All() []Binding {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	out := []Binding{}
	for _, bs := range l.bindings {
		for _, b := range bs {
			if b.Expires.After(now) {
				out = append(out, b)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key() < out[j].key() })
	return out
}

// put adds or replaces a binding (same AOR and contact).
func (l *Location) put(b Binding) {
	l.mu.Lock()
	bs := l.bindings[b.AOR]
	replaced := false
	for i := range bs {
		if bs[i].Contact == b.Contact {
			bs[i], replaced = b, true
		}
	}
	if !replaced {
		bs = append(bs, b)
	}
	l.bindings[b.AOR] = bs
	l.mu.Unlock()
	l.persist(b)
}

func (l *Location) persist(b Binding) {
	if l.kv == nil {
		return
	}
	v, _ := json.Marshal(b)
	l.kv.Put(regBucket, b.key(), v)
}

// remove drops one contact of aor, or all with contact "*".
func (l *Location) remove(aor, contact string) {
	l.mu.Lock()
	var gone []Binding
	keep := l.bindings[aor][:0]
	for _, b := range l.bindings[aor] {
		if contact == "*" || sameContact(b.Contact, contact) {
			gone = append(gone, b)
		} else {
			keep = append(keep, b)
		}
	}
	if len(keep) == 0 {
		delete(l.bindings, aor)
	} else {
		l.bindings[aor] = keep
	}
	l.mu.Unlock()
	if l.kv != nil {
		for _, b := range gone {
			l.kv.Delete(regBucket, b.key())
		}
	}
}

func (l *Location) find(aor, contact string) (Binding, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range l.bindings[aor] {
		if sameContact(b.Contact, contact) {
			return b, true
		}
	}
	return Binding{}, false
}

func sameContact(a, b string) bool { return strings.EqualFold(a, b) }

// Sweep drops expired bindings.
func (l *Location) Sweep() {
	now := l.now()
	l.mu.Lock()
	var gone []Binding
	for aor, bs := range l.bindings {
		keep := bs[:0]
		for _, b := range bs {
			if b.Expires.After(now) {
				keep = append(keep, b)
			} else {
				gone = append(gone, b)
			}
		}
		if len(keep) == 0 {
			delete(l.bindings, aor)
		} else {
			l.bindings[aor] = keep
		}
	}
	l.mu.Unlock()
	if l.kv != nil {
		for _, b := range gone {
			l.kv.Delete(regBucket, b.key())
		}
	}
}

// SetReachable records the result of a qualify ping.
func (l *Location) SetReachable(aor, contact string, ok bool) {
	l.mu.Lock()
	var changed *Binding
	for i, b := range l.bindings[aor] {
		if b.Contact == contact && b.Reachable != ok {
			l.bindings[aor][i].Reachable = ok
			c := l.bindings[aor][i]
			changed = &c
		}
	}
	l.mu.Unlock()
	if changed != nil {
		l.persist(*changed)
	}
}
