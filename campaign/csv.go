package campaign

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// RowError is a row of an imported CSV file that was left out, and why.
// Line is the file's line, from 1, where the row (or the CSV syntax error)
// is.
type RowError struct {
	Line int
	Msg  string
}

func (e RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// NumberRow is a number to call, read from line Line of a CSV file, with
// the other cells of its row as attributes.
type NumberRow struct {
	Line       int
	Phone      string
	Attributes []Attribute
}

// Phone numbers in imports.
const (
	minPhoneDigits = 3
	maxPhoneDigits = 20
)

// cleanPhone reads a phone number as imports take it: digits, maybe
// after a leading '+', with spaces, '-', '.', '(' and ')' between them,
// which are dropped; 3 to 20 digits. It returns the number with only its
// digits and the '+', and whether it is one.
func cleanPhone(s string) (string, bool) {
	s = strings.TrimSpace(s)
	var b strings.Builder
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
			digits++
		case c == '+' && i == 0:
			b.WriteByte(c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return "", false
		}
	}
	if digits < minPhoneDigits || digits > maxPhoneDigits {
		return "", false
	}
	return b.String(), true
}

// phoneShaped says whether s looks like a phone number, even a bad one:
// it has a digit and only the characters of one. A first row whose first
// cell is not phone-shaped is a header.
func phoneShaped(s string) bool {
	digit := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digit = true
		case c == '+' || c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return false
		}
	}
	return digit
}

// badPhone is the RowError message for a cell that is not a phone number.
func badPhone(cell string) string { return fmt.Sprintf("bad phone number %q", cell) }

// phoneColumns are the header names ParseNumbers takes for the phone
// column, in any case.
var phoneColumns = []string{"phone", "number", "telephone"}

// ParseNumbers reads the numbers of an outgoing campaign from CSV. Cells
// are trimmed of spaces; rows with only empty cells are skipped; a UTF-8
// byte order mark at the start is dropped.
//
// When the first row's first cell does not look like a phone number (it
// has a character other than digits, '+', spaces, '-', '.', '(' and ')',
// or no digit: "phone", "Name"), that row is a header: the phone column is
// the first one named phone, number or telephone (in any case), or else
// the first column, and the other columns' names label the attributes (an
// empty name is labelled by the column's place among the attributes, "1"
// for the first). Without a header, the first column is the phone and the
// others are labelled "1", "2", and so on. Attributes keep the columns'
// order, with Order from 1, and include empty cells.
//
// A row is left out, with a RowError at its line, when its number of cells
// is not the header's (or, without a header, the first row's); when its
// phone is not a phone number (see cleanPhone); or when its phone, as
// cleaned, was on an earlier row. Two header columns of the same name are
// a RowError on the header's line but the file is still read. A CSV syntax
// error (a bad quote) is a RowError at its line and ends the reading: the
// rows read so far are returned with the errors. The error is only for a
// failure of r. Good rows are always returned, in file order, with the
// phone as cleanPhone leaves it.
func ParseNumbers(r io.Reader) ([]NumberRow, []RowError, error) {
	cr := newCSVReader(r)
	var (
		rows    []NumberRow
		errs    []RowError
		width   int      // cells per row
		what    string   // what sets width: "the header", "the first row"
		labels  []string // attribute labels, by column; "" for the phone column
		phoneAt int      // the phone column
		seen    = map[string]int{}
	)
	first := true
	for {
		rec, rowErr, err := nextRecord(cr)
		if err == io.EOF {
			return rows, errs, nil
		}
		if err != nil {
			return rows, errs, err
		}
		if rowErr != nil {
			return rows, append(errs, *rowErr), nil
		}
		if first {
			first = false
			width = len(rec.cells)
			header := !phoneShaped(rec.cells[0])
			if header {
				what = "the header"
				phoneAt = 0
				for i, c := range rec.cells {
					if isOneOf(c, phoneColumns) {
						phoneAt = i
						break
					}
				}
			} else {
				what = "the first row"
			}
			labels = make([]string, width)
			names := map[string]bool{}
			n := 0
			for i := range rec.cells {
				if i == phoneAt {
					continue
				}
				n++
				labels[i] = strconv.Itoa(n)
				if header && rec.cells[i] != "" {
					labels[i] = rec.cells[i]
				}
				if names[labels[i]] {
					errs = append(errs, RowError{rec.line, fmt.Sprintf("column %q repeated", labels[i])})
				}
				names[labels[i]] = true
			}
			if header {
				continue
			}
		}
		if len(rec.cells) != width {
			errs = append(errs, RowError{rec.line, fmt.Sprintf("%d cells, %s has %d", len(rec.cells), what, width)})
			continue
		}
		phone, ok := cleanPhone(rec.cells[phoneAt])
		if !ok {
			errs = append(errs, RowError{rec.line, badPhone(rec.cells[phoneAt])})
			continue
		}
		if line, dup := seen[phone]; dup {
			errs = append(errs, RowError{rec.line, fmt.Sprintf("phone %s already on line %d", phone, line)})
			continue
		}
		seen[phone] = rec.line
		row := NumberRow{Line: rec.line, Phone: phone, Attributes: make([]Attribute, 0, width-1)}
		for i, c := range rec.cells {
			if i != phoneAt {
				row.Attributes = append(row.Attributes, Attribute{Label: labels[i], Value: c, Order: len(row.Attributes) + 1})
			}
		}
		rows = append(rows, row)
	}
}

