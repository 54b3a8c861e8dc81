package campaign

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// defaultMaxSize is the longest value a field takes when its MaxSize is 0,
// as dialerd's form_data_recolected column holds.
const defaultMaxSize = 250

// maxMaxSize is the highest MaxSize a field may declare.
const maxMaxSize = 65535

// FormError is why saveformdata refuses a form's values: Code and Msg are
// ECCP's failure code and message, word for word.
type FormError struct {
	Code int
	Msg  string
}

func (e *FormError) Error() string { return e.Msg }

// CheckFormData checks the values an agent saves for a call against the
// campaign's forms (by id), as ECCP's saveformdata does, and returns the
// first value refused, or nil. Forms are taken in increasing id order and
// their fields likewise, so the error is the same on every call. The
// failures are:
//
//   - 404 "Form ID not found: F" — F is not one of forms;
//   - 404 "Field ID not found in form: F - X" — the form has no field X;
//   - 413 "Form value too large: F - X" — the value has more characters
//     (runes, not bytes) than the field's MaxSize, or than 250 when MaxSize
//     is 0;
//   - 406 "Date format not acceptable, must be yyyy-mm-dd or yyyy-mm-dd
//     hh:mm:ss: F - X" — a DATE field's value is not one of those two
//     forms, or not a real date and time (2024-02-30, 25:00:00); an empty
//     value is accepted;
//   - 406 "Value not in list of accepted values: F - X" — a LIST field's
//     value is not one of its options (compared exactly); an empty value is
//     accepted.
//
// A LABEL field shows text and takes no value. A value sent for one is
// accepted and not checked, as dialerd does (it skips labels), but it
// must not be stored: storableFormData drops it.
//
// Values are taken as sent: not trimmed, and TEXT and TEXTAREA take any
// text within the size.
func CheckFormData(forms map[int]Form, data map[int]map[int]string) *FormError {
	for _, formID := range sortedKeys(data) {
		form, ok := forms[formID]
		if !ok {
			return &FormError{404, fmt.Sprintf("Form ID not found: %d", formID)}
		}
		values := data[formID]
		for _, fieldID := range sortedKeys(values) {
			if err := form.checkValue(formID, fieldID, values[fieldID]); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkValue checks one value saved for the form's field fieldID; formID
// is the id the value was sent with, which the messages name.
func (f Form) checkValue(formID, fieldID int, v string) *FormError {
	field, ok := f.field(fieldID)
	if !ok {
		return &FormError{404, fmt.Sprintf("Field ID not found in form: %d - %d", formID, fieldID)}
	}
	if field.Type == Label {
		return nil
	}
	if utf8.RuneCountInString(v) > field.maxSize() {
		return &FormError{413, fmt.Sprintf("Form value too large: %d - %d", formID, fieldID)}
	}
	switch field.Type {
	case Date:
		if v != "" && !validDate(v) {
			return &FormError{406, fmt.Sprintf("Date format not acceptable, must be yyyy-mm-dd or yyyy-mm-dd hh:mm:ss: %d - %d", formID, fieldID)}
		}
	case List:
		if v != "" && !slices.Contains(field.Options, v) {
			return &FormError{406, fmt.Sprintf("Value not in list of accepted values: %d - %d", formID, fieldID)}
		}
	}
	return nil
}

// storableFormData is data without the values sent for LABEL fields, which
// CheckFormData accepts but which are not kept; forms with nothing left
// are left out. data must have passed CheckFormData. It returns a new map
// and never changes data.
func storableFormData(forms map[int]Form, data map[int]map[int]string) map[int]map[int]string {
	out := make(map[int]map[int]string, len(data))
	for formID, values := range data {
		form := forms[formID]
		kept := make(map[int]string, len(values))
		for fieldID, v := range values {
			if field, ok := form.field(fieldID); ok && field.Type == Label {
				continue
			}
			kept[fieldID] = v
		}
		if len(kept) > 0 {
			out[formID] = kept
		}
	}
	return out
}

// field is the form's field with that id.
func (f Form) field(id int) (Field, bool) {
	for _, fl := range f.Fields {
		if fl.ID == id {
			return fl, true
		}
	}
	return Field{}, false
}

// maxSize is the most characters the field's value may have.
func (fl Field) maxSize() int {
	if fl.MaxSize == 0 {
		return defaultMaxSize
	}
	return fl.MaxSize
}

// validDate says whether v is a date "yyyy-mm-dd" or a date and time
// "yyyy-mm-dd hh:mm:ss", with exactly those digits and separators, that
// exists on the calendar and the clock. time.Parse alone is not enough:
// it takes one-digit hours and a fraction after the seconds.
func validDate(v string) bool {
	const date, datetime = "dddd-dd-dd", "dddd-dd-dd dd:dd:dd"
	var layout string
	switch len(v) {
	case len(date):
		layout = "2006-01-02"
	case len(datetime):
		layout = "2006-01-02 15:04:05"
	default:
		return false
	}
	shape := datetime[:len(v)]
	for i := 0; i < len(v); i++ {
		if shape[i] == 'd' {
			if v[i] < '0' || v[i] > '9' {
				return false
			}
		} else if v[i] != shape[i] {
			return false
		}
	}
	_, err := time.Parse(layout, v)
	return err == nil
}

// Check says whether the form can be offered to agents: it has a name and
// at least one field; every field has a positive id not used by another
// field, a label, and a known type; MaxSize is 0 (250) to 65535; a LIST
// field has at least one option, no empty (or blank) and no repeated
// option, no option longer than MaxSize, and a default that is empty or
// one of its options; other fields have no options, and a default that
// fits MaxSize (and, for DATE, is a valid date). The first problem, in
// field order, is the error, and names the field by id and label, or by
// position when its id is the problem.
func (f Form) Check() error {
	if strings.TrimSpace(f.Name) == "" {
		return fmt.Errorf("form %d has no name", f.ID)
	}
	if len(f.Fields) == 0 {
		return fmt.Errorf("form %q has no fields", f.Name)
	}
	seen := make(map[int]int, len(f.Fields))
	for i, fl := range f.Fields {
		if fl.ID <= 0 {
			return fmt.Errorf("form %q: field %d (%q): id %d is not positive", f.Name, i+1, fl.Label, fl.ID)
		}
		if j, ok := seen[fl.ID]; ok {
			return fmt.Errorf("form %q: field %d (%q): id %d is also field %d's", f.Name, i+1, fl.Label, fl.ID, j+1)
		}
		seen[fl.ID] = i
		if err := fl.check(); err != nil {
			return fmt.Errorf("form %q: field %d (%q): %w", f.Name, fl.ID, fl.Label, err)
		}
	}
	return nil
}

// check is Check for one field, without its id.
func (fl Field) check() error {
	if strings.TrimSpace(fl.Label) == "" {
		return fmt.Errorf("no label")
	}
	switch fl.Type {
	case Text, TextArea, Date, Label, List:
	default:
		return fmt.Errorf("unknown type %q (want TEXT, TEXTAREA, DATE, LABEL or LIST)", fl.Type)
	}
	if fl.MaxSize < 0 || fl.MaxSize > maxMaxSize {
		return fmt.Errorf("max size %d is not within 0..%d", fl.MaxSize, maxMaxSize)
	}
	if fl.Type != List {
		if len(fl.Options) > 0 {
			return fmt.Errorf("options on a %s field (only LIST has options)", fl.Type)
		}
		if utf8.RuneCountInString(fl.Default) > fl.maxSize() {
			return fmt.Errorf("default longer than max size %d", fl.maxSize())
		}
		if fl.Type == Date && fl.Default != "" && !validDate(fl.Default) {
			return fmt.Errorf("default %q is not yyyy-mm-dd or yyyy-mm-dd hh:mm:ss", fl.Default)
		}
		return nil
	}
	if len(fl.Options) == 0 {
		return fmt.Errorf("LIST without options")
	}
	for i, o := range fl.Options {
		if strings.TrimSpace(o) == "" {
			return fmt.Errorf("option %d is empty", i+1)
		}
		if slices.Contains(fl.Options[:i], o) {
			return fmt.Errorf("option %q repeated", o)
		}
		if utf8.RuneCountInString(o) > fl.maxSize() {
			return fmt.Errorf("option %q longer than max size %d", o, fl.maxSize())
		}
	}
	if fl.Default != "" && !slices.Contains(fl.Options, fl.Default) {
		return fmt.Errorf("default %q is not one of the options", fl.Default)
	}
	return nil
}

// sortedKeys are m's keys in increasing order.
func sortedKeys[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
