// Package sip is everything of the PBX that is SIP and nothing else: the
// transports, the registrar and location service, digest authentication,
// outbound trunk registration, SDP offer/answer helpers, NAT handling and the
// brute-force guard. It is built on github.com/emiago/sipgo, whose message
// package is imported as sipmsg throughout.
//
// sip must never import media, dialog, queue, store or config: it takes its
// own option structs, and persistence comes in through the KV interface.
package sip
