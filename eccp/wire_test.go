package eccp

import (
	"strings"
	"testing"
)

func TestEncode(t *testing.T) {
	tests := []struct {
		name string
		root *node
		want string
	}{
		{"login", el("response", el("login_response", tx("success", ""), tx("app_cookie", "abc"))).attr("id", "1"),
			`<response id="1"><login_response><success/><app_cookie>abc</app_cookie></login_response></response>`},
		{"failure", el("response", failure(400, "Bad request")),
			`<response><failure><code>400</code><message>Bad request</message></failure></response>`},
		{"non-ASCII and markup", el("event", tx("pause_name", "Baño & <x>")),
			`<event><pause_name>Ba&#xF1;o &amp; &lt;x&gt;</pause_name></event>`},
		{"line ends stay on one line", tx("script", "a\r\nb"), `<script>a&#xD;&#xA;b</script>`},
		{"attribute quotes", el("form").attr("name", `a"b`), `<form name="a&quot;b"/>`},
		{"nil children skipped", el("x", nil, opt("y", ""), opt("z", "1")), `<x><z>1</z></x>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(encode(tt.root))
			want := "<?xml version=\"1.0\"?>\n" + tt.want + "\n"
			if got != want {
				t.Errorf("encode:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func split(t *testing.T, s *splitter) ([]string, error) {
	t.Helper()
	var docs []string
	for {
		d, ok, err := s.next()
		if err != nil {
			return docs, err
		}
		if !ok {
			return docs, nil
		}
		docs = append(docs, string(d))
	}
}

func TestSplitter(t *testing.T) {
	a := `<?xml version="1.0"?>` + "\n" + `<request id="1"><login><username>u</username></login></request>`
	b := `<request id="2"><getpauses/></request>`
	c := `<?xml version="1.0" encoding="UTF-8" standalone="no"?><!-- hi --><request id='3'><x a=">"><![CDATA[<y>]]></x></request>`
	tests := []struct {
		name  string
		input string
		want  []string
		bad   bool
	}{
		{"one", a + "\n", []string{a}, false},
		{"coalesced with whitespace and CRLF", "\r\n" + a + "\r\n\r\n" + b + "\n" + c, []string{a, b, c}, false},
		{"self-closing root", `<request id="9"/>`, []string{`<request id="9"/>`}, false},
		{"NULs between", a + "\x00\x00" + b, []string{a, b}, false},
		{"text outside", "hello" + a, nil, true},
		{"doctype", `<!DOCTYPE x [<!ENTITY e "e">]><request/>`, nil, true},
		{"end tag first", `</request>`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunk := range []int{1, 3, len(tt.input)} {
				s := newSplitter(1 << 16)
				var got []string
				var err error
				for i := 0; i < len(tt.input) && err == nil; i += chunk {
					s.feed([]byte(tt.input[i:min(i+chunk, len(tt.input))]))
					var d []string
					d, err = split(t, s)
					got = append(got, d...)
				}
				if (err != nil) != tt.bad {
					t.Fatalf("chunk %d: error %v, want bad=%v", chunk, err, tt.bad)
				}
				if !tt.bad && strings.Join(got, "|") != strings.Join(tt.want, "|") {
					t.Fatalf("chunk %d: got %q, want %q", chunk, got, tt.want)
				}
			}
		})
	}
}

func TestSplitterLimit(t *testing.T) {
	s := newSplitter(64)
	s.feed([]byte(`<request id="1">` + strings.Repeat("x", 100)))
	if _, _, err := s.next(); err == nil {
		t.Fatal("a document over the limit was accepted")
	}
}

func TestParseDoc(t *testing.T) {
	x, err := parseDoc([]byte(`<?xml version="1.0"?>` + "\n" + `<request id="7"><saveformdata><forms><form id="1"><field id="2"> v </field></form></forms></saveformdata></request>`))
	if err != nil {
		t.Fatal(err)
	}
	if x.Name != "request" || x.Attrs["id"] != "7" || len(x.Kids) != 1 {
		t.Fatalf("root %+v", x)
	}
	f := x.Kids[0].child("forms").child("form")
	if f.Attrs["id"] != "1" || f.text("field") != "v" {
		t.Fatalf("form %+v", f)
	}
	for _, bad := range []string{`<request><a></b></request>`, `<request>&undefined;</request>`, `<a/><b/>`} {
		if _, err := parseDoc([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestSplitterMismatch(t *testing.T) {
	for _, in := range []string{`<request id="1"><getpauses></request>`, `<request><a></a ></b></request>`, strings.Repeat("<a>", maxDepth+1)} {
		s := newSplitter(1 << 16)
		s.feed([]byte(in))
		if _, _, err := s.next(); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	s := newSplitter(1 << 16)
	s.feed([]byte(`<request id="1"><a ></a	><b/></request >`))
	if _, ok, err := s.next(); !ok || err != nil {
		t.Errorf("names with spaces: ok %v, err %v", ok, err)
	}
}
