package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"pbx/store"
	"pbx/web"
)

// cdrExport is `pbx cdr export`: the call records of a time range as CSV or
// JSON, streamed, so a day can be archived before retention prunes it. It
// asks the running PBX (GET /api/cdr/export); when none answers it reads
// the store of the stopped PBX.
func cdrExport(args []string) error {
	fs := flag.NewFlagSet("cdr export", flag.ContinueOnError)
	fromS := fs.String("from", "", "first call start included: a duration ago (24h), a date (2026-11-01, local) or an RFC 3339 time (default: the oldest)")
	toS := fs.String("to", "", "first call start left out, in the same forms (default: no end)")
	format := fs.String("format", store.FormatCSV, "csv or json")
	out := fs.String("o", "", "write to this file (default: standard output)")
	dataDir := fs.String("data", "./data", "data directory, when no PBX runs")
	api := fs.String("api", "http://127.0.0.1:8088", "HTTP address of the running PBX")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("cdr export: unexpected %q", fs.Arg(0))
	}
	if *format != store.FormatCSV && *format != store.FormatJSON {
		return fmt.Errorf("-format %q: want csv or json", *format)
	}
	now := time.Now()
	from, err := parseTime(*fromS, now)
	if err != nil {
		return fmt.Errorf("-from: %w", err)
	}
	to, err := parseTime(*toS, now)
	if err != nil {
		return fmt.Errorf("-to: %w", err)
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return fmt.Errorf("-to %s is not after -from %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}

	// The file is written beside its final name and renamed at the end, so
	// an export that fails leaves no half archive behind.
	var w io.Writer = os.Stdout
	var tmp *os.File
	if *out != "" {
		tmp, err = os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".*")
		if err != nil {
			return fmt.Errorf("cdr export: %w", err)
		}
		defer func() {
			if tmp != nil {
				tmp.Close()
				os.Remove(tmp.Name())
			}
		}()
		w = tmp
	}
	n, err := exportFromAPI(w, *api, from, to, *format)
	if errors.Is(err, errNoPBX) {
		n, err = exportFromStore(w, *dataDir, from, to, *format, err)
	}
	if err != nil {
		return err
	}
	dest := "standard output"
	if tmp != nil {
		if err := tmp.Sync(); err != nil {
			return fmt.Errorf("cdr export: write %s: %w", *out, err)
		}
		if err := tmp.Close(); err != nil {
			return fmt.Errorf("cdr export: write %s: %w", *out, err)
		}
		if err := os.Rename(tmp.Name(), *out); err != nil {
			return fmt.Errorf("cdr export: %w", err)
		}
		tmp = nil
		dest = *out
	}
	fmt.Fprintf(os.Stderr, "pbx: exported %d call records to %s\n", n, dest)
	return nil
}

// errNoPBX marks an API that did not answer at all: no PBX runs there, so
// the store may be read instead.
var errNoPBX = errors.New("no running PBX")

// exportFromAPI streams the export from a running PBX. The count, and an
// error met after the body began, come in the response's trailers.
func exportFromAPI(w io.Writer, api string, from, to time.Time, format string) (int, error) {
	q := url.Values{"format": {format}}
	if !from.IsZero() {
		q.Set("from", from.Format(time.RFC3339Nano))
	}
	if !to.IsZero() {
		q.Set("to", to.Format(time.RFC3339Nano))
	}
	// No overall timeout: a long range takes what it takes; only reaching
	// the PBX is bounded.
	c := http.Client{Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		ResponseHeaderTimeout: 10 * time.Second,
	}}
	res, err := c.Get(api + "/api/cdr/export?" + q.Encode())
	if err != nil {
		if isNoPBX(err) {
			return 0, fmt.Errorf("%w at %s: %v", errNoPBX, api, err)
		}
		return 0, fmt.Errorf("cdr export from %s: %w", api, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return 0, fmt.Errorf("cdr export from %s: %s: %s", api, res.Status, bytesTrim(msg))
	}
	if _, err := io.Copy(w, res.Body); err != nil {
		return 0, fmt.Errorf("cdr export from %s: %w", api, err)
	}
	if e := res.Trailer.Get(web.ExportErrorTrailer); e != "" {
		return 0, fmt.Errorf("cdr export from %s: %s", api, e)
	}
	n, err := strconv.Atoi(res.Trailer.Get(web.ExportCountTrailer))
	if err != nil {
		return 0, fmt.Errorf("cdr export from %s: the answer ended early (no record count)", api)
	}
	return n, nil
}

func exportFromStore(w io.Writer, dir string, from, to time.Time, format string, apiErr error) (int, error) {
	st, err := store.OpenReadOnly(dir)
	if err != nil {
		return 0, fmt.Errorf("%v, and no store to read: %w", apiErr, err)
	}
	defer st.Close()
	return st.ExportCDRs(w, from, to, format)
}

// compact is `pbx compact`: it rewrites the store of a stopped PBX without
// the free pages pruning left, swapping the new file in by a rename and
// keeping the old one as pbx.db.bak, and prints the sizes before and after.
// It refuses while a PBX has the store open.
func compact(args []string) error {
	fs := flag.NewFlagSet("compact", flag.ContinueOnError)
	dataDir := fs.String("data", "./data", "data directory of the stopped PBX")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("compact: unexpected %q", fs.Arg(0))
	}
	path := filepath.Join(*dataDir, store.FileName)
	before, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("compact: no store: %w", err)
	}
	// Opened for writing (it is only read), so that no PBX can start on
	// the store while it is copied.
	st, err := store.Open(*dataDir)
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("compact: a PBX is running on %s: stop it first (%w)", *dataDir, err)
	}
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	defer st.Close()
	tmp := path + ".compact"
	os.Remove(tmp) // left by an interrupted compaction
	if err := st.Compact(tmp); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	// The backup is a second name for the old file, made before the swap:
	// at every instant pbx.db is a whole store, old or new.
	backup := path + ".bak"
	if err := os.Remove(backup); err != nil && !errors.Is(err, os.ErrNotExist) {
		os.Remove(tmp)
		return fmt.Errorf("compact: remove the old backup: %w", err)
	}
	if err := os.Link(path, backup); err != nil {
		if err := copyFile(path, backup); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("compact: back up %s: %w", path, err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("compact: replace %s: %w", path, err)
	}
	syncDir(*dataDir)
	after, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	fmt.Printf("compacted %s: %s -> %s (%d -> %d bytes); the old store is kept as %s\n",
		path, humanBytes(before.Size()), humanBytes(after.Size()), before.Size(), after.Size(), backup)
	return nil
}

// copyFile copies src to a new file dst and flushes it, for a file system
// without hard links.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}

// syncDir flushes a directory, so renames in it survive a crash.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// humanBytes is a size for people: 1.5 MB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// parseTime reads a time given on the command line: "" (the zero time), a
// duration ago (24h), a date (2026-11-01, midnight local time), a local
// date and time (2026-11-01T08:00 or 2026-11-01T08:00:00) or an RFC 3339
// time.
func parseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{time.DateOnly, "2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: want a duration ago (24h), a date (2026-11-01) or an RFC 3339 time", s)
}

func bytesTrim(b []byte) string {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return string(b)
}
