package sip

import (
	"regexp"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

var digestTestUsers = map[string]string{"1001": "secret1001", "1002": "secret1002"}

func digestTestLookup(user string) (string, bool) {
	p, ok := digestTestUsers[user]
	return p, ok
}

// digestTestRequest is a REGISTER from 10.0.0.1 carrying the given
// authorization header (none if empty).
func digestTestRequest(t testing.TB, header, value string) *sipmsg.Request {
	t.Helper()
	raw := "REGISTER sip:pbx.test SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:1001@pbx.test>;tag=1928301774\r\n" +
		"To: <sip:1001@pbx.test>\r\n" +
		"Call-ID: a84b4c76e66710@10.0.0.1\r\n" +
		"CSeq: 314159 REGISTER\r\n" +
		"Contact: <sip:1001@10.0.0.1:5060>\r\n" +
		"Content-Length: 0\r\n\r\n"
	msg, err := sipmsg.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	req := msg.(*sipmsg.Request)
	req.SetSource("10.0.0.1:5060")
	req.SetTransport("UDP")
	if value != "" {
		req.AppendHeader(sipmsg.NewHeader(header, value))
	}
	return req
}

// digestTestAnswer computes the credentials a client would send for the
// challenge in res.
func digestTestAnswer(t testing.TB, res *sipmsg.Response, header, user, password string, nc int) string {
	t.Helper()
	h := res.GetHeader(header)
	if h == nil {
		t.Fatalf("no %s in %d response", header, res.StatusCode)
	}
	chal, err := digest.ParseChallenge(h.Value())
	if err != nil {
		t.Fatal(err)
	}
	cred, err := digest.Digest(chal, digest.Options{
		Method: "REGISTER", URI: "sip:pbx.test", Username: user, Password: password,
		Count: nc, Cnonce: "0a4f113b",
	})
	if err != nil {
		t.Fatal(err)
	}
	return cred.String()
}

func digestTestChallenge(t testing.TB, res *sipmsg.Response, header string) *digest.Challenge {
	t.Helper()
	h := res.GetHeader(header)
	if h == nil {
		t.Fatalf("no %s in %d response", header, res.StatusCode)
	}
	chal, err := digest.ParseChallenge(h.Value())
	if err != nil {
		t.Fatal(err)
	}
	return chal
}

func TestDigestChallengeThenAccept(t *testing.T) {
	d := NewDigest("pbx.test", time.Minute)
	user, res, failed := d.Authenticate(digestTestRequest(t, "", ""), false, digestTestLookup)
	if user != "" || res == nil || failed {
		t.Fatalf("first request: user=%q res=%v failed=%v", user, res, failed)
	}
	if res.StatusCode != 401 {
		t.Fatalf("status %d, want 401", res.StatusCode)
	}
	chal := digestTestChallenge(t, res, "WWW-Authenticate")
	if chal.Realm != "pbx.test" || chal.Algorithm != "MD5" || !chal.SupportsQOP("auth") || chal.Stale || len(chal.Nonce) < 16 {
		t.Fatalf("challenge: %+v", chal)
	}
	if v := res.GetHeader("WWW-Authenticate").Value(); !strings.Contains(v, `qop="auth"`) || !strings.Contains(v, "algorithm=MD5") {
		t.Fatalf("challenge header: %s", v)
	}

	auth := digestTestAnswer(t, res, "WWW-Authenticate", "1001", "secret1001", 1)
	user, res, failed = d.Authenticate(digestTestRequest(t, "Authorization", auth), false, digestTestLookup)
	if user != "1001" || res != nil || failed {
		t.Fatalf("good credentials: user=%q res=%v failed=%v", user, res, failed)
	}
}

func TestDigestProxyChallenge(t *testing.T) {
	d := NewDigest("pbx.test", time.Minute)
	_, res, _ := d.Authenticate(digestTestRequest(t, "", ""), true, digestTestLookup)
	if res.StatusCode != 407 || res.GetHeader("WWW-Authenticate") != nil {
		t.Fatalf("proxy challenge: %s", res)
	}
	auth := digestTestAnswer(t, res, "Proxy-Authenticate", "1002", "secret1002", 1)
	// Credentials in the wrong header do not count.
	if user, res, _ := d.Authenticate(digestTestRequest(t, "Authorization", auth), true, digestTestLookup); res == nil {
		t.Fatalf("Authorization accepted for a proxy challenge: %q", user)
	}
	user, res, failed := d.Authenticate(digestTestRequest(t, "Proxy-Authorization", auth), true, digestTestLookup)
	if user != "1002" || res != nil || failed {
		t.Fatalf("proxy credentials: user=%q res=%v failed=%v", user, res, failed)
	}
}

// digestTestNormalize blanks what must differ between two responses: the
// nonce and the To tag.
func digestTestNormalize(res *sipmsg.Response) string {
	s := res.String()
	s = regexp.MustCompile(`nonce="[^"]*"`).ReplaceAllString(s, `nonce="-"`)
	s = regexp.MustCompile(`(?m)^(To: .*;tag=)\S+`).ReplaceAllString(s, "${1}-")
	return s
}

func TestDigestUnknownUserLooksLikeWrongPassword(t *testing.T) {
	d := NewDigest("pbx.test", time.Minute)
	_, first, _ := d.Authenticate(digestTestRequest(t, "", ""), false, digestTestLookup)

	wrong := digestTestAnswer(t, first, "WWW-Authenticate", "1001", "guess", 1)
	_, resWrong, failedWrong := d.Authenticate(digestTestRequest(t, "Authorization", wrong), false, digestTestLookup)
	unknown := digestTestAnswer(t, first, "WWW-Authenticate", "9999", "guess", 2)
	_, resUnknown, failedUnknown := d.Authenticate(digestTestRequest(t, "Authorization", unknown), false, digestTestLookup)

	if !failedWrong || !failedUnknown || resWrong == nil || resUnknown == nil {
		t.Fatalf("failed=%v/%v", failedWrong, failedUnknown)
	}
	a, b := digestTestNormalize(resWrong), digestTestNormalize(resUnknown)
	if a != b {
		t.Fatalf("responses differ:\n%s\n---\n%s", a, b)
	}
	if digestTestChallenge(t, resWrong, "WWW-Authenticate").Nonce == digestTestChallenge(t, resUnknown, "WWW-Authenticate").Nonce {
		t.Fatal("nonce reused")
	}
}

func TestDigestStaleNonce(t *testing.T) {
	clock := newLocTestClock()
	d := NewDigest("pbx.test", time.Minute, WithDigestClock(clock.Now))
	_, first, _ := d.Authenticate(digestTestRequest(t, "", ""), false, digestTestLookup)
	clock.Advance(61 * time.Second)

	good := digestTestAnswer(t, first, "WWW-Authenticate", "1001", "secret1001", 1)
	user, res, failed := d.Authenticate(digestTestRequest(t, "Authorization", good), false, digestTestLookup)
	if user != "" || res == nil || failed {
		t.Fatalf("expired nonce: user=%q failed=%v", user, failed)
	}
	if chal := digestTestChallenge(t, res, "WWW-Authenticate"); !chal.Stale {
		t.Fatalf("no stale=true: %s", res.GetHeader("WWW-Authenticate").Value())
	}
	// The fresh nonce works.
	again := digestTestAnswer(t, res, "WWW-Authenticate", "1001", "secret1001", 1)
	if user, res, _ := d.Authenticate(digestTestRequest(t, "Authorization", again), false, digestTestLookup); user != "1001" || res != nil {
		t.Fatalf("after stale: user=%q res=%v", user, res)
	}

	// A wrong password with an old nonce is a failure, not a stale nonce:
	// otherwise a stale nonce would tell a guesser when it guessed right.
	clock.Advance(2 * time.Minute)
	wrong := digestTestAnswer(t, first, "WWW-Authenticate", "1001", "guess", 1)
	_, res, failed = d.Authenticate(digestTestRequest(t, "Authorization", wrong), false, digestTestLookup)
	if !failed || digestTestChallenge(t, res, "WWW-Authenticate").Stale {
		t.Fatalf("wrong password with stale nonce: failed=%v %s", failed, res.GetHeader("WWW-Authenticate").Value())
	}

	// A nonce this Digest never issued (a restart) is treated as stale.
	forged := first.Clone()
	forged.RemoveHeader("WWW-Authenticate")
	forged.AppendHeader(sipmsg.NewHeader("WWW-Authenticate", `Digest realm="pbx.test", nonce="from-before-restart", algorithm=MD5, qop="auth"`))
	old := digestTestAnswer(t, forged, "WWW-Authenticate", "1001", "secret1001", 1)
	_, res, failed = d.Authenticate(digestTestRequest(t, "Authorization", old), false, digestTestLookup)
	if failed || !digestTestChallenge(t, res, "WWW-Authenticate").Stale {
		t.Fatalf("unknown nonce: failed=%v", failed)
	}
}

func TestDigestNonceCountReplay(t *testing.T) {
	d := NewDigest("pbx.test", time.Minute)
	_, first, _ := d.Authenticate(digestTestRequest(t, "", ""), false, digestTestLookup)
	nc1 := digestTestAnswer(t, first, "WWW-Authenticate", "1001", "secret1001", 1)
	if user, res, _ := d.Authenticate(digestTestRequest(t, "Authorization", nc1), false, digestTestLookup); user != "1001" || res != nil {
		t.Fatal("nc=1 refused")
	}
	user, res, failed := d.Authenticate(digestTestRequest(t, "Authorization", nc1), false, digestTestLookup)
	if user != "" || res == nil || res.StatusCode != 401 || failed {
		t.Fatalf("replayed nc=1: user=%q res=%v failed=%v", user, res, failed)
	}
	if digestTestChallenge(t, res, "WWW-Authenticate").Stale {
		t.Fatal("a replay is not a stale nonce")
	}
	nc3 := digestTestAnswer(t, first, "WWW-Authenticate", "1001", "secret1001", 3)
	if user, res, _ := d.Authenticate(digestTestRequest(t, "Authorization", nc3), false, digestTestLookup); user != "1001" || res != nil {
		t.Fatal("nc=3 refused")
	}
	nc2 := digestTestAnswer(t, first, "WWW-Authenticate", "1001", "secret1001", 2)
	if _, res, _ := d.Authenticate(digestTestRequest(t, "Authorization", nc2), false, digestTestLookup); res == nil {
		t.Fatal("nc=2 after nc=3 accepted")
	}
}

func TestDigestWithoutQOPIsSingleUse(t *testing.T) {
	d := NewDigest("pbx.test", time.Minute)
	_, first, _ := d.Authenticate(digestTestRequest(t, "", ""), false, digestTestLookup)
	chal := digestTestChallenge(t, first, "WWW-Authenticate")
	chal.QOP = nil // an RFC 2069 client ignores qop
	cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: "sip:pbx.test", Username: "1001", Password: "secret1001"})
	if err != nil {
		t.Fatal(err)
	}
	if user, res, _ := d.Authenticate(digestTestRequest(t, "Authorization", cred.String()), false, digestTestLookup); user != "1001" || res != nil {
		t.Fatal("RFC 2069 credentials refused")
	}
	if _, res, _ := d.Authenticate(digestTestRequest(t, "Authorization", cred.String()), false, digestTestLookup); res == nil {
		t.Fatal("RFC 2069 credentials accepted twice")
	}
}

