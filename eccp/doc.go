// Package eccp serves Issabel's ECCP (Elastix/Issabel CallCenter
// Protocol), so that an agent console or a dialer written for Issabel's
// dialerd works against this PBX unchanged: XML documents over TCP
// (port 20005), one <response> per <request>, and asynchronous <event>s.
//
// It is a control plane (floor 4): it translates requests into calls on
// the contact center (package queue), the campaigns (package campaign)
// and the engine, and their events into ECCP events. The bytes on the
// wire follow dialerd's, as the notes in shared/specs record them; where
// dialerd never kept a promise of the protocol (an authorized-IP list, a
// session inactivity timeout), this server keeps it.
//
// Agents are named as Issabel names them: a static agent (one with a
// PIN, who logs in on a line) is Agent/ID, a dynamic member (rung at its
// contact) is SIP/ID. An agent's login belongs to the agent, not to the
// TCP connection that asked for it.
package eccp
