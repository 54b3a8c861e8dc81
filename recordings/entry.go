package recordings

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"pbx/store"
)

// Bucket is the store bucket of the index: one JSON Entry per recording,
// keyed by id, so in start order.
const Bucket = "recordings"

// ErrNotFound is returned for an id the index does not hold.
var ErrNotFound = errors.New("recordings: no such recording")

// Entry is a recording's line in the index. Path is relative to the
// Archive's Dir, so the directory can move. Duration and Size are final
// once Active is false; while it is true, List and Get report them as
// written so far.
type Entry struct {
	ID       string        `json:"id"`
	CallID   string        `json:"call_id"`
	LegID    string        `json:"leg_id,omitempty"`
	Caller   string        `json:"caller,omitempty"`
	Callee   string        `json:"callee,omitempty"`
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"-"` // as duration_s, seconds
	Size     int64         `json:"size"`
	Path     string        `json:"path"`
	Mode     Mode          `json:"mode"`
	Active   bool          `json:"active"`
}

// entryJSON is Entry as stored and served: the duration in seconds, which
// a person or a spreadsheet can read, rather than nanoseconds.
type entryJSON struct {
	plainEntry
	DurationS float64 `json:"duration_s"`
}

// plainEntry is Entry without its methods, so encoding it does not recurse.
type plainEntry Entry

// MarshalJSON encodes the duration as duration_s, in seconds.
func (e Entry) MarshalJSON() ([]byte, error) {
	return json.Marshal(entryJSON{plainEntry(e), e.Duration.Seconds()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (e *Entry) UnmarshalJSON(b []byte) error {
	var j entryJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*e = Entry(j.plainEntry)
	e.Duration = time.Duration(j.DurationS * float64(time.Second)).Round(time.Millisecond)
	return nil
}

// Filter selects index entries for List.
type Filter struct {
	CallID string    // only this call's recordings, if set
	Since  time.Time // only recordings started at or after, if set
	Limit  int       // at most this many (the newest), if > 0
}

func (f Filter) match(e Entry) bool {
	return (f.CallID == "" || e.CallID == f.CallID) && (f.Since.IsZero() || !e.Start.Before(f.Since))
}

// ReadIndex lists the index in kv, newest first, as Archive.List does but
// without an Archive: for tools that open the store read-only while no
// PBX runs. Active entries there are as last written.
func ReadIndex(kv store.KV, f Filter) ([]Entry, error) {
	var out []Entry
	err := kv.ForEach(Bucket, func(key string, v []byte) error {
		var e Entry
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("recordings: index entry %s: %w", key, err)
		}
		if f.match(e) {
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Keys are ids, which sort by start time; an id made by a clock that
	// stepped back is put in place by the start time itself.
	slices.SortFunc(out, func(a, b Entry) int {
		if c := b.Start.Compare(a.Start); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	if out == nil {
		out = []Entry{}
	}
	return out, nil
}

// getEntry reads one entry from kv.
func getEntry(kv store.KV, id string) (Entry, error) {
	v, err := kv.Get(Bucket, id)
	if err != nil {
		return Entry{}, err
	}
	if v == nil {
		return Entry{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	var e Entry
	if err := json.Unmarshal(v, &e); err != nil {
		return Entry{}, fmt.Errorf("recordings: index entry %s: %w", id, err)
	}
	return e, nil
}

// putEntry writes one entry to kv.
func putEntry(kv store.KV, e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("recordings: encode %s: %w", e.ID, err)
	}
	return kv.Put(Bucket, e.ID, b)
}
