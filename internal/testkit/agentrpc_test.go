package testkit

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// scriptedAgentPBX is a WebSocket peer on loopback playing the PBX side of
// Agent RPC by a script. It refuses a missing endpoint (400) or token
// (401) with the contract's bodies, offers an invite on connect, and
// answers the bot's requests: play 183+200, listen 183+190+binary+200,
// hangup 200 then bye, slow requests held until flush answers them in
// reverse order, bad JSON 400 with id "". Every frame the bot writes goes
// to recv; how the connection ended goes to ended.
type scriptedAgentPBX struct {
	addr  string
	recv  chan []byte
	ended chan error
}

func startScriptedAgentPBX(t *testing.T) *scriptedAgentPBX {
	s := &scriptedAgentPBX{recv: make(chan []byte, 1000), ended: make(chan error, 10)}
	var up websocket.Upgrader
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Query().Get("token") != "secret" && r.Header.Get("Authorization") != "Bearer secret":
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, "Unauthorized")
			return
		case r.URL.Query().Get("endpoint") == "":
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, "Endpoint parameter required")
			return
		}
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		s.serve(conn)
	}))
	t.Cleanup(srv.Close)
	s.addr = strings.TrimPrefix(srv.URL, "http://")
	return s
}

func (s *scriptedAgentPBX) serve(conn *websocket.Conn) {
	send := func(format string, args ...any) {
		conn.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, format, args...))
	}
	send(`{"id":"srv1","did":"d1","op":"invite","data":{"callID":"c1@pbx","from":"alice","to":"6000"}}`)
	var held []string
	for n := 2; ; n++ {
		typ, data, err := conn.ReadMessage()
		if err != nil {
			s.ended <- err
			return
		}
		s.recv <- data
		var req struct{ ID, DID, Op string }
		if typ != websocket.TextMessage || json.Unmarshal(data, &req) != nil {
			send(`{"id":"","did":"","code":400,"reason":"Bad Request","data":{"error":"bad frame"}}`)
			continue
		}
		switch req.Op {
		case "play":
			send(`{"id":%q,"did":%q,"code":183,"reason":"Playback In Progress","data":null}`, req.ID, req.DID)
			send(`{"id":%q,"did":%q,"code":200,"reason":"OK","data":null}`, req.ID, req.DID)
		case "listen":
			send(`{"id":%q,"did":%q,"code":183,"reason":"Recording In Progress","data":null}`, req.ID, req.DID)
			send(`{"id":%q,"did":%q,"code":190,"reason":"Recording Write","data":null}`, req.ID, req.DID)
			frame := binary.BigEndian.AppendUint32([]byte{1}, uint32(len(req.ID)))
			conn.WriteMessage(websocket.BinaryMessage, append(append(frame, req.ID...), "AUDIO"...))
			send(`{"id":%q,"did":%q,"code":200,"reason":"OK","data":{"size":5,"duration_sec":0.1}}`, req.ID, req.DID)
		case "hangup":
			send(`{"id":%q,"did":%q,"code":200,"reason":"OK","data":null}`, req.ID, req.DID)
			send(`{"id":"srv%d","did":%q,"op":"bye","data":null}`, n, req.DID)
		case "invite_me": // offers a second call
			send(`{"id":"srv%d","did":"d%d","op":"invite","data":{"callID":"c%d@pbx","from":"bob","to":"6000"}}`, n, n, n)
		case "slow":
			held = append(held, req.ID, req.DID)
		case "flush":
			for i := len(held) - 2; i >= 0; i -= 2 {
				send(`{"id":%q,"did":%q,"code":200,"reason":"OK","data":{"id":%q}}`, held[i], held[i+1], held[i])
			}
			held = nil
		}
	}
}

// seen waits for the bot to have written exactly want.
func (s *scriptedAgentPBX) seen(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case got := <-s.recv:
			if string(got) == want {
				return
			}
		case <-timeout:
			t.Fatalf("the bot never wrote %s", want)
		}
	}
}

