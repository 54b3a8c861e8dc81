package testkit

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// The ECCP client's splitter and framing checks, from bytes, and the
// client over a real TCP connection to a scripted server that writes as
// dialerd does (and, on request, as dialerd must not).

const (
	eccpLoginOK = ECCPDecl + `<response id="1"><login_response><success/><app_cookie>0123456789abcdef0123456789abcdef</app_cookie></login_response></response>` + "\n"
	eccpPause   = ECCPDecl + `<event><pausestart><pause_class>break</pause_class><pause_type>2</pause_type><pause_name>Ba&#xF1;o</pause_name><pause_start>2011-09-30 14:32:17</pause_start><agent_number>Agent/9000</agent_number></pausestart></event>` + "\n"
	eccpPauseOK = ECCPDecl + `<response id="2"><pauseagent_response><success/></pauseagent_response></response>` + "\n"
)

// feedAll feeds chunks one by one and gathers what the splitter returns.
func feedAll(chunks ...string) (docs []*ECCPDoc, viol []string, err error) {
	var s ECCPSplitter
	for _, c := range chunks {
		d, v, e := s.Feed([]byte(c))
		docs, viol = append(docs, d...), append(viol, v...)
		if e != nil {
			return docs, viol, e
		}
	}
	if p := s.Pending(); p != "" {
		viol = append(viol, p)
	}
	return docs, viol, nil
}

func TestECCPSplitterDialerdFraming(t *testing.T) {
	all := eccpLoginOK + eccpPause + eccpPauseOK
	for name, chunks := range map[string][]string{
		"coalesced":             {all},
		"one per read":          {eccpLoginOK, eccpPause, eccpPauseOK},
		"split inside a doc":    {all[:30], all[30:200], all[200:]},
		"split inside a tag":    {all[:len(eccpLoginOK)+50], all[len(eccpLoginOK)+50:]},
		"split in the cdata":    {all[:len(eccpLoginOK)+len(ECCPDecl)+3], all[len(eccpLoginOK)+len(ECCPDecl)+3:]},
		"split inside the decl": {all[:5], all[5:]},
	} {
		docs, viol, err := feedAll(chunks...)
		if err != nil || len(viol) > 0 || len(docs) != 3 {
			t.Fatalf("%s: %d docs, violations %v, error %v", name, len(docs), viol, err)
		}
		if string(docs[0].Raw) != eccpLoginOK || string(docs[1].Raw) != eccpPause || string(docs[2].Raw) != eccpPauseOK {
			t.Fatalf("%s: raw documents %q", name, []string{docs[0].String(), docs[1].String(), docs[2].String()})
		}
		if docs[0].ID() != "1" || docs[0].Name() != "login_response" || !docs[0].Success() ||
			docs[0].Text("login_response", "app_cookie") != "0123456789abcdef0123456789abcdef" {
			t.Fatalf("%s: login response parsed as %+v", name, docs[0].Root)
		}
		ev := docs[1]
		if !ev.IsEvent() || ev.Name() != "pausestart" || ev.Text("pausestart", "pause_name") != "Baño" || ev.Seq != 2 {
			t.Fatalf("%s: event parsed as %+v", name, ev.Root)
		}
		want := []string{"pause_class", "pause_type", "pause_name", "pause_start", "agent_number"}
		if got := ev.Names("pausestart"); !slices.Equal(got, want) {
			t.Fatalf("%s: child order %v, want %v", name, got, want)
		}
	}
}

// TestECCPSplitterPHPFailures: what makes the PHP client throw stops the
// splitter with an error.
func TestECCPSplitterPHPFailures(t *testing.T) {
	for name, c := range map[string]struct {
		chunks []string
		docs   int
		want   string
	}{
		"whitespace before the declaration": {[]string{"\n" + eccpLoginOK}, 0, "declaration not at the start"},
		"LF of doc 1 in a later read":       {[]string{strings.TrimSuffix(eccpLoginOK, "\n"), "\n" + eccpPauseOK}, 1, "declaration not at the start"},
		"byte at a time":                    {strings.Split(eccpLoginOK+eccpPauseOK, ""), 1, "declaration not at the start"},
		"unknown root":                      {[]string{ECCPDecl + "<evento><x/></evento>\n"}, 0, "unrecognized packet type: evento"},
		"mismatched tags":                   {[]string{ECCPDecl + "<response><a></b></response>\n"}, 0, "malformed"},
		"text outside the root":             {[]string{"hello" + eccpLoginOK}, 0, "text outside"},
		"bad entity":                        {[]string{ECCPDecl + "<event><a>&bogus;</a></event>\n"}, 0, "malformed"},
	} {
		docs, _, err := feedAll(c.chunks...)
		if err == nil || !strings.Contains(err.Error(), c.want) || len(docs) != c.docs {
			t.Fatalf("%s: %d docs, error %v, want %d docs and an error with %q", name, len(docs), err, c.docs, c.want)
		}
	}
}

