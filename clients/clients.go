package clients

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"pbx/store"
)

// Bucket is the store bucket of the accounts, keyed by user name.
const Bucket = "eccp_clients"

// Client is one ECCP account kept in the store.
type Client struct {
	Username string `json:"username"`
	// MD5Password is the MD5 of the password, in lower-case hexadecimal:
	// login accepts the password or this digest, as dialerd does.
	MD5Password string `json:"md5_password"`
}

// Errors of Add and Remove.
var (
	ErrInvalid  = errors.New("eccp client: invalid")
	ErrNotFound = errors.New("eccp client: not found")
)

// usernameRe is a user name, as config allows in eccp.clients: it travels
// in an XML element and shows in logs.
var usernameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)

// MD5Hex is the digest login compares: the MD5 of password in lower-case
// hexadecimal.
func MD5Hex(password string) string {
	sum := md5.Sum([]byte(password))
	return hex.EncodeToString(sum[:])
}

// Add stores an account, or gives an existing one a new password. Only the
// password's MD5 is kept.
func Add(st store.KV, username, password string) error {
	switch {
	case !usernameRe.MatchString(username):
		return fmt.Errorf("%w: user name %q: want up to 64 letters, digits, '-', '_', '.' or '@'", ErrInvalid, username)
	case password == "":
		return fmt.Errorf("%w: %s: empty password", ErrInvalid, username)
	case strings.ContainsAny(password, "\x00\r\n"):
		return fmt.Errorf("%w: %s: the password must be one line", ErrInvalid, username)
	}
	v, err := json.Marshal(Client{Username: username, MD5Password: MD5Hex(password)})
	if err != nil {
		return fmt.Errorf("eccp client %s: %w", username, err)
	}
	if err := st.Put(Bucket, username, v); err != nil {
		return fmt.Errorf("eccp client %s: %w", username, err)
	}
	return nil
}

// Remove deletes an account; ErrNotFound when the store has none of that
// name (an account of pbx.yaml is not the store's to remove).
func Remove(st store.KV, username string) error {
	v, err := st.Get(Bucket, username)
	if err != nil {
		return fmt.Errorf("eccp client %s: %w", username, err)
	}
	if v == nil {
		return fmt.Errorf("%s: %w", username, ErrNotFound)
	}
	if err := st.Delete(Bucket, username); err != nil {
		return fmt.Errorf("eccp client %s: %w", username, err)
	}
	return nil
}

// List returns the accounts, by user name.
func List(st store.KV) ([]Client, error) {
	var out []Client
	err := st.ForEach(Bucket, func(k string, v []byte) error {
		var c Client
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("record %s: %w", k, err)
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("eccp clients: %w", err)
	}
	return out, nil
}
