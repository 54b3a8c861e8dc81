package sip

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"strings"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Clock tells the time. Everything in this package whose behaviour depends
// on time (nonce expiry, bans, registration expiry) takes one, so tests can
// move time forward instead of sleeping.
type Clock func() time.Time

// Lookup returns the password of a user; ok is false if the user is unknown.
type Lookup func(user string) (password string, ok bool)

// DigestOption configures a Digest.
type DigestOption func(*Digest)

// WithDigestClock makes the Digest read time from c instead of time.Now.
func WithDigestClock(c Clock) DigestOption {
	return func(d *Digest) {
		if c != nil {
			d.now = c
		}
	}
}

// WithDigestMaxNonces bounds how many outstanding nonces are remembered
// (default 65536). When full, the oldest is forgotten: a client still
// holding it is challenged again with stale=true.
func WithDigestMaxNonces(n int) DigestOption {
	return func(d *Digest) {
		if n > 0 {
			d.maxNonces = n
		}
	}
}

// Digest is the server side of SIP digest authentication (RFC 2617 and
// RFC 7616 with MD5 and qop=auth), as used by RFC 3261 §22.
//
// Nonces are 128-bit random values kept in a bounded table with their issue
// time and the highest nonce-count seen. A nonce older than the TTL, or one
// this Digest does not know (forgotten, or issued before a restart), earns a
// new challenge with stale=true when the credentials were otherwise right.
// A request whose nonce-count does not exceed the last one seen for its
// nonce is a replay: it is challenged again and not accepted.
type Digest struct {
	realm     string
	ttl       time.Duration
	now       Clock
	maxNonces int

	mu     sync.Mutex
	nonces map[string]*digestNonce
	order  []string // nonces in issue order, oldest first, from head on
	head   int
}

type digestNonce struct {
	issued time.Time
	nc     int  // highest nonce-count accepted
	used   bool // a request without qop consumed it (single use)
}

const digestDefaultMaxNonces = 65536

// NewDigest makes an authenticator for realm whose nonces live nonceTTL
// (5 minutes if nonceTTL <= 0).
func NewDigest(realm string, nonceTTL time.Duration, opts ...DigestOption) *Digest {
	if nonceTTL <= 0 {
		nonceTTL = 5 * time.Minute
	}
	d := &Digest{
		realm:     realm,
		ttl:       nonceTTL,
		now:       time.Now,
		maxNonces: digestDefaultMaxNonces,
		nonces:    make(map[string]*digestNonce),
	}
	for _, o := range opts {
		o(d)
	}
	return d
}

// Realm is the realm put in challenges.
func (d *Digest) Realm() string { return d.realm }

// Authenticate checks the credentials of req: the Authorization header
// against a 401/WWW-Authenticate challenge when proxy is false, or the
// Proxy-Authorization header against 407/Proxy-Authenticate when proxy is
// true.
//
// On success it returns the authenticated user and a nil response.
// Otherwise res is the response to send (a fresh challenge), and failed
// reports whether the request carried credentials that were wrong (unknown
// user, wrong password, inconsistent fields), as opposed to a first request
// without credentials, a stale nonce or a replayed nonce-count. An unknown
// user and a wrong password produce the same response apart from the nonce,
// so user names cannot be probed.
func (d *Digest) Authenticate(req *sipmsg.Request, proxy bool, lookup Lookup) (user string, res *sipmsg.Response, failed bool) {
	now := d.now()
	cred, present := d.credentials(req, proxy)
	if !present {
		return "", d.challenge(req, proxy, false, now), false
	}
	if cred == nil {
		return "", d.challenge(req, proxy, false, now), true
	}

	// Look the user up first and hash whatever we get, so an unknown user
	// costs the same as a known one.
	password, known := "", false
	if lookup != nil && cred.Username != "" {
		password, known = lookup(cred.Username)
	}
	valid := d.responseValid(req, cred, password) && known
	if !valid || !d.consistent(req, cred) {
		return "", d.challenge(req, proxy, false, now), true
	}

	switch d.useNonce(cred, now) {
	case digestNonceOK:
		return cred.Username, nil, false
	case digestNonceStale:
		return "", d.challenge(req, proxy, true, now), false
	default: // replay
		return "", d.challenge(req, proxy, false, now), false
	}
}

// credentials picks the credentials for our realm. present is false when
// the request carries no digest credentials at all; cred is nil when they
// are there but unusable.
func (d *Digest) credentials(req *sipmsg.Request, proxy bool) (cred *digest.Credentials, present bool) {
	name := "Authorization"
	if proxy {
		name = "Proxy-Authorization"
	}
	var first *digest.Credentials
	for _, h := range req.GetHeaders(name) {
		v := h.Value()
		if !digest.IsDigest(v) {
			present = true
			continue
		}
		present = true
		c, err := digest.ParseCredentials(v)
		if err != nil {
			continue
		}
		if c.Realm == d.realm {
			return c, true
		}
		if first == nil {
			first = c
		}
	}
	return first, present
}

