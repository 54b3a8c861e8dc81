package sip

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// The tests below run a real sipgo server on loopback with the registrar
// behind it, and real sipgo user agents as phones.

type regTestOptions struct {
	minExpires, maxExpires, defaultExpires int
	maxFailures                            int
	banFor                                 time.Duration
	allow                                  []netip.Prefix
}

type regTestPBX struct {
	clock  *locTestClock
	kv     *locTestKV
	digest *Digest
	guard  *Guard
	loc    *Location
	ua     *sipgo.UserAgent
	udp    string // "127.0.0.1:port"
	tcp    string
}

var regTestUsers = map[string]string{"1001": "pw1001", "1002": "pw1002"}

func regTestLookup(user string) (string, bool) {
	p, ok := regTestUsers[user]
	return p, ok
}

func regTestLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newRegTestPBX(t *testing.T, o regTestOptions) *regTestPBX {
	t.Helper()
	if o.maxFailures == 0 {
		o.maxFailures = 5
	}
	if o.banFor == 0 {
		o.banFor = 10 * time.Minute
	}
	p := &regTestPBX{clock: newLocTestClock(), kv: newLocTestKV()}
	log := regTestLogger(t)
	p.digest = NewDigest("pbx.test", time.Minute, WithDigestClock(p.clock.Now))
	p.guard = NewGuard(o.maxFailures, time.Minute, o.banFor, o.allow,
		WithGuardClock(p.clock.Now), WithGuardStore(p.kv), WithGuardLogger(log))
	var err error
	if p.loc, err = NewLocation(p.kv, WithLocationClock(p.clock.Now), WithLocationLogger(log)); err != nil {
		t.Fatal(err)
	}
	reg := NewRegistrar(RegistrarOptions{
		MinExpires: o.minExpires, MaxExpires: o.maxExpires, DefaultExpires: o.defaultExpires,
		Digest: p.digest, Guard: p.guard, Lookup: regTestLookup, Location: p.loc,
		Logger: log, Clock: p.clock.Now,
	})
	p.ua, err = sipgo.NewUA(sipgo.WithUserAgent("pbx"),
		sipgo.WithUserAgentTransportLayerOptions(sipmsg.WithTransportLayerReadFilter(p.guard.ReadFilter())))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(p.ua, sipgo.WithServerLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	srv.OnRegister(reg.HandleRegister)

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// TCP on the UDP port when free, as the Stack does.
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	p.udp, p.tcp = pc.LocalAddr().String(), ln.Addr().String()
	go srv.ServeUDP(pc)
	go srv.ServeTCP(ln)
	t.Cleanup(func() {
		p.ua.Close()
		pc.Close()
		ln.Close()
	})
	regTestWaitUDP(t, p.ua, p.udp)
	return p
}

// regTestWaitUDP waits until sipgo serves the UDP socket at addr.
func regTestWaitUDP(t *testing.T, ua *sipgo.UserAgent, addr string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		if c, err := ua.TransportLayer().GetConnection("udp", addr); err == nil && c != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("udp %s not serving", addr)
		}
		time.Sleep(time.Millisecond)
	}
}

// regTestPhone is a sipgo user agent registering to the PBX. Over UDP it
// sends from its listening socket; over TCP from its own connection (it
// has no TCP listener, so anything reaching it over TCP came back on that
// connection).
type regTestPhone struct {
	user, password string
	transport      string
	pbx            string
	ua             *sipgo.UserAgent
	client         *sipgo.Client
	addr           string // UDP listening address
	options        chan *sipmsg.Request
	callID         string
	cseq           uint32
	timeout        time.Duration
}

