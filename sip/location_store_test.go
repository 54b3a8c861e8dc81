package sip

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"pbx/store"
)

// locCountingKV counts the transactions the Location asks of a real store.
// Its first PutMany waits for release, so that changes pile up behind it.
type locCountingKV struct {
	*store.Store
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	batches int
}

func (kv *locCountingKV) PutMany(bucket string, m map[string][]byte) error {
	kv.once.Do(func() { <-kv.release })
	kv.mu.Lock()
	kv.batches++
	kv.mu.Unlock()
	return kv.Store.PutMany(bucket, m)
}

// Many registrations of many users at once: each is in the bbolt file when
// its update returns, they share transactions, and all of them, at their
// latest state, are there after the file is closed and opened again.
func TestLocationConcurrentUpdatesPersistToBolt(t *testing.T) {
	const aors, perAOR = 100, 10
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { st.Close() }()
	clock := newLocTestClock()
	kv := &locCountingKV{Store: st, release: make(chan struct{})}
	loc, err := NewLocation(kv, WithLocationClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now()

	var started, done sync.WaitGroup
	errs := make(chan error, aors*perAOR)
	for a := range aors {
		aor := fmt.Sprint(2000 + a)
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			started.Done()
			// Each user refreshes its one binding perAOR times, in order.
			for seq := 1; seq <= perAOR; seq++ {
				err := loc.update(aor, func([]Binding) ([]Binding, error) {
					return []Binding{{AOR: aor, Contact: "sip:" + aor + "@10.0.0.1:5060", CSeq: uint32(seq), Expires: now.Add(time.Hour)}}, nil
				})
				if err != nil {
					errs <- err
					return
				}
				// On disk before update returned.
				v, err := st.Get(locationBucket, aor)
				var bs []Binding
				if err == nil {
					err = json.Unmarshal(v, &bs)
				}
				if err != nil || len(bs) != 1 || bs[0].CSeq < uint32(seq) {
					errs <- fmt.Errorf("%s after update %d: stored %s (%v)", aor, seq, v, err)
					return
				}
			}
		}()
	}
	started.Wait()
	close(kv.release)
	done.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if kv.batches >= aors*perAOR {
		t.Errorf("%d updates took %d transactions: none shared", aors*perAOR, kv.batches)
	}
	t.Logf("%d updates in %d transactions", aors*perAOR, kv.batches)

	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err = store.Open(dir); err != nil {
		t.Fatal(err)
	}
	again, err := NewLocation(st, WithLocationClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	all := again.All()
	if len(all) != aors {
		t.Fatalf("reloaded %d bindings, want %d", len(all), aors)
	}
	for _, b := range all {
		if b.CSeq != perAOR {
			t.Errorf("%s reloaded at CSeq %d, want the last, %d", b.AOR, b.CSeq, perAOR)
		}
	}
}

// Swept bindings leave the bbolt file; live ones stay.
func TestLocationSweepDeletesFromBolt(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clock := newLocTestClock()
	loc, err := NewLocation(st, WithLocationClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	for _, aor := range []string{"1001", "1002", "1003"} {
		ttl := time.Minute
		if aor == "1003" {
			ttl = time.Hour
		}
		if err := loc.update(aor, func([]Binding) ([]Binding, error) {
			return []Binding{{AOR: aor, Contact: "sip:" + aor + "@10.0.0.1", Expires: now.Add(ttl)}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(2 * time.Minute)
	loc.Sweep()
	var keys []string
	if err := st.ForEach(locationBucket, func(k string, _ []byte) error { keys = append(keys, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != "1003" {
		t.Fatalf("store after sweep: %v", keys)
	}
}
