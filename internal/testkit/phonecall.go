package testkit

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/pion/rtp"

	"pbx/media"
	"pbx/sip"
)

// PhoneCall is an established call on a test phone: it can play a tone,
// tell which tones it hears, hold and hang up.
type PhoneCall struct {
	phone   *Phone
	id      string
	ep      *media.Endpoint
	cli     *sipgo.DialogClientSession
	srvSess *sipgo.DialogServerSession

	mu        sync.Mutex
	codec     sip.SDPCodec
	remoteDir string
	version   uint64
	heard     []int16 // the last second of decoded audio
	packets   int
	toneStop  chan struct{}
	done      chan struct{}
	endOnce   sync.Once
	initOnce  sync.Once
	reinvites chan string
	digits    []rune      // keys received, in any form
	capture   *capture    // everything heard since StartCapture
	notifies  chan string // sipfrag bodies of NOTIFYs about a REFER
	messages  chan string // bodies of MESSAGEs received in the call
}

// capture is audio heard over a span, with the arrival time of each packet.
type capture struct {
	pcm     []int16
	arrived []time.Time
}

const heardSamples = 8000

func (c *PhoneCall) init() {
	c.initOnce.Do(func() {
		c.reinvites = make(chan string, 8)
		c.notifies = make(chan string, 8)
		c.messages = make(chan string, 8)
	})
}

// sdp is the phone's SDP offering or answering codecs.
func (c *PhoneCall) sdp(codecs []string, direction string) []byte {
	c.mu.Lock()
	c.version++
	v := c.version
	c.mu.Unlock()
	var cs []sip.SDPCodec
	for _, n := range codecs {
		mc, ok := media.CodecByName(n)
		if ok {
			cs = append(cs, sip.SDPCodec{Name: mc.Name, PayloadType: mc.PayloadType, ClockRate: mc.ClockRate})
		}
	}
	var dtmf uint8 = 101
	if c.phone.NoTelephoneEvent {
		dtmf = 0
	}
	return sip.BuildSDP(sip.SDPOptions{SessionID: 42, Version: v, Addr: c.ep.LocalAddr(), Codecs: cs, DTMF: dtmf, Direction: direction})
}

// applyAnswer points the endpoint at the far end's SDP; codec names the
// codec to use (default: the first in the SDP).
func (c *PhoneCall) applyAnswer(body []byte, codec ...string) error {
	c.init()
	d, err := sip.ParseSDP(body)
	if err != nil {
		return err
	}
	if len(d.Codecs) == 0 {
		return fmt.Errorf("sdp without codecs")
	}
	pick := d.Codecs[0]
	if len(codec) > 0 {
		for _, x := range d.Codecs {
			if x.Name == codec[0] {
				pick = x
			}
		}
	}
	mc, _ := media.CodecByName(pick.Name)
	c.mu.Lock()
	c.codec = pick
	c.heard = c.heard[:0] // what was heard before no longer counts
	c.mu.Unlock()
	dtmf := d.DTMF
	if c.phone.NoTelephoneEvent {
		dtmf = 0
	}
	c.ep.SetRemote(d.Addr)
	c.ep.SetCodec(mc, dtmf)
	c.ep.SetHandler(c.receive)
	c.ep.SetInbandDTMF(dtmf == 0)
	c.ep.OnDigit(func(dg media.Digit, _ media.DigitSource) {
		c.mu.Lock()
		c.digits = append(c.digits, dg.Key)
		c.mu.Unlock()
	})
	return nil
}

// Codec is the codec the call uses.
func (c *PhoneCall) Codec() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.codec.Name
}

func (c *PhoneCall) receive(hdr *rtp.Header, payload []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if hdr.PayloadType != c.codec.PayloadType || len(payload) == 0 {
		return
	}
	pcm := make([]int16, len(payload))
	if c.codec.Name == "PCMA" {
		media.DecodeAlaw(pcm, payload)
	} else {
		media.DecodeUlaw(pcm, payload)
	}
	c.packets++
	c.heard = append(c.heard, pcm...)
	if c.capture != nil {
		c.capture.pcm = append(c.capture.pcm, pcm...)
		c.capture.arrived = append(c.capture.arrived, time.Now())
	}
	if n := len(c.heard); n > heardSamples {
		c.heard = append(c.heard[:0], c.heard[n-heardSamples:]...)
	}
}

