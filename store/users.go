package store

import "encoding/json"

const userBucket = "users"

type userRecord struct {
	Password string `json:"password"`
	Name     string `json:"name"`
}

// PutUser adds or replaces an extension created at run time.
func (s *Store) PutUser(ext, password, name string) error {
	v, _ := json.Marshal(userRecord{password, name})
	return s.Put(userBucket, ext, v)
}

// User looks an extension up.
func (s *Store) User(ext string) (password, name string, ok bool, err error) {
	v, err := s.Get(userBucket, ext)
	if err != nil || v == nil {
		return "", "", false, err
	}
	var r userRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return "", "", false, err
	}
	return r.Password, r.Name, true, nil
}
