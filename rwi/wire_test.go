package rwi

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name     string
		frame    string
		action   string
		actionID string
		code     string
	}{
		{"full", `{"rwi":"1.0","action_id":"a1","action":"call.answer","params":{"call_id":"x"}}`, "call.answer", "a1", ""},
		{"no rwi, no id", `{"action":"session.list_calls"}`, "session.list_calls", "", ""},
		{"not json", `{"action":`, "", "", CodeParse},
		{"not an object", `[1,2]`, "", "", CodeParse},
		{"id kept on a bad field", `{"action_id":"a2","action":7}`, "", "a2", CodeParse},
		{"id of the wrong type", `{"action_id":5,"action":"x"}`, "", "", CodeParse},
		{"unknown top-level field", `{"action_id":"a3","action":"x","extra":1}`, "", "a3", CodeParse},
		{"missing action", `{"action_id":"a4"}`, "", "a4", CodeParse},
		{"other version", `{"rwi":"2.0","action":"x"}`, "", "", CodeParse},
		{"two objects", `{"action":"x"}{"action":"y"}`, "", "", CodeParse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parseRequest([]byte(tt.frame))
			if r.ActionID != tt.actionID {
				t.Errorf("action_id %q, want %q", r.ActionID, tt.actionID)
			}
			if tt.code == "" {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if r.Action != tt.action {
					t.Errorf("action %q, want %q", r.Action, tt.action)
				}
				return
			}
			if err == nil || err.Code != tt.code {
				t.Fatalf("error %v, want code %s", err, tt.code)
			}
		})
	}
}

func TestDecodeParams(t *testing.T) {
	type p struct {
		CallID string `json:"call_id"`
		N      int    `json:"n"`
	}
	tests := []struct {
		raw  string
		ok   bool
		want p
	}{
		{``, true, p{}},
		{`null`, true, p{}},
		{`{"call_id":"a","n":2}`, true, p{"a", 2}},
		{`{"call_id":1}`, false, p{}},
		{`{"call_id":"a","other":1}`, false, p{}},
		{`"text"`, false, p{}},
	}
	for _, tt := range tests {
		var got p
		err := decodeParams(json.RawMessage(tt.raw), &got)
		if (err == nil) != tt.ok {
			t.Errorf("%s: error %v", tt.raw, err)
			continue
		}
		if err != nil && err.Code != CodeInvalidParams {
			t.Errorf("%s: code %s", tt.raw, err.Code)
		}
		if tt.ok && got != tt.want {
			t.Errorf("%s: got %+v", tt.raw, got)
		}
	}
}

func TestFrames(t *testing.T) {
	if got := string(encodeResponse("a1", map[string]string{"call_id": "x"}, nil)); got != `{"rwi":"1.0","action_id":"a1","response":"success","data":{"call_id":"x"}}` {
		t.Errorf("success: %s", got)
	}
	if got := string(encodeResponse("", nil, nil)); got != `{"rwi":"1.0","response":"success","data":{}}` {
		t.Errorf("empty success: %s", got)
	}
	if got := string(encodeResponse("a2", nil, fail(CodeCallNotFound, "no call %q", "x"))); got != `{"rwi":"1.0","action_id":"a2","response":"error","error":{"code":"call_not_found","message":"no call \"x\""}}` {
		t.Errorf("error: %s", got)
	}
	at := time.Date(2026, 12, 3, 10, 0, 0, 123e6, time.UTC)
	if got := string(encodeEvent("call.answered", "leg_a", "", 17, at, nil)); got != `{"rwi":"1.0","event":"call.answered","call_id":"leg_a","seq":17,"timestamp":"2026-12-03T10:00:00.123Z","data":{}}` {
		t.Errorf("event: %s", got)
	}
}

// FuzzRequest feeds arbitrary frames to the request parser and to every
// action's params decoding: no input may panic, and every failure is a
// known code.
func FuzzRequest(f *testing.F) {
	for _, s := range []string{
		`{"rwi":"1.0","action_id":"a1","action":"call.originate","params":{"call_id":"leg_a","destination":"sip:1002@local","timeout_secs":30}}`,
		`{"action":"session.subscribe","params":{"contexts":["sales"],"events":["call.incoming"]}}`,
		`{"action":"media.play","params":{"call_id":"x","source":{"type":"file","uri":"welcome.wav"},"loop":true}}`,
		`{"action":"queue.enqueue","params":{"call_id":"leg_a","queue_id":"support_queue","priority":5,"max_wait_secs":300}}`,
		`{"action":"agent.pause","params":{"agent_id":"9001","break":"lunch","reason":"noon"}}`,
		`{"action_id":7}`, `[]`, `null`, `{"action":"x","params":[1]}`, strings.Repeat(`{"a":`, 50),
	} {
		f.Add([]byte(s))
	}
	codes := map[string]bool{CodeParse: true, CodeInvalidParams: true}
	f.Fuzz(func(t *testing.T, frame []byte) {
		r, err := parseRequest(frame)
		if err != nil {
			if !codes[err.Code] {
				t.Fatalf("code %s", err.Code)
			}
			return
		}
		var anyParams map[string]any
		if err := decodeParams(r.Params, &anyParams); err != nil && !codes[err.Code] {
			t.Fatalf("params code %s", err.Code)
		}
		var p subscribeParams
		if err := decodeParams(r.Params, &p); err != nil && !codes[err.Code] {
			t.Fatalf("params code %s", err.Code)
		}
	})
}
