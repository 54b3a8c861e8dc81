package testkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// RWI test client: a real WebSocket client of the RWI call-control plane
// that speaks the wire contract (JSON frames at /rwi/v1) and knows nothing
// of the server's Go types, so the tests prove the wire, not the code.

// RWIDoTimeout is how long Do waits for the response to its request.
const RWIDoTimeout = 5 * time.Second

// RWIResponse is the server's answer to one request.
type RWIResponse struct {
	ActionID string
	OK       bool           // "response":"success"
	Data     map[string]any // "data" of a success
	Code     string         // "error.code" of an error
	Message  string         // "error.message" of an error
	Raw      []byte         // the frame as received
}

// Str is Data[key] as a string ("" when absent or not a string).
func (r RWIResponse) Str(key string) string { s, _ := r.Data[key].(string); return s }

// RWIEvent is one event frame pushed by the server.
type RWIEvent struct {
	Name      string
	CallID    string
	Context   string
	Seq       uint64
	Timestamp string
	Data      map[string]any
	Raw       []byte
}

// Str is Data[key] as a string ("" when absent or not a string).
func (e RWIEvent) Str(key string) string { s, _ := e.Data[key].(string); return s }

// String names the event for failure messages.
func (e RWIEvent) String() string {
	return fmt.Sprintf("%s(%s)#%d", e.Name, e.CallID, e.Seq)
}

// RWIClient is one RWI WebSocket connection. A reader goroutine owned by
// the client keeps every frame received: responses wait for the request
// with their action_id, events wait to be consumed by WaitEvent, and
// ReadRaw sees all of them in arrival order. Close (also run at the end of
// the test) stops the reader.
type RWIClient struct {
	// Session is the session id the server gave in X-RWI-Session.
	Session string

	t       testing.TB
	conn    *websocket.Conn
	writeMu sync.Mutex
	done    chan struct{} // closed when the reader exits

	mu        sync.Mutex
	wake      chan struct{} // closed and replaced whenever a frame arrives
	frames    [][]byte      // every frame, in arrival order
	rawNext   int           // the next frame ReadRaw returns
	responses []RWIResponse // responses not yet taken
	pending   map[string]bool
	events    []RWIEvent
	consumed  []bool // consumed[i]: events[i] was returned by WaitEvent
	readErr   error  // why the reader stopped
	nextID    int
	closeOnce sync.Once
}

// DialRWI connects to the RWI endpoint of the PBX whose HTTP listener is
// httpAddr, with token as a bearer token and the rwi-v1 subprotocol, and
// fails the test when the connection is refused.
func DialRWI(t testing.TB, httpAddr, token string) *RWIClient {
	t.Helper()
	h := http.Header{}
	h.Set("Authorization", "Bearer "+token)
	conn, res, err := DialRWIRaw(httpAddr, h, "")
	if err != nil {
		status := ""
		if res != nil {
			status = res.Status
		}
		t.Fatalf("dial rwi %s: %v %s", httpAddr, err, status)
	}
	return NewRWIClient(t, conn, res.Header.Get("X-RWI-Session"))
}

// DialRWIRaw opens a WebSocket to ws://httpAddr/rwi/v1?query offering the
// rwi-v1 subprotocol, with header added to the upgrade request; it returns
// the upgrade response even on failure (a 401 for a bad token), for tests
// of the handshake.
func DialRWIRaw(httpAddr string, header http.Header, query string) (*websocket.Conn, *http.Response, error) {
	u := "ws://" + httpAddr + "/rwi/v1"
	if query != "" {
		u += "?" + query
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: []string{"rwi-v1"}}
	conn, res, err := d.Dial(u, header)
	if err != nil {
		return nil, res, fmt.Errorf("dial %s: %w", u, err)
	}
	return conn, res, nil
}

// NewRWIClient takes over conn (from DialRWIRaw) and starts its reader;
// session is the X-RWI-Session of the upgrade response.
func NewRWIClient(t testing.TB, conn *websocket.Conn, session string) *RWIClient {
	c := &RWIClient{
		Session: session,
		t:       t,
		conn:    conn,
		done:    make(chan struct{}),
		wake:    make(chan struct{}),
		pending: map[string]bool{},
	}
	go c.read()
	t.Cleanup(c.Close)
	return c
}

// Close closes the connection (with a normal close frame when it can) and
// waits for the reader to stop. It is safe to call twice.
func (c *RWIClient) Close() {
	c.closeOnce.Do(func() {
		closeWebSocket(&c.writeMu, c.conn)
		<-c.done
	})
}