func TestDigestInconsistentCredentials(t *testing.T) {
	d := NewDigest("pbx.test", time.Minute)
	_, first, _ := d.Authenticate(digestTestRequest(t, "", ""), false, digestTestLookup)
	chal := digestTestChallenge(t, first, "WWW-Authenticate")
	build := func(mod func(c *digest.Challenge, o *digest.Options)) string {
		c := *chal
		o := digest.Options{Method: "REGISTER", URI: "sip:pbx.test", Username: "1001", Password: "secret1001", Cnonce: "x", Count: 1}
		mod(&c, &o)
		cred, err := digest.Digest(&c, o)
		if err != nil {
			t.Fatal(err)
		}
		return cred.String()
	}
	cases := map[string]string{
		"other realm":  build(func(c *digest.Challenge, o *digest.Options) { c.Realm = "elsewhere" }),
		"other uri":    build(func(c *digest.Challenge, o *digest.Options) { o.URI = "sip:other.test" }),
		"other method": build(func(c *digest.Challenge, o *digest.Options) { o.Method = "INVITE" }),
		"sha-256":      build(func(c *digest.Challenge, o *digest.Options) { c.Algorithm = "SHA-256" }),
		"not digest":   "Basic MTAwMTpzZWNyZXQxMDAx",
		"garbage":      `Digest username="1001", realm=`,
	}
	for name, auth := range cases {
		user, res, failed := d.Authenticate(digestTestRequest(t, "Authorization", auth), false, digestTestLookup)
		if user != "" || res == nil || res.StatusCode != 401 || !failed {
			t.Errorf("%s: user=%q res=%v failed=%v", name, user, res, failed)
		}
	}
}

