// Package queue is the contact center: call queues, agents, routing
// strategies and supervisors, on top of the call engine (floor 3).
//
// A Center serves one dialog.Engine. It registers its dial-plan target
// kinds (queue:NAME, agent-login, agent-logout, agent-pause,
// agent-unpause, supervise:MODE) and drives legs only through the engine
// API: it plays wait rooms to callers, originates calls to dynamic members,
// bridges callers to agents and hangs legs up. Every change is published on
// the engine's event bus (queue.* and agent.state_changed events), written
// to the Asterisk-format queue log and counted in statistics.
//
// Dispatch is agent-centric: an agent who becomes free takes the best
// caller across all their queues, by priority, queue weight and wait, so
// no queue starves another. A caller who joins, or whose limits widen as
// they wait, is offered to free agents in the order of the queue's
// strategy.
//
// One mutex owns the Center's state. The engine is never called while it
// is held: decisions are made under the lock and carried out after it.
// Agent sessions (logged in, paused with a break, device, queues) and
// queues and members changed at run time are persisted in the store, so a
// restart keeps them.
//
// queue stands on dialog, store, config, recordings and sounds. It must
// never import sip or media (it reaches calls through the engine API
// only), nor a control plane, node, web or cmd package: those stand on it
// and drive it by its exported API.
package queue
