package testkit

import (
	"cmp"
	"context"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ECCP test client: a console that speaks the Elastix/Issabel CallCenter
// Protocol over a real TCP (or TLS) connection with its own framing, and
// knows nothing of the server's Go types.
//
// Requests go out as the PHP client (ECCP.class.php) writes them:
// `<?xml version="1.0"?>` LF `<request id="N"><name>args</name></request>` LF,
// ids 1, 2, 3... per connection. One reader goroutine splits what the
// server sends into documents as the PHP client does: a depth counter over
// a streaming tokenizer, the document cut where the root closes, the rest
// of the read left-trimmed, and a new parser fed the remainder; the root
// must be <event> or <response>. A document the PHP client would reject
// (malformed XML, whitespace before a declaration, an unknown root) stops
// the reader, as the PHP client throws. Beside that, every document is
// checked against dialerd's exact framing (§2 of the wire-format note):
// `<?xml version="1.0"?>` LF, a one-line body of ASCII with empty
// elements as <x/>, LF, all in one read. Each departure is a violation;
// the test fails at cleanup when there is any (ECCPNoFramingCheck turns
// that off, for benchmarks).
//
// Request returns the next <response>, whatever came before it, as the
// PHP client does, and checks its id; events are kept for WaitEvent.

// ECCPDecl is the declaration dialerd writes before every document.
const ECCPDecl = `<?xml version="1.0"?>` + "\n"

// ECCPOption changes how DialECCP connects.
type ECCPOption func(*eccpDialer)

type eccpDialer struct {
	local     string
	tls       bool
	noCheck   bool
	onEvent   func(*ECCPDoc) bool
	noHistory bool
	bufSize   int
}

// ECCPFrom connects from the local address ip (127.0.0.2, ...).
func ECCPFrom(ip string) ECCPOption { return func(d *eccpDialer) { d.local = ip } }

// ECCPTLS connects with TLS (the server's certificate is not verified).
func ECCPTLS() ECCPOption { return func(d *eccpDialer) { d.tls = true } }

// ECCPNoFramingCheck leaves framing violations to the test: none fails it
// at cleanup.
func ECCPNoFramingCheck() ECCPOption { return func(d *eccpDialer) { d.noCheck = true } }

// ECCPOnEvent calls f, on the reader goroutine, with each event as it is
// split; when f returns true the event is dropped, not kept for
// WaitEvent. With it the client keeps no history of documents (Docs is
// empty): for benchmarks with many sessions.
func ECCPOnEvent(f func(*ECCPDoc) bool) ECCPOption {
	return func(d *eccpDialer) { d.onEvent, d.noHistory = f, true }
}

// ECCPReadBuffer reads with a buffer of n bytes (default 256 KiB), for
// benchmarks with many sessions. A document longer than a read is split
// across reads as it would be anyway.
func ECCPReadBuffer(n int) ECCPOption { return func(d *eccpDialer) { d.bufSize = n } }

// ECCPClient is one ECCP connection; it closes at the end of the test.
type ECCPClient struct {
	t       testing.TB
	conn    net.Conn
	opts    eccpDialer
	writeMu sync.Mutex
	nextID  int
	done    chan struct{} // closed when the reader stops
	once    sync.Once

	mu         sync.Mutex // guards all below
	wake       chan struct{}
	docs       []*ECCPDoc // every document, in order (unless noHistory)
	responses  []*ECCPDoc // not yet taken by Request or NextResponse
	events     []*ECCPDoc // every event kept, in order
	taken      []bool     // events[i] was returned by WaitEvent
	violations []string
	readErr    error // why the reader stopped: io.EOF when the server closed
	closedAt   time.Time
}

// DialECCP connects to the ECCP server at addr and fails the test if it
// cannot. The connection closes at the end of the test, and the test
// fails then if the server broke dialerd's framing.
func DialECCP(t testing.TB, addr string, opts ...ECCPOption) *ECCPClient {
	t.Helper()
	c, err := DialECCPErr(t, addr, opts...)
	if err != nil {
		t.Fatalf("dial eccp: %v", err)
	}
	return c
}

// DialECCPErr is DialECCP returning the error.
func DialECCPErr(t testing.TB, addr string, opts ...ECCPOption) (*ECCPClient, error) {
	var o eccpDialer
	for _, f := range opts {
		f(&o)
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	if o.local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(o.local)}
	}
	var conn net.Conn
	var err error
	if o.tls {
		conn, err = tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // a test's self-signed certificate
	} else {
		conn, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	return NewECCPClient(t, conn, opts...), nil
}

// NewECCPClient takes over conn and starts its reader.
func NewECCPClient(t testing.TB, conn net.Conn, opts ...ECCPOption) *ECCPClient {
	c := &ECCPClient{t: t, conn: conn, done: make(chan struct{}), wake: make(chan struct{})}
	for _, f := range opts {
		f(&c.opts)
	}
	go c.read()
	t.Cleanup(func() {
		c.Close()
		if !c.opts.noCheck {
			if v := c.Violations(); len(v) > 0 {
				t.Errorf("eccp %s: the server's output breaks dialerd's framing:\n  %s", conn.LocalAddr(), strings.Join(v, "\n  "))
			}
		}
	})
	return c
}

// Close closes the connection and waits for the reader. Safe to call twice.
func (c *ECCPClient) Close() {
	c.once.Do(func() { _ = c.conn.Close() })
	<-c.done
}

// Conn is the connection, for tests that need its addresses.
func (c *ECCPClient) Conn() net.Conn { return c.conn }

// Send writes a request <name>argsXML</name> with the next id, in one
// write, and returns the id.
func (c *ECCPClient) Send(name, argsXML string) string {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.nextID++
	id := strconv.Itoa(c.nextID)
	_, err := c.conn.Write(ECCPRequest(id, name, argsXML))
	if err != nil {
		c.fail(fmt.Errorf("write request %s %s: %w", id, name, err))
	}
	return id
}

// ECCPRequest is a request document as the PHP client writes it.
func ECCPRequest(id, name, argsXML string) []byte {
	return []byte(ECCPDecl + `<request id="` + id + `"><` + name + `>` + argsXML + `</` + name + `></request>` + "\n")
}

// WriteRaw writes b as it is, in one write.
func (c *ECCPClient) WriteRaw(b []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_, err := c.conn.Write(b)
	return err
}

// NextID is the id the next Send uses; for requests a test writes raw.
func (c *ECCPClient) NextID() string {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.nextID++
	return strconv.Itoa(c.nextID)
}

// Request sends a request and waits for the next <response>, as the PHP
// client does; it fails when that response's id is not the request's (the
// response is returned all the same).
func (c *ECCPClient) Request(ctx context.Context, name, argsXML string) (*ECCPDoc, error) {
	id := c.Send(name, argsXML)
	d, err := c.NextResponse(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s (id %s): %w", name, id, err)
	}
	if d.ID() != id {
		return d, fmt.Errorf("%s (id %s): the next response has id %q: %s", name, id, d.ID(), d.Raw)
	}
	return d, nil
}

// NextResponse waits for the next <response> not taken yet.
func (c *ECCPClient) NextResponse(ctx context.Context) (*ECCPDoc, error) {
	var got *ECCPDoc
	err := c.await(ctx, "a response", func() bool {
		if len(c.responses) == 0 {
			return false
		}
		got, c.responses = c.responses[0], c.responses[1:]
		return true
	})
	return got, err
}

// WaitEvent waits for the first event named name (the element inside
// <event>) that match accepts (nil: any) and that no WaitEvent returned
// before, and returns it; events it passes over stay for later calls.
func (c *ECCPClient) WaitEvent(ctx context.Context, name string, match func(*ECCPDoc) bool) (*ECCPDoc, error) {
	var got *ECCPDoc
	err := c.await(ctx, "event "+name, func() bool {
		for i, e := range c.events {
			if !c.taken[i] && e.Name() == name && (match == nil || match(e)) {
				c.taken[i], got = true, e
				return true
			}
		}
		return false
	})
	return got, err
}

// Mark is the number of documents received so far, for Since.
func (c *ECCPClient) Mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.docs)
}

