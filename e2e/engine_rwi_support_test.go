package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"pbx/config"
	"pbx/dialog"
	"pbx/internal/testkit"
)

// What the engine offers a control plane such as RWI: owners on events
// and claims, an attended transfer that returns while the target rings,
// local SIP URIs, redirecting a leg to a dial-plan target, hold music
// played like a prompt, conference rooms made by a program, and the
// MESSAGE and NOTIFY a far end sends. Tones as elsewhere: alice toneA,
// bob toneB, carol toneC.

// Marker audio of these tests' PBX.
const (
	supportDefault = 1700.0 // music class "default", every user's class
	supportJazz    = 2300.0 // music class "jazz"
	supportWelcome = 500.0  // prompt "welcome"
	supportFailed  = 1900.0 // prompt "transfer-failed"
)

// supportPBX is a PBX whose prompts and music classes are tones, with 7100
// waiting for a program (the test kind of engine_inbound_test.go), 7000
// playing the jazz class, and a trunk "carrier" nobody answers on.
func supportPBX(t *testing.T) *testkit.PBX {
	t.Helper()
	dir := testkit.WritePrompts(t, 4*time.Second, map[string]float64{
		"welcome": supportWelcome, "transfer-failed": supportFailed,
		"music-default": supportDefault, "music-jazz": supportJazz,
	})
	return testkit.StartPBX(t, "", func(c *config.Config) {
		c.Sounds.Prompts = dir
		c.Sounds.Music = map[string]string{"default": dir + "/music-default.wav", "jazz": dir + "/music-jazz.wav"}
		c.Trunks = append(c.Trunks, config.Trunk{Name: "carrier", Host: "127.0.0.9:5060", Transport: "udp"})
		c.Dialplan = append([]config.DialplanRule{
			{Name: "program", Match: config.Match{Exact: "7100"}, Target: waitKind},
			{Name: "ivr", Match: config.Match{Exact: "7000"}, Target: "music:jazz"},
		}, c.Dialplan...)
	})
}

// nextEvent waits on sub for an event of kind that ok accepts (nil: any).
func nextEvent(t *testing.T, sub *dialog.Subscription, kind dialog.EventKind, ok func(dialog.Event) bool) dialog.Event {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev, open := <-sub.C:
			if !open {
				t.Fatalf("subscription closed while waiting for %s", kind)
			}
			if ev.Kind == kind && (ok == nil || ok(ev)) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s within 5s", kind)
		}
	}
}

func subscribe(t *testing.T, p *testkit.PBX) *dialog.Subscription {
	t.Helper()
	sub, err := p.Engine().Subscribe(dialog.EventFilter{Buffer: 4096})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	return sub
}

func ofLeg(id string) func(dialog.Event) bool {
	return func(ev dialog.Event) bool { return ev.LegID == id }
}

// Every event of a leg carries its owner as it is when published; Claim
// gives an unowned leg to the first program that asks and refuses others.
func TestEngineOwnerOnEventsAndClaim(t *testing.T) {
	p := supportPBX(t)
	bob := phone(t, p, "1002")
	e := p.Engine()
	sub := subscribe(t, p)
	answered := answerNext(t, bob, toneB)
	leg, err := e.Originate(context.Background(), dialog.OriginateRequest{To: "1002", Owner: "rwi:s1"})
	if err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, sub, dialog.EventLegCreated, ofLeg(leg.ID)); ev.Owner != "rwi:s1" || ev.Direction != "outbound" {
		t.Fatalf("leg.created %+v: want owner rwi:s1, outbound", ev)
	}
	if ev := nextEvent(t, sub, dialog.EventLegAnswered, ofLeg(leg.ID)); ev.Owner != "rwi:s1" {
		t.Fatalf("leg.answered owner %q", ev.Owner)
	}
	b := <-answered
	if b == nil {
		t.FailNow()
	}
	if err := e.Claim(leg.ID, "rwi:s2"); !errors.Is(err, dialog.ErrOwned) {
		t.Fatalf("claim of an owned leg: %v, want ErrOwned", err)
	}
	if err := e.Claim(leg.ID, "rwi:s1"); err != nil {
		t.Fatalf("claim by its owner: %v", err)
	}
	if err := e.SetOwner(leg.ID, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.Claim(leg.ID, "rwi:s2"); err != nil {
		t.Fatalf("claim of a released leg: %v", err)
	}
	if info, _ := e.Leg(leg.ID); info.Owner != "rwi:s2" {
		t.Fatalf("owner %q after the claim", info.Owner)
	}
	b.Hangup()
	if ev := nextEvent(t, sub, dialog.EventLegEnded, ofLeg(leg.ID)); ev.Owner != "rwi:s2" || ev.Direction != "outbound" {
		t.Fatalf("leg.ended %+v: want owner rwi:s2, outbound", ev)
	}
	if err := e.Claim(leg.ID, "rwi:s2"); !errors.Is(err, dialog.ErrNotFound) {
		t.Fatalf("claim of an ended leg: %v, want ErrNotFound", err)
	}
}

