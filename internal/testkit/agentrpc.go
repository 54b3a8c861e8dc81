package testkit

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Agent RPC test bot: a real WebSocket client of the bot-control plane that
// speaks only the wire (JSON text frames, binary listen frames) and knows
// nothing of the server's Go types. One reader goroutine per bot sorts
// every frame: a response (code > 0) goes to the request with its id, an
// invite to the NextInvite queue, a bye is answered 200 and kept per did
// (WaitBye), a binary frame goes to the request whose id it carries. Each
// waiter has its own wake channel, so hundreds of concurrent calls on one
// bot stay cheap.

// AgentRequest is a request from the PBX (invite or bye).
type AgentRequest struct {
	ID, DID, Op      string
	CallID, From, To string         // invite data
	Data             map[string]any // "data" (nil when null)
	Raw              []byte         // the frame as received
	Replied          int            // the code the invite policy answered, 0 when none
}

// AgentResponse is one response frame.
type AgentResponse struct {
	ID, DID string
	Code    int
	Reason  string
	Data    map[string]any // "data" (nil when null)
	Raw     []byte         // the frame as received
}

// Str is Data[key] as a string ("" when absent or not a string).
func (r AgentResponse) Str(key string) string { return agentStr(r.Data, key) }

// AgentResult is everything the PBX answered to one request.
type AgentResult struct {
	Provisional []AgentResponse // every 1xx, in order
	Final       AgentResponse
	Binary      []byte // audio of the binary frame carrying the request id
}

// AgentPending is a request sent by Start whose answers arrive later.
type AgentPending struct {
	ID, DID, Op string
	bot         *AgentBot
	err         error // the request could not be written
	wake        chan struct{}
	res         AgentResult
	final       bool
	provNext    int // the next provisional Provisional returns
}

// AgentBot is one Agent RPC connection; Close runs at the end of the test.
type AgentBot struct {
	conn    *websocket.Conn
	prefix  string // makes request ids unique across bots
	keepRaw bool
	writeMu sync.Mutex
	done    chan struct{} // closed when the reader exits
	once    sync.Once

	mu        sync.Mutex // guards all below and every queue and pending
	nextID    int
	pending   map[string]*AgentPending
	policy    func(AgentRequest) (int, string)
	manualBye bool
	byes      map[string]*agentQueue[AgentRequest]
	invites   *agentQueue[AgentRequest]
	stray     *agentQueue[AgentResponse] // responses no request waits for
	raw       *agentQueue[[]byte]        // every text frame
	readErr   error
}

// agentQueue holds frames taken oldest first; wake is closed and replaced
// on every push.
type agentQueue[T any] struct {
	items []T
	wake  chan struct{}
}

func newAgentQueue[T any]() *agentQueue[T] { return &agentQueue[T]{wake: make(chan struct{})} }

func (q *agentQueue[T]) push(v T) { q.items = append(q.items, v); agentWake(&q.wake) }

func agentWake(ch *chan struct{}) { close(*ch); *ch = make(chan struct{}) }

// take waits up to timeout for the oldest item of q; keep leaves it there.
func agentTake[T any](b *AgentBot, q *agentQueue[T], timeout time.Duration, keep bool) (T, error) {
	var got T
	err := b.wait(timeout, &q.wake, func() bool {
		if len(q.items) == 0 {
			return false
		}
		got = q.items[0]
		if !keep {
			q.items = q.items[1:]
		}
		return true
	})
	return got, err
}

var agentBots atomic.Int64

// AgentDialOption changes how DialAgentRPC connects.
type AgentDialOption func(q url.Values, h http.Header, keepRaw *bool)

// AgentToken sends token as the ?token= query parameter.
func AgentToken(token string) AgentDialOption {
	return func(q url.Values, _ http.Header, _ *bool) { q.Set("token", token) }
}

// AgentBearer sends token in an Authorization: Bearer header.
func AgentBearer(token string) AgentDialOption {
	return func(_ url.Values, h http.Header, _ *bool) { h.Set("Authorization", "Bearer "+token) }
}

// AgentNoRaw keeps no text frames for ReadRaw (long benchmarks).
func AgentNoRaw() AgentDialOption { return func(_ url.Values, _ http.Header, k *bool) { *k = false } }

