// Package rwi is the RWI control plane: rustpbx's call-control protocol,
// JSON over WebSocket at /rwi/v1 on the PBX's HTTP listener.
//
// It translates requests into engine calls and engine events into RWI
// events, and keeps nothing of a call's state but who owns it and who
// listens: a session owns the legs it originated or claimed, names them
// with the call_id it chose, and hears their events, numbered so that it
// can resume after a reconnect. The dial-plan target rwi:CONTEXT offers a
// call to the sessions subscribed to CONTEXT; the first to claim it owns
// it, and a call nobody claims goes to the configured fallback.
//
// What rustpbx leaves out is enforced here: token scopes and source
// addresses, ownership of every leg a command names, limits per token and
// per session, machine-readable error codes, and one response per request
// in order.
package rwi
