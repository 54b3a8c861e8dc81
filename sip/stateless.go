package sip

import (
	"errors"
	"slices"
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"
)

// RespondStateless sends res on tx and ends the transaction at once, as
// RFC 3261 §8.2.7 lets a UAS do for a request it answers without keeping
// any state: a challenge, a refusal of an unknown or malformed request, a
// 503 for overload. The alternative, sipgo's default, keeps the
// transaction for 32 s on UDP (Timer J, or Timer H with up to ten
// retransmissions of the answer for an INVITE), and a flood of such
// requests then holds every one of them in memory and makes the PBX
// retransmit to forged sources. A retransmission of the request is simply
// answered again.
//
// Use it only for answers after which nothing was set up: an answer that
// commits the PBX to something (a 200 to REGISTER, any answer to an INVITE
// that reached a call) must stay in its transaction, so that a
// retransmitted request gets the same answer instead of being handled
// twice.
func RespondStateless(tx sipmsg.ServerTransaction, res *sipmsg.Response) error {
	err := tx.Respond(res)
	tx.Terminate()
	return err
}

// TooLargeForUDP reports whether err is sipgo refusing to send a message
// bigger than fits a UDP datagram. For an answer to a request a sender
// made as large as it liked, that is the sender's problem, not an error of
// the PBX: log it at debug level.
func TooLargeForUDP(err error) bool { return errors.Is(err, sipmsg.ErrUDPMTUCongestion) }

// sipMethods are the request methods of RFC 3261 and its extensions that
// the PBX recognises even when it serves none of them: a request with one
// of these gets 405 with Allow; any other method gets 501.
var sipMethods = map[string]bool{
	"INVITE": true, "ACK": true, "CANCEL": true, "BYE": true, "REGISTER": true,
	"OPTIONS": true, "SUBSCRIBE": true, "NOTIFY": true, "REFER": true, "INFO": true,
	"MESSAGE": true, "PRACK": true, "UPDATE": true, "PUBLISH": true,
}

// noRoute answers a request no handler serves, in place of sipgo's
// default (which logs a warning per request and keeps the transaction):
// 405 Method Not Allowed with Allow for a SIP method the PBX does not
// serve, 501 Not Implemented for a method it does not know, nothing for an
// ACK (an ACK is never answered). The answer is stateless and the event is
// a debug line, limited: anyone can send any method.
func (s *Stack) noRoute(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if req.IsAck() {
		return
	}
	method := req.Method.String()
	var res *sipmsg.Response
	if sipMethods[method] { // sipgo upper-cases the method as it parses
		res = sipmsg.NewResponseFromRequest(req, sipmsg.StatusMethodNotAllowed, "Method Not Allowed", nil)
		res.AppendHeader(sipmsg.NewHeader("Allow", s.allow()))
	} else {
		res = sipmsg.NewResponseFromRequest(req, sipmsg.StatusNotImplemented, "Not Implemented", nil)
	}
	s.peerLog.Debug("sip: method not served", "method", method, "status", res.StatusCode, "source", req.Source())
	if err := RespondStateless(tx, res); err != nil {
		s.peerLog.Debug("sip: answer not sent", "status", res.StatusCode, "too_large_for_udp", TooLargeForUDP(err), "error", err)
	}
}

// allow lists the methods the server has handlers for, for Allow.
func (s *Stack) allow() string {
	m := s.Server.RegisteredMethods()
	slices.Sort(m)
	return strings.Join(m, ", ")
}
