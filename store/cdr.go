package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// CDR is the record of one call, written when it ends.
type CDR struct {
	ID          string        `json:"id"`      // the call's id, unique across nodes (node prefix)
	CallID      string        `json:"call_id"` // SIP Call-ID of the first leg
	From        string        `json:"from"`
	To          string        `json:"to"`
	Start       time.Time     `json:"start"`
	Answer      time.Time     `json:"answer,omitzero"` // zero (and absent from JSON) when unanswered
	End         time.Time     `json:"end"`
	Duration    time.Duration `json:"duration"`     // End - Start, in nanoseconds in JSON
	Billsec     time.Duration `json:"billsec"`      // End - Answer, 0 when unanswered
	Disposition string        `json:"disposition"`  // ANSWERED, NO ANSWER, BUSY, FAILED, CANCELLED
	HangupCause string        `json:"hangup_cause"` // the engine's cause name
	HangupBy    string        `json:"hangup_by"`    // caller, callee, system
	Codec       string        `json:"codec"`
	PacketsLost uint64        `json:"packets_lost"`
	Trunk       string        `json:"trunk,omitempty"` // the trunk the call came in or went out through
}

// Dispositions of a CDR.
const (
	Answered  = "ANSWERED"
	NoAnswer  = "NO ANSWER"
	Busy      = "BUSY"
	Failed    = "FAILED"
	Cancelled = "CANCELLED"
)

// CDRLog is the call record store.
type CDRLog interface {
	AddCDR(CDR) error
	CDRs(since time.Time, limit int) ([]CDR, error)
}

// CDRBucket is the KV bucket of call records. Keys are the UTC start time
// at fixed width, then "/" and the id, so key order is chronological.
const CDRBucket = "cdr"

const keyTime = "2006-01-02T15:04:05.000000000Z"

func timeKey(t time.Time) string { return t.UTC().Format(keyTime) }

func cdrKey(c CDR) string { return timeKey(c.Start) + "/" + c.ID }

// AddCDR writes a call record. Writing a record with the same start and id
// again replaces it.
func (s *Store) AddCDR(c CDR) error {
	if c.ID == "" {
		return errors.New("store: add cdr: empty id")
	}
	v, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("store: add cdr %s: %w", c.ID, err)
	}
	// Calls end many at a time under load: Batch commits the records of
	// concurrent callers in one transaction, one fsync for them all.
	err = s.db.Batch(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(CDRBucket))
		if err != nil {
			return err
		}
		return b.Put([]byte(cdrKey(c)), v)
	})
	if err != nil {
		return fmt.Errorf("store: add cdr %s: %w", c.ID, err)
	}
	return nil
}

// CDRs returns the records that started at or after since, oldest first:
// the first limit of them, or all when limit <= 0.
func (s *Store) CDRs(since time.Time, limit int) ([]CDR, error) {
	out := []CDR{}
	from := []byte(timeKey(since))
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(CDRBucket))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(from); k != nil; k, v = c.Next() {
			if limit > 0 && len(out) >= limit {
				break
			}
			var r CDR
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode %s: %w", k, err)
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: cdrs: %w", err)
	}
	return out, nil
}
