package eccp

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"pbx/campaign"
	"pbx/clients"
	"pbx/config"
	"pbx/dialog"
	"pbx/internal/testengine"
	"pbx/queue"
	"pbx/store"
)

// The campaign and queue requests against a real campaign.Center (data
// only: its records are written to the store before it loads them) and a
// real contact center on an engine with no calls. Responses are compared
// byte for byte.

// testClock is a clock the test moves; timers run on the wall clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func (c *testClock) AfterFunc(d time.Duration, f func()) dialog.Timer { return time.AfterFunc(d, f) }

// at is a time on the test's day (2026-03-02, a Monday), local.
func at(hms string) time.Time { return atDay("2026-03-02", hms) }

func atDay(day, hms string) time.Time {
	t, err := time.ParseInLocation(time.DateTime, day+" "+hms, time.Local)
	if err != nil {
		panic(err)
	}
	return t
}

func day(d string) time.Time { return atDay(d, "00:00:00") }

var fixtureConfig = config.Config{
	ContactCenter: config.ContactCenter{Breaks: []config.Break{{Name: "Lunch"}}},
	Queues: []config.Queue{
		{Name: "sales", Strategy: "ringall", Members: []config.Member{{Agent: "9001"}, {Agent: "9002"}}},
		{Name: "support", Strategy: "ringall", Members: []config.Member{{Agent: "9002"}, {Agent: "9003"}}},
	},
	Agents: []config.Agent{
		{ID: "9001", Name: "Ana", PIN: "1234", ECCPPassword: "s1"},
		{ID: "9002", Name: "Bruno", Contact: "1002", ECCPPassword: "s2"},
		{ID: "9003", Name: "Carla", Contact: "1003"},
	},
}

var fixtureCampaigns = []campaign.Campaign{
	{ID: 1, Kind: campaign.Outgoing, Name: "Ventas & Co", Queue: "sales", Status: campaign.Active,
		Start: day("2026-03-01"), End: day("2026-03-31"), WorkStart: "09:00", WorkEnd: "18:00", Script: "Hola <b>",
		Forms: []int{1, 2}, Context: "from-internal", MaxChannels: 5, Retries: 2, Mode: campaign.Progressive},
	{ID: 2, Kind: campaign.Incoming, Name: "Soporte", Queue: "support", Status: campaign.Active,
		Start: day("2026-02-01"), End: day("2026-12-31"), Script: "Bienvenido", URL: "http://crm/{phone}", Forms: []int{1}},
	{ID: 3, Kind: campaign.Outgoing, Name: "Old", Queue: "sales", Status: campaign.Finished,
		Start: day("2025-01-10"), End: day("2025-02-10"), WorkStart: "22:00", WorkEnd: "06:00", Trunk: "trunk1", MaxChannels: 10},
	{ID: 4, Kind: campaign.Incoming, Name: "nuevo soporte", Queue: "support", Status: campaign.Inactive, Script: "Otro"},
}

var fixtureForms = []campaign.Form{
	{ID: 1, Name: "Encuesta", Active: true, Fields: []campaign.Field{
		{ID: 1, Order: 2, Label: "Edad", Type: campaign.Text},
		{ID: 2, Order: 1, Label: "Nacimiento", Type: campaign.Date},
		{ID: 3, Order: 3, Label: "Color", Type: campaign.List, Options: []string{"rojo", "verde"}},
		{ID: 4, Order: 4, Label: "Lea esto", Type: campaign.Label},
	}},
	{ID: 2, Name: "Extra", Description: "Datos & más", Fields: []campaign.Field{
		{ID: 1, Order: 1, Label: "Comentario", Type: campaign.TextArea, MaxSize: 500, Default: "  n/a "},
	}},
}

var fixtureContacts = []campaign.Contact{
	{ID: 1, FirstName: "Ana", LastName: "Pérez", Phone: "5551234", CedulaRUC: "0912345678", Source: "crm"},
	{ID: 2, FirstName: "Ana", LastName: "Gómez", Phone: "5551234"},
}

var fixtureCalls = []campaign.Call{
	{ID: 10, CampaignID: 1, Kind: campaign.Outgoing, Phone: "5550001", Status: campaign.Success, Retries: 1, Queue: "sales",
		Agent: "9001", UniqueID: "abc@host", Originate: at("09:00:00"), OriginateResponse: at("09:00:05"), Join: at("09:00:06"),
		LinkStart: at("09:00:13"), LinkEnd: at("09:05:13"), Duration: 300 * time.Second,
		Attributes: []campaign.Attribute{{Label: "ciudad", Value: "Quito", Order: 2}, {Label: "nombre", Value: "Juan", Order: 1}},
		FormData:   map[int]map[int]string{1: {1: "42", 3: "rojo"}, 2: {1: "ok"}}},
	{ID: 11, CampaignID: 1, Kind: campaign.Outgoing, Phone: "5550002", Status: campaign.Pending, Queue: "sales"},
	{ID: 12, CampaignID: 1, Kind: campaign.Outgoing, Phone: "5550003", Status: campaign.Failure, Retries: 2, Queue: "sales",
		Failure: "busy", Originate: at("09:10:00")},
	{ID: 13, CampaignID: 1, Kind: campaign.Outgoing, Phone: "5550004", Status: campaign.Abandoned, Retries: 1, Queue: "sales",
		Originate: at("09:20:00"), Join: at("09:20:10")},
	{ID: 14, CampaignID: 1, Kind: campaign.Outgoing, Phone: "5550005", Status: campaign.ShortCall, Retries: 1, Queue: "sales",
		Agent: "9002", Originate: atDay("2026-03-01", "15:00:00"), Join: atDay("2026-03-01", "15:00:10"),
		LinkStart: atDay("2026-03-01", "15:00:41"), LinkEnd: atDay("2026-03-01", "15:00:44"), Duration: 3 * time.Second},
	{ID: 20, CampaignID: 2, Kind: campaign.Incoming, Phone: "5551234", Status: campaign.Success, Retries: 1, Queue: "support",
		Agent: "9002", UniqueID: "in-1", Join: at("09:30:00"), LinkStart: at("09:30:40"), Contacts: []int{1, 2}, Contact: 1},
	{ID: 21, CampaignID: 2, Kind: campaign.Incoming, Phone: "5559999", Status: campaign.Success, Retries: 1, Queue: "support",
		Agent: "9001", Join: at("08:00:00"), LinkStart: at("08:00:02"), LinkEnd: at("08:02:02"), Duration: 120 * time.Second,
		FormData: map[int]map[int]string{1: {2: "2026-01-01"}}},
	{ID: 22, CampaignID: 2, Kind: campaign.Incoming, Phone: "5558888", Status: campaign.Abandoned, Retries: 1, Queue: "support",
		Join: at("08:30:00")},
	// A caller who waited when the PBX stopped.
	{ID: 23, CampaignID: 2, Kind: campaign.Incoming, Phone: "5558887", Status: campaign.OnQueue, Retries: 1, Queue: "support",
		LegID: "gone", Join: at("09:50:00")},
	{ID: 30, Kind: campaign.Incoming, Phone: "5557777", Status: campaign.Success, Retries: 1, Queue: "support", Agent: "9001",
		Join: at("07:00:00"), LinkStart: at("07:00:01"), LinkEnd: at("07:01:01"), Duration: 60 * time.Second},
	{ID: 31, Kind: campaign.Incoming, Phone: "5556666", Status: campaign.Abandoned, Retries: 1, Queue: "sales", Join: at("07:30:00")},
}

