package recordings

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"pbx/store"
	"pbx/wav"
)

// ErrClosed is returned by Start once the Archive is closed.
var ErrClosed = errors.New("recordings: archive closed")

// ErrActive is returned by Remove for a recording still in progress.
var ErrActive = errors.New("recordings: recording in progress")

// Archive is the PBX's recorder: it starts recordings, owns the goroutine
// that writes them all and the one that applies retention, and keeps the
// index. It is safe for concurrent use.
type Archive struct {
	opts Options
	kv   store.KV
	log  *slog.Logger

	mu      sync.Mutex
	active  map[string]*Recording
	closed  bool
	drained chan struct{} // closed and replaced after each drain

	// drainMu is held by the writer while it drains; tests hold it to
	// stall the writer as a slow disk would.
	drainMu sync.Mutex
	wake    chan struct{}
	dropped atomic.Int64
	busy    atomic.Int64 // nanoseconds the writer spent working

	cancel   context.CancelFunc
	wg       sync.WaitGroup // the writer, the retention loop, finishers
	closeErr error
	once     sync.Once
}

// Open starts an Archive writing under opts.Dir and indexing in kv. It
// first settles recordings a crashed process left active: each file's
// header is fixed to cover the audio it holds and its entry completed. The
// Archive runs until Close or until ctx ends.
func Open(ctx context.Context, opts Options, kv store.KV, log *slog.Logger) (*Archive, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("recordings: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts = opts.withDefaults()
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("recordings: %w", err)
	}
	a := &Archive{
		opts:    opts,
		kv:      kv,
		log:     log,
		active:  map[string]*Recording{},
		wake:    make(chan struct{}, 1),
		drained: make(chan struct{}),
	}
	if err := a.recover(); err != nil {
		return nil, err
	}
	ctx, a.cancel = context.WithCancel(ctx)
	a.wg.Add(2)
	go a.writeLoop(ctx)
	go a.retainLoop(ctx)
	return a, nil
}

// Close stops every recording in progress (as Stop does), then the writer
// and retention goroutines, and waits for them and for OnStop callbacks.
// It does not close the store.
func (a *Archive) Close() error {
	a.once.Do(func() {
		a.cancel()
		a.wg.Wait()
	})
	return a.closeErr
}

// DroppedFrames counts frames lost because a recording's buffer was full
// when WriteFrame came: the disk fell behind. Each was written as silence.
func (a *Archive) DroppedFrames() int64 { return a.dropped.Load() }

// Start begins a recording: it creates the file (with its WAV header) and
// the index entry, and returns the Recording to feed with WriteFrame.
func (a *Archive) Start(meta Meta, o StartOptions) (*Recording, error) {
	mode := o.Mode
	if mode == "" {
		mode = a.opts.Format
	}
	if mode != Mono && mode != Stereo {
		return nil, fmt.Errorf("recordings: mode %q, want mono or stereo", mode)
	}
	beep := a.opts.Beep
	if o.Beep != nil {
		beep = *o.Beep
	}
	maxDur := o.MaxDuration
	if maxDur == 0 {
		maxDur = a.opts.MaxDuration
	}
	start := a.opts.Now().UTC() // UTC also drops the monotonic reading, as the index does
	id := newID(start)
	if a.opts.Node != "" {
		id = a.opts.Node + "-" + id
	}
	e := Entry{ID: id, CallID: meta.CallID, LegID: meta.LegID, Caller: meta.Caller, Callee: meta.Callee,
		Start: start, Mode: mode, Active: true}

	a.mu.Lock()
	closed := a.closed
	a.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	rel := expand(a.opts.PathTemplate, pathValues{start: start, id: id, callID: meta.CallID,
		legID: meta.LegID, caller: meta.Caller, callee: meta.Callee})
	f, rel, err := a.create(rel, id)
	if err != nil {
		return nil, err
	}
	e.Path = filepath.ToSlash(rel)
	w, err := wav.NewWriter(f, mode.channels())
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("recordings: %w", err)
	}
	if err := putEntry(a.kv, e); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	r := &Recording{
		a: a, entry: e, opts: o, beep: beep,
		ring: make([]slot, a.opts.BufferFrames),
		file: f, w: w, lastSync: time.Now(),
		finished: make(chan struct{}),
	}
	if maxDur > 0 {
		r.maxFrame = int64((maxDur + frameDuration - 1) / frameDuration)
	}
	r.size.Store(w.Bytes())

	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		// Lost a race with Close: finish it here, empty.
		r.stopReq.Store(true)
		a.finish(r)
		return nil, ErrClosed
	}
	a.active[id] = r
	a.mu.Unlock()
	a.log.Info("recording started", "id", id, "call_id", meta.CallID, "path", e.Path, "mode", mode)
	return r, nil
}

