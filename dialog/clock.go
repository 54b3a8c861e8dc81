package dialog

import "time"

// Clock is where the engine reads time and sets timers: ring timeouts,
// session timers, digit timeouts, parking. Tests pass a clock they drive
// so behaviour that waits minutes is checked in milliseconds.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f on a goroutine of its own after d, unless the
	// returned timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc.
type Timer interface {
	// Stop cancels the call; false when it already ran or was stopped.
	Stop() bool
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now is time.Now.
func (SystemClock) Now() time.Time { return time.Now() }

// AfterFunc is time.AfterFunc.
func (SystemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
