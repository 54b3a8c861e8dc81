package e2e

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"pbx/config"
	"pbx/internal/testkit"
	"pbx/media"
	"pbx/queue"
	"pbx/wav"
)

// Agent RPC flows end to end: a PBX in the test process on loopback, SIP
// test phones sending real RTP, and bots that are real WebSocket clients
// (testkit.AgentBot) speaking only the wire. Every party sends its own
// tone and every prompt or music is a tone, so what a caller is connected
// to is heard with the Goertzel detector, not inferred from events.
//
// The helpers here are prefixed af (agent flow).

// The test endpoint, the number that reaches it, and the marker audio.
const (
	afEndpoint     = "bots" // an agent endpoint the dial plan reaches by afNumber
	afNumber       = "6100"
	afTonePrompt   = 1700.0 // prompts af-prompt (1 s) and af-long (10 s): what bots play
	afToneFallback = 2100.0 // music class affallback and prompt af-fallback (3 s)
	afToneMusic    = 2450.0 // music class default: what queue callers hear
	afWait         = 5 * time.Second
)

// afStart starts a PBX whose agent endpoint "bots" (balance random, two
// connections, fallback as given, "" none) is reached by dialling 6100,
// whose prompts and music are tones, and whose queue support plays its
// music at once (no announcements). opts run after, to change more.
func afStart(t *testing.T, fallback string, opts ...testkit.PBXOption) *testkit.PBX {
	t.Helper()
	dir := testkit.WritePrompts(t, time.Second, map[string]float64{"af-prompt": afTonePrompt, "af-music": afToneMusic})
	for d, tones := range map[time.Duration]map[string]float64{
		10 * time.Second: {"af-long": afTonePrompt},
		3 * time.Second:  {"af-fallback": afToneFallback},
	} {
		more := testkit.WritePrompts(t, d, tones)
		for name := range tones {
			if err := os.Rename(filepath.Join(more, name+".wav"), filepath.Join(dir, name+".wav")); err != nil {
				t.Fatal(err)
			}
		}
	}
	base := func(c *config.Config) {
		c.Sounds.Prompts = dir
		c.Sounds.Music = map[string]string{"default": dir + "/af-music.wav", "affallback": dir + "/af-fallback.wav"}
		if c.Endpoints == nil {
			c.Endpoints = map[string]config.Endpoint{}
		}
		c.Endpoints[afEndpoint] = config.Endpoint{Match: config.EndpointMatch{Type: "agent"},
			Balance: "random", MaxConnections: 2, Fallback: fallback}
		c.Dialplan = append([]config.DialplanRule{{Name: "af bots", Match: config.Match{Exact: afNumber},
			Target: "agentrpc:" + afEndpoint}}, c.Dialplan...)
		for i := range c.Queues {
			if c.Queues[i].Name == "support" {
				c.Queues[i].Announce, c.Queues[i].AnnounceEvery = "", 0
				c.Queues[i].Periodic, c.Queues[i].PeriodicEvery = nil, 0
			}
		}
	}
	return testkit.StartPBX(t, "", append([]testkit.PBXOption{base}, opts...)...)
}

// afEndpoints adds endpoints to the configuration.
func afEndpoints(eps map[string]config.Endpoint) testkit.PBXOption {
	return func(c *config.Config) {
		for name, ep := range eps {
			c.Endpoints[name] = ep
		}
	}
}

// afBot connects a bot to the test endpoint and waits until the PBX
// serves it: a request about no call gets 404, so calls can be offered
// to it from then on.
func afBot(t *testing.T, p *testkit.PBX) *testkit.AgentBot {
	t.Helper()
	bot := testkit.DialAgentRPC(t, p.AgentRPCAddr(), afEndpoint)
	res, err := bot.Do("af-no-call", "answer", nil, afWait)
	if err != nil {
		t.Fatal(err)
	}
	afWant(t, "probe", res.Final, 404, "Dialog Does Not Exist")
	return bot
}

// afDialed is the outcome of a call placed by afDial.
type afDialed struct {
	call *testkit.PhoneCall
	err  error
}

// afDial calls number from ph in the background; once answered the call
// sends tone.
func afDial(t *testing.T, ph *testkit.Phone, number string, tone float64, o testkit.CallOptions) <-chan afDialed {
	ctx := ctxTimeout(t, 20*time.Second)
	ch := make(chan afDialed, 1)
	go func() {
		c, err := ph.Call(ctx, number, o)
		if err == nil {
			c.SendTone(tone)
		}
		ch <- afDialed{c, err}
	}()
	return ch
}