func newRegTestPhone(t *testing.T, pbx *regTestPBX, ip, user, password, transport string) *regTestPhone {
	t.Helper()
	ph := &regTestPhone{user: user, password: password, transport: transport, pbx: pbx.udp,
		options: make(chan *sipmsg.Request, 16), callID: fmt.Sprintf("reg-%s-%d@test", user, time.Now().UnixNano()),
		cseq: 100, timeout: 3 * time.Second}
	if transport == "TCP" {
		ph.pbx = pbx.tcp
	}
	var err error
	ph.ua, err = sipgo.NewUA(sipgo.WithUserAgent(user), sipgo.WithUserAgentHostname(ip))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ph.ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnOptions(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		select {
		case ph.options <- req:
		default:
		}
		tx.Respond(sipmsg.NewResponseFromRequest(req, 200, "OK", nil))
	})
	pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	ph.addr = pc.LocalAddr().String()
	go srv.ServeUDP(pc)
	t.Cleanup(func() {
		ph.ua.Close()
		pc.Close()
	})
	regTestWaitUDP(t, ph.ua, ph.addr)
	opts := []sipgo.ClientOption{sipgo.WithClientHostname(ip), sipgo.WithClientNAT()}
	if transport != "TCP" {
		opts = append(opts, sipgo.WithClientConnectionAddr(ph.addr))
	} else {
		opts = append(opts, sipgo.WithClientConnectionAddr(net.JoinHostPort(ip, "0"))) // dial from ip
	}
	if ph.client, err = sipgo.NewClient(ph.ua, opts...); err != nil {
		t.Fatal(err)
	}
	return ph
}

// contact is the phone's own contact URI with extra parameters.
func (ph *regTestPhone) contact(params string) string {
	return "<sip:" + ph.user + "@" + ph.addr + params + ">"
}

// request builds the next REGISTER of the phone's registration (same
// Call-ID, next CSeq). expires < 0 leaves out the Expires header.
func (ph *regTestPhone) request(contacts []string, expires int) *sipmsg.Request {
	host, port, _ := net.SplitHostPort(ph.pbx)
	pn, _ := strconv.Atoi(port)
	req := sipmsg.NewRequest(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: host, Port: pn})
	aor := sipmsg.Uri{Scheme: "sip", User: ph.user, Host: "pbx.test"}
	from := &sipmsg.FromHeader{Address: aor, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ToHeader{Address: aor})
	cid := sipmsg.CallIDHeader(ph.callID)
	req.AppendHeader(&cid)
	ph.cseq++
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: ph.cseq, MethodName: sipmsg.REGISTER})
	req.AppendHeader(sipmsg.NewHeader("User-Agent", "regtest/"+ph.user))
	for _, c := range contacts {
		req.AppendHeader(sipmsg.NewHeader("Contact", c))
	}
	if expires >= 0 {
		req.AppendHeader(sipmsg.NewHeader("Expires", strconv.Itoa(expires)))
	}
	req.SetTransport(ph.transport)
	return req
}

// do sends req and returns the final response, or the error (a timeout
// when the PBX does not answer).
func (ph *regTestPhone) do(req *sipmsg.Request) (*sipmsg.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ph.timeout)
	defer cancel()
	return ph.client.Do(ctx, req)
}

// authenticate answers a challenge with the phone's credentials.
func (ph *regTestPhone) authenticate(req *sipmsg.Request, challenge *sipmsg.Response) (*sipmsg.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ph.timeout)
	defer cancel()
	res, err := ph.client.DoDigestAuth(ctx, req, challenge, sipgo.DigestAuth{Username: ph.user, Password: ph.password})
	ph.cseq = req.CSeq().SeqNo
	return res, err
}

// register sends a REGISTER, answers the challenge, and returns the final
// response.
func (ph *regTestPhone) register(t *testing.T, contacts []string, expires int) *sipmsg.Response {
	t.Helper()
	res, err := ph.tryRegister(contacts, expires)
	if err != nil {
		t.Fatalf("register %s: %v", ph.user, err)
	}
	return res
}

