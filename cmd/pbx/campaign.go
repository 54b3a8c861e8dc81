package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"pbx/campaign"
	"pbx/store"
	"pbx/web"
)

// The campaign commands change campaigns through the running PBX's admin
// API, which owns them (its dialers run from them); those that only read
// (list, show, export-results, contacts list) read a stopped PBX's store
// when no PBX answers.

// campaignCmd is `pbx campaign SUBCOMMAND`.
func campaignCmd(args []string) error {
	if len(args) == 0 {
		return errors.New("campaign: want create, create-form, list, show, start, stop, import-numbers or export-results")
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "create":
		return campaignCreate(rest)
	case "create-form":
		return campaignCreateForm(rest)
	case "list":
		return campaignList(rest)
	case "show":
		return campaignShow(rest)
	case "start", "stop":
		return campaignStartStop(sub, rest)
	case "import-numbers":
		return campaignImportNumbers(rest)
	case "export-results":
		return campaignExportResults(rest)
	default:
		return fmt.Errorf("campaign %s: want create, create-form, list, show, start, stop, import-numbers or export-results", sub)
	}
}

// contactsCmd is `pbx contacts import FILE.csv` and `pbx contacts list`.
func contactsCmd(args []string) error {
	if len(args) == 0 {
		return errors.New("contacts: want import or list")
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "import":
		return contactsImport(rest)
	case "list":
		return contactsList(rest)
	default:
		return fmt.Errorf("contacts %s: want import or list", sub)
	}
}

// parseWith parses args with fs, flags before, between or after the
// positional arguments, and checks that there are want of those, named by
// usage.
func parseWith(fs *flag.FlagSet, args []string, usage ...string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != len(usage) {
		if len(usage) == 0 {
			return nil, fmt.Errorf("%s: unexpected %q", fs.Name(), pos[0])
		}
		return nil, fmt.Errorf("%s: want %s", fs.Name(), strings.Join(usage, " "))
	}
	return pos, nil
}

// parseIDArgs parses the args of a command whose first positional
// argument is a campaign ID, followed by those named by more; it returns
// the id and the rest.
func parseIDArgs(fs *flag.FlagSet, args []string, more ...string) (int, []string, error) {
	pos, err := parseWith(fs, args, append([]string{"ID"}, more...)...)
	if err != nil {
		return 0, nil, err
	}
	id, err := strconv.Atoi(pos[0])
	if err != nil || id < 1 {
		return 0, nil, fmt.Errorf("campaign id %q: want a number", pos[0])
	}
	return id, pos[1:], nil
}

// campaignPath is the admin API's path of campaign id, then of what
// follows, as in campaignPath(3, "start").
func campaignPath(id int, sub ...string) string {
	return strings.Join(append([]string{"/api/campaigns", strconv.Itoa(id)}, sub...), "/")
}

// apiClient reaches the PBX: a bounded wait to connect and for the answer
// to begin, but none for the body, which an export streams.
var apiClient = &http.Client{Transport: &http.Transport{
	DialContext:           (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
	ResponseHeaderTimeout: 30 * time.Second,
}}

// callPBX sends a request to the running PBX's admin API and decodes its
// JSON answer into v (nil: none wanted); sendPBX says what fails.
func callPBX(api, method, path, ctype string, body io.Reader, v any) error {
	res, err := sendPBX(api, method, path, ctype, body)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if v == nil {
		return nil
	}
	return json.NewDecoder(res.Body).Decode(v)
}

// sendPBX sends a request to the running PBX's admin API and returns its
// answer, whose body the caller closes. An answer other than 2xx is an
// error with the PBX's reason; no PBX at all is an error that says so
// (isNoPBX tells it).
func sendPBX(api, method, path, ctype string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequest(method, api+path, body)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := apiClient.Do(req)
	if err != nil {
		return nil, explainNoPBX(api, err)
	}
	if res.StatusCode/100 != 2 {
		defer res.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, res.Status, bytesTrim(msg))
	}
	return res, nil
}

