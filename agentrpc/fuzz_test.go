package agentrpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzFrame feeds arbitrary text frames to parseFrame and, when one
// parses, its data to decodeArgs with the argument shape of every op: no
// input may panic. A failure is always errMalformed; a parsed code is in
// range; what parses survives being written back as a response; and the
// durations read go through duration without panicking.
func FuzzFrame(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := parseFrame(b)
		if err != nil {
			if !errors.Is(err, errMalformed) {
				t.Fatalf("error %v is not errMalformed", err)
			}
			return
		}
		if fr.Code < 0 || fr.Code > 699 {
			t.Fatalf("code %d parsed", fr.Code)
		}
		if fr.isResponse() != (fr.Code > 0) {
			t.Fatalf("isResponse %v with code %d", fr.isResponse(), fr.Code)
		}
		// The PBX echoes id and did in its answers: they must encode, and
		// read back the same.
		out, err := json.Marshal(response{ID: fr.ID, DID: fr.DID, Code: 400, Reason: "Bad Request", Data: map[string]string{"error": fr.Op}})
		if err != nil {
			t.Fatalf("encode answer: %v", err)
		}
		back, err := parseFrame(out)
		if err != nil || back.ID != fr.ID || back.DID != fr.DID || back.Code != 400 {
			t.Fatalf("answer %s read back as %+v, %v", out, back, err)
		}
		for _, args := range fuzzArgShapes() {
			if err := decodeArgs(fr.Data, args); err != nil && !errors.Is(err, errMalformed) {
				t.Fatalf("decodeArgs into %T: %v is not errMalformed", args, err)
			}
		}
		var dtmf readDTMFArgs
		if decodeArgs(fr.Data, &dtmf) == nil {
			duration(dtmf.Duration, maxReadDTMF)
		}
		var listen listenArgs
		if decodeArgs(fr.Data, &listen) == nil {
			duration(listen.Duration, maxListen)
		}
	})
}

// fuzzArgShapes are the data of every request, with their defaults.
func fuzzArgShapes() []any {
	return []any{
		&playArgs{}, &readDTMFArgs{Duration: 10}, &listenArgs{Duration: 10},
		&redirectArgs{}, &inviteData{}, &map[string]any{},
	}
}

var updateFrameSeeds = flag.Bool("update-seeds", false, "rewrite the FuzzFrame seed corpus in testdata")

// frameSeed is one checked-in seed of FuzzFrame; ok says whether
// parseFrame reads it.
type frameSeed struct {
	name string
	data string
	ok   bool
}

func frameSeeds() []frameSeed {
	return []frameSeed{
		{"ring", `{"id":"1","did":"leg-1","op":"ring"}`, true},
		{"answer", `{"id":"2","did":"leg-1","op":"answer","data":null}`, true},
		{"play_file", `{"id":"3","did":"leg-1","op":"play","data":{"uri":"file://welcome.wav"}}`, true},
		{"play_http", `{"id":"4","did":"last","op":"play","data":{"uri":"https://example.com/a.wav"}}`, true},
		{"read_dtmf", `{"id":"5","did":"leg-1","op":"read_dtmf","data":{"duration_sec":5,"termination":"#"}}`, true},
		{"listen", `{"id":"6","did":"leg-1","op":"listen","data":{"duration_sec":1.5,"audio_format":"wav"}}`, true},
		{"echo", `{"id":"7","did":"leg-1","op":"echo","data":{}}`, true},
		{"hangup", `{"id":"8","did":"leg-1","op":"hangup"}`, true},
		{"redirect", `{"id":"9","did":"leg-1","op":"redirect","data":{"endpoint":"queue:support"}}`, true},
		{"request_cancel", `{"id":"5","did":"leg-1","op":":requestCancel"}`, true},
		{"response_ok", `{"id":"0123456789abcdef0123456789abcdef","did":"leg-1","code":200,"reason":"OK","data":null}`, true},
		{"response_reject", `{"id":"0123456789abcdef","did":"leg-1","code":486,"reason":"Busy Here"}`, true},
		{"response_capitalised", `{"ID":"a","DID":"leg-1","Code":100,"Reason":"Trying"}`, true},
		{"unknown_op", `{"id":"10","did":"leg-1","op":"dance","data":[1,"two",{"three":null}]}`, true},
		{"bad_payload", `{"id":"11","did":"leg-1","op":"play","data":{"uri":5}}`, true},
		{"empty_object", `{}`, true},
		{"null", `null`, true},
		{"huge_duration", `{"id":"12","did":"d","op":"read_dtmf","data":{"duration_sec":1e300}}`, true},
		{"huge_code", `{"id":"13","code":99999999999999999999999}`, false},
		{"overflow_float", `{"id":"14","did":"d","op":"listen","data":{"duration_sec":1e999}}`, true},
		{"code_700", `{"id":"15","code":700}`, false},
		{"negative_code", `{"id":"16","code":-200}`, false},
		{"fractional_code", `{"id":"17","code":200.5}`, false},
		{"not_json", `hello`, false},
		{"array", `[{"id":"1","op":"ring"}]`, false},
		{"truncated", `{"id":"18","did":"d","op":"play","data":{"uri":"file://`, false},
		{"nested_junk", strings.Repeat(`{"data":[`, 40) + strings.Repeat(`}]`, 40), false},
		{"deep_data", `{"id":"19","did":"d","op":"play","data":` + strings.Repeat(`[`, 200) + strings.Repeat(`]`, 200) + `}`, true},
		{"invalid_utf8", "{\"id\":\"\xff\xfe\",\"did\":\"\xc3\",\"op\":\"ring\"}", true},
		{"escapes", `{"id":"\u0000\ud800","did":"\\\"","op":"\u0072ing"}`, true},
		{"binary", "\x01\x00\x00\x00\x02id\x00\x01\x02\x03", false},
	}
}

// The seed corpus in testdata is what frameSeeds describes, and each seed
// parses, or fails to, as it says. Run with -update-seeds to rewrite it.
func TestFrameSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzFrame")
	if *updateFrameSeeds {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range frameSeeds() {
		path := filepath.Join(dir, s.name)
		enc := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(s.data))
		if *updateFrameSeeds {
			if err := os.WriteFile(path, []byte(enc), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update-seeds)", err)
		}
		if !bytes.Equal(got, []byte(enc)) {
			t.Errorf("%s is stale (run with -update-seeds)", path)
		}
		if _, err := parseFrame([]byte(s.data)); (err == nil) != s.ok {
			t.Errorf("%s: parseFrame error %v, want ok=%v", s.name, err, s.ok)
		}
	}
}