// DialAgentRPC connects a bot to ws://addr/?endpoint=endpoint and fails the
// test when the upgrade is refused.
func DialAgentRPC(t testing.TB, addr, endpoint string, opts ...AgentDialOption) *AgentBot {
	t.Helper()
	q, h, keepRaw := url.Values{"endpoint": {endpoint}}, http.Header{}, true
	for _, o := range opts {
		o(q, h, &keepRaw)
	}
	conn, res, err := DialAgentRPCRaw(addr, q.Encode(), h)
	if err != nil {
		if res != nil {
			body, _ := io.ReadAll(res.Body)
			err = fmt.Errorf("%w: %s %q", err, res.Status, body)
		}
		t.Fatalf("dial agent rpc: %v", err)
	}
	return NewAgentBot(t, conn, keepRaw)
}

// DialAgentRPCRaw opens a WebSocket to ws://addr/?query with header on the
// upgrade request. When the upgrade is refused it returns the HTTP response
// too; its Body holds the server's text (400, 401, 404 tests).
func DialAgentRPCRaw(addr, query string, header http.Header) (*websocket.Conn, *http.Response, error) {
	u := "ws://" + addr + "/?" + query
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, res, err := d.Dial(u, header)
	if err != nil {
		return nil, res, fmt.Errorf("dial %s: %w", u, err)
	}
	return conn, res, nil
}

// NewAgentBot takes over conn and starts its reader; keepRaw keeps every
// text frame for ReadRaw.
func NewAgentBot(t testing.TB, conn *websocket.Conn, keepRaw bool) *AgentBot {
	b := &AgentBot{conn: conn, keepRaw: keepRaw, done: make(chan struct{}),
		prefix:  "b" + strconv.FormatInt(agentBots.Add(1), 10) + "-",
		pending: map[string]*AgentPending{}, byes: map[string]*agentQueue[AgentRequest]{},
		invites: newAgentQueue[AgentRequest](), stray: newAgentQueue[AgentResponse](), raw: newAgentQueue[[]byte]()}
	go b.read()
	t.Cleanup(b.Close)
	return b
}

// Close sends a normal close frame, closes the connection and waits for the
// reader to stop. Safe to call twice.
func (b *AgentBot) Close() {
	b.once.Do(func() {
		closeWebSocket(&b.writeMu, b.conn)
		<-b.done
	})
}

// Drop closes the TCP connection without a close frame, as a crashed bot.
func (b *AgentBot) Drop() { b.once.Do(func() { _ = b.conn.Close(); <-b.done }) }

// WaitClosed waits for the server to end the connection and returns why (a
// *websocket.CloseError carries the code: 1009 for a frame too big).
func (b *AgentBot) WaitClosed(timeout time.Duration) error {
	select {
	case <-b.done:
		return b.Err()
	case <-time.After(timeout):
		return errors.New("agent rpc connection still open after " + timeout.String())
	}
}

// Err is why the reader stopped, or nil while the connection is open.
func (b *AgentBot) Err() error { b.mu.Lock(); defer b.mu.Unlock(); return b.readErr }

func (b *AgentBot) read() {
	defer close(b.done)
	for {
		typ, data, err := b.conn.ReadMessage()
		switch {
		case err != nil:
			b.mu.Lock()
			b.readErr = err
			b.mu.Unlock()
			return
		case typ == websocket.BinaryMessage:
			b.fileBinary(data)
		default:
			b.fileText(data)
		}
	}
}

// fileBinary gives a listen frame (1, BE uint32 id length, id, audio) to
// the request with that id; other binary frames are dropped.
func (b *AgentBot) fileBinary(data []byte) {
	if len(data) < 5 || data[0] != 1 || uint64(len(data)) < 5+uint64(binary.BigEndian.Uint32(data[1:])) {
		return
	}
	n := 5 + binary.BigEndian.Uint32(data[1:])
	b.mu.Lock()
	defer b.mu.Unlock()
	if p := b.pending[string(data[5:n])]; p != nil {
		p.res.Binary = append(p.res.Binary, data[n:]...)
		agentWake(&p.wake)
	}
}

