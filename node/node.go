package node

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"sync"
	"time"

	"pbx/agentrpc"
	"pbx/campaign"
	"pbx/config"
	"pbx/dialog"
	"pbx/eccp"
	"pbx/logging"
	"pbx/media"
	"pbx/metrics"
	"pbx/prompts"
	"pbx/queue"
	"pbx/recordings"
	"pbx/rwi"
	"pbx/sip"
	"pbx/store"
	"pbx/web"
)

// Node is one running PBX.
type Node struct {
	cfg    *config.Config
	logs   *logging.Loggers
	log    *slog.Logger
	store  *store.Store
	stack  *sip.Stack
	media  *media.Engine
	engine *dialog.Engine
	rec    *recordings.Archive
	recCtx context.CancelFunc
	loc    *sip.Location
	guard  *sip.Guard
	trunks []*sip.TrunkRegistration
	web    *web.Server
	rwi    *rwi.Server
	bots   *agentrpc.Server // Agent RPC; nil when agent_rpc.listen is ""
	eccp   *eccp.Server     // ECCP; nil when eccp.listen is ""
	queues *queue.Center
	camps  *campaign.Center // campaigns and the outbound dialer
	pruner *store.Pruner    // deletes what retention no longer keeps
	clock  dialog.Clock
	dir    string
	mx     *metrics.Metrics

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Options are what the command line adds to the configuration.
type Options struct {
	DataDir string
	Logs    *logging.Loggers
	// MediaIP is the address RTP sockets bind to; "" binds all addresses.
	MediaIP string
	// Clock is the call engine's time (ring, digit and session timers);
	// nil is the wall clock. Tests pass one they drive.
	Clock dialog.Clock
}

// New opens the store and builds every layer; nothing listens until Start.
func New(cfg *config.Config, o Options) (*Node, error) {
	if o.Logs == nil {
		o.Logs = logging.NewLoggers(nil, false, cfg.Log.Level, cfg.Log.Packages)
	}
	s := &Node{cfg: cfg, logs: o.Logs, log: o.Logs.For("node"), dir: o.DataDir}
	st, err := store.Open(o.DataDir)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.store = st
	if err := s.build(o); err != nil {
		if s.rec != nil {
			s.rec.Close()
			s.recCtx()
		}
		st.Close()
		return nil, err
	}
	return s, nil
}

func (s *Node) build(o Options) error {
	cfg := s.cfg
	var allow []netip.Prefix
	for _, a := range cfg.Security.Allow {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			return fmt.Errorf("security.allow %q: %w", a, err)
		}
		allow = append(allow, p)
	}
	s.guard = sip.NewGuard(cfg.Security.MaxFailures, cfg.Security.Window, cfg.Security.BanFor, allow, sip.WithGuardStore(s.store))

	var tlsConf *tls.Config
	if cfg.SIP.TLS != "" {
		cert, err := tls.LoadX509KeyPair(cfg.SIP.TLSCert, cfg.SIP.TLSKey)
		if err != nil {
			return fmt.Errorf("load tls certificate: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	stack, err := sip.NewStack(sip.StackOptions{
		UDP: cfg.SIP.UDP, TCP: cfg.SIP.TCP, TLS: cfg.SIP.TLS, TLSConfig: tlsConf,
		Host: cfg.SIP.ExternalIP, UserAgent: cfg.SIP.UserAgent,
		ReadFilter: s.guard.ReadFilter(), Logger: s.logs.For("sip"),
	})
	if err != nil {
		return err
	}
	s.stack = stack

	bind := netip.IPv4Unspecified()
	if o.MediaIP != "" {
		if bind, err = netip.ParseAddr(o.MediaIP); err != nil {
			return fmt.Errorf("media ip %q: %w", o.MediaIP, err)
		}
	}
	s.media, err = media.NewEngine(media.Config{
		BindIP: bind, PortMin: cfg.Media.RTPPortMin, PortMax: cfg.Media.RTPPortMax,
		Timeout: cfg.Media.RTPTimeout, RTCPEvery: cfg.Media.RTCPEvery, Logger: s.logs.For("media"),
	})
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}

	s.loc, err = sip.NewLocation(s.store)
	if err != nil {
		return fmt.Errorf("location: %w", err)
	}
	digest := sip.NewDigest(cfg.SIP.Realm, cfg.SIP.NonceTTL)
	users := s.lookupUser
	reg := sip.NewRegistrar(sip.RegistrarOptions{
		Realm: cfg.SIP.Realm, MinExpires: cfg.SIP.MinExpires, MaxExpires: cfg.SIP.MaxExpires,
		DefaultExpires: cfg.SIP.DefaultExpires, Digest: digest, Guard: s.guard, Lookup: users,
		Location: s.loc, Logger: s.logs.For("sip"),
	})
	stack.Server.OnRegister(reg.HandleRegister)

	dir := cfg.Recordings.Dir
	if dir == "" {
		dir = filepath.Join(o.DataDir, "recordings")
	}
	recCtx, cancel := context.WithCancel(context.Background())
	s.recCtx = cancel
	s.rec, err = recordings.Open(recCtx, recordings.Options{
		Dir: dir, PathTemplate: cfg.Recordings.Path, Format: recordings.Mode(cfg.Recordings.Mode),
		MaxDuration: cfg.Recordings.MaxDuration, Beep: cfg.Recordings.Beep,
		MaxAge: cfg.Recordings.MaxAge, MaxTotalBytes: cfg.Recordings.MaxTotalMB << 20,
		Node: cfg.Node,
	}, s.store, s.logs.For("recordings"))
	if err != nil {
		cancel()
		return fmt.Errorf("recordings: %w", err)
	}
	if err := dialog.CheckDialplan(cfg); err != nil {
		cancel()
		return err
	}
	do := dialog.OptionsFrom(cfg)
	do.Stack, do.Media, do.Location, do.Digest, do.Guard = stack, s.media, s.loc, digest, s.guard
	do.Lookup, do.CDRs, do.Logger = users, s.store, s.logs.For("dialog")
	do.Prompts, do.Recordings, do.Clock = prompts.New(cfg.Sounds.Prompts), s.rec, o.Clock
	s.clock = o.Clock
	s.engine, err = dialog.New(do)
	if err != nil {
		return err
	}
	s.mx, err = metrics.New(metrics.Sources{
		Calls: metrics.EngineCalls(s.engine), RTP: s.media, Registrations: s.loc, Auth: s.guard,
	}, metrics.WithLogger(s.logs.For("metrics")))
	return err
}