func (ph *regTestPhone) tryRegister(contacts []string, expires int) (*sipmsg.Response, error) {
	req := ph.request(contacts, expires)
	res, err := ph.do(req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != 401 {
		return res, fmt.Errorf("first answer %d, want a 401 challenge", res.StatusCode)
	}
	return ph.authenticate(req, res)
}

// regTestContacts maps the contact URIs of a 200 to their expires.
func regTestContacts(t *testing.T, res *sipmsg.Response) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*sipmsg.ContactHeader)
		if !ok {
			t.Fatalf("untyped contact %q", h.Value())
		}
		v, _ := c.Params.Get("expires")
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("contact without expires: %s", c.Value())
		}
		out[c.Address.String()] = n
	}
	return out
}

func regTestStatus(t *testing.T, res *sipmsg.Response, want int) {
	t.Helper()
	if res == nil || res.StatusCode != want {
		t.Fatalf("got %v, want %d", res, want)
	}
}

func TestRegistrarDigestRegistration(t *testing.T) {
	pbx := newRegTestPBX(t, regTestOptions{})
	ph := newRegTestPhone(t, pbx, "127.0.0.1", "1001", "pw1001", "UDP")

	req := ph.request([]string{ph.contact("")}, 300)
	res, err := ph.do(req)
	if err != nil {
		t.Fatal(err)
	}
	regTestStatus(t, res, 401)
	if len(pbx.loc.All()) != 0 {
		t.Fatal("bound before authentication")
	}
	res, err = ph.authenticate(req, res)
	if err != nil {
		t.Fatal(err)
	}
	regTestStatus(t, res, 200)

	if got := regTestContacts(t, res); len(got) != 1 || got["sip:1001@"+ph.addr] != 300 {
		t.Fatalf("200 contacts: %v", got)
	}
	date := res.GetHeader("Date")
	if date == nil || date.Value() != pbx.clock.Now().Format("Mon, 02 Jan 2006 15:04:05 GMT") {
		t.Fatalf("Date: %v", date)
	}
	// sipgo fills received and rport because the phone asked (RFC 3581).
	via := res.Via()
	if rport, _ := via.Params.Get("rport"); rport != strconv.Itoa(regTestPort(ph.addr)) {
		t.Fatalf("rport not filled: %s", via.Value())
	}
	if received, _ := via.Params.Get("received"); received != "127.0.0.1" {
		t.Fatalf("received not filled: %s", via.Value())
	}

	bs := pbx.loc.Lookup("1001")
	if len(bs) != 1 {
		t.Fatalf("bindings: %+v", bs)
	}
	b := bs[0]
	if b.AOR != "1001" || b.Contact != "sip:1001@"+ph.addr || b.Source != ph.addr || b.Transport != "UDP" ||
		b.CallID != ph.callID || b.CSeq != req.CSeq().SeqNo || b.Q != 1 || !b.Reachable ||
		b.UserAgent != "regtest/1001" || !b.Expires.Equal(pbx.clock.Now().Add(300*time.Second)) {
		t.Fatalf("binding: %+v", b)
	}
}

// regTestPort is the port of "ip:port".
func regTestPort(addr string) int {
	ap := netip.MustParseAddrPort(addr)
	return int(ap.Port())
}

// regTestComparable renders a response without what may differ between
// two requests: the echoed dialog headers (Via, From, To, Call-ID, CSeq)
// and the nonce.
func regTestComparable(res *sipmsg.Response) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s\n", res.StatusCode, res.Reason)
	nonce := regexp.MustCompile(`nonce="[^"]*"`)
	for _, h := range res.Headers() {
		switch strings.ToLower(h.Name()) {
		case "via", "from", "to", "call-id", "cseq":
			fmt.Fprintf(&b, "%s: -\n", h.Name())
		default:
			fmt.Fprintf(&b, "%s: %s\n", h.Name(), nonce.ReplaceAllString(h.Value(), `nonce="-"`))
		}
	}
	b.Write(res.Body())
	return b.String()
}