func (b *AgentBot) fileText(data []byte) {
	var f struct {
		ID, DID, Op, Reason string
		Code                int
		Data                json.RawMessage
	}
	bad := json.Unmarshal(data, &f) != nil
	var m map[string]any
	if !bad && len(f.Data) > 0 {
		_ = json.Unmarshal(f.Data, &m)
	}
	b.mu.Lock()
	if b.keepRaw {
		b.raw.push(data)
	}
	if bad || (f.Code <= 0 && f.Op == "") {
		b.mu.Unlock()
		return
	}
	if f.Code > 0 {
		r := AgentResponse{ID: f.ID, DID: f.DID, Code: f.Code, Reason: f.Reason, Data: m, Raw: data}
		switch p := b.pending[f.ID]; {
		case p == nil:
			b.stray.push(r)
		case r.Code < 200:
			p.res.Provisional = append(p.res.Provisional, r)
			agentWake(&p.wake)
		default:
			p.res.Final, p.final = r, true
			delete(b.pending, f.ID)
			agentWake(&p.wake)
		}
		b.mu.Unlock()
		return
	}
	req := AgentRequest{ID: f.ID, DID: f.DID, Op: f.Op, Data: m, Raw: data,
		CallID: agentStr(m, "callID"), From: agentStr(m, "from"), To: agentStr(m, "to")}
	if f.Op == "bye" {
		b.byeQueue(f.DID).push(req)
		manual := b.manualBye
		b.mu.Unlock()
		if !manual {
			_ = b.Reply(req, 200, "OK")
		}
		return
	}
	policy := b.policy
	b.mu.Unlock()
	if policy != nil {
		if code, reason := policy(req); code > 0 {
			req.Replied = code
			_ = b.Reply(req, code, reason)
		}
	}
	b.mu.Lock()
	b.invites.push(req)
	b.mu.Unlock()
}

func agentStr(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// byeQueue is the list of bye requests about did; b.mu is held.
func (b *AgentBot) byeQueue(did string) *agentQueue[AgentRequest] {
	if b.byes[did] == nil {
		b.byes[did] = newAgentQueue[AgentRequest]()
	}
	return b.byes[did]
}

// wait runs check under b.mu until it holds, the timeout passes or the
// connection ends; *wake (read under b.mu) is closed on every change.
func (b *AgentBot) wait(timeout time.Duration, wake *chan struct{}, check func() bool) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for ended := false; ; {
		b.mu.Lock()
		ok, ch := check(), *wake
		b.mu.Unlock()
		switch {
		case ok:
			return nil
		case ended:
			return fmt.Errorf("connection ended: %v", b.Err())
		}
		select {
		case <-ch:
		case <-b.done:
			ended = true // check once more: the last frame may be the one
		case <-timer.C:
			return fmt.Errorf("timeout after %s", timeout)
		}
	}
}

// SetInvitePolicy makes the reader answer each request other than bye with
// policy's code and reason (code 0: leave it to Reply); the request is
// still queued for NextInvite, with Replied set. policy runs on the reader
// goroutine and must not wait on the bot.
func (b *AgentBot) SetInvitePolicy(policy func(AgentRequest) (code int, reason string)) {
	b.mu.Lock()
	b.policy = policy
	b.mu.Unlock()
}

// AutoAccept answers every invite 200 OK as it arrives.
func (b *AgentBot) AutoAccept() {
	b.SetInvitePolicy(func(AgentRequest) (int, string) { return 200, "OK" })
}

// AutoBye sets whether a bye is answered 200 OK at once (the default); when
// off the test answers it with Reply, or never.
func (b *AgentBot) AutoBye(on bool) { b.mu.Lock(); b.manualBye = !on; b.mu.Unlock() }

// NextInvite takes the oldest request from the PBX other than bye not yet
// taken, waiting up to timeout for it.
func (b *AgentBot) NextInvite(timeout time.Duration) (AgentRequest, error) {
	req, err := agentTake(b, b.invites, timeout, false)
	if err != nil {
		err = fmt.Errorf("no invite: %w", err)
	}
	return req, err
}

// WaitBye returns the (first) bye request about did, waiting up to timeout
// when it has not come yet.
func (b *AgentBot) WaitBye(did string, timeout time.Duration) (AgentRequest, error) {
	b.mu.Lock()
	q := b.byeQueue(did)
	b.mu.Unlock()
	req, err := agentTake(b, q, timeout, true)
	if err != nil {
		err = fmt.Errorf("no bye for did %q: %w", did, err)
	}
	return req, err
}

