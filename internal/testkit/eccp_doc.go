package testkit

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
)

// The documents an ECCP test client receives, parsed into a tree of its
// own, with the lookups the tests use.

// ECCPNode is an element of a received document.
type ECCPNode struct {
	Name  string
	Attrs []xml.Attr // in document order
	Text  string     // the character data directly inside, untrimmed
	Kids  []*ECCPNode
}

// Child is the first child element named name, or nil.
func (n *ECCPNode) Child(name string) *ECCPNode {
	if n == nil {
		return nil
	}
	for _, k := range n.Kids {
		if k.Name == name {
			return k
		}
	}
	return nil
}

// Children are the child elements named name, in order (every child when
// name is "").
func (n *ECCPNode) Children(name string) []*ECCPNode {
	if n == nil {
		return nil
	}
	var out []*ECCPNode
	for _, k := range n.Kids {
		if name == "" || k.Name == name {
			out = append(out, k)
		}
	}
	return out
}

// Find follows path from n, each step the first child of that name; nil
// when a step is missing. An empty path is n itself.
func (n *ECCPNode) Find(path ...string) *ECCPNode {
	for _, p := range path {
		n = n.Child(p)
	}
	return n
}

// Has reports whether path leads to an element.
func (n *ECCPNode) Has(path ...string) bool { return n.Find(path...) != nil }

// TextOf is the trimmed character data of the element path leads to,
// "" when it is missing.
func (n *ECCPNode) TextOf(path ...string) string {
	if e := n.Find(path...); e != nil {
		return strings.TrimSpace(e.Text)
	}
	return ""
}

// Attr is the value of attribute name ("" when absent).
func (n *ECCPNode) Attr(name string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// Names are the names of n's child elements, in document order.
func (n *ECCPNode) Names() []string {
	if n == nil {
		return nil
	}
	out := make([]string, len(n.Kids))
	for i, k := range n.Kids {
		out[i] = k.Name
	}
	return out
}

// ECCPDoc is one document the server sent.
type ECCPDoc struct {
	Raw      []byte    // its bytes, from the declaration to the final LF (when it came in the same read)
	Root     *ECCPNode // <response> or <event>
	Seq      int       // its place in the connection's stream, from 1
	Received time.Time // when the read that completed it returned
}

// IsEvent reports whether the document is an <event>.
func (d *ECCPDoc) IsEvent() bool { return d.Root.Name == "event" }

// ID is the response's id attribute ("" for none).
func (d *ECCPDoc) ID() string { return d.Root.Attr("id") }

// Body is the root's first child element: <X_response>, a top-level
// <failure>, or the event's element.
func (d *ECCPDoc) Body() *ECCPNode {
	if len(d.Root.Kids) == 0 {
		return nil
	}
	return d.Root.Kids[0]
}

// Name is the body's name: "login_response", "failure", "agentlinked".
func (d *ECCPDoc) Name() string {
	if b := d.Body(); b != nil {
		return b.Name
	}
	return ""
}

// Text is the trimmed text of the element path leads to from the root
// ("login_response", "app_cookie"); "" when missing.
func (d *ECCPDoc) Text(path ...string) string { return d.Root.TextOf(path...) }

// Find is the element path leads to from the root, or nil.
func (d *ECCPDoc) Find(path ...string) *ECCPNode { return d.Root.Find(path...) }

// Children are the child elements of the element path leads to from the
// root, in order.
func (d *ECCPDoc) Children(path ...string) []*ECCPNode { return d.Root.Find(path...).Children("") }

// Names are the names of the children of the element path leads to from
// the root, in order: what a test checks element order with.
func (d *ECCPDoc) Names(path ...string) []string { return d.Root.Find(path...).Names() }

// Failure is the code and message of the document's failure: the
// top-level one (<response><failure>) or the one in the body
// (<response><X_response><failure>); ok is false when there is none.
func (d *ECCPDoc) Failure() (code int, msg string, ok bool) {
	f := d.Root.Child("failure")
	if f == nil {
		f = d.Body().Child("failure")
	}
	if f == nil {
		return 0, "", false
	}
	code, _ = strconv.Atoi(f.TextOf("code"))
	return code, f.TextOf("message"), true
}

// Success reports whether the body holds <success/>.
func (d *ECCPDoc) Success() bool { return d.Body().Has("success") }

func (d *ECCPDoc) String() string { return string(d.Raw) }

// parseECCPDoc parses one document strictly into its element tree.
func parseECCPDoc(raw []byte) (*ECCPNode, error) {
	dec := xml.NewDecoder(bytes.NewReader(raw))
	dec.Strict = true
	var root *ECCPNode
	var stack []*ECCPNode
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			n := &ECCPNode{Name: tk.Name.Local, Attrs: append([]xml.Attr(nil), tk.Attr...)}
			if len(stack) == 0 {
				if root != nil {
					return nil, errors.New("a second root element")
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.Kids = append(p.Kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(tk)
			}
		}
	}
	if root == nil || len(stack) != 0 {
		return nil, errors.New("no complete root element")
	}
	return root, nil
}
