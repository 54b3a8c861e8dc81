package dialog

import (
	"context"
	"fmt"
)

// SuperviseMode is what a supervisor does in a bridge. Each is a matrix
// on the bridge: who hears whom.
type SuperviseMode int

// Supervisor modes.
const (
	// SuperviseListen: the supervisor hears the agent and the customer;
	// nobody hears the supervisor.
	SuperviseListen SuperviseMode = iota + 1
	// SuperviseWhisper: the supervisor hears both; the agent hears the
	// supervisor, the customer does not.
	SuperviseWhisper
	// SuperviseBarge: everyone hears everyone.
	SuperviseBarge
)

var superviseNames = map[SuperviseMode]string{SuperviseListen: "listen", SuperviseWhisper: "whisper", SuperviseBarge: "barge"}

func (m SuperviseMode) String() string { return superviseNames[m] }

// supervision is a supervisor's mode and the leg it supervises (the agent).
type supervision struct {
	mode   SuperviseMode
	target *Leg
}

// Supervise puts the supervisor's leg into the bridge of the agent's leg
// in a mode, or changes its mode there. The supervisor's leg leaves any
// bridge it was in.
func (e *Engine) Supervise(ctx context.Context, supervisorID, agentID string, mode SuperviseMode) error {
	if _, ok := superviseNames[mode]; !ok {
		return fmt.Errorf("supervise %s: %w: unknown mode %d", agentID, ErrInvalidState, mode)
	}
	s, err := e.liveLeg("supervise", supervisorID)
	if err != nil {
		return err
	}
	a, err := e.liveLeg("supervise", agentID)
	if err != nil {
		return err
	}
	b := a.currentBridge()
	if b == nil || s == a {
		return fmt.Errorf("supervise %s: %w: the agent is in no bridge", agentID, ErrInvalidState)
	}
	if s.currentBridge() != b {
		if old := s.currentBridge(); old != nil {
			old.leave(s, false)
		}
		s.stopSolo()
		b.mu.Lock()
		if b.ended {
			b.mu.Unlock()
			return fmt.Errorf("supervise %s: %w", agentID, ErrNotFound)
		}
		b.setSupervisor(s, supervision{mode: mode, target: a})
		s.mu.Lock()
		s.bridge = b
		s.mu.Unlock()
		b.legs = append(b.legs, s)
		b.reconcile()
		b.mu.Unlock()
	} else {
		b.mu.Lock()
		b.setSupervisor(s, supervision{mode: mode, target: a})
		b.reconcile()
		b.mu.Unlock()
	}
	s.publish(Event{Kind: EventSuperviseStarted, BridgeID: b.id, OtherLegID: a.id, Detail: mode.String()})
	return nil
}

func (b *Bridge) setSupervisor(s *Leg, sv supervision) {
	if b.supervise == nil {
		b.supervise = map[*Leg]supervision{}
	}
	b.supervise[s] = sv
}

// Listen lets a supervisor hear an agent's call, unheard.
func (e *Engine) Listen(ctx context.Context, supervisorID, agentID string) error {
	return e.Supervise(ctx, supervisorID, agentID, SuperviseListen)
}

// Whisper lets a supervisor coach an agent: the customer does not hear it.
func (e *Engine) Whisper(ctx context.Context, supervisorID, agentID string) error {
	return e.Supervise(ctx, supervisorID, agentID, SuperviseWhisper)
}

// Barge makes the supervisor a full party of the agent's call.
func (e *Engine) Barge(ctx context.Context, supervisorID, agentID string) error {
	return e.Supervise(ctx, supervisorID, agentID, SuperviseBarge)
}

// Takeover puts the supervisor in the agent's place: a full party, and
// the agent leaves the bridge, parked.
func (e *Engine) Takeover(ctx context.Context, supervisorID, agentID string) error {
	if err := e.Supervise(ctx, supervisorID, agentID, SuperviseBarge); err != nil {
		return err
	}
	s, _ := e.liveLeg("takeover", supervisorID)
	a, err := e.liveLeg("takeover", agentID)
	if err != nil {
		return err
	}
	b := a.currentBridge()
	if b == nil {
		return fmt.Errorf("takeover %s: %w", agentID, ErrInvalidState)
	}
	b.mu.Lock()
	delete(b.supervise, s) // a party now
	b.mu.Unlock()
	b.leave(a, false)
	s.publish(Event{Kind: EventSuperviseStarted, BridgeID: b.id, OtherLegID: a.id, Detail: "takeover"})
	return nil
}

// StopSupervise takes a supervisor out of the bridge it supervises; it
// stays up, parked.
func (e *Engine) StopSupervise(ctx context.Context, supervisorID string) error {
	s, err := e.liveLeg("stop supervising", supervisorID)
	if err != nil {
		return err
	}
	b := s.currentBridge()
	if b == nil {
		return fmt.Errorf("stop supervising %s: %w: not supervising", supervisorID, ErrInvalidState)
	}
	b.mu.Lock()
	sv, ok := b.supervise[s]
	b.mu.Unlock()
	if !ok {
		return fmt.Errorf("stop supervising %s: %w: not supervising", supervisorID, ErrInvalidState)
	}
	b.leave(s, false)
	ev := Event{Kind: EventSuperviseStopped, BridgeID: b.id, Detail: sv.mode.String()}
	if sv.target != nil {
		ev.OtherLegID = sv.target.id
	}
	s.publish(ev)
	return nil
}
