package eccp

import (
	"errors"
	"net"
	"sync"
	"time"
)

// outQueue bounds the documents waiting to be written to one session: a
// client that stops reading is closed rather than slowing the others.
// The queue grows only as documents wait, so an idle session costs
// little.
const outQueue = 4096

// session is one client connection. Requests are handled one at a time,
// in the order they came, on the read loop; the write loop writes each
// document in a single write.
type session struct {
	srv    *Server
	conn   net.Conn
	remote string
	done   chan struct{}
	once   sync.Once

	qmu     sync.Mutex
	pending [][]byte      // documents to write, in order; a nil one closes after the ones before
	wake    chan struct{} // signals the write loop that pending has documents

	mu       sync.Mutex
	user     string // "" until login
	cookie   string
	filter   string // filterbyagent: only this agent's events; "" for all
	progress bool   // callprogress events wanted
}

func newSession(srv *Server, c net.Conn) *session {
	return &session{srv: srv, conn: c, remote: c.RemoteAddr().String(), done: make(chan struct{}), wake: make(chan struct{}, 1)}
}

// close ends the session once; what is queued is dropped.
func (ss *session) close(why string) {
	ss.once.Do(func() {
		close(ss.done)
		ss.conn.Close()
		ss.srv.forget(ss)
		ss.srv.log.Debug("eccp session closed", "remote", ss.remote, "user", ss.loggedUser(), "reason", why)
	})
}

func (ss *session) loggedUser() string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.user
}

// send queues a document; a session that cannot keep up is closed.
func (ss *session) send(doc []byte) {
	ss.qmu.Lock()
	full := len(ss.pending) >= outQueue
	if !full {
		ss.pending = append(ss.pending, doc)
	}
	ss.qmu.Unlock()
	if full {
		ss.srv.log.Warn("eccp session too slow: closed", "remote", ss.remote)
		ss.srv.goRun(func() { ss.close("too slow") }) // not here: emit holds the server's lock, which close takes
		return
	}
	select {
	case ss.wake <- struct{}{}:
	default:
	}
}

// event queues an event if the session wants it: only logged-in
// sessions get events; filterbyagent keeps one agent's (callprogress is
// not an agent's); callprogress only when enabled. It reports whether
// the session wanted it.
func (ss *session) event(ev outEvent) bool {
	ss.mu.Lock()
	want := ss.user != "" && (ev.progress && ss.progress || !ev.progress && (ss.filter == "" || ev.agent == "" || ev.agent == ss.filter))
	ss.mu.Unlock()
	if want {
		ss.send(ev.doc)
	}
	return want
}

func (ss *session) writeLoop() {
	for {
		select {
		case <-ss.wake:
		case <-ss.done:
			return
		}
		ss.qmu.Lock()
		docs := ss.pending
		ss.pending = nil
		ss.qmu.Unlock()
		for _, doc := range docs {
			if doc == nil { // flushAndClose: all before it is written
				ss.close("closed after its answer")
				return
			}
			ss.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
			if _, err := ss.conn.Write(doc); err != nil {
				ss.close("write: " + err.Error())
				return
			}
		}
	}
}

// flushAndClose has the write loop write what is queued, then close:
// logout, and the answer to a malformed document.
func (ss *session) flushAndClose() { ss.send(nil) }

// readLoop reads and answers requests until the client goes, the
// session idles out, or a document ends it (logout, malformed input: the
// write loop closes the connection once the answer is out).
func (ss *session) readLoop() {
	graceful := false
	defer func() {
		if !graceful {
			ss.close("read loop ended")
		}
	}()
	sp := newSplitter(maxDocument)
	buf := make([]byte, 16<<10)
	for {
		if t := ss.srv.cfg.SessionTimeout; t > 0 {
			ss.conn.SetReadDeadline(time.Now().Add(t))
		}
		n, err := ss.conn.Read(buf)
		if n > 0 {
			sp.feed(buf[:n])
			for {
				doc, ok, serr := sp.next()
				if serr != nil {
					ss.srv.log.Info("eccp malformed input: session closed", "remote", ss.remote, "error", serr)
					ss.badRequestAndClose()
					graceful = true
					return
				}
				if !ok {
					break
				}
				if !ss.request(doc) {
					graceful = true
					return
				}
			}
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				ss.srv.log.Info("eccp session idle: closed", "remote", ss.remote, "user", ss.loggedUser(), "after", ss.srv.cfg.SessionTimeout)
			}
			return
		}
	}
}

// badRequestAndClose answers a document that cannot be read with a 400
// without id, and closes the connection, as dialerd does.
func (ss *session) badRequestAndClose() {
	ss.send(encode(el("response", failure(400, "Bad request"))))
	ss.flushAndClose()
}

// request handles one document; false when the session is over.
func (ss *session) request(doc []byte) bool {
	root, err := parseDoc(doc)
	if err != nil || root.Name != "request" {
		ss.srv.log.Info("eccp bad document: session closed", "remote", ss.remote, "error", err)
		ss.badRequestAndClose()
		return false
	}
	id, hasID := root.Attrs["id"]
	if !hasID || len(root.Kids) != 1 {
		ss.send(encode(el("response", failure(400, "Bad request"))))
		return true
	}
	cmd := root.Kids[0]
	body, closeAfter := ss.srv.dispatch(ss.srv.ctx, ss, cmd)
	resp := el("response", body).attr("id", id)
	ss.send(encode(resp))
	if closeAfter {
		ss.flushAndClose()
		return false
	}
	return true
}