// TestECCPSplitterViolations: what the PHP client takes but dialerd never
// writes is a violation.
func TestECCPSplitterViolations(t *testing.T) {
	for name, c := range map[string]struct {
		in   string
		want string
	}{
		"no declaration":       {`<response id="1"><logout_response><success/></logout_response></response>` + "\n", "does not start with"},
		"encoding in the decl": {`<?xml version="1.0" encoding="UTF-8"?>` + "\n<event><x/></event>\n", "does not start with"},
		"no final LF":          {ECCPDecl + `<event><x/></event>` + ECCPDecl + "<event><y/></event>\n", "not followed by LF"},
		"stream ends early":    {ECCPDecl + `<event><x/></event>`, "ended before its final LF"},
		"indented":             {ECCPDecl + "<event>\n  <x/>\n</event>\n", "not one line"},
		"CRLF":                 {ECCPDecl + "<event><x/></event>\r\n", "followed by extra whitespace"},
		"raw UTF-8":            {ECCPDecl + "<event><x>Baño</x></event>\n", "non-ASCII"},
		"empty pair":           {ECCPDecl + "<event><x><success></success></x></event>\n", "<success></success>"},
		"empty pair with attr": {ECCPDecl + `<event><form id="1"></form></event>` + "\n", "<form></form>"},
		"blank line between":   {ECCPDecl + "<event><x/></event>\n\n" + ECCPDecl + "<event><x/></event>\n", "extra whitespace"},
	} {
		docs, viol, err := feedAll(c.in)
		if err != nil || len(docs) == 0 {
			t.Fatalf("%s: %d docs, error %v", name, len(docs), err)
		}
		if !strings.Contains(strings.Join(viol, "|"), c.want) {
			t.Fatalf("%s: violations %q, want one with %q", name, viol, c.want)
		}
	}
	// Not violations: an attribute value with '>', a self-closing root,
	// <x></y>-like text that is not an empty pair.
	docs, viol, err := feedAll(ECCPDecl+`<response id="a>b"><x v='/x>'/></response>`+"\n", ECCPDecl+"<event/>\n",
		ECCPDecl+"<event><a>x</a><b></b2></event>\n")
	if err == nil {
		t.Fatalf("mismatched <b></b2> parsed: %v", viol)
	}
	if len(docs) != 2 || docs[0].ID() != "a>b" || docs[0].Body().Attr("v") != "/x>" || len(viol) != 0 {
		t.Fatalf("docs %v, violations %v", docs, viol)
	}
}

// TestECCPClientOverTCP: the client against a scripted dialerd on
// loopback: Request pairs the next response with its id (an event before
// it waits for WaitEvent), a response with another id is an error, and
// the server's close is seen.
func TestECCPClientOverTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 10)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		for _, reply := range []string{eccpLoginOK, eccpPause + eccpPauseOK, ECCPDecl + `<response id="7"><x/></response>` + "\n"} {
			decl, err1 := r.ReadString('\n')
			req, err2 := r.ReadString('\n')
			if err1 != nil || err2 != nil {
				return
			}
			got <- decl + req
			// A byte at a time, but each document's final '>' and LF in
			// one write.
			for i := 0; i < len(reply); {
				end := i + 1
				if end < len(reply) && reply[end] == '\n' {
					end++
				}
				conn.Write([]byte(reply[i:end]))
				i = end
			}
		}
	}()
	c := DialECCP(t, ln.Addr().String())
	if cookie := c.Login("agentconsole", "agentconsole"); cookie != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("cookie %q", cookie)
	}
	if req := <-got; req != ECCPDecl+`<request id="1"><login><username>agentconsole</username><password>agentconsole</password></login></request>`+"\n" {
		t.Fatalf("login request written as %q", req)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m := c.Mark()
	d, err := c.Request(ctx, "pauseagent", "<agent_number>Agent/9000</agent_number>")
	if err != nil || !d.Success() {
		t.Fatalf("pauseagent: %v %v", d, err)
	}
	if ev := c.EventsSince(m); !slices.Equal(ev, []string{"pausestart"}) {
		t.Fatalf("events before the response: %v", ev)
	}
	ev, err := c.WaitEvent(ctx, "pausestart", func(d *ECCPDoc) bool { return d.Text("pausestart", "agent_number") == "Agent/9000" })
	if err != nil || ev.Seq != 2 {
		t.Fatalf("pausestart: %v %v", ev, err)
	}
	if _, err := c.Request(ctx, "getpauses", ""); err == nil || !strings.Contains(err.Error(), `id "7"`) {
		t.Fatalf("a response with another id: %v", err)
	}
	if err := c.WaitClosed(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("closed: %v", err)
	}
	if v := c.Violations(); len(v) > 0 {
		t.Fatalf("violations: %v", v)
	}
	if h := AgentHash("0123456789abcdef0123456789abcdef", "Agent/9000", "secret"); len(h) != 32 || h != AgentHash("0123456789abcdef0123456789abcdef", "Agent/9000", "secret") {
		t.Fatalf("agent hash %q", h)
	}
}

// FuzzECCPSplitter: any split of any input gives the same documents and
// the same verdict as the whole input in one read, and never panics.
func FuzzECCPSplitter(f *testing.F) {
	f.Add([]byte(eccpLoginOK+eccpPause+eccpPauseOK), 17)
	f.Add([]byte("<event><![CDATA[<x>]]><!-- </event> --></event>\n"), 3)
	f.Fuzz(func(t *testing.T, in []byte, cut int) {
		if cut < 0 || cut > len(in) {
			return
		}
		whole, _, errWhole := feedAll(string(in))
		split, _, errSplit := feedAll(string(in[:cut]), string(in[cut:]))
		if errWhole != nil {
			return // the split can differ: a late LF is whitespace before the next declaration
		}
		if errSplit == nil && len(split) != len(whole) {
			t.Fatalf("whole: %d docs, split at %d: %d", len(whole), cut, len(split))
		}
	})
}
