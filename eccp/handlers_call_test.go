package eccp

import "testing"

func TestSecretHeader(t *testing.T) {
	for name, want := range map[string]bool{
		"Proxy-Authorization": true, "authorization": true, "WWW-Authenticate": true, "Proxy-Authenticate": true,
		"From": false, "X-Customer": false, "User-Agent": false,
	} {
		if got := secretHeader(name); got != want {
			t.Errorf("secretHeader(%q) = %v, want %v", name, got, want)
		}
	}
}