// afAnswered waits for a call of afDial to be answered.
func afAnswered(t *testing.T, ch <-chan afDialed) *testkit.PhoneCall {
	t.Helper()
	select {
	case d := <-ch:
		if d.err != nil {
			t.Fatalf("call: %v", d.err)
		}
		return d.call
	case <-time.After(afWait):
		t.Fatalf("call not answered within %s", afWait)
	}
	return nil
}

// afRefused waits for a call of afDial to be refused and returns its SIP status.
func afRefused(t *testing.T, ch <-chan afDialed) int {
	t.Helper()
	select {
	case d := <-ch:
		if d.err == nil {
			t.Fatal("call answered, want it refused")
		}
		return testkit.StatusOf(d.err)
	case <-time.After(afWait):
		t.Fatalf("call neither answered nor refused within %s", afWait)
	}
	return 0
}

// afPickedUp is a call answered by afPickUp.
type afPickedUp struct {
	afDialed
	uri string // user part of the INVITE's Request-URI
}

// afPickUp rings then answers the next call to ph, in the background; the
// answered call sends tone.
func afPickUp(ph *testkit.Phone, tone float64) <-chan afPickedUp {
	ch := make(chan afPickedUp, 1)
	go func() {
		in, err := ph.Incoming(afWait)
		if err != nil {
			ch <- afPickedUp{afDialed: afDialed{err: err}}
			return
		}
		in.Ring()
		c, err := in.Answer()
		if err == nil {
			c.SendTone(tone)
		}
		ch <- afPickedUp{afDialed{c, err}, in.Request.Recipient.User}
	}()
	return ch
}

// afPickedUpCall waits for afPickUp's call.
func afPickedUpCall(t *testing.T, ch <-chan afPickedUp) (*testkit.PhoneCall, string) {
	t.Helper()
	select {
	case d := <-ch:
		if d.err != nil {
			t.Fatalf("callee: %v", d.err)
		}
		return d.call, d.uri
	case <-time.After(afWait + time.Second):
		t.Fatal("callee never answered")
	}
	return nil, ""
}

// afWant checks a response's code and reason.
func afWant(t *testing.T, what string, r testkit.AgentResponse, code int, reason string) {
	t.Helper()
	if r.Code != code || r.Reason != reason {
		t.Fatalf("%s: got %d %q (%s), want %d %q", what, r.Code, r.Reason, r.Raw, code, reason)
	}
}

// afDo sends a request and wants 200 OK.
func afDo(t *testing.T, bot *testkit.AgentBot, did, op string, data any) testkit.AgentResult {
	t.Helper()
	res, err := bot.Do(did, op, data, afWait)
	if err != nil {
		t.Fatal(err)
	}
	afWant(t, op, res.Final, 200, "OK")
	return res
}

// afProgress waits for a running request's next provisional answer.
func afProgress(t *testing.T, req *testkit.AgentPending, code int, reason string) {
	t.Helper()
	r, err := req.Provisional(afWait)
	if err != nil {
		t.Fatal(err)
	}
	afWant(t, req.Op+" provisional", r, code, reason)
}

// afFinal waits for a running request's final answer.
func afFinal(t *testing.T, req *testkit.AgentPending, code int, reason string) testkit.AgentResult {
	t.Helper()
	res, err := req.Final(afWait)
	if err != nil {
		t.Fatal(err)
	}
	afWant(t, req.Op, res.Final, code, reason)
	return res
}

// afInvite takes the bot's next invite.
func afInvite(t *testing.T, bot *testkit.AgentBot) testkit.AgentRequest {
	t.Helper()
	inv, err := bot.NextInvite(afWait)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Op != "invite" || inv.ID == "" || inv.DID == "" {
		t.Fatalf("want an invite with an id and a did, got %s", inv.Raw)
	}
	return inv
}

// afTake calls the endpoint from caller (sending tone), has the bot
// accept the invite and answer the call, and returns the invite and the
// caller's call.
func afTake(t *testing.T, bot *testkit.AgentBot, caller *testkit.Phone, tone float64) (testkit.AgentRequest, *testkit.PhoneCall) {
	t.Helper()
	dialed := afDial(t, caller, afNumber, tone, testkit.CallOptions{})
	inv := afInvite(t, bot)
	if err := bot.Reply(inv, 200, "OK"); err != nil {
		t.Fatal(err)
	}
	afDo(t, bot, inv.DID, "answer", nil)
	return inv, afAnswered(t, dialed)
}

// afGone checks that a request about a call the bot no longer controls
// gets 487 (control ending) or 404 (forgotten).
func afGone(t *testing.T, bot *testkit.AgentBot, did string) {
	t.Helper()
	res, err := bot.Do(did, "play", map[string]string{"uri": "file://af-prompt.wav"}, afWait)
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Final; !(r.Code == 487 && r.Reason == "Request terminated") && !(r.Code == 404 && r.Reason == "Dialog Does Not Exist") {
		t.Fatalf("request after control ended: got %d %q, want 487 or 404", r.Code, r.Reason)
	}
}

