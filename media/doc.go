// Package media is the PBX's RTP and audio layer. It knows RTP and audio
// and nothing of SIP: the pool of UDP ports, endpoints (one RTP/RTCP socket
// pair toward one far end), the relay that bridges two endpoints with each
// outgoing stream kept continuous, G.711 transcoding, RTCP reports and
// RFC 3550 statistics, RFC 4733 telephone-events, and the test-bench audio
// tools: a sine tone generator and a Goertzel tone detector.
//
// Signalling layers hand it addresses and codecs taken from SDP; it hands
// back packets, statistics and an inactivity callback. media must never
// import sip, dialog or any other package of this project: imports point
// down, and media sits on the bottom floor.
package media
