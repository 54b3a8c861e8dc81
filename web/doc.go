// Package web is the PBX's HTTP surface: the listener, /healthz, /metrics,
// the loopback-only admin API (/api/cdr, /api/bans, /api/registrations,
// /debug/pprof) and the recordings mount.
//
// It sits on floor 4 beside the control planes: it reads dialog, sip,
// media, store and recordings through their exported API and must never
// import node, cmd/pbx or another control plane.
package web