// Since are the documents received after Mark returned from, in order.
func (c *ECCPClient) Since(from int) []*ECCPDoc {
	c.mu.Lock()
	defer c.mu.Unlock()
	if from > len(c.docs) {
		return nil
	}
	return append([]*ECCPDoc(nil), c.docs[from:]...)
}

// EventsSince are the names of the events received after mark from, in order.
func (c *ECCPClient) EventsSince(from int) []string {
	var out []string
	for _, d := range c.Since(from) {
		if d.IsEvent() {
			out = append(out, d.Name())
		}
	}
	return out
}

// Docs are every document received, in order.
func (c *ECCPClient) Docs() []*ECCPDoc { return c.Since(0) }

// Violations are the departures from dialerd's framing seen so far.
func (c *ECCPClient) Violations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.violations...)
}

// Err is why the reader stopped (io.EOF: the server closed), nil while it
// reads.
func (c *ECCPClient) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readErr
}

// WaitClosed waits until the server closes the connection (or the reader
// stops for another reason) and returns why, io.EOF for a clean close.
func (c *ECCPClient) WaitClosed(ctx context.Context) error {
	select {
	case <-c.done:
		return c.Err()
	case <-ctx.Done():
		return fmt.Errorf("eccp connection still open: %w", ctx.Err())
	}
}

