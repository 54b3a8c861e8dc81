package rwi

import "regexp"

func init() {
	register("conference.create", scopeCall, conferenceCreate)
	register("conference.add", scopeCall, func(x *cmd) (any, *Error) {
		return x.onMember(false, func(room, leg string) error { return x.srv.e.JoinRoom(x.ctx, room, leg) })
	})
	register("conference.remove", scopeCall, func(x *cmd) (any, *Error) {
		return x.onMember(true, func(room, leg string) error { return x.srv.e.LeaveRoom(x.ctx, room, leg) })
	})
	register("conference.mute", scopeCall, func(x *cmd) (any, *Error) {
		return x.onMember(true, func(room, leg string) error { return x.srv.e.MuteInRoom(x.ctx, room, leg, true) })
	})
	register("conference.unmute", scopeCall, func(x *cmd) (any, *Error) {
		return x.onMember(true, func(room, leg string) error { return x.srv.e.MuteInRoom(x.ctx, room, leg, false) })
	})
	register("conference.destroy", scopeCall, conferenceDestroy)
}

// confIDRe is a room name: the same rooms the dial plan's conference
// target joins, so conf_id "8001" is the room callers of 8001 reach.
var confIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

type confParams struct {
	ConfID       string `json:"conf_id"`
	ConferenceID string `json:"conference_id"`
	CallID       string `json:"call_id"`
	MaxMembers   int    `json:"max_members"`
}

func (x *cmd) confParams() (confParams, *Error) {
	p, err := decode[confParams](x)
	if err != nil {
		return p, err
	}
	if p.ConfID == "" {
		p.ConfID = p.ConferenceID
	}
	if !confIDRe.MatchString(p.ConfID) {
		return p, fail(CodeInvalidParams, "conf_id %q: want 1 to 64 letters, digits, '_', '.' and '-'", p.ConfID)
	}
	return p, nil
}

func conferenceCreate(x *cmd) (any, *Error) {
	p, err := x.confParams()
	if err != nil {
		return nil, err
	}
	if err := engineError(x.srv.e.CreateRoom(x.ctx, p.ConfID)); err != nil {
		return nil, err
	}
	x.srv.mu.Lock()
	x.srv.rooms[p.ConfID] = x.ss.id
	x.srv.mu.Unlock()
	return map[string]string{"conf_id": p.ConfID}, nil
}

// mayManage says whether the session may change a room it names: one it
// made, or any with supervisor.control.
func (x *cmd) mayManage(room string) *Error {
	x.srv.mu.Lock()
	owner := x.srv.rooms[room]
	x.srv.mu.Unlock()
	if owner == x.ss.id || x.ss.tok.scopes[scopeSupervisor] {
		return nil
	}
	if owner == "" {
		return fail(CodeForbidden, "room %q was not made by this session: scope required: %s", room, scopeSupervisor)
	}
	return fail(CodeAlreadyOwned, "room %q belongs to another session", room)
}

// onMember runs fn on a member of a room; manage is true for what only
// the room's maker may do to others' legs (remove, mute).
func (x *cmd) onMember(manage bool, fn func(room, leg string) error) (any, *Error) {
	p, err := x.confParams()
	if err != nil {
		return nil, err
	}
	var legID string
	if manage {
		// The room's maker manages every member, callers who dialled
		// in included.
		if err := x.mayManage(p.ConfID); err != nil {
			return nil, err
		}
		info, ok := x.srv.e.Leg(x.ss.resolve(p.CallID))
		if !ok {
			return nil, fail(CodeCallNotFound, "no call %q", p.CallID)
		}
		legID = info.ID
	} else {
		info, err := x.ss.leg(p.CallID, control)
		if err != nil {
			return nil, err
		}
		legID = info.ID
	}
	if err := engineError(fn(p.ConfID, legID)); err != nil {
		return nil, err
	}
	return map[string]string{"conf_id": p.ConfID, "call_id": p.CallID}, nil
}

func conferenceDestroy(x *cmd) (any, *Error) {
	p, err := x.confParams()
	if err != nil {
		return nil, err
	}
	if err := x.mayManage(p.ConfID); err != nil {
		return nil, err
	}
	// The room's entry goes with its room.ended event, which still
	// has to reach this session.
	if err := engineError(x.srv.e.DestroyRoom(x.ctx, p.ConfID)); err != nil {
		return nil, err
	}
	return map[string]string{"conf_id": p.ConfID}, nil
}
