package queue

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"pbx/config"
	"pbx/dialog"
	"pbx/sounds"
)

// The contact center's dial-plan targets:
//
//	queue:NAME[,PRIORITY]  wait in a queue
//	agent-login[:ID]       a static agent logs in by PIN and stays on the line;
//	                       from a dynamic member's own phone, no ID: that member logs in
//	agent-logout           the agent of the calling phone logs out
//	agent-pause[:BREAK]    ... pauses (the number keyed is a break code)
//	agent-unpause          ... is available again
//	supervise:MODE         listen, whisper, barge or takeover on the agent
//	                       whose id is the number keyed
//
// Their arguments are checked against the configuration when it loads,
// so check-config names a queue, an agent or a break that does not exist.

func init() {
	dialog.RegisterTarget(dialog.TargetKind{Name: "queue", Parse: parseQueueTarget, Handle: handleQueue})
	dialog.RegisterTarget(dialog.TargetKind{Name: "agent-login", Parse: parseLoginTarget, Handle: handleLogin})
	dialog.RegisterTarget(dialog.TargetKind{Name: "agent-logout", Handle: handleLogout})
	dialog.RegisterTarget(dialog.TargetKind{Name: "agent-pause", Parse: parsePauseTarget, Handle: handlePause})
	dialog.RegisterTarget(dialog.TargetKind{Name: "agent-unpause", Handle: handleUnpause})
	dialog.RegisterTarget(dialog.TargetKind{Name: "supervise", Parse: parseSuperviseTarget, Handle: handleSupervise})
}

// QueueTarget is a parsed queue:NAME[,PRIORITY].
type QueueTarget struct {
	Name     string
	Priority int
}

// LoginTarget is a parsed agent-login[:ID]; ID "" takes the number
// keyed, or asks.
type LoginTarget struct{ ID string }

// PauseTarget is a parsed agent-pause[:BREAK]; Break "" takes the break
// whose code is the number keyed.
type PauseTarget struct{ Break string }

// SuperviseTarget is a parsed supervise:MODE.
type SuperviseTarget struct {
	Mode     dialog.SuperviseMode
	Takeover bool
}

func parseQueueTarget(args []string, env dialog.TargetEnv) (any, error) {
	if len(args) < 1 || len(args) > 2 {
		return nil, errors.New("want queue:NAME or queue:NAME,PRIORITY")
	}
	t := QueueTarget{Name: args[0]}
	if len(args) == 2 {
		p, err := strconv.Atoi(args[1])
		if err != nil {
			return nil, fmt.Errorf("priority %q is not a whole number", args[1])
		}
		t.Priority = p
	}
	if env.Config != nil && !slices.ContainsFunc(env.Config.Queues, func(q config.Queue) bool { return q.Name == t.Name }) {
		return nil, fmt.Errorf("no queue %q in queues", t.Name)
	}
	return t, nil
}

func parseLoginTarget(args []string, env dialog.TargetEnv) (any, error) {
	switch len(args) {
	case 0:
		return LoginTarget{}, nil
	case 1:
		if err := agentExists(args[0], env); err != nil {
			return nil, err
		}
		return LoginTarget{ID: args[0]}, nil
	}
	return nil, errors.New("want agent-login or agent-login:ID")
}

// agentExists refuses an agent id the configuration, when there is one,
// does not have.
func agentExists(id string, env dialog.TargetEnv) error {
	if env.Config != nil && !slices.ContainsFunc(env.Config.Agents, func(a config.Agent) bool { return a.ID == id }) {
		return fmt.Errorf("no agent %q in agents", id)
	}
	return nil
}

func parsePauseTarget(args []string, env dialog.TargetEnv) (any, error) {
	switch len(args) {
	case 0:
		return PauseTarget{}, nil
	case 1:
		if env.Config != nil && !slices.ContainsFunc(env.Config.ContactCenter.Breaks, func(b config.Break) bool { return b.Name == args[0] }) {
			return nil, fmt.Errorf("no break %q in contact_center.breaks", args[0])
		}
		return PauseTarget{Break: args[0]}, nil
	}
	return nil, errors.New("want agent-pause or agent-pause:BREAK")
}

