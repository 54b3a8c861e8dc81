package eccp

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"pbx/campaign"
)

// Reading a request's arguments as dialerd reads them: its shapes of
// dates and times, PHP's integer cast, paging.

// dateArg is the shape dialerd accepts for a date argument.
var dateArg = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// timeArg is the shape dialerd accepts for a time argument.
var timeArg = regexp.MustCompile(`^\d{2}:\d{2}:\d{2}$`)

// phpInt reads a number as PHP's (int) cast does: leading digits after
// an optional sign, 0 when there are none.
func phpInt(s string) int {
	s = strings.TrimSpace(s)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	n := 0
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n < 1<<40 {
			n = n*10 + int(s[i]-'0')
		}
	}
	if neg {
		return -n
	}
	return n
}

// campaignKind reads campaign_type: def when absent, ok false when it is
// neither incoming nor outgoing.
func campaignKind(args *xnode, def campaign.Kind) (campaign.Kind, bool) {
	if !args.has("campaign_type") {
		return def, true
	}
	switch k := campaign.Kind(args.text("campaign_type")); k {
	case campaign.Incoming, campaign.Outgoing:
		return k, true
	}
	return "", false
}

// dateRange reads datetime_start and datetime_end (yyyy-mm-dd, today when
// absent), swapped when reversed, as campaignlog and
// getagentactivitysummary take them.
func dateRange(args *xnode, today string) (start, end string, err error) {
	start, end = today, today
	if args.has("datetime_start") {
		if start = args.text("datetime_start"); !dateArg.MatchString(start) {
			return "", "", badRequest("Bad request - invalid start date")
		}
	}
	if args.has("datetime_end") {
		if end = args.text("datetime_end"); !dateArg.MatchString(end) {
			return "", "", badRequest("Bad request - invalid end date")
		}
	}
	if end < start {
		start, end = end, start
	}
	return start, end, nil
}

// offsetLimit reads limit and offset; offset without limit is a 400.
func offsetLimit(args *xnode) (offset, limit int, limited bool, err error) {
	if args.has("limit") {
		limit, limited = max(phpInt(args.text("limit")), 0), true
	}
	if args.has("offset") {
		if !limited {
			return 0, 0, false, badRequest("Bad request - offset without limit")
		}
		offset = max(phpInt(args.text("offset")), 0)
	}
	return offset, limit, limited, nil
}

// page is the part of n items that offset and limit select, as [lo, hi).
func page(n, offset, limit int, limited bool) (int, int) {
	if !limited {
		return 0, n
	}
	lo := min(offset, n)
	return lo, min(lo+limit, n)
}

// sinceArg reads getcampaignstatus's datetime_start, a date: zero when
// absent.
func sinceArg(args *xnode) (time.Time, error) {
	if !args.has("datetime_start") {
		return time.Time{}, nil
	}
	d := args.text("datetime_start")
	if !dateArg.MatchString(d) {
		return time.Time{}, badRequest("Bad request - invalid start date")
	}
	t, err := time.ParseInLocation(time.DateOnly, d, time.Local)
	if err != nil {
		return time.Time{}, badRequest("Bad request - invalid start date")
	}
	return t, nil
}

// digitsOnly reports a non-empty string of digits.
func digitsOnly(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// intArg reads an optional integer argument; ok false when present and
// not a number.
func intArg(args *xnode, name string) (v int, present, ok bool) {
	if !args.has(name) {
		return 0, false, true
	}
	n, err := strconv.Atoi(args.text(name))
	if err != nil {
		return 0, true, false
	}
	return n, true, true
}