// consistent checks the fields of the credentials other than the response.
func (d *Digest) consistent(req *sipmsg.Request, cred *digest.Credentials) bool {
	if cred.Username == "" || cred.Realm != d.realm || cred.Nonce == "" || cred.Userhash {
		return false
	}
	switch strings.ToUpper(cred.Algorithm) {
	case "", "MD5":
	default:
		return false
	}
	switch cred.QOP {
	case "":
	case "auth":
		if cred.Nc < 1 || cred.Cnonce == "" {
			return false
		}
	default:
		return false
	}
	return digestURIMatches(cred.URI, &req.Recipient)
}

// digestURIMatches reports whether the digest-uri names the Request-URI.
func digestURIMatches(credURI string, recipient *sipmsg.Uri) bool {
	if credURI == "" {
		return false
	}
	if credURI == recipient.String() || credURI == recipient.Addr() {
		return true
	}
	var u sipmsg.Uri
	if err := sipmsg.ParseUri(credURI, &u); err != nil {
		return false
	}
	scheme := func(s string) string {
		if s == "" {
			return "sip"
		}
		return strings.ToLower(s)
	}
	return scheme(u.Scheme) == scheme(recipient.Scheme) &&
		u.User == recipient.User &&
		strings.EqualFold(u.Host, recipient.Host) &&
		u.Port == recipient.Port
}

// responseValid recomputes the response for the credentials' own nonce,
// cnonce and count and compares it in constant time.
func (d *Digest) responseValid(req *sipmsg.Request, cred *digest.Credentials, password string) bool {
	chal := &digest.Challenge{Realm: cred.Realm, Nonce: cred.Nonce, Algorithm: "MD5"}
	opts := digest.Options{
		Method:   req.Method.String(),
		URI:      cred.URI,
		Username: cred.Username,
		Password: password,
	}
	if cred.QOP != "" {
		chal.QOP = []string{"auth"}
		opts.Cnonce = cred.Cnonce
		opts.Count = cred.Nc
		if opts.Cnonce == "" {
			opts.Cnonce = "-" // never matches a well-formed client; consistent() refuses anyway
		}
	}
	want, err := digest.Digest(chal, opts)
	if err != nil {
		return false
	}
	got := strings.ToLower(cred.Response)
	return subtle.ConstantTimeCompare([]byte(want.Response), []byte(got)) == 1
}

type digestNonceResult int

const (
	digestNonceOK digestNonceResult = iota
	digestNonceStale
	digestNonceReplay
)

// useNonce records the use of a nonce by a request with correct
// credentials.
func (d *Digest) useNonce(cred *digest.Credentials, now time.Time) digestNonceResult {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sweepLocked(now)
	n, ok := d.nonces[cred.Nonce]
	if !ok || now.Sub(n.issued) >= d.ttl {
		return digestNonceStale
	}
	if cred.QOP == "" {
		// RFC 2069 style: no count, so each nonce serves once.
		if n.used || n.nc > 0 {
			return digestNonceReplay
		}
		n.used = true
		return digestNonceOK
	}
	if n.used || cred.Nc <= n.nc {
		return digestNonceReplay
	}
	n.nc = cred.Nc
	return digestNonceOK
}

// challenge builds a 401 (or 407) carrying a fresh nonce.
func (d *Digest) challenge(req *sipmsg.Request, proxy, stale bool, now time.Time) *sipmsg.Response {
	chal := digest.Challenge{
		Realm:     d.realm,
		Nonce:     d.newNonce(now),
		Stale:     stale,
		Algorithm: "MD5",
		QOP:       []string{"auth"},
	}
	code, reason, header := sipmsg.StatusUnauthorized, "Unauthorized", "WWW-Authenticate"
	if proxy {
		code, reason, header = sipmsg.StatusProxyAuthRequired, "Proxy Authentication Required", "Proxy-Authenticate"
	}
	res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
	res.AppendHeader(sipmsg.NewHeader(header, chal.String()))
	return res
}

// newNonce issues and remembers a random nonce.
func (d *Digest) newNonce(now time.Time) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	nonce := base64.RawURLEncoding.EncodeToString(b[:])

	d.mu.Lock()
	defer d.mu.Unlock()
	d.sweepLocked(now)
	for len(d.nonces) >= d.maxNonces && d.head < len(d.order) {
		delete(d.nonces, d.order[d.head])
		d.order[d.head] = ""
		d.head++
	}
	d.nonces[nonce] = &digestNonce{issued: now}
	d.order = append(d.order, nonce)
	return nonce
}

// sweepLocked forgets expired nonces from the front of the issue order and
// compacts the queue when half of it is spent.
func (d *Digest) sweepLocked(now time.Time) {
	for d.head < len(d.order) {
		k := d.order[d.head]
		if n, ok := d.nonces[k]; ok && now.Sub(n.issued) < d.ttl {
			break
		}
		delete(d.nonces, k)
		d.order[d.head] = ""
		d.head++
	}
	if d.head > 1024 && d.head*2 >= len(d.order) {
		d.order = append(d.order[:0:0], d.order[d.head:]...)
		d.head = 0
	}
}