func TestAgentRPCBotCall(t *testing.T) {
	s := startScriptedAgentPBX(t)
	bot := DialAgentRPC(t, s.addr, "myagent", AgentToken("secret"))

	inv, err := bot.NextInvite(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Op != "invite" || inv.ID != "srv1" || inv.DID != "d1" || inv.CallID != "c1@pbx" ||
		inv.From != "alice" || inv.To != "6000" || inv.Replied != 0 {
		t.Fatalf("invite %+v", inv)
	}
	raw, err := bot.ReadRaw(time.Second)
	if err != nil || string(raw) != string(inv.Raw) {
		t.Fatalf("first raw frame %q, %v", raw, err)
	}
	if err := bot.Reply(inv, 200, "OK"); err != nil {
		t.Fatal(err)
	}
	s.seen(t, `{"id":"srv1","did":"d1","code":200,"reason":"OK","data":null}`)

	// play: 183 then 200, awaited step by step.
	p := bot.Start("d1", "play", map[string]any{"uri": "file://welcome.wav"})
	s.seen(t, `{"id":"`+p.ID+`","did":"d1","op":"play","data":{"uri":"file://welcome.wav"}}`)
	prov, err := p.Provisional(5 * time.Second)
	if err != nil || prov.Code != 183 || prov.Reason != "Playback In Progress" || prov.ID != p.ID {
		t.Fatalf("provisional %+v, %v", prov, err)
	}
	res, err := p.Final(5 * time.Second)
	if err != nil || res.Final.Code != 200 || len(res.Provisional) != 1 || res.Final.Data != nil {
		t.Fatalf("play %+v, %v", res, err)
	}
	if _, err := p.Provisional(time.Second); err == nil {
		t.Fatal("a second provisional after the final")
	}

	// listen: both provisionals, the binary frame's audio, the final's data.
	res, err = bot.Do("d1", "listen", map[string]any{"duration_sec": 1}, 5*time.Second)
	if err != nil || res.Final.Code != 200 || len(res.Provisional) != 2 || res.Provisional[0].Code != 183 ||
		res.Provisional[1].Code != 190 || string(res.Binary) != "AUDIO" || res.Final.Data["size"] != 5.0 {
		t.Fatalf("listen %+v, %v", res, err)
	}

	// cancel and a request without data: exact bytes.
	if err := bot.Cancel("x1", "d1"); err != nil {
		t.Fatal(err)
	}
	s.seen(t, `{"id":"x1","did":"d1","op":":requestCancel"}`)
	p = bot.Start("last", "ring", nil)
	s.seen(t, `{"id":"`+p.ID+`","did":"last","op":"ring"}`)

	// malformed input: the 400 with id "" is a response nobody waits for.
	if err := bot.Send([]byte("{not json")); err != nil {
		t.Fatal(err)
	}
	bad, err := bot.NextResponse(5 * time.Second)
	if err != nil || bad.Code != 400 || bad.ID != "" || bad.Str("error") != "bad frame" {
		t.Fatalf("bad frame answer %+v, %v", bad, err)
	}

	// hangup: 200, then the bye is answered 200 on its own.
	if res, err := bot.Do("d1", "hangup", nil, 5*time.Second); err != nil || res.Final.Code != 200 {
		t.Fatalf("hangup %+v, %v", res, err)
	}
	bye, err := bot.WaitBye("d1", 5*time.Second)
	if err != nil || bye.Op != "bye" || bye.Data != nil {
		t.Fatalf("bye %+v, %v", bye, err)
	}
	s.seen(t, `{"id":"`+bye.ID+`","did":"d1","code":200,"reason":"OK","data":null}`)
	if _, err := bot.WaitBye("d9", 50*time.Millisecond); err == nil {
		t.Fatal("a bye for a did never ended")
	}
}

func TestAgentRPCBotAutoAcceptAndConcurrency(t *testing.T) {
	s := startScriptedAgentPBX(t)
	bot := DialAgentRPC(t, s.addr, "myagent", AgentBearer("secret"), AgentNoRaw())
	bot.AutoAccept()
	if _, err := bot.NextInvite(5 * time.Second); err != nil { // srv1, maybe before AutoAccept
		t.Fatal(err)
	}
	if err := bot.Send([]byte(`{"id":"i","did":"","op":"invite_me"}`)); err != nil {
		t.Fatal(err)
	}
	inv, err := bot.NextInvite(5 * time.Second)
	if err != nil || inv.Replied != 200 || inv.From != "bob" {
		t.Fatalf("auto-accepted invite %+v, %v", inv, err)
	}
	s.seen(t, `{"id":"`+inv.ID+`","did":"`+inv.DID+`","code":200,"reason":"OK","data":null}`)

	// Many requests answered in reverse order each get their own final.
	const n = 200
	pend := make([]*AgentPending, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { pend[i] = bot.Start(fmt.Sprintf("d%d", i), "slow", nil) })
	}
	wg.Wait()
	if err := bot.Send([]byte(`{"id":"f","did":"","op":"flush"}`)); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, n)
	for _, p := range pend {
		wg.Go(func() {
			res, err := p.Final(5 * time.Second)
			if err == nil && (res.Final.ID != p.ID || res.Final.DID != p.DID || res.Final.Str("id") != p.ID) {
				err = fmt.Errorf("request %s got %s", p.ID, res.Final.Raw)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bot.ReadRaw(10 * time.Millisecond); err == nil {
		t.Fatal("AgentNoRaw kept a frame")
	}
}

func TestAgentRPCBotRefusedAndDropped(t *testing.T) {
	s := startScriptedAgentPBX(t)
	for _, c := range []struct {
		query, auth string
		status      int
		body        string
	}{
		{"endpoint=myagent", "", 401, "Unauthorized"},
		{"token=secret", "", 400, "Endpoint parameter required"},
		{"", "Bearer secret", 400, "Endpoint parameter required"},
	} {
		h := http.Header{}
		if c.auth != "" {
			h.Set("Authorization", c.auth)
		}
		_, res, err := DialAgentRPCRaw(s.addr, c.query, h)
		if err == nil || res == nil {
			t.Fatalf("%q: upgraded", c.query)
		}
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != c.status || string(body) != c.body {
			t.Fatalf("%q: %d %q", c.query, res.StatusCode, body)
		}
	}

	// Drop: the server sees the TCP connection end with no close frame.
	bot := DialAgentRPC(t, s.addr, "myagent", AgentToken("secret"))
	bot.Drop()
	select {
	case err := <-s.ended:
		if !websocket.IsCloseError(err, websocket.CloseAbnormalClosure) { // 1006: no close frame
			t.Fatalf("drop ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server never saw the drop")
	}
	if _, err := bot.Do("d1", "play", nil, time.Second); err == nil {
		t.Fatal("a request on a dropped bot")
	}
	if err := bot.WaitClosed(time.Second); err == nil {
		t.Fatal("no reason for the end")
	}

	// Close: the server sees a normal close.
	bot = DialAgentRPC(t, s.addr, "myagent", AgentToken("secret"))
	bot.Close()
	select {
	case err := <-s.ended:
		if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
			t.Fatalf("close ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server never saw the close")
	}
}