// An attended transfer returns while the target rings, with the
// consultation leg owned by the held leg's owner; it cannot be completed
// before the target answers. A target that refuses gives transfer.failed
// and the call back as it was.
func TestEngineAttendedTransferWhileRinging(t *testing.T) {
	p := supportPBX(t)
	alice, bob, carol := threePhones(t, p)
	e := p.Engine()
	ctx := context.Background()
	la, a, _, b := bridgedPair(t, p, "1001", alice, toneA, "1002", bob, toneB)
	if err := e.SetOwner(la, "rwi:s1"); err != nil {
		t.Fatal(err)
	}
	sub := subscribe(t, p)

	incoming := make(chan *testkit.Incoming, 1)
	go func() {
		in, err := carol.Incoming(5 * time.Second)
		if err != nil {
			t.Error(err)
		}
		incoming <- in
	}()
	x, err := e.AttendedTransfer(ctx, la, "sip:1003@local")
	if err != nil {
		t.Fatal(err)
	}
	in := <-incoming
	if in == nil {
		t.FailNow()
	}
	in.Ring()
	if info, ok := e.Leg(x.ID); !ok || info.State != dialog.StateRinging || info.Owner != "rwi:s1" {
		t.Fatalf("consultation leg while it rings: %+v %v", info, ok)
	}
	if ev := nextEvent(t, sub, dialog.EventLegCreated, ofLeg(x.ID)); ev.Owner != "rwi:s1" {
		t.Fatalf("consultation leg.created owner %q, want the held leg's", ev.Owner)
	}
	if err := a.WaitHearsAll(3*time.Second, []float64{supportDefault}, []float64{toneB}); err != nil {
		t.Fatalf("held party while the target rings: %v", err)
	}
	if err := e.CompleteTransfer(ctx, x.ID); !errors.Is(err, dialog.ErrInvalidState) {
		t.Fatalf("complete while ringing: %v, want ErrInvalidState", err)
	}
	c, err := in.Answer()
	if err != nil {
		t.Fatal(err)
	}
	c.SendTone(toneC)
	nextEvent(t, sub, dialog.EventLegAnswered, ofLeg(x.ID))
	if err := b.WaitHearsAll(3*time.Second, []float64{toneC}, []float64{toneA}); err != nil {
		t.Fatalf("transferor consulting: %v", err)
	}
	if err := x.Complete(); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("transferor not released: %v", err)
	}
	exactlyTalking(t, a, c)
	if err := a.WaitHearsAll(3*time.Second, nil, []float64{supportDefault}); err != nil {
		t.Fatalf("music after the transfer: %v", err)
	}
	c.Hangup()

	// A target that refuses: transfer.failed, and the call as it was.
	_, a2, lb2, b2 := bridgedPair(t, p, "1001", alice, toneA, "1002", bob, toneB)
	go func() {
		if in, err := carol.Incoming(5 * time.Second); err == nil {
			in.Ring()
			<-time.After(200 * time.Millisecond) // the held party hears music meanwhile
			in.Reject(486, "Busy Here")
		}
	}()
	x2, err := e.AttendedTransfer(ctx, lb2, "1003")
	if err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, sub, dialog.EventTransferFailed, nil); ev.Cause != dialog.CauseBusy.String() || ev.Detail != "1003" {
		t.Fatalf("transfer.failed %+v, want busy for 1003", ev)
	}
	<-x2.Done()
	talking(t, a2, b2)
	if err := e.CompleteTransfer(ctx, x2.ID); !errors.Is(err, dialog.ErrNotFound) {
		t.Fatalf("complete of a failed transfer: %v, want ErrNotFound", err)
	}
	if err := a2.WaitHears(3*time.Second, supportFailed); err != nil {
		t.Fatalf("transferor not told the transfer failed: %v", err)
	}
	a2.Hangup()
	b2.Hangup()
}

