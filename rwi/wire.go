package rwi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"pbx/dialog"
)

// Version is the protocol version written in every frame.
const Version = "1.0"

// Error codes: stable machine words a client switches on.
const (
	CodeParse         = "parse_error"
	CodeUnknownAction = "unknown_action"
	CodeInvalidParams = "invalid_params"
	CodeCallNotFound  = "call_not_found"
	CodeNotFound      = "not_found" // a queue or an agent the contact center does not have
	CodeInvalidState  = "invalid_state"
	CodeAlreadyOwned  = "already_owned"
	CodeForbidden     = "forbidden"
	CodeRateLimited   = "rate_limited"
	CodeInternal      = "internal"
)

// Error is the error object of a failed request.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func fail(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// engineError maps an engine error to its RWI code.
func engineError(err error) *Error {
	var re *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re):
		return re
	case errors.Is(err, dialog.ErrOwned):
		return fail(CodeAlreadyOwned, "%v", err)
	case errors.Is(err, dialog.ErrNotFound):
		return fail(CodeCallNotFound, "%v", err)
	case errors.Is(err, dialog.ErrBadTarget):
		return fail(CodeInvalidParams, "%v", err)
	case errors.Is(err, dialog.ErrInvalidState), errors.Is(err, dialog.ErrTransfer), errors.Is(err, dialog.ErrNoRecordings):
		return fail(CodeInvalidState, "%v", err)
	case errors.Is(err, dialog.ErrBusy):
		return fail(CodeRateLimited, "the PBX is at capacity: %v", err)
	}
	return fail(CodeInternal, "%v", err)
}

// request is a client's frame.
type request struct {
	RWI      string          `json:"rwi"`
	ActionID string          `json:"action_id"`
	Action   string          `json:"action"`
	Params   json.RawMessage `json:"params"`
}

// response answers one request.
type response struct {
	RWI      string `json:"rwi"`
	ActionID string `json:"action_id,omitempty"`
	Response string `json:"response"`
	Data     any    `json:"data,omitempty"`
	Error    *Error `json:"error,omitempty"`
}

// eventFrame reports one change to a session.
type eventFrame struct {
	RWI       string `json:"rwi"`
	Event     string `json:"event"`
	CallID    string `json:"call_id,omitempty"`
	Seq       uint64 `json:"seq"`
	Timestamp string `json:"timestamp"`
	Context   string `json:"context,omitempty"`
	Data      any    `json:"data"`
}

// parseRequest reads a frame. When it fails, the action_id is still
// returned if the frame was a JSON object carrying one, so the error can
// be matched to the request.
func parseRequest(frame []byte) (request, *Error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(frame, &fields); err != nil {
		return request{}, fail(CodeParse, "not a JSON object: %v", err)
	}
	var r request
	if raw, ok := fields["action_id"]; ok {
		if err := json.Unmarshal(raw, &r.ActionID); err != nil {
			return request{}, fail(CodeParse, "action_id: want a string")
		}
	}
	d := json.NewDecoder(bytes.NewReader(frame))
	d.DisallowUnknownFields()
	if err := d.Decode(&r); err != nil {
		return request{ActionID: r.ActionID}, fail(CodeParse, "%v", err)
	}
	if d.More() {
		return request{ActionID: r.ActionID}, fail(CodeParse, "one JSON object per frame")
	}
	switch {
	case r.RWI != "" && r.RWI != Version:
		return r, fail(CodeParse, "rwi %q: this server speaks %s", r.RWI, Version)
	case r.Action == "":
		return r, fail(CodeParse, "action is required")
	}
	return r, nil
}

// decodeParams reads a request's params into p, strictly: a field p does
// not have, or a value of the wrong type, is invalid_params.
func decodeParams(raw json.RawMessage, p any) *Error {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		raw = []byte("{}")
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(p); err != nil {
		return fail(CodeInvalidParams, "params: %v", err)
	}
	if d.More() {
		return fail(CodeInvalidParams, "params: trailing data")
	}
	return nil
}

func encodeResponse(actionID string, data any, e *Error) []byte {
	r := response{RWI: Version, ActionID: actionID, Response: "success", Data: data}
	if e != nil {
		r.Response, r.Data, r.Error = "error", nil, e
	} else if data == nil {
		r.Data = struct{}{}
	}
	b, err := json.Marshal(r)
	if err != nil {
		b, _ = json.Marshal(response{RWI: Version, ActionID: actionID, Response: "error", Error: fail(CodeInternal, "encode response: %v", err)})
	}
	return b
}

func encodeEvent(name, callID, context string, seq uint64, at time.Time, data any) []byte {
	if data == nil {
		data = struct{}{}
	}
	b, _ := json.Marshal(eventFrame{
		RWI: Version, Event: name, CallID: callID, Seq: seq,
		Timestamp: at.UTC().Format("2006-01-02T15:04:05.000Z07:00"), Context: context, Data: data,
	})
	return b
}