func parseSuperviseTarget(args []string, _ dialog.TargetEnv) (any, error) {
	if len(args) == 1 {
		switch args[0] {
		case "listen":
			return SuperviseTarget{Mode: dialog.SuperviseListen}, nil
		case "whisper":
			return SuperviseTarget{Mode: dialog.SuperviseWhisper}, nil
		case "barge":
			return SuperviseTarget{Mode: dialog.SuperviseBarge}, nil
		case "takeover":
			return SuperviseTarget{Mode: dialog.SuperviseBarge, Takeover: true}, nil
		}
	}
	return nil, errors.New("want supervise:MODE with MODE listen, whisper, barge or takeover")
}

// answerFor answers a leg for the Center serving e, refusing it when there
// is none; nil when refused or when the leg went before the answer.
func answerFor(ctx context.Context, e *dialog.Engine, l *dialog.Leg) *Center {
	c := Of(e)
	if c == nil {
		e.Refuse(ctx, l.ID())
		return nil
	}
	if err := e.Answer(ctx, l.ID()); err != nil {
		return nil
	}
	return c
}

// handleQueue puts a caller in a queue; one the queue refuses (full, or
// empty of agents) goes to the queue's fallback.
func handleQueue(ctx context.Context, e *dialog.Engine, l *dialog.Leg, r dialog.Route) {
	t, _ := r.Parsed.(QueueTarget)
	c := Of(e)
	if c == nil {
		e.Refuse(ctx, l.ID())
		return
	}
	_, err := c.Enqueue(ctx, l.ID(), t.Name, EnqueueOptions{Priority: t.Priority})
	if err == nil {
		return
	}
	info := l.Info()
	cause := ""
	switch {
	case errors.Is(err, ErrFull):
		cause = LeftFull
	case errors.Is(err, ErrEmpty):
		cause = LeftEmpty
	default:
		c.log.Info("queue refused a caller", "leg", l.ID(), "queue", t.Name, "error", err)
		e.Refuse(ctx, l.ID())
		return
	}
	c.log.Info("queue refused a caller", "leg", l.ID(), "queue", t.Name, "cause", cause)
	c.pubMu.Lock()
	e.Publish(dialog.Event{Kind: EventLeft, LegID: l.ID(), CallID: info.CallID, Queue: t.Name, Cause: cause})
	c.pubMu.Unlock()
	c.toFallback(l.ID(), c.fallbackOf(t.Name))(ctx)
}

// say plays prompts to a leg and waits for their end; false when the leg
// went.
func say(ctx context.Context, e *dialog.Engine, leg string, names ...string) bool {
	pb, err := e.PlayPrompts(ctx, leg, names, dialog.PlayOptions{})
	if err != nil {
		_, up := e.Leg(leg)
		return up
	}
	select {
	case <-pb.Done():
		return pb.Reason() != "hangup"
	case <-ctx.Done():
		return false
	}
}

// sayAndHangup plays prompts, then hangs up.
func sayAndHangup(ctx context.Context, e *dialog.Engine, leg string, names ...string) {
	if say(ctx, e, leg, names...) {
		e.Hangup(ctx, leg, dialog.CauseNormal)
	}
}

// ask plays a prompt and reads digits up to '#', the prompt stopped by
// the first key; ok is false when the leg went.
func ask(ctx context.Context, e *dialog.Engine, leg, prompt string, maxDigits int) (string, bool) {
	type result struct {
		got dialog.Collected
		err error
	}
	done := make(chan result, 1)
	go func() {
		got, err := e.CollectDTMF(ctx, leg, dialog.CollectOptions{
			Min: 1, Max: maxDigits, Timeout: 15 * time.Second, InterDigit: 5 * time.Second, Terminator: "#",
		})
		done <- result{got, err}
	}()
	pb, perr := e.PlayPrompts(ctx, leg, []string{prompt}, dialog.PlayOptions{Interrupt: true})
	r := <-done
	if perr == nil {
		pb.Stop()
	}
	if r.err != nil {
		return "", false
	}
	return r.got.Digits, true
}

