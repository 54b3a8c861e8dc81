package sip

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"sync"
	"time"

	"github.com/icholy/digest"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Clock tells the time; tests pass a fake one.
type Clock func() time.Time

// Lookup returns a user's password; ok is false for an unknown user.
type Lookup func(user string) (password string, ok bool)

// Digest is server-side digest authentication (MD5, qop=auth). Nonces are
// signed, so any nonce the PBX issued can be checked without storing it;
// what is stored is the highest nonce-count seen per nonce, to refuse
// replays, and it is swept as nonces expire.
type Digest struct {
	realm  string
	ttl    time.Duration
	now    Clock
	secret [32]byte

	mu    sync.Mutex
	seen  map[string]nonceUse
	sweep time.Time
}

type nonceUse struct {
	nc      int
	expires time.Time
}

// DigestOption configures a Digest.
type DigestOption func(*Digest)

// WithDigestClock sets the clock used for nonce expiry.
func WithDigestClock(c Clock) DigestOption { return func(d *Digest) { d.now = c } }

// NewDigest makes a digest authenticator for realm whose nonces go stale
// after nonceTTL.
func NewDigest(realm string, nonceTTL time.Duration, opts ...DigestOption) *Digest {
	d := &Digest{realm: realm, ttl: nonceTTL, now: time.Now, seen: map[string]nonceUse{}}
	rand.Read(d.secret[:])
	for _, o := range opts {
		o(d)
	}
	return d
}

// nonce is base64(issued unix seconds | 8 random bytes | 16 bytes of MAC).
func (d *Digest) nonce() string {
	var b [32]byte
	binary.BigEndian.PutUint64(b[:8], uint64(d.now().Unix()))
	rand.Read(b[8:16])
	copy(b[16:], d.mac(b[:16]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (d *Digest) mac(b []byte) []byte {
	m := hmac.New(sha256.New, d.secret[:])
	m.Write(b)
	return m.Sum(nil)[:16]
}

// checkNonce says whether the PBX issued nonce, and whether it is stale.
func (d *Digest) checkNonce(nonce string) (valid, stale bool) {
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != 32 || !hmac.Equal(b[16:], d.mac(b[:16])) {
		return false, false
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0)
	return true, d.now().Sub(issued) > d.ttl
}

// Authenticate checks the credentials of req: Authorization against a 401
// challenge, or Proxy-Authorization against a 407 when proxy is true. On
// success it returns the user and a nil response. Otherwise res is the
// challenge to send; an unknown user and a wrong password get the same
// answer. failed is true when credentials were given and wrong, so the
// caller can count the attempt.
func (d *Digest) Authenticate(req *sipmsg.Request, proxy bool, lookup Lookup) (user string, res *sipmsg.Response, failed bool) {
	hdr := "Authorization"
	if proxy {
		hdr = "Proxy-Authorization"
	}
	h := req.GetHeader(hdr)
	if h == nil {
		return "", d.challenge(req, proxy, false), false
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil || cred.Realm != d.realm || cred.Username == "" {
		return "", d.challenge(req, proxy, false), true
	}
	valid, stale := d.checkNonce(cred.Nonce)
	if !valid {
		return "", d.challenge(req, proxy, false), true
	}
	password, known := lookup(cred.Username)
	if !known {
		password = "\x00unknown user\x00" // same work, same answer
	}
	chal := &digest.Challenge{Realm: d.realm, Nonce: cred.Nonce, Algorithm: "MD5"}
	if cred.QOP != "" {
		chal.QOP = []string{"auth"}
	}
	want, err := digest.Digest(chal, digest.Options{Method: req.Method.String(), URI: cred.URI,
		Username: cred.Username, Password: password, Cnonce: cred.Cnonce, Count: cred.Nc})
	if err != nil || !known || subtle.ConstantTimeCompare([]byte(want.Response), []byte(cred.Response)) != 1 {
		return "", d.challenge(req, proxy, false), true
	}
	if stale {
		// Right password, old nonce: ask again without counting a failure.
		return "", d.challenge(req, proxy, true), false
	}
	if cred.QOP != "" && !d.fresh(cred.Nonce, cred.Nc) {
		return "", d.challenge(req, proxy, false), true
	}
	return cred.Username, nil, false
}

// fresh records a nonce-count and refuses one that is not above the last.
func (d *Digest) fresh(nonce string, nc int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	if now.After(d.sweep) {
		for k, u := range d.seen {
			if now.After(u.expires) {
				delete(d.seen, k)
			}
		}
		d.sweep = now.Add(d.ttl)
	}
	u, ok := d.seen[nonce]
	if ok && nc <= u.nc {
		return false
	}
	d.seen[nonce] = nonceUse{nc: nc, expires: now.Add(2 * d.ttl)}
	return true
}

func (d *Digest) challenge(req *sipmsg.Request, proxy, stale bool) *sipmsg.Response {
	chal := digest.Challenge{Realm: d.realm, Nonce: d.nonce(), Algorithm: "MD5", QOP: []string{"auth"}, Stale: stale}
	code, reason, hdr := 401, "Unauthorized", "WWW-Authenticate"
	if proxy {
		code, reason, hdr = 407, "Proxy Authentication Required", "Proxy-Authenticate"
	}
	res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
	res.AppendHeader(sipmsg.NewHeader(hdr, chal.String()))
	return res
}