// SendTone starts sending a sine tone at freq Hz, 20 ms per packet, until
// the call ends or StopTone.
func (c *PhoneCall) SendTone(freq float64) {
	c.stopTone()
	stop := make(chan struct{})
	c.mu.Lock()
	c.toneStop = stop
	c.mu.Unlock()
	gen := media.NewToneGenerator(freq, 8000)
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		frame := make([]int16, 160)
		payload := make([]byte, 160)
		first := true
		for {
			select {
			case <-stop:
				return
			case <-c.done:
				return
			case <-t.C:
			}
			gen.Read(frame)
			if c.ep.SendingDigit() {
				continue // a key press has the stream to itself
			}
			c.mu.Lock()
			codec := c.codec
			c.mu.Unlock()
			if codec.Name == "PCMA" {
				media.EncodeAlaw(payload, frame)
			} else {
				media.EncodeUlaw(payload, frame)
			}
			c.ep.WritePayload(codec.PayloadType, payload, 160, first)
			first = false
		}
	}()
}

// StopTone stops the tone.
func (c *PhoneCall) StopTone() { c.stopTone() }

func (c *PhoneCall) stopTone() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.toneStop != nil {
		close(c.toneStop)
		c.toneStop = nil
	}
}

// Hears reports which of freqs are present in the last 300 ms heard.
func (c *PhoneCall) Hears(freqs ...float64) map[float64]bool {
	c.mu.Lock()
	n := len(c.heard)
	var win []int16
	if n >= 2400 {
		win = append(win, c.heard[n-2400:]...)
	}
	c.mu.Unlock()
	if win == nil {
		return map[float64]bool{}
	}
	return media.DetectTones(win, freqs)
}

// WaitHears waits until the call hears want (and none of notWant) in its
// last 300 ms, checking every 20 ms; it fails after timeout.
func (c *PhoneCall) WaitHears(timeout time.Duration, want float64, notWant ...float64) error {
	return c.WaitHearsAll(timeout, []float64{want}, notWant)
}

// Packets is the number of audio packets received.
func (c *PhoneCall) Packets() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.packets
}

// Hangup sends BYE.
func (c *PhoneCall) Hangup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	if c.cli != nil {
		err = c.cli.Bye(ctx)
	} else {
		err = c.srvSess.Bye(ctx)
	}
	c.ended()
	return err
}

// Ended is closed when the call ends (BYE sent or received).
func (c *PhoneCall) Ended() <-chan struct{} { return c.done }

// WaitEnded waits for the far end's BYE.
func (c *PhoneCall) WaitEnded(timeout time.Duration) error {
	select {
	case <-c.done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("call not ended within %s", timeout)
	}
}

func (c *PhoneCall) ended() {
	c.endOnce.Do(func() {
		close(c.done)
		c.stopTone()
		c.ep.Close()
	})
}