// Drop closes the TCP connection without a close frame, as a crashed or
// cut-off client would, and waits for the reader to stop.
func (c *RWIClient) Drop() {
	c.closeOnce.Do(func() {
		_ = c.conn.Close()
		<-c.done
	})
}

// read is the client's one reader: it files every frame until the
// connection ends.
func (c *RWIClient) read() {
	defer close(c.done)
	for {
		_, data, err := c.conn.ReadMessage()
		c.mu.Lock()
		if err != nil {
			c.readErr = err
			c.signal()
			c.mu.Unlock()
			return
		}
		c.file(data)
		c.signal()
		c.mu.Unlock()
	}
}

// signal wakes every waiter; c.mu is held.
func (c *RWIClient) signal() {
	close(c.wake)
	c.wake = make(chan struct{})
}

// wireFrame is the union of the response and event envelopes.
type wireFrame struct {
	ActionID  string          `json:"action_id"`
	Response  string          `json:"response"`
	Data      json.RawMessage `json:"data"`
	Error     *wireError      `json:"error"`
	Event     string          `json:"event"`
	CallID    string          `json:"call_id"`
	Context   string          `json:"context"`
	Seq       uint64          `json:"seq"`
	Timestamp string          `json:"timestamp"`
}

type wireError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// file sorts a frame into responses or events; c.mu is held. A frame that
// is neither stays visible to ReadRaw only.
func (c *RWIClient) file(data []byte) {
	c.frames = append(c.frames, data)
	var f wireFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return
	}
	var m map[string]any
	if len(f.Data) > 0 {
		_ = json.Unmarshal(f.Data, &m)
	}
	switch {
	case f.Response != "":
		r := RWIResponse{ActionID: f.ActionID, OK: f.Response == "success", Data: m, Raw: data}
		if f.Error != nil {
			r.Code, r.Message = f.Error.Code, f.Error.Message
		}
		c.responses = append(c.responses, r)
	case f.Event != "":
		c.events = append(c.events, RWIEvent{Name: f.Event, CallID: f.CallID, Context: f.Context,
			Seq: f.Seq, Timestamp: f.Timestamp, Data: m, Raw: data})
		c.consumed = append(c.consumed, false)
	}
}

// wait runs check under c.mu until it reports done or the deadline
// passes; it returns false on timeout or when the connection ended first
// (and check still failed after the last frame).
func (c *RWIClient) wait(timeout time.Duration, check func() bool) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		c.mu.Lock()
		if check() {
			c.mu.Unlock()
			return true
		}
		wake, ended := c.wake, c.readErr != nil
		c.mu.Unlock()
		if ended {
			return false
		}
		select {
		case <-wake:
		case <-timer.C:
			return false
		}
	}
}

// Send writes a request with a fresh action_id and returns the id; params
// nil leaves "params" out.
func (c *RWIClient) Send(action string, params any) (string, error) {
	c.mu.Lock()
	c.nextID++
	id := "t" + strconv.Itoa(c.nextID)
	c.pending[id] = true
	c.mu.Unlock()
	req := map[string]any{"rwi": "1.0", "action_id": id, "action": action}
	if params != nil {
		req["params"] = params
	}
	data, err := json.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", action, err)
	}
	return id, c.SendRaw(data)
}

// Do sends a request and waits RWIDoTimeout for its response, which it
// returns whether success or error. A connection that fails, or a server
// that does not answer, fails the test; call it from the test goroutine.
func (c *RWIClient) Do(action string, params any) RWIResponse {
	c.t.Helper()
	id, err := c.Send(action, params)
	if err != nil {
		c.t.Fatalf("rwi %s: %v", action, err)
	}
	r, err := c.Await(id, RWIDoTimeout)
	if err != nil {
		c.t.Fatalf("rwi %s: %v", action, err)
	}
	return r
}

// MustDo is Do for a request that must succeed: it fails the test on an
// error response and returns the response's data.
func (c *RWIClient) MustDo(action string, params any) map[string]any {
	c.t.Helper()
	r := c.Do(action, params)
	if !r.OK {
		c.t.Fatalf("rwi %s %s: %s: %s", action, compact(params), r.Code, r.Message)
	}
	if r.Data == nil {
		return map[string]any{}
	}
	return r.Data
}

