package agentrpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"pbx/dialog"
)

// parseFrame reads requests and responses, keys in any case, and refuses
// what is not a JSON object of the protocol or whose code is out of range.
func TestWireParseFrame(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
		want frame
		resp bool
		bad  bool // errMalformed
	}{
		{name: "request", in: `{"id":"1","did":"leg-1","op":"play","data":{"uri":"file://welcome.wav"}}`,
			want: frame{ID: "1", DID: "leg-1", Op: "play", Data: json.RawMessage(`{"uri":"file://welcome.wav"}`)}},
		{name: "request without data", in: `{"id":"2","did":"last","op":"answer"}`,
			want: frame{ID: "2", DID: "last", Op: "answer"}},
		{name: "null data", in: `{"id":"3","did":"d","op":"hangup","data":null}`,
			want: frame{ID: "3", DID: "d", Op: "hangup", Data: json.RawMessage(`null`)}},
		{name: "response", in: `{"id":"abc","did":"d","code":200,"reason":"OK","data":null}`,
			want: frame{ID: "abc", DID: "d", Code: 200, Reason: "OK", Data: json.RawMessage(`null`)}, resp: true},
		{name: "provisional", in: `{"id":"abc","did":"d","code":100,"reason":"Trying"}`,
			want: frame{ID: "abc", DID: "d", Code: 100, Reason: "Trying"}, resp: true},
		{name: "older SDK's capitalised keys", in: `{"ID":"x","DID":"d7","Code":486,"Reason":"Busy Here"}`,
			want: frame{ID: "x", DID: "d7", Code: 486, Reason: "Busy Here"}, resp: true},
		{name: "upper case keys", in: `{"ID":"y","DID":"d8","OP":"ring","DATA":{}}`,
			want: frame{ID: "y", DID: "d8", Op: "ring", Data: json.RawMessage(`{}`)}},
		{name: "unknown keys ignored", in: `{"id":"z","did":"d","op":"ring","extra":[1,2,{"a":null}]}`,
			want: frame{ID: "z", DID: "d", Op: "ring"}},
		{name: "whitespace", in: " \n\t{ \"id\" : \"w\" , \"op\" : \"echo\" }\r\n",
			want: frame{ID: "w", Op: "echo"}},
		{name: "unicode escapes", in: `{"id":"\u00e9\u4e2d","did":"\ud83d\ude00","op":"ring"}`,
			want: frame{ID: "é中", DID: "😀", Op: "ring"}},
		{name: "code 0 is a request", in: `{"id":"c0","did":"d","op":"ring","code":0}`,
			want: frame{ID: "c0", DID: "d", Op: "ring"}},
		{name: "highest code", in: `{"id":"c","code":699}`, want: frame{ID: "c", Code: 699}, resp: true},
		{name: "empty object", in: `{}`, want: frame{}},
		{name: "null", in: `null`, want: frame{}},
		{name: "code 700", in: `{"id":"c","code":700}`, bad: true},
		{name: "negative code", in: `{"id":"c","code":-1}`, bad: true},
		{name: "huge code", in: `{"id":"c","code":99999999999999999999}`, bad: true},
		{name: "exponent code", in: `{"id":"c","code":1e400}`, bad: true},
		{name: "fractional code", in: `{"id":"c","code":200.5}`, bad: true},
		{name: "string code", in: `{"id":"c","code":"200"}`, bad: true},
		{name: "numeric id", in: `{"id":5,"did":"d","op":"ring"}`, bad: true},
		{name: "object did", in: `{"id":"5","did":{},"op":"ring"}`, bad: true},
		{name: "array", in: `[{"id":"1"}]`, bad: true},
		{name: "string", in: `"hello"`, bad: true},
		{name: "number", in: `42`, bad: true},
		{name: "not JSON", in: `hello`, bad: true},
		{name: "empty", in: ``, bad: true},
		{name: "truncated", in: `{"id":"1","did":"d","op":"pla`, bad: true},
		{name: "trailing garbage", in: `{"id":"1"}x`, bad: true},
		{name: "two objects", in: `{"id":"1"}{"id":"2"}`, bad: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := parseFrame([]byte(c.in))
			if c.bad {
				if !errors.Is(err, errMalformed) {
					t.Fatalf("parseFrame(%s) = %+v, %v; want errMalformed", c.in, f, err)
				}
				if !strings.HasPrefix(err.Error(), "malformed frame: ") {
					t.Errorf("error %q: want it to say malformed frame", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFrame(%s): %v", c.in, err)
			}
			if f.ID != c.want.ID || f.DID != c.want.DID || f.Op != c.want.Op || f.Code != c.want.Code ||
				f.Reason != c.want.Reason || string(f.Data) != string(c.want.Data) {
				t.Errorf("parseFrame(%s) = %+v (data %s), want %+v (data %s)", c.in, f, f.Data, c.want, c.want.Data)
			}
			if f.isResponse() != c.resp {
				t.Errorf("isResponse = %v, want %v", f.isResponse(), c.resp)
			}
		})
	}
}

