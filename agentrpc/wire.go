package agentrpc

import (
	"encoding/json"
	"errors"
	"fmt"
)

// request is a transaction's opening frame, in either direction.
type request struct {
	ID   string          `json:"id"`
	DID  string          `json:"did"`
	Op   string          `json:"op"`
	Data json.RawMessage `json:"data"`
}

// response is a transaction's answer: 1xx provisional, 200 and above final.
type response struct {
	ID     string `json:"id"`
	DID    string `json:"did"`
	Code   int    `json:"code"`
	Reason string `json:"reason"`
	Data   any    `json:"data"`
}

// frame is any text frame a bot sends: a request, or a response (code > 0)
// to one of the PBX's. Keys match case-insensitively, as encoding/json
// does, so the older SDK's "DID" and "Code" are read too.
type frame struct {
	ID     string          `json:"id"`
	DID    string          `json:"did"`
	Op     string          `json:"op"`
	Code   int             `json:"code"`
	Reason string          `json:"reason"`
	Data   json.RawMessage `json:"data"`
}

func (f frame) isResponse() bool { return f.Code > 0 }

// errMalformed is a frame that is not a JSON object of the protocol.
var errMalformed = errors.New("malformed frame")

// parseFrame reads one text frame.
func parseFrame(b []byte) (frame, error) {
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		return frame{}, fmt.Errorf("%w: %v", errMalformed, err)
	}
	if f.Code < 0 || f.Code > 699 {
		return frame{}, fmt.Errorf("%w: code %d", errMalformed, f.Code)
	}
	return f, nil
}

// decodeArgs reads a request's data into args, which holds the defaults:
// absent or null data keeps them.
func decodeArgs(data json.RawMessage, args any) error {
	if len(data) == 0 || string(data) == "null" {
		return nil
	}
	if err := json.Unmarshal(data, args); err != nil {
		return fmt.Errorf("%w: data: %v", errMalformed, err)
	}
	return nil
}

// Status codes and the reasons diagox sends with them.
const (
	codeOK        = 200
	codeBad       = 400
	codeNoDialog  = 404
	codeTooMany   = 429
	codeGone      = 487
	codeCancelled = 499
	codeInternal  = 500
)

// status is a final or provisional answer to a bot's request.
type status struct {
	code   int
	reason string
	data   any
}

func (s *status) Error() string { return fmt.Sprintf("%d %s", s.code, s.reason) }

// fail makes an error answer; detail, when set, goes in data.error.
func fail(code int, reason, detail string) *status {
	st := &status{code: code, reason: reason}
	if detail != "" {
		st.data = map[string]string{"error": detail}
	}
	return st
}

var (
	statusGone      = &status{code: codeGone, reason: "Request terminated"}
	statusCancelled = &status{code: codeCancelled, reason: "Client Closed Request"}
)

func badRequest(detail string) *status { return fail(codeBad, "Bad Request", detail) }