// noAgents is the contact center of a stopped PBX: no queue has an agent,
// so a Center opened on its store never dials, and nothing else of it is
// asked (the embedded nil interface is never called).
type noAgents struct{ campaign.Agents }

func (noAgents) QueueAgents(string) (int, int, bool) { return 0, 0, false }

// getOrRead gets path from the running PBX's admin API into v or, when no
// PBX answers, runs read on the campaigns of the stopped PBX's store in
// dataDir.
func getOrRead(api, path string, v any, dataDir string, read func(*campaign.Center) error) error {
	return askOrRead(func() error {
		return callPBX(api, http.MethodGet, path, "", nil, v)
	}, dataDir, readCampaigns(read))
}

// readCampaigns runs read on the campaigns of a stopped PBX's store,
// loaded read-only: nothing is dialled, and nothing written.
func readCampaigns(read func(*campaign.Center) error) func(*store.Store) error {
	return func(st *store.Store) error {
		c, err := campaign.New(campaign.Options{Store: st, Agents: noAgents{}})
		if err != nil {
			return err
		}
		c.StopDialing()
		defer c.Close()
		return read(c)
	}
}

// campaignCreate is `pbx campaign create`.
func campaignCreate(args []string) error {
	fs := flag.NewFlagSet("campaign create", flag.ContinueOnError)
	name := fs.String("name", "", "the campaign's name (required)")
	kind := fs.String("type", string(campaign.Outgoing), "outgoing or incoming")
	queueName := fs.String("queue", "", "the queue its calls go to (required)")
	trunk := fs.String("trunk", "", "outgoing: the trunk it dials through")
	mode := fs.String("mode", "", "outgoing: progressive (one call per free agent, the default) or predictive")
	maxCh := fs.Int("max-channels", 0, "outgoing: calls in progress at once (default 10)")
	retries := fs.Int("retries", 0, "outgoing: further tries of a number that failed")
	retryDelay := fs.Duration("retry-delay", 0, "outgoing: the wait before a retry (10m)")
	shortCall := fs.Duration("short-call", 0, "outgoing: a call talked less than this is a short call (20s)")
	hours := fs.String("work-hours", "", "the daily working hours, 09:00-18:00 (default: all day)")
	startS := fs.String("start", "", "the first day it runs, YYYY-MM-DD (default: no bound)")
	endS := fs.String("end", "", "the last day it runs, YYYY-MM-DD (default: no bound)")
	script := fs.String("script", "", "the text shown to agents")
	callerID := fs.String("caller-id", "", "outgoing: the caller id it presents")
	formsS := fs.String("forms", "", "the ids of its forms, comma-separated (see create-form)")
	api := apiFlag(fs)
	if _, err := parseWith(fs, args); err != nil {
		return err
	}
	cp := campaign.Campaign{
		Name: *name, Kind: campaign.Kind(*kind), Queue: *queueName, Trunk: *trunk, Mode: campaign.Mode(*mode),
		MaxChannels: *maxCh, Retries: *retries, RetryDelay: *retryDelay, ShortCall: *shortCall,
		Script: *script, CallerID: *callerID,
	}
	if *hours != "" {
		from, to, ok := strings.Cut(*hours, "-")
		if !ok {
			return fmt.Errorf("-work-hours %q: want HH:MM-HH:MM", *hours)
		}
		cp.WorkStart, cp.WorkEnd = strings.TrimSpace(from), strings.TrimSpace(to)
	}
	for _, d := range []struct {
		flag, v string
		t       *time.Time
	}{{"-start", *startS, &cp.Start}, {"-end", *endS, &cp.End}} {
		if d.v == "" {
			continue
		}
		t, err := time.ParseInLocation(time.DateOnly, d.v, time.Local)
		if err != nil {
			return fmt.Errorf("%s %q: want YYYY-MM-DD", d.flag, d.v)
		}
		*d.t = t
	}
	if *formsS != "" {
		for _, f := range strings.Split(*formsS, ",") {
			id, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return fmt.Errorf("-forms %q: want form ids, comma-separated", *formsS)
			}
			cp.Forms = append(cp.Forms, id)
		}
	}
	body, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	var got campaign.Campaign
	if err := callPBX(*api, http.MethodPost, "/api/campaigns", "application/json", bytes.NewReader(body), &got); err != nil {
		return err
	}
	_, err = fmt.Fprintf(os.Stdout, "campaign %d created: %s (%s, %s); `pbx campaign start %d` starts it\n", got.ID, got.Name, got.Kind, got.Status, got.ID)
	return err
}

