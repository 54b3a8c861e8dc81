package main

import (
	"fmt"
	"net/url"
	"time"
)

// Times on the command line, and how the admin API is given them.

// parseTime reads a time given on the command line: "" (the zero time), a
// duration ago (24h), a date (2026-11-01, midnight local time), a local
// date and time (2026-11-01T08:00 or 2026-11-01T08:00:00) or an RFC 3339
// time.
func parseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{time.DateOnly, "2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: want a duration ago (24h), a date (2026-11-01) or an RFC 3339 time", s)
}

// parseRange reads -from and -to (as parseTime does), refusing a -to that
// is not after -from.
func parseRange(fromS, toS string, now time.Time) (from, to time.Time, err error) {
	if from, err = parseTime(fromS, now); err != nil {
		return from, to, fmt.Errorf("-from: %w", err)
	}
	if to, err = parseTime(toS, now); err != nil {
		return from, to, fmt.Errorf("-to: %w", err)
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return from, to, fmt.Errorf("-to %s is not after -from %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	return from, to, nil
}

// timeQuery is the from and to parameters of the admin API, left out when
// zero.
func timeQuery(from, to time.Time) url.Values {
	q := url.Values{}
	if !from.IsZero() {
		q.Set("from", from.Format(time.RFC3339Nano))
	}
	if !to.IsZero() {
		q.Set("to", to.Format(time.RFC3339Nano))
	}
	return q
}
