// Package web is the PBX's HTTP surface: the listener, /healthz, /metrics,
// the loopback-only admin API (/api/cdr, /api/cdr/export, /api/bans,
// /api/registrations, the contact center's /api/queues, /api/agents and
// /api/queue_log, /debug/pprof) and the recordings mount. The /metrics
// handler is handed in (metrics.Metrics.Handler), so web does not import
// metrics.
//
// It sits on floor 4 beside the control planes: it reads dialog, sip,
// store, recordings and queue (through the ContactCenter interface and
// queue.ReadQlog) by their exported API and must never import node,
// cmd/pbx, metrics or another control plane.
package web
