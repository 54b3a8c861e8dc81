package recordings

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pbx/store"
	"pbx/wav"
)

// crashChildEnv, when set to a directory, makes the test binary run
// crashChild instead of the tests: a recorder for the parent to kill.
const crashChildEnv = "RECORDINGS_CRASH_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		if err := crashChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashChild records a stereo call paced by a real 20 ms clock, reports
// the file's path, then "synced N" once N ≥ 1.5 s of frames are on disk
// with the header covering them, and records on until killed.
func crashChild(dir string) error {
	st, err := store.Open(filepath.Join(dir, "data"))
	if err != nil {
		return err
	}
	a, err := Open(context.Background(), Options{Dir: filepath.Join(dir, "rec"), Format: Stereo, SyncEvery: 250 * time.Millisecond}, st, nil)
	if err != nil {
		return err
	}
	r, err := a.Start(Meta{CallID: "doomed"}, StartOptions{})
	if err != nil {
		return err
	}
	fmt.Printf("path %s\n", filepath.Join(dir, "rec", filepath.FromSlash(r.entry.Path)))
	caller, callee := newTone(callerHz), newTone(calleeHz)
	tick := time.NewTicker(frameDuration)
	reported := false
	for range tick.C {
		r.WriteFrame(caller.next(), callee.next())
		if n := r.synced.Load(); !reported && time.Duration(n)*frameDuration >= 1500*time.Millisecond {
			fmt.Printf("synced %d\n", n)
			reported = true
		}
	}
	return nil
}

// A recorder killed with SIGKILL mid-call leaves a file that opens, with
// at least what was synced and both parties' tones; the next Open settles
// its index entry and header.
func TestCrashKill9(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	watchdog := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer watchdog.Stop()
	var path string
	var synced int64
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "path "); ok {
			path = p
		}
		if n, ok := strings.CutPrefix(sc.Text(), "synced "); ok {
			synced, _ = strconv.ParseInt(n, 10, 64)
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, not killed (path %q, synced %d)", err, path, synced)
	}

	pcm, err := wav.Decode(mustRead(t, path))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(pcm)) < synced*FrameSamples || len(pcm) < 8000 {
		t.Fatalf("%d samples after the crash, want at least the %d synced", len(pcm), synced*FrameSamples)
	}
	first := pcm[:8000]
	for _, f := range []float64{callerHz, calleeHz} {
		if p := goertzel(first, f); p < 0.4 {
			t.Errorf("%v Hz at %.2f of the first second, want about half", f, p)
		}
	}

	// The next start settles the entry the crash left active.
	st, err := store.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := Open(context.Background(), Options{Dir: filepath.Join(dir, "rec")}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	list, _ := a.List(Filter{CallID: "doomed"})
	if len(list) != 1 || list[0].Active || list[0].Duration < 1500*time.Millisecond {
		t.Fatalf("after recovery: %+v", list)
	}
	ch := readChannels(t, path, 2) // checks the header now covers the file
	if got := time.Duration(len(ch[0])) * time.Second / 8000; got != list[0].Duration {
		t.Errorf("file holds %v, entry says %v", got, list[0].Duration)
	}
}

// A writer abandoned mid-recording (the process gone after a Sync, with
// some audio written after it, ending mid-frame) leaves a file wav.Decode
// reads: the synced audio at least, which the header covers. (The audio
// past the header is what Open's recovery adds back, TestRecoverAtOpen.)
func TestAbandonedWriter(t *testing.T) {
	a, _, _ := testArchive(t, Options{Format: Stereo, SyncEvery: time.Nanosecond})
	r, _ := a.Start(Meta{CallID: "c"}, StartOptions{})
	caller, callee := newTone(callerHz), newTone(calleeHz)
	for range 50 {
		r.WriteFrame(caller.next(), callee.next())
	}
	waitDrained(a) // drained and synced
	if r.synced.Load() != 50 {
		t.Fatalf("%d frames synced", r.synced.Load())
	}
	snapshot := mustRead(t, fileOf(a, r.entry))
	// What the dead writer managed to write after that Sync: ten frames
	// and half of one more sample.
	for range 10 {
		c, e := caller.next(), callee.next()
		for i := range FrameSamples {
			snapshot = append(snapshot, byte(c[i]), byte(uint16(c[i])>>8), byte(e[i]), byte(uint16(e[i])>>8))
		}
	}
	snapshot = append(snapshot, 0x12)
	pcm, err := wav.Decode(snapshot)
	if err != nil {
		t.Fatal(err)
	}
	if len(pcm) < 50*FrameSamples {
		t.Errorf("%d samples, want at least the %d synced", len(pcm), 50*FrameSamples)
	}
	for _, f := range []float64{callerHz, calleeHz} {
		if p := goertzel(pcm[:50*FrameSamples], f); p < 0.4 {
			t.Errorf("%v Hz at %.2f, want about half", f, p)
		}
	}
	r.Stop()
}

// Open settles entries a crash left active: header fixed, partial frame
// cut, duration and size recorded; an entry without a file is dropped.
func TestRecoverAtOpen(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f, _ := os.Create(filepath.Join(dir, "crashed.wav"))
	w, _ := wav.NewWriter(f, 1)
	w.Write(make([]int16, 4000))
	w.Sync()
	w.Write(make([]int16, 4000))
	w.Close()
	f.Write([]byte{1}) // half a sample
	f.Close()
	putEntry(st, Entry{ID: "1", CallID: "c", Path: "crashed.wav", Mode: Mono, Active: true})
	putEntry(st, Entry{ID: "2", CallID: "c", Path: "gone.wav", Mode: Mono, Active: true})
	// A writer that never synced leaves a data size of 0.
	f, _ = os.Create(filepath.Join(dir, "unsynced.wav"))
	w, _ = wav.NewWriter(f, 2)
	w.Write(make([]int16, 800))
	w.Sync()
	f.WriteAt([]byte{0, 0, 0, 0}, 40)
	f.Close()
	putEntry(st, Entry{ID: "3", CallID: "c", Path: "unsynced.wav", Mode: Stereo, Active: true})

	a, err := Open(context.Background(), Options{Dir: dir}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	e, _ := a.Get("1")
	if e.Active || e.Duration != time.Second || e.Size != 44+16000 {
		t.Errorf("recovered %+v", e)
	}
	if n := len(readChannels(t, filepath.Join(dir, "crashed.wav"), 1)[0]); n != 8000 {
		t.Errorf("%d samples after recovery", n)
	}
	if _, err := a.Get("2"); err == nil {
		t.Error("entry without a file kept")
	}
	if e, _ := a.Get("3"); e.Duration != 50*time.Millisecond {
		t.Errorf("unsynced recovered as %+v", e)
	}
}
