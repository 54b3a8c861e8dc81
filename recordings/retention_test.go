package recordings

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"pbx/store"
)

// Retention by age removes finished recordings older than MaxAge, their
// files, entries and emptied day folders, and spares the active one.
func TestRetainByAge(t *testing.T) {
	clock := &fixedClock{}
	dir := t.TempDir()
	a, _, _ := testArchive(t, Options{Dir: dir, MaxAge: 30 * 24 * time.Hour, Now: clock.Now})
	day := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var entries []Entry
	for i := range 4 { // Jan 1, Feb 1, Mar 1, Apr 1
		clock.Set(day.AddDate(0, i, 0))
		entries = append(entries, record(t, a, Meta{CallID: "c"}, StartOptions{}, 5))
	}
	clock.Set(day.AddDate(0, 0, -1)) // an old recording still running
	live, _ := a.Start(Meta{CallID: "live"}, StartOptions{})

	n, err := a.Retain(time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC))
	if err != nil || n != 3 {
		t.Fatalf("Retain removed %d, %v; want 3", n, err)
	}
	for i, e := range entries {
		_, ferr := os.Stat(fileOf(a, e))
		_, gerr := a.Get(e.ID)
		if gone := i < 3; gone != (ferr != nil) || gone != (gerr != nil) {
			t.Errorf("entry %d (%s): file %v, index %v", i, e.Start.Format(time.DateOnly), ferr, gerr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "2026", "01")); !os.IsNotExist(err) {
		t.Errorf("empty January folder left: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "2026", "04", "01")); err != nil {
		t.Errorf("April folder: %v", err)
	}
	if _, err := a.Get(live.ID()); err != nil {
		t.Errorf("active recording removed: %v", err)
	}
	live.Stop()
}

// Retention by size removes the oldest finished recordings until the
// total fits.
func TestRetainBySize(t *testing.T) {
	clock := &fixedClock{}
	a, _, _ := testArchive(t, Options{MaxTotalBytes: 3 * (44 + 50*320), Now: clock.Now})
	var ids []string
	for i := range 5 {
		clock.Set(time.Date(2026, 5, 1, 0, i, 0, 0, time.UTC))
		ids = append(ids, record(t, a, Meta{CallID: "c"}, StartOptions{}, 50).ID) // 1 s, 16044 bytes
	}
	n, err := a.Retain(clock.Now())
	if err != nil || n != 2 {
		t.Fatalf("Retain removed %d, %v; want 2", n, err)
	}
	left, _ := a.List(Filter{})
	if len(left) != 3 || left[2].ID != ids[2] {
		t.Errorf("left %+v, want the newest three", left)
	}
	if n, _ := a.Retain(clock.Now()); n != 0 {
		t.Errorf("second Retain removed %d", n)
	}
}

// The retention goroutine runs Retain on its own, and says so in the log.
func TestRetentionLoop(t *testing.T) {
	clock := &fixedClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	logged := make(chan slog.Record, 10)
	a, err := Open(context.Background(), Options{Dir: t.TempDir(), MaxAge: time.Hour, RetainEvery: time.Millisecond, Now: clock.Now},
		st, slog.New(chanHandler(logged)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	e := record(t, a, Meta{CallID: "c"}, StartOptions{}, 1)
	clock.Set(clock.Now().Add(2 * time.Hour))
	for rec := range logged {
		if rec.Message == "recordings retention" {
			break
		}
	}
	if _, err := os.Stat(fileOf(a, e)); !os.IsNotExist(err) {
		t.Errorf("old recording still there: %v", err)
	}
}

// chanHandler is a slog handler that hands each record to a channel,
// dropping what does not fit.
type chanHandler chan slog.Record

func (h chanHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h chanHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h chanHandler) WithGroup(string) slog.Handler            { return h }
func (h chanHandler) Handle(_ context.Context, r slog.Record) error {
	select {
	case h <- r:
	default:
	}
	return nil
}

// Remove deletes a finished recording and refuses an active one.
func TestRemove(t *testing.T) {
	a, _, _ := testArchive(t, Options{})
	e := record(t, a, Meta{CallID: "c"}, StartOptions{}, 1)
	r, _ := a.Start(Meta{CallID: "live"}, StartOptions{})
	if err := a.Remove(r.ID()); err == nil {
		t.Error("active recording removed")
	}
	if err := a.Remove(e.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(fileOf(a, e)); !os.IsNotExist(err) {
		t.Errorf("file still there: %v", err)
	}
	if err := a.Remove(e.ID); err == nil {
		t.Error("removed twice")
	}
	r.Stop()
}
