package dialog

import (
	"testing"
	"time"
)

// A goroutine started while Wait already waits is waited for too.
func TestGoroutinesStartDuringWait(t *testing.T) {
	var g goroutines
	g.Add(1)
	release := make(chan struct{})
	waited := make(chan struct{})
	go func() { g.Wait(); close(waited) }()
	late := make(chan struct{})
	go func() {
		g.Add(1) // starts while Wait waits
		close(late)
		<-release
		g.Done()
	}()
	<-late
	g.Done()
	select {
	case <-waited:
		t.Fatal("Wait returned while a goroutine started during it still runs")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return once every goroutine returned")
	}
}

func TestGoroutinesWaitAtZero(t *testing.T) {
	var g goroutines
	g.Wait() // returns at once
	g.Add(2)
	g.Done()
	g.Done()
	g.Wait()
}
