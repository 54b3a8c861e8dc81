package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"pbx/store"
)

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
