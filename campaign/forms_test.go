package campaign

import (
	"reflect"
	"strings"
	"testing"
)

// testForms are two forms of a campaign: 1 with every field type, 2 with
// a large TEXTAREA.
func testForms() map[int]Form {
	return map[int]Form{
		1: {ID: 1, Name: "Survey", Active: true, Fields: []Field{
			{ID: 1, Order: 1, Label: "Name", Type: Text},
			{ID: 2, Order: 2, Label: "Short", Type: Text, MaxSize: 5},
			{ID: 3, Order: 3, Label: "Born", Type: Date},
			{ID: 4, Order: 4, Label: "Please ask politely", Type: Label},
			{ID: 5, Order: 5, Label: "Colour", Type: List, Options: []string{"red", "green", "azul marino"}},
		}},
		2: {ID: 2, Name: "Notes", Active: true, Fields: []Field{
			{ID: 7, Order: 1, Label: "Notes", Type: TextArea, MaxSize: 1000},
		}},
	}
}

func TestCheckFormData(t *testing.T) {
	type data = map[int]map[int]string
	tests := []struct {
		name string
		data data
		code int
		msg  string
	}{
		{"nothing", nil, 0, ""},
		{"empty form", data{1: {}}, 0, ""},
		{"all good", data{
			1: {1: "Ana", 2: "12345", 3: "1990-02-28", 4: "ignored", 5: "azul marino"},
			2: {7: strings.Repeat("n", 1000)},
		}, 0, ""},
		{"empty values", data{1: {1: "", 2: "", 3: "", 5: ""}}, 0, ""},
		{"datetime", data{1: {3: "2024-02-29 23:59:59"}}, 0, ""},
		{"250 runes fit the default size", data{1: {1: strings.Repeat("ñ", 250)}}, 0, ""},
		{"label takes anything", data{1: {4: strings.Repeat("x", 5000)}}, 0, ""},

		{"unknown form", data{3: {1: "x"}}, 404, "Form ID not found: 3"},
		{"form zero", data{0: {1: "x"}}, 404, "Form ID not found: 0"},
		{"unknown field", data{1: {6: "x"}}, 404, "Field ID not found in form: 1 - 6"},
		{"field of another form", data{1: {7: "x"}}, 404, "Field ID not found in form: 1 - 7"},
		{"default size", data{1: {1: strings.Repeat("a", 251)}}, 413, "Form value too large: 1 - 1"},
		{"max size", data{1: {2: "123456"}}, 413, "Form value too large: 1 - 2"},
		{"max size runes", data{1: {2: "ñññññ"}}, 0, ""},
		{"textarea size", data{2: {7: strings.Repeat("n", 1001)}}, 413, "Form value too large: 2 - 7"},
		{"date too large before format", data{1: {3: strings.Repeat("9", 251)}}, 413, "Form value too large: 1 - 3"},
		{"list too large before list", data{1: {5: strings.Repeat("r", 251)}}, 413, "Form value too large: 1 - 5"},
	}
	badDates := []string{
		"today", "1990-2-28", "90-02-28", "1990/02/28", "1990-02-28T10:00:00", "1990-02-28 10:00",
		"1990-02-28 1:00:00", "1990-02-28 10:00:00.5", "1990-02-30", "1990-13-01", "1990-02-28 24:00:00",
		"1990-02-28 10:60:00", " 1990-02-28", "1990-02-28 ", "１９９０-02-28", "+990-02-28",
	}
	for _, d := range badDates {
		tests = append(tests, struct {
			name string
			data data
			code int
			msg  string
		}{"bad date " + d, data{1: {3: d}}, 406, "Date format not acceptable, must be yyyy-mm-dd or yyyy-mm-dd hh:mm:ss: 1 - 3"})
	}
	for _, v := range []string{"blue", "Red", "red ", "red,green", "azul"} {
		tests = append(tests, struct {
			name string
			data data
			code int
			msg  string
		}{"not in list " + v, data{1: {5: v}}, 406, "Value not in list of accepted values: 1 - 5"})
	}
	// The first error in form then field order is the one reported.
	tests = append(tests, []struct {
		name string
		data data
		code int
		msg  string
	}{
		{"first field wins", data{1: {5: "blue", 3: "x", 2: "toolong"}}, 413, "Form value too large: 1 - 2"},
		{"first form wins", data{2: {7: strings.Repeat("n", 1001)}, 1: {9: "x"}, 9: {1: "x"}}, 404, "Field ID not found in form: 1 - 9"},
		{"unknown form after good one", data{1: {1: "ok"}, 5: {1: "x"}}, 404, "Form ID not found: 5"},
	}...)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 20 { // map order must not change the answer
				err := CheckFormData(testForms(), tt.data)
				if tt.code == 0 {
					if err != nil {
						t.Fatalf("error %d %q, want none", err.Code, err.Msg)
					}
					continue
				}
				if err == nil {
					t.Fatalf("no error, want %d %q", tt.code, tt.msg)
				}
				if err.Code != tt.code || err.Msg != tt.msg || err.Error() != tt.msg {
					t.Fatalf("error %d %q (%q), want %d %q", err.Code, err.Msg, err.Error(), tt.code, tt.msg)
				}
			}
		})
	}
}

