// Package media is RTP and audio, and knows nothing of SIP: the RTP port
// pool, endpoints (an RTP/RTCP socket pair toward one far end), the relay
// fast path that joins two endpoints with sequence, timestamp and SSRC
// rewritten, G.711 transcoding, RTCP reports and statistics, tone
// generation and Goertzel detection.
//
// media must never import sip, dialog or any other package of the project.
package media
