package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// This file keeps the PBX registered to a carrier (RFC 3261 §10.2): a run of
// REGISTERs with one Call-ID and a growing CSeq, digest answered, refreshed
// at half the granted interval, retried after failures, and removed when the
// PBX stops.

// Defaults of TrunkRegOptions.
const (
	TrunkDefaultExpires    = time.Hour
	TrunkDefaultRetryAfter = 30 * time.Second
)

// trunkUnregisterTimeout bounds the Expires: 0 REGISTER sent on the way out.
const trunkUnregisterTimeout = 2 * time.Second

// trunkMaxChallenges is how many 401/407 in a row one registration attempt
// answers: a second one is allowed for a stale nonce.
const trunkMaxChallenges = 2

// TrunkRegOptions configure an outbound registration to a carrier.
type TrunkRegOptions struct {
	Name               string               // trunk name, for logs
	Registrar          string               // "host:port" (or "host") of the carrier
	Transport          string               // "udp" (default), "tcp" or "tls"
	Username, Password string               // digest credentials; Username is the AOR user
	Domain             string               // AOR domain; default: the host of Registrar
	Contact            sipmsg.ContactHeader // where the carrier sends calls: the PBX's contact
	Expires            time.Duration        // interval asked for; default TrunkDefaultExpires
	RetryAfter         time.Duration        // wait after a failure; default TrunkDefaultRetryAfter
	Logger             *slog.Logger         // default slog.Default()
	Now                func() time.Time     // clock for TrunkRegStatus.Expires; default time.Now
}

// Validate reports the first problem of the options.
func (o TrunkRegOptions) Validate() error {
	if _, _, err := trunkSplitRegistrar(o.Registrar, o.Transport); err != nil {
		return err
	}
	switch strings.ToLower(o.Transport) {
	case "", "udp", "tcp", "tls":
	default:
		return fmt.Errorf("transport %q: want udp, tcp or tls", o.Transport)
	}
	if o.Username == "" {
		return errors.New("username: missing")
	}
	if o.Contact.Address.Host == "" {
		return errors.New("contact: missing host")
	}
	if o.Expires < 0 {
		return fmt.Errorf("expires %v: negative", o.Expires)
	}
	if o.RetryAfter < 0 {
		return fmt.Errorf("retry after %v: negative", o.RetryAfter)
	}
	return nil
}

// trunkSplitRegistrar splits "host[:port]" and fills the transport's
// default port.
func trunkSplitRegistrar(registrar, transport string) (string, int, error) {
	if registrar == "" {
		return "", 0, errors.New("registrar: missing")
	}
	host, portS, err := net.SplitHostPort(registrar)
	if err != nil {
		host, portS = strings.Trim(registrar, "[]"), ""
	}
	if host == "" || strings.ContainsAny(host, " \t\r\n;,<>@") {
		return "", 0, fmt.Errorf("registrar %q: bad host", registrar)
	}
	port := sipmsg.DefaultPort(transport) // 5060 unless tls
	if portS != "" {
		if port, err = strconv.Atoi(portS); err != nil || port <= 0 || port > 65535 {
			return "", 0, fmt.Errorf("registrar %q: bad port", registrar)
		}
	}
	return host, port, nil
}

// trunkURIHost writes an IPv6 literal in brackets, as SIP URIs want it.
func trunkURIHost(host string) string {
	if a, err := netip.ParseAddr(host); err == nil && a.Is6() {
		return "[" + host + "]"
	}
	return host
}

// TrunkRegStatus is the state of an outbound registration. A failed refresh
// clears Registered at once, even though the carrier may keep the old
// binding until it expires.
type TrunkRegStatus struct {
	Registered bool
	Expires    time.Time // when the carrier's binding runs out, if registered
	LastError  string    // the last failure, "" after a success
	LastCode   int       // the carrier's last final status code, 0 before any
}

// TrunkRegistration keeps the PBX registered to one carrier. Make it with
// NewTrunkRegistration and keep it alive with Run.
type TrunkRegistration struct {
	client    *sipgo.Client
	o         TrunkRegOptions
	log       *slog.Logger
	optsErr   error
	transport string     // upper case, as sipgo wants it
	dest      string     // host:port the REGISTERs go to
	recipient sipmsg.Uri // Request-URI: the registrar's domain
	aor       sipmsg.Uri // From and To
	callID    string
	fromTag   string
	running   atomic.Bool

	// Only Run's goroutine touches these.
	cseq    uint32
	expires time.Duration // asked for; raised by a 423

	mu     sync.Mutex
	status TrunkRegStatus
	up     chan struct{} // closed while registered
}

