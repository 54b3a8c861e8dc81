package dialog

import (
	"context"
	"fmt"
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"
)

// URITarget is a parsed "uri:sip:user@host:port": ring that SIP URI and
// bridge the caller with it. A URI with no user part is sent the number
// dialled. It is how a call reaches a SIP peer that does not register (a
// voice bot, another PBX) without a trunk, as the endpoints of pbx.yaml
// name them.
type URITarget struct {
	URI string
}

func init() {
	RegisterTarget(TargetKind{Name: "uri", Parse: parseURITarget, Handle: handleURI, Dials: true})
}

func parseURITarget(args []string, _ TargetEnv) (any, error) {
	uri := strings.Join(args, ",")
	var u sipmsg.Uri
	if err := sipmsg.ParseUri(uri, &u); err != nil || u.Host == "" || !strings.HasPrefix(strings.ToLower(uri), "sip") {
		return nil, fmt.Errorf("want uri:sip:user@host[:port], got %q", uri)
	}
	return URITarget{URI: uri}, nil
}

// handleURI rings the URI, with the number dialled as its user when it
// has none, and bridges the caller with it; a URI naming this PBX is the
// number in its user part, routed by the dial plan.
func handleURI(ctx context.Context, e *Engine, a *Leg, r Route) {
	t, _ := r.Parsed.(URITarget)
	number, target, err := e.self().sipTarget(t.URI)
	if err == nil && number != "" {
		route, ok := e.plan.Route(number)
		kind, _ := LookupTarget(route.Kind)
		if ok && kind.Handle != nil {
			kind.Handle(ctx, e, a, route)
			return
		}
		err = fmt.Errorf("%w: no route for %s", ErrBadTarget, number)
	}
	if err != nil {
		a.log.Warn("uri target", "uri", t.URI, "error", err)
		a.ops.do(context.Background(), func() error { a.end(CauseCongestion, byLocal, 0); return nil })
		return
	}
	if target.uri.User == "" {
		target.uri.User = r.Number
		target.toUser = r.Number
		target.peer = r.Number + "@" + target.uri.Host
	}
	e.connect(ctx, a, [][]dialTarget{{target}}, target.uri.User)
}
