package campaign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"pbx/dialog"
	"pbx/store"
)

// EventCallProgress is published on every status change of a campaign
// call: Campaign, CampaignCall, State (the new status), To (the number),
// LegID, Queue and Agent when known, and CampaignLog (the log entry of
// the change). A talking call's caller put on hold or taken off it comes
// as State OnHold or OffHold, though the call's status stays Success.
const EventCallProgress dialog.EventKind = "campaign.call_progress"

// EventCallEnded is published when a campaign call that reached an agent
// ends: Duration is how long they talked, State its final status
// (Success, or ShortCall), CampaignLog the log entry of that status, with
// the other fields of EventCallProgress.
const EventCallEnded dialog.EventKind = "campaign.call_ended"

// Agents is what the dialer needs of the contact center: how many agents
// are logged in to a queue, and how many of them could take a call now
// (ok is false for a queue that does not exist); whether one agent is
// free; and handing a caller waiting in a queue to one agent, for a call
// scheduled to them. The dialer asks while it holds the Center's lock:
// an implementation must never call back into the Center.
type Agents interface {
	QueueAgents(queue string) (loggedIn, free int, ok bool)
	AgentFree(agent string) bool
	Assign(ctx context.Context, legID, agent string) error
}

// Errors of the Center's API.
var (
	ErrNotFound = errors.New("campaign: not found")
	ErrInvalid  = errors.New("campaign: invalid")
	// ErrScheduled (with ErrInvalid) is a Schedule whose window overlaps
	// one already scheduled for the same call.
	ErrScheduled = errors.New("already scheduled then")
)

// Options are what a Center works with. With no Engine or no Agents (a
// command reading the store), campaigns are data only: no dialer runs.
type Options struct {
	Engine *dialog.Engine
	Store  *store.Store
	Agents Agents
	Clock  dialog.Clock // nil means the wall clock
	Logger *slog.Logger
	// Tick is how often a running dialer looks for calls to place; 0
	// means 500 ms.
	Tick time.Duration
	// TrunkLimits are the trunks' channels (trunks.max_calls) by name:
	// the dialers together keep their calls on a trunk within it.
	TrunkLimits map[string]int
	// TrackQueues gives every caller who joins any queue a call record,
	// of campaign 0 when no active incoming campaign has the queue, so
	// that a control plane (ECCP) has a call id for each of them.
	TrackQueues bool
}

// Center keeps campaigns and their calls, and runs the dialers of the
// active outgoing campaigns. Its goroutines (the event pump, the
// persister, one dialer per running campaign) stop with Close.
type Center struct {
	e      *dialog.Engine
	st     *store.Store
	agents Agents
	clock  dialog.Clock
	log    *slog.Logger
	tick   time.Duration
	trunks map[string]int // Options.TrunkLimits
	track  bool           // Options.TrackQueues

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	campaigns map[int]*Campaign
	forms     map[int]*Form
	contacts  map[int]*Contact
	calls     map[int]*Call
	byLeg     map[string]*Call // live calls by leg id
	talks     map[int]*talk    // calls talking to their agent, by call id
	logs      []LogEntry
	next      map[string]int         // bucket -> last id given
	dirty     map[string]map[int]any // bucket -> id -> record to write
	dialers   map[int]*dialer
	stopped   bool          // StopDialing was called: no dialer starts again
	flushing  chan struct{} // wakes the persister
}