// Contact columns, as ParseContacts reads them.
const (
	colFirstName = "first_name"
	colLastName  = "last_name"
	colPhone     = "phone"
	colCedulaRUC = "cedula_ruc"
	colSource    = "contact_source"
)

// contactColumns are the columns of a contacts file.
var contactColumns = []string{colFirstName, colLastName, colPhone, colCedulaRUC, colSource}

// ParseContacts reads a contact book from CSV, with the same cell, blank
// row, byte order mark and syntax error rules as ParseNumbers. The first
// row is a header naming the columns first_name, last_name, phone,
// cedula_ruc and contact_source, in any order and any case, with spaces or
// '-' taken for '_' ("First Name"); phone is required, the others are not.
// A header without phone is a RowError on its line and nothing is read.
// An unknown column, or a column named twice, is a RowError on the
// header's line; the file is still read, without that column (or with the
// first of the two). A row is left out, with a RowError at its line, when
// its number of cells is not the header's or its phone is not a phone
// number; the same phone on several rows is allowed, as people share
// phones. Contacts come in file order with ID 0 and the phone cleaned
// (see cleanPhone). The error is only for a failure of r.
func ParseContacts(r io.Reader) ([]Contact, []RowError, error) {
	cr := newCSVReader(r)
	var (
		contacts []Contact
		errs     []RowError
		cols     []string // the contact column of each file column, or ""
	)
	for {
		rec, rowErr, err := nextRecord(cr)
		if err == io.EOF {
			return contacts, errs, nil
		}
		if err != nil {
			return contacts, errs, err
		}
		if rowErr != nil {
			return contacts, append(errs, *rowErr), nil
		}
		if cols == nil {
			cols = make([]string, len(rec.cells))
			named := map[string]bool{}
			for i, c := range rec.cells {
				name := strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToLower(c))
				switch {
				case !isOneOf(name, contactColumns):
					errs = append(errs, RowError{rec.line, fmt.Sprintf("unknown column %q (want %s)", c, strings.Join(contactColumns, ", "))})
				case named[name]:
					errs = append(errs, RowError{rec.line, fmt.Sprintf("column %q repeated", c)})
				default:
					cols[i] = name
					named[name] = true
				}
			}
			if !named[colPhone] {
				return nil, append(errs, RowError{rec.line, "no phone column in the header"}), nil
			}
			continue
		}
		if len(rec.cells) != len(cols) {
			errs = append(errs, RowError{rec.line, fmt.Sprintf("%d cells, the header has %d", len(rec.cells), len(cols))})
			continue
		}
		var c Contact
		bad := false
		for i, v := range rec.cells {
			switch cols[i] {
			case colFirstName:
				c.FirstName = v
			case colLastName:
				c.LastName = v
			case colCedulaRUC:
				c.CedulaRUC = v
			case colSource:
				c.Source = v
			case colPhone:
				p, ok := cleanPhone(v)
				if !ok {
					errs = append(errs, RowError{rec.line, badPhone(v)})
					bad = true
				}
				c.Phone = p
			}
		}
		if !bad {
			contacts = append(contacts, c)
		}
	}
}

// isOneOf says whether s is one of names, in any case.
func isOneOf(s string, names []string) bool {
	for _, n := range names {
		if strings.EqualFold(s, n) {
			return true
		}
	}
	return false
}

// utf8BOM is the byte order mark some spreadsheets write first.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// newCSVReader reads r as the imports do: any number of cells per row,
// strict quotes, and no byte order mark.
func newCSVReader(r io.Reader) *csv.Reader {
	br := bufio.NewReader(r)
	if b, err := br.Peek(len(utf8BOM)); err == nil && bytes.Equal(b, utf8BOM) {
		br.Discard(len(utf8BOM))
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = false
	cr.TrimLeadingSpace = true
	return cr
}

// record is a row of a CSV file with its cells trimmed, and the line it
// starts on.
type record struct {
	line  int
	cells []string
}

// nextRecord is cr's next row with a cell that is not blank. At the end it
// returns io.EOF; on a CSV syntax error, the RowError for it (the caller
// stops there); on a failure of the reader, that error.
func nextRecord(cr *csv.Reader) (record, *RowError, error) {
	for {
		cells, err := cr.Read()
		if err == io.EOF {
			return record{}, nil, io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return record{}, &RowError{pe.Line, fmt.Sprintf("bad CSV at column %d: %v", pe.Column, pe.Err)}, nil
		}
		if err != nil {
			return record{}, nil, err
		}
		blank := true
		for i, c := range cells {
			cells[i] = strings.TrimSpace(c)
			blank = blank && cells[i] == ""
		}
		if blank {
			continue
		}
		line, _ := cr.FieldPos(0)
		return record{line, cells}, nil, nil
	}
}
