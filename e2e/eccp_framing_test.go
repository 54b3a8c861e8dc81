package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"pbx/config"
	"pbx/internal/testkit"
)

// ECCP's framing on a real connection: what the server must accept
// (a document a byte at a time, documents coalesced in one write, with
// or without a declaration, CRLF, whitespace between documents, any id
// echoed verbatim), what closes a session (malformed XML, a wrong root:
// 400 without id, then the close) without touching the others, the
// authorized addresses, the inactivity timeout, TLS, and a fuzz of the
// input. Every document the server writes is checked against dialerd's
// bytes by the test client.

// ecRaw is a request document with no declaration and no final LF.
func ecRaw(id, name, args string) string {
	return `<request id="` + id + `"><` + name + `>` + args + `</` + name + `></request>`
}

// TestECCPFramingInput: a request written a byte at a time, one per
// write; requests without a declaration, with one naming UTF-8, with
// CRLF line ends and indentation, with whitespace between documents;
// ids echoed verbatim, whatever they hold.
func TestECCPFramingInput(t *testing.T) {
	p, _ := ecPBX(t)
	c := ecDial(t, p)
	login := testkit.ECCPRequest("1292899827.394772", "login", "<username>agentconsole</username><password>agentconsole</password>")
	for i := range login {
		if err := c.WriteRaw(login[i : i+1]); err != nil {
			t.Fatal(err)
		}
	}
	d, err := c.NextResponse(ecCtx(t))
	if err != nil || d.ID() != "1292899827.394772" || !d.Success() {
		t.Fatalf("login written a byte at a time: %v %v", d, err)
	}
	ecGolden(t, "login_ok", d)

	for _, k := range []struct{ what, id, doc string }{
		{"no declaration", "a", ecRaw("a", "getpauses", "")},
		{"an encoding in the declaration", "b", `<?xml version="1.0" encoding="UTF-8" standalone="no"?>` + ecRaw("b", "getpauses", "")},
		{"CRLF and indentation", "c-1", "<?xml version=\"1.0\"?>\r\n<request id=\"c-1\">\r\n  <getpauses>\r\n  </getpauses>\r\n</request>\r\n"},
		{"whitespace between documents", "d", "\n\n  \t" + ecRaw("d", "getpauses", "") + "\n\n"},
		{"an id to escape", "&lt;x&gt;", ecRaw("&lt;x&gt;", "getpauses", "")},
		{"a long id", strings.Repeat("9", 200), ecRaw(strings.Repeat("9", 200), "getpauses", "")},
	} {
		if err := c.WriteRaw([]byte(k.doc)); err != nil {
			t.Fatal(err)
		}
		d, err := c.NextResponse(ecCtx(t))
		if err != nil {
			t.Fatalf("%s: %v", k.what, err)
		}
		if !strings.HasPrefix(string(d.Raw), testkit.ECCPDecl+`<response id="`+k.id+`">`) {
			t.Errorf("%s: the response starts %q, want the id %s echoed verbatim", k.what, d.Raw, k.id)
		}
		ecGolden(t, "getpauses", d)
	}
}

