package sip

import (
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"
)

// strayTestResponse is a response with the given status to a request of
// the given method, as a stray one reaches the stack.
func strayTestResponse(code int, method sipmsg.RequestMethod) *sipmsg.Response {
	req := sipmsg.NewRequest(method, sipmsg.Uri{Scheme: "sip", User: "2000", Host: "127.0.0.1"})
	callID := sipmsg.CallIDHeader("stray-1")
	req.AppendHeader(&callID)
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: 1, MethodName: method})
	return sipmsg.NewResponseFromRequest(req, code, "x", nil)
}

// Only a 2xx to INVITE reaches the OnStrayInviteOK hook, without
// allocating when the hook takes it.
func TestStrayInviteOKHook(t *testing.T) {
	s, err := NewStack(StackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.strayResponse(strayTestResponse(200, sipmsg.INVITE)) // no hook yet
	var got []int
	s.OnStrayInviteOK(func(res *sipmsg.Response) bool {
		got = append(got, res.StatusCode)
		return true
	})
	for _, r := range []*sipmsg.Response{
		strayTestResponse(180, sipmsg.INVITE),
		strayTestResponse(487, sipmsg.INVITE),
		strayTestResponse(200, sipmsg.BYE),
		strayTestResponse(200, sipmsg.INVITE),
	} {
		s.strayResponse(r)
	}
	if len(got) != 1 || got[0] != 200 {
		t.Fatalf("hook got %v, want [200]", got)
	}
	ok := strayTestResponse(200, sipmsg.INVITE)
	s.OnStrayInviteOK(func(*sipmsg.Response) bool { return true })
	if n := testing.AllocsPerRun(100, func() { s.strayResponse(ok) }); n != 0 {
		t.Fatalf("%v allocations per stray 200 taken, want 0", n)
	}
}