// loginTries is how many wrong ids or PINs a login takes before it hangs up.
const loginTries = 3

// handleLogin logs an agent in: a static agent by id and PIN, staying on
// the line; a dynamic member from its own phone with nothing to key.
func handleLogin(ctx context.Context, e *dialog.Engine, l *dialog.Leg, r dialog.Route) {
	c := answerFor(ctx, e, l)
	if c == nil {
		return
	}
	leg := l.ID()
	from := l.Info().From
	id := r.Number
	if t, _ := r.Parsed.(LoginTarget); t.ID != "" {
		id = t.ID
	}
	if id == "" {
		if a := c.dynamicOf(from); a != "" {
			if err := c.Login(ctx, a, LoginOptions{}); err != nil {
				sayAndHangup(ctx, e, leg, sounds.Invalid)
				return
			}
			sayAndHangup(ctx, e, leg, sounds.LoggedIn)
			return
		}
	}
	asked := id == ""
	for try := 0; try < loginTries; try++ {
		if id == "" {
			var ok bool
			if id, ok = ask(ctx, e, leg, sounds.AgentLogin, 16); !ok {
				return
			}
		}
		switch c.loginWayOf(id, from) {
		case loginOwnPhone:
			if err := c.Login(ctx, id, LoginOptions{}); err == nil {
				sayAndHangup(ctx, e, leg, sounds.LoggedIn)
				return
			}
		case loginByPIN:
			pin, ok := ask(ctx, e, leg, sounds.EnterPassword, 12)
			if !ok {
				return
			}
			if c.checkPIN(id, pin) {
				c.lineLogin(ctx, id, leg, from)
				return
			}
			c.log.Info("agent login: wrong PIN", "agent", id, "from", from)
		default:
			c.log.Info("agent login: no such agent", "agent", id, "from", from)
		}
		if !say(ctx, e, leg, sounds.Invalid) {
			return
		}
		if asked {
			id = ""
		}
	}
	sayAndHangup(ctx, e, leg, sounds.Goodbye)
}

// dynamicOf is the dynamic member whose contact an extension is, "" if none.
func (c *Center) dynamicOf(ext string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range c.anames {
		if a := c.agents[id]; !a.static && a.contact != "" && a.contact == ext {
			return id
		}
	}
	return ""
}

// loginWay is how an agent id keyed from an extension logs in.
type loginWay int

const (
	loginRefused  loginWay = iota // no such agent, or not from this phone
	loginByPIN                    // a static agent: a PIN follows
	loginOwnPhone                 // a dynamic member keying from its own phone
)

// loginWayOf says how agent id, keyed from extension from, logs in.
func (c *Center) loginWayOf(id, from string) loginWay {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.agents[id]
	switch {
	case a == nil:
		return loginRefused
	case a.static:
		return loginByPIN
	case a.contact != "" && a.contact == from:
		return loginOwnPhone
	}
	return loginRefused
}

func (c *Center) checkPIN(id, pin string) bool {
	c.mu.Lock()
	a := c.agents[id]
	c.mu.Unlock()
	return a != nil && a.static && subtle.ConstantTimeCompare([]byte(a.cfg.PIN), []byte(pin)) == 1
}