// afForgotten waits until the PBX has forgotten did on bot (its requests
// get 404): the connection no longer counts the call.
func afForgotten(t *testing.T, bot *testkit.AgentBot, did string) {
	t.Helper()
	deadline := time.Now().Add(afWait)
	for {
		res, err := bot.Do(did, "answer", nil, afWait)
		if err != nil {
			t.Fatal(err)
		}
		if res.Final.Code == 404 {
			return
		}
		if res.Final.Code != 487 || time.Now().After(deadline) {
			t.Fatalf("did %s still known: %d %q", did, res.Final.Code, res.Final.Reason)
		}
	}
}

// afWaitBye waits for the bye about did.
func afWaitBye(t *testing.T, bot *testkit.AgentBot, did string) {
	t.Helper()
	bye, err := bot.WaitBye(did, afWait)
	if err != nil {
		t.Fatal(err)
	}
	if bye.Data != nil {
		t.Fatalf("bye carries data: %s", bye.Raw)
	}
}

// afHangUp hangs up the caller's side of a call the bot controls and
// waits for the bye about it.
func afHangUp(t *testing.T, bot *testkit.AgentBot, a *testkit.PhoneCall, did string) {
	t.Helper()
	if err := a.Hangup(); err != nil {
		t.Fatal(err)
	}
	afWaitBye(t, bot, did)
}

// afOffer is one invite a watched bot got.
type afOffer struct {
	bot int // index of the bot in afWatch's list
	req testkit.AgentRequest
}

// afWatch sets on each bot an invite policy that reports every invite on
// the channel returned, answered with decide's code (0: the test replies).
func afWatch(decide func(bot int, req testkit.AgentRequest) (int, string), bots ...*testkit.AgentBot) <-chan afOffer {
	ch := make(chan afOffer, 64)
	for i, b := range bots {
		b.SetInvitePolicy(func(req testkit.AgentRequest) (int, string) {
			code, reason := 0, ""
			if decide != nil {
				code, reason = decide(i, req)
			}
			req.Replied = code
			ch <- afOffer{i, req}
			return code, reason
		})
	}
	return ch
}

// afNextOffer takes the next offer reported by afWatch.
func afNextOffer(t *testing.T, ch <-chan afOffer) afOffer {
	t.Helper()
	select {
	case o := <-ch:
		return o
	case <-time.After(afWait):
		t.Fatal("no bot was offered the call")
	}
	return afOffer{}
}