// A SIP URI whose host is this PBX (local, localhost, the node, the realm,
// its SIP address) is a local number, for originate and transfers alike.
func TestEngineLocalSIPURIs(t *testing.T) {
	p := supportPBX(t)
	alice, bob, carol := threePhones(t, p)
	e := p.Engine()
	sub := subscribe(t, p)
	for _, uri := range []string{
		"sip:1002@local", "sip:1002@LOCALHOST", "sip:1002@" + p.Config.Node, "sip:1002@" + p.Config.SIP.Realm,
		"sip:1002@" + p.Addr(), "sips:1002@127.0.0.1",
	} {
		answered := answerNext(t, bob, toneB)
		leg, err := e.Originate(context.Background(), dialog.OriginateRequest{To: uri})
		if err != nil {
			t.Fatalf("%s: %v", uri, err)
		}
		c := <-answered
		if c == nil {
			t.Fatalf("%s did not reach 1002", uri)
		}
		if info, _ := e.Leg(leg.ID); info.To != uri {
			t.Fatalf("%s: leg to %q", uri, info.To)
		}
		if err := c.Hangup(); err != nil {
			t.Logf("%s: hangup: %v", uri, err)
		}
		p.WaitLeg(sub, leg.ID, dialog.EventLegEnded, 3*time.Second)
	}
	for _, bad := range []string{"sip:@local", "sip:local", "sip:9999@local"} {
		if _, err := e.Originate(context.Background(), dialog.OriginateRequest{To: bad}); !errors.Is(err, dialog.ErrBadTarget) {
			t.Fatalf("%s: %v, want ErrBadTarget", bad, err)
		}
	}
	// A blind transfer to a local URI.
	la, a, _, b := bridgedPair(t, p, "1001", alice, toneA, "1002", bob, toneB)
	carolCall := answerNext(t, carol, toneC)
	if err := e.Transfer(context.Background(), la, "sip:1003@local"); err != nil {
		t.Fatal(err)
	}
	c := <-carolCall
	if err := b.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("transferor: %v", err)
	}
	exactlyTalking(t, a, c)
	a.Hangup()
	c.Hangup()
}

// Redirect sends a ringing inbound leg, or an answered outbound one, to a
// dial-plan target as if its caller had dialled it.
func TestEngineRedirect(t *testing.T) {
	p := supportPBX(t)
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	e := p.Engine()
	ctx := context.Background()
	sub := subscribe(t, p)

	// A caller waiting for a program is sent to extension 1002.
	calls := make(chan *testkit.PhoneCall, 1)
	go func() {
		c, err := alice.Call(ctxTimeout(t, 10*time.Second), "7100", testkit.CallOptions{})
		if err != nil {
			t.Error(err)
		}
		calls <- c
	}()
	inbound := inboundLeg(t, sub)
	bobCall := answerNext(t, bob, toneB)
	if err := e.Redirect(ctx, inbound.LegID, "extension:1002"); err != nil {
		t.Fatal(err)
	}
	a, b := <-calls, <-bobCall
	if a == nil || b == nil {
		t.FailNow()
	}
	a.SendTone(toneA)
	talking(t, a, b)
	hangUp(t, a, b)

	// An answered, parked outbound leg is sent to the IVR (music:jazz),
	// then from a bridge to extension 1002, whose caller id is the leg's
	// party.
	la, a := p.Originate("1001", alice, toneA, "")
	if err := e.Redirect(ctx, la, "music:jazz"); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitHears(3*time.Second, supportJazz); err != nil {
		t.Fatalf("redirected to music: %v", err)
	}
	bobCall = answerNext(t, bob, toneB)
	if err := e.Redirect(ctx, la, "extension:1002"); err != nil {
		t.Fatal(err)
	}
	b = <-bobCall
	if b == nil {
		t.FailNow()
	}
	talking(t, a, b)
	if err := a.WaitHearsAll(3*time.Second, nil, []float64{supportJazz}); err != nil {
		t.Fatalf("music after the redirect: %v", err)
	}
	// The redirected leg joined a dial-plan call: hanging up one ends both.
	hangUp(t, b, a)

	// What cannot be reached.
	lx, x := p.Originate("sip:1002@"+bob.Addr().String(), bob, toneB, "")
	for target, want := range map[string]error{
		"nonsense:1": dialog.ErrBadTarget, "play:no-such-prompt": dialog.ErrBadTarget,
		"trunk:carrier": dialog.ErrBadTarget, // a leg with no user may not reach a trunk
	} {
		if err := e.Redirect(ctx, lx, target); !errors.Is(err, want) {
			t.Fatalf("redirect to %s: %v, want %v", target, err, want)
		}
	}
	x.Hangup()
	if err := e.Redirect(ctx, "no-such-leg", "park"); !errors.Is(err, dialog.ErrNotFound) {
		t.Fatalf("redirect of no leg: %v", err)
	}
}

