package sip

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// The tests below run a test carrier (a sipgo server on a loopback UDP
// socket) and a TrunkRegistration registering to it through a real sipgo
// client. Every REGISTER the carrier receives is reported on a channel, with
// the answer it got, so the tests await events instead of sleeping.

const (
	trunkTestUser     = "trunk1"
	trunkTestPassword = "s3cret"
	trunkTestRealm    = "carrier.test"
)

// trunkTestReg is one REGISTER as the carrier saw it.
type trunkTestReg struct {
	at         time.Time
	callID     string
	fromTag    string
	cseq       uint32
	expires    int // Expires header, -1 if none
	authorized bool
	code       int // the carrier's answer
}

type trunkTestCarrier struct {
	addr string
	regs chan trunkTestReg

	mu         sync.Mutex
	grant      int      // expires the 200 gives the contact
	failures   []string // next answers before auth: "503", "503 retry 1", ...
	noAuth     bool     // accept without a challenge
	minExpires int      // answer 423 below this
	nonces     map[string]bool
}

// newTrunkTestCarrier starts a carrier granting grant seconds; setup, if
// given, configures it before it serves.
func newTrunkTestCarrier(t *testing.T, grant int, setup func(*trunkTestCarrier)) *trunkTestCarrier {
	t.Helper()
	c := &trunkTestCarrier{regs: make(chan trunkTestReg, 100), grant: grant, nonces: map[string]bool{}}
	if setup != nil {
		setup(c)
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("carrier"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(trunkTestLogger(t, "carrier")))
	if err != nil {
		t.Fatal(err)
	}
	srv.OnRegister(c.handle)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.addr = pc.LocalAddr().String()
	go srv.ServeUDP(pc) // datagrams wait in the socket until sipgo reads
	t.Cleanup(func() {
		ua.Close()
		pc.Close()
	})
	return c
}

func trunkTestLogger(t *testing.T, who string) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})).With("who", who)
}

func (c *trunkTestCarrier) handle(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	reg := trunkTestReg{at: time.Now(), callID: req.CallID().Value(), cseq: req.CSeq().SeqNo, expires: -1}
	reg.fromTag, _ = req.From().Params.Get("tag")
	if h := req.GetHeader("Expires"); h != nil {
		reg.expires, _ = strconv.Atoi(h.Value())
	}
	auth := req.GetHeader("Authorization")
	reg.authorized = auth != nil

	c.mu.Lock()
	res := c.answer(req, auth, &reg)
	c.mu.Unlock()
	reg.code = res.StatusCode
	c.regs <- reg
	tx.Respond(res)
}

// answer decides the carrier's response, with c.mu held.
func (c *trunkTestCarrier) answer(req *sipmsg.Request, auth sipmsg.Header, reg *trunkTestReg) *sipmsg.Response {
	if len(c.failures) > 0 {
		f := strings.Fields(c.failures[0])
		c.failures = c.failures[1:]
		code, _ := strconv.Atoi(f[0])
		res := sipmsg.NewResponseFromRequest(req, code, "Service Unavailable", nil)
		if len(f) == 3 && f[1] == "retry" {
			res.AppendHeader(sipmsg.NewHeader("Retry-After", f[2]))
		}
		return res
	}
	if reg.expires > 0 && reg.expires < c.minExpires {
		res := sipmsg.NewResponseFromRequest(req, 423, "Interval Too Brief", nil)
		res.AppendHeader(sipmsg.NewHeader("Min-Expires", strconv.Itoa(c.minExpires)))
		return res
	}
	if !c.noAuth {
		if auth == nil {
			chal := digest.Challenge{Realm: trunkTestRealm, Nonce: sipmsg.GenerateTagN(16), Algorithm: "MD5", QOP: []string{"auth"}}
			c.nonces[chal.Nonce] = true
			res := sipmsg.NewResponseFromRequest(req, 401, "Unauthorized", nil)
			res.AppendHeader(sipmsg.NewHeader("WWW-Authenticate", chal.String()))
			return res
		}
		if !c.verify(req, auth.Value()) {
			return sipmsg.NewResponseFromRequest(req, 403, "Forbidden", nil)
		}
	}
	res := sipmsg.NewResponseFromRequest(req, 200, "OK", nil)
	if reg.expires != 0 {
		contact := req.Contact().Clone()
		contact.Params.Add("expires", strconv.Itoa(c.grant))
		res.AppendHeader(contact)
		// A misleading header: the contact's own expires must win.
		res.AppendHeader(sipmsg.NewHeader("Expires", "3600"))
	}
	return res
}

