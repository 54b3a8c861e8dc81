package testkit

import (
	"strconv"
	"testing"
	"time"
)

// SIPp to SIPp on loopback: uac_noauth.xml calls uas_answer.xml five times
// (the callee echoes RTP on a media port the runner picked).
func TestSIPpUACToUAS(t *testing.T) {
	t.Parallel()
	uasPort := FreeUDPPort(t)
	uas := (&SIPp{Scenario: ScenarioPath("uas_answer.xml"), LocalPort: uasPort,
		Args: []string{"-m", "5", "-rtp_echo"}, Timeout: 30 * time.Second}).Start(t)
	uac := (&SIPp{Scenario: ScenarioPath("uac_noauth.xml"), Remote: "127.0.0.1:" + strconv.Itoa(uasPort),
		Args: []string{"-s", "2000", "-m", "5", "-r", "10", "-d", "200"}, Timeout: 30 * time.Second}).Run(t)
	if uac.Successful != 5 || uac.Failed != 0 || uac.ExitCode != 0 {
		t.Fatalf("uac: %+v, want 5 successful, 0 failed, exit 0", uac)
	}
	res, err := uas.Wait()
	if err != nil {
		t.Fatalf("uas: %v", err)
	}
	if res.Successful != 5 || res.Failed != 0 || res.ExitCode != 0 {
		t.Fatalf("uas: %+v, want 5 successful, 0 failed, exit 0", res)
	}
	if uac.Elapsed <= 0 || uac.Elapsed > 30*time.Second {
		t.Errorf("uac elapsed %s", uac.Elapsed)
	}
}

// register.xml against SIPp's own digest registrar, with the injection file
// given by path: two users register, and a wrong password fails.
func TestSIPpRegisterSelftest(t *testing.T) {
	t.Parallel()
	regPort := FreeUDPPort(t)
	srv := (&SIPp{Scenario: ScenarioPath("selftest_reg_uas.xml"), LocalPort: regPort, Inf: ScenarioPath("register_users.csv"),
		Args: []string{"-infindex", "register_users.csv", "0", "-m", "2"}, Timeout: 30 * time.Second}).Start(t)
	r := (&SIPp{Scenario: ScenarioPath("register.xml"), Remote: "127.0.0.1:" + strconv.Itoa(regPort),
		Inf: ScenarioPath("register_users.csv"), Args: []string{"-m", "2"}, Timeout: 30 * time.Second}).Run(t)
	if r.Successful != 2 || r.Failed != 0 {
		t.Fatalf("register: %+v", r)
	}
	if res, err := srv.Wait(); err != nil || res.Successful != 2 {
		t.Fatalf("registrar: %+v, %v", res, err)
	}
}

// A failed call shows in the result, not as an error: the UAC calls a port
// where nobody answers and gives up after its retransmissions.
func TestSIPpFailedCallCounted(t *testing.T) {
	t.Parallel()
	silent := FreeUDPPort(t)
	r := (&SIPp{Scenario: ScenarioPath("uac_noauth.xml"), Remote: "127.0.0.1:" + strconv.Itoa(silent),
		Args: []string{"-s", "2000", "-m", "1", "-recv_timeout", "1000"}, Timeout: 20 * time.Second}).Run(t)
	if r.Failed != 1 || r.Successful != 0 || r.ExitCode != 1 {
		t.Fatalf("got %+v, want 1 failed, exit 1", r)
	}
}

func TestReadStatsMissing(t *testing.T) {
	if _, err := readStats(t.TempDir() + "/none.csv"); err == nil {
		t.Fatal("no error for a missing statistics file")
	}
}
