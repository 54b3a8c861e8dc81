package testkit

import (
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// closeWebSocket ends a client's connection as a well-behaved program
// does: a normal close frame, sent under writeMu like every other write,
// then the socket closed.
func closeWebSocket(writeMu *sync.Mutex, conn *websocket.Conn) {
	writeMu.Lock()
	_ = conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	writeMu.Unlock()
	_ = conn.Close()
}
