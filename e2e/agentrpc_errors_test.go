package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"pbx/config"
	"pbx/internal/testkit"
)

// Agent RPC error cases end to end: a real PBX, SIP test phones, and bots
// over WebSocket; every refusal is checked to the code, the reason and,
// where the wire is fixed, the bytes.

const (
	aeNumber   = "6100" // -> agentrpc:aebot
	aeNumber2  = "6101" // -> agentrpc:aebot2
	aeFallback = "1003" // both endpoints fall back to extension 1003 (carol)
	aeToken    = "ae-secret-token-42"
	aeWait     = 5 * time.Second
	aeLong     = 20.0 // duration_sec of a read_dtmf that must still be running
)

// aeStart starts a PBX with two agent endpoints, aebot (6100) and aebot2
// (6101), two connections each, falling back to extension 1003, and a uri
// endpoint aeuri that bots cannot serve.
func aeStart(t *testing.T, opts ...testkit.PBXOption) *testkit.PBX {
	t.Helper()
	base := func(c *config.Config) {
		agent := config.Endpoint{Match: config.EndpointMatch{Type: "agent"}, Balance: "random",
			MaxConnections: 2, Fallback: "extension:" + aeFallback}
		c.Endpoints["aebot"] = agent
		c.Endpoints["aebot2"] = agent
		c.Endpoints["aeuri"] = config.Endpoint{URI: "sip:bot@127.0.0.1:5999"}
		c.Dialplan = append([]config.DialplanRule{
			{Name: "ae bot", Match: config.Match{Exact: aeNumber}, Target: "agentrpc:aebot"},
			{Name: "ae bot 2", Match: config.Match{Exact: aeNumber2}, Target: "agentrpc:aebot2"},
		}, c.Dialplan...)
	}
	return testkit.StartPBX(t, "", append([]testkit.PBXOption{base}, opts...)...)
}

// aeBot connects a bot to endpoint.
func aeBot(t *testing.T, p *testkit.PBX, endpoint string) *testkit.AgentBot {
	t.Helper()
	return testkit.DialAgentRPC(t, p.AgentRPCAddr(), endpoint)
}

// aeCall is a call from a phone that a bot has accepted.
type aeCall struct {
	did  string
	done chan struct{} // closed when the phone's Call returns
	call *testkit.PhoneCall
	err  error
}

// aeRing dials number from ph and has bot accept the invite: the call
// rings, under bot's control.
func aeRing(t *testing.T, bot *testkit.AgentBot, ph *testkit.Phone, number string) *aeCall {
	t.Helper()
	c := &aeCall{done: make(chan struct{})}
	ctx := ctxTimeout(t, 15*time.Second)
	go func() {
		defer close(c.done)
		c.call, c.err = ph.Call(ctx, number, testkit.CallOptions{})
	}()
	inv, err := bot.NextInvite(aeWait)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Op != "invite" || inv.To != number || inv.From != ph.User || inv.DID == "" || inv.CallID == "" {
		t.Fatalf("invite %s: want op invite from %s to %s with a did and a callID", inv.Raw, ph.User, number)
	}
	if err := bot.Reply(inv, 200, "OK"); err != nil {
		t.Fatal(err)
	}
	c.did = inv.DID
	return c
}

// aeAnswer has bot answer the call and returns the phone's side.
func aeAnswer(t *testing.T, bot *testkit.AgentBot, c *aeCall) *testkit.PhoneCall {
	t.Helper()
	aeDo(t, bot, c.did, "answer", nil, 200, "OK")
	select {
	case <-c.done:
	case <-time.After(aeWait):
		t.Fatal("the phone's call was not answered")
	}
	if c.err != nil {
		t.Fatalf("call: %v", c.err)
	}
	return c.call
}

// aeConnected places a call from ph to number that bot accepts and answers.
func aeConnected(t *testing.T, bot *testkit.AgentBot, ph *testkit.Phone, number string) (string, *testkit.PhoneCall) {
	t.Helper()
	c := aeRing(t, bot, ph, number)
	return c.did, aeAnswer(t, bot, c)
}

// aeDo sends a request and checks its final answer's code and reason.
func aeDo(t *testing.T, bot *testkit.AgentBot, did, op string, data any, code int, reason string) testkit.AgentResponse {
	t.Helper()
	res, err := bot.Do(did, op, data, aeWait)
	if err != nil {
		t.Fatal(err)
	}
	aeIs(t, res.Final, code, reason)
	return res.Final
}