// Await waits for the response to the request sent with id.
func (c *RWIClient) Await(id string, timeout time.Duration) (RWIResponse, error) {
	var got RWIResponse
	ok := c.wait(timeout, func() bool {
		for i, r := range c.responses {
			if r.ActionID == id {
				got = r
				c.responses = append(c.responses[:i], c.responses[i+1:]...)
				delete(c.pending, id)
				return true
			}
		}
		return false
	})
	if !ok {
		return RWIResponse{}, fmt.Errorf("no response to %s within %s (%s)", id, timeout, c.state())
	}
	return got, nil
}

// Response waits for the next response that no Do or Await is waiting
// for: the answer to a request written with SendRaw.
func (c *RWIClient) Response(timeout time.Duration) (RWIResponse, error) {
	var got RWIResponse
	ok := c.wait(timeout, func() bool {
		for i, r := range c.responses {
			if !c.pending[r.ActionID] {
				got = r
				c.responses = append(c.responses[:i], c.responses[i+1:]...)
				return true
			}
		}
		return false
	})
	if !ok {
		return RWIResponse{}, fmt.Errorf("no response within %s (%s)", timeout, c.state())
	}
	return got, nil
}

// WaitEvent returns the first event named name about callID ("" for any
// call) not yet returned, waiting up to timeout for it to arrive. Events
// that arrived earlier count, so a test may wait for an event after it
// came. It fails the test on timeout, listing the events received.
func (c *RWIClient) WaitEvent(name, callID string, timeout time.Duration) RWIEvent {
	c.t.Helper()
	ev, err := c.NextEvent(name, callID, timeout)
	if err != nil {
		c.t.Fatal(err)
	}
	return ev
}

// NextEvent is WaitEvent returning an error instead of failing the test.
func (c *RWIClient) NextEvent(name, callID string, timeout time.Duration) (RWIEvent, error) {
	var got RWIEvent
	ok := c.wait(timeout, func() bool {
		for i, e := range c.events {
			if !c.consumed[i] && e.Name == name && (callID == "" || e.CallID == callID) {
				c.consumed[i] = true
				got = e
				return true
			}
		}
		return false
	})
	if !ok {
		return RWIEvent{}, fmt.Errorf("no rwi event %s of %q within %s (%s; received %s)",
			name, callID, timeout, c.state(), c.eventList())
	}
	return got, nil
}

// HasEvent reports whether an event named name about callID ("" for any)
// has arrived, consumed or not, without waiting.
func (c *RWIClient) HasEvent(name, callID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.events {
		if e.Name == name && (callID == "" || e.CallID == callID) {
			return true
		}
	}
	return false
}

// Events are all events received so far, in order.
func (c *RWIClient) Events() []RWIEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]RWIEvent(nil), c.events...)
}

func (c *RWIClient) eventList() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := make([]string, len(c.events))
	for i, e := range c.events {
		names[i] = e.String()
	}
	return "[" + strings.Join(names, " ") + "]"
}

// SendRaw writes data as one text frame, as is.
func (c *RWIClient) SendRaw(data []byte) error {
	return c.SendFrame(websocket.TextMessage, data)
}

// SendFrame writes one frame of the given WebSocket message type
// (websocket.TextMessage, websocket.BinaryMessage).
func (c *RWIClient) SendFrame(messageType int, data []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := c.conn.WriteMessage(messageType, data); err != nil {
		return fmt.Errorf("rwi write: %w", err)
	}
	return nil
}

// ReadRaw returns the next frame received, response or event, in arrival
// order (a cursor of its own: Do and WaitEvent do not move it).
func (c *RWIClient) ReadRaw(timeout time.Duration) ([]byte, error) {
	var got []byte
	ok := c.wait(timeout, func() bool {
		if c.rawNext < len(c.frames) {
			got = c.frames[c.rawNext]
			c.rawNext++
			return true
		}
		return false
	})
	if !ok {
		return nil, fmt.Errorf("no frame within %s (%s)", timeout, c.state())
	}
	return got, nil
}

// WaitClosed waits until the server ends the connection and returns why:
// a *websocket.CloseError carries the close code (1009 for a frame too
// big). It returns an error of its own when the connection stays open.
func (c *RWIClient) WaitClosed(timeout time.Duration) error {
	select {
	case <-c.done:
		return c.Err()
	case <-time.After(timeout):
		return errors.New("rwi connection still open after " + timeout.String())
	}
}

// Err is why the reader stopped, or nil while the connection is open.
func (c *RWIClient) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readErr
}

// state says whether the connection is open, for failure messages.
func (c *RWIClient) state() string {
	if err := c.Err(); err != nil {
		return "connection ended: " + err.Error()
	}
	return "connection open"
}

// compact renders params for a failure message.
func compact(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