func TestDigestNonceTableIsBounded(t *testing.T) {
	clock := newLocTestClock()
	d := NewDigest("pbx.test", time.Minute, WithDigestClock(clock.Now), WithDigestMaxNonces(3))
	_, first, _ := d.Authenticate(digestTestRequest(t, "", ""), false, digestTestLookup)
	for range 10 {
		d.Authenticate(digestTestRequest(t, "", ""), false, digestTestLookup)
	}
	if n := d.outstanding(); n != 3 {
		t.Fatalf("%d nonces remembered, want 3", n)
	}
	// The forgotten nonce is stale, not an error.
	auth := digestTestAnswer(t, first, "WWW-Authenticate", "1001", "secret1001", 1)
	_, res, failed := d.Authenticate(digestTestRequest(t, "Authorization", auth), false, digestTestLookup)
	if failed || !digestTestChallenge(t, res, "WWW-Authenticate").Stale {
		t.Fatal("evicted nonce not treated as stale")
	}
	// Expired nonces go on their own.
	clock.Advance(2 * time.Minute)
	d.Authenticate(digestTestRequest(t, "", ""), false, digestTestLookup)
	if n := d.outstanding(); n != 1 {
		t.Fatalf("%d nonces after expiry, want 1", n)
	}
}

func FuzzDigestCredentials(f *testing.F) {
	f.Add(`Digest username="1001", realm="pbx.test", nonce="abc", uri="sip:pbx.test", response="6629fae49393a05397450978507c4ef1", algorithm=MD5, cnonce="0a4f113b", qop=auth, nc=00000001`)
	f.Add(`Digest username="1001", realm="pbx.test", nonce="abc", uri="sip:pbx.test", response="x"`)
	f.Add(`Digest nc=zzzz`)
	f.Add(`Digest username="\"", realm="`)
	f.Add(`Basic Zm9vOmJhcg==`)
	f.Add(``)
	d := NewDigest("pbx.test", time.Minute)
	f.Fuzz(func(t *testing.T, value string) {
		for _, proxy := range []bool{false, true} {
			header := "Authorization"
			if proxy {
				header = "Proxy-Authorization"
			}
			req := digestTestRequest(t, "", "")
			req.AppendHeader(sipmsg.NewHeader(header, value))
			user, res, _ := d.Authenticate(req, proxy, digestTestLookup)
			if (user == "") == (res == nil) {
				t.Fatalf("user=%q with response %v", user, res)
			}
			if user != "" {
				t.Fatalf("made-up credentials accepted for %q: %q", user, value)
			}
		}
	})
}

// outstanding reports how many nonces the Digest remembers.
func (d *Digest) outstanding() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.nonces)
}