// lineLogin logs a static agent in on the leg they called from: they hear
// that they are logged in, then hold music until a call is put through.
func (c *Center) lineLogin(ctx context.Context, id, leg, from string) {
	if !say(ctx, c.e, leg, sounds.LoggedIn) {
		return
	}
	c.mu.Lock()
	a := c.agents[id]
	class := a.musicClass()
	c.mu.Unlock()
	c.e.Park(ctx, leg, class)
	var err error
	c.do(func(t *txn) {
		if c.closed {
			err = ErrClosed
			return
		}
		if a.line != "" && a.line != leg {
			if len(a.calls) > 0 {
				err = ErrAgentBusy // the old line carries a call
				return
			}
			t.dropLine(a, true)
		}
		c.legs[leg] = legRef{kind: legLine, a: a}
		t.login(a, from, leg)
	})
	if err != nil {
		sayAndHangup(ctx, c.e, leg, sounds.Invalid)
		return
	}
	c.reconcileLeg(leg)
}

// agentOfCaller finds the agent the calling extension acts for.
func (c *Center) agentOfCaller(ext string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a := c.agentFrom(ext); a != nil {
		return a.id
	}
	return ""
}

// handleLogout logs out the agent of the calling phone.
func handleLogout(ctx context.Context, e *dialog.Engine, l *dialog.Leg, r dialog.Route) {
	featureCode(ctx, e, l, func(c *Center, id string) (string, error) {
		return sounds.LoggedOut, c.Logout(ctx, id, "feature code")
	})
}

// handlePause pauses the agent of the calling phone, with the break whose
// code was keyed (or the target's break, or none).
func handlePause(ctx context.Context, e *dialog.Engine, l *dialog.Leg, r dialog.Route) {
	t, _ := r.Parsed.(PauseTarget)
	featureCode(ctx, e, l, func(c *Center, id string) (string, error) {
		brk := t.Break
		if brk == "" && r.Number != "" {
			var ok bool
			if brk, ok = c.breakByCode(r.Number); !ok {
				return "", ErrUnknownBreak
			}
		}
		return sounds.Paused, c.Pause(id, brk, "feature code")
	})
}

// handleUnpause makes the agent of the calling phone available.
func handleUnpause(ctx context.Context, e *dialog.Engine, l *dialog.Leg, r dialog.Route) {
	featureCode(ctx, e, l, func(c *Center, id string) (string, error) {
		return sounds.Unpaused, c.Unpause(id)
	})
}

// featureCode answers, acts for the agent of the calling phone, confirms
// with a prompt (or says why not) and hangs up.
func featureCode(ctx context.Context, e *dialog.Engine, l *dialog.Leg, fn func(c *Center, agentID string) (string, error)) {
	c := answerFor(ctx, e, l)
	if c == nil {
		return
	}
	leg := l.ID()
	id := c.agentOfCaller(l.Info().From)
	if id == "" {
		sayAndHangup(ctx, e, leg, sounds.AgentNotLoggedIn)
		return
	}
	prompt, err := fn(c, id)
	switch {
	case errors.Is(err, ErrLoggedOut):
		prompt = sounds.AgentNotLoggedIn
	case err != nil:
		prompt = sounds.Invalid
	}
	sayAndHangup(ctx, e, leg, prompt)
}

// handleSupervise attaches the calling supervisor to the agent keyed.
func handleSupervise(ctx context.Context, e *dialog.Engine, l *dialog.Leg, r dialog.Route) {
	t, _ := r.Parsed.(SuperviseTarget)
	c := Of(e)
	if c == nil {
		e.Refuse(ctx, l.ID())
		return
	}
	info := l.Info()
	if !c.maySupervise(info.From) {
		c.log.Info("supervise refused: not a supervisor", "leg", info.ID, "from", info.From)
		e.Reject(ctx, info.ID, 403)
		return
	}
	if err := e.Answer(ctx, info.ID); err != nil {
		return
	}
	var err error
	if t.Takeover {
		err = c.Takeover(ctx, info.ID, r.Number)
	} else {
		err = c.Supervise(ctx, info.ID, r.Number, t.Mode)
	}
	if err != nil {
		c.log.Info("supervise", "leg", info.ID, "agent", r.Number, "error", err)
		sayAndHangup(ctx, e, info.ID, sounds.Invalid)
	}
}
