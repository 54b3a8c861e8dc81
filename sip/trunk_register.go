package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// TrunkRegOptions configure an outbound registration to a carrier.
type TrunkRegOptions struct {
	Name               string
	Registrar          string // host or host:port of the carrier
	Transport          string // udp, tcp, tls
	Username, Password string
	Domain             string // AOR domain, default: the registrar's host
	Contact            sipmsg.ContactHeader
	Expires            time.Duration
	RetryAfter         time.Duration // wait after a failure, default 30 s
	Logger             *slog.Logger
}

// TrunkRegStatus is the state of an outbound registration.
type TrunkRegStatus struct {
	Registered bool
	Expires    time.Time
	LastError  string
	LastCode   int
}

// TrunkRegistration keeps the PBX registered to a carrier.
type TrunkRegistration struct {
	client *sipgo.Client
	o      TrunkRegOptions
	callID string
	cseq   uint32

	mu     sync.Mutex
	status TrunkRegStatus
	ready  chan struct{}
}

// NewTrunkRegistration prepares a registration; Run keeps it alive.
func NewTrunkRegistration(client *sipgo.Client, o TrunkRegOptions) *TrunkRegistration {
	if o.RetryAfter <= 0 {
		o.RetryAfter = 30 * time.Second
	}
	if o.Expires <= 0 {
		o.Expires = time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Transport == "" {
		o.Transport = "udp"
	}
	if o.Domain == "" {
		o.Domain = o.Registrar
		if h, _, err := net.SplitHostPort(o.Registrar); err == nil {
			o.Domain = h
		}
	}
	return &TrunkRegistration{client: client, o: o, callID: sipmsg.GenerateTagN(24), ready: make(chan struct{})}
}

// Status reports the registration's state.
func (t *TrunkRegistration) Status() TrunkRegStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.status
}

// WaitRegistered returns once the carrier has accepted the registration.
func (t *TrunkRegistration) WaitRegistered(ctx context.Context) error {
	select {
	case <-t.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("trunk %s: %w (%s)", t.o.Name, ctx.Err(), t.Status().LastError)
	}
}

// Run registers, refreshes at half the granted interval, retries after
// failures, and unregisters when ctx ends.
func (t *TrunkRegistration) Run(ctx context.Context) {
	log := t.o.Logger.With("trunk", t.o.Name)
	for {
		granted, err := t.register(ctx, t.o.Expires)
		wait := t.o.RetryAfter
		t.mu.Lock()
		if err != nil {
			t.status.Registered = false
			t.status.LastError = err.Error()
			log.Warn("trunk registration failed", "error", err, "retry_in", wait)
		} else {
			t.status = TrunkRegStatus{Registered: true, Expires: time.Now().Add(granted), LastCode: 200}
			wait = granted / 2
			select {
			case <-t.ready:
			default:
				close(t.ready)
			}
			log.Info("trunk registered", "expires", granted)
		}
		t.mu.Unlock()
		select {
		case <-ctx.Done():
			if t.Status().Registered {
				uctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				t.register(uctx, 0)
				cancel()
			}
			return
		case <-time.After(wait):
		}
	}
}

var errTrunkRefused = errors.New("registration refused")

// register sends one REGISTER (answering a digest challenge) and returns
// the interval granted.
func (t *TrunkRegistration) register(ctx context.Context, expires time.Duration) (time.Duration, error) {
	host, port := t.o.Registrar, 0
	if h, p, err := net.SplitHostPort(t.o.Registrar); err == nil {
		host = h
		port, _ = strconv.Atoi(p)
	}
	req := sipmsg.NewRequest(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: host, Port: port})
	req.SetTransport(strings.ToUpper(t.o.Transport))
	aor := sipmsg.Uri{Scheme: "sip", User: t.o.Username, Host: t.o.Domain}
	from := &sipmsg.FromHeader{Address: aor, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(10))
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ToHeader{Address: aor})
	cid := sipmsg.CallIDHeader(t.callID)
	req.AppendHeader(&cid)
	t.mu.Lock()
	t.cseq++
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: t.cseq, MethodName: sipmsg.REGISTER})
	t.mu.Unlock()
	contact := t.o.Contact
	req.AppendHeader(&contact)
	secs := int(expires / time.Second)
	req.AppendHeader(sipmsg.NewHeader("Expires", strconv.Itoa(secs)))
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := t.client.Do(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("register %s: %w", t.o.Registrar, err)
	}
	if res.StatusCode == 401 || res.StatusCode == 407 {
		res, err = t.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: t.o.Username, Password: t.o.Password})
		if err != nil {
			return 0, fmt.Errorf("register %s: %w", t.o.Registrar, err)
		}
		t.mu.Lock()
		t.cseq = req.CSeq().SeqNo
		t.mu.Unlock()
	}
	t.mu.Lock()
	t.status.LastCode = res.StatusCode
	t.mu.Unlock()
	if res.StatusCode != 200 {
		return 0, fmt.Errorf("register %s: %w: %d %s", t.o.Registrar, errTrunkRefused, res.StatusCode, res.Reason)
	}
	granted := expires
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil {
			granted = time.Duration(n) * time.Second
		}
	}
	for _, h := range res.GetHeaders("Contact") {
		if c, ok := h.(*sipmsg.ContactHeader); ok && c.Address.User == contact.Address.User && c.Address.Host == contact.Address.Host {
			if v, ok := c.Params.Get("expires"); ok {
				if n, err := strconv.Atoi(v); err == nil {
					granted = time.Duration(n) * time.Second
				}
			}
		}
	}
	if granted <= 0 && expires > 0 {
		granted = expires
	}
	return granted, nil
}