// Reinvite sends a new offer with the given direction (sendonly to hold,
// sendrecv to resume) and codecs, and ACKs the answer. It returns the
// direction of the answer.
func (c *PhoneCall) Reinvite(direction string, codecs ...string) (string, error) {
	if len(codecs) == 0 {
		codecs = []string{c.Codec()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var target sipmsg.Uri
	if c.cli != nil {
		target = c.cli.InviteResponse.Contact().Address
	} else {
		target = c.srvSess.InviteRequest.Contact().Address
	}
	req := sipmsg.NewRequest(sipmsg.INVITE, target)
	req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(c.sdp(codecs, direction))
	var res *sipmsg.Response
	var err error
	if c.cli != nil {
		res, err = c.cli.Do(ctx, req)
	} else {
		res, err = c.srvSess.Do(ctx, req)
	}
	if err != nil {
		return "", err
	}
	if !res.IsSuccess() {
		return "", fmt.Errorf("re-invite: %d %s", res.StatusCode, res.Reason)
	}
	ackTo := target
	if c := res.Contact(); c != nil {
		ackTo = c.Address
	}
	ack := sipmsg.NewRequest(sipmsg.ACK, ackTo)
	if c.cli != nil {
		err = c.cli.WriteRequest(ack)
	} else {
		err = c.srvSess.WriteRequest(ack)
	}
	if err != nil {
		return "", err
	}
	d, err := sip.ParseSDP(res.Body())
	if err != nil {
		return "", err
	}
	if err := c.applyAnswer(res.Body(), codecs[0]); err != nil {
		return "", err
	}
	return d.Direction, nil
}

// Reinvites delivers the direction of each re-INVITE the PBX sends this phone.
func (c *PhoneCall) Reinvites() <-chan string { c.init(); return c.reinvites }

// Answer is the final response that set the call up (200 with SDP), for a
// call this phone placed.
func (c *PhoneCall) Answer() *sipmsg.Response {
	if c.cli == nil {
		return nil
	}
	return c.cli.InviteResponse
}

// Request sends an in-dialog request (OPTIONS, INFO, ...) and returns the
// final response.
func (c *PhoneCall) Request(ctx context.Context, method sipmsg.RequestMethod, contentType string, body []byte) (*sipmsg.Response, error) {
	return c.RequestWith(ctx, method, nil, contentType, body)
}

// RequestWith is Request with extra headers.
func (c *PhoneCall) RequestWith(ctx context.Context, method sipmsg.RequestMethod, hdrs map[string]string, contentType string, body []byte) (*sipmsg.Response, error) {
	var target sipmsg.Uri
	if c.cli != nil {
		target = c.cli.InviteResponse.Contact().Address
	} else {
		target = c.srvSess.InviteRequest.Contact().Address
	}
	req := sipmsg.NewRequest(method, target)
	for k, v := range hdrs {
		req.AppendHeader(sipmsg.NewHeader(k, v))
	}
	if body != nil {
		req.AppendHeader(sipmsg.NewHeader("Content-Type", contentType))
		req.SetBody(body)
	}
	if c.cli != nil {
		return c.cli.Do(ctx, req)
	}
	return c.srvSess.Do(ctx, req)
}

// SendDigits keys digits in the form the call negotiated: telephone-events,
// or tones in the audio when the phone has NoTelephoneEvent.
func (c *PhoneCall) SendDigits(keys string) error {
	for _, k := range keys {
		if err := c.ep.SendDigit(media.Digit{Key: k, Duration: 100 * time.Millisecond}); err != nil {
			return err
		}
	}
	return nil
}

// SendInfoDigits keys digits as SIP INFO, with contentType
// application/dtmf-relay or application/dtmf.
func (c *PhoneCall) SendInfoDigits(contentType, keys string) error {
	for _, k := range keys {
		body := "Signal=" + string(k) + "\r\nDuration=100\r\n"
		if contentType == "application/dtmf" {
			body = string(k)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		res, err := c.Request(ctx, sipmsg.INFO, contentType, []byte(body))
		cancel()
		if err != nil {
			return err
		}
		if !res.IsSuccess() {
			return fmt.Errorf("INFO %q: %d %s", k, res.StatusCode, res.Reason)
		}
	}
	return nil
}

// Digits are the keys the call has received so far, in any form.
func (c *PhoneCall) Digits() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.digits)
}

// WaitDigits waits until the call has received exactly want.
func (c *PhoneCall) WaitDigits(want string, timeout time.Duration) error {
	deadline := time.After(timeout)
	for {
		got := c.Digits()
		if got == want {
			return nil
		}
		if len(got) > len(want) {
			return fmt.Errorf("received keys %q, want %q", got, want)
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			return fmt.Errorf("after %s: received keys %q, want %q", timeout, got, want)
		case <-c.done:
			return fmt.Errorf("call ended with keys %q, want %q", got, want)
		}
	}
}

// StartCapture starts keeping everything the call hears.
func (c *PhoneCall) StartCapture() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.capture = &capture{}
}

// Captured is what the call heard since StartCapture, and when each
// packet arrived.
func (c *PhoneCall) Captured() ([]int16, []time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.capture == nil {
		return nil, nil
	}
	return append([]int16(nil), c.capture.pcm...), append([]time.Time(nil), c.capture.arrived...)
}

// Heard is the last second the call heard.
func (c *PhoneCall) Heard() []int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int16(nil), c.heard...)
}

// Refer asks the PBX to transfer the other party to referTo (a SIP URI,
// with ?Replaces=... for an attended transfer) and returns the final
// response to the REFER.
func (c *PhoneCall) Refer(referTo string) (*sipmsg.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.RequestWith(ctx, sipmsg.REFER, map[string]string{"Refer-To": referTo}, "", nil)
}

// Notifies delivers the sipfrag status line of each NOTIFY about a REFER.
func (c *PhoneCall) Notifies() <-chan string { c.init(); return c.notifies }

// SIPCallID is the Call-ID of the call's dialog with the PBX.
func (c *PhoneCall) SIPCallID() string {
	if c.cli != nil {
		return c.cli.InviteRequest.CallID().Value()
	}
	return c.srvSess.InviteRequest.CallID().Value()
}

// Tags are the call's local and remote dialog tags.
func (c *PhoneCall) Tags() (local, remote string) {
	if c.cli != nil {
		f, _ := c.cli.InviteRequest.From().Params.Get("tag")
		t, _ := c.cli.InviteResponse.To().Params.Get("tag")
		return f, t
	}
	f, _ := c.srvSess.InviteRequest.From().Params.Get("tag")
	t, _ := c.srvSess.InviteResponse.To().Params.Get("tag")
	return t, f
}

// Messages delivers the bodies of the MESSAGE requests the call receives.
func (c *PhoneCall) Messages() <-chan string { c.init(); return c.messages }
