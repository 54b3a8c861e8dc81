package recordings

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// recover settles the entries a process that died mid-recording left
// active. The file holds the audio up to the crash, its header counting
// only what was synced; recover fixes the header to count all whole frames
// there, cuts a partial one, and records the duration and size. An entry
// whose file is gone is dropped.
func (a *Archive) recover() error {
	entries, err := ReadIndex(a.kv, Filter{})
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Active {
			continue
		}
		path, err := a.path(e)
		if err != nil {
			return err
		}
		data, err := fixHeader(path, e.Mode.channels())
		if errors.Is(err, fs.ErrNotExist) {
			a.log.Warn("recording left by a crash has no file; dropped", "id", e.ID, "path", e.Path)
			if err := a.kv.Delete(Bucket, e.ID); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		e.Active = false
		e.Size = wavHeader + data
		e.Duration = time.Duration(data/int64(2*e.Mode.channels())) * time.Second / 8000
		if err := putEntry(a.kv, e); err != nil {
			return err
		}
		a.log.Warn("recording left by a crash recovered", "id", e.ID, "duration", e.Duration)
	}
	return nil
}

// wavHeader is the size of the header wav.Writer writes.
const wavHeader = 44

// fixHeader makes the RIFF and data sizes of the 16-bit WAV at path cover
// every whole frame in it, and returns the data size.
func fixHeader(path string, channels int) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if st.Size() < wavHeader {
		return 0, fmt.Errorf("recordings: %s: %d bytes, not even a header", path, st.Size())
	}
	frame := int64(2 * channels)
	data := (st.Size() - wavHeader) / frame * frame
	if err := f.Truncate(wavHeader + data); err != nil {
		return 0, fmt.Errorf("recordings: %w", err)
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(data+wavHeader-8))
	if _, err := f.WriteAt(b[:], 4); err != nil {
		return 0, fmt.Errorf("recordings: %w", err)
	}
	binary.LittleEndian.PutUint32(b[:], uint32(data))
	if _, err := f.WriteAt(b[:], 40); err != nil {
		return 0, fmt.Errorf("recordings: %w", err)
	}
	return data, f.Sync()
}