func TestRegistrarUnknownUserAndWrongPasswordLookAlike(t *testing.T) {
	pbx := newRegTestPBX(t, regTestOptions{maxFailures: 100})
	wrong := newRegTestPhone(t, pbx, "127.0.0.1", "1001", "guess", "UDP")
	unknown := newRegTestPhone(t, pbx, "127.0.0.1", "4242", "guess", "UDP")

	resWrong := wrong.register(t, []string{wrong.contact("")}, 300)
	resUnknown := unknown.register(t, []string{unknown.contact("")}, 300)
	regTestStatus(t, resWrong, 401)
	a, b := regTestComparable(resWrong), regTestComparable(resUnknown)
	if a != b {
		t.Fatalf("wrong password and unknown user differ:\n%s---\n%s", a, b)
	}
	t.Logf("both refused with:\n%s", a)
	if resWrong.GetHeader("WWW-Authenticate").Value() == resUnknown.GetHeader("WWW-Authenticate").Value() {
		t.Fatal("the nonce was not fresh")
	}
	if len(pbx.loc.All()) != 0 {
		t.Fatalf("bindings: %+v", pbx.loc.All())
	}
}

func TestRegistrarStaleNonce(t *testing.T) {
	pbx := newRegTestPBX(t, regTestOptions{maxFailures: 1})
	ph := newRegTestPhone(t, pbx, "127.0.0.1", "1001", "pw1001", "UDP")
	req := ph.request([]string{ph.contact("")}, 300)
	first, err := ph.do(req)
	if err != nil {
		t.Fatal(err)
	}
	pbx.clock.Advance(61 * time.Second) // the digest's nonce TTL is a minute

	res, err := ph.authenticate(req, first)
	if err != nil {
		t.Fatal(err)
	}
	regTestStatus(t, res, 401)
	chal, err := digest.ParseChallenge(res.GetHeader("WWW-Authenticate").Value())
	if err != nil || !chal.Stale {
		t.Fatalf("want stale=true: %s", res.GetHeader("WWW-Authenticate").Value())
	}
	res, err = ph.authenticate(req, res)
	if err != nil {
		t.Fatal(err)
	}
	regTestStatus(t, res, 200)
	if len(pbx.guard.Bans()) != 0 {
		t.Fatal("a stale nonce counted as a failure")
	}
}

func TestRegistrarNonceCountReplay(t *testing.T) {
	pbx := newRegTestPBX(t, regTestOptions{maxFailures: 1})
	ph := newRegTestPhone(t, pbx, "127.0.0.1", "1001", "pw1001", "UDP")
	req := ph.request([]string{ph.contact("")}, 300)
	challenge, err := ph.do(req)
	if err != nil {
		t.Fatal(err)
	}
	chal, err := digest.ParseChallenge(challenge.GetHeader("WWW-Authenticate").Value())
	if err != nil {
		t.Fatal(err)
	}
	send := func(nc int) *sipmsg.Response {
		t.Helper()
		r := ph.request([]string{ph.contact("")}, 300)
		cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: r.Recipient.Addr(),
			Username: "1001", Password: "pw1001", Count: nc, Cnonce: "c0ffee"})
		if err != nil {
			t.Fatal(err)
		}
		r.AppendHeader(sipmsg.NewHeader("Authorization", cred.String()))
		res, err := ph.do(r)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	regTestStatus(t, send(1), 200)
	res := send(1) // the same credentials again, in a new transaction
	regTestStatus(t, res, 401)
	if c, _ := digest.ParseChallenge(res.GetHeader("WWW-Authenticate").Value()); c == nil || c.Stale {
		t.Fatal("a replay must be challenged afresh, not called stale")
	}
	regTestStatus(t, send(2), 200)
	if len(pbx.guard.Bans()) != 0 {
		t.Fatal("a replay of good credentials counted as a failure")
	}
}

