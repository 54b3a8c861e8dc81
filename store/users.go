package store

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Users holds extensions added at run time, beside those of pbx.yaml.
type Users interface {
	PutUser(ext, password, name string) error
	User(ext string) (password, name string, ok bool, err error)
}

// UserBucket is the KV bucket of users, keyed by extension.
const UserBucket = "users"

type userRecord struct {
	Password string `json:"password"`
	Name     string `json:"name,omitempty"`
}

// PutUser adds or replaces an extension.
func (s *Store) PutUser(ext, password, name string) error {
	if ext == "" {
		return errors.New("store: put user: empty extension")
	}
	v, err := json.Marshal(userRecord{Password: password, Name: name})
	if err != nil {
		return fmt.Errorf("store: put user %s: %w", ext, err)
	}
	return s.Put(UserBucket, ext, v)
}

// User looks an extension up; ok is false when there is none.
func (s *Store) User(ext string) (password, name string, ok bool, err error) {
	v, err := s.Get(UserBucket, ext)
	if err != nil || v == nil {
		return "", "", false, err
	}
	var r userRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return "", "", false, fmt.Errorf("store: user %s: %w", ext, err)
	}
	return r.Password, r.Name, true, nil
}