// Every code from 0 to 699 is read; 1 to 699 make a response.
func TestWireCodeRange(t *testing.T) {
	for code := -2; code <= 701; code++ {
		f, err := parseFrame(fmt.Appendf(nil, `{"id":"i","code":%d}`, code))
		switch {
		case code < 0 || code > 699:
			if !errors.Is(err, errMalformed) {
				t.Errorf("code %d: %+v, %v; want errMalformed", code, f, err)
			}
		case err != nil:
			t.Errorf("code %d: %v", code, err)
		case f.Code != code || f.isResponse() != (code > 0):
			t.Errorf("code %d: read %d, response %v", code, f.Code, f.isResponse())
		}
	}
}

// decodeArgs keeps the defaults when data is absent or null, fills what
// is given, and refuses data of the wrong shape.
func TestWireDecodeArgs(t *testing.T) {
	type dtmfArgs struct {
		Duration    float64 `json:"duration_sec"`
		Termination string  `json:"termination"`
	}
	def := dtmfArgs{Duration: 7, Termination: "#"}
	for _, c := range []struct {
		name string
		data string
		nil_ bool // data is a nil RawMessage
		want dtmfArgs
		bad  bool
	}{
		{name: "absent", nil_: true, want: def},
		{name: "empty", data: "", want: def},
		{name: "null", data: "null", want: def},
		{name: "spaced null", data: " null ", want: def},
		{name: "empty object", data: "{}", want: def},
		{name: "partial", data: `{"duration_sec":2.5}`, want: dtmfArgs{2.5, "#"}},
		{name: "all", data: `{"duration_sec":3,"termination":"*"}`, want: dtmfArgs{3, "*"}},
		{name: "case-insensitive keys", data: `{"Duration_Sec":4,"TERMINATION":"1"}`, want: dtmfArgs{4, "1"}},
		{name: "unknown keys", data: `{"foo":{"bar":[1]},"termination":"2"}`, want: dtmfArgs{7, "2"}},
		{name: "explicit null field", data: `{"termination":null}`, want: def},
		{name: "string duration", data: `{"duration_sec":"5"}`, bad: true},
		{name: "number termination", data: `{"termination":5}`, bad: true},
		{name: "array", data: `[1,2]`, bad: true},
		{name: "string", data: `"uri"`, bad: true},
		{name: "number", data: `5`, bad: true},
		{name: "true", data: `true`, bad: true},
		{name: "huge number", data: `{"duration_sec":1e400}`, bad: true},
		{name: "truncated", data: `{"duration_sec":`, bad: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var data json.RawMessage
			if !c.nil_ {
				data = json.RawMessage(c.data)
			}
			got := def
			err := decodeArgs(data, &got)
			if c.bad {
				if !errors.Is(err, errMalformed) || !strings.HasPrefix(err.Error(), "malformed frame: data: ") {
					t.Fatalf("decodeArgs(%s) = %+v, %v; want a malformed data error", c.data, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("decodeArgs(%s): %v", c.data, err)
			}
			if got != c.want {
				t.Errorf("decodeArgs(%s) = %+v, want %+v", c.data, got, c.want)
			}
		})
	}
}

// The PBX's requests go out with the keys id, did, op, data in that order,
// data null when there is none.
func TestWireRequestEncoding(t *testing.T) {
	enc := func(data any) json.RawMessage { b, _ := json.Marshal(data); return b }
	for _, c := range []struct {
		name string
		req  request
		want string
	}{
		{"invite", request{ID: "0123456789abcdef0123456789abcdef", DID: "leg-1", Op: "invite",
			Data: enc(inviteData{CallID: "abc@127.0.0.1", From: "1001", To: "6000"})},
			`{"id":"0123456789abcdef0123456789abcdef","did":"leg-1","op":"invite","data":{"callID":"abc@127.0.0.1","from":"1001","to":"6000"}}`},
		{"bye", request{ID: "i2", DID: "leg-1", Op: "bye", Data: enc(nil)},
			`{"id":"i2","did":"leg-1","op":"bye","data":null}`},
		{"nil data", request{ID: "i3", DID: "d", Op: "bye"},
			`{"id":"i3","did":"d","op":"bye","data":null}`},
		{"escaping", request{ID: "\"<&>\"", DID: "d\n", Op: "invite", Data: enc(inviteData{From: "é"})},
			`{"id":"\"\u003c\u0026\u003e\"","did":"d\n","op":"invite","data":{"callID":"","from":"é","to":""}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := json.Marshal(c.req)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != c.want {
				t.Errorf("got  %s\nwant %s", b, c.want)
			}
		})
	}
}

// Responses go out with the keys id, did, code, reason, data in that
// order; data is null or an object.
func TestWireResponseEncoding(t *testing.T) {
	for _, c := range []struct {
		name string
		id   string
		did  string
		st   *status
		want string
	}{
		{"ok", "1", "leg-1", &status{code: codeOK, reason: "OK"},
			`{"id":"1","did":"leg-1","code":200,"reason":"OK","data":null}`},
		{"provisional", "2", "leg-1", &status{code: 183, reason: "Playback In Progress"},
			`{"id":"2","did":"leg-1","code":183,"reason":"Playback In Progress","data":null}`},
		{"dtmf", "3", "leg-1", &status{code: codeOK, reason: "OK", data: map[string]string{"dtmf": "12#"}},
			`{"id":"3","did":"leg-1","code":200,"reason":"OK","data":{"dtmf":"12#"}}`},
		{"listen", "4", "leg-1", &status{code: codeOK, reason: "OK", data: map[string]any{"size": 16000, "duration_sec": 1.0}},
			`{"id":"4","did":"leg-1","code":200,"reason":"OK","data":{"duration_sec":1,"size":16000}}`},
		{"bad request with detail", "", "", badRequest("malformed frame: x"),
			`{"id":"","did":"","code":400,"reason":"Bad Request","data":{"error":"malformed frame: x"}}`},
		{"fail without detail", "5", "d", fail(codeBad, "call not answered", ""),
			`{"id":"5","did":"d","code":400,"reason":"call not answered","data":null}`},
		{"unknown op", "6", "d", fail(codeInternal, "Internal Server Error", `unknown op "dance"`),
			`{"id":"6","did":"d","code":500,"reason":"Internal Server Error","data":{"error":"unknown op \"dance\""}}`},
		{"no dialog", "7", "nope", &status{code: codeNoDialog, reason: "Dialog Does Not Exist"},
			`{"id":"7","did":"nope","code":404,"reason":"Dialog Does Not Exist","data":null}`},
		{"too many", "8", "d", &status{code: codeTooMany, reason: "Too Many Requests"},
			`{"id":"8","did":"d","code":429,"reason":"Too Many Requests","data":null}`},
		{"gone", "9", "d", statusGone, `{"id":"9","did":"d","code":487,"reason":"Request terminated","data":null}`},
		{"cancelled", "10", "d", statusCancelled, `{"id":"10","did":"d","code":499,"reason":"Client Closed Request","data":null}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			// As conn.reply builds it.
			b, err := json.Marshal(response{ID: c.id, DID: c.did, Code: c.st.code, Reason: c.st.reason, Data: c.st.data})
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != c.want {
				t.Errorf("got  %s\nwant %s", b, c.want)
			}
			// What the PBX writes, the PBX reads back as a response.
			f, err := parseFrame(b)
			if err != nil || !f.isResponse() || f.ID != c.id || f.DID != c.did || f.Code != c.st.code || f.Reason != c.st.reason {
				t.Errorf("read back as %+v, %v", f, err)
			}
		})
	}
}

