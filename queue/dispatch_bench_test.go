package queue

import (
	"fmt"
	"testing"
	"time"

	"pbx/config"
)

// The dispatch decision at 20, 200 and 2,000 agents, each a member of
// all 50 queues (the worst case: an agent's decision walks every one of
// its queues), with 2,000 callers waiting across the queues and every
// other agent busy. AgentFree is what runs when an agent becomes free:
// the pick across queues, the offer's bookkeeping and its events (its
// withdrawal, to keep the state steady, is counted too). CallerJoin is a
// caller joining a queue where every agent is free: candidates, the
// strategy's order, the pick for the first agent.

const (
	benchQueues  = 50
	benchCallers = 2000
)

func benchCenter(b *testing.B, agents int, busy bool) *coreCenter {
	cfg := &config.Config{}
	for i := range agents {
		cfg.Agents = append(cfg.Agents, config.Agent{ID: fmt.Sprint(1000 + i), Contact: fmt.Sprint(1000 + i), AutoLogin: true})
	}
	for qi := range benchQueues {
		q := config.Queue{Name: fmt.Sprintf("q%02d", qi), Strategy: "longest-idle-agent", Weight: qi % 3}
		for i := range agents {
			q.Members = append(q.Members, config.Member{Agent: fmt.Sprint(1000 + i), Penalty: i % 3})
		}
		cfg.Queues = append(cfg.Queues, q)
	}
	cc := newCoreCenter(b, cfg, nil)
	cc.onEvent = nil
	if busy {
		cc.mu.Lock()
		for _, a := range cc.agents {
			a.calls = []*conn{{}}
		}
		cc.mu.Unlock()
		for i := range benchCallers {
			cc.join(b, fmt.Sprintf("L%d", i), fmt.Sprintf("q%02d", i%benchQueues), i%2)
			if i%100 == 0 {
				cc.clock.Advance(time.Millisecond)
			}
		}
	}
	return cc
}

func BenchmarkAgentFree(b *testing.B) {
	for _, n := range []int{20, 200, 2000} {
		b.Run(fmt.Sprintf("agents=%d", n), func(b *testing.B) {
			cc := benchCenter(b, n, true)
			ids := cc.anames
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				a := cc.agents[ids[i%len(ids)]]
				cc.do(func(t *txn) {
					calls := a.calls
					a.calls = nil
					t.agentFree(a)
					if o := a.offer; o != nil {
						t.withdrawOffers(o.cl)
						o.cl.offeredTo = o.cl.offeredTo[:0]
					}
					a.calls = calls
					t.refresh(a)
					t.agents = t.agents[:0]
				})
			}
		})
	}
}

func BenchmarkCallerJoin(b *testing.B) {
	for _, n := range []int{20, 200, 2000} {
		b.Run(fmt.Sprintf("agents=%d", n), func(b *testing.B) {
			cc := benchCenter(b, n, false)
			cl := &caller{leg: "L", offers: map[string]*offer{}}
			cl.q = cc.queues["q07"]
			cl.ph = phaseWaiting
			cl.lim = limitsAt(cl.q.cfg, 0)
			cl.q.waiting = []*caller{cl}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				cc.Center.mu.Lock()
				order := cc.orderFor(cl)
				if len(order) == 0 {
					b.Fatal("no candidates")
				}
				if best, _ := cc.pickFor(cl.q.byAgent[order[0].ID].a); best != cl {
					b.Fatal("the first agent does not pick the caller")
				}
				cc.Center.mu.Unlock()
			}
		})
	}
}
