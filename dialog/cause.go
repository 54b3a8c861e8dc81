package dialog

// Cause is why a call or leg ended. One table maps each cause to what every
// surface reports: the SIP status sent to the caller, and the disposition
// written in the call record.
type Cause int

// Hangup causes.
const (
	CauseNormal        Cause = iota // someone hung up after answer
	CauseBusy                       // the callee was busy
	CauseNoAnswer                   // nobody answered before the ring timeout
	CauseUnavailable                // the callee is not registered or unreachable
	CauseNotFound                   // no rule or no such extension
	CauseDeclined                   // the callee declined
	CauseCancelled                  // the caller gave up while it rang
	CauseForbidden                  // the caller may not reach that target
	CauseCongestion                 // every route failed (5xx, transport error)
	CauseMediaTimeout               // RTP stopped flowing
	CauseShutdown                   // the PBX is draining or stopping
	CauseCodecMismatch              // no codec in common
	CauseSessionTimer               // RFC 4028 refresh missing
)

type causeInfo struct {
	name        string
	sipCode     int
	reason      string
	disposition string
}

var causes = map[Cause]causeInfo{
	CauseNormal:        {"normal_clearing", 200, "OK", "ANSWERED"},
	CauseBusy:          {"user_busy", 486, "Busy Here", "BUSY"},
	CauseNoAnswer:      {"no_answer", 480, "Temporarily Unavailable", "NO ANSWER"},
	CauseUnavailable:   {"unavailable", 480, "Temporarily Unavailable", "FAILED"},
	CauseNotFound:      {"not_found", 404, "Not Found", "FAILED"},
	CauseDeclined:      {"call_rejected", 603, "Decline", "FAILED"},
	CauseCancelled:     {"originator_cancel", 487, "Request Terminated", "CANCELLED"},
	CauseForbidden:     {"forbidden", 403, "Forbidden", "FAILED"},
	CauseCongestion:    {"congestion", 503, "Service Unavailable", "FAILED"},
	CauseMediaTimeout:  {"media_timeout", 408, "Request Timeout", "ANSWERED"},
	CauseShutdown:      {"system_shutdown", 503, "Service Unavailable", "FAILED"},
	CauseCodecMismatch: {"incompatible_destination", 488, "Not Acceptable Here", "FAILED"},
	CauseSessionTimer:  {"session_timer_expired", 408, "Request Timeout", "ANSWERED"},
}

func (c Cause) String() string { return causes[c].name }

// SIP is the status code and reason phrase sent to a caller whose call ends
// with this cause before answer.
func (c Cause) SIP() (int, string) { i := causes[c]; return i.sipCode, i.reason }

// Disposition is the call-record disposition of a call that ended this way.
func (c Cause) Disposition() string { return causes[c].disposition }

// causeFromSIP maps a final failure response of a callee to a cause.
func causeFromSIP(code int) Cause {
	switch {
	case code == 486 || code == 600:
		return CauseBusy
	case code == 404 || code == 604:
		return CauseNotFound
	case code == 603:
		return CauseDeclined
	case code == 408 || code == 480:
		return CauseNoAnswer
	case code == 487:
		return CauseCancelled
	case code == 488 || code == 606:
		return CauseCodecMismatch
	case code == 403:
		return CauseForbidden
	case code >= 500:
		return CauseCongestion
	default:
		return CauseUnavailable
	}
}

// reasonPhrase is the usual reason phrase of a failure status the PBX
// sends.
func reasonPhrase(code int) string {
	for _, i := range causes {
		if i.sipCode == code {
			return i.reason
		}
	}
	switch code {
	case 486:
		return "Busy Here"
	case 603:
		return "Decline"
	case 480:
		return "Temporarily Unavailable"
	}
	switch {
	case code >= 600:
		return "Global Failure"
	case code >= 500:
		return "Server Error"
	}
	return "Request Failed"
}
