package campaign

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"pbx/store"
)

// newTestCenter is a Center on a real store, with no engine: data only.
func newTestCenter(t *testing.T, dir string) *Center {
	t.Helper()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		st.Close()
	})
	return c
}

func TestCreateCampaignChecks(t *testing.T) {
	c := newTestCenter(t, t.TempDir())
	tests := []struct {
		name string
		cp   Campaign
		want string // "" accepted
	}{
		{"outgoing", Campaign{Kind: Outgoing, Name: "a", Queue: "support"}, ""},
		{"incoming", Campaign{Kind: Incoming, Name: "b", Queue: "support"}, ""},
		{"no name", Campaign{Kind: Outgoing, Queue: "q"}, "needs a name"},
		{"no queue", Campaign{Kind: Outgoing, Name: "a"}, "needs a queue"},
		{"bad type", Campaign{Kind: "sideways", Name: "a", Queue: "q"}, `type "sideways"`},
		{"bad status", Campaign{Kind: Outgoing, Name: "a", Queue: "q", Status: "paused"}, `status "paused"`},
		{"end before start", Campaign{Kind: Outgoing, Name: "a", Queue: "q", Start: time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}, "end date is before"},
		{"half hours", Campaign{Kind: Outgoing, Name: "a", Queue: "q", WorkStart: "09:00"}, "both work_start and work_end"},
		{"bad hours", Campaign{Kind: Outgoing, Name: "a", Queue: "q", WorkStart: "9am", WorkEnd: "17:00"}, `"9am": want HH:MM`},
		{"bad mode", Campaign{Kind: Outgoing, Name: "a", Queue: "q", Mode: "frantic"}, `mode "frantic"`},
		{"negative retries", Campaign{Kind: Outgoing, Name: "a", Queue: "q", Retries: -1}, "must not be negative"},
		{"abandon cap 1", Campaign{Kind: Outgoing, Name: "a", Queue: "q", AbandonCap: 1}, "abandon_cap 1"},
		{"unknown form", Campaign{Kind: Outgoing, Name: "a", Queue: "q", Forms: []int{7}}, "no form 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.CreateCampaign(tt.cp)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want == "":
				if got.ID == 0 || got.Status != Inactive {
					t.Fatalf("created %+v", got)
				}
				if got.Kind == Outgoing && (got.Mode != Progressive || got.MaxChannels != 10 || got.AbandonCap != 0.03) {
					t.Fatalf("defaults not filled: %+v", got)
				}
			case err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want):
				t.Fatalf("error %v, want ErrInvalid with %q", err, tt.want)
			}
		})
	}
}