// campaignCreateForm is `pbx campaign create-form FILE.json`: a form, as
// JSON (campaign.Form), for campaigns to name with -forms.
func campaignCreateForm(args []string) error {
	fs := flag.NewFlagSet("campaign create-form", flag.ContinueOnError)
	api := apiFlag(fs)
	pos, err := parseWith(fs, args, "FILE.json")
	if err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	var got campaign.Form
	if err := callPBX(*api, http.MethodPost, "/api/forms", "application/json", f, &got); err != nil {
		return err
	}
	_, err = fmt.Fprintf(os.Stdout, "form %d created: %s (%d fields)\n", got.ID, got.Name, len(got.Fields))
	return err
}

// campaignList is `pbx campaign list`.
func campaignList(args []string) error {
	return listCommand("campaign list", args, "/api/campaigns", (*campaign.Center).Campaigns,
		"ID\tTYPE\tNAME\tSTATUS\tQUEUE\tTRUNK\tMODE\tDATES\tHOURS",
		func(cp campaign.Campaign) string {
			return fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", cp.ID, cp.Kind, cp.Name, cp.Status, cp.Queue,
				dash(cp.Trunk), dash(string(cp.Mode)), dates(cp), hoursText(cp))
		})
}

// contactsList is `pbx contacts list`.
func contactsList(args []string) error {
	return listCommand("contacts list", args, "/api/contacts", (*campaign.Center).Contacts,
		"ID\tFIRST NAME\tLAST NAME\tPHONE\tCEDULA/RUC\tSOURCE",
		func(c campaign.Contact) string {
			return fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%s", c.ID, dash(c.FirstName), dash(c.LastName), c.Phone,
				dash(c.CedulaRUC), dash(c.Source))
		})
}

// listCommand is a command that lists what the running PBX's admin API
// has at path, or what read finds in a stopped PBX's store, as JSON or as
// a table: header, then row's line (tab-separated) for each item.
func listCommand[T any](name string, args []string, path string, read func(*campaign.Center) []T,
	header string, row func(T) string) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	format := fs.String("format", "table", "table or json")
	dataDir := dataFlag(fs)
	api := apiFlag(fs)
	if _, err := parseWith(fs, args); err != nil {
		return err
	}
	if err := checkFormat(*format, "table", "json"); err != nil {
		return err
	}
	var list []T
	err := getOrRead(*api, path, &list, *dataDir, func(c *campaign.Center) error {
		list = read(c)
		return nil
	})
	if err != nil {
		return err
	}
	if *format == "json" {
		if list == nil {
			list = []T{}
		}
		return printJSON(os.Stdout, list)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, v := range list {
		fmt.Fprintln(tw, row(v))
	}
	return tw.Flush()
}

// dates is a campaign's date range, "-" for none.
func dates(cp campaign.Campaign) string {
	day := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format(time.DateOnly)
	}
	if cp.Start.IsZero() && cp.End.IsZero() {
		return "-"
	}
	return day(cp.Start) + ".." + day(cp.End)
}

// hoursText is a campaign's working hours, "-" for all day.
func hoursText(cp campaign.Campaign) string {
	if cp.WorkStart == "" {
		return "-"
	}
	return cp.WorkStart + "-" + cp.WorkEnd
}

