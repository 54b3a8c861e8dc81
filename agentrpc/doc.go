// Package agentrpc is the Agent RPC control plane: diagox's protocol for
// bots that steer calls. A bot connects over WebSocket with
// ?endpoint=NAME; each call the dial plan sends to agentrpc:NAME is
// offered to one of the endpoint's bots as an invite request, and the bot
// drives it with ring, answer, play, read_dtmf, listen, echo, hangup and
// redirect requests, answered with SIP-like status codes (1xx provisional,
// 200 and above final). Many calls share one socket; each call's requests
// run one at a time, in order.
//
// It stands on dialog (legs, prompts, keys, redirects) and config; it
// knows nothing of SIP messages and imports no other control plane.
package agentrpc
