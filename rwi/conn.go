package rwi

import (
	"log/slog"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Timings of a connection.
const (
	writeWait  = 10 * time.Second // a frame not written by then ends the connection
	pingEvery  = 30 * time.Second // keepalive; a peer silent for pongWait is gone
	pongWait   = 75 * time.Second
	outboxSize = 256 // frames queued for the writer; an event past it ends a lagging connection
)

// conn is one WebSocket connection: the serving goroutine reads, and a
// writer goroutine it owns writes whatever the outbox holds, in order.
type conn struct {
	ws   *websocket.Conn
	out  chan []byte
	done chan struct{}
	once sync.Once
	log  *slog.Logger
}

func newConn(ws *websocket.Conn, maxFrame int, log *slog.Logger) *conn {
	if maxFrame > 0 {
		ws.SetReadLimit(int64(maxFrame))
	}
	ws.SetReadDeadline(time.Now().Add(pongWait))
	ws.SetPongHandler(func(string) error { return ws.SetReadDeadline(time.Now().Add(pongWait)) })
	return &conn{ws: ws, out: make(chan []byte, outboxSize), done: make(chan struct{}), log: log}
}

// write sends frames until the connection closes.
func (c *conn) write() {
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		select {
		case <-c.done:
			return
		case b := <-c.out:
			c.ws.SetWriteDeadline(time.Now().Add(writeWait))
			if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
				c.close(websocket.CloseAbnormalClosure, "")
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				c.close(websocket.CloseAbnormalClosure, "")
				return
			}
		}
	}
}

// send queues a response: it waits for room, since a response is never
// dropped; false when the connection has closed.
func (c *conn) send(b []byte) bool {
	select {
	case c.out <- b:
		return true
	case <-c.done:
		return false
	}
}

// offer queues an event without waiting; false when the outbox is full.
func (c *conn) offer(b []byte) bool {
	select {
	case c.out <- b:
		return true
	default:
		return false
	}
}

// close ends the connection with a close frame (code 0 sends none); the
// reader then fails and the serving goroutine cleans up.
func (c *conn) close(code int, reason string) {
	c.once.Do(func() {
		if code != 0 && code != websocket.CloseAbnormalClosure {
			c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
		}
		close(c.done)
		c.ws.Close()
	})
}