// The messages name the form by the id it was sent with.
func TestCheckFormDataFormKey(t *testing.T) {
	forms := map[int]Form{8: {Name: "No id", Fields: []Field{{ID: 1, Label: "a", Type: List, Options: []string{"x"}}}}}
	err := CheckFormData(forms, map[int]map[int]string{8: {1: "y"}})
	if err == nil || err.Msg != "Value not in list of accepted values: 8 - 1" {
		t.Fatalf("got %v", err)
	}
}

func TestStorableFormData(t *testing.T) {
	data := map[int]map[int]string{
		1: {1: "Ana", 4: "label text", 5: "red"},
		2: {7: "notes"},
	}
	got := storableFormData(testForms(), data)
	want := map[int]map[int]string{1: {1: "Ana", 5: "red"}, 2: {7: "notes"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if len(data[1]) != 3 {
		t.Fatalf("data changed: %v", data)
	}
	if got := storableFormData(testForms(), map[int]map[int]string{1: {4: "x"}}); len(got) != 0 {
		t.Fatalf("only a label: got %v", got)
	}
}

func TestFormCheck(t *testing.T) {
	good := func() Form { return testForms()[1] }
	with := func(change func(*Form)) Form {
		f := good()
		f.Fields = append([]Field(nil), f.Fields...)
		change(&f)
		return f
	}
	tests := []struct {
		name string
		form Form
		want string // a part of the error; "" for none
	}{
		{"good", good(), ""},
		{"good notes", testForms()[2], ""},
		{"list default", with(func(f *Form) { f.Fields[4].Default = "green" }), ""},
		{"date default", with(func(f *Form) { f.Fields[2].Default = "2020-01-01 08:00:00" }), ""},
		{"max size bounds", with(func(f *Form) { f.Fields[0].MaxSize = 65535; f.Fields[1].MaxSize = 1 }), ""},
		{"no name", with(func(f *Form) { f.Name = " " }), "form 1 has no name"},
		{"no fields", with(func(f *Form) { f.Fields = nil }), `form "Survey" has no fields`},
		{"zero id", with(func(f *Form) { f.Fields[1].ID = 0 }), `form "Survey": field 2 ("Short"): id 0 is not positive`},
		{"negative id", with(func(f *Form) { f.Fields[0].ID = -3 }), `field 1 ("Name"): id -3 is not positive`},
		{"repeated id", with(func(f *Form) { f.Fields[3].ID = 2 }), `field 4 ("Please ask politely"): id 2 is also field 2's`},
		{"no label", with(func(f *Form) { f.Fields[0].Label = "" }), `field 1 (""): no label`},
		{"unknown type", with(func(f *Form) { f.Fields[0].Type = "NUMBER" }), `field 1 ("Name"): unknown type "NUMBER"`},
		{"lowercase type", with(func(f *Form) { f.Fields[0].Type = "text" }), `unknown type "text"`},
		{"max size negative", with(func(f *Form) { f.Fields[1].MaxSize = -1 }), `field 2 ("Short"): max size -1 is not within 0..65535`},
		{"max size huge", with(func(f *Form) { f.Fields[1].MaxSize = 65536 }), "max size 65536"},
		{"options on text", with(func(f *Form) { f.Fields[0].Options = []string{"a"} }), `field 1 ("Name"): options on a TEXT field`},
		{"default too large", with(func(f *Form) { f.Fields[1].Default = "123456" }), `field 2 ("Short"): default longer than max size 5`},
		{"bad date default", with(func(f *Form) { f.Fields[2].Default = "tomorrow" }), `field 3 ("Born"): default "tomorrow" is not yyyy-mm-dd`},
		{"list without options", with(func(f *Form) { f.Fields[4].Options = nil }), `field 5 ("Colour"): LIST without options`},
		{"empty option", with(func(f *Form) { f.Fields[4].Options = []string{"red", ""} }), `field 5 ("Colour"): option 2 is empty`},
		{"blank option", with(func(f *Form) { f.Fields[4].Options = []string{"  "} }), "option 1 is empty"},
		{"repeated option", with(func(f *Form) { f.Fields[4].Options = []string{"red", "blue", "red"} }), `option "red" repeated`},
		{"option too large", with(func(f *Form) { f.Fields[4].MaxSize = 3; f.Fields[4].Options = []string{"red", "green"} }), `option "green" longer than max size 3`},
		{"default outside list", with(func(f *Form) { f.Fields[4].Default = "blue" }), `field 5 ("Colour"): default "blue" is not one of the options`},
		{"first field's problem wins", with(func(f *Form) { f.Fields[4].Options = nil; f.Fields[1].MaxSize = -1 }), `field 2 ("Short")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.form.Check()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}
