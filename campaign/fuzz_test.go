package campaign

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// goodPhone is what every imported phone looks like.
var goodPhone = regexp.MustCompile(`^\+?[0-9]{3,20}$`)

// lineCount is how many lines the input has: a line error beyond it is a
// bug.
func lineCount(b []byte) int { return bytes.Count(b, []byte("\n")) + 1 }

// checkRowErrors fails unless every error has a message and a line within
// 1..n.
func checkRowErrors(t *testing.T, errs []RowError, n int) {
	t.Helper()
	for _, e := range errs {
		if e.Line < 1 || e.Line > n {
			t.Fatalf("error %v on line %d of %d", e.Msg, e.Line, n)
		}
		if e.Msg == "" {
			t.Fatalf("error without a message on line %d", e.Line)
		}
	}
}

// FuzzParseNumbers feeds arbitrary files to ParseNumbers: no input may
// panic or fail (a bytes.Reader does not); every row has a good phone,
// not seen on an earlier row, and a line within the file, after the
// previous row's; attributes are numbered from 1; every error is on a
// line of the file; and reading one byte at a time gives the same answer.
func FuzzParseNumbers(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, errs, err := ParseNumbers(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("error %v from a bytes.Reader", err)
		}
		n := lineCount(b)
		checkRowErrors(t, errs, n)
		seen := map[string]bool{}
		last := 0
		for _, r := range rows {
			if !goodPhone.MatchString(r.Phone) {
				t.Fatalf("line %d: phone %q", r.Line, r.Phone)
			}
			if seen[r.Phone] {
				t.Fatalf("line %d: phone %q twice", r.Line, r.Phone)
			}
			seen[r.Phone] = true
			if r.Line <= last || r.Line > n {
				t.Fatalf("row on line %d after line %d, of %d", r.Line, last, n)
			}
			last = r.Line
			for i, a := range r.Attributes {
				if a.Order != i+1 {
					t.Fatalf("line %d: attribute %d has order %d", r.Line, i, a.Order)
				}
			}
		}
		rows1, errs1, err := ParseNumbers(iotest.OneByteReader(bytes.NewReader(b)))
		if err != nil || !reflect.DeepEqual(rows1, rows) || !reflect.DeepEqual(errs1, errs) {
			t.Fatalf("one byte at a time: %+v %+v %v, want %+v %+v", rows1, errs1, err, rows, errs)
		}
	})
}

// FuzzParseContacts feeds arbitrary files to ParseContacts: no input may
// panic or fail; every contact has a good phone and ID 0; every error is
// on a line of the file; and reading one byte at a time gives the same
// answer.
func FuzzParseContacts(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		contacts, errs, err := ParseContacts(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("error %v from a bytes.Reader", err)
		}
		checkRowErrors(t, errs, lineCount(b))
		for _, c := range contacts {
			if !goodPhone.MatchString(c.Phone) {
				t.Fatalf("contact %+v: phone %q", c, c.Phone)
			}
			if c.ID != 0 {
				t.Fatalf("contact %+v has an id", c)
			}
		}
		contacts1, errs1, err := ParseContacts(iotest.OneByteReader(bytes.NewReader(b)))
		if err != nil || !reflect.DeepEqual(contacts1, contacts) || !reflect.DeepEqual(errs1, errs) {
			t.Fatalf("one byte at a time: %+v %+v %v, want %+v %+v", contacts1, errs1, err, contacts, errs)
		}
	})
}

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the FuzzParseNumbers and FuzzParseContacts seed corpora in testdata")

// csvSeed is one checked-in seed; rows and errs are how many rows (or
// contacts) and errors it gives.
type csvSeed struct {
	name       string
	data       string
	rows, errs int
}

