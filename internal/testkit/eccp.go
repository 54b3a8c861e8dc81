package testkit

import (
	"bytes"
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

// ECCPNode is an element of a received document.
type ECCPNode struct {
	Name  string
	Attrs []xml.Attr // in document order
	Text  string     // the character data directly inside, untrimmed
	Kids  []*ECCPNode
}

// Child is the first child element named name, or nil.
func (n *ECCPNode) Child(name string) *ECCPNode {
	if n == nil {
		return nil
	}
	for _, k := range n.Kids {
		if k.Name == name {
			return k
		}
	}
	return nil
}

// Children are the child elements named name, in order (every child when
// name is "").
func (n *ECCPNode) Children(name string) []*ECCPNode {
	if n == nil {
		return nil
	}
	var out []*ECCPNode
	for _, k := range n.Kids {
		if name == "" || k.Name == name {
			out = append(out, k)
		}
	}
	return out
}

// Find follows path from n, each step the first child of that name; nil
// when a step is missing. An empty path is n itself.
func (n *ECCPNode) Find(path ...string) *ECCPNode {
	for _, p := range path {
		n = n.Child(p)
	}
	return n
}

// Has reports whether path leads to an element.
func (n *ECCPNode) Has(path ...string) bool { return n.Find(path...) != nil }

// TextOf is the trimmed character data of the element path leads to,
// "" when it is missing.
func (n *ECCPNode) TextOf(path ...string) string {
	if e := n.Find(path...); e != nil {
		return strings.TrimSpace(e.Text)
	}
	return ""
}

// Attr is the value of attribute name ("" when absent).
func (n *ECCPNode) Attr(name string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// Names are the names of n's child elements, in document order.
func (n *ECCPNode) Names() []string {
	if n == nil {
		return nil
	}
	out := make([]string, len(n.Kids))
	for i, k := range n.Kids {
		out[i] = k.Name
	}
	return out
}

// ECCPDoc is one document the server sent.
type ECCPDoc struct {
	Raw      []byte    // its bytes, from the declaration to the final LF (when it came in the same read)
	Root     *ECCPNode // <response> or <event>
	Seq      int       // its place in the connection's stream, from 1
	Received time.Time // when the read that completed it returned
}

// IsEvent reports whether the document is an <event>.
func (d *ECCPDoc) IsEvent() bool { return d.Root.Name == "event" }

// ID is the response's id attribute ("" for none).
func (d *ECCPDoc) ID() string { return d.Root.Attr("id") }

// Body is the root's first child element: <X_response>, a top-level
// <failure>, or the event's element.
func (d *ECCPDoc) Body() *ECCPNode {
	if len(d.Root.Kids) == 0 {
		return nil
	}
	return d.Root.Kids[0]
}

// Name is the body's name: "login_response", "failure", "agentlinked".
func (d *ECCPDoc) Name() string {
	if b := d.Body(); b != nil {
		return b.Name
	}
	return ""
}

// Text is the trimmed text of the element path leads to from the root
// ("login_response", "app_cookie"); "" when missing.
func (d *ECCPDoc) Text(path ...string) string { return d.Root.TextOf(path...) }

// Find is the element path leads to from the root, or nil.
func (d *ECCPDoc) Find(path ...string) *ECCPNode { return d.Root.Find(path...) }

// Children are the child elements of the element path leads to from the
// root, in order.
func (d *ECCPDoc) Children(path ...string) []*ECCPNode { return d.Root.Find(path...).Children("") }

// Names are the names of the children of the element path leads to from
// the root, in order: what a test checks element order with.
func (d *ECCPDoc) Names(path ...string) []string { return d.Root.Find(path...).Names() }

// Failure is the code and message of the document's failure: the
// top-level one (<response><failure>) or the one in the body
// (<response><X_response><failure>); ok is false when there is none.
func (d *ECCPDoc) Failure() (code int, msg string, ok bool) {
	f := d.Root.Child("failure")
	if f == nil {
		f = d.Body().Child("failure")
	}
	if f == nil {
		return 0, "", false
	}
	code, _ = strconv.Atoi(f.TextOf("code"))
	return code, f.TextOf("message"), true
}

// Success reports whether the body holds <success/>.
func (d *ECCPDoc) Success() bool { return d.Body().Has("success") }

func (d *ECCPDoc) String() string { return string(d.Raw) }

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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := c.Request(ctx, "login", "<username>"+ECCPEscape(user)+"</username><password>"+ECCPEscape(password)+"</password>")
	if err != nil {
		c.t.Fatalf("eccp login %s: %v", user, err)
	}
	cookie := d.Text("login_response", "app_cookie")
	if !d.Success() || cookie == "" {
		c.t.Fatalf("eccp login %s: %s", user, d.Raw)
	}
	return cookie
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

// ECCPSplitter splits a stream of server output into documents, read by
// read, as the PHP client does, and checks dialerd's framing. The zero
// value is ready.
type ECCPSplitter struct {
	buf     []byte // what the current parser was fed: the document being read
	pos     int    // where scanning resumes in buf
	depth   int
	n       int  // documents cut so far
	needNL  bool // the last document's final LF has not arrived
	stopped error
}

// Feed takes the bytes of one read and returns the documents it
// completes, the framing violations seen, and an error when the PHP
// client would throw (malformed XML, an unknown root, whitespace before a
// declaration); after an error Feed takes nothing more.
func (s *ECCPSplitter) Feed(chunk []byte) (docs []*ECCPDoc, violations []string, err error) {
	if s.stopped != nil {
		return nil, nil, s.stopped
	}
	if len(chunk) == 0 {
		return nil, nil, nil
	}
	if s.needNL {
		s.needNL = false
		if chunk[0] == '\n' {
			violations = append(violations, fmt.Sprintf("document %d: its final LF came in a later read (written apart): the PHP client then sees whitespace before the next declaration", s.n))
		} else {
			violations = append(violations, fmt.Sprintf("document %d: not followed by LF (next bytes %q)", s.n, clip(chunk)))
		}
	}
	s.buf = append(s.buf, chunk...)
	for {
		end, err := s.scan()
		if err != nil {
			s.stopped = fmt.Errorf("document %d: %w (bytes %q)", s.n+1, err, clip(s.buf))
			return docs, violations, s.stopped
		}
		if end < 0 {
			return docs, violations, nil
		}
		s.n++
		raw := append([]byte(nil), s.buf[:end]...)
		rest := s.buf[end:]
		switch {
		case len(rest) == 0:
			s.needNL = true
		case rest[0] == '\n':
			raw = append(raw, '\n')
			rest = rest[1:]
		default:
			violations = append(violations, fmt.Sprintf("document %d: not followed by LF (next bytes %q)", s.n, clip(rest)))
		}
		violations = append(violations, ECCPFramingViolations(s.n, raw, s.needNL)...)
		trimmed := bytes.TrimLeft(rest, " \t\r\n")
		if len(trimmed) != len(rest) {
			violations = append(violations, fmt.Sprintf("document %d: followed by extra whitespace %q", s.n, rest[:len(rest)-len(trimmed)]))
		}
		s.buf, s.pos, s.depth = append([]byte(nil), trimmed...), 0, 0
		root, perr := parseECCPDoc(raw)
		if perr != nil {
			s.stopped = fmt.Errorf("document %d: malformed XML: %w (bytes %q)", s.n, perr, clip(raw))
			return docs, violations, s.stopped
		}
		if root.Name != "event" && root.Name != "response" {
			s.stopped = fmt.Errorf("document %d: unrecognized packet type: %s", s.n, root.Name)
			return docs, violations, s.stopped
		}
		docs = append(docs, &ECCPDoc{Raw: raw, Root: root, Seq: s.n})
	}
}

// Pending describes bytes left over when the stream ends: a document cut
// short, or a missing final LF; "" when the stream ended cleanly.
func (s *ECCPSplitter) Pending() string {
	switch {
	case s.stopped != nil:
		return ""
	case s.needNL:
		return fmt.Sprintf("document %d: the stream ended before its final LF", s.n)
	case len(bytes.TrimSpace(s.buf)) > 0:
		return fmt.Sprintf("the stream ended inside document %d: %q", s.n+1, clip(s.buf))
	}
	return ""
}

func clip(b []byte) []byte {
	if len(b) > 200 {
		return b[:200]
	}
	return b
}

// scan moves through buf from pos, counting depth, and returns the index
// just after the root's closing '>' once the document is complete, or -1
// when more bytes are needed.
func (s *ECCPSplitter) scan() (int, error) {
	b := s.buf
	for s.pos < len(b) {
		i := s.pos
		if b[i] != '<' {
			j := bytes.IndexByte(b[i:], '<')
			if j < 0 {
				j = len(b) - i
			}
			if s.depth == 0 && len(bytes.TrimSpace(b[i:i+j])) > 0 {
				return -1, fmt.Errorf("text outside the root element")
			}
			s.pos = i + j
			continue
		}
		rest := b[i:]
		var end int // index after the construct, relative to i
		switch {
		case bytes.HasPrefix(rest, []byte("<?")):
			k := bytes.Index(rest, []byte("?>"))
			if k < 0 {
				return -1, nil
			}
			end = k + 2
			if isXMLDecl(rest[:end]) && i > 0 {
				// libxml: "XML declaration allowed only at the start of
				// the document" (PHP reports Reserved XML Name).
				return -1, fmt.Errorf("XML declaration not at the start of the document (after %q)", b[:i])
			}
		case bytes.HasPrefix(rest, []byte("<!--")):
			k := bytes.Index(rest[4:], []byte("-->"))
			if k < 0 {
				return -1, nil
			}
			end = 4 + k + 3
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			k := bytes.Index(rest, []byte("]]>"))
			if k < 0 {
				return -1, nil
			}
			end = k + 3
		case len(rest) < 9 && bytes.HasPrefix([]byte("<![CDATA["), rest):
			return -1, nil
		case bytes.HasPrefix(rest, []byte("<!")):
			k := bytes.IndexByte(rest, '>')
			if k < 0 {
				return -1, nil
			}
			end = k + 1
		case bytes.HasPrefix(rest, []byte("</")):
			k := bytes.IndexByte(rest, '>')
			if k < 0 {
				return -1, nil
			}
			end = k + 1
			s.depth--
			if s.depth < 0 {
				return -1, fmt.Errorf("end tag %q without a start", rest[:end])
			}
			if s.depth == 0 {
				s.pos = i + end
				return s.pos, nil
			}
		default:
			k := tagEnd(rest)
			if k < 0 {
				return -1, nil
			}
			end = k + 1
			if rest[k-1] != '/' {
				s.depth++
			} else if s.depth == 0 {
				s.pos = i + end
				return s.pos, nil
			}
		}
		s.pos = i + end
	}
	return -1, nil
}

// tagEnd is the index of the '>' closing the start tag at the start of b,
// skipping quoted attribute values; -1 when it has not arrived.
func tagEnd(b []byte) int {
	var quote byte
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return i
		}
	}
	return -1
}