// Campaigns, forms, contacts, numbers and form data survive a restart,
// and a call caught mid-dial is tried again while a success stays one.
func TestCenterPersists(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	f, err := c.CreateForm(Form{Name: "survey", Active: true, Fields: []Field{{ID: 1, Order: 1, Label: "age", Type: Text, MaxSize: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := c.CreateCampaign(Campaign{Kind: Outgoing, Name: "spring", Queue: "support", Forms: []int{f.ID}})
	if err != nil {
		t.Fatal(err)
	}
	added, problems, err := c.ImportNumbers(cp.ID, strings.NewReader("phone,name\n5551001,Ann\n5551002,Bob\nnope,Carl\n"))
	if err != nil || added != 2 || len(problems) != 1 || problems[0].Line != 4 {
		t.Fatalf("import: %d added, problems %v, %v", added, problems, err)
	}
	if _, _, err := c.ImportContacts(strings.NewReader("first_name,last_name,phone\nAnn,Lee,5551001\n")); err != nil {
		t.Fatal(err)
	}
	calls := c.Calls(cp.ID)
	if err := c.SaveFormData(calls[0].ID, map[int]map[int]string{f.ID: {1: "42"}}); err != nil {
		t.Fatal(err)
	}
	var ferr *FormError
	if err := c.SaveFormData(calls[0].ID, map[int]map[int]string{f.ID: {1: "1234"}}); !errors.As(err, &ferr) || ferr.Code != 413 {
		t.Fatalf("a value too large: %v", err)
	}
	c.mu.Lock()
	c.setStatusLocked(c.calls[calls[0].ID], Success)
	c.setStatusLocked(c.calls[calls[1].ID], Ringing)
	c.mu.Unlock()
	c.Close()
	st.Close()

	c = newTestCenter(t, dir)
	if got, ok := c.Campaign(cp.ID); !ok || got.Name != "spring" || len(got.Forms) != 1 {
		t.Fatalf("campaign after restart: %+v %v", got, ok)
	}
	calls = c.Calls(cp.ID)
	if len(calls) != 2 || calls[0].Status != Success || calls[1].Status != Pending || calls[0].FormData[f.ID][1] != "42" {
		t.Fatalf("calls after restart: %+v", calls)
	}
	if got := c.MatchContacts("+1 555 1001"); len(got) != 1 || got[0].FirstName != "Ann" {
		t.Fatalf("contacts after restart: %v", got)
	}
	if n := len(c.Log(cp.ID, 0)); n != 2 {
		t.Fatalf("log after restart: %d entries, want 2", n)
	}
	// New records continue the ids.
	cp2, err := c.CreateCampaign(Campaign{Kind: Incoming, Name: "help", Queue: "support"})
	if err != nil || cp2.ID != cp.ID+1 {
		t.Fatalf("next campaign %+v %v", cp2, err)
	}
}

func TestCampaignOpen(t *testing.T) {
	at := func(day, hm string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", day+" "+hm, time.Local)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	date := func(d string) time.Time { return at(d, "00:00") }
	tests := []struct {
		name string
		cp   Campaign
		t    time.Time
		want bool
	}{
		{"no bounds", Campaign{}, at("2026-12-03", "03:00"), true},
		{"inside hours", Campaign{WorkStart: "09:00", WorkEnd: "17:00"}, at("2026-12-03", "09:00"), true},
		{"end of hours excluded", Campaign{WorkStart: "09:00", WorkEnd: "17:00"}, at("2026-12-03", "17:00"), false},
		{"before hours", Campaign{WorkStart: "09:00", WorkEnd: "17:00"}, at("2026-12-03", "08:59"), false},
		{"across midnight, late", Campaign{WorkStart: "22:00", WorkEnd: "02:00"}, at("2026-12-03", "23:30"), true},
		{"across midnight, early", Campaign{WorkStart: "22:00", WorkEnd: "02:00"}, at("2026-12-03", "01:59"), true},
		{"across midnight, day", Campaign{WorkStart: "22:00", WorkEnd: "02:00"}, at("2026-12-03", "12:00"), false},
		{"before start date", Campaign{Start: date("2026-12-04")}, at("2026-12-03", "12:00"), false},
		{"on start date", Campaign{Start: date("2026-12-03")}, at("2026-12-03", "00:00"), true},
		{"on end date", Campaign{End: date("2026-12-03")}, at("2026-12-03", "23:59"), true},
		{"after end date", Campaign{End: date("2026-12-02")}, at("2026-12-03", "00:00"), false},
	}
	for _, tt := range tests {
		if got := tt.cp.open(tt.t); got != tt.want {
			t.Errorf("%s: open = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestPacing(t *testing.T) {
	var p pacing
	l := agentLoad{free: 4, onCall: 2, inFlight: 1, waiting: 1}
	if got := progressive(l); got != 2 {
		t.Fatalf("progressive = %d, want 2 (4 free, 1 dialling, 1 waiting)", got)
	}
	// Unmeasured: one answer in two, so two calls per free agent.
	if got := p.predictive(l, 0.03); got != 5 {
		t.Fatalf("predictive, unmeasured = %d, want 5 ((4-1)*2-1)", got)
	}
	// One in four answers: four calls per agent, at most four.
	for i := range 40 {
		p.attempt(i%4 == 0, 2*time.Second)
	}
	if got := p.predictive(l, 0.03); got != 11 {
		t.Fatalf("predictive at 25%% answers = %d, want 11 ((4-1)*4-1)", got)
	}
	// Abandons at the cap: back to progressive pacing.
	for i := range 20 {
		p.connected(time.Duration(i%10) * time.Second / 2) // 0 to 4.5 s: half wait over 2 s
	}
	if p.abandonRate() < 0.03 {
		t.Fatalf("abandon rate %v, want over the cap", p.abandonRate())
	}
	if got, want := p.predictive(l, 0.03), progressive(l); got != want {
		t.Fatalf("predictive over the abandon cap = %d, want progressive's %d", got, want)
	}
	// The window forgets: 100 calls connected at once bring the rate to 0.
	for range pacingWindow {
		p.connected(0)
	}
	if p.abandonRate() != 0 {
		t.Fatalf("abandon rate after a clean window = %v", p.abandonRate())
	}
}

func TestQueueWaitAndExport(t *testing.T) {
	c := newTestCenter(t, t.TempDir())
	cp, err := c.CreateCampaign(Campaign{Kind: Outgoing, Name: "w", Queue: "q"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddNumbers(cp.ID, []NumberRow{{Phone: "1", Attributes: []Attribute{{Label: "name", Value: "Ann", Order: 1}}}, {Phone: "2"}, {Phone: "3"}}); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	c.mu.Lock()
	for i, cl := range c.calls {
		switch i {
		case 1:
			cl.Join, cl.LinkStart, cl.Status = base, base.Add(3*time.Second), Success
		case 2:
			cl.Join, cl.LinkStart, cl.Status = base, base.Add(40*time.Second), Success
		case 3:
			cl.Join, cl.Status = base, Abandoned
		}
	}
	c.mu.Unlock()
	buckets, abandoned := c.QueueWait(cp.ID)
	if buckets[0] != 1 || buckets[6] != 1 || abandoned != 1 {
		t.Fatalf("buckets %v, abandoned %d", buckets, abandoned)
	}
	var b strings.Builder
	if err := c.ExportResults(cp.ID, &b, "csv"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 || !strings.HasSuffix(lines[0], ",failure_cause,name") || !strings.HasPrefix(lines[1], "1,1,Success,0,") || !strings.HasSuffix(lines[1], ",Ann") {
		t.Fatalf("export:\n%s", b.String())
	}
	if err := c.ExportResults(cp.ID, &b, "xml"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("xml export: %v", err)
	}
	if err := c.ExportResults(99, &b, "csv"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown campaign: %v", err)
	}
}

func TestSchedule(t *testing.T) {
	c := newTestCenter(t, t.TempDir())
	out, err := c.CreateCampaign(Campaign{Kind: Outgoing, Name: "o", Queue: "q"})
	if err != nil {
		t.Fatal(err)
	}
	in, err := c.CreateCampaign(Campaign{Kind: Incoming, Name: "i", Queue: "q"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddNumbers(out.ID, []NumberRow{{Phone: "5551001", Attributes: []Attribute{{Label: "name", Value: "Ann", Order: 1}}}}); err != nil {
		t.Fatal(err)
	}
	orig := c.Calls(out.ID)[0]
	c.mu.Lock()
	c.calls[100] = &Call{ID: 100, CampaignID: in.ID, Kind: Incoming, Phone: "5552000"}
	c.mu.Unlock()
	now := time.Now()
	from, to := now.Add(time.Hour), now.Add(2*time.Hour)
	tests := []struct {
		name         string
		call         int
		from, to     time.Time
		phone, agent string
		wantErr      error
		wantPhone    string
	}{
		{"same number, any agent", orig.ID, from, to, "", "", nil, "5551001"},
		{"overlapping window", orig.ID, from.Add(30 * time.Minute), to.Add(time.Hour), "", "", ErrInvalid, ""},
		{"new number, one agent", orig.ID, to, to.Add(time.Hour), "+1 (555) 100-2", "9001", nil, "+15551002"},
		{"unknown call", 77, from, to, "", "", ErrNotFound, ""},
		{"incoming call", 100, from, to, "", "", ErrInvalid, ""},
		{"window backwards", orig.ID, to, from, "", "", ErrInvalid, ""},
		{"window over", orig.ID, now.Add(-2 * time.Hour), now.Add(-time.Hour), "", "", ErrInvalid, ""},
		{"bad phone", orig.ID, from, to, "call me", "", ErrInvalid, ""},
	}
	for _, tt := range tests {
		got, err := c.Schedule(tt.call, tt.from, tt.to, tt.phone, tt.agent)
		if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.wantErr)
			continue
		}
		if err == nil && (got.Phone != tt.wantPhone || got.Status != Pending || got.FollowsUp != orig.ID || got.WantAgent != tt.agent ||
			!got.NextTry.Equal(tt.from) || !got.NotAfter.Equal(tt.to) || len(got.Attributes) != 1) {
			t.Errorf("%s: scheduled %+v", tt.name, got)
		}
	}
	// A scheduled call is not due once its window has passed.
	d := &dialer{c: c, id: out.ID}
	c.mu.Lock()
	for _, cl := range c.calls {
		if cl.FollowsUp == orig.ID && d.due(cl, c.campaigns[out.ID], to.Add(2*time.Hour)) {
			t.Errorf("call %d due after its window", cl.ID)
		}
	}
	c.mu.Unlock()
	// A window that passes undialled fails the call, for good.
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cl := range c.calls {
		if cl.FollowsUp == orig.ID && !c.expireLocked(cl, to.Add(2*time.Hour)) {
			t.Errorf("call %d not expired", cl.ID)
		}
		if cl.FollowsUp == orig.ID && (cl.Status != Failure || cl.Retries != 0) {
			t.Errorf("expired call %d is %s after %d tries", cl.ID, cl.Status, cl.Retries)
		}
	}
}

func TestAgentActivity(t *testing.T) {
	c := newTestCenter(t, t.TempDir())
	base := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	c.mu.Lock()
	for i, x := range []struct {
		agent string
		kind  Kind
		queue string
		start time.Time
		talk  time.Duration
	}{
		{"9001", Outgoing, "sales", base, time.Minute},
		{"9001", Outgoing, "sales", base.Add(time.Hour), 2 * time.Minute},
		{"9001", Incoming, "support", base, 30 * time.Second},
		{"1003", Outgoing, "sales", base, 10 * time.Second},
		{"1003", Outgoing, "sales", base.Add(-24 * time.Hour), time.Hour}, // yesterday: left out
		{"", Outgoing, "sales", base, time.Hour},                          // never reached an agent
	} {
		c.calls[i+1] = &Call{ID: i + 1, Agent: x.agent, Kind: x.kind, Queue: x.queue, LinkStart: x.start, Duration: x.talk}
	}
	c.mu.Unlock()
	got := c.AgentActivity(base.Add(-time.Hour), base.Add(23*time.Hour))
	want := []AgentCalls{
		{Agent: "1003", Kind: Outgoing, Queue: "sales", Calls: 1, Talking: 10 * time.Second},
		{Agent: "9001", Kind: Incoming, Queue: "support", Calls: 1, Talking: 30 * time.Second},
		{Agent: "9001", Kind: Outgoing, Queue: "sales", Calls: 2, Talking: 3 * time.Minute},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("activity %+v, want %+v", got, want)
	}
}