// TestECCPFramingCoalesced: requests written in one write are answered
// one each, in order, and the events a request causes come before its
// response: agentloggedin before loginagent's, pausestart before
// pauseagent's, pauseend before unpauseagent's.
func TestECCPFramingCoalesced(t *testing.T) {
	p, _ := ecPBX(t)
	c := ecDial(t, p)
	var all []byte
	for i, n := range []string{"getrequestlist", "login", "getpauses"} {
		args := ""
		if n == "login" {
			args = "<username>agentconsole</username><password>agentconsole</password>"
		}
		all = append(all, testkit.ECCPRequest("x"+string(rune('1'+i)), n, args)...)
	}
	if err := c.WriteRaw(all); err != nil {
		t.Fatal(err)
	}
	var cookie string
	for i, golden := range []string{"getrequestlist", "login_ok", "getpauses"} {
		d, err := c.NextResponse(ecCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if want := "x" + string(rune('1'+i)); d.ID() != want {
			t.Fatalf("response %d has id %q, want %s: %s", i+1, d.ID(), want, d.Raw)
		}
		ecGolden(t, golden, d)
		if golden == "login_ok" {
			cookie = d.Text("login_response", "app_cookie")
		}
	}

	me := ecAgentArgs(cookie, ecMember, ecMemberPass)
	reqs := []struct{ id, name, args, event string }{
		{"10", "loginagent", me + "<extension>1003</extension>", "agentloggedin"},
		{"11", "pauseagent", me + "<pause_type>4</pause_type>", "pausestart"},
		{"12", "getagentstatus", "<agent_number>SIP/1003</agent_number>", ""},
		{"13", "unpauseagent", me, "pauseend"},
		{"14", "getrequestlist", "", ""},
	}
	all = nil
	for _, r := range reqs {
		all = append(all, testkit.ECCPRequest(r.id, r.name, r.args)...)
	}
	m := c.Mark()
	if err := c.WriteRaw(all); err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		if _, err := c.NextResponse(ecCtx(t)); err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
	}
	docs := c.Since(m)
	var seen []string // events of the agent by name, and responses by id
	for _, d := range docs {
		switch {
		case !d.IsEvent():
			seen = append(seen, d.ID())
		case d.Name() != "queuemembership":
			seen = append(seen, d.Name())
		}
	}
	want := []string{"agentloggedin", "10", "pausestart", "11", "12", "pauseend", "13", "14"}
	if !slices.Equal(seen, want) {
		for _, d := range docs {
			t.Logf("%s", d.Raw)
		}
		t.Fatalf("coalesced requests: got %v, want %v", seen, want)
	}
	if st := docs[slices.IndexFunc(docs, func(d *testkit.ECCPDoc) bool { return d.ID() == "12" })]; st.Text("getagentstatus_response", "status") != "paused" {
		t.Errorf("getagentstatus between pause and unpause: %s", st.Raw)
	}

	// 100 breaks and their ends in one write: each response right after
	// its own event, never an event more.
	all, want = nil, nil
	for i := range 100 {
		id := strconv.Itoa(100 + 2*i)
		all = append(all, testkit.ECCPRequest(id, "pauseagent", me+"<pause_type>"+strconv.Itoa(1+i%3)+"</pause_type>")...)
		all = append(all, testkit.ECCPRequest(strconv.Itoa(101+2*i), "unpauseagent", me)...)
		want = append(want, "pausestart", id, "pauseend", strconv.Itoa(101+2*i))
	}
	m = c.Mark()
	if err := c.WriteRaw(all); err != nil {
		t.Fatal(err)
	}
	for range 200 {
		if _, err := c.NextResponse(ecCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	seen = nil
	for _, d := range c.Since(m) {
		switch {
		case !d.IsEvent():
			seen = append(seen, d.ID())
		case d.Name() != "queuemembership":
			seen = append(seen, d.Name())
		}
	}
	if !slices.Equal(seen, want) {
		i := 0
		for i < min(len(seen), len(want)) && seen[i] == want[i] {
			i++
		}
		t.Fatalf("100 coalesced breaks: the stream departs at %d: got %v, want %v", i, seen[i:min(len(seen), i+8)], want[i:min(len(want), i+8)])
	}
}

// TestECCPFramingMalformed: malformed XML, or a root other than
// request, gets 400 without id and the connection closed; the other
// sessions carry on. A request with no id or with two commands gets the
// same 400, and the session goes on.
func TestECCPFramingMalformed(t *testing.T) {
	p, _ := ecPBX(t)
	other, _ := ecConsole(t, p)
	for _, k := range []struct{ what, doc string }{
		{"mismatched tags", testkit.ECCPDecl + `<request id="1"><getpauses></request>` + "\n"},
		{"a wrong root", testkit.ECCPDecl + `<response id="1"><getpauses/></response>` + "\n"},
		{"an undefined entity", `<request id="1"><login><username>&nobody;</username></login></request>`},
		{"text outside the root", `hello <request id="1"><getpauses/></request>`},
		{"an end tag first", `</request>`},
	} {
		c, _ := ecConsole(t, p)
		if err := c.WriteRaw([]byte(k.doc)); err != nil {
			t.Fatal(err)
		}
		if d, err := c.NextResponse(ctxTimeout(t, 3*time.Second)); err != nil {
			t.Errorf("%s: no 400: %v", k.what, err)
		} else {
			ecGolden(t, "bad_request", d)
		}
		if err := c.WaitClosed(ctxTimeout(t, 3*time.Second)); !errors.Is(err, io.EOF) {
			t.Errorf("%s: after the 400: %v, want the server to close", k.what, err)
		}
		ecWant(t, other, "getpauses", "getpauses", "")
	}

	c, _ := ecConsole(t, p)
	for _, doc := range []string{`<request><getpauses/></request>`, `<request id="5"><getpauses/><getrequestlist/></request>`, `<request id="6"/>`} {
		if err := c.WriteRaw([]byte(doc)); err != nil {
			t.Fatal(err)
		}
		d, err := c.NextResponse(ecCtx(t))
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		ecGolden(t, "bad_request", d)
	}
	ecWant(t, c, "getpauses", "getpauses", "")
}

// TestECCPUnauthorizedIP: with eccp.authorized_ips holding 127.0.0.1
// only, a connection from 127.0.0.2 is closed at once, before any
// request; 127.0.0.1 is served.
func TestECCPUnauthorizedIP(t *testing.T) {
	p, _ := ecPBX(t, func(c *config.Config) { c.ECCP.AuthorizedIPs = []string{"127.0.0.1/32", "::1/128"} })
	bad := ecDial(t, p, testkit.ECCPFrom("127.0.0.2"))
	if err := bad.WaitClosed(ecCtx(t)); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("from 127.0.0.2: %v, want the server to close", err)
	}
	if docs := bad.Docs(); len(docs) > 0 {
		t.Errorf("from 127.0.0.2 the server sent %s", docs[0].Raw)
	}
	// A request written now gets nothing either.
	if err := bad.WriteRaw(testkit.ECCPRequest("1", "getrequestlist", "")); err == nil {
		if d, err := bad.NextResponse(ctxTimeout(t, time.Second)); err == nil {
			t.Errorf("from 127.0.0.2, answered %s", d.Raw)
		}
	}
	good, _ := ecConsole(t, p, testkit.ECCPFrom("127.0.0.1"))
	ecWant(t, good, "getpauses", "getpauses", "")
}

// TestECCPSessionTimeout: with eccp.session_timeout 300ms, a session
// that sends nothing is closed after 300 ms; one that keeps sending
// stays; the agent it logged in stays logged in after its session
// closed, as an agent's login is the agent's.
func TestECCPSessionTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	p, _ := ecPBX(t, func(c *config.Config) { c.ECCP.SessionTimeout = idle })
	busy, busyCookie := ecConsole(t, p)
	quiet, cookie := ecConsole(t, p)
	lastSent := time.Now()
	d := ecReq(t, quiet, "loginagent", ecAgentArgs(cookie, ecMember, ecMemberPass)+"<extension>1003</extension>")
	if d.Text("loginagent_response", "status") == "logged-out" {
		t.Fatalf("loginagent: %s", d.Raw)
	}
	// busy sends a request every 100 ms while quiet idles out: the
	// requests are the test's doing, not a wait.
	tick := time.NewTicker(idle / 3)
	defer tick.Stop()
	closed := make(chan error, 1)
	go func() { closed <- quiet.WaitClosed(ctxTimeout(t, 5*time.Second)) }()
	var err error
wait:
	for {
		select {
		case err = <-closed:
			break wait
		case <-tick.C:
			ecReq(t, busy, "pingagent", ecAgentArgs(busyCookie, ecMember, ecMemberPass))
		}
	}
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the idle session: %v, want closed", err)
	}
	if took := quiet.ClosedAt().Sub(lastSent); took < idle || took > idle+2*time.Second {
		t.Errorf("the idle session closed %s after its last request, want about %s", took, idle)
	}
	if busy.Err() != nil {
		t.Fatalf("the busy session ended: %v", busy.Err())
	}
	d = ecReq(t, busy, "getagentstatus", "<agent_number>SIP/1003</agent_number>")
	if d.Text("getagentstatus_response", "status") != "online" {
		t.Errorf("SIP/1003 after the session that logged it in closed: %s", d.Raw)
	}
	// And a session idle from the start, never logged in.
	fresh := ecDial(t, p)
	if err := fresh.WaitClosed(ecCtx(t)); !errors.Is(err, io.EOF) {
		t.Errorf("a session that never sent anything: %v", err)
	}
}