func isXMLDecl(pi []byte) bool {
	return len(pi) >= 6 && string(pi[:5]) == "<?xml" && (pi[5] == ' ' || pi[5] == '\t' || pi[5] == '\r' || pi[5] == '\n' || pi[5] == '?')
}

// ECCPFramingViolations checks one document (raw: as received, ending
// with its LF unless lfLate) against dialerd's framing: the exact
// declaration and LF first, a one-line ASCII body with empty elements
// written <x/>, and the LF right after the root. n numbers the document
// in the messages.
func ECCPFramingViolations(n int, raw []byte, lfLate bool) []string {
	var out []string
	bad := func(format string, args ...any) {
		out = append(out, fmt.Sprintf("document %d: ", n)+fmt.Sprintf(format, args...))
	}
	if !bytes.HasPrefix(raw, []byte(ECCPDecl)) {
		if i := bytes.Index(raw, []byte("<?xml")); i > 0 {
			bad("%q before the declaration", raw[:i])
		} else {
			bad("does not start with %q: %q", ECCPDecl, clip(raw))
		}
		return out
	}
	body := raw[len(ECCPDecl):]
	if !lfLate {
		if len(body) == 0 || body[len(body)-1] != '\n' {
			bad("does not end with LF")
		} else {
			body = body[:len(body)-1]
		}
	}
	if i := bytes.IndexAny(body, "\r\n"); i >= 0 {
		bad("the body is not one line: line end at byte %d: %q", i, clip(body))
	}
	for i, c := range body {
		if c >= 0x80 {
			bad("non-ASCII byte %#x at %d (dialerd writes &#xHH;): %q", c, i, clip(body[max(0, i-40):]))
			break
		}
	}
	if name := emptyPair(body); name != "" {
		bad("empty element written <%s></%s>, dialerd writes <%s/>", name, name, name)
	}
	return out
}

