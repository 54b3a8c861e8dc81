package queue

import (
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	base := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	e := func(m int, agent, event string, data ...string) QlogEntry {
		return QlogEntry{Time: at(m), Agent: agent, Event: event, Data: data, Queue: "support", CallID: "NONE"}
	}
	entries := []QlogEntry{
		e(0, "Agent/9001", qlogAgentLogin, "leg-1"),
		e(10, "Agent/9001", qlogPause, "lunch"),
		e(10, "Agent/9001", qlogPause, "lunch"), // the same pause, in a second queue
		e(40, "Agent/9001", qlogUnpause, "lunch"),
		e(60, "Agent/9001", qlogAgentLogoff, "leg-1", "3600"),
		e(70, "Agent/9001", qlogAgentLogin, "leg-2"),        // still logged in at the end
		e(5, "Agent/1003", qlogAgentLogoff, "1003", "1800"), // logged in before the period
		e(30, "NONE", "ENTERQUEUE"),
	}
	got := sessions(entries, at(-10), at(100))
	if len(got) != 2 || got[0].Agent != "Agent/1003" || got[1].Agent != "Agent/9001" {
		t.Fatalf("agents %+v", got)
	}
	carol, dave := got[0], got[1]
	// Carol: logged in 30 min before 09:05, cut at the period's start (08:50).
	if carol.LoginTime != 15*time.Minute || !carol.LastLoginStart.Equal(at(-10)) || !carol.LastLoginEnd.Equal(at(5)) {
		t.Fatalf("1003: %+v", carol)
	}
	// Dave: 60 min, then 30 more up to the end; his pause 10 to 40.
	if dave.LoginTime != 90*time.Minute || !dave.LastLoginStart.Equal(at(70)) || !dave.LastLoginEnd.IsZero() ||
		!dave.LastPauseStart.Equal(at(10)) || !dave.LastPauseEnd.Equal(at(40)) {
		t.Fatalf("9001: %+v", dave)
	}
}
