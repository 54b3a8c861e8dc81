package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// KV is what packages that keep their own records need from the store:
// buckets of keys holding bytes they encode themselves.
//
// Get returns nil, nil for an absent key or bucket. ForEach calls fn in key
// order on a snapshot, outside any transaction, so fn may write to the
// store; an error from fn stops the walk and is returned. An absent bucket
// holds nothing.
type KV interface {
	Put(bucket, key string, value []byte) error
	Get(bucket, key string) ([]byte, error)
	Delete(bucket, key string) error
	ForEach(bucket string, fn func(key string, value []byte) error) error
}

// ErrLocked is returned by Open and OpenReadOnly when another process holds
// the store (a running PBX, say).
var ErrLocked = errors.New("store locked by another process")

// FileName is the name of the database file in the data directory.
const FileName = "pbx.db"

// lockTimeout is how long Open waits for another process to let go.
const lockTimeout = time.Second

// Store is the bbolt-backed store in a data directory. It is safe for
// concurrent use.
type Store struct {
	db        *bolt.DB
	closeOnce sync.Once
	closeErr  error
}

var (
	_ KV     = (*Store)(nil)
	_ CDRLog = (*Store)(nil)
	_ Users  = (*Store)(nil)
)

// Open opens the store in dir for reading and writing, creating the
// directory and the file if needed. If another process has it open, Open
// fails after one second with an error wrapping ErrLocked.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("store: create %s: %w", dir, err)
	}
	return open(filepath.Join(dir, FileName), &bolt.Options{Timeout: lockTimeout})
}

// OpenReadOnly opens an existing store for reading only, as the command
// line tools do. It fails if the file does not exist, and with ErrLocked
// while a process has the store open for writing.
func OpenReadOnly(dir string) (*Store, error) {
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return open(path, &bolt.Options{Timeout: lockTimeout, ReadOnly: true})
}

func open(path string, o *bolt.Options) (*Store, error) {
	db, err := bolt.Open(path, 0o600, o)
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.db.Path() }

// Close flushes the file to disk and closes it. Calling it again returns
// the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var syncErr error
		if !s.db.IsReadOnly() {
			syncErr = s.db.Sync()
		}
		closeErr := s.db.Close()
		switch {
		case syncErr != nil:
			s.closeErr = fmt.Errorf("store: flush: %w", syncErr)
		case closeErr != nil:
			s.closeErr = fmt.Errorf("store: close: %w", closeErr)
		}
	})
	return s.closeErr
}

// Put stores value under key in bucket, creating the bucket if needed.
func (s *Store) Put(bucket, key string, value []byte) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(bucket))
		if err != nil {
			return err
		}
		return b.Put([]byte(key), value)
	})
	if err != nil {
		return fmt.Errorf("store: put %s/%s: %w", bucket, key, err)
	}
	return nil
}

// PutMany writes every key of kv to bucket in one transaction, creating
// the bucket if needed; a nil value deletes its key. A writer that
// coalesces many changes pays for one fsync instead of one per key, and a
// reader never sees half of them.
func (s *Store) PutMany(bucket string, kv map[string][]byte) error {
	if len(kv) == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(bucket))
		if err != nil {
			return err
		}
		for k, v := range kv {
			if v == nil {
				err = b.Delete([]byte(k))
			} else {
				err = b.Put([]byte(k), v)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: put many in %s: %w", bucket, err)
	}
	return nil
}

// Get returns a copy of the value under key, or nil, nil if there is none.
func (s *Store) Get(bucket, key string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte(bucket)); b != nil {
			if v := b.Get([]byte(key)); v != nil {
				out = append([]byte{}, v...)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: get %s/%s: %w", bucket, key, err)
	}
	return out, nil
}

// Delete removes key from bucket; removing what is not there is no error.
func (s *Store) Delete(bucket, key string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte(bucket)); b != nil {
			return b.Delete([]byte(key))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete %s/%s: %w", bucket, key, err)
	}
	return nil
}

// ForEach calls fn for every key of bucket in key order. It reads a
// snapshot first and calls fn outside the transaction, so fn may use the
// store; an error from fn stops the walk and is returned as is.
func (s *Store) ForEach(bucket string, fn func(key string, value []byte) error) error {
	type pair struct {
		k string
		v []byte
	}
	var pairs []pair
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if v != nil { // nil: a nested bucket, which this API never makes
				pairs = append(pairs, pair{string(k), append([]byte{}, v...)})
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("store: read %s: %w", bucket, err)
	}
	for _, p := range pairs {
		if err := fn(p.k, p.v); err != nil {
			return err
		}
	}
	return nil
}
