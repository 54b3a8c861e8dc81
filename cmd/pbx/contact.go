package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"pbx/queue"
)

// The contact-center commands show live state, so they ask the running
// PBX; only the queue log, which is kept in the store, can also be read
// from a stopped PBX's data directory.

// queues is `pbx queues [NAME]`: every queue in one table, or one queue in
// detail (its figures for today, waiting callers and members), or with
// -history its statistics buckets.
func queues(args []string) error {
	fs := flag.NewFlagSet("queues", flag.ContinueOnError)
	format := fs.String("format", "table", "table or json")
	history := fs.Bool("history", false, "with NAME: the statistics buckets of -from to -to")
	fromS := fs.String("from", "", "with -history: a duration ago (24h), a date (2026-11-01) or an RFC 3339 time (default: a day before -to)")
	toS := fs.String("to", "", "with -history: the end, in the same forms (default: now)")
	api := apiFlag(fs)
	// Flags may follow NAME: pbx queues support -history.
	if err := fs.Parse(args); err != nil {
		return err
	}
	name := fs.Arg(0)
	if name != "" {
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return err
		}
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("queues: unexpected %q", fs.Arg(0))
	}
	if err := checkFormat(*format, "table", "json"); err != nil {
		return err
	}
	if (*history || *fromS != "" || *toS != "") && name == "" {
		return errors.New("queues: -history, -from and -to need a queue NAME")
	}
	switch {
	case *history:
		from, to, err := parseRange(*fromS, *toS, time.Now())
		if err != nil {
			return err
		}
		q := timeQuery(from, to)
		var b []queue.Bucket
		if err := askPBX(*api, "/api/queues/"+url.PathEscape(name)+"/history?"+q.Encode(), &b); err != nil {
			return err
		}
		if *format == "json" {
			return printJSON(os.Stdout, b)
		}
		return writeHistory(os.Stdout, b)
	case name != "":
		var q queue.QueueStatus
		if err := askPBX(*api, "/api/queues/"+url.PathEscape(name), &q); err != nil {
			return err
		}
		if *format == "json" {
			return printJSON(os.Stdout, q)
		}
		return writeQueue(os.Stdout, q)
	}
	var list []queue.QueueStatus
	if err := askPBX(*api, "/api/queues", &list); err != nil {
		return err
	}
	if *format == "json" {
		return printJSON(os.Stdout, list)
	}
	return writeQueues(os.Stdout, list)
}

// agents is `pbx agents`: every agent, live.
func agents(args []string) error {
	fs := flag.NewFlagSet("agents", flag.ContinueOnError)
	format := fs.String("format", "table", "table or json")
	api := apiFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("agents: unexpected %q", fs.Arg(0))
	}
	if err := checkFormat(*format, "table", "json"); err != nil {
		return err
	}
	var list []queue.AgentStatus
	if err := askPBX(*api, "/api/agents", &list); err != nil {
		return err
	}
	if *format == "json" {
		return printJSON(os.Stdout, list)
	}
	return writeAgents(os.Stdout, list, time.Now())
}

// writeQueues is the table of `pbx queues`.
func writeQueues(w io.Writer, list []queue.QueueStatus) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "QUEUE\tSTRATEGY\tWAITING\tLONGEST\tAGENTS\tOFFERED\tANSWERED\tABANDONED\tSL%")
	for _, q := range list {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d\t%d\t%d\t%s\n", q.Name, q.Strategy, q.Waiting, waitText(q.LongestWait),
			agentCounts(q.Agents), q.Stats.Offered, q.Stats.Answered, q.Stats.Abandoned, percent(q.Stats))
	}
	return tw.Flush()
}