func TestWireStatus(t *testing.T) {
	if got := (&status{code: 429, reason: "Too Many Requests"}).Error(); got != "429 Too Many Requests" {
		t.Errorf("Error() = %q", got)
	}
	if st := fail(codeBad, "x", ""); st.data != nil {
		t.Errorf("fail without detail has data %v: want nil, written as null", st.data)
	}
	for _, c := range []struct {
		err    error
		code   int
		reason string
	}{
		{&status{code: 400, reason: "call not answered"}, 400, "call not answered"},
		{fmt.Errorf("wrapped: %w", &status{code: 404, reason: "Dialog Does Not Exist"}), 404, "Dialog Does Not Exist"},
		{fmt.Errorf("leg x: %w", dialog.ErrNotFound), codeGone, "Request terminated"},
		{fmt.Errorf("leg x: %w", dialog.ErrInvalidState), codeBad, "Bad Request"},
		{fmt.Errorf("x: %w", dialog.ErrBadTarget), codeBad, "Bad Request"},
		{fmt.Errorf("x: %w", dialog.ErrBusy), codeBad, "Bad Request"},
		{errors.New("disk on fire"), codeInternal, "Internal Server Error"},
	} {
		st := statusOf(c.err)
		if st.code != c.code || st.reason != c.reason {
			t.Errorf("statusOf(%v) = %d %s, want %d %s", c.err, st.code, st.reason, c.code, c.reason)
		}
	}
}

// duration_sec: absent or 0 is the default, negative, NaN or above the
// limit is refused.
func TestWireDuration(t *testing.T) {
	for _, c := range []struct {
		sec  float64
		most time.Duration
		want time.Duration
		bad  bool
	}{
		{0, maxListen, defaultDuration, false},
		{1.5, maxListen, 1500 * time.Millisecond, false},
		{30, maxListen, 30 * time.Second, false},
		{30.001, maxListen, 0, true},
		{31, maxListen, 0, true},
		{-1, maxListen, 0, true},
		{math.NaN(), maxListen, 0, true},
		{math.Inf(1), maxListen, 0, true},
		{math.Inf(-1), maxListen, 0, true},
		{1e300, maxReadDTMF, 0, true},
		{3600, maxReadDTMF, time.Hour, false},
	} {
		got, err := duration(c.sec, c.most)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("duration(%v, %v) = %v, %v; want %v, error %v", c.sec, c.most, got, err, c.want, c.bad)
		}
	}
}
