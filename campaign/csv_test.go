package campaign

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// attrs builds attributes from label, value pairs, with Order from 1.
func attrs(kv ...string) []Attribute {
	a := make([]Attribute, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		a = append(a, Attribute{Label: kv[i], Value: kv[i+1], Order: len(a) + 1})
	}
	return a
}

func TestParseNumbers(t *testing.T) {
	tests := []struct {
		name string
		in   string
		rows []NumberRow
		errs []RowError
	}{
		{"empty", "", nil, nil},
		{"only blank lines", "\n\n  \n,\n", nil, nil},
		{"only a header", "phone,name\n", nil, nil},
		{"no header", "5551234,Ana,VIP\n5555678,Luis,\n", []NumberRow{
			{1, "5551234", attrs("1", "Ana", "2", "VIP")},
			{2, "5555678", attrs("1", "Luis", "2", "")},
		}, nil},
		{"phone only", "100\n+593 99 123 4567\n(02) 234-5678\n099.123.4567\n", []NumberRow{
			{1, "100", []Attribute{}},
			{2, "+593991234567", []Attribute{}},
			{3, "022345678", []Attribute{}},
			{4, "0991234567", []Attribute{}},
		}, nil},
		{"header with phone first", "Phone,Name,Debt\n5551234,Ana,10\n", []NumberRow{
			{2, "5551234", attrs("Name", "Ana", "Debt", "10")},
		}, nil},
		{"header with the phone elsewhere", "name, TELEPHONE ,debt\nAna, 555-1234 ,10\n", []NumberRow{
			{2, "5551234", attrs("name", "Ana", "debt", "10")},
		}, nil},
		{"number column", "id,Number\n7,5551234\n", []NumberRow{
			{2, "5551234", attrs("id", "7")},
		}, nil},
		{"header without a phone column", "cell,name\n5551234,Ana\n", []NumberRow{
			{2, "5551234", attrs("name", "Ana")},
		}, nil},
		{"empty header names", "phone,,x,\n5551234,a,b,c\n", []NumberRow{
			{2, "5551234", attrs("1", "a", "x", "b", "3", "c")},
		}, nil},
		{"repeated header names", "phone,a,A,a\n5551234,1,2,3\n", []NumberRow{
			{2, "5551234", attrs("a", "1", "A", "2", "a", "3")},
		}, []RowError{{1, `column "a" repeated`}}},
		{"quoted cells and lines", "phone,note\n\"555 1234\",\"two\nlines, and \"\"quotes\"\"\"\n5550000,x\n", []NumberRow{
			{2, "5551234", attrs("note", "two\nlines, and \"quotes\"")},
			{4, "5550000", attrs("note", "x")},
		}, nil},
		{"crlf and blank lines", "phone\r\n\r\n5551234\r\n   \r\n5555678\r\n", []NumberRow{
			{3, "5551234", []Attribute{}},
			{5, "5555678", []Attribute{}},
		}, nil},
		{"byte order mark", "\ufeffphone,name\n5551234,Ana\n", []NumberRow{
			{2, "5551234", attrs("name", "Ana")},
		}, nil},
		{"malformed rows are reported, good rows kept", strings.Join([]string{
			"phone,name",                 // 1
			"5551234,Ana",                // 2
			"555x234,Bad",                // 3
			"12,Short",                   // 4
			"123456789012345678901,Long", // 5
			"5551234,Again",              // 6
			"5559999",                    // 7
			"5558888,a,b",                // 8
			",Nobody",                    // 9
			"++5551111,Plus",             // 10
			"555+1111,Plus",              // 11
			"5557777,Eve",                // 12
			"555 7777,Eve",               // 13
			"+5557777,Plus",              // 14
		}, "\n"), []NumberRow{
			{2, "5551234", attrs("name", "Ana")},
			{12, "5557777", attrs("name", "Eve")},
			{14, "+5557777", attrs("name", "Plus")},
		}, []RowError{
			{3, `bad phone number "555x234"`},
			{4, `bad phone number "12"`},
			{5, `bad phone number "123456789012345678901"`},
			{6, "phone 5551234 already on line 2"},
			{7, "1 cells, the header has 2"},
			{8, "3 cells, the header has 2"},
			{9, `bad phone number ""`},
			{10, `bad phone number "++5551111"`},
			{11, `bad phone number "555+1111"`},
			{13, "phone 5557777 already on line 12"},
		}},
		{"no header: the first row sets the width", "5551234,a\n5555678\n5550000,b,c\n5551111,d\n", []NumberRow{
			{1, "5551234", attrs("1", "a")},
			{4, "5551111", attrs("1", "d")},
		}, []RowError{
			{2, "1 cells, the first row has 2"},
			{3, "3 cells, the first row has 2"},
		}},
		{"a bad first row is no header", "12,a\n5551234,b\n", []NumberRow{
			{2, "5551234", attrs("1", "b")},
		}, []RowError{{1, `bad phone number "12"`}}},
		{"twenty digits", "+12345678901234567890\n", []NumberRow{
			{1, "+12345678901234567890", []Attribute{}},
		}, nil},
		{"bare quote stops the reading", "phone,name\n5551234,Ana\n5555678,An\"a\n5550000,Eve\n", []NumberRow{
			{2, "5551234", attrs("name", "Ana")},
		}, []RowError{{3, `bad CSV at column 11: bare " in non-quoted-field`}}},
		{"unterminated quote stops the reading", "phone,name\n5551234,Ana\n5555678,\"Ana\n5550000,Eve\n", []NumberRow{
			{2, "5551234", attrs("name", "Ana")},
		}, []RowError{{4, `bad CSV at column 13: extraneous or missing " in quoted-field`}}},
		{"text after a quote stops the reading", "5551234,\"a\"b\n5550000\n", nil,
			[]RowError{{1, `bad CSV at column 11: extraneous or missing " in quoted-field`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, errs, err := ParseNumbers(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if !reflect.DeepEqual(rows, tt.rows) {
				t.Errorf("rows\n got %+v\nwant %+v", rows, tt.rows)
			}
			if !reflect.DeepEqual(errs, tt.errs) {
				t.Errorf("errors\n got %+v\nwant %+v", errs, tt.errs)
			}
		})
	}
}

func TestParseContacts(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		contacts []Contact
		errs     []RowError
	}{
		{"empty", "", nil, nil},
		{"only a header", "phone\n", nil, nil},
		{"every column", "first_name,last_name,phone,cedula_ruc,contact_source\nAna,Díaz,+593 99 123 4567,0912345678,fair\n", []Contact{
			{FirstName: "Ana", LastName: "Díaz", Phone: "+593991234567", CedulaRUC: "0912345678", Source: "fair"},
		}, nil},
		{"any order and case", "\ufeffContact_Source, PHONE ,First Name,last-name\nweb,555-1234,Luis,Paz\n", []Contact{
			{FirstName: "Luis", LastName: "Paz", Phone: "5551234", Source: "web"},
		}, nil},
		{"phone only, shared phones kept", "phone\n5551234\n\n5551234\n", []Contact{
			{Phone: "5551234"}, {Phone: "5551234"},
		}, nil},
		{"no phone column", "first_name,last_name\nAna,Díaz\n", nil, []RowError{{1, "no phone column in the header"}}},
		{"not a header", "5551234,Ana\n5555678,Luis\n", nil, []RowError{
			{1, `unknown column "5551234" (want first_name, last_name, phone, cedula_ruc, contact_source)`},
			{1, `unknown column "Ana" (want first_name, last_name, phone, cedula_ruc, contact_source)`},
			{1, "no phone column in the header"},
		}},
		{"unknown and repeated columns are reported and skipped", "phone,email,first_name,First_Name\n5551234,a@b.c,Ana,Other\n", []Contact{
			{FirstName: "Ana", Phone: "5551234"},
		}, []RowError{
			{1, `unknown column "email" (want first_name, last_name, phone, cedula_ruc, contact_source)`},
			{1, `column "First_Name" repeated`},
		}},
		{"malformed rows are reported, good rows kept", strings.Join([]string{
			"first_name,phone",  // 1
			"Ana,5551234",       // 2
			"Bad,call me",       // 3
			"Short,12",          // 4
			"Few",               // 5
			"Many,5555678,x",    // 6
			"Empty,",            // 7
			"Eve,(02) 234-5678", // 8
		}, "\n"), []Contact{
			{FirstName: "Ana", Phone: "5551234"},
			{FirstName: "Eve", Phone: "022345678"},
		}, []RowError{
			{3, `bad phone number "call me"`},
			{4, `bad phone number "12"`},
			{5, "1 cells, the header has 2"},
			{6, "3 cells, the header has 2"},
			{7, `bad phone number ""`},
		}},
		{"bad quote stops the reading", "phone,first_name\n5551234,Ana\n5555678,\"Lu\"is\"\n5550000,Eve\n", []Contact{
			{FirstName: "Ana", Phone: "5551234"},
		}, []RowError{{3, `bad CSV at column 12: extraneous or missing " in quoted-field`}}},
		{"bad quote in the header", "\"phone\n", nil, []RowError{{1, `bad CSV at column 8: extraneous or missing " in quoted-field`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			contacts, errs, err := ParseContacts(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if !reflect.DeepEqual(contacts, tt.contacts) {
				t.Errorf("contacts\n got %+v\nwant %+v", contacts, tt.contacts)
			}
			if !reflect.DeepEqual(errs, tt.errs) {
				t.Errorf("errors\n got %+v\nwant %+v", errs, tt.errs)
			}
		})
	}
}

// A failing reader is the error; what was read before it is returned.
func TestParseReaderFailure(t *testing.T) {
	boom := errors.New("disk on fire")
	numbers := "phone\n5551234\n55x\n"
	rows, errs, err := ParseNumbers(io.MultiReader(strings.NewReader(numbers), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) {
		t.Fatalf("ParseNumbers error %v, want %v", err, boom)
	}
	if len(rows) != 1 || rows[0].Phone != "5551234" || len(errs) != 1 || errs[0].Line != 3 {
		t.Fatalf("ParseNumbers rows %+v errors %+v", rows, errs)
	}
	contacts := "phone\n5551234\n55x\n"
	cs, errs, err := ParseContacts(io.MultiReader(strings.NewReader(contacts), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) {
		t.Fatalf("ParseContacts error %v, want %v", err, boom)
	}
	if len(cs) != 1 || cs[0].Phone != "5551234" || len(errs) != 1 || errs[0].Line != 3 {
		t.Fatalf("ParseContacts contacts %+v errors %+v", cs, errs)
	}
	// A reader that fails at once.
	if _, _, err := ParseNumbers(iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Fatalf("ParseNumbers on a dead reader: %v", err)
	}
	// One byte at a time is the same as all at once.
	rows, errs, err = ParseNumbers(iotest.OneByteReader(strings.NewReader("\ufeffphone,a\n5551234,x\n")))
	if err != nil || len(errs) != 0 || len(rows) != 1 || rows[0].Attributes[0].Label != "a" {
		t.Fatalf("one byte at a time: %+v %+v %v", rows, errs, err)
	}
}

func TestRowError(t *testing.T) {
	e := RowError{Line: 7, Msg: `bad phone number "x"`}
	if got := e.Error(); got != `line 7: bad phone number "x"` {
		t.Fatalf("Error() = %q", got)
	}
}
