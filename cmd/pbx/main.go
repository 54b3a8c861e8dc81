// Command pbx runs the PBX, or one of its administration commands:
//
//	pbx [-config FILE] [-data DIR] [-log-format text|json]
//	pbx check-config FILE
//	pbx cdr [-since 24h|2026-11-01T00:00:00Z] [-format table|csv|json]
//	pbx cdr export [-from T] [-to T] [-format csv|json] [-o FILE]
//	pbx compact [-data DIR]
//	pbx queues [NAME] [-history [-from T] [-to T]] [-format table|json]
//	pbx agents [-format table|json]
//	pbx campaign create|create-form|list|show|start|stop|import-numbers|export-results ...
//	pbx contacts import FILE.csv | list
//	pbx eccp client add USER PASSWORD|- | remove USER | list
//	pbx queue-log [-from T] [-to T] [-limit N] [-format table|log|json]
//	pbx bans
//	pbx recordings [-since 24h] [-call ID] [-format table|csv|json] [-token T]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	sipmsg "github.com/emiago/sipgo/sip"
	"golang.org/x/term"

	"pbx/config"
	"pbx/dialog"
	"pbx/logging"
	"pbx/node"
	"pbx/sip"
)

func main() {
	if len(os.Args) > 1 {
		var err error
		switch os.Args[1] {
		case "check-config":
			err = checkConfig(os.Args[2:])
		case "cdr":
			err = cdr(os.Args[2:])
		case "bans":
			err = bans(os.Args[2:])
		case "recordings":
			err = listRecordings(os.Args[2:])
		case "queues":
			err = queues(os.Args[2:])
		case "agents":
			err = agents(os.Args[2:])
		case "queue-log":
			err = queueLog(os.Args[2:])
		case "compact":
			err = compact(os.Args[2:])
		case "campaign":
			err = campaignCmd(os.Args[2:])
		case "contacts":
			err = contactsCmd(os.Args[2:])
		case "eccp":
			err = eccpCmd(os.Args[2:])
		default:
			err = run(os.Args[1:])
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "pbx:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(nil); err != nil {
		fmt.Fprintln(os.Stderr, "pbx:", err)
		os.Exit(1)
	}
}

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Default()
	}
	return config.Load(path)
}

