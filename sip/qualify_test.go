package sip

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo"
)

// The qualifier pings a UDP phone, a TCP phone (over its own connection)
// and a contact whose port is closed, and marks each accordingly.
func TestQualifierMarksReachability(t *testing.T) {
	pbx := newRegTestPBX(t, regTestOptions{})
	udpPhone := newRegTestPhone(t, pbx, "127.0.0.1", "1001", "pw1001", "UDP")
	tcpPhone := newRegTestPhone(t, pbx, "127.0.0.1", "1002", "pw1002", "TCP")
	regTestStatus(t, udpPhone.register(t, []string{udpPhone.contact("")}, 300), 200)
	regTestStatus(t, tcpPhone.register(t, []string{"<sip:1002@phone.invalid;transport=tcp>"}, 300), 200)
	// A second TCP phone connects last: pings for the first must still
	// take the first's connection.
	tcpPhone2 := newRegTestPhone(t, pbx, "127.0.0.1", "1001", "pw1001", "TCP")
	regTestStatus(t, tcpPhone2.register(t, []string{"<sip:1001@phone2.invalid;transport=tcp>"}, 300), 200)

	closed, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := closed.LocalAddr().String()
	closed.Close()
	err = pbx.loc.update("1001", func(cur []Binding) ([]Binding, error) {
		return append(cur, Binding{AOR: "1001", Contact: "sip:1001@" + dead, Source: dead, Transport: "UDP",
			Expires: pbx.clock.Now().Add(time.Hour), Q: 1, Reachable: true}), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pbx.loc.SetReachable("1001", "sip:1001@"+udpPhone.addr, false)
	pbx.loc.SetReachable("1002", "sip:1002@phone.invalid;transport=tcp", false)

	// A client like the PBX's UDP one: bound to the UDP listener.
	client, err := sipgo.NewClient(pbx.ua, sipgo.WithClientHostname("127.0.0.1"),
		sipgo.WithClientPort(regTestPort(pbx.udp)), sipgo.WithClientConnectionAddr(pbx.udp))
	if err != nil {
		t.Fatal(err)
	}
	q := NewQualifier(client, pbx.loc, time.Hour, regTestLogger(t))
	q.timeout = 500 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		q.Run(ctx)
		close(done)
	}()

	want := map[string]bool{
		"sip:1001@" + udpPhone.addr:             true,
		"sip:1002@phone.invalid;transport=tcp":  true,
		"sip:1001@phone2.invalid;transport=tcp": true,
		"sip:1001@" + dead:                      false,
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := map[string]bool{}
		for _, b := range pbx.loc.All() {
			got[b.Contact] = b.Reachable
		}
		match := len(got) == len(want)
		for k, v := range want {
			if r, ok := got[k]; !ok || r != v {
				match = false
			}
		}
		if match {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reachability: got %v, want %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-udpPhone.options:
	default:
		t.Fatal("the UDP phone saw no OPTIONS")
	}
	select {
	case req := <-tcpPhone.options:
		if req.Transport() != "TCP" {
			t.Fatalf("the TCP phone was pinged over %s", req.Transport())
		}
	default:
		t.Fatal("the TCP phone saw no OPTIONS")
	}
	for i := range 2 {
		select {
		case req := <-tcpPhone2.options:
			if req.Recipient.Host != "phone2.invalid" {
				t.Fatalf("the second TCP phone got a ping meant for %s", req.Recipient.String())
			}
		default:
			if i == 0 {
				t.Fatal("the second TCP phone saw no OPTIONS")
			}
		}
	}

	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