var fixtureLog = []campaign.LogEntry{
	{ID: 100, Time: at("09:00:00"), Phone: "5550001", Queue: "sales", Kind: campaign.Outgoing, CampaignID: 1, CallID: 10, Status: campaign.Placing, Retry: 1},
	{ID: 101, Time: at("09:00:13"), Phone: "5550001", Queue: "sales", Kind: campaign.Outgoing, CampaignID: 1, CallID: 10, Status: campaign.Success, Retry: 1, UniqueID: "abc@host", Agent: "9001"},
	{ID: 102, Time: at("09:10:30"), Phone: "5550003", Queue: "sales", Kind: campaign.Outgoing, CampaignID: 1, CallID: 12, Status: campaign.Failure, Retry: 2, Trunk: "trunk1"},
	{ID: 103, Time: atDay("2026-03-01", "15:00:44"), Phone: "5550005", Queue: "sales", Kind: campaign.Outgoing, CampaignID: 1, CallID: 14, Status: campaign.ShortCall, Retry: 1, Duration: 3 * time.Second, Agent: "9002"},
	{ID: 104, Time: at("08:00:00"), Phone: "5559999", Queue: "support", Kind: campaign.Incoming, CampaignID: 2, CallID: 21, Status: campaign.OnQueue, Retry: 1},
	{ID: 105, Time: at("07:00:00"), Phone: "5557777", Queue: "support", Kind: campaign.Incoming, CallID: 30, Status: campaign.OnQueue, Retry: 1},
	{ID: 106, Time: at("07:30:00"), Phone: "5556666", Queue: "sales", Kind: campaign.Incoming, CallID: 31, Status: campaign.OnQueue, Retry: 1},
}

// seed writes records to a campaign bucket as the campaign package keeps them.
func seed[T any](t *testing.T, st *store.Store, bucket string, recs []T, id func(T) int) {
	t.Helper()
	kv := map[string][]byte{}
	for _, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		kv[strings.Repeat("0", 10-len(itoa(id(r))))+itoa(id(r))] = b
	}
	if err := st.PutMany(bucket, kv); err != nil {
		t.Fatal(err)
	}
}

// fixture is a server on the fixture's campaigns, calls and agents.
type fixture struct {
	srv   *Server
	clock *testClock
	q     *queue.Center
	camp  *campaign.Center
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	clk := &testClock{now: at("10:00:00")}
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	seed(t, st, "cmp_campaigns", fixtureCampaigns, func(x campaign.Campaign) int { return x.ID })
	seed(t, st, "cmp_forms", fixtureForms, func(x campaign.Form) int { return x.ID })
	seed(t, st, "cmp_contacts", fixtureContacts, func(x campaign.Contact) int { return x.ID })
	seed(t, st, "cmp_calls", fixtureCalls, func(x campaign.Call) int { return x.ID })
	seed(t, st, "cmp_log", fixtureLog, func(x campaign.LogEntry) int { return x.ID })
	cc, err := campaign.New(campaign.Options{Store: st, Clock: clk, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cc.Close)

	e, _ := testengine.Start(t, dialog.Options{}, false)
	cfg := fixtureConfig
	qc, err := queue.New(queue.Options{Engine: e, Config: &cfg, Store: st, Clock: clk, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		qc.Close(ctx)
	})
	srv, err := New(Options{Engine: e, Queue: qc, Campaigns: cc, Store: st, Agents: cfg.Agents, Breaks: cfg.ContactCenter.Breaks,
		Queues: cfg.Queues, Clock: clk, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, clock: clk, q: qc, camp: cc}
}

// ask sends one request (the element inside <request>) on a logged-in
// session and returns the response document as written.
func (f *fixture) ask(t *testing.T, req string) string {
	t.Helper()
	root, err := parseDoc([]byte(`<request id="7">` + req + `</request>`))
	if err != nil {
		t.Fatalf("parse %s: %v", req, err)
	}
	ss := &session{srv: f.srv, user: "agentconsole", cookie: "c00k1e"}
	body, _ := f.srv.dispatch(context.Background(), ss, root.Kids[0])
	return string(encode(el("response", body).attr("id", "7")))
}

// response is a whole response document around body.
func response(body string) string {
	return "<?xml version=\"1.0\"?>\n<response id=\"7\">" + body + "</response>\n"
}

// hash is the agent_number and agent_hash of an agent on ask's session.
func hash(agent, password string) string {
	return "<agent_number>" + agent + "</agent_number><agent_hash>" + clients.MD5Hex("c00k1e"+agent+password) + "</agent_hash>"
}

type exchange struct {
	name, req, want string // want is the body of the response
}

func (f *fixture) run(t *testing.T, tests []exchange) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f.ask(t, tt.req)
			if want := response(tt.want); got != want {
				t.Errorf("%s\n got %s\nwant %s", tt.req, got, want)
			}
		})
	}
}

const (
	top400   = `<failure><code>400</code><message>Bad request</message></failure>`
	outgoing = `<campaign><id>1</id><type>outgoing</type><name>Ventas &amp; Co</name><status>active</status></campaign>`
	oldOne   = `<campaign><id>3</id><type>outgoing</type><name>Old</name><status>finished</status></campaign>`
	incoming = `<campaign><id>2</id><type>incoming</type><name>Soporte</name><status>active</status></campaign>`
	newOne   = `<campaign><id>4</id><type>incoming</type><name>nuevo soporte</name><status>inactive</status></campaign>`
)

func topFailure(msg string) string {
	return `<failure><code>400</code><message>` + msg + `</message></failure>`
}

func inner(name string, code int, msg string) string {
	return "<" + name + "_response><failure><code>" + itoa(code) + "</code><message>" + msg + "</message></failure></" + name + "_response>"
}

func TestGetCampaignList(t *testing.T) {
	f := newFixture(t)
	list := func(c ...string) string {
		if len(c) == 0 {
			return `<getcampaignlist_response><campaigns/></getcampaignlist_response>`
		}
		return `<getcampaignlist_response><campaigns>` + strings.Join(c, "") + `</campaigns></getcampaignlist_response>`
	}
	f.run(t, []exchange{
		{"all, incoming first", `<getcampaignlist/>`, list(incoming, newOne, outgoing, oldOne)},
		{"type", `<getcampaignlist><campaign_type>outgoing</campaign_type></getcampaignlist>`, list(outgoing, oldOne)},
		{"status", `<getcampaignlist><status>active</status></getcampaignlist>`, list(incoming, outgoing)},
		{"name, any case", `<getcampaignlist><filtername>SOPORTE</filtername></getcampaignlist>`, list(incoming, newOne)},
		{"start date from", `<getcampaignlist><datetime_start>2026-02-01</datetime_start></getcampaignlist>`, list(incoming, outgoing)},
		{"start date before, swapped", `<getcampaignlist><datetime_start>2026-03-01</datetime_start><datetime_end>2025-01-10</datetime_end></getcampaignlist>`, list(incoming, oldOne)},
		{"limit", `<getcampaignlist><limit>2</limit></getcampaignlist>`, list(incoming, newOne)},
		{"limit and offset", `<getcampaignlist><limit>2</limit><offset>1</offset></getcampaignlist>`, list(newOne, outgoing)},
		{"offset past the end", `<getcampaignlist><limit>2</limit><offset>9</offset></getcampaignlist>`, list()},
		{"bad type", `<getcampaignlist><campaign_type>both</campaign_type></getcampaignlist>`, topFailure("Bad request - invalid campaign type")},
		{"bad status", `<getcampaignlist><status>A</status></getcampaignlist>`, topFailure("Bad request - invalid status")},
		{"bad start", `<getcampaignlist><datetime_start>2026-3-1</datetime_start></getcampaignlist>`, topFailure("Bad request - invalid start date")},
		{"bad end", `<getcampaignlist><datetime_end>today</datetime_end></getcampaignlist>`, topFailure("Bad request - invalid end date")},
		{"offset without limit", `<getcampaignlist><offset>1</offset></getcampaignlist>`, topFailure("Bad request - offset without limit")},
	})
}

