package campaign

import (
	"slices"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"1003", "1003"},
		{"+1 (555) 010-0199", "15550100199"},
		{"099.123.4567", "0991234567"},
		{"anonymous", ""},
		{"sip:1003@pbx.example", "1003"},
		{"١٢٣", ""}, // digits of other scripts are not phone digits
		{"\xff12\x003", "123"},
	}
	for _, tt := range tests {
		if got := NormalizePhone(tt.in); got != tt.want {
			t.Errorf("NormalizePhone(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMatchContacts(t *testing.T) {
	book := []Contact{
		{ID: 9, FirstName: "Ana", Phone: "+593 99 123 4567"},
		{ID: 3, FirstName: "Luis", Phone: "0991234567"},
		{ID: 5, FirstName: "Eva", Phone: "099-123-4567"},
		{ID: 1, FirstName: "Office", Phone: "(02) 234 5678"},
		{ID: 2, FirstName: "Short", Phone: "1003"},
		{ID: 4, FirstName: "Other", Phone: "+1 555 010 0199"},
		{ID: 6, FirstName: "Nobody", Phone: ""},
		{ID: 7, FirstName: "Six", Phone: "345678"},
		{ID: 8, FirstName: "Intl", Phone: "00593991234567"},
	}
	tests := []struct {
		name   string
		caller string
		want   []int
	}{
		{"empty", "", nil},
		{"no digits", "anonymous", nil},
		{"unknown", "5550000", nil},
		{"one exact", "1003", []int{2}},
		{"short numbers need exact", "003", nil},
		{"national: exact first, then by id", "0991234567", []int{3, 5, 8, 9}},
		{"international", "+593991234567", []int{9, 3, 5, 8}},
		{"international with 00", "00593991234567", []int{8, 3, 5, 9}},
		{"without trunk zero", "991234567", []int{3, 5, 8, 9}},
		{"landline", "+59322345678", []int{1}},
		{"punctuated caller", "+1 (555) 010-0199", []int{4}},
		{"us national", "5550100199", []int{4}},
		{"shorter than 7 is no suffix", "45678", nil},
		{"six digits exact", "345678", []int{7}},
		{"seven digits are enough", "1234567", []int{3, 5, 8, 9}},
		{"a suffix of nothing", "9876543", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MatchContacts(book, tt.caller)
			var ids []int
			for _, c := range got {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Fatalf("MatchContacts(%q) = %v, want %v", tt.caller, ids, tt.want)
			}
		})
	}
	if got := MatchContacts(nil, "1003"); got != nil {
		t.Fatalf("empty book: %v", got)
	}
	// The result is a copy.
	got := MatchContacts(book, "1003")
	got[0].FirstName = "changed"
	if book[4].FirstName != "Short" {
		t.Fatal("MatchContacts shares memory with the book")
	}
}
