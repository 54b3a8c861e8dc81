// Package server assembles the PBX from its configuration: the store, the
// SIP stack and registrar, the media engine, the call engine and the HTTP
// endpoints, in that order, and takes them down in reverse with a drain.
//
// It is the top floor: it may import every package; none imports it except
// cmd/pbx and the end-to-end tests.
package server