// afPCM reads raw 16-bit little-endian PCM.
func afPCM(t *testing.T, b []byte) []int16 {
	t.Helper()
	if len(b)%2 != 0 {
		t.Fatalf("raw PCM of odd length %d", len(b))
	}
	pcm := make([]int16, len(b)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return pcm
}

// afToneShare is the share of pcm's 50 ms windows in which freq sounds
// alone among freqs.
func afToneShare(pcm []int16, freq float64, freqs ...float64) float64 {
	all := append([]float64{freq}, freqs...)
	n, hit := 0, 0
	for off := 0; off+400 <= len(pcm); off += 400 {
		n++
		got := media.DetectTones(pcm[off:off+400], all)
		alone := got[freq]
		for _, f := range freqs {
			alone = alone && !got[f]
		}
		if alone {
			hit++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(hit) / float64(n)
}

// The spec's use case: a caller dials the bot's number; the bot accepts
// the invite, answers, plays a prompt the caller hears, reads the keys
// the caller presses (RFC 4733) up to "#", then redirects the call to an
// extension: caller and callee talk, the bot gets bye, and the call's did
// is dead to it.
func TestAgentRPCFlowUseCase(t *testing.T) {
	p := afStart(t, "")
	bot := afBot(t, p)
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")

	dialed := afDial(t, alice, afNumber, toneA, testkit.CallOptions{})
	inv := afInvite(t, bot)
	if inv.From != "1001" || inv.To != afNumber || inv.CallID == "" {
		t.Fatalf("invite data: %s, want from 1001, to %s and a callID", inv.Raw, afNumber)
	}
	if err := bot.Reply(inv, 200, "OK"); err != nil {
		t.Fatal(err)
	}
	did := inv.DID
	afDo(t, bot, did, "answer", nil)
	a := afAnswered(t, dialed)
	if got := a.SIPCallID(); got != inv.CallID {
		t.Fatalf("invite callID %q, the caller's Call-ID %q", inv.CallID, got)
	}

	play := bot.Start(did, "play", map[string]string{"uri": "file://af-prompt.wav"})
	afProgress(t, play, 183, "Playback In Progress")
	if err := a.WaitHears(3*time.Second, afTonePrompt, toneA); err != nil {
		t.Fatalf("caller during play: %v", err)
	}
	afFinal(t, play, 200, "OK")

	read := bot.Start(did, "read_dtmf", map[string]any{"duration_sec": 5, "termination": "#"})
	afProgress(t, read, 183, "Read DTMF In Progress")
	if err := a.SendDigits("1234#"); err != nil {
		t.Fatal(err)
	}
	res := afFinal(t, read, 200, "OK")
	if got := res.Final.Str("dtmf"); got != "1234#" {
		t.Fatalf("read_dtmf: %s, want dtmf 1234#", res.Final.Raw)
	}
	if keys, src := keysSeen(t, p, 5); keys != "1234#" || src != "rfc4733" {
		t.Fatalf("PBX heard %q from %s, want 1234# from rfc4733", keys, src)
	}

	answered := afPickUp(bob, toneB)
	afDo(t, bot, did, "redirect", map[string]string{"endpoint": "1002"})
	b, _ := afPickedUpCall(t, answered)
	talking(t, a, b)
	afWaitBye(t, bot, did)
	afGone(t, bot, did)
	hangUp(t, a, b)
}

// A bot redirects to each kind of place: an extension target, a user
// endpoint (its users ring: the one registered answers), a uri endpoint
// naming a SIP peer that does not register (with and without a user
// part: without one, the peer is sent the number dialled), and the queue
// by target and by number.
func TestAgentRPCFlowRedirect(t *testing.T) {
	tests := []struct {
		name     string
		endpoint string // redirect's endpoint
		to       string // phone: bob (1002) answers; peer: the unregistered phone; queue: support
		wantUser string // the user part of the INVITE the callee gets
	}{
		{name: "extension target", endpoint: "extension:1002", to: "phone", wantUser: "1002"},
		{name: "user endpoint", endpoint: "sales", to: "phone", wantUser: "1002"},
		{name: "user endpoint, its registered user", endpoint: "team", to: "phone", wantUser: "1002"},
		{name: "uri endpoint", endpoint: "voicebot", to: "peer", wantUser: "voicebot"},
		{name: "uri endpoint without user", endpoint: "anybot", to: "peer", wantUser: afNumber},
		{name: "queue target", endpoint: "queue:support", to: "queue"},
		{name: "queue number", endpoint: "5000", to: "queue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A SIP peer the PBX reaches by the endpoint's uri only.
			peer := testkit.NewPhone(t, "127.0.0.1:9", "voicebot", "")
			p := afStart(t, "", afEndpoints(map[string]config.Endpoint{
				"sales":    {Match: config.EndpointMatch{Type: "user", Values: []string{"1002"}}},
				"team":     {Match: config.EndpointMatch{Type: "user", Values: []string{"1003", "1002"}}}, // 1003 is not registered
				"voicebot": {URI: "sip:voicebot@" + peer.Addr().String()},
				"anybot":   {URI: "sip:" + peer.Addr().String()},
			}))
			bot := afBot(t, p)
			alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
			inv, a := afTake(t, bot, alice, toneA)

			var answered <-chan afPickedUp
			switch tt.to {
			case "phone":
				answered = afPickUp(bob, toneB)
			case "peer":
				answered = afPickUp(peer, toneB)
			}
			afDo(t, bot, inv.DID, "redirect", map[string]string{"endpoint": tt.endpoint})
			if answered != nil {
				b, user := afPickedUpCall(t, answered)
				if user != tt.wantUser {
					t.Fatalf("callee was sent an INVITE to %q, want %q", user, tt.wantUser)
				}
				talking(t, a, b)
				afWaitBye(t, bot, inv.DID)
				hangUp(t, a, b)
			} else {
				if ev := p.WaitEvent(queue.EventJoined, afWait); ev.Queue != "support" {
					t.Fatalf("joined queue %q, want support", ev.Queue)
				}
				if err := a.WaitHears(afWait, afToneMusic, toneA); err != nil {
					t.Fatalf("caller in the queue: %v", err)
				}
				afWaitBye(t, bot, inv.DID)
				if err := a.Hangup(); err != nil {
					t.Fatal(err)
				}
			}
			afGone(t, bot, inv.DID)
		})
	}
}

// A redirect to nowhere, or to bots, is refused with the reference's 400
// and changes nothing: the bot still controls the call.
func TestAgentRPCFlowRedirectErrors(t *testing.T) {
	p := afStart(t, "")
	bot := afBot(t, p)
	inv, a := afTake(t, bot, phone(t, p, "1001"), toneA)
	for _, tt := range []struct{ endpoint, reason string }{
		{"nosuch", "Endpoint Does Not Exist"},
		{"9999", "Endpoint Does Not Exist"}, // no dial-plan rule
		{"nosuch:x", "Endpoint Does Not Exist"},
		{"", "Endpoint Does Not Exist"},
		{afEndpoint, "Endpoint Can Not Be Flow API"},
		{"myagent", "Endpoint Can Not Be Flow API"},
		{"agentrpc:x", "Endpoint Can Not Be Flow API"},
		{"agentrpc:" + afEndpoint, "Endpoint Can Not Be Flow API"},
	} {
		res, err := bot.Do(inv.DID, "redirect", map[string]string{"endpoint": tt.endpoint}, afWait)
		if err != nil {
			t.Fatal(err)
		}
		afWant(t, "redirect to "+tt.endpoint, res.Final, 400, tt.reason)
	}
	play := bot.Start(inv.DID, "play", map[string]string{"uri": "file://af-prompt.wav"})
	afProgress(t, play, 183, "Playback In Progress")
	if err := a.WaitHears(3*time.Second, afTonePrompt, toneA); err != nil {
		t.Fatalf("caller after the refused redirects: %v", err)
	}
	afFinal(t, play, 200, "OK")
	afHangUp(t, bot, a, inv.DID)
}

// listen records the caller and sends the audio in one binary frame, raw
// PCM or a WAV file: it holds the caller's tone.
func TestAgentRPCFlowListen(t *testing.T) {
	for _, format := range []string{"", "wav"} {
		t.Run("format "+format, func(t *testing.T) {
			p := afStart(t, "")
			bot := afBot(t, p)
			inv, a := afTake(t, bot, phone(t, p, "1001"), toneA)
			data := map[string]any{"duration_sec": 1}
			if format != "" {
				data["audio_format"] = format
			}
			res := afDo(t, bot, inv.DID, "listen", data)
			if len(res.Provisional) != 2 {
				t.Fatalf("provisional answers %v, want 183 then 190", res.Provisional)
			}
			afWant(t, "listen first provisional", res.Provisional[0], 183, "Recording In Progress")
			afWant(t, "listen second provisional", res.Provisional[1], 190, "Recording Write")
			size, _ := res.Final.Data["size"].(float64)
			secs, _ := res.Final.Data["duration_sec"].(float64)
			if int(size) != len(res.Binary) || secs < 0.8 || secs > 1 {
				t.Fatalf("listen: %s with %d bytes of audio, want size = the audio, about 1 s", res.Final.Raw, len(res.Binary))
			}
			var pcm []int16
			if format == "wav" {
				if string(res.Binary[:4]) != "RIFF" || string(res.Binary[8:12]) != "WAVE" {
					t.Fatalf("not a WAV file: % x", res.Binary[:12])
				}
				var err error
				if pcm, err = wav.Decode(res.Binary); err != nil {
					t.Fatal(err)
				}
			} else {
				pcm = afPCM(t, res.Binary)
			}
			if got := float64(len(pcm)) / 8000; got != secs {
				t.Fatalf("%d samples (%.3f s), the answer says %v s", len(pcm), got, secs)
			}
			if share := afToneShare(pcm, toneA, toneB, afTonePrompt); share < 0.8 {
				t.Fatalf("the caller's tone sounds in %.0f%% of the recording, want most", 100*share)
			}
			afHangUp(t, bot, a, inv.DID)
		})
	}
}

// echo sends the caller its own voice until the bot cancels it (499);
// then the caller hears silence again, and the call is still the bot's.
func TestAgentRPCFlowEcho(t *testing.T) {
	p := afStart(t, "")
	bot := afBot(t, p)
	inv, a := afTake(t, bot, phone(t, p, "1001"), toneA)
	echo := bot.Start(inv.DID, "echo", nil)
	afProgress(t, echo, 183, "Echo In Progress")
	if err := a.WaitHears(3*time.Second, toneA); err != nil {
		t.Fatalf("caller during echo: %v", err)
	}
	if err := bot.Cancel(echo.ID, inv.DID); err != nil {
		t.Fatal(err)
	}
	afFinal(t, echo, 499, "Client Closed Request")
	if err := a.WaitHearsAll(3*time.Second, nil, []float64{toneA}); err != nil {
		t.Fatalf("caller after echo: %v", err)
	}
	play := bot.Start(inv.DID, "play", map[string]string{"uri": "file://af-prompt.wav"})
	afProgress(t, play, 183, "Playback In Progress")
	if err := a.WaitHears(3*time.Second, afTonePrompt, toneA); err != nil {
		t.Fatalf("caller after echo: %v", err)
	}
	afFinal(t, play, 200, "OK")
	if r, err := bot.NextResponse(50 * time.Millisecond); err == nil {
		t.Fatalf("an answer to the cancel itself: %s", r.Raw)
	}
	afHangUp(t, bot, a, inv.DID)
}

// The bot hangs up: 200, the caller gets BYE (or, before the answer, a
// refusal), the bot gets bye, and the did is dead.
func TestAgentRPCFlowBotHangsUp(t *testing.T) {
	for _, answered := range []bool{true, false} {
		t.Run(fmt.Sprintf("answered %v", answered), func(t *testing.T) {
			p := afStart(t, "")
			bot := afBot(t, p)
			alice := phone(t, p, "1001")
			if !answered {
				dialed := afDial(t, alice, afNumber, toneA, testkit.CallOptions{})
				inv := afInvite(t, bot)
				if err := bot.Reply(inv, 200, "OK"); err != nil {
					t.Fatal(err)
				}
				afDo(t, bot, inv.DID, "hangup", nil)
				if code := afRefused(t, dialed); code < 400 {
					t.Fatalf("caller refused with %d", code)
				}
				afWaitBye(t, bot, inv.DID)
				afGone(t, bot, inv.DID)
				return
			}
			inv, a := afTake(t, bot, alice, toneA)
			afDo(t, bot, inv.DID, "hangup", nil)
			if err := a.WaitEnded(afWait); err != nil {
				t.Fatalf("caller: %v", err)
			}
			afWaitBye(t, bot, inv.DID)
			afGone(t, bot, inv.DID)
		})
	}
}

// The caller hangs up while a long request runs: it ends 487 "Request
// terminated", then the bot gets bye.
func TestAgentRPCFlowCallerHangsUp(t *testing.T) {
	tests := []struct {
		op       string
		data     any
		progress string
		hears    float64 // what the caller hears while it runs
	}{
		{"play", map[string]string{"uri": "file://af-long.wav"}, "Playback In Progress", afTonePrompt},
		{"echo", nil, "Echo In Progress", toneA},
		{"read_dtmf", map[string]any{"duration_sec": 10, "termination": "#"}, "Read DTMF In Progress", 0},
		{"listen", map[string]any{"duration_sec": 10}, "Recording In Progress", 0},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			p := afStart(t, "")
			bot := afBot(t, p)
			inv, a := afTake(t, bot, phone(t, p, "1001"), toneA)
			req := bot.Start(inv.DID, tt.op, tt.data)
			afProgress(t, req, 183, tt.progress)
			if tt.hears != 0 {
				if err := a.WaitHears(3*time.Second, tt.hears); err != nil {
					t.Fatalf("caller during %s: %v", tt.op, err)
				}
			}
			if err := a.Hangup(); err != nil {
				t.Fatal(err)
			}
			afFinal(t, req, 487, "Request terminated")
			afWaitBye(t, bot, inv.DID)
			afGone(t, bot, inv.DID)
		})
	}
}

