package queue

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"pbx/config"
	"pbx/dialog"
	"pbx/sounds"
)

// The wait room is what a caller hears while they wait in a queue, and
// the keys they may press meanwhile. One goroutine (run) owns everything
// the caller hears, so two things never play to the leg at once: the
// entry announcement, then the queue's hold music, broken every
// AnnounceEvery by the position and estimated wait (and the callback
// offer), and every PeriodicEvery by the next periodic prompt. A second
// goroutine (readKeys) reads keys with CollectDTMF and hands the ones that
// mean something to run. Both end at stop, when the leg ends, or when the
// context given to startWaitRoom ends.

// keyWait is how long one CollectDTMF waits for a key before the reader
// asks again; it only bounds how long one read lasts.
const keyWait = time.Hour

// waitInfo is what the wait room asks the queue when it announces.
// The Center implements it (callerInfo); safe to call from any goroutine. The wait room
// calls it from its own goroutine, which stop waits for: its methods must
// not wait for a lock that is held while stop is called.
type waitInfo interface {
	position() int                // 1 = next; 0 = unknown, not said
	estimatedWait() time.Duration // 0 = unknown, not said
}

// waitHooks are how the wait room hands a decision of the caller back to
// the queue. A hook runs on the wait room's goroutine after the wait room
// has let go of the leg (stop returns at once from inside a hook), and
// only if stop had not been called before the caller's key was acted on:
// a stop racing with a key press either wins (no hook) or returns while
// the hook is called, so the hook must check that the caller still waits.
type waitHooks struct {
	exit     func(key, target string) // caller pressed an exit key (already validated against q.ExitKeys)
	callback func()                   // caller pressed q.CallbackKey; the confirmation prompt has been played
}

// waitRoom plays what one waiting caller hears and reads their keys, until stop.
type waitRoom struct {
	e     *dialog.Engine
	legID string
	q     *config.Queue
	info  waitInfo
	h     waitHooks
	clock dialog.Clock
	log   *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc

	keys     chan string   // keys that mean something, from readKeys to run
	announce chan struct{} // the announcement timer fired; room for one
	periodic chan struct{} // the periodic timer fired; room for one
	done     chan struct{} // closed when nothing of the wait room touches the leg any more

	mu      sync.Mutex
	stopped bool // stop was called: no hook may be called from now on
}

// startWaitRoom starts playing to a waiting caller and reading their keys.
// It returns at once; everything runs until stop, the end of the leg or
// the end of ctx.
func startWaitRoom(ctx context.Context, e *dialog.Engine, legID string, q *config.Queue, info waitInfo, h waitHooks, clock dialog.Clock, log *slog.Logger) *waitRoom {
	if clock == nil {
		clock = dialog.SystemClock{}
	}
	if log == nil {
		log = slog.Default()
	}
	w := &waitRoom{
		e: e, legID: legID, q: q, info: info, h: h, clock: clock,
		log:      log.With("leg", legID, "queue", q.Name),
		keys:     make(chan string),
		announce: make(chan struct{}, 1),
		periodic: make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	w.ctx, w.cancel = context.WithCancel(ctx)
	keysDone := make(chan struct{})
	if w.readsKeys() {
		go w.readKeys(keysDone)
	} else {
		close(keysDone)
	}
	go w.run(keysDone)
	return w
}

// stop stops music, prompts and key reading, and returns when none of
// them will touch the leg again, so the leg can be bridged at once. It
// may be called more than once, from any goroutine, and from a hook.
func (w *waitRoom) stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	w.cancel()
	<-w.done
}

// claim takes the right to call a hook: false when stop came first.
func (w *waitRoom) claim() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.stopped
}

// run owns the leg's audio until the wait room ends, then calls the hook
// the caller chose, if any.
func (w *waitRoom) run(keysDone <-chan struct{}) {
	hook, timers := w.loop()
	w.cancel()
	<-keysDone
	for _, t := range timers {
		if t != nil {
			t.Stop()
		}
	}
	close(w.done)
	if hook != nil {
		hook()
	}
}

