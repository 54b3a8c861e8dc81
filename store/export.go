package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// ExportCDRs writes the call records that started in [from, to) (a zero to
// has no end), oldest first, as "csv" or "json" in the formats WriteCDRs
// uses, and reports how many it wrote. It streams: records are read in
// short transactions and written as they come, so exporting a busy day
// neither holds the whole day in memory nor stalls calls writing theirs.
// That is how records are archived before retention prunes them.
func (s *Store) ExportCDRs(w io.Writer, from, to time.Time, format string) (int, error) {
	if format != FormatCSV && format != FormatJSON {
		return 0, fmt.Errorf("store: export cdrs: format %q: want csv or json", format)
	}
	var (
		n     int
		first = true
		buf   bytes.Buffer
		recs  []CDR
	)
	err := s.scan(CDRBucket, from, to, func(chunk []pair) error {
		recs = recs[:0]
		for _, p := range chunk {
			var c CDR
			if err := json.Unmarshal(p.v, &c); err != nil {
				return fmt.Errorf("decode %s: %w", p.k, err)
			}
			recs = append(recs, c)
		}
		buf.Reset()
		if err := exportChunk(&buf, recs, format, first); err != nil {
			return err
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
		first = false
		n += len(recs)
		return nil
	})
	if err == nil {
		buf.Reset()
		err = exportEnd(&buf, format, n == 0)
		if err == nil {
			_, err = w.Write(buf.Bytes())
		}
	}
	if err != nil {
		return n, fmt.Errorf("store: export cdrs: %w", err)
	}
	return n, nil
}

// exportChunk formats one chunk of records; first says whether it opens the
// output. CSV rows come from WriteCDRs, without the header after the first
// chunk; JSON elements are indented as WriteCDRs indents its array, so the
// whole export reads as WriteCDRs would have printed it.
func exportChunk(buf *bytes.Buffer, recs []CDR, format string, first bool) error {
	if format == FormatCSV {
		mark := buf.Len()
		if err := WriteCDRs(buf, recs, FormatCSV); err != nil {
			return err
		}
		if !first { // drop the header row: csvHeader has no quoted newline
			b := buf.Bytes()[mark:]
			cut := bytes.IndexByte(b, '\n') + 1
			rest := append([]byte{}, b[cut:]...)
			buf.Truncate(mark)
			buf.Write(rest)
		}
		return nil
	}
	for i, c := range recs {
		switch {
		case first && i == 0:
			buf.WriteString("[\n  ")
		default:
			buf.WriteString(",\n  ")
		}
		v, err := json.MarshalIndent(c, "  ", "  ")
		if err != nil {
			return err
		}
		buf.Write(v)
	}
	return nil
}

// exportEnd closes the output: the CSV header alone when no record was
// written, the JSON array's end.
func exportEnd(buf *bytes.Buffer, format string, empty bool) error {
	switch {
	case format == FormatCSV && empty:
		return WriteCDRs(buf, nil, FormatCSV)
	case format == FormatJSON && empty:
		buf.WriteString("[]\n")
	case format == FormatJSON:
		buf.WriteString("\n]\n")
	}
	return nil
}
