package testkit

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"pbx/media"
	"pbx/sip"
)

// Phone is a softphone for tests: a sipgo user agent on its own loopback
// port, with an RTP endpoint per call.
type Phone struct {
	t        testing.TB
	User     string
	Password string
	PBX      string // host:port of the PBX
	Codecs   []string
	Timeout  time.Duration // how long Register waits for an answer; default 5 s
	// Transport is how the phone talks to the PBX: UDP (default), TCP or
	// TLS. Over TCP and TLS the PBX reaches the phone back on the phone's
	// own connection.
	Transport string
	// NoTelephoneEvent makes the phone negotiate no telephone-event: it
	// keys and hears DTMF as tones.
	NoTelephoneEvent bool

	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client
	dua    *sipgo.DialogUA
	addr   netip.AddrPort
	media  *media.Engine

	digest   *sip.Digest          // set by RequireDigest, read under mu
	accounts map[string]string    // user -> password the digest accepts
	Invites  chan *sipmsg.Request // every INVITE that passed the challenge

	incoming chan *Incoming
	mu       sync.Mutex
	calls    map[string]*PhoneCall // by dialog id
	regCSeq  uint32
	regID    string
}

// NewPhone starts a phone for user on 127.0.0.1; it stops at test cleanup.
func NewPhone(t testing.TB, pbx, user, password string) *Phone {
	t.Helper()
	return NewPhoneOn(t, "127.0.0.1", pbx, user, password)
}

// NewPhoneOn starts a phone on another loopback address (127.0.0.2, ...),
// so that it looks like a different host: a carrier, an attacker.
func NewPhoneOn(t testing.TB, ip, pbx, user, password string) *Phone {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(user), sipgo.WithUserAgentHostname(ip),
		sipgo.WithUserAgenTLSConfig(&tls.Config{InsecureSkipVerify: true})) // the test PBX's certificate is self-signed
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := sipgo.NewServer(ua)
	pc, err := net.ListenPacket("udp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddrPort(pc.LocalAddr().String())
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname(ip), sipgo.WithClientPort(int(addr.Port())),
		sipgo.WithClientConnectionAddr(addr.String()))
	if err != nil {
		t.Fatal(err)
	}
	me, err := media.NewEngine(media.Config{BindIP: netip.MustParseAddr(ip)})
	if err != nil {
		t.Fatal(err)
	}
	p := &Phone{t: t, User: user, Password: password, PBX: pbx, Codecs: []string{"PCMU", "PCMA"},
		ua: ua, srv: srv, client: client, addr: addr, media: me,
		incoming: make(chan *Incoming, 8), Invites: make(chan *sipmsg.Request, 16), calls: map[string]*PhoneCall{}, regID: sipmsg.GenerateTagN(12)}
	p.dua = &sipgo.DialogUA{Client: client, ContactHDR: *p.contact()}
	// Handlers before serving: a port reused from an earlier test may
	// receive that test's late requests at once.
	srv.OnInvite(p.onInvite)
	srv.OnAck(p.onAck)
	srv.OnBye(p.onBye)
	srv.OnNotify(p.onNotify)
	srv.OnMessage(p.onMessage)
	srv.OnOptions(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		tx.Respond(sipmsg.NewResponseFromRequest(req, 200, "OK", nil))
	})
	go srv.ServeUDP(pc)
	if err := sip.WaitUDPServing(ua, pc.LocalAddr().String()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.mu.Lock()
		calls := make([]*PhoneCall, 0, len(p.calls))
		for _, c := range p.calls {
			calls = append(calls, c)
		}
		p.mu.Unlock()
		for _, c := range calls {
			c.stopTone()
		}
		me.Close()
		ua.Close()
		pc.Close()
	})
	return p
}

// RequireDigest makes the phone act as a carrier that demands digest
// credentials (407) on every INVITE before it rings.
func (p *Phone) RequireDigest(realm string, accounts map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.digest = sip.NewDigest(realm, time.Minute)
	p.accounts = accounts
}

// Addr is the phone's SIP address.
func (p *Phone) Addr() netip.AddrPort { return p.addr }