// verify checks a digest answer the way a carrier does: MD5, qop=auth.
func (c *trunkTestCarrier) verify(req *sipmsg.Request, header string) bool {
	cred, err := digest.ParseCredentials(header)
	if err != nil || !c.nonces[cred.Nonce] || cred.Username != trunkTestUser || cred.Realm != trunkTestRealm || cred.QOP != "auth" {
		return false
	}
	chal := digest.Challenge{Realm: trunkTestRealm, Nonce: cred.Nonce, Algorithm: "MD5", QOP: []string{"auth"}}
	want, err := digest.Digest(&chal, digest.Options{
		Method: "REGISTER", URI: cred.URI, Username: trunkTestUser, Password: trunkTestPassword,
		Cnonce: cred.Cnonce, Count: cred.Nc,
	})
	if err != nil || want.Response != cred.Response {
		return false
	}
	delete(c.nonces, cred.Nonce) // single use
	return true
}

// next awaits the next REGISTER the carrier received.
func (c *trunkTestCarrier) next(t *testing.T, within time.Duration) trunkTestReg {
	t.Helper()
	select {
	case r := <-c.regs:
		return r
	case <-time.After(within):
		t.Fatalf("no REGISTER within %v", within)
		return trunkTestReg{}
	}
}

// nextAccepted awaits the next REGISTER answered 200, passing over the
// challenged ones, and checks that Call-ID and From tag never change and
// CSeq always grows.
func (c *trunkTestCarrier) nextAccepted(t *testing.T, prev *trunkTestReg, within time.Duration) trunkTestReg {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r := c.next(t, time.Until(deadline))
		if prev.callID != "" {
			if r.callID != prev.callID || r.fromTag != prev.fromTag {
				t.Fatalf("Call-ID/From tag changed: %q/%q after %q/%q", r.callID, r.fromTag, prev.callID, prev.fromTag)
			}
			if r.cseq <= prev.cseq {
				t.Fatalf("CSeq %d after %d", r.cseq, prev.cseq)
			}
		}
		*prev = r
		if r.code == 200 {
			return r
		}
	}
}

// trunkTestStart runs a TrunkRegistration to the carrier; stop cancels it
// and waits for Run to return.
func trunkTestStart(t *testing.T, c *trunkTestCarrier, password string, o TrunkRegOptions) (reg *TrunkRegistration, stop func()) {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("pbx"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientNAT())
	if err != nil {
		t.Fatal(err)
	}
	o.Name = "carrier"
	o.Registrar = c.addr
	o.Transport = "udp"
	o.Username, o.Password = trunkTestUser, password
	o.Contact = sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: trunkTestUser, Host: "127.0.0.1", Port: 5999}}
	o.Logger = trunkTestLogger(t, "pbx")
	reg = NewTrunkRegistration(client, o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		reg.Run(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return reg, stop
}

func TestTrunkRegistrationDigestRefreshUnregister(t *testing.T) {
	t.Parallel()
	carrier := newTrunkTestCarrier(t, 2, nil)
	reg, stop := trunkTestStart(t, carrier, trunkTestPassword, TrunkRegOptions{Expires: time.Minute})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := reg.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	var last trunkTestReg
	first := carrier.next(t, time.Second)
	if first.code != 401 || first.authorized || first.expires != 60 {
		t.Fatalf("first REGISTER: %+v, want an unauthorized one asking 60 s, challenged", first)
	}
	last = first
	accepted := carrier.nextAccepted(t, &last, time.Second)
	if !accepted.authorized {
		t.Fatalf("accepted without credentials: %+v", accepted)
	}
	st := reg.Status()
	if !st.Registered || st.LastCode != 200 || st.LastError != "" {
		t.Fatalf("status %+v", st)
	}
	if left := time.Until(st.Expires); left <= 0 || left > 2*time.Second {
		t.Fatalf("status expires in %v, want the 2 s the contact was granted (not the 3600 of the Expires header)", left)
	}

	// The refresh comes at about half the 2 s granted, same Call-ID, higher CSeq.
	refresh := carrier.nextAccepted(t, &last, 2*time.Second)
	if gap := refresh.at.Sub(accepted.at); gap < 500*time.Millisecond || gap >= 2*time.Second {
		t.Fatalf("refresh %v after registering, want about 1 s", gap)
	}
	if refresh.expires != 60 {
		t.Fatalf("refresh asks %d s", refresh.expires)
	}

	// Stopping sends Expires: 0 and Run returns.
	stop()
	for {
		r := carrier.nextAccepted(t, &last, 3*time.Second)
		if r.expires == 0 {
			break
		}
	}
	if st := reg.Status(); st.Registered {
		t.Fatalf("still registered after stop: %+v", st)
	}
}

func TestTrunkRegistrationRetriesAfterFailure(t *testing.T) {
	t.Parallel()
	carrier := newTrunkTestCarrier(t, 60, func(c *trunkTestCarrier) { c.failures = []string{"503", "503 retry 1"} })
	retry := 200 * time.Millisecond
	reg, _ := trunkTestStart(t, carrier, trunkTestPassword, TrunkRegOptions{Expires: time.Minute, RetryAfter: retry})

	r1 := carrier.next(t, time.Second)
	r2 := carrier.next(t, 2*time.Second)
	if r1.code != 503 || r2.code != 503 {
		t.Fatalf("answers %d, %d; want 503, 503", r1.code, r2.code)
	}
	if gap := r2.at.Sub(r1.at); gap < retry {
		t.Fatalf("retried after %v, before RetryAfter %v", gap, retry)
	}
	// The first failure was recorded before the retry went out.
	if st := reg.Status(); st.Registered || st.LastCode != 503 || !strings.Contains(st.LastError, "503") {
		t.Fatalf("status after a 503: %+v", st)
	}
	// The second 503 said Retry-After: 1, longer than RetryAfter: it wins.
	r3 := carrier.next(t, 3*time.Second)
	if gap := r3.at.Sub(r2.at); gap < time.Second {
		t.Fatalf("retried %v after a Retry-After: 1", gap)
	}
	if r3.callID != r1.callID || r3.cseq <= r2.cseq || r2.cseq <= r1.cseq {
		t.Fatalf("retries must keep the Call-ID and raise CSeq: %+v %+v %+v", r1, r2, r3)
	}

	// The carrier is back: challenge, then 200.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := reg.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	if st := reg.Status(); !st.Registered || st.LastCode != 200 || st.LastError != "" {
		t.Fatalf("status after recovery: %+v", st)
	}
}

