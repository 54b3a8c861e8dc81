package dialog

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"pbx/media"
	"pbx/sip"
)

// A leg's keys fan out: every key is published as leg.dtmf and given to
// each of the leg's subscribers (the feature codes, a program collecting
// digits, a prompt that keys interrupt, a conference's mute key), not to
// one reader. Subscribers run on the leg's queue and must not block.

// keySubscribers are the leg's key listeners.
type keySubscribers struct {
	mu   sync.Mutex
	next int
	subs map[int]func(media.Digit)
}

// subscribe adds fn and returns what removes it.
func (k *keySubscribers) subscribe(fn func(media.Digit)) (cancel func()) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.subs == nil {
		k.subs = map[int]func(media.Digit){}
	}
	id := k.next
	k.next++
	k.subs[id] = fn
	return func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		delete(k.subs, id)
	}
}

func (k *keySubscribers) each() []func(media.Digit) {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]func(media.Digit), 0, len(k.subs))
	for i := 0; i < k.next; i++ {
		if fn, ok := k.subs[i]; ok {
			out = append(out, fn)
		}
	}
	return out
}

func (k *keySubscribers) closeAll() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.subs = nil
}

// heardDigit runs on the leg's queue for every key its far end presses.
func (l *Leg) heardDigit(d media.Digit, src media.DigitSource) {
	if l.ended() {
		return
	}
	l.publish(Event{Kind: EventDTMF, Digit: string(d.Key), Source: src.String()})
	// Which key is not logged: keys spell PINs (an agent's, a room's).
	l.log.Debug("key press", "source", src.String())
	for _, fn := range l.keys.each() {
		fn(d)
	}
	l.relayDigit(d, src)
}

// relayDigit passes a key to the other party of a two-party bridge when
// it did not reach it by itself: it came by SIP INFO, or the two legs
// negotiated different forms, or a mixer (which carries audio, not
// events) joins them.
func (l *Leg) relayDigit(d media.Digit, src media.DigitSource) {
	b := l.currentBridge()
	if b == nil {
		return
	}
	b.mu.Lock()
	parties := b.partiesLocked()
	mixing := b.mixer != nil
	relaying := b.relay[0] == l || b.relay[1] == l
	b.mu.Unlock()
	if len(parties) != 2 || !relaying && !mixing {
		return
	}
	other := parties[0]
	if other == l {
		other = parties[1]
	}
	otherEvents := other.remoteDTMF() != 0
	regenerate := src == media.SourceInfo ||
		src == media.SourceRFC4733 && (!otherEvents || mixing) ||
		src == media.SourceInband && otherEvents
	if !regenerate {
		return
	}
	if err := other.ep.SendDigit(d); err != nil {
		l.log.Debug("key press not relayed", "to", other.id, "error", err)
	}
}

// CollectOptions say how CollectDTMF reads a number.
type CollectOptions struct {
	Min        int           // fewer keys than this, at the timeout, is still returned; the caller judges
	Max        int           // stop after this many keys; 0 means 32
	Timeout    time.Duration // for the first key; 0 means 5 s
	InterDigit time.Duration // between keys; 0 means Timeout
	Terminator string        // keys that end the number (not included), e.g. "#"
	Total      time.Duration // the whole collection ends after this long, reason "timeout"; 0: no limit
}

// Collected is what CollectDTMF read and why it stopped.
type Collected struct {
	Digits string
	Reason string // "terminator", "max" or "timeout"
}

// CollectDTMF reads keys from a leg until a terminator, Max keys, or a
// pause longer than the timeout. It is one subscriber among others: the
// feature codes and the bridge still see the keys.
func (e *Engine) CollectDTMF(ctx context.Context, legID string, o CollectOptions) (Collected, error) {
	l, err := e.liveLeg("collect digits", legID)
	if err != nil {
		return Collected{}, err
	}
	if o.Max <= 0 {
		o.Max = 32
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.InterDigit <= 0 {
		o.InterDigit = o.Timeout
	}
	keys := make(chan rune, o.Max+8)
	cancel := l.keys.subscribe(func(d media.Digit) {
		select {
		case keys <- d.Key:
		default:
		}
	})
	defer cancel()
	got, reason, err := e.collect(ctx, l, keys, o)
	if err != nil {
		return Collected{}, fmt.Errorf("collect digits on %s: %w", legID, err)
	}
	l.publish(Event{Kind: EventDigits, Digits: got, Cause: reason})
	return Collected{Digits: got, Reason: reason}, nil
}

// collect reads keys from a subscription until done.
func (e *Engine) collect(ctx context.Context, l *Leg, keys <-chan rune, o CollectOptions) (string, string, error) {
	var got strings.Builder
	expired := make(chan struct{}, 1)
	arm := func(d time.Duration) Timer {
		return e.clock.AfterFunc(d, func() {
			select {
			case expired <- struct{}{}:
			default:
			}
		})
	}
	t := arm(o.Timeout)
	defer func() { t.Stop() }()
	var total chan struct{} // nil, never ready, without a limit
	if o.Total > 0 {
		total = make(chan struct{})
		tt := e.clock.AfterFunc(o.Total, func() { close(total) })
		defer tt.Stop()
	}
	for {
		select {
		case k := <-keys:
			if strings.ContainsRune(o.Terminator, k) {
				return got.String(), "terminator", nil
			}
			got.WriteRune(k)
			if got.Len() >= o.Max {
				return got.String(), "max", nil
			}
			t.Stop()
			select {
			case <-expired:
			default:
			}
			t = arm(o.InterDigit)
		case <-expired:
			return got.String(), "timeout", nil
		case <-total:
			return got.String(), "timeout", nil
		case <-l.ctx.Done():
			return got.String(), "", fmt.Errorf("%w: the leg ended", ErrNotFound)
		case <-ctx.Done():
			return got.String(), "", ctx.Err()
		}
	}
}

// SendDTMF sends keys to a leg's far end in the form it negotiated:
// telephone-events, or tones.
func (e *Engine) SendDTMF(ctx context.Context, legID, keys string) error {
	l, err := e.liveLeg("send digits", legID)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if !media.ValidKey(k) {
			return fmt.Errorf("send digits to %s: %w: bad key %q", legID, ErrBadTarget, k)
		}
	}
	for _, k := range keys {
		if err := l.ep.SendDigit(media.Digit{Key: k, Duration: 100 * time.Millisecond}); err != nil {
			return fmt.Errorf("send digits to %s: %w", legID, err)
		}
	}
	return nil
}

// onInfo takes an in-dialog INFO: a key press as application/dtmf-relay
// or application/dtmf goes to the leg like any other press; other INFO
// bodies are acknowledged and ignored.
func (e *Engine) onInfo(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	l := e.legFor(req)
	if l == nil {
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	key, dur, isDTMF, ok := sip.ParseInfoDTMF(ct, req.Body())
	if isDTMF && !ok {
		respond(tx, req, 400, "Bad Request")
		return
	}
	if isDTMF {
		// Queued before the 200: the next INFO must come after this one.
		d := media.Digit{Key: key, Duration: dur}
		l.ops.post(func() { l.heardDigit(d, media.SourceInfo) })
	}
	respond(tx, req, 200, "OK")
}