// A blind transfer to a number whose target takes the call itself (7000
// plays the jazz class) redirects the transferee there; an attended one
// has nothing to consult: it holds the transferee until complete or, as
// here, cancel.
func TestEngineTransferToApplication(t *testing.T) {
	p := supportPBX(t)
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	e := p.Engine()
	ctx := context.Background()
	sub := subscribe(t, p)
	la, a, _, b := bridgedPair(t, p, "1001", alice, toneA, "1002", bob, toneB)
	x, err := e.AttendedTransfer(ctx, la, "sip:7000@local")
	if err != nil {
		t.Fatalf("consulting an application: %v", err)
	}
	if err := e.CancelTransfer(ctx, x.ID); err != nil {
		t.Fatal(err)
	}
	talking(t, a, b)
	if err := e.Transfer(ctx, la, "sip:7000@local"); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("transferor not released: %v", err)
	}
	if err := a.WaitHearsAll(3*time.Second, []float64{supportJazz}, []float64{toneB}); err != nil {
		t.Fatalf("transferee in the application: %v", err)
	}
	if ev := nextEvent(t, sub, dialog.EventTransferDone, nil); ev.OtherLegID != la || ev.Detail != "sip:7000@local" {
		t.Fatalf("transfer.completed %+v", ev)
	}
	a.Hangup()
}

