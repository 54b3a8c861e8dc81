package campaign

import (
	"encoding/json"
	"fmt"
	"time"
)

// The Center keeps everything in memory and writes what changed to the
// store behind the call paths (markLocked, then the persister's flush);
// New reads it all back (load).

// Store buckets: each holds JSON records keyed by zero-padded id.
const (
	bucketCampaigns = "cmp_campaigns"
	bucketForms     = "cmp_forms"
	bucketContacts  = "cmp_contacts"
	bucketCalls     = "cmp_calls"
	bucketLog       = "cmp_log"
)

// key is a record's key in its bucket: its id, zero-padded so that keys
// sort as ids do.
func key(id int) string { return fmt.Sprintf("%010d", id) }

// load reads every bucket into memory.
func (c *Center) load() error {
	if c.st == nil {
		return nil
	}
	loaders := []struct {
		bucket string
		put    func(v []byte) (int, error) // decodes a record, files it, returns its id
	}{
		{bucketCampaigns, decodeInto(func(x *Campaign) int { c.campaigns[x.ID] = x; return x.ID })},
		{bucketForms, decodeInto(func(x *Form) int { c.forms[x.ID] = x; return x.ID })},
		{bucketContacts, decodeInto(func(x *Contact) int { c.contacts[x.ID] = x; return x.ID })},
		{bucketCalls, decodeInto(func(x *Call) int { c.calls[x.ID] = x; return x.ID })},
		{bucketLog, decodeInto(func(x *LogEntry) int { c.logs = append(c.logs, *x); return x.ID })},
	}
	for _, l := range loaders {
		err := c.st.ForEach(l.bucket, func(k string, v []byte) error {
			id, err := l.put(v)
			if err != nil {
				return fmt.Errorf("record %s: %w", k, err)
			}
			c.next[l.bucket] = max(c.next[l.bucket], id)
			return nil
		})
		if err != nil {
			return fmt.Errorf("campaign: load %s: %w", l.bucket, err)
		}
	}
	// A call still being placed or waiting in the queue when the PBX
	// stopped is tried again; one that reached an agent stays a success.
	for _, cl := range c.calls {
		if cl.Kind == Outgoing && (cl.Status == Placing || cl.Status == Dialing || cl.Status == Ringing || cl.Status == OnQueue) {
			cl.Status, cl.LegID = Pending, "" // in memory: the store changes when the call does, so a reader writes nothing
		}
	}
	return nil
}

// decodeInto decodes a JSON record as a T and hands it to keep, which
// files it and returns its id.
func decodeInto[T any](keep func(*T) int) func([]byte) (int, error) {
	return func(v []byte) (int, error) {
		x := new(T)
		if err := json.Unmarshal(v, x); err != nil {
			return 0, err
		}
		return keep(x), nil
	}
}

// newIDLocked gives the next id of a bucket; c.mu held.
func (c *Center) newIDLocked(bucket string) int {
	c.next[bucket]++
	return c.next[bucket]
}

// markLocked queues a record to be written; c.mu held.
func (c *Center) markLocked(bucket string, id int, v any) {
	m := c.dirty[bucket]
	if m == nil {
		m = map[int]any{}
		c.dirty[bucket] = m
	}
	m[id] = v
	select {
	case c.flushing <- struct{}{}:
	default:
	}
}

// persist writes what changed, batched: at most every 200 ms, one
// transaction per bucket, off the call paths.
func (c *Center) persist() {
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.flushing:
		}
		c.flush()
		select {
		case <-c.ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// flush writes the queued records now.
func (c *Center) flush() {
	if c.st == nil {
		return
	}
	c.mu.Lock()
	batches := map[string]map[string][]byte{}
	for bucket, m := range c.dirty {
		kv := make(map[string][]byte, len(m))
		for id, v := range m {
			b, err := json.Marshal(v)
			if err != nil {
				c.log.Error("campaign: encode record", "bucket", bucket, "id", id, "error", err)
				continue
			}
			kv[key(id)] = b
		}
		batches[bucket] = kv
	}
	c.dirty = map[string]map[int]any{}
	c.mu.Unlock()
	for bucket, kv := range batches {
		if err := c.st.PutMany(bucket, kv); err != nil {
			c.log.Error("campaign: write", "bucket", bucket, "records", len(kv), "error", err)
		}
	}
}
