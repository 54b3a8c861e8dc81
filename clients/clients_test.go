package clients

import (
	"errors"
	"reflect"
	"testing"

	"pbx/store"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Accounts are added, listed by name with their password's MD5 only,
// given a new password, and removed.
func TestAddListRemove(t *testing.T) {
	st := openStore(t)
	for _, c := range [][2]string{{"crm", "s3cret"}, {"agentconsole", "agentconsole"}, {"crm", "n3w"}} {
		if err := Add(st, c[0], c[1]); err != nil {
			t.Fatal(err)
		}
	}
	got, err := List(st)
	if err != nil {
		t.Fatal(err)
	}
	want := []Client{
		{Username: "agentconsole", MD5Password: "7e53aa92f7566f44f39f3f1842832581"},
		{Username: "crm", MD5Password: MD5Hex("n3w")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("list:\n got %+v\nwant %+v", got, want)
	}
	if err := Remove(st, "crm"); err != nil {
		t.Fatal(err)
	}
	if err := Remove(st, "crm"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second remove: %v, want ErrNotFound", err)
	}
	if got, _ := List(st); len(got) != 1 || got[0].Username != "agentconsole" {
		t.Fatalf("after remove: %+v", got)
	}
}

// MD5Hex is what md5sum prints: lower-case hexadecimal.
func TestMD5Hex(t *testing.T) {
	tests := []struct{ in, want string }{
		{"agentconsole", "7e53aa92f7566f44f39f3f1842832581"},
		{"", "d41d8cd98f00b204e9800998ecf8427e"},
	}
	for _, tt := range tests {
		if got := MD5Hex(tt.in); got != tt.want {
			t.Errorf("MD5Hex(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Add refuses what login could never match or logs could not show.
func TestAddRefuses(t *testing.T) {
	st := openStore(t)
	tests := []struct{ name, user, password string }{
		{"empty name", "", "x"},
		{"name with space", "a b", "x"},
		{"name too long", string(make([]byte, 65)), "x"},
		{"empty password", "crm", ""},
		{"two-line password", "crm", "a\nb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Add(st, tt.user, tt.password); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Add: %v, want ErrInvalid", err)
			}
		})
	}
	if got, _ := List(st); len(got) != 0 {
		t.Fatalf("stored %+v", got)
	}
}