// ring sends 180 to the caller before the answer.
func TestAgentRPCFlowRing(t *testing.T) {
	p := afStart(t, "")
	bot := afBot(t, p)
	rang := make(chan int, 8)
	dialed := afDial(t, phone(t, p, "1001"), afNumber, toneA, testkit.CallOptions{OnRinging: func(code int) {
		select {
		case rang <- code:
		default:
		}
	}})
	inv := afInvite(t, bot)
	if err := bot.Reply(inv, 200, "OK"); err != nil {
		t.Fatal(err)
	}
	afDo(t, bot, inv.DID, "ring", nil)
	select {
	case code := <-rang:
		if code != 180 {
			t.Fatalf("caller got %d, want 180", code)
		}
	case <-time.After(afWait):
		t.Fatal("caller got no 180")
	}
	select {
	case d := <-dialed:
		t.Fatalf("call over before the answer: %v", d.err)
	default:
	}
	afDo(t, bot, inv.DID, "answer", nil)
	afHangUp(t, bot, afAnswered(t, dialed), inv.DID)
}

// balance random: over 20 calls each of two bots gets some (the chance
// that one gets none is 2 in a million).
func TestAgentRPCFlowBalanceRandom(t *testing.T) {
	p := afStart(t, "")
	bots := []*testkit.AgentBot{afBot(t, p), afBot(t, p)}
	offers := afWatch(func(int, testkit.AgentRequest) (int, string) { return 200, "OK" }, bots...)
	alice := phone(t, p, "1001")
	got := make([]int, len(bots))
	for range 20 {
		dialed := afDial(t, alice, afNumber, toneA, testkit.CallOptions{})
		o := afNextOffer(t, offers)
		got[o.bot]++
		afDo(t, bots[o.bot], o.req.DID, "answer", nil)
		afHangUp(t, bots[o.bot], afAnswered(t, dialed), o.req.DID)
	}
	if got[0] == 0 || got[1] == 0 {
		t.Fatalf("calls per bot %v: want both to get some", got)
	}
}

