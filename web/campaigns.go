package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"pbx/campaign"
)

// Campaigns is what the admin API uses of the campaigns
// (*campaign.Center): campaigns, their forms, numbers, calls, log and
// results, and the contact book.
type Campaigns interface {
	Campaigns() []campaign.Campaign
	Campaign(id int) (campaign.Campaign, bool)
	CreateCampaign(campaign.Campaign) (campaign.Campaign, error)
	Start(id int) error
	Stop(id int) error
	CreateForm(campaign.Form) (campaign.Form, error)
	Forms(campaignID int) ([]campaign.Form, error)
	StatusCount(campaignID int) (map[campaign.CallStatus]int, int)
	Calls(campaignID int) []campaign.Call
	Log(campaignID, lastN int) []campaign.LogEntry
	ImportNumbers(campaignID int, r io.Reader) (int, []campaign.RowError, error)
	ExportResults(campaignID int, w io.Writer, format string) error
	ImportContacts(r io.Reader) (int, []campaign.RowError, error)
	Contacts() []campaign.Contact
}

// CampaignInfo is the answer of GET /api/campaigns/{id}: the campaign, how
// many of its calls are in each status and in all, and its forms.
type CampaignInfo struct {
	Campaign    campaign.Campaign           `json:"campaign"`
	StatusCount map[campaign.CallStatus]int `json:"status_count"`
	Total       int                         `json:"total"`
	Forms       []campaign.Form             `json:"forms"`
}

// ImportResult is the answer of the CSV imports: how many rows were
// added, and the rows left out, with their line in the file and why.
type ImportResult struct {
	Added    int             `json:"added"`
	Problems []ImportProblem `json:"problems"`
}

// ImportProblem is a row of an import that was left out.
type ImportProblem struct {
	Line int    `json:"line"`
	Msg  string `json:"msg"`
}

// Sizes of the request bodies the campaign routes read.
const (
	MaxCampaignJSON = 1 << 20  // a campaign or a form
	MaxImportCSV    = 64 << 20 // numbers or contacts
)

// campaignRoutes are the campaigns' admin routes, loopback only like the
// rest of the admin API: they hold the numbers called and the contacts.
//
//	GET  /api/campaigns                     every campaign, incoming first, then by id
//	POST /api/campaigns                     create one from a JSON campaign; 201 with it (its id filled in)
//	GET  /api/campaigns/{id}                CampaignInfo
//	POST /api/campaigns/{id}/start          make it active (an outgoing one dials); the campaign after
//	POST /api/campaigns/{id}/stop           make it inactive; the campaign after
//	POST /api/campaigns/{id}/numbers        add numbers from a CSV body; ImportResult
//	GET  /api/campaigns/{id}/results?format=csv|json  its calls and their outcome (csv by default)
//	GET  /api/campaigns/{id}/calls          its calls, by id
//	GET  /api/campaigns/{id}/log?last=N     its status changes, oldest first, the last N (default all)
//	POST /api/forms                         create a form from JSON; 201 with it
//	GET  /api/contacts                      the contact book
//	POST /api/contacts                      add contacts from a CSV body; ImportResult
//
// An unknown campaign is 404; a campaign or form that cannot be, or a bad
// parameter, is 400 with the reason.
func (s *Server) campaignRoutes(mux *http.ServeMux) {
	handle := func(pattern string, f http.HandlerFunc) { mux.Handle(pattern, LoopbackOnly(f)) }
	handle("GET /api/campaigns", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, nonNil(s.camps.Campaigns()))
	})
	handle("POST /api/campaigns", s.createCampaign)
	handle("GET /api/campaigns/{id}", s.serveCampaign)
	handle("POST /api/campaigns/{id}/start", s.campaignStatus(s.camps.Start))
	handle("POST /api/campaigns/{id}/stop", s.campaignStatus(s.camps.Stop))
	handle("POST /api/campaigns/{id}/numbers", s.importNumbers)
	handle("GET /api/campaigns/{id}/results", s.serveResults)
	handle("GET /api/campaigns/{id}/calls", func(w http.ResponseWriter, r *http.Request) {
		if id, ok := s.campaignID(w, r); ok {
			writeJSON(w, nonNil(s.camps.Calls(id)))
		}
	})
	handle("GET /api/campaigns/{id}/log", s.serveCampaignLog)
	handle("POST /api/forms", s.createForm)
	handle("GET /api/contacts", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, nonNil(s.camps.Contacts()))
	})
	handle("POST /api/contacts", s.importContacts)
}

// campaignID reads the {id} of the path, answering 400 when it is not a
// number and 404 when no campaign has it.
func (s *Server) campaignID(w http.ResponseWriter, r *http.Request) (int, bool) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		http.Error(w, "campaign id: want a number", http.StatusBadRequest)
		return 0, false
	}
	if _, ok := s.camps.Campaign(id); !ok {
		http.Error(w, fmt.Sprintf("campaign %d: %v", id, campaign.ErrNotFound), http.StatusNotFound)
		return 0, false
	}
	return id, true
}

