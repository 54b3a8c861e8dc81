// Package node assembles one running PBX node from its configuration: the
// store, the SIP stack and registrar, the media engine, the call engine and
// the HTTP surface, in that order, and takes them down in reverse with a
// drain. cmd/pbx runs one; tests start one in-process.
//
// It also sets the process's memory policy: the collector's target
// (gc.go) and the return of freed memory to the operating system once a
// busy period is over (memory.go).
//
// It is the top floor: it may import every package; none imports it except
// cmd/pbx, internal/testkit and the end-to-end tests.
package node