// balance least_busy: a new call goes to the bot controlling fewer calls.
func TestAgentRPCFlowBalanceLeastBusy(t *testing.T) {
	p := afStart(t, "", func(c *config.Config) {
		ep := c.Endpoints[afEndpoint]
		ep.Balance = "least_busy"
		c.Endpoints[afEndpoint] = ep
	})
	bots := []*testkit.AgentBot{afBot(t, p), afBot(t, p)}
	offers := afWatch(func(int, testkit.AgentRequest) (int, string) { return 200, "OK" }, bots...)
	alice := phone(t, p, "1001")
	take := func() (afOffer, *testkit.PhoneCall) {
		t.Helper()
		dialed := afDial(t, alice, afNumber, toneA, testkit.CallOptions{})
		o := afNextOffer(t, offers)
		afDo(t, bots[o.bot], o.req.DID, "answer", nil)
		return o, afAnswered(t, dialed)
	}
	first, a1 := take()
	second, a2 := take()
	if second.bot == first.bot {
		t.Fatalf("bot %d holds a call and got the second too", first.bot)
	}
	// The second call ends: its bot is free again and gets the next.
	afHangUp(t, bots[second.bot], a2, second.req.DID)
	afForgotten(t, bots[second.bot], second.req.DID)
	third, a3 := take()
	if third.bot != second.bot {
		t.Fatalf("bot %d holds a call and got the third, bot %d none", third.bot, second.bot)
	}
	afHangUp(t, bots[first.bot], a1, first.req.DID)
	afHangUp(t, bots[third.bot], a3, third.req.DID)
}