func TestTrunkRegistrationWrongPassword(t *testing.T) {
	t.Parallel()
	carrier := newTrunkTestCarrier(t, 60, nil)
	reg, stop := trunkTestStart(t, carrier, "wrong", TrunkRegOptions{RetryAfter: 100 * time.Millisecond})

	var last trunkTestReg
	for _, want := range []int{401, 403, 401} { // challenge, refusal, and the retry
		if r := carrier.next(t, 2*time.Second); r.code != want {
			t.Fatalf("answer %d, want %d", r.code, want)
		} else if last.callID != "" && (r.callID != last.callID || r.cseq <= last.cseq) {
			t.Fatalf("%+v after %+v", r, last)
		} else {
			last = r
		}
	}
	if st := reg.Status(); st.Registered || st.LastCode != 403 {
		t.Fatalf("status %+v", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := reg.WaitRegistered(ctx); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("WaitRegistered: %v, want the deadline with the 403", err)
	}
	stop()
}

func TestTrunkRegistrationIntervalTooBrief(t *testing.T) {
	t.Parallel()
	carrier := newTrunkTestCarrier(t, 120, func(c *trunkTestCarrier) { c.noAuth, c.minExpires = true, 120 })
	reg, _ := trunkTestStart(t, carrier, trunkTestPassword, TrunkRegOptions{Expires: 30 * time.Second})

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := reg.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	r1, r2 := carrier.next(t, time.Second), carrier.next(t, time.Second)
	if r1.code != 423 || r1.expires != 30 || r2.code != 200 || r2.expires != 120 || r2.cseq <= r1.cseq {
		t.Fatalf("got %+v then %+v; want 423 for 30 s, then 200 for 120 s", r1, r2)
	}
}

func TestTrunkRegOptionsValidate(t *testing.T) {
	good := TrunkRegOptions{Registrar: "carrier.example:5060", Username: "u",
		Contact: sipmsg.ContactHeader{Address: sipmsg.Uri{Host: "192.0.2.1", Port: 5060}}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*TrunkRegOptions){
		"no registrar":      func(o *TrunkRegOptions) { o.Registrar = "" },
		"bad port":          func(o *TrunkRegOptions) { o.Registrar = "carrier.example:99999" },
		"bad host":          func(o *TrunkRegOptions) { o.Registrar = "a b:5060" },
		"bad transport":     func(o *TrunkRegOptions) { o.Transport = "sctp" },
		"no username":       func(o *TrunkRegOptions) { o.Username = "" },
		"no contact":        func(o *TrunkRegOptions) { o.Contact = sipmsg.ContactHeader{} },
		"negative expires":  func(o *TrunkRegOptions) { o.Expires = -time.Second },
		"negative retry":    func(o *TrunkRegOptions) { o.RetryAfter = -time.Second },
		"injected registar": func(o *TrunkRegOptions) { o.Registrar = "carrier.example\r\nVia: x" },
	} {
		o := good
		change(&o)
		if err := o.Validate(); err == nil {
			t.Errorf("%s: valid", name)
		}
	}
	// A bad registration does not start, and says why.
	bad := NewTrunkRegistration(nil, TrunkRegOptions{Logger: trunkTestLogger(t, "pbx")})
	bad.Run(context.Background())
	if st := bad.Status(); st.Registered || !strings.Contains(st.LastError, "registrar") {
		t.Fatalf("status %+v", st)
	}
}

func TestTrunkRegistrationRequestURI(t *testing.T) {
	contact := sipmsg.ContactHeader{Address: sipmsg.Uri{Host: "192.0.2.1", Port: 5060}}
	tests := []struct {
		registrar, transport, domain string
		uri, dest, aor               string
	}{
		{"carrier.example", "udp", "", "sip:carrier.example", "carrier.example:5060", "sip:u@carrier.example"},
		{"carrier.example:5080", "tcp", "", "sip:carrier.example:5080", "carrier.example:5080", "sip:u@carrier.example"},
		{"192.0.2.9", "tls", "voip.example", "sip:voip.example", "192.0.2.9:5061", "sip:u@voip.example"},
		{"[2001:db8::9]:5070", "udp", "", "sip:[2001:db8::9]:5070", "[2001:db8::9]:5070", "sip:u@[2001:db8::9]"},
	}
	for _, tt := range tests {
		r := NewTrunkRegistration(nil, TrunkRegOptions{Registrar: tt.registrar, Transport: tt.transport, Domain: tt.domain, Username: "u", Contact: contact})
		req := r.newRequest(time.Minute)
		got := fmt.Sprintf("%s %s %s %s", req.Recipient.String(), req.Destination(), req.From().Address.String(), req.Transport())
		want := fmt.Sprintf("%s %s %s %s", tt.uri, tt.dest, tt.aor, strings.ToUpper(tt.transport))
		if got != want {
			t.Errorf("%s/%s/%s: got %q, want %q", tt.registrar, tt.transport, tt.domain, got, want)
		}
	}
}

// A carrier that never answers: cancelling with a REGISTER in flight still
// sends Expires: 0 (the carrier may have taken the first one), and Run gives
// up on it after 2 s.
func TestTrunkRegistrationSilentCarrier(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	got := make(chan *sipmsg.Request, 100)
	go func() {
		buf := make([]byte, 65535)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if msg, err := sipmsg.ParseMessage(buf[:n]); err == nil {
				if req, ok := msg.(*sipmsg.Request); ok {
					got <- req
				}
			}
		}
	}()
	carrier := &trunkTestCarrier{addr: pc.LocalAddr().String()}
	_, stop := trunkTestStart(t, carrier, trunkTestPassword, TrunkRegOptions{})

	awaitExpires := func(want string) *sipmsg.Request {
		t.Helper()
		for {
			select {
			case req := <-got:
				if h := req.GetHeader("Expires"); h != nil && h.Value() == want {
					return req
				}
			case <-time.After(3 * time.Second):
				t.Fatalf("no REGISTER with Expires: %s", want)
				return nil
			}
		}
	}
	first := awaitExpires("3600")
	start := time.Now()
	stop() // waits for Run
	if took := time.Since(start); took < 2*time.Second || took > 3*time.Second {
		t.Fatalf("Run returned %v after cancel, want the 2 s unregistration bound", took)
	}
	last := awaitExpires("0")
	if last.CallID().Value() != first.CallID().Value() || last.CSeq().SeqNo <= first.CSeq().SeqNo {
		t.Fatalf("unregistration %s/%d after %s/%d", last.CallID().Value(), last.CSeq().SeqNo, first.CallID().Value(), first.CSeq().SeqNo)
	}
}
