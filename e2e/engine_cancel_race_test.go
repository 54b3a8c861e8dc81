package e2e

import "testing"

// The SIPp caller cancels while the SIPp callee rings, and the callee
// answers as the PBX's CANCEL crosses: the CANCEL gets 481, the 200 comes
// after it. The PBX must ACK that 200 and hang it up with BYE, else the
// callee holds a dead call until its own timeout (the scenario fails when
// the ACK or the BYE does not come within 10 s).
func TestEngineCancelRaceAnswerHungUp(t *testing.T) {
	uac, uas := sippCall(t, "uac_cancel.xml", "uas_cancel_race.xml", 3)
	wantClean(t, "uac", uac, 3)
	wantClean(t, "uas", uas, 3)
}