// New loads campaigns, forms, contacts and calls from the store and
// starts the dialers of active outgoing campaigns.
func New(o Options) (*Center, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = dialog.SystemClock{}
	}
	if o.Tick <= 0 {
		o.Tick = 500 * time.Millisecond
	}
	c := &Center{
		e: o.Engine, st: o.Store, agents: o.Agents, clock: o.Clock, log: o.Logger, tick: o.Tick, trunks: o.TrunkLimits,
		track:     o.TrackQueues,
		campaigns: map[int]*Campaign{}, forms: map[int]*Form{}, contacts: map[int]*Contact{},
		calls: map[int]*Call{}, byLeg: map[string]*Call{}, talks: map[int]*talk{},
		next: map[string]int{}, dirty: map[string]map[int]any{}, dialers: map[int]*dialer{},
		flushing: make(chan struct{}, 1),
	}
	if err := c.load(); err != nil {
		return nil, err
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if c.e != nil {
		sub, err := c.e.Subscribe(dialog.EventFilter{Buffer: pumpBuffer, Kinds: pumpKinds})
		if err != nil {
			return nil, fmt.Errorf("campaign: subscribe to events: %w", err)
		}
		c.goRun(func() { c.pump(sub) })
	}
	c.goRun(c.persist)
	c.mu.Lock()
	for _, cp := range c.campaigns {
		if cp.Kind == Outgoing && cp.Status == Active {
			c.startDialerLocked(cp.ID)
		}
	}
	c.mu.Unlock()
	return c, nil
}

// goRun runs f on a goroutine the Center owns: Close waits for it.
func (c *Center) goRun(f func()) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
}

// StopDialing stops every dialer: no campaign places a call from now
// on, while the calls in progress go on being followed. A PBX that drains
// stops dialing first, and closes the Center once its calls are over.
func (c *Center) StopDialing() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	for id, d := range c.dialers {
		d.stop()
		delete(c.dialers, id)
	}
}

// Close stops the dialers (calls in progress go on), the event pump and
// the persister, after a last write of what changed.
func (c *Center) Close() {
	c.StopDialing()
	c.cancel()
	c.wg.Wait()
	c.flush()
}