// aeIs checks a response's code and reason.
func aeIs(t *testing.T, r testkit.AgentResponse, code int, reason string) {
	t.Helper()
	if r.Code != code || r.Reason != reason {
		t.Fatalf("got %s, want %d %q", r.Raw, code, reason)
	}
}

// aeFrame is a response as the PBX writes it: every key, in order.
func aeFrame(id, did string, code int, reason, data string) string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	return fmt.Sprintf(`{"id":%s,"did":%s,"code":%d,"reason":%s,"data":%s}`, q(id), q(did), code, q(reason), data)
}

// aeExact checks a response's bytes.
func aeExact(t *testing.T, r testkit.AgentResponse, want string) {
	t.Helper()
	if string(r.Raw) != want {
		t.Fatalf("got  %s\nwant %s", r.Raw, want)
	}
}

// aeError checks a refusal's code and reason and that data.error says
// something containing detail.
func aeError(t *testing.T, r testkit.AgentResponse, id, did string, code int, reason, detail string) {
	t.Helper()
	if r.ID != id || r.DID != did || r.Code != code || r.Reason != reason || !strings.Contains(r.Str("error"), detail) {
		t.Fatalf("got %s, want id %q did %q %d %q with data.error containing %q", r.Raw, id, did, code, reason, detail)
	}
	var keys []string
	dec := json.NewDecoder(strings.NewReader(string(r.Raw)))
	dec.Token()
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var v json.RawMessage
		dec.Decode(&v)
	}
	if strings.Join(keys, ",") != "id,did,code,reason,data" {
		t.Fatalf("keys %v of %s: want id,did,code,reason,data", keys, r.Raw)
	}
}

// aeReadDTMF starts a long read_dtmf ending on # and waits for its 183.
func aeReadDTMF(t *testing.T, bot *testkit.AgentBot, did string) *testkit.AgentPending {
	t.Helper()
	p := bot.Start(did, "read_dtmf", map[string]any{"duration_sec": aeLong, "termination": "#"})
	prov, err := p.Provisional(aeWait)
	if err != nil {
		t.Fatal(err)
	}
	aeExact(t, prov, aeFrame(p.ID, did, 183, "Read DTMF In Progress", "null"))
	return p
}

// aeFinals reads the bot's text frames in arrival order until the final
// answer to until, and returns the ids of the final answers among them.
func aeFinals(t *testing.T, bot *testkit.AgentBot, until string) []string {
	t.Helper()
	var ids []string
	for {
		raw, err := bot.ReadRaw(aeWait)
		if err != nil {
			t.Fatalf("waiting for the answer to %s: %v", until, err)
		}
		var f struct {
			ID   string
			Code int
		}
		if json.Unmarshal(raw, &f) != nil || f.Code < 200 {
			continue
		}
		ids = append(ids, f.ID)
		if f.ID == until {
			return ids
		}
	}
}

// aeHTTP dials with query and header and checks the refusal's status and
// exact body.
func aeHTTP(t *testing.T, p *testkit.PBX, query string, header http.Header, status int, body string) {
	t.Helper()
	conn, res, err := testkit.DialAgentRPCRaw(p.AgentRPCAddr(), query, header)
	if err == nil {
		conn.Close()
		t.Fatalf("?%s: upgraded, want %d %q", query, status, body)
	}
	if res == nil {
		t.Fatalf("?%s: %v, want an HTTP answer", query, err)
	}
	got, _ := io.ReadAll(res.Body)
	if res.StatusCode != status || string(got) != body {
		t.Fatalf("?%s: %d %q, want %d %q", query, res.StatusCode, got, status, body)
	}
}

