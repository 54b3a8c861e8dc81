package agentrpc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// writeTimeout bounds one frame's write: a bot that stops reading is cut
// off rather than holding every call on its socket.
const writeTimeout = 10 * time.Second

// conn is one bot's WebSocket. The goroutine that serves its HTTP request
// reads it; writers take turns. Its calls and the PBX's requests waiting
// for the bot's answer are kept by id.
type conn struct {
	s        *Server
	endpoint string
	log      *slog.Logger

	ctx    context.Context // done, with errBotGone, when the connection has closed
	cancel context.CancelCauseFunc

	wmu sync.Mutex // one writer at a time
	ws  *websocket.Conn

	mu      sync.Mutex
	calls   map[string]*call         // by did
	last    *call                    // the most recent call, did "last"
	pending map[string]chan response // the PBX's requests, by id, until the bot's final answer
	up      bool                     // upgraded and not closed
}

func newConn(s *Server, endpoint, remote string) *conn {
	c := &conn{
		s: s, endpoint: endpoint, log: s.log.With("endpoint", endpoint, "remote", remote),
		calls: map[string]*call{}, pending: map[string]chan response{},
	}
	c.ctx, c.cancel = context.WithCancelCause(s.ctx)
	return c
}

// attach gives the connection its upgraded socket; calls may be offered
// to it from now on.
func (c *conn) attach(ws *websocket.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ws, c.up = ws, true
}

// ready reports whether calls can be offered to the connection.
func (c *conn) ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.up
}

// load is how many calls the connection controls.
func (c *conn) load() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.calls)
}

// close ends the connection; its calls see ctx end and go to the fallback.
func (c *conn) close() {
	c.mu.Lock()
	ws := c.ws
	c.up = false
	c.mu.Unlock()
	c.cancel(errBotGone)
	if ws != nil {
		ws.Close()
	}
}

// serve reads frames until the socket fails or closes.
func (c *conn) serve() {
	defer c.close()
	for {
		kind, b, err := c.ws.ReadMessage()
		if err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
				c.log.Debug("bot read", "error", err)
			}
			return
		}
		c.s.mx.frames.Inc()
		if kind != websocket.TextMessage {
			c.reply("", "", badRequest("binary frames carry no requests"))
			continue
		}
		f, err := parseFrame(b)
		if err != nil {
			c.reply("", "", badRequest(err.Error()))
			continue
		}
		if f.isResponse() {
			c.answered(f)
			continue
		}
		c.dispatch(f)
	}
}

// dispatch routes a bot's request to its call.
func (c *conn) dispatch(f frame) {
	switch {
	case f.Op == "":
		c.reply(f.ID, f.DID, badRequest("op is required"))
		return
	case f.DID == "":
		c.reply(f.ID, f.DID, badRequest("did is required: requests that open no call are not supported"))
		return
	}
	c.mu.Lock()
	cl := c.calls[f.DID]
	if f.DID == "last" {
		cl = c.last
	}
	c.mu.Unlock()
	if cl == nil {
		c.reply(f.ID, f.DID, &status{code: codeNoDialog, reason: "Dialog Does Not Exist"})
		return
	}
	if f.Op == ":requestCancel" {
		cl.cancelRequest(f.ID)
		return
	}
	cl.enqueue(f)
}

// answered hands the bot's final answer to the PBX request waiting for
// it; provisional answers only show the bot is working.
func (c *conn) answered(f frame) {
	if f.Code < 200 {
		return
	}
	c.mu.Lock()
	ch := c.pending[f.ID]
	delete(c.pending, f.ID)
	c.mu.Unlock()
	if ch == nil {
		c.log.Debug("answer to no request of ours", "id", f.ID, "code", f.Code)
		return
	}
	ch <- response{ID: f.ID, DID: f.DID, Code: f.Code, Reason: f.Reason}
}

// request sends the bot a request and waits for its final answer, at most
// timeout. ok is false when none came: timeout, ctx, or the socket closed.
func (c *conn) request(ctx context.Context, did, op string, data any, timeout time.Duration) (res response, ok bool) {
	raw, _ := json.Marshal(data)
	req := request{ID: newID(), DID: did, Op: op, Data: raw}
	ch := make(chan response, 1)
	c.mu.Lock()
	c.pending[req.ID] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, req.ID)
		c.mu.Unlock()
	}()
	if err := c.write(req); err != nil {
		return response{}, false
	}
	expired := make(chan struct{})
	t := c.s.clock.AfterFunc(timeout, func() { close(expired) })
	defer t.Stop()
	select {
	case res = <-ch:
		return res, true
	case <-expired:
	case <-ctx.Done():
	case <-c.ctx.Done():
	}
	return response{}, false
}

// reply writes a response; a write that fails closes the connection.
func (c *conn) reply(id, did string, st *status) {
	c.write(response{ID: id, DID: did, Code: st.code, Reason: st.reason, Data: st.data})
}

// write sends one frame as JSON text. A failed or slow write closes the
// connection: its calls go to the fallback.
func (c *conn) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode frame: %w", err)
	}
	return c.writeFrame(websocket.TextMessage, b)
}

// writeFrame sends one frame of kind (text, or listen's binary audio), as
// write says.
func (c *conn) writeFrame(kind int, b []byte) error {
	if c.ctx.Err() != nil {
		return c.ctx.Err()
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := c.ws.WriteMessage(kind, b); err != nil {
		c.log.Info("bot write failed: closing", "error", err)
		c.close()
		return err
	}
	return nil
}

// newID makes a request id like the reference's: 32 hex digits.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