// loop plays in turn what the agenda says, and music in between, until
// the caller presses a key that ends the wait (it returns that key's hook)
// or the wait room is stopped or the leg ends (nil). The current playback
// is stopped before it returns. timers are the ones it armed.
func (w *waitRoom) loop() (hook func(), timers [2]dialog.Timer) {
	a := newAgenda(w.q)
	var (
		pb      *dialog.Playback
		playing item // what pb is
		noMusic bool // the class cannot be played: silence between prompts
	)
	defer func() {
		if pb != nil {
			pb.Stop()
		}
	}()
	arm := func(it item) {
		var every time.Duration
		var ch chan struct{}
		slot := 0
		switch it {
		case itemAnnounce:
			every, ch = a.announceEvery(), w.announce
		case itemPeriodic:
			every, ch, slot = a.periodicEvery(), w.periodic, 1
		}
		if every <= 0 {
			return
		}
		timers[slot] = w.clock.AfterFunc(every, func() {
			select {
			case ch <- struct{}{}:
			default:
			}
		})
	}
	// played is called when a prompt of the agenda has been played (or
	// skipped): the timers it governs start again from now, so
	// announcements never pile up behind a long prompt.
	played := func(it item) {
		switch it {
		case itemEntry:
			arm(itemAnnounce)
			arm(itemPeriodic)
		case itemAnnounce, itemPeriodic:
			arm(it)
		}
	}
	if !a.entry {
		played(itemEntry)
	}
	for {
		if w.ctx.Err() != nil {
			return nil, timers
		}
		if pb == nil {
			it, names := a.next(w.info)
			var err error
			switch {
			case it != itemNone && len(names) == 0:
				played(it)
				continue
			case it != itemNone:
				pb, err = w.e.PlayPrompts(w.ctx, w.legID, names, dialog.PlayOptions{})
			case !noMusic:
				pb, err = w.e.PlayMusic(w.ctx, w.legID, musicClass(w.q), dialog.PlayOptions{})
			}
			playing = it
			if err != nil {
				if gone(err) {
					return nil, timers
				}
				w.log.Warn("wait room cannot play", "prompts", names, "error", err)
				pb = nil
				if it == itemNone {
					noMusic = true
				} else {
					played(it)
					continue
				}
			}
		}
		var ended <-chan struct{}
		if pb != nil {
			ended = pb.Done()
		}
		select {
		case <-w.ctx.Done():
			return nil, timers
		case <-ended:
			if pb.Reason() == "hangup" {
				pb = nil
				return nil, timers
			}
			// Finished, or stopped by someone else (music is then
			// started again): go on with the next thing.
			pb = nil
			played(playing)
		case <-w.announce:
			a.announceDue = true
			if playing == itemNone && pb != nil {
				pb.Stop()
				pb = nil
			}
		case <-w.periodic:
			a.periodicDue = true
			if playing == itemNone && pb != nil {
				pb.Stop()
				pb = nil
			}
		case key := <-w.keys:
			if pb != nil {
				pb.Stop()
				pb = nil
			}
			return w.pressed(key), timers
		}
	}
}

// pressed acts on a key that ends the wait and returns the hook to call,
// or nil when the wait room was stopped or the leg ended meanwhile.
func (w *waitRoom) pressed(key string) func() {
	w.log.Info("wait room key", "key", key)
	if key == w.q.CallbackKey {
		if !w.playAndWait(sounds.QueueCallbackConfirmed) || !w.claim() {
			return nil
		}
		return w.h.callback
	}
	target := w.q.ExitKeys[key]
	if !w.claim() {
		return nil
	}
	return func() { w.h.exit(key, target) }
}

// playAndWait plays prompts to the end; false when the wait room was
// stopped or the leg ended first. A prompt that cannot be played is
// logged and counts as played.
func (w *waitRoom) playAndWait(names ...string) bool {
	pb, err := w.e.PlayPrompts(w.ctx, w.legID, names, dialog.PlayOptions{})
	if err != nil {
		if gone(err) {
			return false
		}
		w.log.Warn("wait room cannot play", "prompts", names, "error", err)
		return w.ctx.Err() == nil
	}
	select {
	case <-pb.Done():
		return pb.Reason() != "hangup" && w.ctx.Err() == nil
	case <-w.ctx.Done():
		pb.Stop()
		return false
	}
}

// readsKeys reports whether any key means something in this queue.
func (w *waitRoom) readsKeys() bool {
	return w.q.CallbackKey != "" && w.h.callback != nil || len(w.q.ExitKeys) > 0 && w.h.exit != nil
}

// wants reports whether a key means something in this queue.
func (w *waitRoom) wants(key string) bool {
	if key == "" {
		return false
	}
	if key == w.q.CallbackKey {
		return w.h.callback != nil
	}
	_, ok := w.q.ExitKeys[key]
	return ok && w.h.exit != nil
}

