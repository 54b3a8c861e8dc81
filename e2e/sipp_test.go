package e2e

import (
	"strconv"
	"testing"
	"time"

	"pbx/config"
	"pbx/internal/testkit"
)

// sippRoute adds a trunk toward a SIPp UAS on uasPort and routes 2000 to it.
func sippRoute(uasPort int) testkit.PBXOption {
	return func(c *config.Config) {
		c.Trunks = append(c.Trunks, config.Trunk{Name: "sippuas", Host: "127.0.0.1:" + strconv.Itoa(uasPort)})
		c.Dialplan = append([]config.DialplanRule{{Name: "sipp", Match: config.Match{Exact: "2000"}, Target: "trunk:sippuas"}}, c.Dialplan...)
	}
}

// sippCall runs a SIPp UAS scenario and a SIPp UAC scenario through the PBX
// and returns both results.
func sippCall(t *testing.T, uacScenario, uasScenario string, calls int, extra ...string) (uac, uas testkit.Result) {
	t.Helper()
	uasPort := testkit.FreeUDPPort(t)
	p := testkit.StartPBX(t, "", sippRoute(uasPort))
	server := (&testkit.SIPp{Scenario: testkit.ScenarioPath(uasScenario), LocalIP: "127.0.0.1", LocalPort: uasPort,
		Args: []string{"-m", strconv.Itoa(calls)}, Timeout: 60 * time.Second}).Start(t)
	// SIPp signs its digest over sip:HOST:PORT unless told the Request-URI,
	// which the PBX checks the digest-uri against.
	args := append([]string{"-s", "2000", "-au", "1001", "-ap", password(t, p, "1001"),
		"-auth_uri", "2000@" + p.Addr(), "-m", strconv.Itoa(calls), "-r", "5"}, extra...)
	uac = (&testkit.SIPp{Scenario: testkit.ScenarioPath(uacScenario), Remote: p.Addr(), LocalIP: "127.0.0.1",
		Args: args, Timeout: 60 * time.Second}).Run(t)
	uas, err := server.Wait()
	if err != nil {
		t.Fatalf("uas: %v", err)
	}
	return uac, uas
}

func wantClean(t *testing.T, who string, r testkit.Result, calls int) {
	t.Helper()
	if r.Successful != calls || r.Failed != 0 {
		t.Fatalf("%s: %d successful, %d failed (exit %d), want %d and 0\n%s", who, r.Successful, r.Failed, r.ExitCode, calls, r.Errors)
	}
}

// SIPp registers the demo users with digest authentication.
func TestSIPpRegister(t *testing.T) {
	p := testkit.StartPBX(t, "")
	r := (&testkit.SIPp{Scenario: testkit.ScenarioPath("register.xml"), Remote: p.Addr(), LocalIP: "127.0.0.1",
		Inf: testkit.ScenarioPath("register_users.csv"), Args: []string{"-m", "2"}, Timeout: 30 * time.Second}).Run(t)
	wantClean(t, "register", r, 2)
	for _, ext := range []string{"1001", "1002"} {
		if len(p.Location().Lookup(ext)) == 0 {
			t.Errorf("%s not registered", ext)
		}
	}
}

// SIPp UAC → PBX → SIPp UAS: calls authenticate, ring, are answered, held
// for a while and hung up by the caller, with no failure.
func TestSIPpCalls(t *testing.T) {
	uac, uas := sippCall(t, "uac_auth_call.xml", "uas_answer.xml", 10, "-d", "1000")
	wantClean(t, "uac", uac, 10)
	wantClean(t, "uas", uas, 10)
}

// The SIPp caller cancels while the SIPp callee rings: the CANCEL crosses
// the PBX.
func TestSIPpCancel(t *testing.T) {
	uac, uas := sippCall(t, "uac_cancel.xml", "uas_ring.xml", 3)
	wantClean(t, "uac", uac, 3)
	wantClean(t, "uas", uas, 3)
}

// The SIPp callee hangs up: its BYE reaches the caller.
func TestSIPpByeFromCallee(t *testing.T) {
	uac, uas := sippCall(t, "uac_auth_call.xml", "uas_bye.xml", 3, "-d", "10000")
	wantClean(t, "uac", uac, 3)
	wantClean(t, "uas", uas, 3)
}