// A bot that refuses an invite (486): the same call, same did and
// Call-ID, is offered to the other bot, which takes it.
func TestAgentRPCFlowRejectThenNext(t *testing.T) {
	p := afStart(t, "music:affallback")
	bots := []*testkit.AgentBot{afBot(t, p), afBot(t, p)}
	var mu sync.Mutex
	seen := map[string]bool{}
	offers := afWatch(func(_ int, req testkit.AgentRequest) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		if !seen[req.CallID] {
			seen[req.CallID] = true
			return 486, "Busy Here"
		}
		return 200, "OK"
	}, bots...)
	dialed := afDial(t, phone(t, p, "1001"), afNumber, toneA, testkit.CallOptions{})
	first, next := afNextOffer(t, offers), afNextOffer(t, offers)
	if first.req.Replied != 486 || next.req.Replied != 200 || next.bot == first.bot {
		t.Fatalf("offers: bot %d answered %d, then bot %d answered %d", first.bot, first.req.Replied, next.bot, next.req.Replied)
	}
	if next.req.DID != first.req.DID || next.req.CallID != first.req.CallID {
		t.Fatalf("the second offer is another call: %s after %s", next.req.Raw, first.req.Raw)
	}
	did, taker := next.req.DID, bots[next.bot]
	afDo(t, taker, did, "answer", nil)
	a := afAnswered(t, dialed)
	play := taker.Start(did, "play", map[string]string{"uri": "file://af-prompt.wav"})
	afProgress(t, play, 183, "Playback In Progress")
	if err := a.WaitHears(3*time.Second, afTonePrompt, afToneFallback); err != nil {
		t.Fatalf("caller: %v", err)
	}
	afFinal(t, play, 200, "OK")
	res, err := bots[first.bot].Do(did, "answer", nil, afWait)
	if err != nil {
		t.Fatal(err)
	}
	afWant(t, "the refusing bot's request", res.Final, 404, "Dialog Does Not Exist")
	afHangUp(t, taker, a, did)
}