func TestRegistrarAuthenticatedUserMustOwnAOR(t *testing.T) {
	pbx := newRegTestPBX(t, regTestOptions{})
	ph := newRegTestPhone(t, pbx, "127.0.0.1", "1001", "pw1002", "UDP")
	req := ph.request([]string{ph.contact("")}, 300)
	res, err := ph.do(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	res, err = ph.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: "1002", Password: "pw1002"})
	if err != nil {
		t.Fatal(err)
	}
	regTestStatus(t, res, 403)
	if len(pbx.loc.All()) != 0 {
		t.Fatal("1002 registered a contact for 1001")
	}
}

func TestRegistrarContacts(t *testing.T) {
	pbx := newRegTestPBX(t, regTestOptions{minExpires: 60, maxExpires: 3600, defaultExpires: 600})
	ph := newRegTestPhone(t, pbx, "127.0.0.1", "1001", "pw1001", "UDP")
	a := "sip:1001@10.0.0.1:5060"
	b := "sip:1001@10.0.0.2:5060;transport=tcp"
	c := "sip:1001@10.0.0.3:5060"

	// Two contacts in one REGISTER: the expires parameter wins over the header.
	res := ph.register(t, []string{"<" + a + ">;expires=120", "<" + b + ">;q=0.5"}, 300)
	regTestStatus(t, res, 200)
	if got := regTestContacts(t, res); len(got) != 2 || got[a] != 120 || got[b] != 300 {
		t.Fatalf("contacts: %v", got)
	}
	// A third, with neither: the default; too long: cut to the maximum.
	res = ph.register(t, []string{"<" + c + ">"}, -1)
	if got := regTestContacts(t, res); len(got) != 3 || got[c] != 600 {
		t.Fatalf("default expiry: %v", got)
	}
	res = ph.register(t, []string{"<" + c + ">;expires=86400"}, -1)
	if got := regTestContacts(t, res); got[c] != 3600 {
		t.Fatalf("max expiry: %v", got)
	}
	if bs := pbx.loc.Lookup("1001"); len(bs) != 3 || bs[2].Contact != b || bs[2].Q != 0.5 {
		t.Fatalf("q ordering: %+v", bs)
	}

	// Too short: 423 with Min-Expires, nothing changes.
	res = ph.register(t, []string{"<sip:1001@10.0.0.4:5060>;expires=10"}, -1)
	regTestStatus(t, res, 423)
	if h := res.GetHeader("Min-Expires"); h == nil || h.Value() != "60" {
		t.Fatalf("Min-Expires: %v", h)
	}
	if n := len(pbx.loc.Lookup("1001")); n != 3 {
		t.Fatalf("%d bindings after 423", n)
	}

	// Expires 0 removes one contact, matched by URI comparison rules.
	res = ph.register(t, []string{"<SIP:1001@10.0.0.1:5060>"}, 0)
	if got := regTestContacts(t, res); len(got) != 2 || got[b] == 0 || got[c] == 0 {
		t.Fatalf("after removing a: %v", got)
	}

	// No Contact: a query.
	pbx.clock.Advance(100 * time.Second)
	res = ph.register(t, nil, -1)
	regTestStatus(t, res, 200)
	if got := regTestContacts(t, res); len(got) != 2 || got[b] != 200 || got[c] != 3500 {
		t.Fatalf("query: %v", got)
	}

	// "*" needs Expires: 0 and no other contact.
	regTestStatus(t, ph.register(t, []string{"*"}, 300), 400)
	regTestStatus(t, ph.register(t, []string{"*", "<" + a + ">"}, 0), 400)
	if n := len(pbx.loc.Lookup("1001")); n != 2 {
		t.Fatalf("%d bindings after refused wildcards", n)
	}
	res = ph.register(t, []string{"*"}, 0)
	regTestStatus(t, res, 200)
	if len(res.GetHeaders("Contact")) != 0 || len(pbx.loc.All()) != 0 {
		t.Fatalf("after *: %v %+v", res.GetHeaders("Contact"), pbx.loc.All())
	}
	if keys := pbx.kv.keys(locationBucket); len(keys) != 0 {
		t.Fatalf("store keeps %v", keys)
	}
}

