// Package web is the PBX's HTTP surface: the listener, /healthz, /metrics,
// the loopback-only admin API (/api/cdr, /api/bans, /api/registrations,
// /debug/pprof) and the recordings mount. The /metrics handler is handed
// in (metrics.Metrics.Handler), so web does not import metrics.
//
// It sits on floor 4 beside the control planes: it reads dialog, sip,
// store and recordings through their exported API and must never import
// node, cmd/pbx, metrics or another control plane.
package web
