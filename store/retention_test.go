package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTimeKeyRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 89, time.FixedZone("x", 3600))
	k := TimeKey(at) + "/abc"
	if !strings.HasPrefix(k, "2026-03-04T04:06:07.000000089Z/") {
		t.Fatalf("key %q: want UTC, fixed width", k)
	}
	got, ok := KeyTime(k)
	if !ok || !got.Equal(at) {
		t.Fatalf("KeyTime(%q) = %v %v, want %v", k, got, ok, at)
	}
	for _, bad := range []string{"", "2026-03-04", "support/2026-03-04T04:06:07.000000089Z", "agent:9001"} {
		if _, ok := KeyTime(bad); ok {
			t.Errorf("KeyTime(%q) ok, want not a time key", bad)
		}
	}
	// Same format as the call records, so one pruner serves every bucket.
	if want := cdrKey(CDR{ID: "abc", Start: at}); k != want {
		t.Fatalf("TimeKey differs from the cdr key: %q vs %q", k, want)
	}
}

// putTimed writes one key per time into bucket, named TimeKey(t)/i.
func putTimed(t *testing.T, s *Store, bucket string, times ...time.Time) []string {
	t.Helper()
	kv := map[string][]byte{}
	var ks []string
	for i, at := range times {
		k := fmt.Sprintf("%s/%d", TimeKey(at), i)
		kv[k] = []byte("v")
		ks = append(ks, k)
	}
	if err := s.PutMany(bucket, kv); err != nil {
		t.Fatal(err)
	}
	return ks
}

