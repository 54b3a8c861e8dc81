package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

const cdrBucket = "cdr"

// CDR is the record of one call.
type CDR struct {
	ID          string        `json:"id"`
	CallID      string        `json:"call_id"`
	From        string        `json:"from"`
	To          string        `json:"to"`
	Start       time.Time     `json:"start"`
	Answer      time.Time     `json:"answer"` // zero when unanswered
	End         time.Time     `json:"end"`
	Duration    time.Duration `json:"duration"`
	Billsec     time.Duration `json:"billsec"`
	Disposition string        `json:"disposition"` // ANSWERED, NO ANSWER, BUSY, FAILED, CANCELLED
	HangupCause string        `json:"hangup_cause"`
	HangupBy    string        `json:"hangup_by"` // caller, callee, system
	Codec       string        `json:"codec"`
	PacketsLost uint64        `json:"packets_lost"`
	Trunk       string        `json:"trunk,omitempty"`
}

// cdrKey sorts records by start time, then id.
func cdrKey(c CDR) string {
	return fmt.Sprintf("%020d/%s", c.Start.UnixNano(), c.ID)
}

// AddCDR writes a call record.
func (s *Store) AddCDR(c CDR) error {
	v, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("store: encode cdr %s: %w", c.ID, err)
	}
	return s.Put(cdrBucket, cdrKey(c), v)
}

// CDRs returns records that started at or after since, oldest first, at
// most limit of them (0: all).
func (s *Store) CDRs(since time.Time, limit int) ([]CDR, error) {
	var out []CDR
	from := []byte(fmt.Sprintf("%020d", max(since.UnixNano(), 0)))
	if since.IsZero() {
		from = nil
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(cdrBucket))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		var k, v []byte
		if from == nil {
			k, v = c.First()
		} else {
			k, v = c.Seek(from)
		}
		for ; k != nil; k, v = c.Next() {
			var r CDR
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("store: decode cdr %s: %w", k, err)
			}
			out = append(out, r)
			if limit > 0 && len(out) >= limit {
				break
			}
		}
		return nil
	})
	return out, err
}