func TestGetCampaignInfo(t *testing.T) {
	f := newFixture(t)
	forms := `<forms><form id="1" name="Encuesta" status="A">` +
		`<field order="1" id="2"><label>Nacimiento</label><type>DATE</type></field>` +
		`<field order="2" id="1"><label>Edad</label><type>TEXT</type><maxsize>250</maxsize></field>` +
		`<field order="3" id="3"><label>Color</label><type>LIST</type><maxsize>250</maxsize><options><value>rojo</value><value>verde</value></options></field>` +
		`<field order="4" id="4"><label>Lea esto</label><type>LABEL</type></field></form>`
	extra := `<form id="2" name="Extra" description="Datos &amp; m&#xE1;s" status="I">` +
		`<field order="1" id="1"><label>Comentario</label><type>TEXTAREA</type><maxsize>500</maxsize><default_value>n/a</default_value></field></form>`
	f.run(t, []exchange{
		{"outgoing", `<getcampaigninfo><campaign_id>1</campaign_id></getcampaigninfo>`,
			`<getcampaigninfo_response><name>Ventas &amp; Co</name><type>outgoing</type><startdate>2026-03-01</startdate><enddate>2026-03-31</enddate>` +
				`<working_time_starttime>09:00:00</working_time_starttime><working_time_endtime>18:00:00</working_time_endtime><queue>sales</queue>` +
				`<retries>2</retries><context>from-internal</context><maxchan>5</maxchan><status>active</status><script>Hola &lt;b&gt;</script>` +
				`<urltemplate/><urlopentype/>` + forms + extra + `</forms></getcampaigninfo_response>`},
		{"outgoing with a trunk, no forms", `<getcampaigninfo><campaign_type>outgoing</campaign_type><campaign_id>3</campaign_id></getcampaigninfo>`,
			`<getcampaigninfo_response><name>Old</name><type>outgoing</type><startdate>2025-01-10</startdate><enddate>2025-02-10</enddate>` +
				`<working_time_starttime>22:00:00</working_time_starttime><working_time_endtime>06:00:00</working_time_endtime><queue>sales</queue>` +
				`<retries>0</retries><trunk>trunk1</trunk><context/><maxchan>10</maxchan><status>finished</status><script/>` +
				`<urltemplate/><urlopentype/><forms/></getcampaigninfo_response>`},
		{"incoming", `<getcampaigninfo><campaign_type>incoming</campaign_type><campaign_id>2</campaign_id></getcampaigninfo>`,
			`<getcampaigninfo_response><name>Soporte</name><type>incoming</type><startdate>2026-02-01</startdate><enddate>2026-12-31</enddate>` +
				`<working_time_starttime>00:00:00</working_time_starttime><working_time_endtime>23:59:59</working_time_endtime><queue>support</queue>` +
				`<status>active</status><script>Bienvenido</script><urltemplate>http://crm/{phone}</urltemplate><urlopentype>window</urlopentype>` +
				forms + `</forms></getcampaigninfo_response>`},
		{"incoming without dates", `<getcampaigninfo><campaign_type>incoming</campaign_type><campaign_id>4</campaign_id></getcampaigninfo>`,
			`<getcampaigninfo_response><name>nuevo soporte</name><type>incoming</type><startdate/><enddate/>` +
				`<working_time_starttime>00:00:00</working_time_starttime><working_time_endtime>23:59:59</working_time_endtime><queue>support</queue>` +
				`<status>inactive</status><script>Otro</script><urltemplate/><urlopentype/><forms/></getcampaigninfo_response>`},
		{"type defaults to outgoing", `<getcampaigninfo><campaign_id>2</campaign_id></getcampaigninfo>`, inner("getcampaigninfo", 404, "Campaign not found")},
		{"no such campaign", `<getcampaigninfo><campaign_type>incoming</campaign_type><campaign_id>99</campaign_id></getcampaigninfo>`, inner("getcampaigninfo", 404, "Campaign not found")},
		{"no id", `<getcampaigninfo><campaign_type>incoming</campaign_type></getcampaigninfo>`, top400},
		{"bad type", `<getcampaigninfo><campaign_type>x</campaign_type><campaign_id>1</campaign_id></getcampaigninfo>`, top400},
	})
}

func TestGetCampaignQueueWait(t *testing.T) {
	f := newFixture(t)
	hist := func(counts [7]int, abandoned int) string {
		var b strings.Builder
		b.WriteString(`<getcampaignqueuewait_response><histogram>`)
		for i, n := range counts {
			b.WriteString(`<interval><lower>` + itoa(i*5) + `</lower>`)
			if i < 6 {
				b.WriteString(`<upper>` + itoa(i*5+4) + `</upper>`)
			}
			b.WriteString(`<count>` + itoa(n) + `</count></interval>`)
		}
		b.WriteString(`</histogram><abandoned>` + itoa(abandoned) + `</abandoned></getcampaignqueuewait_response>`)
		return b.String()
	}
	f.run(t, []exchange{
		{"outgoing", `<getcampaignqueuewait><campaign_type>outgoing</campaign_type><campaign_id>1</campaign_id></getcampaignqueuewait>`,
			hist([7]int{0, 1, 0, 0, 0, 0, 1}, 1)},
		{"incoming", `<getcampaignqueuewait><campaign_type>incoming</campaign_type><campaign_id>2</campaign_id></getcampaignqueuewait>`,
			hist([7]int{1, 0, 0, 0, 0, 0, 1}, 1)},
		{"another kind's id", `<getcampaignqueuewait><campaign_type>incoming</campaign_type><campaign_id>1</campaign_id></getcampaignqueuewait>`,
			hist([7]int{}, 0)},
		{"no type", `<getcampaignqueuewait><campaign_id>1</campaign_id></getcampaignqueuewait>`, top400},
		{"no id", `<getcampaignqueuewait><campaign_type>outgoing</campaign_type></getcampaignqueuewait>`, top400},
		{"bad type", `<getcampaignqueuewait><campaign_type>in</campaign_type><campaign_id>1</campaign_id></getcampaignqueuewait>`, top400},
	})
}