// CreateCampaign checks and stores a new campaign, and returns it with its id.
func (c *Center) CreateCampaign(cp Campaign) (Campaign, error) {
	if err := c.checkCampaign(&cp); err != nil {
		return Campaign{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cp.ID = c.newIDLocked(bucketCampaigns)
	if cp.Status == "" {
		cp.Status = Inactive
	}
	c.campaigns[cp.ID] = &cp
	c.markLocked(bucketCampaigns, cp.ID, cp)
	if cp.Kind == Outgoing && cp.Status == Active {
		c.startDialerLocked(cp.ID)
	}
	return cp, nil
}

// checkCampaign fills defaults and refuses what cannot run.
func (c *Center) checkCampaign(cp *Campaign) error {
	cp.Name = strings.TrimSpace(cp.Name)
	switch {
	case cp.Name == "":
		return fmt.Errorf("%w: a campaign needs a name", ErrInvalid)
	case cp.Kind != Incoming && cp.Kind != Outgoing:
		return fmt.Errorf("%w: type %q: want incoming or outgoing", ErrInvalid, cp.Kind)
	case cp.Queue == "":
		return fmt.Errorf("%w: a campaign needs a queue", ErrInvalid)
	case cp.Status != "" && cp.Status != Active && cp.Status != Inactive && cp.Status != Finished:
		return fmt.Errorf("%w: status %q: want active, inactive or finished", ErrInvalid, cp.Status)
	case !cp.End.IsZero() && cp.End.Before(cp.Start):
		return fmt.Errorf("%w: the end date is before the start date", ErrInvalid)
	case (cp.WorkStart == "") != (cp.WorkEnd == ""):
		return fmt.Errorf("%w: give both work_start and work_end, or neither", ErrInvalid)
	}
	for _, hm := range []string{cp.WorkStart, cp.WorkEnd} {
		if _, err := clockMinutes(hm); hm != "" && err != nil {
			return fmt.Errorf("%w: working hours: %v", ErrInvalid, err)
		}
	}
	c.mu.Lock()
	for _, id := range cp.Forms {
		if c.forms[id] == nil {
			c.mu.Unlock()
			return fmt.Errorf("%w: no form %d", ErrInvalid, id)
		}
	}
	c.mu.Unlock()
	if cp.Kind == Incoming {
		return nil
	}
	switch {
	case cp.Mode == "":
		cp.Mode = Progressive
	case cp.Mode != Progressive && cp.Mode != Predictive:
		return fmt.Errorf("%w: mode %q: want progressive or predictive", ErrInvalid, cp.Mode)
	}
	switch {
	case cp.MaxChannels < 0, cp.Retries < 0, cp.RetryDelay < 0, cp.ShortCall < 0, cp.RingTimeout < 0:
		return fmt.Errorf("%w: max_channels, retries and the delays must not be negative", ErrInvalid)
	case cp.AbandonCap < 0 || cp.AbandonCap >= 1:
		return fmt.Errorf("%w: abandon_cap %v: want a fraction under 1, such as 0.03", ErrInvalid, cp.AbandonCap)
	}
	if cp.MaxChannels == 0 {
		cp.MaxChannels = 10
	}
	if cp.AbandonCap == 0 {
		cp.AbandonCap = 0.03
	}
	return nil
}

// Campaign returns a campaign by id.
func (c *Center) Campaign(id int) (Campaign, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cp := c.campaigns[id]
	if cp == nil {
		return Campaign{}, false
	}
	return *cp, true
}

// Campaigns lists the campaigns, incoming first, then by id.
func (c *Center) Campaigns() []Campaign {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Campaign, 0, len(c.campaigns))
	for _, cp := range c.campaigns {
		out = append(out, *cp)
	}
	slices.SortFunc(out, func(a, b Campaign) int {
		if a.Kind != b.Kind {
			return strings.Compare(string(a.Kind), string(b.Kind))
		}
		return a.ID - b.ID
	})
	return out
}

// SetStatus activates, deactivates or finishes a campaign; an outgoing
// campaign's dialer runs while it is active.
func (c *Center) SetStatus(id int, s Status) error {
	if s != Active && s != Inactive && s != Finished {
		return fmt.Errorf("%w: status %q", ErrInvalid, s)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cp := c.campaigns[id]
	if cp == nil {
		return fmt.Errorf("campaign %d: %w", id, ErrNotFound)
	}
	cp.Status = s
	c.markLocked(bucketCampaigns, id, *cp)
	if cp.Kind == Outgoing {
		if s == Active {
			c.startDialerLocked(id)
		} else if d := c.dialers[id]; d != nil {
			d.stop()
			delete(c.dialers, id)
		}
	}
	c.log.Info("campaign status", "campaign", id, "status", s)
	return nil
}

// Start activates a campaign.
func (c *Center) Start(id int) error { return c.SetStatus(id, Active) }

// Stop makes a campaign inactive.
func (c *Center) Stop(id int) error { return c.SetStatus(id, Inactive) }

// CreateForm checks and stores a form, and returns it with its id.
func (c *Center) CreateForm(f Form) (Form, error) {
	if err := f.Check(); err != nil {
		return Form{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	f.ID = c.newIDLocked(bucketForms)
	c.forms[f.ID] = &f
	c.markLocked(bucketForms, f.ID, f)
	return f, nil
}

// Forms returns the forms of a campaign, in its order.
func (c *Center) Forms(campaignID int) ([]Form, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cp := c.campaigns[campaignID]
	if cp == nil {
		return nil, fmt.Errorf("campaign %d: %w", campaignID, ErrNotFound)
	}
	out := make([]Form, 0, len(cp.Forms))
	for _, id := range cp.Forms {
		if f := c.forms[id]; f != nil {
			out = append(out, *f)
		}
	}
	return out, nil
}

// AddNumbers adds numbers to call to an outgoing campaign.
func (c *Center) AddNumbers(campaignID int, rows []NumberRow) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cp := c.campaigns[campaignID]
	switch {
	case cp == nil:
		return 0, fmt.Errorf("campaign %d: %w", campaignID, ErrNotFound)
	case cp.Kind != Outgoing:
		return 0, fmt.Errorf("campaign %d: %w: only outgoing campaigns have numbers", campaignID, ErrInvalid)
	}
	for _, r := range rows {
		cl := &Call{ID: c.newIDLocked(bucketCalls), CampaignID: campaignID, Kind: Outgoing, Phone: r.Phone,
			Status: Pending, Queue: cp.Queue, Attributes: r.Attributes}
		c.calls[cl.ID] = cl
		c.markLocked(bucketCalls, cl.ID, *cl)
	}
	return len(rows), nil
}

// Calls returns a campaign's calls, by id.
func (c *Center) Calls(campaignID int) []Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Call
	for _, cl := range c.calls {
		if cl.CampaignID == campaignID {
			out = append(out, *cl)
		}
	}
	slices.SortFunc(out, func(a, b Call) int { return a.ID - b.ID })
	return out
}

// Call returns one call by id.
func (c *Center) Call(id int) (Call, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl := c.calls[id]
	if cl == nil {
		return Call{}, false
	}
	return *cl, true
}

// CallOfLeg returns the call in progress whose caller (or called number)
// is on a leg: a control plane that sees a leg finds its call record.
func (c *Center) CallOfLeg(legID string) (Call, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl := c.byLeg[legID]
	if cl == nil {
		return Call{}, false
	}
	return *cl, true
}

// StatusCount is how many of a campaign's calls are in each status, and
// how many in all.
func (c *Center) StatusCount(campaignID int) (map[CallStatus]int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	counts := map[CallStatus]int{}
	total := 0
	for _, cl := range c.calls {
		if cl.CampaignID == campaignID {
			counts[cl.Status]++
			total++
		}
	}
	return counts, total
}

// Log returns the campaign log's entries of a campaign (0: every
// campaign), oldest first, at most the last n (0: all).
func (c *Center) Log(campaignID, n int) []LogEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []LogEntry
	for _, l := range c.logs {
		if campaignID == 0 || l.CampaignID == campaignID {
			out = append(out, l)
		}
	}
	if n > 0 && len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}

// LogEntry returns one entry of the campaign log by id.
func (c *Center) LogEntry(id int) (LogEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := slices.BinarySearchFunc(c.logs, id, func(l LogEntry, id int) int { return l.ID - id })
	if !ok {
		return LogEntry{}, false
	}
	return c.logs[i], true
}

// setStatusLocked moves a call to a new status: it is logged, persisted
// and published. It returns the log entry's id, 0 when the call had that
// status already. c.mu held.
func (c *Center) setStatusLocked(cl *Call, s CallStatus) int {
	if cl.Status == s {
		return 0
	}
	cl.Status = s
	id := c.logLocked(cl, s)
	if s == Success {
		c.talks[cl.ID] = &talk{logID: id}
	}
	c.markLocked(bucketCalls, cl.ID, *cl)
	c.publishProgressLocked(cl, s, id)
	return id
}

// logLocked writes an entry of the campaign log, a call's new status,
// and returns its id; c.mu held.
func (c *Center) logLocked(cl *Call, s CallStatus) int {
	entry := LogEntry{
		ID: c.newIDLocked(bucketLog), Time: c.clock.Now(), Phone: cl.Phone, Queue: cl.Queue, Kind: cl.Kind,
		CampaignID: cl.CampaignID, CallID: cl.ID, Status: s, Retry: cl.Retries, UniqueID: cl.UniqueID,
		Trunk: cl.Trunk, Duration: cl.Duration, Agent: cl.Agent,
	}
	c.logs = append(c.logs, entry)
	c.markLocked(bucketLog, entry.ID, entry)
	return entry.ID
}

// publishProgressLocked publishes EventCallProgress: the call, in state s,
// written to the log as entry logID; c.mu held.
func (c *Center) publishProgressLocked(cl *Call, s CallStatus, logID int) {
	if c.e != nil {
		c.e.Publish(dialog.Event{Kind: EventCallProgress, LegID: cl.LegID, To: cl.Phone, Queue: cl.Queue, Agent: cl.Agent,
			State: string(s), Campaign: cl.CampaignID, CampaignCall: cl.ID, CampaignLog: logID})
	}
}

// live reports a status of a call in progress, from placing to talking.
func live(s CallStatus) bool {
	switch s {
	case Placing, Dialing, Ringing, OnQueue, OnHold, OffHold:
		return true
	}
	return false
}
