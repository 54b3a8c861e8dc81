package eccp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The wire: documents the server writes, and the splitting and parsing
// of what clients send.

// declaration starts every document the server writes, as dialerd's
// SimpleXMLElement::asXML does: no encoding, then a line feed.
const declaration = `<?xml version="1.0"?>` + "\n"

// node is an element the server writes.
type node struct {
	name  string
	attrs [][2]string
	text  string
	kids  []*node
}

// el is an element with children (nil ones skipped).
func el(name string, kids ...*node) *node { return (&node{name: name}).add(kids...) }

// tx is an element holding text; an empty one is written <name/>.
func tx(name, text string) *node { return &node{name: name, text: text} }

// txi is tx of an integer.
func txi(name string, v int) *node { return tx(name, itoa(v)) }

func itoa(n int) string { return strconv.Itoa(n) }

// opt is tx, or nil (left out) for an empty text: a NULL column in dialerd.
func opt(name, text string) *node {
	if text == "" {
		return nil
	}
	return tx(name, text)
}

// attr sets an attribute and returns n.
func (n *node) attr(k, v string) *node {
	n.attrs = append(n.attrs, [2]string{k, v})
	return n
}

// add appends children, skipping nil ones, and returns n.
func (n *node) add(kids ...*node) *node {
	for _, k := range kids {
		if k != nil {
			n.kids = append(n.kids, k)
		}
	}
	return n
}

// child is n's first child called name, nil if none.
func (n *node) child(name string) *node {
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

// failure is a <failure> with a code and a message.
func failure(code int, msg string) *node {
	return el("failure", txi("code", code), tx("message", msg))
}

// respond is the <NAME_response> of request name.
func respond(name string, kids ...*node) *node { return el(name+"_response", kids...) }

// success is <NAME_response><success/></NAME_response>.
func success(name string) *node { return respond(name, tx("success", "")) }

// encode writes one document: the declaration, the body on one line, a
// line feed. Non-ASCII goes out as character references, so that the
// bytes are the same whatever a client assumes the encoding is.
func encode(root *node) []byte {
	var b bytes.Buffer
	b.WriteString(declaration)
	root.write(&b)
	b.WriteByte('\n')
	return b.Bytes()
}

func (n *node) write(b *bytes.Buffer) {
	b.WriteByte('<')
	b.WriteString(n.name)
	for _, a := range n.attrs {
		b.WriteByte(' ')
		b.WriteString(a[0])
		b.WriteString(`="`)
		escape(b, a[1], true)
		b.WriteByte('"')
	}
	if n.text == "" && len(n.kids) == 0 {
		b.WriteString("/>")
		return
	}
	b.WriteByte('>')
	escape(b, n.text, false)
	for _, k := range n.kids {
		k.write(b)
	}
	b.WriteString("</")
	b.WriteString(n.name)
	b.WriteByte('>')
}

// escape writes s as XML character data: markup characters escaped, line
// ends as references (a body stays on one line), non-ASCII as &#xHH;,
// and characters XML 1.0 cannot carry dropped.
func escape(b *bytes.Buffer, s string, quote bool) {
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"' && quote:
			b.WriteString("&quot;")
		case r == '\n' || r == '\r' || r == '\t' && quote:
			fmt.Fprintf(b, "&#x%X;", r)
		case r == utf8.RuneError, r < 0x20 && r != '\t', r >= 0xFFFE && r <= 0xFFFF, r >= 0xD800 && r <= 0xDFFF:
			// not representable in XML 1.0
		case r < 0x80:
			b.WriteByte(byte(r))
		default:
			fmt.Fprintf(b, "&#x%X;", r)
		}
	}
}

// xnode is an element a client sent.
type xnode struct {
	Name  string
	Attrs map[string]string
	Text  string
	Kids  []*xnode
}

// child is the first child element called name, nil if none.
func (x *xnode) child(name string) *xnode {
	if x == nil {
		return nil
	}
	for _, k := range x.Kids {
		if k.Name == name {
			return k
		}
	}
	return nil
}

// has reports whether x has a child called name.
func (x *xnode) has(name string) bool { return x.child(name) != nil }

// text is the trimmed text of the child called name, "" if none.
func (x *xnode) text(name string) string {
	if c := x.child(name); c != nil {
		return strings.TrimSpace(c.Text)
	}
	return ""
}

// all are the children called name.
func (x *xnode) all(name string) []*xnode {
	if x == nil {
		return nil
	}
	var out []*xnode
	for _, k := range x.Kids {
		if k.Name == name {
			out = append(out, k)
		}
	}
	return out
}

// maxDepth bounds the nesting of a request: no request nests deeper than
// saveformdata's five levels.
const maxDepth = 32

// parseDoc parses one document into its root element.
func parseDoc(doc []byte) (*xnode, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	var stack []*xnode
	var root *xnode
	for {
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) && root != nil && len(stack) == 0 {
				return root, nil
			}
			return nil, fmt.Errorf("parse request: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, errors.New("parse request: more than one root")
			}
			if len(stack) >= maxDepth {
				return nil, errors.New("parse request: nested too deep")
			}
			n := &xnode{Name: t.Name.Local}
			for _, a := range t.Attr {
				if n.Attrs == nil {
					n.Attrs = map[string]string{}
				}
				n.Attrs[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Kids = append(p.Kids, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, errors.New("parse request: text outside the root")
			}
		case xml.Directive:
			return nil, errors.New("parse request: a DOCTYPE is not accepted")
		}
	}
}

