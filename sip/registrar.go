package sip

import (
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// RegistrarOptions configure a Registrar. Zero values take defaults:
// MinExpires 60, MaxExpires 3600, DefaultExpires 600 (clamped into
// [MinExpires, MaxExpires]), MaxContacts 10, Realm "pbx", a Digest with
// 5-minute nonces, slog.Default and time.Now.
type RegistrarOptions struct {
	Realm                                  string // used when Digest is nil
	MinExpires, MaxExpires, DefaultExpires int    // seconds
	MaxContacts                            int    // bindings per AOR; beyond, the ones expiring soonest go
	Digest                                 *Digest
	Guard                                  *Guard // optional: counts failures, refuses banned sources
	Lookup                                 Lookup
	Location                               *Location
	Logger                                 *slog.Logger
	Clock                                  Clock
}

// Registrar is the REGISTER side of the location service (RFC 3261 §10.3):
// it authenticates the phone by digest, then adds, refreshes, removes or
// lists the contacts of its address of record. The AOR is the user part of
// the To URI, and the authenticated user must be that AOR.
type Registrar struct {
	o    RegistrarOptions
	peer *slog.Logger // Logger, limited: for what any sender can cause
}

// NewRegistrar makes a registrar. Without a Location it keeps bindings in
// memory only.
func NewRegistrar(o RegistrarOptions) *Registrar {
	if o.MinExpires <= 0 {
		o.MinExpires = 60
	}
	if o.MaxExpires <= 0 {
		o.MaxExpires = 3600
	}
	if o.MaxExpires < o.MinExpires {
		o.MaxExpires = o.MinExpires
	}
	if o.DefaultExpires <= 0 {
		o.DefaultExpires = 600
	}
	o.DefaultExpires = min(max(o.DefaultExpires, o.MinExpires), o.MaxExpires)
	if o.MaxContacts <= 0 {
		o.MaxContacts = 10
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Digest == nil {
		if o.Realm == "" {
			o.Realm = "pbx"
		}
		o.Digest = NewDigest(o.Realm, 5*time.Minute, WithDigestClock(o.Clock))
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Location == nil {
		o.Location, _ = NewLocation(nil, WithLocationClock(o.Clock), WithLocationLogger(o.Logger))
	}
	return &Registrar{o: o, peer: NewLogLimiter(0, 0).Logger(o.Logger)}
}

// registrarContact is one Contact of a REGISTER, checked.
type registrarContact struct {
	uri      sipmsg.Uri
	key      string
	expires  int
	q        float64
	instance string
	regID    bool
}

var errRegistrarOutOfOrder = errors.New("registrar: same Call-ID with a CSeq not above the binding's")

// HandleRegister is the sipgo REGISTER handler (Server.OnRegister).
//
// Every answer before authentication succeeds is stateless
// (RespondStateless), and the lines it logs are limited, so a flood of
// unauthenticated REGISTERs costs no memory beyond the bounded nonce table.
//
// A banned source gets no answer. Otherwise: 401 with a digest challenge
// until the credentials are right (failures are counted by the guard
// against the source address); 403 if the authenticated user is not the
// AOR; 400 for a malformed request; 423 with Min-Expires for a too short
// expiry; 500 for a request older than the stored binding (same Call-ID,
// CSeq not higher); and 200 listing every current contact with its
// remaining expiry and a Date header. A REGISTER without Contact is a
// query; Expires 0 removes a contact; "Contact: *" with "Expires: 0"
// removes all.
func (r *Registrar) HandleRegister(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	src := registrarSourceAddr(req)
	if r.o.Guard != nil && r.o.Guard.Banned(src) {
		return
	}
	to := req.To()
	if to == nil || req.CallID() == nil || req.CSeq() == nil {
		r.refuse(tx, req, sipmsg.StatusBadRequest, "Bad Request")
		return
	}
	aor := to.Address.User
	if aor == "" {
		r.refuse(tx, req, sipmsg.StatusNotFound, "Not Found")
		return
	}
	if unsupported := registrarRequires(req); len(unsupported) > 0 {
		r.refuse(tx, req, sipmsg.StatusBadExtension, "Bad Extension",
			sipmsg.NewHeader("Unsupported", strings.Join(unsupported, ", ")))
		return
	}

	user, challenge, failed := r.o.Digest.Authenticate(req, false, r.o.Lookup)
	if challenge != nil {
		if failed {
			r.peer.Info("registrar: authentication failed", "aor", aor, "source", req.Source())
			if r.o.Guard != nil {
				r.o.Guard.Fail(src)
			}
		}
		r.respondStateless(tx, challenge)
		return
	}
	if user != aor {
		r.peer.Info("registrar: user may not register this AOR", "user", user, "aor", aor, "source", req.Source())
		r.refuse(tx, req, sipmsg.StatusForbidden, "Forbidden")
		return
	}

	contacts, wildcard, ok := r.contacts(req)
	if !ok {
		r.refuse(tx, req, sipmsg.StatusBadRequest, "Bad Request")
		return
	}
	for _, c := range contacts {
		if c.expires != 0 && c.expires < r.o.MinExpires {
			r.refuse(tx, req, sipmsg.StatusIntervalToBrief, "Interval Too Brief",
				sipmsg.NewHeader("Min-Expires", strconv.Itoa(r.o.MinExpires)))
			return
		}
	}

	if len(contacts) == 0 && !wildcard {
		r.ok(tx, req, aor) // a query
		return
	}
	callID := req.CallID().Value()
	cseq := req.CSeq().SeqNo
	now := r.o.Clock()
	var added, removed []string
	err := r.o.Location.update(aor, func(cur []Binding) ([]Binding, error) {
		if wildcard {
			for _, b := range cur {
				if b.CallID == callID && cseq <= b.CSeq {
					return nil, errRegistrarOutOfOrder
				}
				removed = append(removed, b.Contact)
			}
			return nil, nil
		}
		next := slices.Clone(cur)
		for _, c := range contacts {
			i := registrarFind(next, &c)
			if i >= 0 && next[i].CallID == callID && cseq <= next[i].CSeq {
				return nil, errRegistrarOutOfOrder
			}
			if c.expires == 0 {
				if i >= 0 {
					removed = append(removed, next[i].Contact)
					next = slices.Delete(next, i, i+1)
				}
				continue
			}
			b := Binding{
				AOR:        aor,
				Contact:    c.uri.String(),
				Source:     req.Source(),
				Transport:  strings.ToUpper(req.Transport()),
				Expires:    now.Add(time.Duration(c.expires) * time.Second),
				CallID:     callID,
				CSeq:       cseq,
				Q:          c.q,
				InstanceID: c.instance,
				Reachable:  true,
			}
			if h := req.GetHeader("User-Agent"); h != nil {
				b.UserAgent = h.Value()
			}
			if i >= 0 {
				next[i] = b
			} else {
				next = append(next, b)
				added = append(added, b.Contact)
			}
		}
		if over := len(next) - r.o.MaxContacts; over > 0 {
			sort.SliceStable(next, func(i, j int) bool { return next[i].Expires.Before(next[j].Expires) })
			for _, b := range next[:over] {
				removed = append(removed, b.Contact)
			}
			next = next[over:]
		}
		return next, nil
	})
	if err != nil {
		r.peer.Info("registrar: out-of-order REGISTER refused", "aor", aor, "call_id", callID, "cseq", cseq, "source", req.Source())
		r.reply(tx, req, sipmsg.StatusInternalServerError, "Server Internal Error")
		return
	}
	for _, c := range added {
		r.o.Logger.Info("registrar: registered", "aor", aor, "contact", c, "source", req.Source(), "transport", req.Transport())
	}
	for _, c := range removed {
		r.o.Logger.Info("registrar: unregistered", "aor", aor, "contact", c, "source", req.Source())
	}
	r.ok(tx, req, aor)
}

// contacts reads and checks the Contact headers and the expiry of each.
func (r *Registrar) contacts(req *sipmsg.Request) (out []registrarContact, wildcard, ok bool) {
	headerExpires, hasExpires := -1, false
	if h := req.GetHeader("Expires"); h != nil {
		hasExpires = true
		headerExpires = registrarParseExpires(h.Value())
	}
	hs := req.GetHeaders("Contact")
	for _, h := range hs {
		ch, typed := h.(*sipmsg.ContactHeader)
		if !typed {
			return nil, false, false
		}
		if ch.Address.Wildcard {
			wildcard = true
			continue
		}
		scheme := strings.ToLower(ch.Address.Scheme)
		if (scheme != "sip" && scheme != "sips") || ch.Address.Host == "" {
			return nil, false, false
		}
		c := registrarContact{uri: *ch.Address.Clone(), q: 1}
		c.key = locationContactKey(&c.uri)
		c.expires = headerExpires
		if v, has := ch.Params.Get("expires"); has {
			c.expires = registrarParseExpires(v)
		}
		if c.expires < 0 {
			c.expires = r.o.DefaultExpires
		}
		c.expires = min(c.expires, r.o.MaxExpires)
		if v, has := ch.Params.Get("q"); has {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 {
				return nil, false, false
			}
			c.q = f
		}
		if v, has := ch.Params.Get("+sip.instance"); has {
			c.instance = strings.Trim(v, `"<>`)
		}
		c.regID = ch.Params.Has("reg-id")
		out = append(out, c)
	}
	if wildcard && (len(hs) != 1 || !hasExpires || headerExpires != 0) {
		return nil, false, false
	}
	return out, wildcard, true
}

// registrarParseExpires reads a delta-seconds value; a malformed one counts
// as 3600 (RFC 3261 §10.2.1.1), a huge one is capped.
func registrarParseExpires(v string) int {
	v = strings.TrimSpace(v)
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return 1 << 31
		}
		return 3600
	}
	return int(min(n, 1<<31))
}

// registrarFind finds the binding a contact refreshes: the same instance
// (RFC 5626, without reg-id) or else the same URI.
func registrarFind(bs []Binding, c *registrarContact) int {
	if c.instance != "" && !c.regID {
		for i := range bs {
			if bs[i].InstanceID == c.instance {
				return i
			}
		}
	}
	for i := range bs {
		if locationBindingKey(&bs[i]) == c.key {
			return i
		}
	}
	return -1
}

// registrarRequires lists the option tags of Require headers; the
// registrar supports none.
func registrarRequires(req *sipmsg.Request) []string {
	var out []string
	for _, h := range req.GetHeaders("Require") {
		for _, tag := range strings.Split(h.Value(), ",") {
			if tag = strings.TrimSpace(tag); tag != "" {
				out = append(out, tag)
			}
		}
	}
	return out
}

// registrarDateLayout is the SIP-date of RFC 3261 §20.17 (RFC 1123, GMT).
const registrarDateLayout = "Mon, 02 Jan 2006 15:04:05 GMT"

// ok answers 200 listing every current contact of aor with its remaining
// expiry, and the Date.
func (r *Registrar) ok(tx sipmsg.ServerTransaction, req *sipmsg.Request, aor string) {
	res := sipmsg.NewResponseFromRequest(req, sipmsg.StatusOK, "OK", nil)
	now := r.o.Clock()
	for _, b := range r.o.Location.Lookup(aor) {
		var u sipmsg.Uri
		if err := sipmsg.ParseUri(b.Contact, &u); err != nil {
			continue
		}
		secs := int((b.Expires.Sub(now) + time.Second - 1) / time.Second)
		h := &sipmsg.ContactHeader{Address: u, Params: sipmsg.NewParams()}
		h.Params.Add("expires", strconv.Itoa(max(secs, 1)))
		if b.Q != 1 {
			h.Params.Add("q", strconv.FormatFloat(b.Q, 'f', -1, 64))
		}
		res.AppendHeader(h)
	}
	res.AppendHeader(sipmsg.NewHeader("Date", now.UTC().Format(registrarDateLayout)))
	r.respond(tx, res)
}

func (r *Registrar) reply(tx sipmsg.ServerTransaction, req *sipmsg.Request, code int, reason string, hdrs ...sipmsg.Header) {
	res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	r.respond(tx, res)
}

func (r *Registrar) respond(tx sipmsg.ServerTransaction, res *sipmsg.Response) {
	if err := tx.Respond(res); err != nil {
		r.o.Logger.Debug("registrar: response not sent", "status", res.StatusCode, "error", err)
	}
}

// refuse answers a request that changed nothing, statelessly.
func (r *Registrar) refuse(tx sipmsg.ServerTransaction, req *sipmsg.Request, code int, reason string, hdrs ...sipmsg.Header) {
	res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	r.respondStateless(tx, res)
}

func (r *Registrar) respondStateless(tx sipmsg.ServerTransaction, res *sipmsg.Response) {
	if err := RespondStateless(tx, res); err != nil {
		r.peer.Debug("registrar: response not sent", "status", res.StatusCode, "error", err)
	}
}

// registrarSourceAddr is the IP address the request came from.
func registrarSourceAddr(req *sipmsg.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
