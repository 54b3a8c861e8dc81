// Package dialog is the call model of the PBX: a Leg is one SIP dialog plus
// its media endpoint, a Call joins an incoming leg to the leg it reached, and
// the Engine holds the operations every control plane shares (answer,
// bridge, hold, hangup), the dial plan and the call records.
//
// dialog stands on sip, media, store and config. It must never import a
// control plane, queue or cmd package: those stand on it.
package dialog