// readKeys reads the caller's keys one at a time and hands run those that
// mean something, until the wait room ends. The end of the leg ends the
// wait room.
func (w *waitRoom) readKeys(done chan<- struct{}) {
	defer close(done)
	for {
		got, err := w.e.CollectDTMF(w.ctx, w.legID, dialog.CollectOptions{Max: 1, Timeout: keyWait})
		if err != nil {
			if w.ctx.Err() == nil {
				w.log.Debug("wait room stops reading keys", "error", err)
				w.cancel()
			}
			return
		}
		if !w.wants(got.Digits) {
			continue
		}
		select {
		case w.keys <- got.Digits:
		case <-w.ctx.Done():
			return
		}
	}
}

// gone reports whether an engine error means the leg no longer exists.
func gone(err error) bool { return errors.Is(err, dialog.ErrNotFound) }

// musicClass is the hold-music class of a queue.
func musicClass(q *config.Queue) string {
	if q.Music == "" {
		return config.DefaultMusicClass
	}
	return q.Music
}

// item is one thing the agenda plays between hold music.
type item int

const (
	itemNone     item = iota // hold music
	itemEntry                // q.Announce, once
	itemAnnounce             // position, estimated wait, callback offer
	itemPeriodic             // the next of q.Periodic
)

// agenda decides what a waiting caller hears next: the entry
// announcement first, then whichever announcements are due (the position
// one before the periodic one), else music. A due announcement is a flag,
// not a count, so a timer that fires while a long prompt plays adds at
// most one announcement after it.
type agenda struct {
	q           *config.Queue
	entry       bool // q.Announce is still to be played
	announceDue bool
	periodicDue bool
	nextPrompt  int // index in q.Periodic of the next periodic prompt
}

func newAgenda(q *config.Queue) *agenda {
	return &agenda{q: q, entry: q.Announce != ""}
}

// announceEvery is the interval of the position announcements; 0 when
// the queue has nothing to announce.
func (a *agenda) announceEvery() time.Duration {
	if a.q.Position || a.q.HoldTime || a.q.CallbackKey != "" {
		return a.q.AnnounceEvery
	}
	return 0
}

// periodicEvery is the interval of the periodic prompts; 0 when none.
func (a *agenda) periodicEvery() time.Duration {
	if len(a.q.Periodic) == 0 {
		return 0
	}
	return a.q.PeriodicEvery
}

// next takes the next thing to play and says what it is; itemNone means
// music. An announcement that has nothing to say comes back with no
// names: it is over at once.
func (a *agenda) next(info waitInfo) (item, []string) {
	switch {
	case a.entry:
		a.entry = false
		return itemEntry, []string{a.q.Announce}
	case a.announceDue:
		a.announceDue = false
		pos, wait := 0, time.Duration(0)
		if a.q.Position {
			pos = info.position()
		}
		if a.q.HoldTime {
			wait = info.estimatedWait()
		}
		return itemAnnounce, announcement(pos, wait, a.q.CallbackKey != "")
	case a.periodicDue:
		a.periodicDue = false
		if len(a.q.Periodic) == 0 {
			return itemPeriodic, nil
		}
		name := a.q.Periodic[a.nextPrompt%len(a.q.Periodic)]
		a.nextPrompt = (a.nextPrompt + 1) % len(a.q.Periodic)
		return itemPeriodic, []string{name}
	}
	return itemNone, nil
}

// announcement is what one position announcement says: "you are caller
// number" and the position (0: not said), the estimated wait (0: not
// said), then the callback offer when the queue has a callback key.
func announcement(position int, wait time.Duration, callback bool) []string {
	var names []string
	if position > 0 {
		names = append(names, sounds.YouAreCallerNumber)
		names = append(names, sounds.Number(position)...)
	}
	names = append(names, waitPrompts(wait)...)
	if callback {
		names = append(names, sounds.QueueCallbackOffer)
	}
	return names
}

// waitPrompts says an estimated wait in whole minutes, rounded to the
// nearest: "estimated wait" and "less than one minute" under a minute,
// "one minute", else N "minutes". 0 (unknown) says nothing.
func waitPrompts(wait time.Duration) []string {
	switch {
	case wait <= 0:
		return nil
	case wait < time.Minute:
		return []string{sounds.EstimatedWait, sounds.LessThanOneMinute}
	}
	n := int((wait + 30*time.Second) / time.Minute)
	names := append([]string{sounds.EstimatedWait}, sounds.Number(n)...)
	if n == 1 {
		return append(names, sounds.Minute)
	}
	return append(names, sounds.Minutes)
}