func bucketKeys(t *testing.T, s *Store, bucket string) []string {
	t.Helper()
	var out []string
	if err := s.ForEach(bucket, func(k string, _ []byte) error { out = append(out, k); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPruneRemovesOnlyOldKeys(t *testing.T) {
	s, _ := openTemp(t)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	cut := now.Add(-24 * time.Hour)
	var times []time.Time
	for i := range 2500 { // old ones: several batches
		times = append(times, cut.Add(-time.Duration(i+1)*time.Second))
	}
	putTimed(t, s, "cc_qlog", times...)
	keep := putTimed(t, s, "keep", cut) // another bucket is not touched
	newer := []time.Time{cut, cut.Add(time.Nanosecond), now}
	var want []string
	for i, at := range newer {
		k := fmt.Sprintf("%s/new%d", TimeKey(at), i)
		if err := s.Put("cc_qlog", k, []byte("v")); err != nil {
			t.Fatal(err)
		}
		want = append(want, k)
	}
	// Keys that do not begin with a time stay, wherever they sort.
	for _, k := range []string{"0-not-a-time", "agent:9001"} {
		if err := s.Put("cc_qlog", k, []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	want = append([]string{"0-not-a-time"}, want...)
	want = append(want, "agent:9001")

	n, err := s.Prune("cc_qlog", cut, 300)
	if err != nil || n != len(times) {
		t.Fatalf("Prune = %d, %v; want %d", n, err, len(times))
	}
	if got := bucketKeys(t, s, "cc_qlog"); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("left %v\nwant %v", got, want)
	}
	if got := bucketKeys(t, s, "keep"); len(got) != len(keep) {
		t.Fatalf("other bucket changed: %v", got)
	}
	if n, err := s.Prune("cc_qlog", cut, 0); n != 0 || err != nil {
		t.Fatalf("second prune = %d, %v", n, err)
	}
	if n, err := s.Prune("absent", now, 0); n != 0 || err != nil {
		t.Fatalf("absent bucket = %d, %v", n, err)
	}
}

// Pruning runs beside writers: records written during a prune all stay,
// and a writer waits for at most one small transaction.
func TestPruneBesideWriters(t *testing.T) {
	s, _ := openTemp(t)
	now := time.Now()
	old := make([]time.Time, 10000)
	for i := range old {
		old[i] = now.Add(-48*time.Hour - time.Duration(i)*time.Millisecond)
	}
	putTimed(t, s, CDRBucket, old...)
	done := make(chan error, 1)
	go func() {
		_, err := s.Prune(CDRBucket, now.Add(-24*time.Hour), 0)
		done <- err
	}()
	var worst time.Duration
	written := 0
	for pruning := true; pruning; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			pruning = false
		default:
		}
		start := time.Now()
		if err := s.AddCDR(CDR{ID: fmt.Sprint("new", written), Start: time.Now()}); err != nil {
			t.Fatal(err)
		}
		worst = max(worst, time.Since(start))
		written++
	}
	got := bucketKeys(t, s, CDRBucket)
	if len(got) != written {
		t.Fatalf("%d records left, want the %d written during the prune", len(got), written)
	}
	t.Logf("%d records written while pruning %d; slowest write %v", written, len(old), worst)
}

func TestPrunerAppliesRules(t *testing.T) {
	s, _ := openTemp(t)
	now := time.Now()
	putTimed(t, s, CDRBucket, now.Add(-72*time.Hour), now.Add(-time.Hour))
	putTimed(t, s, "cc_stats", now.Add(-72*time.Hour), now.Add(-30*time.Hour), now.Add(-time.Hour))
	putTimed(t, s, "cc_qlog", now.Add(-72*time.Hour)) // MaxAge 0: kept
	p := s.StartPruner(context.Background(), []PruneRule{
		{Bucket: CDRBucket, MaxAge: 48 * time.Hour},
		{Bucket: "cc_stats", MaxAge: 24 * time.Hour},
		{Bucket: "cc_qlog"},
	}, time.Hour, nil)
	defer p.Close()
	if n := <-p.passed; n != 3 {
		t.Fatalf("first pass removed %d, want 3", n)
	}
	for b, want := range map[string]int{CDRBucket: 1, "cc_stats": 1, "cc_qlog": 1} {
		if got := bucketKeys(t, s, b); len(got) != want {
			t.Errorf("%s: %d keys left, want %d: %v", b, len(got), want, got)
		}
	}
	p.Close()
	p.Close() // again: nothing

	// No active rule: nothing runs, Close returns.
	s.StartPruner(context.Background(), []PruneRule{{Bucket: "x"}}, 0, nil).Close()
}

func TestPrunerStopsWithContext(t *testing.T) {
	s, _ := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	p := s.StartPruner(ctx, []PruneRule{{Bucket: "x", MaxAge: time.Hour}}, time.Hour, nil)
	<-p.passed
	cancel()
	<-p.done
}

func TestRangeChunksAndLimits(t *testing.T) {
	s, _ := openTemp(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var times []time.Time
	for i := range 3*scanChunk + 7 {
		times = append(times, base.Add(time.Duration(i)*time.Second))
	}
	ks := putTimed(t, s, "cc_qlog", times...)
	collect := func(from, to time.Time, limit int) []string {
		var out []string
		if err := s.Range("cc_qlog", from, to, limit, func(k string, v []byte) error {
			out = append(out, k)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	// ks is in time order (index i at base+i s), so slices of it are the want.
	tests := []struct {
		name     string
		from, to time.Time
		limit    int
		want     []string
	}{
		{"all", time.Time{}, time.Time{}, 0, ks},
		{"from", times[10], time.Time{}, 0, ks[10:]},
		{"to excludes", time.Time{}, times[600], 0, ks[:600]},
		{"window", times[500], times[1200], 0, ks[500:1200]},
		{"limit", times[5], time.Time{}, 600, ks[5:605]},
		{"limit on a chunk edge", time.Time{}, time.Time{}, scanChunk, ks[:scanChunk]},
		{"empty", times[3].Add(time.Millisecond), times[4], 0, nil},
	}
	for _, tc := range tests {
		got := collect(tc.from, tc.to, tc.limit)
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: got %d keys, want %d", tc.name, len(got), len(tc.want))
		}
	}
	boom := errors.New("boom")
	if err := s.Range("cc_qlog", time.Time{}, time.Time{}, 0, func(string, []byte) error { return boom }); err != boom {
		t.Fatalf("fn error: %v", err)
	}
	if err := s.Range("absent", time.Time{}, time.Time{}, 0, func(string, []byte) error { return boom }); err != nil {
		t.Fatalf("absent bucket: %v", err)
	}
}

func TestCompactKeepsData(t *testing.T) {
	s, dir := openTemp(t)
	now := time.Now()
	var times []time.Time
	for i := range 5000 {
		times = append(times, now.Add(-time.Duration(i)*time.Minute))
	}
	putTimed(t, s, "cc_qlog", times...)
	for i := range 50 {
		if err := s.AddCDR(CDR{ID: fmt.Sprint("c", i), Start: now.Add(time.Duration(i) * time.Second), From: "1001"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutUser("1009", "pw", "Nine"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prune("cc_qlog", now.Add(-time.Hour), 0); err != nil {
		t.Fatal(err)
	}
	wantQlog := bucketKeys(t, s, "cc_qlog")
	dst := filepath.Join(t.TempDir(), "compacted.db")
	if err := s.Compact(dst); err != nil {
		t.Fatal(err)
	}
	if err := s.Compact(dst); err == nil {
		t.Fatal("compacting over an existing file succeeded")
	}
	src, _ := os.Stat(filepath.Join(dir, FileName))
	out, _ := os.Stat(dst)
	if out.Size() >= src.Size() {
		t.Errorf("compacted %d bytes, source %d", out.Size(), src.Size())
	}
	s.Close()

	// The copy opens as a store and holds the same data.
	cdir := t.TempDir()
	if err := os.Rename(dst, filepath.Join(cdir, FileName)); err != nil {
		t.Fatal(err)
	}
	c, err := OpenReadOnly(cdir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := bucketKeys(t, c, "cc_qlog"); strings.Join(got, ",") != strings.Join(wantQlog, ",") {
		t.Fatalf("qlog keys differ: %d vs %d", len(got), len(wantQlog))
	}
	cdrs, err := c.CDRs(time.Time{}, 0)
	if err != nil || len(cdrs) != 50 || cdrs[0].ID != "c0" || cdrs[0].From != "1001" {
		t.Fatalf("cdrs: %d %v", len(cdrs), err)
	}
	if pw, name, ok, _ := c.User("1009"); !ok || pw != "pw" || name != "Nine" {
		t.Fatalf("user: %q %q %v", pw, name, ok)
	}
}

func BenchmarkPrune(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	base := time.Now().Add(-48 * time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		kv := map[string][]byte{}
		for i := range DefaultPruneBatch {
			kv[fmt.Sprintf("%s/x", TimeKey(base.Add(time.Duration(i))))] = bytes.Repeat([]byte("v"), 100)
		}
		if err := s.PutMany("b", kv); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if n, err := s.Prune("b", base.Add(time.Hour), DefaultPruneBatch); err != nil || n != DefaultPruneBatch {
			b.Fatal(n, err)
		}
	}
}
