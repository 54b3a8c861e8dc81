package e2e

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"pbx/internal/testkit"
)

// Helpers of the ECCP tests (ec*): a PBX with ECCP on a free loopback
// port (testkit.StartPBX sets eccp.listen to 127.0.0.1:0), consoles that
// are testkit.ECCPClient, which speak the protocol with their own framing
// and check every document the server writes against dialerd's bytes, and
// the golden files of e2e/testdata/eccp.
//
// A golden file holds the exact bytes of one document, declaration and
// final LF included, as the wire-format note gives them. What varies
// from run to run is normalised in the received document before the
// comparison, never in the golden file's favour:
//
//   - the root <response>'s id becomes 1 (Request has checked it is the
//     request's id, byte for byte);
//   - an app_cookie of 32 lowercase hexadecimal digits becomes COOKIE;
//   - a date and time yyyy-mm-dd hh:mm:ss becomes YYYY-MM-DD hh:mm:ss,
//     and an element holding only a time hh:mm:ss holds hh:mm:ss;
//   - pause_duration's digits become N;
//   - a static agent's channel SIP/EXT-SUFFIX becomes SIP/EXT-LEG.
//
// go test ./e2e -run ECCP -update rewrites the golden files from what the
// server sends (normalised): only to add a file, after checking its bytes
// against the note by eye.

var eccpUpdate = flag.Bool("update", false, "rewrite the ECCP golden files in testdata/eccp from the server's documents")

// ECCP secrets of the demo agents (config/pbx.yaml).
const (
	ecAgent      = "Agent/9001"
	ecAgentPass  = "eccp9001"
	ecMember     = "SIP/1003"
	ecMemberPass = "eccp1003"
)

// ecPBX starts the default PBX with the contact center's marker sounds
// (ccSounds: each prompt and the music a tone of its own) and a log of
// its events; ECCP listens on a free loopback port.
func ecPBX(t *testing.T, opts ...testkit.PBXOption) (*testkit.PBX, *testkit.EventLog) {
	t.Helper()
	p, log := ccPBX(t, "", ccSounds(t), opts...)
	if p.ECCPAddr() == "" {
		t.Fatal("the PBX has no ECCP listener")
	}
	return p, log
}

// ecDial connects a console to p's ECCP port, not logged in.
func ecDial(t testing.TB, p *testkit.PBX, opts ...testkit.ECCPOption) *testkit.ECCPClient {
	t.Helper()
	return testkit.DialECCP(t, p.ECCPAddr(), opts...)
}

// ecConsole connects a console and logs it in as agentconsole; it returns
// the console and its cookie.
func ecConsole(t testing.TB, p *testkit.PBX, opts ...testkit.ECCPOption) (*testkit.ECCPClient, string) {
	t.Helper()
	c := ecDial(t, p, opts...)
	return c, c.Login("agentconsole", "agentconsole")
}

// ecCtx is the bound of one wait on a console.
func ecCtx(t testing.TB) context.Context { return ctxTimeout(t, 10*time.Second) }

// ecReq sends a request and returns its response; it fails the test when
// none comes or its id is not the request's.
func ecReq(t testing.TB, c *testkit.ECCPClient, name, args string) *testkit.ECCPDoc {
	t.Helper()
	d, err := c.Request(ecCtx(t), name, args)
	if err != nil {
		t.Fatalf("eccp %s: %v", name, err)
	}
	return d
}

// ecAgentArgs are agent_number and agent_hash for agent with password.
func ecAgentArgs(cookie, agent, password string) string {
	return "<agent_number>" + agent + "</agent_number><agent_hash>" + testkit.AgentHash(cookie, agent, password) + "</agent_hash>"
}

// ecWant sends a request and compares its response with a golden file.
func ecWant(t testing.TB, c *testkit.ECCPClient, golden, name, args string) *testkit.ECCPDoc {
	t.Helper()
	d := ecReq(t, c, name, args)
	ecGolden(t, golden, d)
	return d
}

// ecEvent waits for the next event name on c that match accepts.
func ecEvent(t testing.TB, c *testkit.ECCPClient, name string, match func(*testkit.ECCPDoc) bool) *testkit.ECCPDoc {
	t.Helper()
	d, err := c.WaitEvent(ecCtx(t), name, match)
	if err != nil {
		t.Fatalf("eccp event %s: %v", name, err)
	}
	return d
}

// ecOfAgent matches events whose agent_number (or agent) is agent.
func ecOfAgent(agent string) func(*testkit.ECCPDoc) bool {
	return func(d *testkit.ECCPDoc) bool {
		b := d.Body()
		return b.TextOf("agent_number") == agent || b.TextOf("agent") == agent
	}
}

var (
	ecRootID    = regexp.MustCompile(`^(<\?xml version="1.0"\?>\n<response) id="[^"]*">`)
	ecCookie    = regexp.MustCompile(`<app_cookie>[0-9a-f]{32}</app_cookie>`)
	ecDateTime  = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`)
	ecTimeOnly  = regexp.MustCompile(`>\d\d:\d\d:\d\d<`)
	ecDuration  = regexp.MustCompile(`<pause_duration>\d+</pause_duration>`)
	ecChannelRe = regexp.MustCompile(`<channel>SIP/(\d+)-[^<]+</channel>`)
)

// ecNormalise applies the normalisation above.
func ecNormalise(raw []byte) []byte {
	b := ecRootID.ReplaceAll(raw, []byte(`$1 id="1">`))
	b = ecCookie.ReplaceAll(b, []byte(`<app_cookie>COOKIE</app_cookie>`))
	b = ecDateTime.ReplaceAll(b, []byte(`YYYY-MM-DD hh:mm:ss`))
	b = ecTimeOnly.ReplaceAll(b, []byte(`>hh:mm:ss<`))
	b = ecDuration.ReplaceAll(b, []byte(`<pause_duration>N</pause_duration>`))
	return ecChannelRe.ReplaceAll(b, []byte(`<channel>SIP/$1-LEG</channel>`))
}

// ecGolden compares a document, normalised, with testdata/eccp/NAME.xml
// byte for byte.
func ecGolden(t testing.TB, name string, d *testkit.ECCPDoc) {
	t.Helper()
	path := filepath.Join("testdata", "eccp", name+".xml")
	got := ecNormalise(d.Raw)
	if *eccpUpdate {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v", name, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: the server sent (normalised)\n%q\nwant (%s)\n%q", name, got, path, want)
	}
}

// ecFailure checks a document's failure code and message (top-level or
// in the body).
func ecFailure(t testing.TB, d *testkit.ECCPDoc, code int, msg string) {
	t.Helper()
	got, m, ok := d.Failure()
	if !ok || got != code || m != msg {
		t.Errorf("want failure %d %q, got %s", code, msg, d.Raw)
	}
}

// ecNames checks the child element order of the element path leads to.
func ecNames(t testing.TB, d *testkit.ECCPDoc, want []string, path ...string) {
	t.Helper()
	if got := d.Names(path...); !slices.Equal(got, want) {
		t.Errorf("children of %v: %v, want %v, in %s", path, got, want, d.Raw)
	}
}