// NewTrunkRegistration prepares a registration through client, which must
// be able to reach the registrar over o.Transport. Run does the work.
func NewTrunkRegistration(client *sipgo.Client, o TrunkRegOptions) *TrunkRegistration {
	if o.Expires == 0 {
		o.Expires = TrunkDefaultExpires
	}
	if o.RetryAfter == 0 {
		o.RetryAfter = TrunkDefaultRetryAfter
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Transport == "" {
		o.Transport = "udp"
	}
	t := &TrunkRegistration{
		client:    client,
		o:         o,
		log:       o.Logger.With("trunk", o.Name, "registrar", o.Registrar),
		transport: strings.ToUpper(o.Transport),
		callID:    sipmsg.GenerateTagN(32),
		fromTag:   sipmsg.GenerateTagN(16),
		expires:   o.Expires,
		up:        make(chan struct{}),
	}
	t.optsErr = o.Validate()
	if t.optsErr != nil {
		return t
	}
	host, port, _ := trunkSplitRegistrar(o.Registrar, o.Transport)
	t.dest = net.JoinHostPort(host, strconv.Itoa(port))
	domain := o.Domain
	if domain == "" || strings.EqualFold(domain, host) {
		domain = host
		t.recipient = sipmsg.Uri{Scheme: "sip", Host: trunkURIHost(host), Port: port}
		if _, explicit, err := net.SplitHostPort(o.Registrar); err != nil || explicit == "" {
			t.recipient.Port = 0
		}
	} else {
		t.recipient = sipmsg.Uri{Scheme: "sip", Host: trunkURIHost(domain)}
	}
	t.aor = sipmsg.Uri{Scheme: "sip", User: o.Username, Host: trunkURIHost(domain)}
	if client == nil {
		t.optsErr = errors.New("no SIP client")
	}
	return t
}

// Status reports the registration's state.
func (t *TrunkRegistration) Status() TrunkRegStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.status
}

// WaitRegistered returns nil once the carrier has accepted the
// registration (at once if it has), or ctx's error with the last failure.
func (t *TrunkRegistration) WaitRegistered(ctx context.Context) error {
	t.mu.Lock()
	up := t.up
	t.mu.Unlock()
	select {
	case <-up:
		return nil
	case <-ctx.Done():
		st := t.Status()
		if st.LastError != "" {
			return fmt.Errorf("trunk %s: %w (last error: %s)", t.o.Name, ctx.Err(), st.LastError)
		}
		return fmt.Errorf("trunk %s: %w", t.o.Name, ctx.Err())
	}
}

// Run registers, answers digest challenges, refreshes at half the interval
// the carrier grants, waits RetryAfter (or the carrier's longer Retry-After)
// after a failure and tries again, and when ctx ends unregisters (best
// effort, at most 2 s) and returns. It is the registration's one goroutine:
// a second Run on the same TrunkRegistration returns at once.
func (t *TrunkRegistration) Run(ctx context.Context) {
	if t.optsErr != nil {
		t.log.Error("trunk registration not started", "error", t.optsErr)
		t.setFailed(0, t.optsErr)
		return
	}
	if !t.running.CompareAndSwap(false, true) {
		t.log.Error("trunk registration already running")
		return
	}
	defer t.running.Store(false)

	for ctx.Err() == nil {
		r := t.register(ctx, t.expires)
		if ctx.Err() != nil {
			// The carrier may have taken a REGISTER we stopped waiting for.
			t.unregister(ctx, true)
			return
		}
		wait := t.record(r)
		select {
		case <-ctx.Done():
			t.unregister(ctx, false)
			return
		case <-time.After(wait):
		}
	}
	t.unregister(ctx, false)
}

// trunkResult is the outcome of one registration attempt.
type trunkResult struct {
	code       int
	granted    time.Duration // on success
	retryAfter time.Duration // the carrier's Retry-After, 0 if none
	err        error
}

// record stores an attempt's outcome and returns how long to wait before
// the next one.
func (t *TrunkRegistration) record(r trunkResult) time.Duration {
	if r.err != nil {
		wait := max(t.o.RetryAfter, r.retryAfter)
		t.log.Warn("trunk registration failed", "code", r.code, "error", r.err, "retry_in", wait)
		t.setFailed(r.code, r.err)
		return wait
	}
	t.mu.Lock()
	was := t.status.Registered
	t.status = TrunkRegStatus{Registered: true, Expires: t.o.Now().Add(r.granted), LastCode: r.code}
	if !was {
		close(t.up)
	}
	t.mu.Unlock()
	if was {
		t.log.Debug("trunk registration refreshed", "expires", r.granted)
	} else {
		t.log.Info("trunk registered", "expires", r.granted)
	}
	return max(r.granted/2, 10*time.Millisecond)
}

func (t *TrunkRegistration) setFailed(code int, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.status.Registered {
		t.up = make(chan struct{})
	}
	t.status = TrunkRegStatus{LastError: err.Error(), LastCode: code}
}

// unregister removes the binding (Expires: 0) when one may exist: the
// carrier accepted us, or ctx ended with a REGISTER in flight.
func (t *TrunkRegistration) unregister(ctx context.Context, inFlight bool) {
	if t.Status().Registered || inFlight {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), trunkUnregisterTimeout)
		r := t.register(uctx, 0)
		cancel()
		if r.err != nil {
			t.log.Warn("trunk unregistration failed", "code", r.code, "error", r.err)
		} else {
			t.log.Info("trunk unregistered")
		}
	}
	t.mu.Lock()
	if t.status.Registered {
		t.up = make(chan struct{})
	}
	t.status.Registered = false
	t.status.Expires = time.Time{}
	t.mu.Unlock()
}