func TestRegistrarOutOfOrderCSeq(t *testing.T) {
	pbx := newRegTestPBX(t, regTestOptions{})
	ph := newRegTestPhone(t, pbx, "127.0.0.1", "1001", "pw1001", "UDP")
	regTestStatus(t, ph.register(t, []string{ph.contact("")}, 300), 200)
	stored := pbx.loc.Lookup("1001")[0].CSeq

	ph.cseq = stored - 2 // the next authenticated REGISTER carries the stored CSeq again
	res := ph.register(t, []string{ph.contact("")}, 0)
	regTestStatus(t, res, 500)
	if len(pbx.loc.Lookup("1001")) != 1 {
		t.Fatal("an old REGISTER removed the binding")
	}
	regTestStatus(t, ph.register(t, []string{"*"}, 0), 200) // CSeq moved on: accepted
	if len(pbx.loc.Lookup("1001")) != 0 {
		t.Fatal("not removed")
	}

	// A new Call-ID (the phone rebooted) may start from any CSeq.
	regTestStatus(t, ph.register(t, []string{ph.contact("")}, 300), 200)
	ph.callID += "-reboot"
	ph.cseq = 1
	regTestStatus(t, ph.register(t, []string{ph.contact("")}, 600), 200)
	if bs := pbx.loc.Lookup("1001"); len(bs) != 1 || bs[0].CallID != ph.callID {
		t.Fatalf("after reboot: %+v", bs)
	}
}

