package sip

import (
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// RegistrarOptions configure a Registrar.
type RegistrarOptions struct {
	Realm                                  string
	MinExpires, MaxExpires, DefaultExpires int
	Digest                                 *Digest
	Guard                                  *Guard
	Lookup                                 Lookup
	Location                               *Location
	Logger                                 *slog.Logger
	Clock                                  Clock
}

// Registrar answers REGISTER (RFC 3261 §10.3) after digest authentication.
type Registrar struct {
	o RegistrarOptions
}

// NewRegistrar makes a registrar.
func NewRegistrar(o RegistrarOptions) *Registrar {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	return &Registrar{o: o}
}

func reply(tx sipmsg.ServerTransaction, req *sipmsg.Request, code int, reason string, hdrs ...sipmsg.Header) {
	res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	tx.Respond(res)
}

// HandleRegister is the sipgo REGISTER handler.
func (r *Registrar) HandleRegister(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	src := netip.Addr{}
	if ap, err := netip.ParseAddrPort(req.Source()); err == nil {
		src = ap.Addr()
	}
	to := req.To()
	if to == nil || to.Address.User == "" {
		reply(tx, req, 400, "Bad Request")
		return
	}
	aor := to.Address.User
	user, res, failed := r.o.Digest.Authenticate(req, false, r.o.Lookup)
	if res != nil {
		if failed && src.IsValid() && r.o.Guard != nil {
			r.o.Guard.Fail(src)
			r.o.Logger.Info("registration refused", "aor", aor, "source", req.Source())
		}
		tx.Respond(res)
		return
	}
	if user != aor {
		reply(tx, req, 403, "Forbidden")
		return
	}
	now := r.o.Clock()
	headerExpires := -1
	if h := req.GetHeader("Expires"); h != nil {
		n, err := strconv.Atoi(strings.TrimSpace(h.Value()))
		if err != nil || n < 0 {
			reply(tx, req, 400, "Bad Request")
			return
		}
		headerExpires = n
	}
	contacts := req.GetHeaders("Contact")
	callID := ""
	if c := req.CallID(); c != nil {
		callID = c.Value()
	}
	cseq := uint32(0)
	if c := req.CSeq(); c != nil {
		cseq = c.SeqNo
	}
	for _, h := range contacts {
		if strings.TrimSpace(h.Value()) == "*" {
			if headerExpires != 0 || len(contacts) != 1 {
				reply(tx, req, 400, "Bad Request")
				return
			}
			r.o.Location.remove(aor, "*")
			r.ok(tx, req, aor)
			return
		}
	}
	type change struct {
		b       Binding
		expires int
	}
	var changes []change
	for _, h := range contacts {
		ch, ok := h.(*sipmsg.ContactHeader)
		if !ok {
			reply(tx, req, 400, "Bad Request")
			return
		}
		exp := headerExpires
		if v, ok := ch.Params.Get("expires"); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				reply(tx, req, 400, "Bad Request")
				return
			}
			exp = n
		}
		if exp < 0 {
			exp = r.o.DefaultExpires
		}
		if exp != 0 && exp < r.o.MinExpires {
			reply(tx, req, 423, "Interval Too Brief", sipmsg.NewHeader("Min-Expires", strconv.Itoa(r.o.MinExpires)))
			return
		}
		if exp > r.o.MaxExpires {
			exp = r.o.MaxExpires
		}
		b := Binding{AOR: aor, Contact: ch.Address.String(), Source: req.Source(), Transport: strings.ToUpper(req.Transport()),
			Expires: now.Add(time.Duration(exp) * time.Second), CallID: callID, CSeq: cseq, Q: 1, Reachable: true}
		if q, ok := ch.Params.Get("q"); ok {
			if f, err := strconv.ParseFloat(q, 64); err == nil {
				b.Q = f
			}
		}
		if inst, ok := ch.Params.Get("+sip.instance"); ok {
			b.InstanceID = strings.Trim(inst, `"<>`)
		}
		if ua := req.GetHeader("User-Agent"); ua != nil {
			b.UserAgent = ua.Value()
		}
		if old, ok := r.o.Location.find(aor, b.Contact); ok && old.CallID == callID && cseq <= old.CSeq {
			reply(tx, req, 500, "Server Internal Error", sipmsg.NewHeader("Retry-After", "1"))
			return
		}
		changes = append(changes, change{b, exp})
	}
	for _, c := range changes {
		if c.expires == 0 {
			r.o.Location.remove(aor, c.b.Contact)
		} else {
			r.o.Location.put(c.b)
		}
	}
	r.ok(tx, req, aor)
}

// ok answers 200 listing every current contact of aor with its expiry.
func (r *Registrar) ok(tx sipmsg.ServerTransaction, req *sipmsg.Request, aor string) {
	res := sipmsg.NewResponseFromRequest(req, 200, "OK", nil)
	now := r.o.Clock()
	for _, b := range r.o.Location.Lookup(aor) {
		secs := int(b.Expires.Sub(now).Round(time.Second) / time.Second)
		res.AppendHeader(sipmsg.NewHeader("Contact", "<"+b.Contact+">;expires="+strconv.Itoa(secs)))
	}
	res.AppendHeader(sipmsg.NewHeader("Date", now.UTC().Format(time.RFC1123)))
	tx.Respond(res)
}