// statusOrder is the order `pbx campaign show` lists the call statuses in:
// waiting, in progress, then the outcomes.
var statusOrder = []campaign.CallStatus{
	campaign.Pending, campaign.Placing, campaign.Dialing, campaign.Ringing, campaign.OnQueue, campaign.OnHold,
	campaign.OffHold, campaign.Success, campaign.ShortCall, campaign.NoAnswer, campaign.Failure, campaign.Abandoned,
}

// campaignShow is `pbx campaign show ID`.
func campaignShow(args []string) error {
	fs := flag.NewFlagSet("campaign show", flag.ContinueOnError)
	format := fs.String("format", "table", "table or json")
	dataDir := dataFlag(fs)
	api := apiFlag(fs)
	id, _, err := parseIDArgs(fs, args)
	if err != nil {
		return err
	}
	if err := checkFormat(*format, "table", "json"); err != nil {
		return err
	}
	var info web.CampaignInfo
	err = getOrRead(*api, campaignPath(id), &info, *dataDir, func(c *campaign.Center) (err error) {
		info, err = web.CampaignInfoOf(c, id)
		return err
	})
	if err != nil {
		return err
	}
	if *format == "json" {
		return printJSON(os.Stdout, info)
	}
	return writeCampaign(os.Stdout, info)
}