func numberSeeds() []csvSeed {
	return []csvSeed{
		{"empty", "", 0, 0},
		{"no_header", "5551234,Ana,VIP\n5555678,Luis,\n", 2, 0},
		{"header", "Phone,Name,Debt\r\n+593 99 123 4567,Ana,10\r\n(02) 234-5678,Luis,0\r\n", 2, 0},
		{"phone_not_first", "name,telephone\nAna,555.1234\n", 1, 0},
		{"bom", "\ufeffnumber\n5551234\n", 1, 0},
		{"malformed", "phone,name\n5551234,Ana\n55x,Bad\n12,Short\n5551234,Again\n5559999\n5558888,a,b\n\n,Nobody\n", 1, 6},
		{"quoted_multiline", "phone,note\n\"555 1234\",\"two\nlines \"\"q\"\"\"\n5550000,x\n", 2, 0},
		{"bare_quote", "phone,name\n5551234,Ana\n5555678,An\"a\n5550000,Eve\n", 1, 1},
		{"unterminated_quote", "phone,name\n5551234,\"Ana\n", 0, 1},
		{"repeated_header", "phone,a,a\n5551234,1,2\n", 1, 1},
		{"blank_rows", " , \n\t\n5551234\n  ,  \n", 1, 0},
		{"long_phone", "+123456789012345678901\n+12345678901234567890\n", 1, 1},
		{"invalid_utf8", "phone,\xff\xfe\n5551234,\xc3\n", 1, 0},
		{"lone_cr", "5551234\r5555678\r", 0, 0}, // one line, whose cell is no phone: a header
	}
}

func contactSeeds() []csvSeed {
	return []csvSeed{
		{"empty", "", 0, 0},
		{"every_column", "first_name,last_name,phone,cedula_ruc,contact_source\nAna,Díaz,+593 99 123 4567,0912345678,fair\n", 1, 0},
		{"any_order", "\ufeffContact_Source, PHONE ,First Name,last-name\r\nweb,555-1234,Luis,Paz\r\n", 1, 0},
		{"shared_phone", "phone,first_name\n5551234,Ana\n5551234,Luis\n", 2, 0},
		{"no_phone_column", "first_name,last_name\nAna,Díaz\n", 0, 1},
		{"unknown_columns", "phone,email,first_name,first_name\n5551234,a@b.c,Ana,Other\n", 1, 2},
		{"malformed", "first_name,phone\nAna,5551234\nBad,call me\nShort,12\nFew\nMany,5555678,x\nEmpty,\n", 1, 5},
		{"bad_quote", "phone,first_name\n5551234,Ana\n5555678,\"Lu\"is\"\n", 1, 1},
		{"quoted_header", "\"phone\",\"first\nname\"\n5551234,Ana\n", 1, 1},
		{"invalid_utf8", "phone,first_name\n5551234,\xff\n", 1, 0},
	}
}

// The seed corpora in testdata are what numberSeeds and contactSeeds
// describe, and each seed gives the rows and errors they say. Run with
// -update-seeds to rewrite them.
func TestSeedCorpus(t *testing.T) {
	corpora := []struct {
		fuzzer string
		seeds  []csvSeed
		parse  func(string) (rows, errs int)
	}{
		{"FuzzParseNumbers", numberSeeds(), func(s string) (int, int) {
			rows, errs, err := ParseNumbers(strings.NewReader(s))
			if err != nil {
				t.Fatal(err)
			}
			return len(rows), len(errs)
		}},
		{"FuzzParseContacts", contactSeeds(), func(s string) (int, int) {
			contacts, errs, err := ParseContacts(strings.NewReader(s))
			if err != nil {
				t.Fatal(err)
			}
			return len(contacts), len(errs)
		}},
	}
	for _, c := range corpora {
		dir := filepath.Join("testdata", "fuzz", c.fuzzer)
		if *updateSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range c.seeds {
			path := filepath.Join(dir, s.name)
			enc := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(s.data))
			if *updateSeeds {
				if err := os.WriteFile(path, []byte(enc), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update-seeds)", err)
			}
			if !bytes.Equal(got, []byte(enc)) {
				t.Errorf("%s is stale (run with -update-seeds)", path)
			}
			if rows, errs := c.parse(s.data); rows != s.rows || errs != s.errs {
				t.Errorf("%s: %d rows and %d errors, want %d and %d", path, rows, errs, s.rows, s.errs)
			}
		}
	}
}
