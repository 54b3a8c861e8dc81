// Package dialog is the call engine of the PBX: the model every control
// plane drives. A Leg is one SIP dialog plus its media endpoint, registered
// by id from creation to end; a Bridge joins legs and owns who hears whom;
// a Call only groups the legs one call record covers. The Engine offers
// the typed API (originate, answer, bridge, hold, play, collect digits,
// record, transfer, supervise, hang up), routes new calls through
// registered dial-plan target kinds, and publishes every change on a
// resumable event bus.
//
// dialog stands on sip, media, recordings, prompts, store and config. It
// must never import a control plane, queue, node, web or cmd package:
// those stand on it and register their target kinds with RegisterTarget.
package dialog
