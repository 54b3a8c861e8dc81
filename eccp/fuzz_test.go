package eccp

import (
	"bytes"
	"testing"
)

// FuzzInput feeds arbitrary bytes, in arbitrary pieces, to what reads a
// client's stream: the splitter must never panic, never hand out a
// document it did not get, and parse what it hands out or refuse it.
func FuzzInput(f *testing.F) {
	f.Add([]byte(`<?xml version="1.0"?>`+"\n"+`<request id="1"><login><username>agentconsole</username><password>agentconsole</password></login></request>`+"\n"), uint8(1))
	f.Add([]byte(`<request id="2"><getpauses/></request><request id='3'><getagentstatus><agent_number>Agent/9001</agent_number></getagentstatus></request>`), uint8(7))
	f.Add([]byte(`<!-- c --><request id="4"><x a=">"><![CDATA[<y>]]></x></request>`), uint8(3))
	f.Add([]byte("\r\n\x00<request id=\"5\"><saveformdata><forms><form id=\"1\"><field id=\"1\">Ba\xc3\xb1o</field></form></forms></saveformdata></request>"), uint8(2))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "aaaa">]><request>&a;</request>`), uint8(5))
	f.Add([]byte(`</request><request`), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		n := int(step)%16 + 1
		s := newSplitter(1 << 12)
		for i := 0; i < len(data); i += n {
			s.feed(data[i:min(i+n, len(data))])
			for {
				doc, ok, err := s.next()
				if err != nil || !ok {
					if err != nil {
						return
					}
					break
				}
				if !bytes.Contains(data, doc) {
					t.Fatalf("document %q is not in the input", doc)
				}
				if x, err := parseDoc(doc); err == nil && x == nil {
					t.Fatal("parse returned neither a root nor an error")
				}
			}
		}
	})
}