// register sends one REGISTER asking for expires (0 removes the binding),
// answers up to two digest challenges, and reads the interval granted.
func (t *TrunkRegistration) register(ctx context.Context, expires time.Duration) trunkResult {
	req := t.newRequest(expires)
	res, err := t.client.Do(ctx, req)
	t.cseq = req.CSeq().SeqNo
	for n := 0; err == nil && n < trunkMaxChallenges && (res.StatusCode == 401 || res.StatusCode == 407); n++ {
		if n > 0 && !trunkStale(res) {
			break
		}
		res, err = t.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: t.o.Username, Password: t.o.Password})
		t.cseq = req.CSeq().SeqNo // DoDigestAuth sent it with the next CSeq
	}
	if err != nil {
		return trunkResult{err: fmt.Errorf("REGISTER to %s: %w", t.dest, err)}
	}

	r := trunkResult{code: res.StatusCode}
	switch {
	case res.StatusCode == 423 && expires > 0:
		// Interval Too Brief: ask again at once with the carrier's minimum.
		minExp := trunkSeconds(res.GetHeader("Min-Expires"))
		if minExp <= expires {
			r.err = fmt.Errorf("carrier answered 423 without a usable Min-Expires")
			return r
		}
		t.log.Info("trunk raises its registration interval", "min_expires", minExp)
		t.expires = minExp
		return t.register(ctx, minExp)
	case res.StatusCode < 200 || res.StatusCode > 299:
		r.err = fmt.Errorf("carrier answered %d %s", res.StatusCode, res.Reason)
		r.retryAfter = trunkSeconds(res.GetHeader("Retry-After"))
		return r
	}
	if expires == 0 {
		return r
	}
	r.granted = t.granted(res, expires)
	if r.granted <= 0 {
		r.err = errors.New("carrier granted no registration interval")
	}
	return r
}

// newRequest builds the next REGISTER of the registration: same Call-ID,
// From tag and To, next CSeq.
func (t *TrunkRegistration) newRequest(expires time.Duration) *sipmsg.Request {
	req := sipmsg.NewRequest(sipmsg.REGISTER, t.recipient)
	from := &sipmsg.FromHeader{Address: t.aor, Params: sipmsg.NewParams()}
	from.Params.Add("tag", t.fromTag)
	callID := sipmsg.CallIDHeader(t.callID)
	t.cseq++
	contact := t.o.Contact.Clone()
	contact.Params.Remove("expires")
	maxFwd := sipmsg.MaxForwardsHeader(70)
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ToHeader{Address: t.aor})
	req.AppendHeader(&callID)
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: t.cseq, MethodName: sipmsg.REGISTER})
	req.AppendHeader(&maxFwd)
	req.AppendHeader(contact)
	req.AppendHeader(sipmsg.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	req.SetTransport(t.transport)
	req.SetDestination(t.dest)
	return req
}

// granted is the interval the carrier gave our contact: its expires
// parameter in the 200's Contact list, else the Expires header, else what
// we asked for.
func (t *TrunkRegistration) granted(res *sipmsg.Response, asked time.Duration) time.Duration {
	var only *sipmsg.ContactHeader
	contacts := res.GetHeaders("Contact")
	for _, h := range contacts {
		c, ok := h.(*sipmsg.ContactHeader)
		if !ok {
			continue
		}
		if len(contacts) == 1 {
			only = c
		}
		if trunkSameURI(c.Address, t.o.Contact.Address) {
			if v, ok := c.Params.Get("expires"); ok {
				if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
					return time.Duration(n) * time.Second
				}
			}
		}
	}
	if only != nil { // one binding that does not look like ours (a rewritten contact)
		if v, ok := only.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
	}
	return asked
}

// trunkSameURI compares the parts of two contact URIs a registrar keeps.
func trunkSameURI(a, b sipmsg.Uri) bool {
	port := func(p int) int {
		if p == 0 {
			return 5060
		}
		return p
	}
	return a.User == b.User && strings.EqualFold(a.Host, b.Host) && port(a.Port) == port(b.Port)
}

// trunkSeconds reads a header whose value starts with a number of seconds
// (Retry-After: 120 (busy);duration=60, Min-Expires: 300).
func trunkSeconds(h sipmsg.Header) time.Duration {
	if h == nil {
		return 0
	}
	v := strings.TrimSpace(h.Value())
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(v[:end])
	if err != nil || n <= 0 || n > 86400 {
		return 0
	}
	return time.Duration(n) * time.Second
}

// trunkStale reports whether a challenge says the nonce went stale, so the
// same credentials deserve another try.
func trunkStale(res *sipmsg.Response) bool {
	for _, name := range []string{"WWW-Authenticate", "Proxy-Authenticate"} {
		if h := res.GetHeader(name); h != nil && strings.Contains(strings.ToLower(h.Value()), "stale=true") {
			return true
		}
	}
	return false
}