// writeCampaign is the text of `pbx campaign show`: its fields, those set,
// then its calls by status.
func writeCampaign(w io.Writer, info web.CampaignInfo) error {
	cp := info.Campaign
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	field := func(name, v string) {
		if v != "" && v != "0" && v != "0s" {
			fmt.Fprintf(tw, "%s\t%s\n", name, v)
		}
	}
	field("id", strconv.Itoa(cp.ID))
	field("name", cp.Name)
	field("type", string(cp.Kind))
	field("status", string(cp.Status))
	field("queue", cp.Queue)
	field("trunk", cp.Trunk)
	field("caller id", cp.CallerID)
	field("mode", string(cp.Mode))
	field("dates", strings.TrimPrefix(dates(cp), "-"))
	field("hours", strings.TrimPrefix(hoursText(cp), "-"))
	field("max channels", strconv.Itoa(cp.MaxChannels))
	field("retries", strconv.Itoa(cp.Retries))
	field("retry delay", cp.RetryDelay.String())
	field("short call", cp.ShortCall.String())
	field("ring timeout", cp.RingTimeout.String())
	if cp.Kind == campaign.Outgoing && cp.Mode == campaign.Predictive {
		field("abandon cap", strconv.FormatFloat(100*cp.AbandonCap, 'g', 4, 64)+"%")
	}
	field("url", strings.TrimSpace(cp.URL+" "+cp.URLOpen))
	var forms []string
	for _, f := range info.Forms {
		forms = append(forms, fmt.Sprintf("%d (%s)", f.ID, f.Name))
	}
	field("forms", strings.Join(forms, ", "))
	field("script", strings.ReplaceAll(cp.Script, "\n", " "))
	if err := tw.Flush(); err != nil {
		return err
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nCALLS\tCOUNT")
	order := slices.Clone(statusOrder)
	for st := range info.StatusCount {
		if !slices.Contains(order, st) {
			order = append(order, st)
		}
	}
	slices.SortStableFunc(order[len(statusOrder):], func(a, b campaign.CallStatus) int { return strings.Compare(string(a), string(b)) })
	for _, st := range order {
		if n := info.StatusCount[st]; n > 0 {
			fmt.Fprintf(tw, "%s\t%d\n", st, n)
		}
	}
	fmt.Fprintf(tw, "total\t%d\n", info.Total)
	return tw.Flush()
}

// campaignStartStop is `pbx campaign start ID` and `pbx campaign stop ID`.
func campaignStartStop(verb string, args []string) error {
	fs := flag.NewFlagSet("campaign "+verb, flag.ContinueOnError)
	api := apiFlag(fs)
	id, _, err := parseIDArgs(fs, args)
	if err != nil {
		return err
	}
	var cp campaign.Campaign
	if err := callPBX(*api, http.MethodPost, campaignPath(id, verb), "", nil, &cp); err != nil {
		return err
	}
	_, err = fmt.Fprintf(os.Stdout, "campaign %d (%s) is %s\n", cp.ID, cp.Name, cp.Status)
	return err
}

// importCSV posts a CSV file to the PBX and prints what it says of it:
// each row left out as FILE:LINE: reason, then the count added.
func importCSV(api, path, file, what string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	var res web.ImportResult
	if err := callPBX(api, http.MethodPost, path, "text/csv", f, &res); err != nil {
		return err
	}
	for _, p := range res.Problems {
		fmt.Fprintf(os.Stdout, "%s:%d: %s\n", file, p.Line, p.Msg)
	}
	_, err = fmt.Fprintf(os.Stdout, "%d %s added, %d rows left out\n", res.Added, what, len(res.Problems))
	return err
}

// campaignImportNumbers is `pbx campaign import-numbers ID FILE.csv`: the
// numbers an outgoing campaign calls (campaign.ParseNumbers says how the
// file is read). Bad rows are reported and left out; the good ones are
// added.
func campaignImportNumbers(args []string) error {
	fs := flag.NewFlagSet("campaign import-numbers", flag.ContinueOnError)
	api := apiFlag(fs)
	id, pos, err := parseIDArgs(fs, args, "FILE.csv")
	if err != nil {
		return err
	}
	return importCSV(*api, campaignPath(id, "numbers"), pos[0], "numbers")
}

// contactsImport is `pbx contacts import FILE.csv`: contacts for the
// incoming campaigns to match callers with (campaign.ParseContacts says
// how the file is read).
func contactsImport(args []string) error {
	fs := flag.NewFlagSet("contacts import", flag.ContinueOnError)
	api := apiFlag(fs)
	pos, err := parseWith(fs, args, "FILE.csv")
	if err != nil {
		return err
	}
	return importCSV(*api, "/api/contacts", pos[0], "contacts")
}

// campaignExportResults is `pbx campaign export-results ID`: the
// campaign's calls and their outcome (campaign.Center.ExportResults), from
// the running PBX or, when none runs, from its store.
func campaignExportResults(args []string) error {
	fs := flag.NewFlagSet("campaign export-results", flag.ContinueOnError)
	format := fs.String("format", "csv", "csv or json")
	out := fs.String("o", "", "write to this file (default: standard output)")
	dataDir := dataFlag(fs)
	api := apiFlag(fs)
	id, _, err := parseIDArgs(fs, args)
	if err != nil {
		return err
	}
	if err := checkFormat(*format, "csv", "json"); err != nil {
		return err
	}
	return writeOut(*out, func(w io.Writer) error {
		return askOrRead(func() error {
			return resultsFromAPI(w, *api, id, *format)
		}, *dataDir, readCampaigns(func(c *campaign.Center) error {
			if _, ok := c.Campaign(id); !ok {
				return fmt.Errorf("campaign %d: %w", id, campaign.ErrNotFound)
			}
			return c.ExportResults(id, w, *format)
		}))
	})
}

// resultsFromAPI streams a campaign's results from the running PBX; an
// error met after the body began comes in a trailer.
func resultsFromAPI(w io.Writer, api string, id int, format string) error {
	path := campaignPath(id, "results?format="+format)
	res, err := sendPBX(api, http.MethodGet, path, "", nil)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if _, err := io.Copy(w, res.Body); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if e := res.Trailer.Get(web.ExportErrorTrailer); e != "" {
		return fmt.Errorf("GET %s: %s", path, e)
	}
	return nil
}

// writeOut runs write on standard output, or on a file beside out that is
// renamed to out once write succeeded, so a failure leaves no half file.
func writeOut(out string, write func(io.Writer) error) error {
	if out == "" {
		return write(os.Stdout)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if tmp != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	tmp = nil
	return nil
}
