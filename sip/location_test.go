package sip

import (
	"encoding/json"
	"sort"
	"sync"
	"testing"
	"time"
)

// locTestKV is an in-memory stand-in for the project's store, used only
// as a test double for the KV interface.
type locTestKV struct {
	mu   sync.Mutex
	data map[string]map[string][]byte
}

func newLocTestKV() *locTestKV { return &locTestKV{data: map[string]map[string][]byte{}} }

func (kv *locTestKV) Put(bucket, key string, value []byte) error {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if kv.data[bucket] == nil {
		kv.data[bucket] = map[string][]byte{}
	}
	kv.data[bucket][key] = append([]byte(nil), value...)
	return nil
}

func (kv *locTestKV) Get(bucket, key string) ([]byte, error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	v := kv.data[bucket][key]
	if v == nil {
		return nil, nil
	}
	return append([]byte(nil), v...), nil
}

func (kv *locTestKV) Delete(bucket, key string) error {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	delete(kv.data[bucket], key)
	return nil
}

func (kv *locTestKV) ForEach(bucket string, fn func(key string, value []byte) error) error {
	kv.mu.Lock()
	keys := make([]string, 0, len(kv.data[bucket]))
	for k := range kv.data[bucket] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		vals[i] = append([]byte(nil), kv.data[bucket][k]...)
	}
	kv.mu.Unlock()
	for i, k := range keys {
		if err := fn(k, vals[i]); err != nil {
			return err
		}
	}
	return nil
}

func (kv *locTestKV) keys(bucket string) []string {
	var out []string
	_ = kv.ForEach(bucket, func(k string, _ []byte) error { out = append(out, k); return nil })
	return out
}

// locTestClock is a clock the test moves by hand.
type locTestClock struct {
	mu sync.Mutex
	t  time.Time
}

func newLocTestClock() *locTestClock {
	return &locTestClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *locTestClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *locTestClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestLocationLookupOrderAndExpiry(t *testing.T) {
	clock := newLocTestClock()
	kv := newLocTestKV()
	loc, err := NewLocation(kv, WithLocationClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	err = loc.update("1001", func(cur []Binding) ([]Binding, error) {
		return []Binding{
			{AOR: "1001", Contact: "sip:1001@10.0.0.1:5060", Q: 0.5, Expires: now.Add(time.Minute)},
			{AOR: "1001", Contact: "sip:1001@10.0.0.2:5060", Q: 1, Expires: now.Add(10 * time.Second)},
			{AOR: "1001", Contact: "sip:1001@10.0.0.3:5060", Q: 0.5, Expires: now.Add(2 * time.Minute)},
		}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := loc.Lookup("1001")
	want := []string{"sip:1001@10.0.0.2:5060", "sip:1001@10.0.0.3:5060", "sip:1001@10.0.0.1:5060"}
	if len(got) != 3 {
		t.Fatalf("lookup: %+v", got)
	}
	for i := range want {
		if got[i].Contact != want[i] {
			t.Fatalf("order: got %s at %d, want %s", got[i].Contact, i, want[i])
		}
	}

	clock.Advance(30 * time.Second)
	if got := loc.Lookup("1001"); len(got) != 2 {
		t.Fatalf("expired binding still looked up: %+v", got)
	}
	// Lookup filters, Sweep forgets and rewrites the store.
	loc.Sweep()
	v, _ := kv.Get(locationBucket, "1001")
	var stored []Binding
	if err := json.Unmarshal(v, &stored); err != nil || len(stored) != 2 {
		t.Fatalf("stored after sweep: %s (%v)", v, err)
	}
	clock.Advance(5 * time.Minute)
	loc.Sweep()
	if keys := kv.keys(locationBucket); len(keys) != 0 {
		t.Fatalf("store keeps %v after everything expired", keys)
	}
	if all := loc.All(); len(all) != 0 {
		t.Fatalf("all: %+v", all)
	}
}

func TestLocationPersistsAndReloads(t *testing.T) {
	clock := newLocTestClock()
	kv := newLocTestKV()
	loc, _ := NewLocation(kv, WithLocationClock(clock.Now))
	now := clock.Now()
	put := func(aor, contact string, ttl time.Duration) {
		t.Helper()
		err := loc.update(aor, func(cur []Binding) ([]Binding, error) {
			return append(cur, Binding{AOR: aor, Contact: contact, Q: 1, Expires: now.Add(ttl), Reachable: true}), nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	put("1001", "sip:1001@10.0.0.1:5060", time.Hour)
	put("1001", "sip:1001@10.0.0.9:5060", time.Minute)
	put("1002", "sip:1002@10.0.0.2:5060", time.Minute)
	loc.SetReachable("1001", "sip:1001@10.0.0.1:5060", false)

	// A corrupt entry is skipped, not fatal.
	_ = kv.Put(locationBucket, "junk", []byte("{not json"))

	clock.Advance(2 * time.Minute)
	again, err := NewLocation(kv, WithLocationClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	all := again.All()
	if len(all) != 1 || all[0].Contact != "sip:1001@10.0.0.1:5060" || all[0].Reachable {
		t.Fatalf("reloaded: %+v", all)
	}
	if keys := kv.keys(locationBucket); len(keys) != 2 || keys[0] != "1001" || keys[1] != "junk" {
		t.Fatalf("expired registrations not dropped from the store: %v", keys)
	}
}

func TestLocationContactKey(t *testing.T) {
	same := [][2]string{
		{"sip:1001@10.0.0.1:5060;transport=tcp;ob", "SIP:1001@10.0.0.1:5060;ob;Transport=tcp"},
		{"sip:1001@Phone.Example:5070", "sip:1001@phone.example:5070"},
	}
	for _, p := range same {
		a, b := Binding{Contact: p[0]}, Binding{Contact: p[1]}
		if locationBindingKey(&a) != locationBindingKey(&b) {
			t.Errorf("%s and %s should match", p[0], p[1])
		}
	}
	a, b := Binding{Contact: "sip:1001@10.0.0.1:5060"}, Binding{Contact: "sip:1001@10.0.0.1:5062"}
	if locationBindingKey(&a) == locationBindingKey(&b) {
		t.Error("different ports match")
	}
}
