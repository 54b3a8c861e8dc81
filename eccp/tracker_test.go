package eccp

import (
	"context"
	"net"
	"strings"
	"testing"

	"pbx/queue"
)

// listener is a logged-in session of f's server whose queued documents
// the test reads.
func listener(t *testing.T, f *fixture) *session {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	ss := newSession(f.srv, a)
	ss.user = "agentconsole"
	f.srv.mu.Lock()
	f.srv.sessions[ss] = struct{}{}
	f.srv.mu.Unlock()
	return ss
}

// queued are the names of the events queued to ss so far.
func queued(ss *session) []string {
	ss.qmu.Lock()
	docs := ss.pending
	ss.pending = nil
	ss.qmu.Unlock()
	var out []string
	for _, doc := range docs {
		body := strings.TrimPrefix(string(doc), declaration+"<event><")
		out = append(out, body[:strings.IndexAny(body, ">/")])
	}
	return out
}

func TestTrackerEvents(t *testing.T) {
	f := newFixture(t)
	ss := listener(t, f)
	ctx := context.Background()
	steps := []struct {
		name string
		do   func() error
		want string
	}{
		{"login", func() error { return f.q.Login(ctx, "9002", queue.LoginOptions{}) }, "agentloggedin"},
		{"pause", func() error { return f.q.Pause("9002", "Lunch", "") }, "pausestart"},
		{"nothing changed", func() error { return nil }, ""},
		{"logout ends the pause first", func() error { return f.q.Logout(ctx, "9002", "test") }, "pauseend agentloggedout"},
		// A logged-out agent's membership: its status is read with the
		// tracker's lock held (this once deadlocked).
		{"member of a new queue", func() error { return f.q.AddMember("support", "9001", 0) }, "queuemembership"},
	}
	f.srv.track.sync("9001")
	f.srv.track.sync("9002")
	queued(ss)
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		f.srv.track.sync("9001")
		f.srv.track.sync("9002")
		f.srv.track.sync("9002") // a second sync finds nothing new
		if got := strings.Join(queued(ss), " "); got != st.want {
			t.Errorf("%s: events %q, want %q", st.name, got, st.want)
		}
	}
}
