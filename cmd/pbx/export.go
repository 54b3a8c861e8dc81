package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
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
	dataDir := dataFlag(fs)
	api := apiFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("cdr export: unexpected %q", fs.Arg(0))
	}
	if *format != store.FormatCSV && *format != store.FormatJSON {
		return fmt.Errorf("-format %q: want csv or json", *format)
	}
	from, to, err := parseRange(*fromS, *toS, time.Now())
	if err != nil {
		return err
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
	var n int
	err = askOrRead(func() (err error) {
		n, err = exportFromAPI(w, *api, from, to, *format)
		return err
	}, *dataDir, func(st *store.Store) (err error) {
		n, err = st.ExportCDRs(w, from, to, *format)
		return err
	})
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

// exportFromAPI streams the export from a running PBX. The count, and an
// error met after the body began, come in the response's trailers.
func exportFromAPI(w io.Writer, api string, from, to time.Time, format string) (int, error) {
	q := timeQuery(from, to)
	q.Set("format", format)
	// No overall timeout: a long range takes what it takes; only reaching
	// the PBX is bounded.
	c := http.Client{Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		ResponseHeaderTimeout: 10 * time.Second,
	}}
	res, err := c.Get(api + "/api/cdr/export?" + q.Encode())
	if err != nil {
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

func bytesTrim(b []byte) string {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return string(b)
}
