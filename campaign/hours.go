package campaign

import (
	"fmt"
	"time"
)

// clockMinutes reads "HH:MM" as minutes after midnight.
func clockMinutes(hm string) (int, error) {
	t, err := time.Parse("15:04", hm)
	if err != nil {
		return 0, fmt.Errorf("%q: want HH:MM", hm)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// open reports whether an outgoing campaign may dial at t: within its
// dates and its daily working hours.
func (cp *Campaign) open(t time.Time) bool {
	day := dateOf(t, t.Location())
	if !cp.Start.IsZero() && day.Before(dateOf(cp.Start, t.Location())) {
		return false
	}
	if !cp.End.IsZero() && day.After(dateOf(cp.End, t.Location())) {
		return false
	}
	if cp.WorkStart == "" {
		return true
	}
	from, _ := clockMinutes(cp.WorkStart)
	to, _ := clockMinutes(cp.WorkEnd)
	m := t.Hour()*60 + t.Minute()
	if from <= to {
		return m >= from && m < to
	}
	return m >= from || m < to // hours across midnight
}

// dateOf is the midnight in loc that starts d's day.
func dateOf(d time.Time, loc *time.Location) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
}