func run(args []string) error {
	fs := flag.NewFlagSet("pbx", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file (default: the embedded pbx.yaml)")
	dataDir := fs.String("data", "./data", "data directory (store)")
	logFormat := fs.String("log-format", "", "text or json (default: text on a terminal, json otherwise)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	asJSON := !term.IsTerminal(int(os.Stderr.Fd()))
	switch *logFormat {
	case "json":
		asJSON = true
	case "text":
		asJSON = false
	case "":
	default:
		return fmt.Errorf("-log-format: want text or json")
	}
	logs := logging.NewLoggers(os.Stderr, asJSON, cfg.Log.Level, cfg.Log.Packages)
	// sipgo logs through a global; it gets the rate-limited logger, so a
	// flood cannot fill the disk with its warnings.
	sipmsg.SetDefaultLogger(sip.SipgoLogger(logs.For("sip")))
	srv, err := node.New(cfg, node.Options{DataDir: *dataDir, Logs: logs})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if err := srv.Start(ctx); err != nil {
		srv.Shutdown(ctx)
		return err
	}
	printBanner(os.Stdout, cfg, srv)

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	<-sigs
	fmt.Fprintf(os.Stderr, "pbx: draining calls for up to %s (signal again to stop at once)\n", cfg.Calls.DrainTimeout)
	go func() {
		<-sigs
		fmt.Fprintln(os.Stderr, "pbx: stopped at once")
		os.Exit(130)
	}()
	dctx, cancel := context.WithTimeout(ctx, cfg.Calls.DrainTimeout)
	defer cancel()
	return srv.Shutdown(dctx)
}

// listeners is what the banner reads from the running node.
type listeners interface {
	SIPAddr(transport string) netip.AddrPort
	HTTPAddr() string
	AgentRPCAddr() string
	ECCPAddr() string
	ECCPTLSAddr() string
}

// printBanner tells the operator where the PBX listens and how to reach it
// at once: the accounts, the dial plan and the RWI endpoint.
func printBanner(w io.Writer, cfg *config.Config, srv listeners) {
	fmt.Fprintf(w, "pbx %s is running (config: %s)\n", cfg.Node, cfg.File)
	for _, t := range []string{"UDP", "TCP", "TLS"} {
		if a := srv.SIPAddr(t); a.IsValid() {
			fmt.Fprintf(w, "  SIP %-3s  %s\n", t, a)
		}
	}
	if a := srv.HTTPAddr(); a != "" {
		fmt.Fprintf(w, "  HTTP     %s  (/healthz, /metrics)\n", a)
	}
	if len(cfg.Users) > 0 {
		fmt.Fprintln(w, "  accounts (register with user = extension, realm =", cfg.SIP.Realm+"):")
		for _, u := range cfg.Users {
			// The embedded demo passwords are printed so a softphone can
			// register at once; a configured password is never shown.
			pw := "(from your config)"
			if cfg.File == config.DefaultName {
				pw = u.Password
			}
			fmt.Fprintf(w, "    %-6s %s\n", u.Extension, pw)
		}
	}
	if len(cfg.Dialplan) > 0 {
		fmt.Fprintln(w, "  dial plan:")
		for _, r := range cfg.Dialplan {
			m := r.Exact + r.Prefix + r.Regex
			if r.Prefix != "" {
				m += "…"
			}
			fmt.Fprintf(w, "    %-12s %-20s %s\n", m, r.Target, r.Name)
		}
	}
	printAgents(w, cfg)
	printRWI(w, cfg, srv.HTTPAddr())
	printAgentRPC(w, cfg, srv.AgentRPCAddr())
	printECCP(w, cfg, srv.ECCPAddr(), srv.ECCPTLSAddr())
}

// printECCP shows where agent consoles connect over ECCP, and, like the
// demo passwords, the embedded demo client and agent secrets; configured
// secrets are never shown.
func printECCP(w io.Writer, cfg *config.Config, addr, tlsAddr string) {
	if addr == "" {
		return
	}
	tlsNote := ""
	if tlsAddr != "" {
		tlsNote = ", TLS " + tlsAddr
	}
	fmt.Fprintf(w, "  ECCP     %s  (agent consoles%s; from %s)\n", addr, tlsNote, strings.Join(cfg.ECCP.AuthorizedIPs, ", "))
	demo := cfg.File == config.DefaultName
	if len(cfg.ECCP.Clients) > 0 {
		fmt.Fprintln(w, "  ECCP clients (more with `pbx eccp client add`):")
		for _, c := range cfg.ECCP.Clients {
			secret := "(from your config)"
			if demo {
				secret = c.Password + "  (demo secret: change it)"
			}
			fmt.Fprintf(w, "    %-12s %s\n", c.Username, secret)
		}
	}
	if demo {
		for _, a := range cfg.Agents {
			if a.ECCPPassword == "" {
				continue
			}
			name := "SIP/" + a.ID
			if a.PIN != "" {
				name = "Agent/" + a.ID
			}
			fmt.Fprintf(w, "    %-12s ECCP agent password %s  (demo secret: change it)\n", name, a.ECCPPassword)
		}
	}
}

// printAgentRPC shows where bots connect, one URL per agent endpoint, and
// the number the dial plan sends to each.
func printAgentRPC(w io.Writer, cfg *config.Config, addr string) {
	if addr == "" {
		return
	}
	base := wsURL(addr)
	auth := ""
	if cfg.AgentRPC.Token != "" {
		auth = "&token=TOKEN"
	}
	guard := "no authentication of its own: keep it on loopback"
	if cfg.AgentRPC.Token != "" {
		guard = "token required"
	}
	fmt.Fprintf(w, "  Agent RPC %s  (bots; %s)\n", addr, guard)
	for _, name := range slices.Sorted(maps.Keys(cfg.Endpoints)) {
		if !cfg.Endpoints[name].IsAgent() {
			continue
		}
		numbers := ""
		for _, r := range cfg.Dialplan {
			if r.Target == "agentrpc:"+name && r.Exact != "" {
				numbers += " " + r.Exact
			}
		}
		if numbers != "" {
			numbers = "  (dial" + numbers + ")"
		}
		fmt.Fprintf(w, "    %s/?endpoint=%s%s%s\n", base, name, auth, numbers)
	}
}

// printAgents shows the contact center's agents: how each logs in, and,
// like the demo passwords, the embedded demo PINs; a configured PIN is
// never shown.
func printAgents(w io.Writer, cfg *config.Config) {
	if len(cfg.Agents) == 0 {
		return
	}
	fmt.Fprintf(w, "  agents (%d queues):\n", len(cfg.Queues))
	for _, a := range cfg.Agents {
		how := "dynamic member, rung at " + a.Contact
		if a.PIN != "" {
			pin := "(from your config)"
			if cfg.File == config.DefaultName {
				pin = a.PIN + "  (demo secret: change it)"
			}
			how = "static agent, PIN " + pin
		}
		fmt.Fprintf(w, "    %-6s %s\n", a.ID, how)
	}
}

// printRWI shows where programs connect over RWI and with which tokens.
// Like the demo passwords, the embedded demo token is printed so a program
// can connect at once; a configured secret is never shown, only its name.
func printRWI(w io.Writer, cfg *config.Config, httpAddr string) {
	if len(cfg.RWI.Tokens) == 0 {
		return
	}
	if httpAddr == "" {
		fmt.Fprintln(w, "  RWI      off: it is served on the HTTP listener, and http.listen is empty")
		return
	}
	fmt.Fprintf(w, "  RWI      %s  (Authorization: Bearer TOKEN)\n", rwiURL(httpAddr))
	fmt.Fprintln(w, "  RWI tokens:")
	for _, t := range cfg.RWI.Tokens {
		secret := "(from your config)"
		if cfg.File == config.DefaultName {
			secret = t.Token + "  (demo secret: change it)"
		}
		fmt.Fprintf(w, "    %-12s %s\n", t.Name, secret)
	}
}

// rwiURL is the RWI endpoint on the HTTP listener at addr.
func rwiURL(addr string) string { return wsURL(addr) + "/rwi/v1" }

// wsURL is ws://addr; a listener on every address is shown as loopback,
// where the defaults let a program connect.
func wsURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "ws://" + addr
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "ws://" + net.JoinHostPort(host, port)
}

// checkConfig validates a file: config's own checks, then every dial-plan
// and DID target against the target kinds registered in this binary, so a
// kind nobody serves is refused here and not at the first call. Problems
// read FILE:LINE: FIELD: PROBLEM.
func checkConfig(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: pbx check-config FILE")
	}
	cfg, err := config.Load(args[0])
	if err != nil {
		return err
	}
	if err := dialog.CheckDialplan(cfg); err != nil {
		return err
	}
	fmt.Printf("%s: ok (%s, %s, %s, %s, %s)\n", args[0], count(len(cfg.Users), "user"), count(len(cfg.Trunks), "trunk"),
		count(len(cfg.Dialplan), "dial plan rule"), count(len(cfg.Queues), "queue"), count(len(cfg.Agents), "agent"))
	return nil
}

// count is "1 queue", "2 queues".
func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