// The HTTP answers before the upgrade.
func TestAgentRPCErrHTTP(t *testing.T) {
	p := aeStart(t)
	aeHTTP(t, p, "", nil, 400, "Endpoint parameter required")
	aeHTTP(t, p, "endpoint=", nil, 400, "Endpoint parameter required")
	aeHTTP(t, p, "other=aebot", nil, 400, "Endpoint parameter required")
	aeHTTP(t, p, "endpoint=nope", nil, 404, "No endpoint found")
	aeHTTP(t, p, "endpoint=aeuri", nil, 404, "No endpoint found")

	// Two connections per endpoint: the third is refused, another
	// endpoint's are not counted.
	a := aeBot(t, p, "aebot")
	b := aeBot(t, p, "aebot")
	aeHTTP(t, p, "endpoint=aebot", nil, 400, "Maximum connection of agent reached")
	other := aeBot(t, p, "aebot2")
	// The refused third did not take the place of the two: both still serve.
	for _, bot := range []*testkit.AgentBot{a, b, other} {
		r := aeDo(t, bot, "nope", "answer", nil, 404, "Dialog Does Not Exist")
		aeExact(t, r, aeFrame(r.ID, "nope", 404, "Dialog Does Not Exist", "null"))
	}
	// No token is configured: one sent is not needed, and does no harm.
	aeHTTP(t, p, "endpoint=aebot&token=whatever", nil, 400, "Maximum connection of agent reached")
}

// With agent_rpc.token set, a bot must bring it, in the query or as a
// bearer token.
func TestAgentRPCErrToken(t *testing.T) {
	p := aeStart(t, func(c *config.Config) { c.AgentRPC.Token = aeToken })
	aeHTTP(t, p, "endpoint=aebot", nil, 401, "Unauthorized")
	aeHTTP(t, p, "endpoint=aebot&token=wrong-token-1234", nil, 401, "Unauthorized")
	aeHTTP(t, p, "endpoint=aebot&token="+aeToken+"x", nil, 401, "Unauthorized")
	aeHTTP(t, p, "endpoint=aebot", http.Header{"Authorization": {"Bearer wrong-token-1234"}}, 401, "Unauthorized")
	aeHTTP(t, p, "endpoint=aebot", http.Header{"Authorization": {"Basic " + aeToken}}, 401, "Unauthorized")
	// The token is checked first: an unknown endpoint is not revealed.
	aeHTTP(t, p, "endpoint=nope", nil, 401, "Unauthorized")
	aeHTTP(t, p, "endpoint=nope&token="+aeToken, nil, 404, "No endpoint found")

	byQuery := testkit.DialAgentRPC(t, p.AgentRPCAddr(), "aebot", testkit.AgentToken(aeToken))
	byHeader := testkit.DialAgentRPC(t, p.AgentRPCAddr(), "aebot2", testkit.AgentBearer(aeToken))
	for _, bot := range []*testkit.AgentBot{byQuery, byHeader} {
		aeDo(t, bot, "nope", "answer", nil, 404, "Dialog Does Not Exist")
	}
	// And the connections take calls.
	alice := phone(t, p, "1001")
	c := aeRing(t, byQuery, alice, aeNumber)
	call := aeAnswer(t, byQuery, c)
	if err := call.Hangup(); err != nil {
		t.Fatal(err)
	}
	if _, err := byQuery.WaitBye(c.did, aeWait); err != nil {
		t.Fatal(err)
	}
}

// Before the call is answered, media requests are refused with diagox's
// reasons (whose case differs between ops); the call is unharmed.
func TestAgentRPCErrBeforeAnswer(t *testing.T) {
	p := aeStart(t)
	bot := aeBot(t, p, "aebot")
	alice := phone(t, p, "1001")
	c := aeRing(t, bot, alice, aeNumber)
	for _, x := range []struct {
		op     string
		data   any
		reason string
	}{
		{"play", map[string]string{"uri": "file://welcome.wav"}, "call not answered"},
		{"read_dtmf", map[string]any{"duration_sec": 1, "termination": "#"}, "call not answered"},
		{"read_dtmf", nil, "call not answered"},
		{"listen", map[string]any{"duration_sec": 1}, "Call Not Answered"},
		{"echo", nil, "Call Not Answered"},
		{"listen", map[string]any{"duration_sec": 31}, "Bad Request - Duration Seconds above Max"},
	} {
		r := aeDo(t, bot, c.did, x.op, x.data, 400, x.reason)
		aeExact(t, r, aeFrame(r.ID, c.did, 400, x.reason, "null"))
	}
	aeDo(t, bot, c.did, "ring", nil, 200, "OK")
	call := aeAnswer(t, bot, c)
	r := aeDo(t, bot, c.did, "listen", map[string]any{"duration_sec": 31}, 400, "Bad Request - Duration Seconds above Max")
	aeExact(t, r, aeFrame(r.ID, c.did, 400, "Bad Request - Duration Seconds above Max", "null"))
	// A duration that overflows time.Duration is above the max too.
	aeDo(t, bot, c.did, "listen", map[string]any{"duration_sec": 1e300}, 400, "Bad Request - Duration Seconds above Max")
	aeDo(t, bot, c.did, "play", map[string]string{"uri": "file://welcome.wav"}, 200, "OK")
	aeHangUp(t, bot, c.did, call)
}