func TestGetCallInfo(t *testing.T) {
	f := newFixture(t)
	contact1 := `<attribute><label>first_name</label><value>Ana</value><order>1</order></attribute>` +
		`<attribute><label>last_name</label><value>P&#xE9;rez</value><order>2</order></attribute>` +
		`<attribute><label>phone</label><value>5551234</value><order>3</order></attribute>` +
		`<attribute><label>cedula_ruc</label><value>0912345678</value><order>4</order></attribute>` +
		`<attribute><label>contact_source</label><value>crm</value><order>5</order></attribute>`
	contact2 := `<attribute><label>first_name</label><value>Ana</value><order>1</order></attribute>` +
		`<attribute><label>last_name</label><value>G&#xF3;mez</value><order>2</order></attribute>` +
		`<attribute><label>phone</label><value>5551234</value><order>3</order></attribute>` +
		`<attribute><label>cedula_ruc</label><value/><order>4</order></attribute>` +
		`<attribute><label>contact_source</label><value/><order>5</order></attribute>`
	f.run(t, []exchange{
		{"outgoing, talked", `<getcallinfo><campaign_type>outgoing</campaign_type><campaign_id>1</campaign_id><call_id>10</call_id></getcallinfo>`,
			`<getcallinfo_response><calltype>outgoing</calltype><call_id>10</call_id><campaign_id>1</campaign_id><phone>5550001</phone>` +
				`<status>Success</status><uniqueid>abc@host</uniqueid><duration>300</duration>` +
				`<datetime_originate>2026-03-02 09:00:00</datetime_originate><datetime_originateresponse>2026-03-02 09:00:05</datetime_originateresponse>` +
				`<datetime_join>2026-03-02 09:00:06</datetime_join><datetime_linkstart>2026-03-02 09:00:13</datetime_linkstart>` +
				`<datetime_linkend>2026-03-02 09:05:13</datetime_linkend><retries>1</retries><agent_number>Agent/9001</agent_number>` +
				`<call_attributes><attribute><label>nombre</label><value>Juan</value><order>0</order></attribute>` +
				`<attribute><label>ciudad</label><value>Quito</value><order>1</order></attribute></call_attributes>` +
				`<call_survey><form id="1"><field id="1"><label>Edad</label><value>42</value></field>` +
				`<field id="3"><label>Color</label><value>rojo</value></field></form>` +
				`<form id="2"><field id="1"><label>Comentario</label><value>ok</value></field></form></call_survey></getcallinfo_response>`},
		{"outgoing, pending: NULLs left out", `<getcallinfo><campaign_id>1</campaign_id><call_id>11</call_id></getcallinfo>`,
			`<getcallinfo_response><calltype>outgoing</calltype><call_id>11</call_id><campaign_id>1</campaign_id><phone>5550002</phone>` +
				`<retries>0</retries><call_attributes/><call_survey/></getcallinfo_response>`},
		{"outgoing, failed", `<getcallinfo><campaign_id>1</campaign_id><call_id>12</call_id></getcallinfo>`,
			`<getcallinfo_response><calltype>outgoing</calltype><call_id>12</call_id><campaign_id>1</campaign_id><phone>5550003</phone>` +
				`<status>Failure</status><datetime_originate>2026-03-02 09:10:00</datetime_originate><retries>2</retries>` +
				`<failure_cause_txt>busy</failure_cause_txt><call_attributes/><call_survey/></getcallinfo_response>`},
		{"incoming, talking when the PBX stopped, contacts", `<getcallinfo><campaign_type>incoming</campaign_type><call_id>20</call_id></getcallinfo>`,
			`<getcallinfo_response><calltype>incoming</calltype><call_id>20</call_id><campaign_id>2</campaign_id><phone>5551234</phone>` +
				`<status>fin-monitoreo</status><uniqueid>in-1</uniqueid><datetime_join>2026-03-02 09:30:00</datetime_join>` +
				`<datetime_linkstart>2026-03-02 09:30:40</datetime_linkstart><trunk/><queue>support</queue><agent_number>SIP/9002</agent_number>` +
				`<call_attributes>` + contact1 + `</call_attributes>` +
				`<matching_contacts><contact id="1">` + contact1 + `</contact><contact id="2">` + contact2 + `</contact></matching_contacts>` +
				`<call_survey/></getcallinfo_response>`},
		{"incoming, ended, with a form", `<getcallinfo><campaign_type>incoming</campaign_type><campaign_id>2</campaign_id><call_id>21</call_id></getcallinfo>`,
			`<getcallinfo_response><calltype>incoming</calltype><call_id>21</call_id><campaign_id>2</campaign_id><phone>5559999</phone>` +
				`<status>terminada</status><duration>120</duration><datetime_join>2026-03-02 08:00:00</datetime_join>` +
				`<datetime_linkstart>2026-03-02 08:00:02</datetime_linkstart><datetime_linkend>2026-03-02 08:02:02</datetime_linkend>` +
				`<trunk/><queue>support</queue><agent_number>Agent/9001</agent_number><call_attributes/><matching_contacts/>` +
				`<call_survey><form id="1"><field id="2"><label>Nacimiento</label><value>2026-01-01</value></field></form></call_survey></getcallinfo_response>`},
		{"incoming of no campaign, abandoned", `<getcallinfo><campaign_type>incoming</campaign_type><call_id>31</call_id></getcallinfo>`,
			`<getcallinfo_response><calltype>incoming</calltype><call_id>31</call_id><phone>5556666</phone><status>abandonada</status>` +
				`<datetime_join>2026-03-02 07:30:00</datetime_join><trunk/><queue>sales</queue><call_attributes/><matching_contacts/>` +
				`<call_survey/></getcallinfo_response>`},
		{"incoming, waiting when the PBX stopped", `<getcallinfo><campaign_type>incoming</campaign_type><call_id>23</call_id></getcallinfo>`,
			`<getcallinfo_response><calltype>incoming</calltype><call_id>23</call_id><campaign_id>2</campaign_id><phone>5558887</phone>` +
				`<status>fin-monitoreo</status><datetime_join>2026-03-02 09:50:00</datetime_join><trunk/><queue>support</queue>` +
				`<call_attributes/><matching_contacts/><call_survey/></getcallinfo_response>`},
		{"wrong campaign", `<getcallinfo><campaign_id>3</campaign_id><call_id>10</call_id></getcallinfo>`, inner("getcallinfo", 404, "Call not found")},
		{"wrong type", `<getcallinfo><campaign_type>incoming</campaign_type><call_id>10</call_id></getcallinfo>`, inner("getcallinfo", 404, "Call not found")},
		{"no such call", `<getcallinfo><campaign_id>1</campaign_id><call_id>999</call_id></getcallinfo>`, inner("getcallinfo", 404, "Call not found")},
		{"outgoing needs a campaign", `<getcallinfo><call_id>10</call_id></getcallinfo>`, top400},
		{"no call id", `<getcallinfo><campaign_type>incoming</campaign_type></getcallinfo>`, top400},
		{"bad type", `<getcallinfo><campaign_type>x</campaign_type><campaign_id>1</campaign_id><call_id>10</call_id></getcallinfo>`, top400},
	})
}

