package main

import (
	"errors"
	"flag"
	"fmt"
	"net"

	"pbx/store"
)

// The contact-center commands and cdr export ask the running PBX's admin
// API; those whose data is in the store read it from a stopped PBX's data
// directory when no PBX answers.

// apiFlag is -api, the running PBX's admin API.
func apiFlag(fs *flag.FlagSet) *string {
	return fs.String("api", "http://127.0.0.1:8088", "HTTP address of the running PBX")
}

// dataFlag is -data, the store read when no PBX runs.
func dataFlag(fs *flag.FlagSet) *string {
	return fs.String("data", "./data", "data directory, when no PBX runs")
}

// askPBX gets path from the running PBX's admin API into v; the error
// says plainly when no PBX answers there.
func askPBX(api, path string, v any) error {
	return explainNoPBX(api, getJSON(api+path, "", v))
}

// explainNoPBX says plainly that no PBX answers at api when err is that
// (see isNoPBX); any other err is returned as it is.
func explainNoPBX(api string, err error) error {
	if err != nil && isNoPBX(err) {
		return fmt.Errorf("no PBX answers at %s (is it running? -api names its HTTP address): %w", api, err)
	}
	return err
}

// askOrRead runs ask against the running PBX; when none answers at all
// (see isNoPBX), it runs read on the store in dataDir instead, which a
// stopped PBX left. A PBX that answered with an error is that error.
func askOrRead(ask func() error, dataDir string, read func(*store.Store) error) error {
	err := ask()
	if err == nil || !isNoPBX(err) {
		return err
	}
	st, serr := store.OpenReadOnly(dataDir)
	if serr != nil {
		return fmt.Errorf("no running PBX (%v) and no store: %w", err, serr)
	}
	defer st.Close()
	return read(st)
}

// isNoPBX says that err is the admin API not answering at all (nothing
// listens there), as opposed to a PBX that answered with an error.
func isNoPBX(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