func (p *Phone) contact() *sipmsg.ContactHeader {
	c := &sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: p.User, Host: p.addr.Addr().String(), Port: int(p.addr.Port())}}
	if t := p.transport(); t != "UDP" {
		c.Address.UriParams = sipmsg.NewParams()
		c.Address.UriParams.Add("transport", strings.ToLower(t))
	}
	return c
}

func (p *Phone) transport() string {
	if p.Transport == "" {
		return "UDP"
	}
	return strings.ToUpper(p.Transport)
}

// UseTransport switches the phone to TCP or TLS toward the PBX at addr.
func (p *Phone) UseTransport(transport, addr string) {
	p.Transport, p.PBX = transport, addr
	p.dua.ContactHDR = *p.contact()
}

// Register registers the phone's contact for expires seconds and returns the
// final response (after answering the digest challenge).
func (p *Phone) Register(expires int) (*sipmsg.Response, error) {
	c := p.contact()
	return p.register("<"+c.Address.String()+">", expires)
}

func (p *Phone) register(contact string, expires int) (*sipmsg.Response, error) {
	timeout := p.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	host, port, _ := net.SplitHostPort(p.PBX)
	pn, _ := strconv.Atoi(port)
	req := sipmsg.NewRequest(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: host, Port: pn})
	aor := sipmsg.Uri{Scheme: "sip", User: p.User, Host: host}
	from := &sipmsg.FromHeader{Address: aor, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ToHeader{Address: aor})
	cid := sipmsg.CallIDHeader(p.regID)
	req.AppendHeader(&cid)
	p.mu.Lock()
	p.regCSeq++
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: p.regCSeq, MethodName: sipmsg.REGISTER})
	p.mu.Unlock()
	req.AppendHeader(sipmsg.NewHeader("Contact", contact))
	req.AppendHeader(sipmsg.NewHeader("Expires", strconv.Itoa(expires)))
	req.SetTransport(p.transport())
	res, err := p.client.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode == 401 {
		res, err = p.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: p.User, Password: p.Password})
		if err == nil {
			p.mu.Lock()
			p.regCSeq = req.CSeq().SeqNo
			p.mu.Unlock()
		}
	}
	return res, err
}

// CallOptions shape an outgoing call.
type CallOptions struct {
	Codecs    []string          // default: the phone's codecs
	OnRinging func(code int)    // called for each provisional response above 100
	Headers   map[string]string // extra headers on the INVITE
	NoAuth    bool              // do not answer the 407 challenge
	// OnEarlyMedia is called when a provisional response brings SDP: the
	// call already receives the early audio.
	OnEarlyMedia func(c *PhoneCall)
}

// Call dials number through the PBX and returns once the call is answered
// and ACKed. A refusal returns an error holding the status code (StatusOf).
func (p *Phone) Call(ctx context.Context, number string, o CallOptions) (*PhoneCall, error) {
	codecs := o.Codecs
	if codecs == nil {
		codecs = p.Codecs
	}
	ep, err := p.media.NewEndpoint()
	if err != nil {
		return nil, err
	}
	c := &PhoneCall{phone: p, ep: ep, done: make(chan struct{})}
	host, port, _ := net.SplitHostPort(p.PBX)
	pn, _ := strconv.Atoi(port)
	req := sipmsg.NewRequest(sipmsg.INVITE, sipmsg.Uri{Scheme: "sip", User: number, Host: host, Port: pn})
	from := &sipmsg.FromHeader{DisplayName: "Test " + p.User, Address: sipmsg.Uri{Scheme: "sip", User: p.User, Host: host}, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: "sip", User: number, Host: host}})
	req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	for k, v := range o.Headers {
		req.AppendHeader(sipmsg.NewHeader(k, v))
	}
	req.SetBody(c.sdp(codecs, "sendrecv"))
	req.SetTransport(p.transport())
	cs, err := p.dua.WriteInvite(ctx, req)
	if err != nil {
		ep.Close()
		return nil, err
	}
	c.cli = cs
	opts := sipgo.AnswerOptions{OnResponse: func(res *sipmsg.Response) error {
		if res.IsProvisional() && res.StatusCode > 100 && o.OnRinging != nil {
			o.OnRinging(res.StatusCode)
		}
		if res.IsProvisional() && len(res.Body()) > 0 && c.applyAnswer(res.Body()) == nil && o.OnEarlyMedia != nil {
			o.OnEarlyMedia(c)
		}
		return nil
	}}
	if !o.NoAuth {
		opts.Username, opts.Password = p.User, p.Password
	}
	if err := cs.WaitAnswer(ctx, opts); err != nil {
		ep.Close()
		return nil, err
	}
	if err := c.applyAnswer(cs.InviteResponse.Body()); err != nil {
		ep.Close()
		return nil, err
	}
	if err := cs.Ack(ctx); err != nil {
		ep.Close()
		return nil, err
	}
	p.track(cs.ID, c)
	return c, nil
}

