// Package metrics is the PBX's Prometheus exposition, on
// github.com/prometheus/client_golang with a registry of its own (never the
// process-wide default, so two nodes in one test process do not mix).
//
// The pbx_* counters and gauges are read from their sources (the call
// engine, the media engine, the location service, the guard) at scrape
// time, so nothing is counted twice and nothing drifts. Two histograms are
// fed from engine events by whoever subscribes to the bus (ObserveEvent):
// pbx_call_setup_seconds and pbx_event_delivery_lag_seconds. The Go runtime
// and process collectors are registered too.
//
// It sits on floor 4, beside web and the control planes: it reads dialog,
// media and sip through their exported API only, and must never import web,
// node, cmd/pbx or a control plane. web mounts its Handler as a plain
// http.Handler, so the two do not import each other.
package metrics
