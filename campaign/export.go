package campaign

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
)

// ExportResults writes a campaign's calls, with their outcome, their
// attributes and the form data agents saved, as CSV (one row per call, a
// column per attribute label and per form field) or JSON (the records).
func (c *Center) ExportResults(campaignID int, w io.Writer, format string) error {
	if _, ok := c.Campaign(campaignID); !ok {
		return fmt.Errorf("campaign %d: %w", campaignID, ErrNotFound)
	}
	calls := c.Calls(campaignID)
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(calls)
	case "csv", "":
		return writeResultsCSV(w, calls)
	}
	return fmt.Errorf("%w: format %q: want csv or json", ErrInvalid, format)
}

func writeResultsCSV(w io.Writer, calls []Call) error {
	var labels []string
	type formField struct{ form, field int }
	var fields []formField
	for _, cl := range calls {
		for _, a := range cl.Attributes {
			if !slices.Contains(labels, a.Label) {
				labels = append(labels, a.Label)
			}
		}
		for f, vals := range cl.FormData {
			for fl := range vals {
				if !slices.Contains(fields, formField{f, fl}) {
					fields = append(fields, formField{f, fl})
				}
			}
		}
	}
	slices.SortFunc(fields, func(a, b formField) int {
		if a.form != b.form {
			return a.form - b.form
		}
		return a.field - b.field
	})
	head := []string{"call_id", "phone", "status", "retries", "trunk", "agent", "datetime_originate",
		"datetime_originateresponse", "datetime_join", "datetime_linkstart", "datetime_linkend", "duration", "failure_cause"}
	head = append(head, labels...)
	for _, f := range fields {
		head = append(head, fmt.Sprintf("form%d.field%d", f.form, f.field))
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, cl := range calls {
		row := []string{strconv.Itoa(cl.ID), cl.Phone, string(cl.Status), strconv.Itoa(cl.Retries), cl.Trunk, cl.Agent,
			stamp(cl.Originate), stamp(cl.OriginateResponse), stamp(cl.Join), stamp(cl.LinkStart), stamp(cl.LinkEnd),
			strconv.Itoa(int(cl.Duration.Seconds())), cl.Failure}
		for _, l := range labels {
			v := ""
			for _, a := range cl.Attributes {
				if a.Label == l {
					v = a.Value
				}
			}
			row = append(row, v)
		}
		for _, f := range fields {
			row = append(row, cl.FormData[f.form][f.field])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// stamp is a time as ECCP writes them; "" for none.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02 15:04:05")
}

// QueueWait is how long a campaign's calls waited in the queue for an
// agent: counts in 5-second buckets (0-4 s, 5-9 s, … 25-29 s, then 30 s
// and more), and how many were abandoned while waiting.
func (c *Center) QueueWait(campaignID int) (buckets []int, abandoned int) {
	buckets = make([]int, 7)
	for _, cl := range c.Calls(campaignID) {
		switch {
		case cl.Status == Abandoned:
			abandoned++
		case !cl.Join.IsZero() && !cl.LinkStart.IsZero():
			i := int(cl.LinkStart.Sub(cl.Join) / (5 * time.Second))
			buckets[min(max(i, 0), 6)]++
		}
	}
	return buckets, abandoned
}

// AgentCalls is one agent's campaign calls of one kind in one queue:
// how many, and how long they talked, for activity summaries.
type AgentCalls struct {
	Agent   string        `json:"agent"`
	Kind    Kind          `json:"type"`
	Queue   string        `json:"queue"`
	Calls   int           `json:"num_calls"`
	Talking time.Duration `json:"sec_calls"`
}

// AgentActivity sums the campaign calls agents talked on whose
// conversation started in [from, to), by agent, kind and queue.
func (c *Center) AgentActivity(from, to time.Time) []AgentCalls {
	type k struct {
		agent string
		kind  Kind
		queue string
	}
	sums := map[k]*AgentCalls{}
	c.mu.Lock()
	for _, cl := range c.calls {
		if cl.Agent == "" || cl.LinkStart.IsZero() || cl.LinkStart.Before(from) || !cl.LinkStart.Before(to) {
			continue
		}
		key := k{cl.Agent, cl.Kind, cl.Queue}
		s := sums[key]
		if s == nil {
			s = &AgentCalls{Agent: cl.Agent, Kind: cl.Kind, Queue: cl.Queue}
			sums[key] = s
		}
		s.Calls++
		s.Talking += cl.Duration
	}
	c.mu.Unlock()
	out := make([]AgentCalls, 0, len(sums))
	for _, s := range sums {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b AgentCalls) int {
		return cmp.Or(cmp.Compare(a.Agent, b.Agent), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Queue, b.Queue))
	})
	return out
}