// StatusOf extracts the SIP status of a refused call, 0 if err is not one.
func StatusOf(err error) int {
	var de *sipgo.ErrDialogResponse
	if errors.As(err, &de) {
		return de.Res.StatusCode
	}
	return 0
}

func (p *Phone) track(id string, c *PhoneCall) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c.id = id
	p.calls[id] = c
}

func (p *Phone) lookup(req *sipmsg.Request) *PhoneCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range []func(*sipmsg.Request) (string, error){sipmsg.DialogIDFromRequestUAS, sipmsg.DialogIDFromRequestUAC} {
		if id, err := f(req); err == nil {
			if c, ok := p.calls[id]; ok {
				return c
			}
		}
	}
	return nil
}

// Incoming is a call ringing on the phone; the test decides its fate.
type Incoming struct {
	Request *sipmsg.Request
	phone   *Phone
	ss      *sipgo.DialogServerSession
	decided chan struct{}
	early   *PhoneCall
	answer  []byte
}

// EarlyMedia answers 183 with SDP and returns the call, whose audio flows
// to the caller before the final answer. Answer later confirms it.
func (in *Incoming) EarlyMedia(codecs ...string) (*PhoneCall, error) {
	c, sdp, err := in.prepare(codecs)
	if err != nil {
		return nil, err
	}
	res := sipmsg.NewResponseFromRequest(in.ss.InviteRequest, 183, "Session Progress", sdp)
	res.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	if err := in.ss.WriteResponse(res); err != nil {
		return nil, err
	}
	in.early, in.answer = c, sdp
	return c, nil
}

// Incoming waits for the next call to ring on the phone.
func (p *Phone) Incoming(timeout time.Duration) (*Incoming, error) {
	select {
	case in := <-p.incoming:
		return in, nil
	case <-time.After(timeout):
		return nil, fmt.Errorf("%s: no incoming call within %s", p.User, timeout)
	}
}

// Ring sends 180.
func (in *Incoming) Ring() error { return in.ss.Respond(180, "Ringing", nil) }

// Reject answers with a failure status.
func (in *Incoming) Reject(code int, reason string) error {
	defer in.done()
	return in.ss.Respond(code, reason, nil)
}

// Cancelled is closed when the caller's side cancels the ringing call.
func (in *Incoming) Cancelled() <-chan struct{} { return in.ss.Context().Done() }

// Answer answers with the given codecs (default: the phone's) and returns
// the call once the PBX has ACKed.
func (in *Incoming) Answer(codecs ...string) (*PhoneCall, error) {
	defer in.done()
	if in.early != nil {
		if err := in.ss.RespondSDP(in.answer); err != nil {
			return nil, err
		}
		return in.early, nil
	}
	c, sdp, err := in.prepare(codecs)
	if err != nil {
		return nil, err
	}
	if err := in.ss.RespondSDP(sdp); err != nil {
		return nil, err
	}
	return c, nil
}

