package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// headerSize is the size of the canonical PCM header Writer writes.
const headerSize = 44

// maxData is the most audio bytes a WAV file can declare (the RIFF size,
// a uint32, counts them plus 36 header bytes).
const maxData = 1<<32 - 1 - (headerSize - 8)

// writeBuffer is how many bytes Writer gathers before writing to the file:
// a bit over half a second of stereo audio.
const writeBuffer = 32 << 10

// ErrTooLarge is returned by Writer.Write when the file would pass the
// 4 GiB a RIFF file can describe (about 37 hours of 8 kHz stereo).
var ErrTooLarge = errors.New("wav: file would exceed 4 GiB")

// Writer writes 8 kHz 16-bit PCM to a WAV file as it arrives, as a call
// recorder needs: Write appends to a buffer, Sync puts the buffer in the
// file and fixes the sizes in the header so that the file is, at that
// moment, a complete WAV of everything written so far. A process killed
// between two Syncs leaves a file whose header understates the data, which
// Decode reads in full anyway.
//
// A Writer is not safe for concurrent use. After an error from the
// underlying file, every method returns that error.
type Writer struct {
	f        io.WriteSeeker
	channels int
	buf      []byte
	data     int64 // audio bytes written to f
	err      error
	hdr      [4]byte
}

// NewWriter writes the header of an 8 kHz 16-bit PCM WAV with 1 (mono) or
// 2 (stereo) channels to f, which must be an empty file positioned at its
// start (Sync rewrites the header at fixed offsets), and returns a Writer
// that appends after it.
func NewWriter(f io.WriteSeeker, channels int) (*Writer, error) {
	if channels != 1 && channels != 2 {
		return nil, fmt.Errorf("wav: writer: %d channels, want 1 or 2", channels)
	}
	w := &Writer{f: f, channels: channels, buf: make([]byte, 0, writeBuffer)}
	// The data size stays 0 until the first Sync: Decode reads a 0 as
	// "the writer never got to say", and takes what is there.
	h := header(channels, 0)
	if _, err := f.Write(h[:]); err != nil {
		return nil, fmt.Errorf("wav: write header: %w", err)
	}
	return w, nil
}

// header is the canonical header of 8 kHz 16-bit PCM with data bytes of audio.
func header(channels int, data uint32) [headerSize]byte {
	var h [headerSize]byte
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], data+headerSize-8)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], tagPCM)
	binary.LittleEndian.PutUint16(h[22:], uint16(channels))
	binary.LittleEndian.PutUint32(h[24:], SampleRate)
	binary.LittleEndian.PutUint32(h[28:], uint32(SampleRate*2*channels))
	binary.LittleEndian.PutUint16(h[32:], uint16(2*channels))
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], data)
	return h
}

// Encode makes a whole mono 8 kHz 16-bit WAV file of samples in memory,
// for audio short enough to hold there (a bot's recording of a caller).
func Encode(samples []int16) []byte {
	h := header(1, uint32(2*len(samples)))
	b := make([]byte, headerSize, headerSize+2*len(samples))
	copy(b, h[:])
	return AppendPCM(b, samples)
}

// AppendPCM appends samples to b as little-endian 16-bit PCM, the bytes
// of a WAV file's data (or of raw audio).
func AppendPCM(b []byte, samples []int16) []byte {
	b = slices.Grow(b, 2*len(samples))
	for _, v := range samples {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return b
}

// Write appends samples, interleaved (left, right, left, ...) for stereo,
// so len(samples) must be a multiple of the channel count. It buffers, and
// writes to the file only when its buffer fills; in steady state it does
// not allocate.
func (w *Writer) Write(samples []int16) error {
	if w.err != nil {
		return w.err
	}
	if len(samples)%w.channels != 0 {
		return fmt.Errorf("wav: write: %d samples is not a whole number of %d-channel frames", len(samples), w.channels)
	}
	if w.Bytes()+2*int64(len(samples))-headerSize > maxData {
		return ErrTooLarge
	}
	for len(samples) > 0 {
		room := (cap(w.buf) - len(w.buf)) / 2
		if room == 0 {
			if err := w.flush(); err != nil {
				return err
			}
			continue
		}
		n := min(room, len(samples))
		at := len(w.buf)
		w.buf = w.buf[:at+2*n]
		b := w.buf[at:]
		for i, s := range samples[:n] {
			binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
		}
		samples = samples[n:]
	}
	return nil
}

// flush writes the buffer to the file.
func (w *Writer) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	n, err := w.f.Write(w.buf)
	w.data += int64(n)
	if err != nil {
		w.err = fmt.Errorf("wav: write: %w", err)
		return w.err
	}
	w.buf = w.buf[:0]
	return nil
}

// Sync writes the buffer to the file, rewrites the RIFF and data sizes in
// the header to cover everything written, and seeks back to the end, so
// that the file is a valid WAV of all samples written so far. It does not
// fsync: that is the caller's choice, through the file.
func (w *Writer) Sync() error {
	if w.err != nil {
		return w.err
	}
	if err := w.flush(); err != nil {
		return err
	}
	if err := w.putSize(4, uint32(w.data+headerSize-8)); err != nil {
		return err
	}
	if err := w.putSize(40, uint32(w.data)); err != nil {
		return err
	}
	if _, err := w.f.Seek(headerSize+w.data, io.SeekStart); err != nil {
		w.err = fmt.Errorf("wav: sync: %w", err)
		return w.err
	}
	return nil
}

// putSize writes v at offset off of the file.
func (w *Writer) putSize(off int64, v uint32) error {
	if _, err := w.f.Seek(off, io.SeekStart); err != nil {
		w.err = fmt.Errorf("wav: sync: %w", err)
		return w.err
	}
	binary.LittleEndian.PutUint32(w.hdr[:], v)
	if _, err := w.f.Write(w.hdr[:]); err != nil {
		w.err = fmt.Errorf("wav: sync: %w", err)
		return w.err
	}
	return nil
}

// Close does a final Sync. It does not close the file, which the caller
// owns.
func (w *Writer) Close() error { return w.Sync() }

// Samples is how many samples per channel have been written, buffered ones
// included.
func (w *Writer) Samples() int64 {
	return (w.data + int64(len(w.buf))) / int64(2*w.channels)
}

// Bytes is the size the file has, header included, once the buffer is
// written.
func (w *Writer) Bytes() int64 { return headerSize + w.data + int64(len(w.buf)) }