// campaignError answers err of the campaign API: 404 for what does not
// exist, 400 for what cannot be, 500 for the rest.
func (s *Server) campaignError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, campaign.ErrNotFound):
		http.Error(w, err.Error(), http.StatusNotFound)
	case errors.Is(err, campaign.ErrInvalid):
		http.Error(w, err.Error(), http.StatusBadRequest)
	default:
		s.log.Error("campaigns", "error", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// decodeBody reads a JSON body of at most MaxCampaignJSON bytes into v,
// refusing unknown fields (a misspelt one would be lost silently); it
// answers 400 (413 when too large) and returns false when it cannot.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxCampaignJSON))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			http.Error(w, fmt.Sprintf("body: over %d bytes", mbe.Limit), http.StatusRequestEntityTooLarge)
			return false
		}
		http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func writeCreated(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) createCampaign(w http.ResponseWriter, r *http.Request) {
	var cp campaign.Campaign
	if !decodeBody(w, r, &cp) {
		return
	}
	if cp.ID != 0 {
		http.Error(w, "id: the PBX gives it", http.StatusBadRequest)
		return
	}
	cp, err := s.camps.CreateCampaign(cp)
	if err != nil {
		s.campaignError(w, err)
		return
	}
	writeCreated(w, cp)
}

func (s *Server) createForm(w http.ResponseWriter, r *http.Request) {
	var f campaign.Form
	if !decodeBody(w, r, &f) {
		return
	}
	if f.ID != 0 {
		http.Error(w, "id: the PBX gives it", http.StatusBadRequest)
		return
	}
	f, err := s.camps.CreateForm(f)
	if err != nil {
		s.campaignError(w, err)
		return
	}
	writeCreated(w, f)
}

func (s *Server) serveCampaign(w http.ResponseWriter, r *http.Request) {
	id, ok := s.campaignID(w, r)
	if !ok {
		return
	}
	info, err := CampaignInfoOf(s.camps, id)
	if err != nil {
		s.campaignError(w, err)
		return
	}
	writeJSON(w, info)
}

// CampaignInfoOf gathers what GET /api/campaigns/{id} answers; `pbx
// campaign show` builds the same from a stopped PBX's store.
func CampaignInfoOf(c Campaigns, id int) (CampaignInfo, error) {
	cp, ok := c.Campaign(id)
	if !ok {
		return CampaignInfo{}, fmt.Errorf("campaign %d: %w", id, campaign.ErrNotFound)
	}
	forms, err := c.Forms(id)
	if err != nil {
		return CampaignInfo{}, err
	}
	counts, total := c.StatusCount(id)
	return CampaignInfo{Campaign: cp, StatusCount: counts, Total: total, Forms: nonNil(forms)}, nil
}

// campaignStatus is start or stop: it answers the campaign as it is after.
func (s *Server) campaignStatus(set func(int) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.campaignID(w, r)
		if !ok {
			return
		}
		if err := set(id); err != nil {
			s.campaignError(w, err)
			return
		}
		cp, _ := s.camps.Campaign(id)
		writeJSON(w, cp)
	}
}

// errReader remembers the error of the body it reads, so that an
// import's error can be told apart: the body's (the client's fault, or
// too large) or the Center's.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// serveImport runs an import of a CSV body and answers ImportResult.
func (s *Server) serveImport(w http.ResponseWriter, r *http.Request, imp func(io.Reader) (int, []campaign.RowError, error)) {
	body := &errReader{r: http.MaxBytesReader(w, r.Body, MaxImportCSV)}
	n, problems, err := imp(body)
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(body.err, &mbe) {
			http.Error(w, fmt.Sprintf("body: over %d bytes", mbe.Limit), http.StatusRequestEntityTooLarge)
			return
		}
		if body.err != nil {
			http.Error(w, "body: "+body.err.Error(), http.StatusBadRequest)
			return
		}
		s.campaignError(w, err)
		return
	}
	res := ImportResult{Added: n, Problems: make([]ImportProblem, 0, len(problems))}
	for _, p := range problems {
		res.Problems = append(res.Problems, ImportProblem{Line: p.Line, Msg: p.Msg})
	}
	writeJSON(w, res)
}

func (s *Server) importNumbers(w http.ResponseWriter, r *http.Request) {
	id, ok := s.campaignID(w, r)
	if !ok {
		return
	}
	s.serveImport(w, r, func(body io.Reader) (int, []campaign.RowError, error) {
		return s.camps.ImportNumbers(id, body)
	})
}

func (s *Server) importContacts(w http.ResponseWriter, r *http.Request) {
	s.serveImport(w, r, s.camps.ImportContacts)
}

// countWriter counts what went through to the client.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// serveResults streams a campaign's results (campaign.Center.ExportResults).
// An error before anything was written is answered with its status; one
// after is in the ExportErrorTrailer trailer, as for the CDR export.
func (s *Server) serveResults(w http.ResponseWriter, r *http.Request) {
	id, ok := s.campaignID(w, r)
	if !ok {
		return
	}
	format := r.URL.Query().Get("format")
	ctype := "text/csv; charset=utf-8"
	switch format {
	case "", "csv":
		format = "csv"
	case "json":
		ctype = "application/json"
	default:
		http.Error(w, "format: want csv or json", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Trailer", ExportErrorTrailer)
	cw := &countWriter{w: w}
	if err := s.camps.ExportResults(id, cw, format); err != nil {
		if cw.n == 0 {
			w.Header().Del("Trailer")
			s.campaignError(w, err)
			return
		}
		s.log.Error("campaign results", "campaign", id, "written", cw.n, "error", err)
		w.Header().Set(ExportErrorTrailer, err.Error())
	}
}

func (s *Server) serveCampaignLog(w http.ResponseWriter, r *http.Request) {
	id, ok := s.campaignID(w, r)
	if !ok {
		return
	}
	last := 0
	if v := r.URL.Query().Get("last"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			http.Error(w, "last: want a count, 0 for all", http.StatusBadRequest)
			return
		}
		last = n
	}
	writeJSON(w, nonNil(s.camps.Log(id, last)))
}