// Recordings is the recordings archive.
func (s *Node) Recordings() *recordings.Archive { return s.rec }

// lookupUser finds an extension's password in pbx.yaml, then in the store.
func (s *Node) lookupUser(user string) (string, bool) {
	for _, u := range s.cfg.Users {
		if u.Extension == user {
			return u.Password, true
		}
	}
	if p, _, ok, err := s.store.User(user); err == nil && ok {
		return p, true
	}
	return "", false
}

// Start binds every listener and starts the background loops. It returns
// once the PBX answers on all of them.
func (s *Node) Start(ctx context.Context) error {
	ctx, s.cancel = context.WithCancel(ctx)
	s.log.Debug("garbage collector target", "gogc", tuneGC())
	s.goRun(func() { s.feedMetrics(ctx) })
	s.goRun(func() { s.reclaimMemory(ctx) })
	s.pruner = s.store.StartPruner(ctx, []store.PruneRule{
		{Bucket: store.CDRBucket, MaxAge: s.cfg.Retention.CDR},
		{Bucket: queue.QlogBucket, MaxAge: s.cfg.Retention.QueueLog},
		{Bucket: queue.StatsBucket, MaxAge: s.cfg.Retention.Stats},
	}, s.cfg.Retention.Every, s.logs.For("store"))
	// The contact center exists before the first call can reach a queue.
	var err error
	s.queues, err = queue.New(queue.Options{
		Engine: s.engine, Config: s.cfg, Store: s.store, DataDir: s.dir, Clock: s.clock,
		Logger: s.logs.For("queue"), Metrics: s.mx.Registerer(),
	})
	if err != nil {
		return fmt.Errorf("contact center: %w", err)
	}
	s.camps, err = campaign.New(campaign.Options{
		Engine: s.engine, Store: s.store, Agents: queueAgents{s.queues}, Clock: s.clock, Logger: s.logs.For("campaign"),
		TrunkLimits: trunkLimits(s.cfg.Trunks),
		TrackQueues: s.cfg.ECCP.Listen != "", // ECCP names every queue's caller by a call id
	})
	if err != nil {
		return fmt.Errorf("campaigns: %w", err)
	}
	if err := s.stack.Listen(ctx); err != nil {
		return err
	}
	s.rwi, err = rwi.New(rwi.Options{Engine: s.engine, Config: s.cfg.RWI, Clock: s.clock, Logger: s.logs.For("rwi"), Metrics: s.mx.Registerer(), Queues: s.queues, Campaigns: s.camps})
	if err != nil {
		return err
	}
	if s.cfg.AgentRPC.Listen != "" {
		s.bots, err = agentrpc.New(agentrpc.Options{
			Engine: s.engine, Config: s.cfg.AgentRPC, Endpoints: s.cfg.Endpoints, Prompts: s.cfg.Sounds.Prompts,
			Clock: s.clock, Logger: s.logs.For("agentrpc"), Metrics: s.mx.Registerer(),
		})
		if err != nil {
			return err
		}
		if err := s.bots.Start(s.cfg.AgentRPC.Listen); err != nil {
			return err
		}
	}
	if err := s.startECCP(); err != nil {
		return err
	}
	if s.cfg.HTTP.Listen != "" {
		s.web = web.New(web.Options{
			Engine: s.engine, Location: s.loc, Guard: s.guard, Store: s.store,
			Recordings: s.rec, RecordingsToken: s.cfg.Recordings.Token,
			Metrics: s.mx.Handler(), Logger: s.logs.For("web"), Contact: s.queues, Campaigns: s.camps,
			Handlers: s.httpHandlers(),
		})
		if err := s.web.Start(s.cfg.HTTP.Listen); err != nil {
			return err
		}
	}
	if s.cfg.SIP.QualifyEvery > 0 {
		if client, err := s.stack.Client("UDP"); err == nil {
			q := sip.NewQualifier(client, s.loc, s.cfg.SIP.QualifyEvery, s.logs.For("sip"))
			s.goRun(func() { q.Run(ctx) })
		}
	}
	s.goRun(func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.loc.Sweep()
			}
		}
	})
	s.startTrunkRegistrations(ctx)
	return nil
}