// Reply answers a request from the PBX: {"id","did","code","reason","data":null}.
func (b *AgentBot) Reply(req AgentRequest, code int, reason string) error {
	return b.Send(fmt.Appendf(nil, `{"id":%s,"did":%s,"code":%d,"reason":%s,"data":null}`,
		agentQuote(req.ID), agentQuote(req.DID), code, agentQuote(reason)))
}

// Start sends request op about did with a fresh id ("data" left out when
// data is nil); await its answers on the returned AgentPending.
func (b *AgentBot) Start(did, op string, data any) *AgentPending {
	b.mu.Lock()
	b.nextID++
	p := &AgentPending{ID: b.prefix + strconv.Itoa(b.nextID), DID: did, Op: op, bot: b, wake: make(chan struct{})}
	b.pending[p.ID] = p
	b.mu.Unlock()
	frame := fmt.Appendf(nil, `{"id":%s,"did":%s,"op":%s`, agentQuote(p.ID), agentQuote(did), agentQuote(op))
	if data != nil {
		d, err := json.Marshal(data)
		if p.err = err; err != nil {
			return p
		}
		frame = append(append(frame, `,"data":`...), d...)
	}
	p.err = b.Send(append(frame, '}'))
	return p
}

// Do sends a request and waits up to timeout for its final response.
func (b *AgentBot) Do(did, op string, data any, timeout time.Duration) (AgentResult, error) {
	return b.Start(did, op, data).Final(timeout)
}

// Cancel sends {"id":id,"did":did,"op":":requestCancel"}.
func (b *AgentBot) Cancel(id, did string) error {
	return b.Send(fmt.Appendf(nil, `{"id":%s,"did":%s,"op":":requestCancel"}`, agentQuote(id), agentQuote(did)))
}

func agentQuote(s string) []byte { q, _ := json.Marshal(s); return q }

// Final waits for the final response and returns it with every provisional
// response and the binary audio received for the request.
func (p *AgentPending) Final(timeout time.Duration) (AgentResult, error) {
	var res AgentResult
	err := p.err
	if err == nil {
		err = p.bot.wait(timeout, &p.wake, func() bool { res = p.res; return p.final })
	}
	if err != nil {
		return res, fmt.Errorf("no final response to %s %s (did %q): %w", p.Op, p.ID, p.DID, err)
	}
	return res, nil
}

// Provisional returns the next 1xx response to the request not yet
// returned, waiting up to timeout; a final response first is an error.
func (p *AgentPending) Provisional(timeout time.Duration) (AgentResponse, error) {
	var got AgentResponse
	err := p.err
	if err == nil {
		err = p.bot.wait(timeout, &p.wake, func() bool {
			if p.provNext < len(p.res.Provisional) {
				got = p.res.Provisional[p.provNext]
				p.provNext++
				return true
			}
			return p.final
		})
	}
	if err == nil && got.Code == 0 {
		err = fmt.Errorf("final %d %s came first", p.res.Final.Code, p.res.Final.Reason)
	}
	if err != nil {
		return got, fmt.Errorf("no provisional response to %s %s: %w", p.Op, p.ID, err)
	}
	return got, nil
}

// NextResponse takes the oldest response no Start or Do waits for: the
// answer to a frame written with Send, or one with id "".
func (b *AgentBot) NextResponse(timeout time.Duration) (AgentResponse, error) {
	r, err := agentTake(b, b.stray, timeout, false)
	if err != nil {
		err = fmt.Errorf("no response: %w", err)
	}
	return r, err
}

// ReadRaw returns the next text frame received, in arrival order (a cursor
// of its own; nothing else moves it). Nothing arrives with AgentNoRaw.
func (b *AgentBot) ReadRaw(timeout time.Duration) ([]byte, error) {
	f, err := agentTake(b, b.raw, timeout, false)
	if err != nil {
		err = fmt.Errorf("no frame: %w", err)
	}
	return f, err
}

// Send writes data as one text frame, as is.
func (b *AgentBot) Send(data []byte) error { return b.write(websocket.TextMessage, data) }

// SendBinary writes data as one binary frame, as is.
func (b *AgentBot) SendBinary(data []byte) error { return b.write(websocket.BinaryMessage, data) }

func (b *AgentBot) write(typ int, data []byte) error {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	_ = b.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := b.conn.WriteMessage(typ, data); err != nil {
		return fmt.Errorf("agent rpc write: %w", err)
	}
	return nil
}