func TestRegistrarExpiryAndPersistence(t *testing.T) {
	pbx := newRegTestPBX(t, regTestOptions{})
	ph := newRegTestPhone(t, pbx, "127.0.0.1", "1001", "pw1001", "UDP")
	ph2 := newRegTestPhone(t, pbx, "127.0.0.1", "1002", "pw1002", "UDP")
	regTestStatus(t, ph.register(t, []string{ph.contact("")}, 60), 200)
	regTestStatus(t, ph2.register(t, []string{ph2.contact("")}, 3600), 200)

	// A restart: a new Location on the same store has both.
	again, err := NewLocation(pbx.kv, WithLocationClock(pbx.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if all := again.All(); len(all) != 2 || all[0].AOR != "1001" || all[1].AOR != "1002" || all[0].Source != ph.addr {
		t.Fatalf("reloaded: %+v", all)
	}

	pbx.clock.Advance(61 * time.Second)
	if len(pbx.loc.Lookup("1001")) != 0 {
		t.Fatal("expired binding looked up")
	}
	pbx.loc.Sweep()
	if keys := pbx.kv.keys(locationBucket); len(keys) != 1 || keys[0] != "1002" {
		t.Fatalf("store after sweep: %v", keys)
	}
	// A restart after expiry does not resurrect it.
	again, _ = NewLocation(pbx.kv, WithLocationClock(pbx.clock.Now))
	if all := again.All(); len(all) != 1 || all[0].AOR != "1002" {
		t.Fatalf("reloaded after expiry: %+v", all)
	}
}

func TestRegistrarGuardBansThenSilence(t *testing.T) {
	pbx := newRegTestPBX(t, regTestOptions{maxFailures: 3, banFor: 10 * time.Minute,
		allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.3/32")}})
	attacker := newRegTestPhone(t, pbx, "127.0.0.2", "1001", "guess", "UDP")
	friend := newRegTestPhone(t, pbx, "127.0.0.3", "1001", "typo", "UDP")
	good := newRegTestPhone(t, pbx, "127.0.0.1", "1002", "pw1002", "UDP")
	attacker.timeout = 700 * time.Millisecond

	for i := range 3 {
		res, err := attacker.tryRegister([]string{attacker.contact("")}, 300)
		if err != nil || res.StatusCode != 401 {
			t.Fatalf("attempt %d: %v %v", i, res, err)
		}
	}
	if _, err := attacker.tryRegister([]string{attacker.contact("")}, 300); err == nil {
		t.Fatal("a banned source got an answer")
	}
	bans := pbx.guard.Bans()
	if len(bans) != 1 || bans[0].Addr != netip.MustParseAddr("127.0.0.2") || bans[0].Failures != 3 {
		t.Fatalf("bans: %+v", bans)
	}
	if listed, _ := ListBans(pbx.kv); len(listed) != 1 {
		t.Fatalf("ban not persisted: %+v", listed)
	}

	// The allow-listed source fails as often as it likes.
	for i := range 5 {
		res, err := friend.tryRegister([]string{friend.contact("")}, 300)
		if err != nil || res.StatusCode != 401 {
			t.Fatalf("allow-listed attempt %d: %v %v", i, res, err)
		}
	}
	// Others still register.
	regTestStatus(t, good.register(t, []string{good.contact("")}, 300), 200)

	// The ban ends with time.
	pbx.clock.Advance(10 * time.Minute)
	attacker.timeout = 3 * time.Second
	res, err := attacker.tryRegister([]string{attacker.contact("")}, 300)
	if err != nil || res.StatusCode != 401 {
		t.Fatalf("after the ban: %v %v", res, err)
	}
	if len(pbx.guard.Bans()) != 0 {
		t.Fatalf("bans: %+v", pbx.guard.Bans())
	}
}

func TestRegistrarGuardClosesBannedTCP(t *testing.T) {
	pbx := newRegTestPBX(t, regTestOptions{maxFailures: 1})
	attacker := newRegTestPhone(t, pbx, "127.0.0.4", "1001", "guess", "TCP")
	attacker.timeout = 700 * time.Millisecond
	res, err := attacker.tryRegister([]string{attacker.contact(";transport=tcp")}, 300)
	if err != nil || res.StatusCode != 401 {
		t.Fatalf("first attempt: %v %v", res, err)
	}
	if !pbx.guard.Banned(netip.MustParseAddr("127.0.0.4")) {
		t.Fatal("not banned")
	}
	if _, err := attacker.tryRegister([]string{attacker.contact(";transport=tcp")}, 300); err == nil {
		t.Fatal("a banned TCP source got an answer")
	}
}

// A phone registered over TCP is reached over its own connection: the
// binding's Target names the connection's source, and sipgo reuses it even
// though the contact host cannot be reached.
func TestRegistrarTCPTargetReusesConnection(t *testing.T) {
	pbx := newRegTestPBX(t, regTestOptions{})
	ph := newRegTestPhone(t, pbx, "127.0.0.1", "1001", "pw1001", "TCP")
	contact := "<sip:1001@phone.invalid:5060;transport=tcp;ob>"
	regTestStatus(t, ph.register(t, []string{contact}, 300), 200)

	bs := pbx.loc.Lookup("1001")
	if len(bs) != 1 || bs[0].Transport != "TCP" {
		t.Fatalf("binding: %+v", bs)
	}
	uri, dest, transport, err := bs[0].Target()
	if err != nil {
		t.Fatal(err)
	}
	if uri.Host != "phone.invalid" || transport != "TCP" || dest != bs[0].Source {
		t.Fatalf("target: %s %s %s", uri.String(), dest, transport)
	}

	client, err := sipgo.NewClient(pbx.ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	req := sipmsg.NewRequest(sipmsg.OPTIONS, uri)
	req.SetDestination(dest)
	req.SetTransport(transport)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	res, err := client.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	regTestStatus(t, res, 200)
	select {
	case got := <-ph.options:
		if got.Transport() != "TCP" || got.Recipient.Host != "phone.invalid" {
			t.Fatalf("OPTIONS arrived as %s for %s", got.Transport(), got.Recipient.String())
		}
	default:
		t.Fatal("the phone did not see the OPTIONS")
	}
}