func (s *Node) goRun(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

func (s *Node) startTrunkRegistrations(ctx context.Context) {
	for _, t := range s.cfg.Trunks {
		if !t.Register {
			continue
		}
		client, err := s.stack.Client(t.Transport)
		if err != nil {
			s.log.Error("trunk registration", "trunk", t.Name, "error", err)
			continue
		}
		contact := s.stack.Contact(t.Transport)
		contact.Address.User = t.Username
		r := sip.NewTrunkRegistration(client, sip.TrunkRegOptions{
			Name: t.Name, Registrar: t.Host, Transport: t.Transport, Username: t.Username,
			Password: t.Password, Contact: contact, Expires: time.Duration(t.Expires) * time.Second,
			Logger: s.logs.For("sip"),
		})
		s.trunks = append(s.trunks, r)
		s.goRun(func() { r.Run(ctx) })
	}
}

// SIPAddr is where a SIP transport listens.
func (s *Node) SIPAddr(transport string) netip.AddrPort {
	a, _ := s.stack.Addr(transport)
	return a
}

// HTTPAddr is where the HTTP endpoints listen.
func (s *Node) HTTPAddr() string {
	if s.web == nil {
		return ""
	}
	return s.web.Addr()
}

// AgentRPCAddr is the address Agent RPC listens on, "" when it is off.
func (s *Node) AgentRPCAddr() string {
	if s.bots == nil || s.bots.Addr() == nil {
		return ""
	}
	return s.bots.Addr().String()
}

// ECCPAddr is the address ECCP listens on, "" when it is off.
func (s *Node) ECCPAddr() string {
	if s.eccp == nil {
		return ""
	}
	return s.eccp.Addr()
}

// ECCPTLSAddr is the address ECCP listens on over TLS, "" when it does not.
func (s *Node) ECCPTLSAddr() string {
	if s.eccp == nil {
		return ""
	}
	return s.eccp.TLSAddr()
}

// Metrics is the node's Prometheus registry, where higher packages add
// their own collectors.
func (s *Node) Metrics() *metrics.Metrics { return s.mx }

// Campaigns are the contact center's campaigns and the outbound dialer.
func (s *Node) Campaigns() *campaign.Center { return s.camps }

// Queues is the contact center: queues, agents, supervisors.
func (s *Node) Queues() *queue.Center { return s.queues }

// Engine is the call engine, for tests and the control planes.
func (s *Node) Engine() *dialog.Engine { return s.engine }

// Location is the registrar's location service.
func (s *Node) Location() *sip.Location { return s.loc }

// Guard is the brute-force guard.
func (s *Node) Guard() *sip.Guard { return s.guard }

// Store is the persistence layer.
func (s *Node) Store() *store.Store { return s.store }

// TrunkRegistrations are the outbound registrations, one per trunk that registers.
func (s *Node) TrunkRegistrations() []*sip.TrunkRegistration { return s.trunks }

// Shutdown drains calls (new calls get 503) until ctx ends, hangs up those
// left, then stops every listener and flushes the store.
func (s *Node) Shutdown(ctx context.Context) error {
	if s.rwi != nil {
		s.rwi.Close()
	}
	if s.camps != nil {
		s.camps.StopDialing() // no new campaign calls; those in progress drain with the rest
	}
	// Waiting callers hear the shutdown prompt and leave before the
	// engine drains the calls in progress.
	if s.queues != nil {
		if err := s.queues.Close(ctx); err != nil {
			s.log.Warn("stop contact center", "error", err)
		}
	}
	s.engine.Drain(ctx) // bots keep steering their calls meanwhile
	if s.camps != nil {
		s.camps.Close() // after the drain: the calls' last statuses are recorded
	}
	if s.bots != nil {
		s.bots.Close()
	}
	if s.eccp != nil { // after the drain, as Agent RPC: consoles see their calls end
		ectx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := s.eccp.Close(ectx); err != nil {
			s.log.Warn("stop eccp", "error", err)
		}
		cancel()
	}
	if s.web != nil {
		hctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := s.web.Shutdown(hctx); err != nil {
			s.log.Warn("stop http", "error", err)
		}
		cancel()
	}
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	s.stack.Close()
	s.media.Close()
	if err := s.rec.Close(); err != nil {
		s.log.Warn("close recordings", "error", err)
	}
	s.recCtx()
	if s.pruner != nil {
		s.pruner.Close()
	}
	return s.store.Close()
}