// TestECCPTLS: the TLS listener speaks the same protocol.
func TestECCPTLS(t *testing.T) {
	withTLS := testkit.WithTLS(t)
	p, _ := ecPBX(t, withTLS, func(c *config.Config) {
		c.ECCP.TLS, c.ECCP.TLSCert, c.ECCP.TLSKey = "127.0.0.1:0", c.SIP.TLSCert, c.SIP.TLSKey
	})
	c := testkit.DialECCP(t, p.ECCPTLSAddr(), testkit.ECCPTLS())
	c.Login("agentconsole", "agentconsole")
	ecWant(t, c, "getpauses", "getpauses", "")
}

// FuzzECCPInput: whatever a client writes, the server answers only with
// documents framed as dialerd frames them, ends the session when the
// client half-closes, and another session is served all along.
func FuzzECCPInput(f *testing.F) {
	for _, s := range []string{
		string(testkit.ECCPRequest("1", "login", "<username>agentconsole</username><password>agentconsole</password>")),
		ecRaw("1", "getrequestlist", "") + ecRaw("2", "getpauses", ""),
		`<request id="1"><getpauses></request>`,
		"<request id=\"1\">\r\n<getagentstatus><agent_number>Agent/9001</agent_number></getagentstatus></request>",
		`<?xml version="1.0"?><request id="x"><pingagent><agent_number>Agent/9001</agent_number><agent_hash>0</agent_hash></pingagent></request>`,
		`<request id="1"><login><username>agentconsole</username><password>agentconsole</password></login></request><request id="2"><loginagent><agent_number>SIP/1003</agent_number><agent_hash>x</agent_hash><extension>1003</extension></loginagent></request>`,
		`<!-- hi --><request id="c"><![CDATA[x]]><getpauses/></request>`,
		"\x00\xff<request",
		"",
	} {
		f.Add([]byte(s))
	}
	p := testkit.StartPBX(f, "")
	other := testkit.DialECCP(f, p.ECCPAddr())
	other.Login("agentconsole", "agentconsole")
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := testkit.DialECCPErr(t, p.ECCPAddr())
		if err != nil {
			t.Fatal(err)
		}
		if err := c.WriteRaw(in); err != nil {
			t.Fatal(err)
		}
		if tc, ok := c.Conn().(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		if err := c.WaitClosed(ctxTimeout(t, 5*time.Second)); errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("after the client's half-close of %q the session stays open", in)
		}
		for _, d := range c.Docs() {
			if !bytes.HasPrefix(d.Raw, []byte(testkit.ECCPDecl+"<response")) && !d.IsEvent() {
				t.Fatalf("answered %q with %q", in, d.Raw)
			}
		}
		if d, err := other.Request(ctxTimeout(t, 5*time.Second), "getpauses", ""); err != nil || !bytes.Contains(d.Raw, []byte("<pause id=\"1\">")) {
			t.Fatalf("after %q the other session: %v %v", in, d, err)
		}
	})
}