// ClosedAt is when the reader saw the connection end (zero while open).
func (c *ECCPClient) ClosedAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closedAt
}

// Login logs the session in and returns the app cookie; it fails the test
// when the server refuses.
func (c *ECCPClient) Login(user, password string) string {
	c.t.Helper()
	d := c.login(user, password)
	cookie := d.Text("login_response", "app_cookie")
	if !d.Success() || cookie == "" {
		c.t.Fatalf("eccp login %s: %s", user, d.Raw)
	}
	return cookie
}

// LogsIn reports whether the server takes user and password.
func (c *ECCPClient) LogsIn(user, password string) bool {
	c.t.Helper()
	return c.login(user, password).Success()
}

// login sends login and returns the response; no response fails the test.
func (c *ECCPClient) login(user, password string) *ECCPDoc {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := c.Request(ctx, "login", "<username>"+ECCPEscape(user)+"</username><password>"+ECCPEscape(password)+"</password>")
	if err != nil {
		c.t.Fatalf("eccp login %s: %v", user, err)
	}
	return d
}

// AgentHash is md5(cookie + agent + password) in lowercase hex, what
// agent-authenticated requests carry.
func AgentHash(cookie, agent, password string) string {
	sum := md5.Sum([]byte(cookie + agent + password))
	return hex.EncodeToString(sum[:])
}

// ECCPEscape escapes s for XML character data.
func ECCPEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// await runs cond under mu each time the reader files something, until
// it is true, the reader stops or ctx ends.
func (c *ECCPClient) await(ctx context.Context, what string, cond func() bool) error {
	for {
		c.mu.Lock()
		ok, wake, rerr := cond(), c.wake, c.readErr
		c.mu.Unlock()
		if ok {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("waiting for %s: connection ended: %w", what, rerr)
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		}
	}
}

func (c *ECCPClient) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readErr == nil {
		c.readErr = err
	}
	c.wakeLocked()
}

func (c *ECCPClient) wakeLocked() { close(c.wake); c.wake = make(chan struct{}) }

func (c *ECCPClient) read() {
	defer close(c.done)
	var sp ECCPSplitter
	buf := make([]byte, cmp.Or(c.opts.bufSize, 256<<10))
	for {
		n, err := c.conn.Read(buf)
		now := time.Now()
		if n > 0 {
			docs, viol, perr := sp.Feed(buf[:n])
			c.file(docs, viol, now)
			if perr != nil {
				c.fail(perr)
				_ = c.conn.Close()
				return
			}
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				err = io.ErrClosedPipe
			}
			if v := sp.Pending(); v != "" {
				c.mu.Lock()
				c.violations = append(c.violations, v)
				c.mu.Unlock()
			}
			c.mu.Lock()
			c.closedAt = now
			c.mu.Unlock()
			c.fail(err)
			return
		}
	}
}

func (c *ECCPClient) file(docs []*ECCPDoc, viol []string, now time.Time) {
	var keep []*ECCPDoc
	for _, d := range docs {
		d.Received = now
		if d.IsEvent() && c.opts.onEvent != nil && c.opts.onEvent(d) {
			continue
		}
		keep = append(keep, d)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.violations = append(c.violations, viol...)
	for _, d := range keep {
		if !c.opts.noHistory {
			c.docs = append(c.docs, d)
		}
		if d.IsEvent() {
			c.events = append(c.events, d)
			c.taken = append(c.taken, false)
		} else {
			c.responses = append(c.responses, d)
		}
	}
	c.wakeLocked()
}
