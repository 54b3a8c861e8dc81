package dialog

import "testing"

func TestBusDeliversInOrderAndDropsLaggards(t *testing.T) {
	var b Bus
	fast := b.Subscribe(10)
	slow := b.Subscribe(2)
	for i := 0; i < 5; i++ {
		b.publish(Event{Kind: EventCallStarted})
	}
	for want := uint64(1); want <= 5; want++ {
		if e := <-fast.C; e.Seq != want {
			t.Fatalf("seq %d, want %d", e.Seq, want)
		}
	}
	if fast.Lagged() {
		t.Fatal("fast subscriber marked lagged")
	}
	n := 0
	for range slow.C {
		n++
	}
	if n != 2 || !slow.Lagged() {
		t.Fatalf("slow got %d events, lagged %v; want 2 and true", n, slow.Lagged())
	}
	fast.Close()
	fast.Close() // a second close is harmless
	b.publish(Event{Kind: EventCallEnded})
}
