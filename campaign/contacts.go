package campaign

import (
	"slices"
	"strings"
)

// minSuffixDigits is how many digits the shorter of two numbers needs for
// the longer to match it by its end.
const minSuffixDigits = 7

// NormalizePhone is s with only its ASCII digits: "+1 (555) 010-0199"
// is "15550100199".
func NormalizePhone(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// MatchContacts is the contacts of book an incoming call from callerID
// belongs to, for the agent to choose from. A contact matches when its
// phone and the caller id, both normalized (NormalizePhone), are equal;
// or, failing that, when the longer ends with the shorter once leading
// zeros are dropped from both and the shorter still has at least 7
// digits, which matches a national form against an international one
// ("0991234567", "991234567" and "+593 99 123 4567" are one number, and
// "00593991234567" is "+593991234567"). Exact matches come first, then the
// others, each in increasing ID order. An empty caller id, or one without
// digits ("anonymous"), matches nothing; so does a contact whose phone has
// no digits. The result shares nothing with book.
func MatchContacts(book []Contact, callerID string) []Contact {
	caller := NormalizePhone(callerID)
	if caller == "" {
		return nil
	}
	callerTail := strings.TrimLeft(caller, "0")
	var exact, near []Contact
	for _, c := range book {
		p := NormalizePhone(c.Phone)
		switch {
		case p == "":
		case p == caller:
			exact = append(exact, c)
		case suffixMatch(strings.TrimLeft(p, "0"), callerTail):
			near = append(near, c)
		}
	}
	byID := func(a, b Contact) int { return a.ID - b.ID }
	slices.SortStableFunc(exact, byID)
	slices.SortStableFunc(near, byID)
	return append(exact, near...)
}

// suffixMatch says whether the longer of a and b ends with the shorter and
// the shorter has at least minSuffixDigits digits.
func suffixMatch(a, b string) bool {
	if len(a) < len(b) {
		a, b = b, a
	}
	return len(b) >= minSuffixDigits && strings.HasSuffix(a, b)
}
