package testkit

import (
	"bytes"
	"fmt"
)

// The ECCP test client's framing: splitting the server's bytes into
// documents as the PHP client does, and checking each against dialerd's
// exact framing.

// ECCPSplitter splits a stream of server output into documents, read by
// read, as the PHP client does, and checks dialerd's framing. The zero
// value is ready.
type ECCPSplitter struct {
	buf     []byte // what the current parser was fed: the document being read
	pos     int    // where scanning resumes in buf
	depth   int
	n       int  // documents cut so far
	needNL  bool // the last document's final LF has not arrived
	stopped error
}

// Feed takes the bytes of one read and returns the documents it
// completes, the framing violations seen, and an error when the PHP
// client would throw (malformed XML, an unknown root, whitespace before a
// declaration); after an error Feed takes nothing more.
func (s *ECCPSplitter) Feed(chunk []byte) (docs []*ECCPDoc, violations []string, err error) {
	if s.stopped != nil {
		return nil, nil, s.stopped
	}
	if len(chunk) == 0 {
		return nil, nil, nil
	}
	if s.needNL {
		s.needNL = false
		if chunk[0] == '\n' {
			violations = append(violations, fmt.Sprintf("document %d: its final LF came in a later read (written apart): the PHP client then sees whitespace before the next declaration", s.n))
		} else {
			violations = append(violations, fmt.Sprintf("document %d: not followed by LF (next bytes %q)", s.n, clip(chunk)))
		}
	}
	s.buf = append(s.buf, chunk...)
	for {
		end, err := s.scan()
		if err != nil {
			s.stopped = fmt.Errorf("document %d: %w (bytes %q)", s.n+1, err, clip(s.buf))
			return docs, violations, s.stopped
		}
		if end < 0 {
			return docs, violations, nil
		}
		s.n++
		raw := append([]byte(nil), s.buf[:end]...)
		rest := s.buf[end:]
		switch {
		case len(rest) == 0:
			s.needNL = true
		case rest[0] == '\n':
			raw = append(raw, '\n')
			rest = rest[1:]
		default:
			violations = append(violations, fmt.Sprintf("document %d: not followed by LF (next bytes %q)", s.n, clip(rest)))
		}
		violations = append(violations, ECCPFramingViolations(s.n, raw, s.needNL)...)
		trimmed := bytes.TrimLeft(rest, " \t\r\n")
		if len(trimmed) != len(rest) {
			violations = append(violations, fmt.Sprintf("document %d: followed by extra whitespace %q", s.n, rest[:len(rest)-len(trimmed)]))
		}
		s.buf, s.pos, s.depth = append([]byte(nil), trimmed...), 0, 0
		root, perr := parseECCPDoc(raw)
		if perr != nil {
			s.stopped = fmt.Errorf("document %d: malformed XML: %w (bytes %q)", s.n, perr, clip(raw))
			return docs, violations, s.stopped
		}
		if root.Name != "event" && root.Name != "response" {
			s.stopped = fmt.Errorf("document %d: unrecognized packet type: %s", s.n, root.Name)
			return docs, violations, s.stopped
		}
		docs = append(docs, &ECCPDoc{Raw: raw, Root: root, Seq: s.n})
	}
}

// Pending describes bytes left over when the stream ends: a document cut
// short, or a missing final LF; "" when the stream ended cleanly.
func (s *ECCPSplitter) Pending() string {
	switch {
	case s.stopped != nil:
		return ""
	case s.needNL:
		return fmt.Sprintf("document %d: the stream ended before its final LF", s.n)
	case len(bytes.TrimSpace(s.buf)) > 0:
		return fmt.Sprintf("the stream ended inside document %d: %q", s.n+1, clip(s.buf))
	}
	return ""
}

func clip(b []byte) []byte {
	if len(b) > 200 {
		return b[:200]
	}
	return b
}

