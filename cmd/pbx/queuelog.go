package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"pbx/queue"
	"pbx/store"
	"pbx/web"
)

// queueLog is `pbx queue-log`: the queue log's entries of a time range,
// from the running PBX or, when none runs, from its store.
func queueLog(args []string) error {
	fs := flag.NewFlagSet("queue-log", flag.ContinueOnError)
	fromS := fs.String("from", "1h", "a duration ago (24h), a date (2026-11-01) or an RFC 3339 time")
	toS := fs.String("to", "", "the end, in the same forms, excluded (default: none)")
	limit := fs.Int("limit", web.DefaultQueueLogLimit, fmt.Sprintf("at most this many entries, the oldest first (up to %d)", web.MaxQueueLogLimit))
	format := fs.String("format", "table", "table, log (queue_log file lines, as Asterisk writes them) or json")
	dataDir := dataFlag(fs)
	api := apiFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("queue-log: unexpected %q", fs.Arg(0))
	}
	if err := checkFormat(*format, "table", "log", "json"); err != nil {
		return err
	}
	if *limit < 1 || *limit > web.MaxQueueLogLimit {
		return fmt.Errorf("-limit %d: want 1 to %d", *limit, web.MaxQueueLogLimit)
	}
	from, to, err := parseRange(*fromS, *toS, time.Now())
	if err != nil {
		return err
	}
	q := timeQuery(from, to)
	q.Set("limit", strconv.Itoa(*limit))
	var list []queue.QlogEntry
	err = askOrRead(func() error {
		return getJSON(*api+"/api/queue_log?"+q.Encode(), "", &list)
	}, *dataDir, func(st *store.Store) (err error) {
		list, err = queue.ReadQlog(st, from, to, *limit)
		return err
	})
	if err != nil {
		return err
	}
	if len(list) == *limit {
		fmt.Fprintf(os.Stderr, "pbx: the first %d entries only: narrow -from and -to, or raise -limit\n", *limit)
	}
	switch *format {
	case "json":
		return printJSON(os.Stdout, list)
	case "log":
		for _, e := range list {
			if _, err := fmt.Fprintln(os.Stdout, e.Line()); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tCALL\tQUEUE\tAGENT\tEVENT\tDATA")
	for _, e := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Local().Format(time.DateTime), e.CallID, e.Queue, e.Agent,
			e.Event, dash(strings.Join(e.Data, "|")))
	}
	return tw.Flush()
}