// A hold-music class played like a prompt: in a bridge only its leg hears
// it, over its partner; StopPlays stops everything the leg hears.
func TestEnginePlayMusicAndStopPlays(t *testing.T) {
	p := supportPBX(t)
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	e := p.Engine()
	ctx := context.Background()
	la, a, _, b := bridgedPair(t, p, "1001", alice, toneA, "1002", bob, toneB)
	if _, err := e.PlayMusic(ctx, la, "no-such-class", dialog.PlayOptions{}); !errors.Is(err, dialog.ErrBadTarget) {
		t.Fatalf("unknown class: %v, want ErrBadTarget", err)
	}
	if _, err := e.PlayMusic(ctx, la, "jazz", dialog.PlayOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.PlayPrompts(ctx, la, []string{"welcome"}, dialog.PlayOptions{Loop: true}); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitHearsAll(3*time.Second, []float64{supportJazz, supportWelcome, toneB}, nil); err != nil {
		t.Fatalf("music and prompt over the call: %v", err)
	}
	if err := b.WaitHearsAll(3*time.Second, []float64{toneA}, []float64{supportJazz, supportWelcome}); err != nil {
		t.Fatalf("the partner hears the music: %v", err)
	}
	if n, err := e.StopPlays(ctx, la); err != nil || n != 2 {
		t.Fatalf("StopPlays: %d %v, want 2", n, err)
	}
	if err := a.WaitHearsAll(3*time.Second, []float64{toneB}, []float64{supportJazz, supportWelcome}); err != nil {
		t.Fatalf("after StopPlays: %v", err)
	}
	if n, err := e.StopPlays(ctx, la); err != nil || n != 0 {
		t.Fatalf("StopPlays with nothing playing: %d %v", n, err)
	}
	// Parked, the leg hears the music alone.
	if err := e.Unbridge(ctx, la); err != nil {
		t.Fatal(err)
	}
	pb, err := e.PlayMusic(ctx, la, "jazz", dialog.PlayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.WaitHearsAll(3*time.Second, []float64{supportJazz}, []float64{toneB}); err != nil {
		t.Fatalf("parked: %v", err)
	}
	if err := e.StopPlay(ctx, pb.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitHearsAll(3*time.Second, nil, []float64{supportJazz}); err != nil {
		t.Fatalf("parked after stop: %v", err)
	}
	a.Hangup()
	b.Hangup()
}

// A room made by a program: members join and leave by command, are muted
// and unmuted, a caller dialling its number joins it too, it stays while
// empty, and destroying it hangs up whoever is in it. Rooms made by
// callers report the same events.
func TestEngineRoomsByAPI(t *testing.T) {
	p := supportPBX(t)
	alice, bob, carol := threePhones(t, p)
	e := p.Engine()
	ctx := context.Background()
	sub := subscribe(t, p)
	inRoom := func(name string) func(dialog.Event) bool {
		return func(ev dialog.Event) bool { return ev.Detail == name }
	}

	if err := e.JoinRoom(ctx, "8050", "no-such-leg"); !errors.Is(err, dialog.ErrNotFound) {
		t.Fatalf("join of no leg: %v", err)
	}
	if err := e.CreateRoom(ctx, "8050"); err != nil {
		t.Fatal(err)
	}
	created := nextEvent(t, sub, dialog.EventRoomCreated, inRoom("8050"))
	if created.BridgeID == "" {
		t.Fatalf("room.created %+v: no bridge", created)
	}
	if err := e.CreateRoom(ctx, "8050"); !errors.Is(err, dialog.ErrInvalidState) {
		t.Fatalf("second create: %v, want ErrInvalidState", err)
	}
	if err := e.CreateRoom(ctx, "a room"); !errors.Is(err, dialog.ErrBadTarget) {
		t.Fatalf("bad name: %v, want ErrBadTarget", err)
	}
	la, a := p.Originate("1001", alice, toneA, "")
	lb, b := p.Originate("1002", bob, toneB, "")
	if err := e.JoinRoom(ctx, "8051", la); !errors.Is(err, dialog.ErrNotFound) {
		t.Fatalf("join of no room: %v, want ErrNotFound", err)
	}
	for _, l := range []string{la, lb} {
		if err := e.JoinRoom(ctx, "8050", l); err != nil {
			t.Fatal(err)
		}
		if ev := nextEvent(t, sub, dialog.EventRoomJoined, ofLeg(l)); ev.Detail != "8050" || ev.BridgeID != created.BridgeID {
			t.Fatalf("room.joined %+v", ev)
		}
	}
	talking(t, a, b)

	// Carol dials the room's number and joins the same room.
	c, err := carol.Call(ctxTimeout(t, 5*time.Second), "8050", testkit.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.SendTone(toneC)
	lc := nextEvent(t, sub, dialog.EventRoomJoined, inRoom("8050")).LegID
	if err := a.WaitHearsAll(5*time.Second, []float64{toneB, toneC}, []float64{toneA}); err != nil {
		t.Fatalf("three in the room: %v", err)
	}
	if got := e.Rooms()["8050"]; got != 3 {
		t.Fatalf("Rooms()[8050] = %d, want 3", got)
	}

	if err := e.MuteInRoom(ctx, "8050", la, true); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, sub, dialog.EventRoomMuted, ofLeg(la))
	if err := b.WaitHearsAll(3*time.Second, []float64{toneC}, []float64{toneA}); err != nil {
		t.Fatalf("alice muted: %v", err)
	}
	if err := e.MuteInRoom(ctx, "8050", la, false); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, sub, dialog.EventRoomUnmuted, ofLeg(la))
	if err := b.WaitHearsAll(3*time.Second, []float64{toneA, toneC}, nil); err != nil {
		t.Fatalf("alice unmuted: %v", err)
	}

	if err := e.LeaveRoom(ctx, "8050", la); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, sub, dialog.EventRoomLeft, ofLeg(la))
	if err := a.WaitHearsAll(3*time.Second, nil, []float64{toneB, toneC}); err != nil {
		t.Fatalf("alice parked after leaving: %v", err)
	}
	if info, ok := e.Leg(la); !ok || info.BridgeID != "" {
		t.Fatalf("alice after leaving: %+v %v", info, ok)
	}
	if err := e.LeaveRoom(ctx, "8050", la); !errors.Is(err, dialog.ErrInvalidState) {
		t.Fatalf("leave when not in it: %v, want ErrInvalidState", err)
	}
	if err := e.MuteInRoom(ctx, "8050", la, true); !errors.Is(err, dialog.ErrInvalidState) {
		t.Fatalf("mute when not in it: %v, want ErrInvalidState", err)
	}

	// Emptied, a program's room stays.
	c.Hangup()
	nextEvent(t, sub, dialog.EventRoomLeft, ofLeg(lc))
	if err := e.LeaveRoom(ctx, "8050", lb); err != nil {
		t.Fatal(err)
	}
	if n, ok := e.Rooms()["8050"]; !ok || n != 0 {
		t.Fatalf("empty room: %d %v, want it kept with 0", n, ok)
	}
	for _, l := range []string{la, lb} {
		if err := e.JoinRoom(ctx, "8050", l); err != nil {
			t.Fatal(err)
		}
	}
	talking(t, a, b)
	if err := e.DestroyRoom(ctx, "8050"); err != nil {
		t.Fatal(err)
	}
	for _, x := range []*testkit.PhoneCall{a, b} {
		if err := x.WaitEnded(3 * time.Second); err != nil {
			t.Fatalf("member of a destroyed room: %v", err)
		}
	}
	if ev := nextEvent(t, sub, dialog.EventRoomEnded, inRoom("8050")); ev.BridgeID != created.BridgeID {
		t.Fatalf("room.ended %+v", ev)
	}
	if _, ok := e.Rooms()["8050"]; ok {
		t.Fatal("a destroyed room is listed")
	}
	if err := e.DestroyRoom(ctx, "8050"); !errors.Is(err, dialog.ErrNotFound) {
		t.Fatalf("destroy twice: %v, want ErrNotFound", err)
	}

	// A caller's room: made by the first caller, gone with the last.
	c, err = carol.Call(ctxTimeout(t, 5*time.Second), "8060", testkit.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nextEvent(t, sub, dialog.EventRoomCreated, inRoom("8060"))
	lc = nextEvent(t, sub, dialog.EventRoomJoined, inRoom("8060")).LegID
	c.SendTone(toneC)
	c.SendDigits("*") // the mute key
	nextEvent(t, sub, dialog.EventRoomMuted, ofLeg(lc))
	c.Hangup()
	nextEvent(t, sub, dialog.EventRoomLeft, ofLeg(lc))
	nextEvent(t, sub, dialog.EventRoomEnded, inRoom("8060"))
}

// MESSAGE and NOTIFY from a far end in a call become leg.message and
// leg.notify (cutBody keeps them under MaxEventBody; its own tests show it).
func TestEngineInDialogMessageAndNotify(t *testing.T) {
	p := supportPBX(t)
	bob := phone(t, p, "1002")
	sub := subscribe(t, p)
	lb, b := p.Originate("1002", bob, toneB, "")
	ctx := ctxTimeout(t, 5*time.Second)

	if res, err := b.Request(ctx, sipmsg.MESSAGE, "text/plain", []byte("hello PBX")); err != nil || res.StatusCode != 200 {
		t.Fatalf("MESSAGE: %v %v", res, err)
	}
	if ev := nextEvent(t, sub, dialog.EventLegMessage, ofLeg(lb)); ev.ContentType != "text/plain" || ev.Body != "hello PBX" || ev.Direction != "outbound" {
		t.Fatalf("leg.message %+v", ev)
	}
	body := strings.Repeat("é", 400)
	if res, err := b.RequestWith(ctx, sipmsg.NOTIFY, map[string]string{"Event": "talk", "Subscription-State": "active"}, "application/x-test", []byte(body)); err != nil || res.StatusCode != 200 {
		t.Fatalf("NOTIFY: %v %v", res, err)
	}
	if ev := nextEvent(t, sub, dialog.EventLegNotify, ofLeg(lb)); ev.Detail != "talk" || ev.ContentType != "application/x-test" || ev.Body != body {
		t.Fatalf("leg.notify %+v", ev)
	}
	b.Hangup()
}