// scan moves through buf from pos, counting depth, and returns the index
// just after the root's closing '>' once the document is complete, or -1
// when more bytes are needed.
func (s *ECCPSplitter) scan() (int, error) {
	b := s.buf
	for s.pos < len(b) {
		i := s.pos
		if b[i] != '<' {
			j := bytes.IndexByte(b[i:], '<')
			if j < 0 {
				j = len(b) - i
			}
			if s.depth == 0 && len(bytes.TrimSpace(b[i:i+j])) > 0 {
				return -1, fmt.Errorf("text outside the root element")
			}
			s.pos = i + j
			continue
		}
		rest := b[i:]
		var end int // index after the construct, relative to i
		switch {
		case bytes.HasPrefix(rest, []byte("<?")):
			k := bytes.Index(rest, []byte("?>"))
			if k < 0 {
				return -1, nil
			}
			end = k + 2
			if isXMLDecl(rest[:end]) && i > 0 {
				// libxml: "XML declaration allowed only at the start of
				// the document" (PHP reports Reserved XML Name).
				return -1, fmt.Errorf("XML declaration not at the start of the document (after %q)", b[:i])
			}
		case bytes.HasPrefix(rest, []byte("<!--")):
			k := bytes.Index(rest[4:], []byte("-->"))
			if k < 0 {
				return -1, nil
			}
			end = 4 + k + 3
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			k := bytes.Index(rest, []byte("]]>"))
			if k < 0 {
				return -1, nil
			}
			end = k + 3
		case len(rest) < 9 && bytes.HasPrefix([]byte("<![CDATA["), rest):
			return -1, nil
		case bytes.HasPrefix(rest, []byte("<!")):
			k := bytes.IndexByte(rest, '>')
			if k < 0 {
				return -1, nil
			}
			end = k + 1
		case bytes.HasPrefix(rest, []byte("</")):
			k := bytes.IndexByte(rest, '>')
			if k < 0 {
				return -1, nil
			}
			end = k + 1
			s.depth--
			if s.depth < 0 {
				return -1, fmt.Errorf("end tag %q without a start", rest[:end])
			}
			if s.depth == 0 {
				s.pos = i + end
				return s.pos, nil
			}
		default:
			k := tagEnd(rest)
			if k < 0 {
				return -1, nil
			}
			end = k + 1
			if rest[k-1] != '/' {
				s.depth++
			} else if s.depth == 0 {
				s.pos = i + end
				return s.pos, nil
			}
		}
		s.pos = i + end
	}
	return -1, nil
}

// tagEnd is the index of the '>' closing the start tag at the start of b,
// skipping quoted attribute values; -1 when it has not arrived.
func tagEnd(b []byte) int {
	var quote byte
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return i
		}
	}
	return -1
}

func isXMLDecl(pi []byte) bool {
	return len(pi) >= 6 && string(pi[:5]) == "<?xml" && (pi[5] == ' ' || pi[5] == '\t' || pi[5] == '\r' || pi[5] == '\n' || pi[5] == '?')
}

// ECCPFramingViolations checks one document (raw: as received, ending
// with its LF unless lfLate) against dialerd's framing: the exact
// declaration and LF first, a one-line ASCII body with empty elements
// written <x/>, and the LF right after the root. n numbers the document
// in the messages.
func ECCPFramingViolations(n int, raw []byte, lfLate bool) []string {
	var out []string
	bad := func(format string, args ...any) {
		out = append(out, fmt.Sprintf("document %d: ", n)+fmt.Sprintf(format, args...))
	}
	if !bytes.HasPrefix(raw, []byte(ECCPDecl)) {
		if i := bytes.Index(raw, []byte("<?xml")); i > 0 {
			bad("%q before the declaration", raw[:i])
		} else {
			bad("does not start with %q: %q", ECCPDecl, clip(raw))
		}
		return out
	}
	body := raw[len(ECCPDecl):]
	if !lfLate {
		if len(body) == 0 || body[len(body)-1] != '\n' {
			bad("does not end with LF")
		} else {
			body = body[:len(body)-1]
		}
	}
	if i := bytes.IndexAny(body, "\r\n"); i >= 0 {
		bad("the body is not one line: line end at byte %d: %q", i, clip(body))
	}
	for i, c := range body {
		if c >= 0x80 {
			bad("non-ASCII byte %#x at %d (dialerd writes &#xHH;): %q", c, i, clip(body[max(0, i-40):]))
			break
		}
	}
	if name := emptyPair(body); name != "" {
		bad("empty element written <%s></%s>, dialerd writes <%s/>", name, name, name)
	}
	return out
}

// emptyPair finds an element written as a start tag directly followed by
// its end tag and returns its name, or "".
func emptyPair(body []byte) string {
	for off := 0; ; {
		k := bytes.Index(body[off:], []byte("></"))
		if k < 0 {
			return ""
		}
		at := off + k
		open := bytes.LastIndexByte(body[:at], '<')
		if open >= 0 && open+1 < at {
			tag := body[open+1 : at+1]
			if c := tag[0]; c != '/' && c != '?' && c != '!' && tag[len(tag)-2] != '/' {
				name := tag[:len(tag)-1]
				if sp := bytes.IndexAny(name, " \t\r\n"); sp >= 0 {
					name = name[:sp]
				}
				if bytes.HasPrefix(body[at+3:], append(append([]byte(nil), name...), '>')) {
					return string(name)
				}
			}
		}
		off = at + 3
	}
}
