package testkit

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// scriptedRWI is a WebSocket peer on loopback that checks the bearer
// token, then answers each request by the script: it pushes an event
// before the response, so the client must sort frames, and closes with
// 1009 on "close".
func scriptedRWI(t *testing.T) string {
	up := websocket.Upgrader{Subprotocols: []string{"rwi-v1"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/rwi/v1" || r.Header.Get("Authorization") != "Bearer good-token-123" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		conn, err := up.Upgrade(w, r, http.Header{"X-RWI-Session": {"sess-1"}})
		if err != nil {
			return
		}
		defer conn.Close()
		seq := 0
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			var req struct {
				ActionID string         `json:"action_id"`
				Action   string         `json:"action"`
				Params   map[string]any `json:"params"`
			}
			if json.Unmarshal(data, &req) != nil {
				conn.WriteMessage(websocket.TextMessage, []byte(`{"rwi":"1.0","response":"error","error":{"code":"parse_error","message":"bad json"}}`))
				continue
			}
			switch req.Action {
			case "close":
				conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseMessageTooBig, "too big"))
				return
			case "call.originate":
				seq++
				ev, _ := json.Marshal(map[string]any{"rwi": "1.0", "event": "call.ringing", "call_id": req.Params["call_id"], "seq": seq, "data": map[string]any{}})
				conn.WriteMessage(websocket.TextMessage, ev)
				res, _ := json.Marshal(map[string]any{"rwi": "1.0", "action_id": req.ActionID, "response": "success", "data": map[string]any{"call_id": req.Params["call_id"], "leg_id": "L1"}})
				conn.WriteMessage(websocket.TextMessage, res)
			default:
				res, _ := json.Marshal(map[string]any{"rwi": "1.0", "action_id": req.ActionID, "response": "error", "error": map[string]any{"code": "unknown_action", "message": req.Action}})
				conn.WriteMessage(websocket.TextMessage, res)
			}
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestRWIClient(t *testing.T) {
	addr := scriptedRWI(t)
	c := DialRWI(t, addr, "good-token-123")
	if c.Session != "sess-1" {
		t.Fatalf("session %q", c.Session)
	}
	d := c.MustDo("call.originate", map[string]any{"call_id": "leg_a"})
	if d["leg_id"] != "L1" || d["call_id"] != "leg_a" {
		t.Fatalf("data %v", d)
	}
	// The event came before the response and is still there to wait for.
	ev := c.WaitEvent("call.ringing", "leg_a", time.Second)
	if ev.Seq != 1 {
		t.Fatalf("event %+v", ev)
	}
	if _, err := c.NextEvent("call.ringing", "leg_a", 50*time.Millisecond); err == nil {
		t.Fatal("an event was returned twice")
	}
	if r := c.Do("nope", nil); r.OK || r.Code != "unknown_action" {
		t.Fatalf("response %+v", r)
	}
	if err := c.SendRaw([]byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if r, err := c.Response(time.Second); err != nil || r.Code != "parse_error" || r.ActionID != "" {
		t.Fatalf("raw response %+v %v", r, err)
	}
	if raw, err := c.ReadRaw(time.Second); err != nil || !strings.Contains(string(raw), `"event":"call.ringing"`) {
		t.Fatalf("first raw frame %s %v", raw, err)
	}
	if _, err := c.Send("close", nil); err != nil {
		t.Fatal(err)
	}
	var ce *websocket.CloseError
	if err := c.WaitClosed(time.Second); !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("closed with %v, want 1009", err)
	}
	if _, res, err := DialRWIRaw(addr, http.Header{"Authorization": {"Bearer wrong"}}, ""); err == nil || res == nil || res.StatusCode != 401 {
		t.Fatalf("bad token: %v %v", res, err)
	}
}