// writeQueue is `pbx queues NAME`: the queue's line, today's figures, then
// its callers in order and its members.
func writeQueue(w io.Writer, q queue.QueueStatus) error {
	if err := writeQueues(w, []queue.QueueStatus{q}); err != nil {
		return err
	}
	s := q.Stats
	sl := percent(s)
	if sl != "-" {
		sl += "%"
	}
	fmt.Fprintf(w, "\ntoday: offered %d, answered %d (%d within the service level), abandoned %d, timed out %d; service level %s; average hold %s, talk %s; longest hold %s\n",
		s.Offered, s.Answered, s.AnsweredInSL, s.Abandoned, s.Timeouts, sl, waitText(s.AvgHold), waitText(s.AvgTalk), waitText(s.LongestHold))
	if len(q.Callers) == 0 {
		fmt.Fprintln(w, "\nno caller waiting")
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "\nPOS\tCALLER\tWAIT\tPRIORITY\tLEG\tNOTE")
		for _, c := range q.Callers {
			var note []string
			if c.Held {
				note = append(note, "held")
			}
			if c.Callback {
				note = append(note, "callback")
			}
			if len(c.OfferedTo) > 0 {
				note = append(note, "ringing "+strings.Join(c.OfferedTo, ","))
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", c.Position, dash(c.From), waitText(c.Wait), c.Priority, c.LegID, dash(strings.Join(note, "; ")))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(q.Members) == 0 {
		_, err := fmt.Fprintln(w, "\nno member")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nMEMBER\tPENALTY\tSTATE")
	for _, m := range q.Members {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", m.Agent, m.Penalty, m.State)
	}
	return tw.Flush()
}

// writeHistory is `pbx queues NAME -history`: one line per bucket.
func writeHistory(w io.Writer, list []queue.Bucket) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "START\tOFFERED\tANSWERED\tABANDONED\tTIMEOUTS\tSL%\tAVG HOLD\tMAX HOLD\tAVG TALK")
	for _, b := range list {
		sl, hold, talk := "-", time.Duration(0), time.Duration(0)
		if b.Answered > 0 {
			hold, talk = b.HoldSum/time.Duration(b.Answered), b.TalkSum/time.Duration(b.Answered)
		}
		if b.Answered > 0 {
			sl = strconv.FormatFloat(100*float64(b.AnsweredInSL)/float64(b.Answered), 'f', 1, 64)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", b.Start.Local().Format("2006-01-02 15:04"), b.Offered, b.Answered,
			b.Abandoned, b.Timeouts, sl, waitText(hold), waitText(b.MaxHold), waitText(talk))
	}
	return tw.Flush()
}

// writeAgents is the table of `pbx agents`.
func writeAgents(w io.Writer, list []queue.AgentStatus, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AGENT\tNAME\tSTATE\tBREAK\tREASON\tSINCE\tQUEUES\tANSWERED\tMISSED\tTALK TIME")
	for _, a := range list {
		since := "-"
		if !a.Since.IsZero() {
			since = a.Since.Local().Format(time.TimeOnly) + " (" + waitText(now.Sub(a.Since)) + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", a.ID, dash(a.Name), a.State, dash(a.Break), dash(a.Reason),
			since, dash(strings.Join(a.Queues, ",")), a.Answered, a.Missed, waitText(a.TalkTime))
	}
	return tw.Flush()
}

// agentCounts is "idle 2, on-call 1", the states in queue.AgentStates
// order, those with no agent left out.
func agentCounts(m map[string]int) string {
	var parts []string
	for _, st := range queue.AgentStates {
		if n := m[st]; n > 0 {
			parts = append(parts, st+" "+strconv.Itoa(n))
		}
	}
	return dash(strings.Join(parts, ", "))
}

// percent is a service level (the share of answered calls answered within
// the queue's threshold, as Asterisk counts it) with one decimal, "-"
// before any call was answered.
func percent(t queue.Totals) string {
	if t.Answered == 0 {
		return "-"
	}
	return strconv.FormatFloat(t.ServiceLevel, 'f', 1, 64)
}

// waitText is a duration to the second, "0s" for none.
func waitText(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return d.Round(time.Second).String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func checkFormat(f string, want ...string) error {
	for _, w := range want {
		if f == w {
			return nil
		}
	}
	return fmt.Errorf("-format %q: want %s", f, strings.Join(want, " or "))
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