// splitter cuts the byte stream of one connection into documents, as
// dialerd does: it follows the element depth, and a document ends where
// its root element closes. Whitespace and NULs between documents are
// skipped; a declaration, processing instructions and comments may come
// before the root. It keeps its state between feeds, so input split
// anywhere, even a byte at a time, costs what it costs in one piece.
type splitter struct {
	buf   []byte
	pos   int // next byte to scan
	start int // start of the current document, -1 before it begins
	depth int
	state scanState
	quote byte     // inside a tag: the quote character of an open attribute value
	tag   int      // where the current tag's name starts
	open  []string // the names of the elements open, to catch a mismatched end tag at once
	max   int      // the largest document accepted
}

type scanState int

const (
	sText    scanState = iota
	sLt                // after '<'
	sPI                // <? ... ?>
	sBang              // after "<!"
	sComment           // <!-- ... -->
	sCDATA             // <![CDATA[ ... ]]>
	sStart             // a start tag
	sEnd               // an end tag
)

// errMalformed is any input that cannot be a sequence of documents.
var errMalformed = errors.New("malformed document")

func newSplitter(max int) *splitter { return &splitter{start: -1, max: max} }

// feed adds bytes read from the connection.
func (s *splitter) feed(p []byte) { s.buf = append(s.buf, p...) }

// next returns the next complete document, or ok false when more bytes
// are needed. An error means the stream cannot be split any further.
func (s *splitter) next() (doc []byte, ok bool, err error) {
	for s.pos < len(s.buf) {
		c := s.buf[s.pos]
		switch s.state {
		case sText:
			if s.start < 0 {
				if isSpace(c) || c == 0 {
					s.pos++
					continue
				}
				s.start = s.pos
			}
			if c == '<' {
				s.state = sLt
			} else if s.depth == 0 && !isSpace(c) {
				return nil, false, fmt.Errorf("%w: text outside the root element", errMalformed)
			}
		case sLt:
			switch c {
			case '?':
				s.state = sPI
			case '!':
				s.state = sBang
			case '/':
				if s.depth == 0 {
					return nil, false, fmt.Errorf("%w: an end tag with no start", errMalformed)
				}
				s.state, s.tag = sEnd, s.pos+1
			default:
				if s.depth >= maxDepth {
					return nil, false, fmt.Errorf("%w: nested too deep", errMalformed)
				}
				s.state, s.quote, s.tag = sStart, 0, s.pos
			}
		case sPI:
			if c == '>' && s.buf[s.pos-1] == '?' {
				s.state = sText
			}
		case sBang:
			rest := s.buf[s.pos:]
			switch {
			case bytes.HasPrefix(rest, []byte("--")):
				s.state, s.pos = sComment, s.pos+1
			case bytes.HasPrefix(rest, []byte("[CDATA[")) && s.depth > 0:
				s.state, s.pos = sCDATA, s.pos+6
			case len(rest) < 7 && (bytes.HasPrefix([]byte("--"), rest) || bytes.HasPrefix([]byte("[CDATA["), rest)):
				return nil, false, s.limit() // wait for the bytes that decide
			default:
				return nil, false, fmt.Errorf("%w: a DOCTYPE or unknown markup", errMalformed)
			}
		case sComment:
			if c == '>' && s.pos >= 2 && s.buf[s.pos-1] == '-' && s.buf[s.pos-2] == '-' {
				s.state = sText
			}
		case sCDATA:
			if c == '>' && s.buf[s.pos-1] == ']' && s.buf[s.pos-2] == ']' {
				s.state = sText
			}
		case sStart:
			switch {
			case s.quote != 0:
				if c == s.quote {
					s.quote = 0
				}
			case c == '"' || c == '\'':
				s.quote = c
			case c == '>':
				s.state = sText
				if s.buf[s.pos-1] != '/' {
					s.depth++
					s.open = append(s.open, tagName(s.buf[s.tag:s.pos]))
				} else if s.depth == 0 {
					return s.cut(), true, nil
				}
			}
		case sEnd:
			if c == '>' {
				if name := tagName(s.buf[s.tag:s.pos]); name != s.open[len(s.open)-1] {
					return nil, false, fmt.Errorf("%w: </%s> closes <%s>", errMalformed, name, s.open[len(s.open)-1])
				}
				s.open = s.open[:len(s.open)-1]
				s.state = sText
				s.depth--
				if s.depth == 0 {
					return s.cut(), true, nil
				}
			}
		}
		s.pos++
	}
	return nil, false, s.limit()
}

// tagName is the name at the start of a tag's bytes.
func tagName(b []byte) string {
	if i := bytes.IndexAny(b, " \t\r\n/"); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// limit refuses a document larger than max.
func (s *splitter) limit() error {
	if len(s.buf)-max(s.start, 0) > s.max {
		return fmt.Errorf("%w: larger than %d bytes", errMalformed, s.max)
	}
	return nil
}

// cut takes the document that ends at pos out of the buffer.
func (s *splitter) cut() []byte {
	doc := bytes.Clone(s.buf[s.start : s.pos+1])
	n := copy(s.buf, s.buf[s.pos+1:])
	s.buf = s.buf[:n]
	s.pos, s.start, s.state = 0, -1, sText
	return doc
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