// prepare sets up the phone's side of an incoming call and its SDP answer.
func (in *Incoming) prepare(codecs []string) (*PhoneCall, []byte, error) {
	p := in.phone
	if len(codecs) == 0 {
		codecs = p.Codecs
	}
	ep, err := p.media.NewEndpoint()
	if err != nil {
		return nil, nil, err
	}
	c := &PhoneCall{phone: p, ep: ep, srvSess: in.ss, done: make(chan struct{})}
	offer, err := sip.ParseSDP(in.Request.Body())
	if err != nil {
		ep.Close()
		return nil, nil, err
	}
	// Answer with the first offered codec the phone accepts.
	var pick []string
	for _, oc := range offer.Codecs {
		for _, mine := range codecs {
			if oc.Name == mine && len(pick) == 0 {
				pick = append(pick, mine)
			}
		}
	}
	if len(pick) == 0 {
		ep.Close()
		in.ss.Respond(488, "Not Acceptable Here", nil)
		return nil, nil, fmt.Errorf("no common codec in %v", offer.Codecs)
	}
	if err := c.applyAnswer(in.Request.Body(), pick[0]); err != nil {
		ep.Close()
		return nil, nil, err
	}
	p.track(in.ss.ID, c)
	return c, c.sdp(pick, "sendrecv"), nil
}

func (in *Incoming) done() {
	select {
	case <-in.decided:
	default:
		close(in.decided)
	}
}

func (p *Phone) onInvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if tag, _ := req.To().Params.Get("tag"); tag != "" {
		p.onReinvite(req, tx)
		return
	}
	p.mu.Lock()
	d, accounts := p.digest, p.accounts
	p.mu.Unlock()
	if d != nil {
		_, res, _ := d.Authenticate(req, true, func(u string) (string, bool) {
			pw, ok := accounts[u]
			return pw, ok
		})
		if res != nil {
			tx.Respond(res)
			return
		}
	}
	select {
	case p.Invites <- req:
	default:
	}
	ss, err := p.dua.ReadInvite(req, tx)
	if err != nil {
		tx.Respond(sipmsg.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return
	}
	in := &Incoming{Request: req, phone: p, ss: ss, decided: make(chan struct{})}
	select {
	case p.incoming <- in:
	default:
		ss.Respond(486, "Busy Here", nil)
		return
	}
	// The INVITE transaction lives as long as this handler: wait for the
	// test's decision or the caller's CANCEL.
	select {
	case <-in.decided:
	case <-ss.Context().Done():
	}
}

func (p *Phone) onReinvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	c := p.lookup(req)
	if c == nil {
		tx.Respond(sipmsg.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	offer, err := sip.ParseSDP(req.Body())
	if err != nil {
		tx.Respond(sipmsg.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return
	}
	c.mu.Lock()
	c.remoteDir = offer.Direction
	codec := c.codec
	c.mu.Unlock()
	c.applyAnswer(req.Body(), codec.Name)
	res := sipmsg.NewSDPResponseFromRequest(req, c.sdp([]string{codec.Name}, sip.AnswerDirection(offer.Direction)))
	tx.Respond(res)
	select {
	case c.reinvites <- offer.Direction:
	default:
	}
}

func (p *Phone) onAck(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if c := p.lookup(req); c != nil && c.srvSess != nil {
		c.srvSess.ReadAck(req, tx)
	}
}

func (p *Phone) onBye(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	c := p.lookup(req)
	if c == nil {
		tx.Respond(sipmsg.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	if c.srvSess != nil {
		c.srvSess.ReadBye(req, tx)
	} else {
		c.cli.ReadBye(req, tx)
	}
	c.ended()
}

// onNotify takes a NOTIFY about a REFER the phone sent and hands its
// sipfrag status line to the call.
func (p *Phone) onNotify(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	tx.Respond(sipmsg.NewResponseFromRequest(req, 200, "OK", nil))
	c := p.lookup(req)
	if c == nil {
		return
	}
	c.init()
	line, _, _ := strings.Cut(string(req.Body()), "\r\n")
	select {
	case c.notifies <- line:
	default:
	}
}

// onMessage takes a MESSAGE inside a call and hands its body to the call.
func (p *Phone) onMessage(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	c := p.lookup(req)
	if c == nil {
		tx.Respond(sipmsg.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	tx.Respond(sipmsg.NewResponseFromRequest(req, 200, "OK", nil))
	c.init()
	select {
	case c.messages <- string(req.Body()):
	default:
	}
}