func TestSetContact(t *testing.T) {
	f := newFixture(t)
	bruno, ana := hash("SIP/9002", "s2"), hash("Agent/9001", "s1")
	f.run(t, []exchange{
		{"another agent's call", `<setcontact>` + ana + `<call_id>20</call_id><contact_id>2</contact_id></setcontact>`, inner("setcontact", 401, "Unauthorized agent")},
		{"no such call", `<setcontact>` + bruno + `<call_id>99</call_id><contact_id>2</contact_id></setcontact>`, inner("setcontact", 404, "Call ID not found")},
		{"an outgoing call", `<setcontact>` + ana + `<call_id>10</call_id><contact_id>2</contact_id></setcontact>`, inner("setcontact", 404, "Call ID not found")},
		{"no such contact", `<setcontact>` + bruno + `<call_id>20</call_id><contact_id>9</contact_id></setcontact>`, inner("setcontact", 404, "Contact ID not found")},
		{"no contact id", `<setcontact>` + bruno + `<call_id>20</call_id></setcontact>`, top400},
		{"wrong hash", `<setcontact><agent_number>SIP/9002</agent_number><agent_hash>x</agent_hash><call_id>20</call_id><contact_id>2</contact_id></setcontact>`, inner("setcontact", 401, "Unauthorized agent")},
		{"set", `<setcontact>` + bruno + `<call_id>20</call_id><contact_id>2</contact_id></setcontact>`, `<setcontact_response><success/></setcontact_response>`},
	})
	if c, _ := f.camp.Call(20); c.Contact != 2 {
		t.Errorf("call 20's contact is %d, want 2", c.Contact)
	}
}

func TestSaveFormData(t *testing.T) {
	f := newFixture(t)
	ana := hash("Agent/9001", "s1")
	save := func(kind, call, forms string) string {
		return `<saveformdata>` + ana + kind + `<call_id>` + call + `</call_id>` + forms + `</saveformdata>`
	}
	out := `<campaign_type>outgoing</campaign_type>`
	f.run(t, []exchange{
		{"saved", save(out, "10", `<forms><form id="1"><field id="1">43</field><field id="2">2000-01-31 10:00:00</field><field id="4">x</field></form></forms>`),
			`<saveformdata_response><success/></saveformdata_response>`},
		{"type defaults to outgoing", save("", "10", `<forms><form id="2"><field id="1"> padded </field></form></forms>`),
			`<saveformdata_response><success/></saveformdata_response>`},
		{"no such form", save(out, "10", `<forms><form id="7"><field id="1">a</field></form></forms>`), inner("saveformdata", 404, "Form ID not found: 7")},
		{"no such field", save(out, "10", `<forms><form id="1"><field id="9">a</field></form></forms>`), inner("saveformdata", 404, "Field ID not found in form: 1 - 9")},
		{"too large", save(out, "10", `<forms><form id="1"><field id="1">`+strings.Repeat("é", 251)+`</field></form></forms>`), inner("saveformdata", 413, "Form value too large: 1 - 1")},
		{"bad date", save(out, "10", `<forms><form id="1"><field id="2">31/01/2000</field></form></forms>`),
			inner("saveformdata", 406, "Date format not acceptable, must be yyyy-mm-dd or yyyy-mm-dd hh:mm:ss: 1 - 2")},
		{"not an option", save(out, "10", `<forms><form id="1"><field id="3">azul</field></form></forms>`), inner("saveformdata", 406, "Value not in list of accepted values: 1 - 3")},
		{"another agent's call", save(`<campaign_type>incoming</campaign_type>`, "20", `<forms/>`), inner("saveformdata", 401, "Unauthorized agent")},
		{"wrong type for the call", save(`<campaign_type>incoming</campaign_type>`, "10", `<forms/>`), inner("saveformdata", 401, "Unauthorized agent")},
		{"no such call", save(out, "99", `<forms/>`), inner("saveformdata", 401, "Unauthorized agent")},
		{"repeated form", save(out, "10", `<forms><form id="1"/><form id="1"/></forms>`), top400},
		{"no forms", save(out, "10", ``), top400},
		{"no call", `<saveformdata>` + ana + `<forms/></saveformdata>`, top400},
		{"bad type", save(`<campaign_type>x</campaign_type>`, "10", `<forms/>`), top400},
	})
	c, _ := f.camp.Call(10)
	if got := c.FormData[1]; got[1] != "43" || got[2] != "2000-01-31 10:00:00" || got[3] != "rojo" || len(got) != 3 {
		t.Errorf("form 1 of call 10: %v", got)
	}
	if got := c.FormData[2][1]; got != " padded " {
		t.Errorf("form 2 field 1 of call 10: %q", got)
	}
}

func TestCampaignLog(t *testing.T) {
	f := newFixture(t)
	e100 := `<logentry><id>100</id><datetime_entry>2026-03-02 09:00:00</datetime_entry><phone>5550001</phone><queue>sales</queue><campaign_type>outgoing</campaign_type><campaign_id>1</campaign_id><call_id>10</call_id><new_status>Placing</new_status><retry>1</retry></logentry>`
	e101 := `<logentry><id>101</id><datetime_entry>2026-03-02 09:00:13</datetime_entry><phone>5550001</phone><queue>sales</queue><campaign_type>outgoing</campaign_type><campaign_id>1</campaign_id><call_id>10</call_id><new_status>Success</new_status><retry>1</retry><uniqueid>abc@host</uniqueid><agentchannel>Agent/9001</agentchannel></logentry>`
	e102 := `<logentry><id>102</id><datetime_entry>2026-03-02 09:10:30</datetime_entry><phone>5550003</phone><queue>sales</queue><campaign_type>outgoing</campaign_type><campaign_id>1</campaign_id><call_id>12</call_id><new_status>Failure</new_status><retry>2</retry><trunk>trunk1</trunk></logentry>`
	e103 := `<logentry><id>103</id><datetime_entry>2026-03-01 15:00:44</datetime_entry><phone>5550005</phone><queue>sales</queue><campaign_type>outgoing</campaign_type><campaign_id>1</campaign_id><call_id>14</call_id><new_status>ShortCall</new_status><retry>1</retry><duration>3</duration><agentchannel>SIP/9002</agentchannel></logentry>`
	e104 := `<logentry><id>104</id><datetime_entry>2026-03-02 08:00:00</datetime_entry><phone>5559999</phone><queue>support</queue><campaign_type>incoming</campaign_type><campaign_id>2</campaign_id><call_id>21</call_id><new_status>OnQueue</new_status><retry>1</retry></logentry>`
	e105 := `<logentry><id>105</id><datetime_entry>2026-03-02 07:00:00</datetime_entry><phone>5557777</phone><queue>support</queue><campaign_type>incoming</campaign_type><call_id>30</call_id><new_status>OnQueue</new_status><retry>1</retry></logentry>`
	log := func(entries ...string) string {
		if len(entries) == 0 {
			return `<campaignlog_response><logentries/></campaignlog_response>`
		}
		return `<campaignlog_response><logentries>` + strings.Join(entries, "") + `</logentries></campaignlog_response>`
	}
	out := `<campaign_type>outgoing</campaign_type><campaign_id>1</campaign_id>`
	f.run(t, []exchange{
		{"today", `<campaignlog>` + out + `</campaignlog>`, log(e100, e101, e102)},
		{"two days", `<campaignlog>` + out + `<datetime_start>2026-03-02</datetime_start><datetime_end>2026-03-01</datetime_end></campaignlog>`, log(e100, e101, e102, e103)},
		{"last 2", `<campaignlog>` + out + `<last_n>2</last_n></campaignlog>`, log(e101, e102)},
		{"last 2 before 102", `<campaignlog>` + out + `<last_n>2</last_n><idbefore>102</idbefore><datetime_start>2026-03-01</datetime_start></campaignlog>`, log(e100, e101)},
		{"idbefore alone is ignored", `<campaignlog>` + out + `<idbefore>101</idbefore></campaignlog>`, log(e100, e101, e102)},
		{"incoming campaign, queue ignored", `<campaignlog><campaign_type>incoming</campaign_type><campaign_id>2</campaign_id><queue>sales</queue></campaignlog>`, log(e104)},
		{"incoming queue of no campaign", `<campaignlog><campaign_type>incoming</campaign_type><queue>support</queue></campaignlog>`, log(e105)},
		{"another day", `<campaignlog>` + out + `<datetime_start>2026-01-01</datetime_start><datetime_end>2026-01-31</datetime_end></campaignlog>`, log()},
		{"outgoing needs an id", `<campaignlog><campaign_type>outgoing</campaign_type><queue>sales</queue></campaignlog>`, top400},
		{"incoming needs an id or a queue", `<campaignlog><campaign_type>incoming</campaign_type></campaignlog>`, top400},
		{"no type", `<campaignlog><campaign_id>1</campaign_id></campaignlog>`, top400},
		{"bad start", `<campaignlog>` + out + `<datetime_start>x</datetime_start></campaignlog>`, topFailure("Bad request - invalid start date")},
		{"bad end", `<campaignlog>` + out + `<datetime_end>2026-03-2</datetime_end></campaignlog>`, topFailure("Bad request - invalid end date")},
	})
}