// aeHangUp has the bot hang up: 200, then the phone gets the BYE and
// the bot a bye.
func aeHangUp(t *testing.T, bot *testkit.AgentBot, did string, call *testkit.PhoneCall) {
	t.Helper()
	aeDo(t, bot, did, "hangup", nil, 200, "OK")
	if err := call.WaitEnded(aeWait); err != nil {
		t.Fatal(err)
	}
	if _, err := bot.WaitBye(did, aeWait); err != nil {
		t.Fatal(err)
	}
}

// Refusals of single requests on an answered call, each leaving the call
// and the connection usable.
func TestAgentRPCErrRequests(t *testing.T) {
	p := aeStart(t)
	bot := aeBot(t, p, "aebot")
	alice := phone(t, p, "1001")
	did, call := aeConnected(t, bot, alice, aeNumber)
	call.SendTone(toneA)

	// did "last" is the latest call of the connection.
	r := aeDo(t, bot, "last", "answer", nil, 200, "OK")
	aeExact(t, r, aeFrame(r.ID, "last", 200, "OK", "null"))
	aeDo(t, bot, "last", "play", map[string]string{"uri": "file://welcome.wav"}, 200, "OK")

	// Data of the wrong shape.
	for _, data := range []any{map[string]any{"uri": 5}, []int{1}, "file://welcome.wav"} {
		r = aeDo(t, bot, did, "play", data, 400, "Bad Request")
		aeError(t, r, r.ID, did, 400, "Bad Request", "malformed frame: data:")
	}
	r = aeDo(t, bot, did, "read_dtmf", map[string]any{"duration_sec": "5"}, 400, "Bad Request")
	aeError(t, r, r.ID, did, 400, "Bad Request", "duration_sec")
	r = aeDo(t, bot, did, "redirect", map[string]any{"endpoint": []string{"5000"}}, 400, "Bad Request")
	aeError(t, r, r.ID, did, 400, "Bad Request", "malformed frame: data:")

	// Missing did, missing op: answered with the id given.
	if err := bot.Send([]byte(`{"id":"ae-nodid","op":"answer","data":null}`)); err != nil {
		t.Fatal(err)
	}
	r, err := bot.NextResponse(aeWait)
	if err != nil {
		t.Fatal(err)
	}
	aeError(t, r, "ae-nodid", "", 400, "Bad Request", "did is required")
	if err := bot.Send(fmt.Appendf(nil, `{"id":"ae-noop","did":%q}`, did)); err != nil {
		t.Fatal(err)
	}
	if r, err = bot.NextResponse(aeWait); err != nil {
		t.Fatal(err)
	}
	aeError(t, r, "ae-noop", did, 400, "Bad Request", "op is required")

	// Unknown did; unknown op.
	r = aeDo(t, bot, "leg-that-never-was", "play", map[string]string{"uri": "file://welcome.wav"}, 404, "Dialog Does Not Exist")
	aeExact(t, r, aeFrame(r.ID, "leg-that-never-was", 404, "Dialog Does Not Exist", "null"))
	r = aeDo(t, bot, did, "dance", nil, 500, "Internal Server Error")
	aeExact(t, r, aeFrame(r.ID, did, 500, "Internal Server Error", `{"error":"unknown op \"dance\""}`))
	r = aeDo(t, bot, did, "PLAY", map[string]string{"uri": "file://welcome.wav"}, 500, "Internal Server Error")
	aeExact(t, r, aeFrame(r.ID, did, 500, "Internal Server Error", `{"error":"unknown op \"PLAY\""}`))

	// Playback URIs.
	r = aeDo(t, bot, did, "play", map[string]string{"uri": "ftp://x"}, 400, "unknown playback type uri=ftp://x")
	aeExact(t, r, aeFrame(r.ID, did, 400, "unknown playback type uri=ftp://x", "null"))
	r = aeDo(t, bot, did, "play", nil, 400, "unknown playback type uri=")
	aeExact(t, r, aeFrame(r.ID, did, 400, "unknown playback type uri=", "null"))
	res, err := bot.Do(did, "play", map[string]string{"uri": "file://nope.wav"}, aeWait)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Provisional) != 0 {
		t.Errorf("a missing file got provisional answers %v", res.Provisional)
	}
	aeError(t, res.Final, res.Final.ID, did, 400, "playback not found uri=file://nope.wav", "")

	// read_dtmf arguments.
	for _, data := range []map[string]any{
		{"termination": "xx"}, {"termination": "x"}, {"duration_sec": -1}, {"duration_sec": 1e300},
	} {
		r = aeDo(t, bot, did, "read_dtmf", data, 400, "Bad Request")
		aeError(t, r, r.ID, did, 400, "Bad Request", "")
	}

	// A duplicate id while the first is in progress: the duplicate is
	// refused (the bot sees 400 under that id), the first runs on and
	// can still be cancelled.
	p1 := aeReadDTMF(t, bot, did)
	if err := bot.Send(fmt.Appendf(nil, `{"id":%q,"did":%q,"op":"answer"}`, p1.ID, did)); err != nil {
		t.Fatal(err)
	}
	res, err = p1.Final(aeWait)
	if err != nil {
		t.Fatal(err)
	}
	aeError(t, res.Final, p1.ID, did, 400, "Bad Request", "a request with this id is in progress")
	if err := bot.Cancel(p1.ID, did); err != nil {
		t.Fatal(err)
	}
	if r, err = bot.NextResponse(aeWait); err != nil {
		t.Fatal(err)
	}
	aeExact(t, r, aeFrame(p1.ID, did, 499, "Client Closed Request", "null"))

	// A request queued behind a running one and cancelled gets 499 at
	// once, and is never run; the running one carries on.
	running := aeReadDTMF(t, bot, did)
	queued := bot.Start(did, "play", map[string]string{"uri": "file://welcome.wav"})
	if err := bot.Cancel(queued.ID, did); err != nil {
		t.Fatal(err)
	}
	res, err = queued.Final(aeWait)
	if err != nil {
		t.Fatal(err)
	}
	aeExact(t, res.Final, aeFrame(queued.ID, did, 499, "Client Closed Request", "null"))
	if len(res.Provisional) != 0 {
		t.Fatalf("the cancelled play was started: %s", res.Provisional[0].Raw)
	}
	if err := call.SendDigits("5#"); err != nil {
		t.Fatal(err)
	}
	res, err = running.Final(aeWait)
	if err != nil {
		t.Fatal(err)
	}
	aeExact(t, res.Final, aeFrame(running.ID, did, 200, "OK", `{"dtmf":"5#"}`))
	after := aeDo(t, bot, did, "answer", nil, 200, "OK")
	finals := aeFinals(t, bot, after.ID)
	n := 0
	for _, id := range finals {
		if id == queued.ID {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the cancelled request got %d final answers, want 1", n)
	}
	// Cancelling what is no longer in progress is ignored: no answer.
	if err := bot.Cancel(running.ID, did); err != nil {
		t.Fatal(err)
	}
	aeDo(t, bot, did, "answer", nil, 200, "OK")

	// The queue: one running and ten waiting; the eleventh waiting gets
	// 429 at once, the others are answered in order.
	running = aeReadDTMF(t, bot, did)
	var waiting []*testkit.AgentPending
	for range 11 {
		waiting = append(waiting, bot.Start(did, "answer", nil))
	}
	over := waiting[10]
	res, err = over.Final(aeWait)
	if err != nil {
		t.Fatal(err)
	}
	aeExact(t, res.Final, aeFrame(over.ID, did, 429, "Too Many Requests", "null"))
	if err := call.SendDigits("7#"); err != nil {
		t.Fatal(err)
	}
	res, err = running.Final(aeWait)
	if err != nil {
		t.Fatal(err)
	}
	aeExact(t, res.Final, aeFrame(running.ID, did, 200, "OK", `{"dtmf":"7#"}`))
	for _, w := range waiting[:10] {
		res, err := w.Final(aeWait)
		if err != nil {
			t.Fatal(err)
		}
		aeExact(t, res.Final, aeFrame(w.ID, did, 200, "OK", "null"))
	}
	want := []string{over.ID, running.ID}
	for _, w := range waiting[:10] {
		want = append(want, w.ID)
	}
	var got []string
	mine := map[string]bool{}
	for _, id := range want {
		mine[id] = true
	}
	for _, id := range aeFinals(t, bot, waiting[9].ID) {
		if mine[id] {
			got = append(got, id)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("final answers in the order\n%v\nwant\n%v", got, want)
	}

	// The caller hangs up while read_dtmf runs: 487, then bye; requests
	// meanwhile get 487.
	bot.AutoBye(false)
	running = aeReadDTMF(t, bot, did)
	queued = bot.Start(did, "play", map[string]string{"uri": "file://welcome.wav"})
	if err := call.Hangup(); err != nil {
		t.Fatal(err)
	}
	for _, x := range []*testkit.AgentPending{running, queued} {
		res, err := x.Final(aeWait)
		if err != nil {
			t.Fatal(err)
		}
		aeExact(t, res.Final, aeFrame(x.ID, did, 487, "Request terminated", "null"))
	}
	bye, err := bot.WaitBye(did, aeWait)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(`{"id":%q,"did":%q,"op":"bye","data":null}`, bye.ID, did); string(bye.Raw) != want {
		t.Fatalf("bye %s, want %s", bye.Raw, want)
	}
	r = aeDo(t, bot, did, "play", map[string]string{"uri": "file://welcome.wav"}, 487, "Request terminated")
	aeExact(t, r, aeFrame(r.ID, did, 487, "Request terminated", "null"))
	if err := bot.Reply(bye, 200, "OK"); err != nil {
		t.Fatal(err)
	}
}

// Frames that are not requests: each answered 400 without closing the
// connection; a frame over max_frame closes it (1009) and its call goes
// to the fallback.
func TestAgentRPCErrFrames(t *testing.T) {
	p := aeStart(t, func(c *config.Config) { c.AgentRPC.MaxFrame = 4096 })
	bot := aeBot(t, p, "aebot")
	alice, carol := phone(t, p, "1001"), phone(t, p, "1003")
	did, call := aeConnected(t, bot, alice, aeNumber)

	next := func() testkit.AgentResponse {
		t.Helper()
		r, err := bot.NextResponse(aeWait)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, bad := range []string{`hello`, `{"id":"x","did":`, `[1,2]`, `"text"`, `{"id":5,"op":"answer"}`, `{"id":"c","code":700}`, ``} {
		if err := bot.Send([]byte(bad)); err != nil {
			t.Fatal(err)
		}
		aeError(t, next(), "", "", 400, "Bad Request", "malformed frame")
		aeDo(t, bot, did, "answer", nil, 200, "OK") // still usable
	}
	if err := bot.SendBinary([]byte(`{"id":"bin","did":"x","op":"answer"}`)); err != nil {
		t.Fatal(err)
	}
	aeError(t, next(), "", "", 400, "Bad Request", "binary frames")
	aeDo(t, bot, did, "answer", nil, 200, "OK")

	// Responses to no request of the PBX's are dropped without an answer:
	// the next answer the bot gets is the one to the junk after them.
	for _, stray := range []string{
		`{"id":"nobody","did":"x","code":200,"reason":"OK","data":null}`,
		fmt.Sprintf(`{"id":"nobody2","did":%q,"code":486,"reason":"Busy Here"}`, did),
		`{"id":"nobody3","code":180,"reason":"Ringing"}`,
		`{"id":"","code":200}`,
	} {
		if err := bot.Send([]byte(stray)); err != nil {
			t.Fatal(err)
		}
	}
	if err := bot.Send([]byte(`junk`)); err != nil {
		t.Fatal(err)
	}
	aeError(t, next(), "", "", 400, "Bad Request", "malformed frame")
	aeDo(t, bot, did, "play", map[string]string{"uri": "file://welcome.wav"}, 200, "OK")

	// A frame just under the limit is read (and refused as a request).
	pad := strings.Repeat("a", 4096-len(`{"id":"big","did":"","op":"answer","pad":""}`))
	if err := bot.Send([]byte(`{"id":"big","did":"","op":"answer","pad":"` + pad + `"}`)); err != nil {
		t.Fatal(err)
	}
	aeError(t, next(), "big", "", 400, "Bad Request", "did is required")

	// Over the limit: closed with 1009, and the call, answered, goes to
	// the fallback, extension 1003.
	rang := make(chan *testkit.PhoneCall, 1)
	go func() {
		in, err := carol.Incoming(aeWait)
		if err != nil {
			rang <- nil
			return
		}
		c, _ := in.Answer()
		rang <- c
	}()
	if err := bot.Send([]byte(`{"id":"big","did":"` + did + `","op":"answer","pad":"` + pad + `x"}`)); err != nil {
		t.Fatal(err)
	}
	err := bot.WaitClosed(aeWait)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("connection ended with %v, want close 1009", err)
	}
	fb := <-rang
	if fb == nil {
		t.Fatal("the fallback extension 1003 was not called")
	}
	call.SendTone(toneA)
	fb.SendTone(toneB)
	talking(t, call, fb)
	hangUp(t, call, fb)
}

// While one bot sends garbage and is cut off, another bot's call carries
// on: its read_dtmf completes with the caller's keys.
func TestAgentRPCErrIsolation(t *testing.T) {
	p := aeStart(t, func(c *config.Config) { c.AgentRPC.MaxFrame = 2048 })
	vandal, good := aeBot(t, p, "aebot"), aeBot(t, p, "aebot2")
	alice, bob, carol := threePhones(t, p)
	vdid, vcall := aeConnected(t, vandal, alice, aeNumber)
	gdid, gcall := aeConnected(t, good, bob, aeNumber2)
	type answered struct {
		c   *testkit.PhoneCall
		err error
	}
	carolRang := make(chan answered, 1)
	go func() {
		in, err := carol.Incoming(aeWait)
		var c *testkit.PhoneCall
		if err == nil {
			c, err = in.Answer()
		}
		carolRang <- answered{c, err}
	}()

	running := aeReadDTMF(t, good, gdid)
	// The vandal's frames and requests, some of them about the other's
	// call, which it cannot see.
	for _, junk := range []string{`{`, `nope`, `{"code":999}`, `[]`, fmt.Sprintf(`{"id":"v1","did":%q,"op":"hangup"}`, gdid),
		fmt.Sprintf(`{"id":"v2","did":%q,"op":":requestCancel"}`, gdid), fmt.Sprintf(`{"id":%q,"did":%q,"code":200}`, running.ID, gdid)} {
		if err := vandal.Send([]byte(junk)); err != nil {
			t.Fatal(err)
		}
	}
	for range 12 {
		vandal.Start(vdid, "read_dtmf", map[string]any{"duration_sec": aeLong})
	}
	if err := vandal.SendBinary(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	// The vandal's hangup of the other call was refused as unknown.
	if r, err := vandal.NextResponse(aeWait); err != nil || r.Code != 400 {
		t.Fatalf("first junk: %s, %v", r.Raw, err)
	}
	for {
		r, err := vandal.NextResponse(aeWait)
		if err != nil {
			t.Fatal(err)
		}
		if r.ID == "v1" {
			aeExact(t, r, aeFrame("v1", gdid, 404, "Dialog Does Not Exist", "null"))
			break
		}
	}
	if err := vandal.Send([]byte(strings.Repeat(" ", 3000))); err != nil {
		t.Fatal(err)
	}
	var ce *websocket.CloseError
	if err := vandal.WaitClosed(aeWait); !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("vandal's connection ended with %v, want close 1009", err)
	}
	fb := <-carolRang
	if fb.err != nil {
		t.Fatalf("the vandal's call did not go to the fallback: %v", fb.err)
	}

	if err := gcall.SendDigits("42#"); err != nil {
		t.Fatal(err)
	}
	res, err := running.Final(aeWait)
	if err != nil {
		t.Fatal(err)
	}
	aeExact(t, res.Final, aeFrame(running.ID, gdid, 200, "OK", `{"dtmf":"42#"}`))
	aeDo(t, good, gdid, "play", map[string]string{"uri": "file://welcome.wav"}, 200, "OK")
	if err := gcall.Hangup(); err != nil {
		t.Fatal(err)
	}
	if _, err := good.WaitBye(gdid, aeWait); err != nil {
		t.Fatal(err)
	}
	vcall.SendTone(toneA)
	fb.c.SendTone(toneB)
	talking(t, vcall, fb.c)
	hangUp(t, vcall, fb.c)
}