// A call no bot takes goes to the endpoint's fallback; with none it is
// refused 480.
func TestAgentRPCFlowFallback(t *testing.T) {
	tests := []struct {
		name     string
		bots     int    // connected
		answer   int    // their answer to the invite; 0: none (it times out)
		fallback string // "" none
		want     int    // 0: the caller hears the fallback; else the status refusing it
	}{
		{name: "all reject, music", bots: 2, answer: 486, fallback: "music:affallback"},
		{name: "all reject, prompt", bots: 2, answer: 603, fallback: "play:af-fallback"},
		{name: "invite times out", bots: 1, fallback: "music:affallback"},
		{name: "no bot connected", fallback: "music:affallback"},
		{name: "no bot, prompt", fallback: "play:af-fallback"},
		{name: "all reject, no fallback", bots: 2, answer: 486, want: 480},
		{name: "no bot, no fallback", want: 480},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := afStart(t, tt.fallback, func(c *config.Config) { c.AgentRPC.InviteTimeout = 300 * time.Millisecond })
			var bots []*testkit.AgentBot
			for range tt.bots {
				bot := afBot(t, p)
				if tt.answer != 0 {
					bot.SetInvitePolicy(func(testkit.AgentRequest) (int, string) { return tt.answer, "Refused" })
				}
				bots = append(bots, bot)
			}
			dialed := afDial(t, phone(t, p, "1001"), afNumber, toneA, testkit.CallOptions{})
			if tt.want != 0 {
				if code := afRefused(t, dialed); code != tt.want {
					t.Fatalf("caller refused with %d, want %d", code, tt.want)
				}
			} else {
				a := afAnswered(t, dialed)
				if err := a.WaitHears(3*time.Second, afToneFallback, toneA); err != nil {
					t.Fatalf("caller: %v", err)
				}
				if err := a.Hangup(); err != nil {
					t.Fatal(err)
				}
			}
			var callID string
			for i, bot := range bots { // each was offered the call once
				inv := afInvite(t, bot)
				if callID != "" && inv.CallID != callID {
					t.Fatalf("bot %d was offered another call: %s", i, inv.Raw)
				}
				callID = inv.CallID
				if extra, err := bot.NextInvite(50 * time.Millisecond); err == nil {
					t.Fatalf("bot %d offered the call twice: %s", i, extra.Raw)
				}
			}
		})
	}
}

// A bot that goes away (its TCP connection drops, no close frame) leaves
// its calls to the fallback, not to dead air, whether it had taken them
// or was still deciding; with no fallback they are hung up.
func TestAgentRPCFlowBotDrops(t *testing.T) {
	tests := []struct {
		name     string
		when     string // "call": answered, during a long play; "invite": before answering the invite
		fallback string
	}{
		{name: "mid-call to music", when: "call", fallback: "music:affallback"},
		{name: "mid-call to prompt", when: "call", fallback: "play:af-fallback"},
		{name: "mid-call no fallback", when: "call"},
		{name: "during invite", when: "invite", fallback: "music:affallback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := afStart(t, tt.fallback)
			bot := afBot(t, p)
			alice := phone(t, p, "1001")
			var a *testkit.PhoneCall
			if tt.when == "invite" {
				dialed := afDial(t, alice, afNumber, toneA, testkit.CallOptions{})
				afInvite(t, bot)
				bot.Drop()
				a = afAnswered(t, dialed)
			} else {
				var inv testkit.AgentRequest
				inv, a = afTake(t, bot, alice, toneA)
				play := bot.Start(inv.DID, "play", map[string]string{"uri": "file://af-long.wav"})
				afProgress(t, play, 183, "Playback In Progress")
				if err := a.WaitHears(3*time.Second, afTonePrompt, toneA); err != nil {
					t.Fatalf("caller during play: %v", err)
				}
				bot.Drop()
			}
			if tt.fallback == "" {
				if err := a.WaitEnded(afWait); err != nil {
					t.Fatalf("caller of a dropped bot with no fallback: %v", err)
				}
				return
			}
			if err := a.WaitHears(3*time.Second, afToneFallback, afTonePrompt, toneA); err != nil {
				t.Fatalf("caller after the bot dropped: %v", err)
			}
			if err := a.Hangup(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// At shutdown the PBX drains its calls with the bots still connected: a
// bot goes on steering its call (a prompt the caller hears, then its
// hangup), and the drain ends with that call, not at its deadline.
func TestAgentRPCFlowBotsSteerThroughDrain(t *testing.T) {
	p := afStart(t, "", func(c *config.Config) { c.Calls.DrainTimeout = 20 * time.Second })
	bot := afBot(t, p)
	alice := phone(t, p, "1001")
	inv, a := afTake(t, bot, alice, toneA)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		p.Stop()
	}()
	// The engine announces no event when it starts draining: its flag is
	// read until it is up.
	for deadline := time.Now().Add(5 * time.Second); !p.Engine().Draining(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the PBX did not start draining")
		}
	}
	if _, err := alice.Call(ctxTimeout(t, 5*time.Second), afNumber, testkit.CallOptions{}); testkit.StatusOf(err) != 503 {
		t.Fatalf("a call during the drain: %v, want 503", err)
	}
	play := bot.Start(inv.DID, "play", map[string]any{"uri": "file://af-prompt.wav"})
	afProgress(t, play, 183, "Playback In Progress")
	if err := a.WaitHears(3*time.Second, afTonePrompt); err != nil {
		t.Fatalf("prompt during the drain: %v", err)
	}
	afFinal(t, play, 200, "OK")
	afHangUp(t, bot, a, inv.DID)
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the drain did not end with the bot's last call")
	}
}