func TestGetCampaignStatus(t *testing.T) {
	f := newFixture(t)
	if err := f.q.Login(context.Background(), "9002", queue.LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	agent := func(name string) string {
		a, _, _ := f.srv.agentByName(name)
		return strings.TrimSuffix(strings.TrimPrefix(string(encode(el("agent", tx("agentchannel", a.Name)).add(f.srv.agentStatusNodes(a, true)...))), declaration), "\n")
	}
	if got := agent("SIP/9002"); !strings.Contains(got, "<status>online</status>") {
		t.Fatalf("SIP/9002 logged in shows %s", got)
	}
	f.run(t, []exchange{
		{"outgoing", `<getcampaignstatus><campaign_id>1</campaign_id></getcampaignstatus>`,
			`<getcampaignstatus_response><statuscount><total>5</total><pending>1</pending><placing>0</placing><ringing>0</ringing>` +
				`<onqueue>0</onqueue><success>1</success><onhold>0</onhold><failure>1</failure><shortcall>1</shortcall><noanswer>0</noanswer>` +
				`<abandoned>1</abandoned></statuscount><agents>` + agent("Agent/9001") + agent("SIP/9002") + `</agents><activecalls/>` +
				`<stats><total_sec>300</total_sec><max_duration>300</max_duration></stats></getcampaignstatus_response>`},
		{"outgoing since today", `<getcampaignstatus><campaign_type>outgoing</campaign_type><campaign_id>1</campaign_id><datetime_start>2026-03-02</datetime_start></getcampaignstatus>`,
			`<getcampaignstatus_response><statuscount><total>3</total><pending>0</pending><placing>0</placing><ringing>0</ringing>` +
				`<onqueue>0</onqueue><success>1</success><onhold>0</onhold><failure>1</failure><shortcall>0</shortcall><noanswer>0</noanswer>` +
				`<abandoned>1</abandoned></statuscount><agents>` + agent("Agent/9001") + agent("SIP/9002") + `</agents><activecalls/>` +
				`<stats><total_sec>300</total_sec><max_duration>300</max_duration></stats></getcampaignstatus_response>`},
		{"incoming", `<getcampaignstatus><campaign_type>incoming</campaign_type><campaign_id>2</campaign_id></getcampaignstatus>`,
			`<getcampaignstatus_response><statuscount><total>4</total><onqueue>0</onqueue><success>0</success><onhold>0</onhold>` +
				`<abandoned>1</abandoned><finished>1</finished><losttrack>2</losttrack></statuscount><agents>` + agent("SIP/9002") + agent("SIP/9003") +
				`</agents><activecalls/><stats><total_sec>120</total_sec><max_duration>120</max_duration></stats></getcampaignstatus_response>`},
		{"another kind's id", `<getcampaignstatus><campaign_type>incoming</campaign_type><campaign_id>1</campaign_id></getcampaignstatus>`, inner("getcampaignstatus", 404, "Campaign not found")},
		{"no id", `<getcampaignstatus/>`, top400},
		{"bad type", `<getcampaignstatus><campaign_type>x</campaign_type><campaign_id>1</campaign_id></getcampaignstatus>`, top400},
		{"bad date", `<getcampaignstatus><campaign_id>1</campaign_id><datetime_start>2026-03-02 00:00:00</datetime_start></getcampaignstatus>`, topFailure("Bad request - invalid start date")},
		{"queue", `<getincomingqueuestatus><queue>support</queue></getincomingqueuestatus>`,
			`<getincomingqueuestatus_response><statuscount><total>1</total><onqueue>0</onqueue><success>0</success><onhold>0</onhold>` +
				`<abandoned>0</abandoned><finished>1</finished><losttrack>0</losttrack></statuscount><agents>` + agent("SIP/9002") + agent("SIP/9003") +
				`</agents><activecalls/><stats><total_sec>60</total_sec><max_duration>60</max_duration></stats></getincomingqueuestatus_response>`},
		{"queue since tomorrow", `<getincomingqueuestatus><queue>sales</queue><datetime_start>2026-03-03</datetime_start></getincomingqueuestatus>`,
			`<getincomingqueuestatus_response><statuscount><total>0</total><onqueue>0</onqueue><success>0</success><onhold>0</onhold>` +
				`<abandoned>0</abandoned><finished>0</finished><losttrack>0</losttrack></statuscount><agents>` + agent("Agent/9001") + agent("SIP/9002") +
				`</agents><activecalls/><stats><total_sec>0</total_sec><max_duration>0</max_duration></stats></getincomingqueuestatus_response>`},
		{"unknown queue", `<getincomingqueuestatus><queue>nope</queue></getincomingqueuestatus>`,
			`<getincomingqueuestatus_response><statuscount><total>0</total><onqueue>0</onqueue><success>0</success><onhold>0</onhold>` +
				`<abandoned>0</abandoned><finished>0</finished><losttrack>0</losttrack></statuscount><agents/><activecalls/>` +
				`<stats><total_sec>0</total_sec><max_duration>0</max_duration></stats></getincomingqueuestatus_response>`},
		{"no queue", `<getincomingqueuestatus/>`, top400},
	})
}

func TestScheduleCall(t *testing.T) {
	f := newFixture(t)
	ana, bruno := hash("Agent/9001", "s1"), hash("SIP/9002", "s2")
	if err := f.q.Login(context.Background(), "9002", queue.LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	sched := func(di, de, ti, te string) string {
		return `<schedule><date_init>` + di + `</date_init><date_end>` + de + `</date_end><time_init>` + ti + `</time_init><time_end>` + te + `</time_end></schedule>`
	}
	call10 := `<campaign_type>outgoing</campaign_type><call_id>10</call_id>`
	ok := `<schedulecall_response><success/></schedulecall_response>`
	fail := func(code int, msg string) string { return inner("schedulecall", code, msg) }
	f.run(t, []exchange{
		{"agent logged out", `<schedulecall>` + ana + call10 + `</schedulecall>`, fail(417, "Agent currently not logged in")},
		{"incomplete schedule", `<schedulecall>` + bruno + call10 + `<schedule><date_init>2026-03-03</date_init></schedule></schedulecall>`, fail(400, "Bad request: incomplete schedule")},
		{"same agent without schedule", `<schedulecall>` + bruno + call10 + `<sameagent>1</sameagent></schedulecall>`, fail(400, "Bad request: same-agent requires schedule")},
		{"bad phone", `<schedulecall>` + bruno + call10 + `<newphone>555-1</newphone></schedulecall>`, fail(400, "Bad request: invalid new phone")},
		{"bad date_init", `<schedulecall>` + bruno + call10 + sched("2026-3-03", "2026-03-04", "10:00:00", "11:00:00") + `</schedulecall>`, fail(400, "Bad request: invalid date_init")},
		{"bad date_end", `<schedulecall>` + bruno + call10 + sched("2026-03-03", "2026-02-30", "10:00:00", "11:00:00") + `</schedulecall>`, fail(400, "Bad request: invalid date_end")},
		{"bad time_init", `<schedulecall>` + bruno + call10 + sched("2026-03-03", "2026-03-04", "10:00", "11:00:00") + `</schedulecall>`, fail(400, "Bad request: invalid time_init")},
		{"bad time_end", `<schedulecall>` + bruno + call10 + sched("2026-03-03", "2026-03-04", "10:00:00", "25:00:00") + `</schedulecall>`, fail(400, "Bad request: invalid time_end")},
		{"in the past", `<schedulecall>` + bruno + call10 + sched("2026-03-01", "2026-03-01", "10:00:00", "11:00:00") + `</schedulecall>`, fail(400, "Bad request: date_init before current date")},
		{"not in a call", `<schedulecall>` + bruno + `</schedulecall>`, fail(417, "Not in outgoing call")},
		{"an incoming call", `<schedulecall>` + bruno + `<campaign_type>incoming</campaign_type><call_id>20</call_id></schedulecall>`, top400},
		{"unknown call, not in a call", `<schedulecall>` + bruno + `<campaign_type>outgoing</campaign_type><call_id>20</call_id></schedulecall>`, fail(417, "Not in outgoing call")},
		{"outside the campaign's dates", `<schedulecall>` + bruno + call10 + sched("2026-03-30", "2026-04-02", "10:00:00", "11:00:00") + `</schedulecall>`, fail(417, "Supplied date range outside campaign range")},
		{"outside the campaign's hours", `<schedulecall>` + bruno + call10 + sched("2026-03-03", "2026-03-04", "08:00:00", "11:00:00") + `</schedulecall>`, fail(417, "Supplied time range outside campaign range")},
		{"scheduled, dates swapped", `<schedulecall>` + bruno + call10 + sched("2026-03-05", "2026-03-03", "10:00:00", "11:30:00") + `<sameagent>1</sameagent><newphone>5550099</newphone></schedulecall>`, ok},
		{"the same again", `<schedulecall>` + bruno + call10 + sched("2026-03-03", "2026-03-05", "10:00:00", "11:30:00") + `<newphone>5550099</newphone></schedulecall>`, fail(417, "Found duplicate scheduled call")},
		// campaign.Schedule refuses a window over another of the same call.
		{"overlapping", `<schedulecall>` + bruno + call10 + `</schedulecall>`, fail(417, "Found duplicate scheduled call")},
		{"whenever", `<schedulecall>` + bruno + `<campaign_type>outgoing</campaign_type><call_id>14</call_id></schedulecall>`, ok},
	})
	var got []campaign.Call
	for _, c := range f.camp.Calls(1) {
		if c.FollowsUp != 0 {
			got = append(got, c)
		}
	}
	if len(got) != 2 {
		t.Fatalf("scheduled calls: %+v", got)
	}
	if c := got[0]; c.Phone != "5550099" || !c.NextTry.Equal(atDay("2026-03-03", "10:00:00")) || !c.NotAfter.Equal(atDay("2026-03-05", "11:30:00")) || c.WantAgent != "9002" {
		t.Errorf("first scheduled call: %+v", c)
	}
	if c := got[1]; c.Phone != "5550005" || c.FollowsUp != 14 || !c.NextTry.Equal(at("10:00:00")) || !c.NotAfter.Equal(day("2026-04-01")) || c.WantAgent != "" {
		t.Errorf("second scheduled call: %+v", c)
	}
}

func TestWithinHours(t *testing.T) {
	day := campaign.Campaign{WorkStart: "09:00", WorkEnd: "18:00"}
	night := campaign.Campaign{WorkStart: "22:00", WorkEnd: "06:00"}
	tests := []struct {
		cp       campaign.Campaign
		from, to string
		want     bool
	}{
		{campaign.Campaign{}, "00:00:00", "23:59:59", true},
		{day, "09:00:00", "18:00:00", true},
		{day, "08:59:59", "12:00:00", false},
		{day, "12:00:00", "18:00:01", false},
		{night, "22:30:00", "23:30:00", true},
		{night, "01:00:00", "05:00:00", true},
		{night, "23:00:00", "05:00:00", true},
		{night, "21:00:00", "23:00:00", false},
		{night, "05:00:00", "07:00:00", false},
		{night, "23:00:00", "07:00:00", false},
	}
	for _, tt := range tests {
		if got := withinHours(tt.cp, tt.from, tt.to); got != tt.want {
			t.Errorf("withinHours(%s-%s, %s, %s) = %v", tt.cp.WorkStart, tt.cp.WorkEnd, tt.from, tt.to, got)
		}
	}
}

func TestQueueRequests(t *testing.T) {
	f := newFixture(t)
	f.run(t, []exchange{
		{"script of an incoming campaign's queue", `<getqueuescript><queue>support</queue></getqueuescript>`, `<getqueuescript_response><script>Bienvenido</script></getqueuescript_response>`},
		{"script of a queue of no incoming campaign", `<getqueuescript><queue>sales</queue></getqueuescript>`, `<getqueuescript_response><script/></getqueuescript_response>`},
		{"script of no queue", `<getqueuescript><queue>nope</queue></getqueuescript>`, inner("getqueuescript", 404, "Queue not found in incoming queues")},
		{"script without a queue", `<getqueuescript/>`, top400},
		{"queues", `<getincomingqueuelist/>`, `<getincomingqueuelist_response><queues><queue><id>1</id><queue>sales</queue><status>active</status></queue>` +
			`<queue><id>2</id><queue>support</queue><status>active</status></queue></queues></getincomingqueuelist_response>`},
		{"queues paged", `<getincomingqueuelist><limit>1</limit><offset>1</offset></getincomingqueuelist>`,
			`<getincomingqueuelist_response><queues><queue><id>2</id><queue>support</queue><status>active</status></queue></queues></getincomingqueuelist_response>`},
		{"queues: offset without limit", `<getincomingqueuelist><offset>1</offset></getincomingqueuelist>`, topFailure("Bad request - offset without limit")},
		{"agent's queues", `<getagentqueues><agent_number>SIP/9002</agent_number></getagentqueues>`,
			`<getagentqueues_response><queues><queue>sales</queue><queue>support</queue></queues></getagentqueues_response>`},
		{"agent's queues: no such agent", `<getagentqueues><agent_number>Agent/9002</agent_number></getagentqueues>`, inner("getagentqueues", 404, "Specified agent not found")},
		{"agent's queues: not an agent number", `<getagentqueues><agent_number>9002</agent_number></getagentqueues>`, inner("getagentqueues", 404, "Specified agent not found")},
		{"agent's queues: no agent", `<getagentqueues/>`, top400},
		{"agents' queues", `<getmultipleagentqueues><agents><agent_number>SIP/9003</agent_number><agent_number>Agent/9001</agent_number><agent_number>SIP/9003</agent_number></agents></getmultipleagentqueues>`,
			`<getmultipleagentqueues_response><agents><agent><agent_number>SIP/9003</agent_number><queues><queue>support</queue></queues></agent>` +
				`<agent><agent_number>Agent/9001</agent_number><queues><queue>sales</queue></queues></agent></agents></getmultipleagentqueues_response>`},
		{"agents' queues: none", `<getmultipleagentqueues><agents/></getmultipleagentqueues>`, `<getmultipleagentqueues_response><agents/></getmultipleagentqueues_response>`},
		{"agents' queues: no such agent", `<getmultipleagentqueues><agents><agent_number>SIP/1</agent_number><agent_number>x</agent_number></agents></getmultipleagentqueues>`,
			inner("getmultipleagentqueues", 417, "Invalid agent number")},
		{"agents' queues: not an agent number", `<getmultipleagentqueues><agents><agent_number>SIP/1</agent_number></agents></getmultipleagentqueues>`,
			inner("getmultipleagentqueues", 404, "Specified agent not found")},
		{"agents' queues: no agents", `<getmultipleagentqueues/>`, top400},
	})
}

func TestGetAgentActivitySummary(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.clock.set(at("08:00:00"))
	if err := f.q.Login(ctx, "9002", queue.LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	f.clock.set(at("09:00:00"))
	if err := f.q.Pause("9002", "Lunch", ""); err != nil {
		t.Fatal(err)
	}
	f.clock.set(at("09:30:00"))
	if err := f.q.Unpause("9002"); err != nil {
		t.Fatal(err)
	}
	f.clock.set(at("09:45:00"))
	if err := f.q.Logout(ctx, "9002", ""); err != nil {
		t.Fatal(err)
	}
	f.clock.set(at("10:00:00"))
	// The queue log reaches the store behind the calls.
	deadline := time.Now().Add(5 * time.Second)
	for {
		list, err := f.q.Activity(day("2026-03-02"), day("2026-03-03"))
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 1 && !list[0].LastLoginEnd.IsZero() && !list[0].LastPauseEnd.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue log: %+v", list)
		}
		time.Sleep(10 * time.Millisecond)
	}
	empty := `<callsummary><incoming/><outgoing/></callsummary>`
	ana := `<agent><agentchannel>Agent/9001</agentchannel><agentname>Ana</agentname><logintime>0</logintime><callsummary><incoming>` +
		`<queue id="support"><sec_calls>180</sec_calls><num_calls>2</num_calls></queue></incoming>` +
		`<outgoing><queue id="sales"><sec_calls>300</sec_calls><num_calls>1</num_calls></queue></outgoing></callsummary></agent>`
	bruno := `<agent><agentchannel>SIP/9002</agentchannel><agentname>Bruno</agentname><logintime>6300</logintime><callsummary>` +
		`<incoming><queue id="support"><sec_calls>0</sec_calls><num_calls>1</num_calls></queue></incoming><outgoing/></callsummary>` +
		`<lastsessionstart>2026-03-02 08:00:00</lastsessionstart><lastsessionend>2026-03-02 09:45:00</lastsessionend>` +
		`<lastpausestart>2026-03-02 09:00:00</lastpausestart><lastpauseend>2026-03-02 09:30:00</lastpauseend></agent>`
	carla := `<agent><agentchannel>SIP/9003</agentchannel><agentname>Carla</agentname><logintime>0</logintime>` + empty + `</agent>`
	bruno1 := `<agent><agentchannel>SIP/9002</agentchannel><agentname>Bruno</agentname><logintime>0</logintime><callsummary><incoming/>` +
		`<outgoing><queue id="sales"><sec_calls>3</sec_calls><num_calls>1</num_calls></queue></outgoing></callsummary></agent>`
	f.run(t, []exchange{
		{"today", `<getagentactivitysummary/>`, `<getagentactivitysummary_response><agents>` + ana + bruno + carla + `</agents></getagentactivitysummary_response>`},
		{"yesterday", `<getagentactivitysummary><datetime_start>2026-03-01</datetime_start><datetime_end>2026-03-01</datetime_end></getagentactivitysummary>`,
			`<getagentactivitysummary_response><agents><agent><agentchannel>Agent/9001</agentchannel><agentname>Ana</agentname><logintime>0</logintime>` + empty +
				`</agent>` + bruno1 + carla + `</agents></getagentactivitysummary_response>`},
		{"bad start", `<getagentactivitysummary><datetime_start>1</datetime_start></getagentactivitysummary>`, topFailure("Bad request - invalid start date")},
		{"bad end", `<getagentactivitysummary><datetime_end>2026-03-32</datetime_end></getagentactivitysummary>`, topFailure("Bad request - invalid end date")},
	})
}

func TestPHPInt(t *testing.T) {
	for in, want := range map[string]int{"12": 12, " 7x": 7, "-3": -3, "+4": 4, "x": 0, "": 0} {
		if got := phpInt(in); got != want {
			t.Errorf("phpInt(%q) = %d, want %d", in, got, want)
		}
	}
}

// An activecall: today's times lose their date; the status is dialerd's
// in-memory one, in English for incoming calls too.
func TestActiveCallNodes(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		c    campaign.Call
		want string
	}{
		{campaign.Call{ID: 40, CampaignID: 2, Kind: campaign.Incoming, Phone: "5551234", Status: campaign.OnQueue, Queue: "support", Join: at("09:59:00")},
			`<activecall><calltype>incoming</calltype><callid>40</callid><campaign_id>2</campaign_id><queuenumber>support</queuenumber>` +
				`<callnumber>5551234</callnumber><callstatus>OnQueue</callstatus><queuestart>09:59:00</queuestart></activecall>`},
		{campaign.Call{ID: 41, Kind: campaign.Incoming, Phone: "5551235", Status: campaign.OnQueue, Queue: "sales", Join: at("09:59:30")},
			`<activecall><calltype>incoming</calltype><callid>41</callid><queuenumber>sales</queuenumber>` +
				`<callnumber>5551235</callnumber><callstatus>OnQueue</callstatus><queuestart>09:59:30</queuestart></activecall>`},
		{campaign.Call{ID: 42, CampaignID: 1, Kind: campaign.Outgoing, Phone: "5550042", Status: campaign.Ringing, Queue: "sales", Trunk: "trunk1",
			Originate: atDay("2026-03-01", "23:59:58"), OriginateResponse: at("00:00:01")},
			`<activecall><calltype>outgoing</calltype><callid>42</callid><campaign_id>1</campaign_id><queuenumber>sales</queuenumber>` +
				`<callnumber>5550042</callnumber><callstatus>Ringing</callstatus><trunk>trunk1</trunk>` +
				`<dialstart>2026-03-01 23:59:58</dialstart><dialend>00:00:01</dialend></activecall>`},
	}
	for _, tt := range tests {
		got := strings.TrimSuffix(strings.TrimPrefix(string(encode(el("activecall", f.srv.activeCallNodes(tt.c)...))), declaration), "\n")
		if got != tt.want {
			t.Errorf("call %d:\n got %s\nwant %s", tt.c.ID, got, tt.want)
		}
	}
}