// create makes the file at rel under Dir, with its directories. Should a
// template give two recordings one name, the second gets its id appended.
func (a *Archive) create(rel, id string) (*os.File, string, error) {
	for attempt := 0; ; attempt++ {
		if !filepath.IsLocal(rel) {
			return nil, "", fmt.Errorf("recordings: path %q leaves the directory", rel)
		}
		path := filepath.Join(a.opts.Dir, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, "", fmt.Errorf("recordings: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
		if err == nil {
			return f, rel, nil
		}
		if !errors.Is(err, fs.ErrExist) || attempt > 0 {
			return nil, "", fmt.Errorf("recordings: %w", err)
		}
		ext := filepath.Ext(rel)
		rel = strings.TrimSuffix(rel, ext) + "-" + id + ext
	}
}

// newID makes a recording id: the UTC start to the millisecond, then 48
// random bits. Ids sort in start order and are safe in a file name.
func newID(t time.Time) string {
	var b [6]byte
	rand.Read(b[:])
	t = t.UTC()
	return fmt.Sprintf("%s%03dZ-%s", t.Format("20060102T150405"), t.Nanosecond()/1e6, hex.EncodeToString(b[:]))
}

// List returns index entries matching f, newest first. Recordings in
// progress show their duration and size so far.
func (a *Archive) List(f Filter) ([]Entry, error) {
	out, err := ReadIndex(a.kv, f)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, e := range out {
		if r := a.active[e.ID]; r != nil {
			out[i] = r.snapshot()
		}
	}
	return out, nil
}

// Get returns one index entry, live if the recording is in progress, or
// an error wrapping ErrNotFound.
func (a *Archive) Get(id string) (Entry, error) {
	a.mu.Lock()
	r := a.active[id]
	a.mu.Unlock()
	if r != nil {
		return r.snapshot(), nil
	}
	return getEntry(a.kv, id)
}

// Remove deletes a finished recording's file and index entry, and the
// folders the file leaves empty. A recording in progress is not removed
// (ErrActive); stop it first.
func (a *Archive) Remove(id string) error {
	e, err := a.Get(id)
	if err != nil {
		return err
	}
	if e.Active {
		return fmt.Errorf("%w: %s", ErrActive, id)
	}
	return a.remove(e)
}

// remove deletes e's file, then its entry, then empty folders.
func (a *Archive) remove(e Entry) error {
	path, err := a.path(e)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("recordings: %w", err)
	}
	if err := a.kv.Delete(Bucket, e.ID); err != nil {
		return err
	}
	a.pruneDirs(filepath.Dir(path))
	return nil
}

// path is where e's file is, refusing an index entry that points outside
// Dir (a store edited by hand, say).
func (a *Archive) path(e Entry) (string, error) {
	rel := filepath.FromSlash(e.Path)
	if !filepath.IsLocal(rel) {
		return "", fmt.Errorf("recordings: %s: path %q leaves the directory", e.ID, e.Path)
	}
	return filepath.Join(a.opts.Dir, rel), nil
}

// pruneDirs removes dir and its parents up to Dir while they are empty.
func (a *Archive) pruneDirs(dir string) {
	root := filepath.Clean(a.opts.Dir)
	for dir != root && strings.HasPrefix(dir, root+string(filepath.Separator)) {
		if os.Remove(dir) != nil { // not empty, most likely
			return
		}
		dir = filepath.Dir(dir)
	}
}