// emptyPair finds an element written as a start tag directly followed by
// its end tag and returns its name, or "".
func emptyPair(body []byte) string {
	for off := 0; ; {
		k := bytes.Index(body[off:], []byte("></"))
		if k < 0 {
			return ""
		}
		at := off + k
		open := bytes.LastIndexByte(body[:at], '<')
		if open >= 0 && open+1 < at {
			tag := body[open+1 : at+1]
			if c := tag[0]; c != '/' && c != '?' && c != '!' && tag[len(tag)-2] != '/' {
				name := tag[:len(tag)-1]
				if sp := bytes.IndexAny(name, " \t\r\n"); sp >= 0 {
					name = name[:sp]
				}
				if bytes.HasPrefix(body[at+3:], append(append([]byte(nil), name...), '>')) {
					return string(name)
				}
			}
		}
		off = at + 3
	}
}

// parseECCPDoc parses one document strictly into its element tree.
func parseECCPDoc(raw []byte) (*ECCPNode, error) {
	dec := xml.NewDecoder(bytes.NewReader(raw))
	dec.Strict = true
	var root *ECCPNode
	var stack []*ECCPNode
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			n := &ECCPNode{Name: tk.Name.Local, Attrs: append([]xml.Attr(nil), tk.Attr...)}
			if len(stack) == 0 {
				if root != nil {
					return nil, errors.New("a second root element")
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.Kids = append(p.Kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(tk)
			}
		}
	}
	if root == nil || len(stack) != 0 {
		return nil, errors.New("no complete root element")
	}
	return root, nil
}
