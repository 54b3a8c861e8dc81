package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
)

// ErrNoPorts is returned when no RTP/RTCP port pair can be bound: every
// pair of the range is in use or taken by another process.
var ErrNoPorts = errors.New("media: no free RTP ports")

// portPool hands out RTP sockets on even ports with RTCP on the port above
// (RFC 3550 §11). Within a configured range it rotates, so a port just
// freed is reused last and stray packets of an ended call do not land in a
// new one; ports another process holds are skipped. With no range the
// kernel picks ports and the pool only pairs them.
type portPool struct {
	ip          netip.Addr
	network     string
	first, last int // even RTP ports; 0, 0 for ephemeral ports

	mu    sync.Mutex
	next  int
	inUse map[int]bool
}

func newPortPool(ip netip.Addr, min, max int) *portPool {
	p := &portPool{ip: ip, network: "udp4", inUse: map[int]bool{}}
	if !ip.Is4() {
		p.network = "udp" // dual stack when unspecified
	}
	if min != 0 || max != 0 {
		p.first, p.last = firstLastPair(min, max)
		p.next = p.first
	}
	return p
}

// firstLastPair is the lowest and highest even RTP port of [min, max] whose
// RTCP port is in the range too; last < first when there is none.
func firstLastPair(min, max int) (first, last int) {
	first = min + min%2
	last = max - 1
	last -= last % 2
	return first, last
}

// acquire binds the RTP socket of the next free pair; the port above it is
// left for the endpoint's RTCP socket, bound once media flows.
func (p *portPool) acquire() (rtpConn *net.UDPConn, err error) {
	if p.first == 0 {
		return p.ephemeral()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var bindErr error
	for range (p.last-p.first)/2 + 1 {
		port := p.next
		if p.next += 2; p.next > p.last {
			p.next = p.first
		}
		if p.inUse[port] {
			continue
		}
		if rtpConn, err = p.listen(port); err != nil {
			bindErr = err // held by another process, most likely
			continue
		}
		if probe, err := p.listen(port + 1); err != nil {
			rtpConn.Close() // its RTCP port is another process's
			bindErr = err
			continue
		} else {
			probe.Close()
		}
		p.inUse[port] = true
		return rtpConn, nil
	}
	if bindErr != nil {
		// Not all taken by us: say why the rest would not bind.
		return nil, fmt.Errorf("%w in %d-%d (%d in use here): %w", ErrNoPorts, p.first, p.last+1, len(p.inUse), bindErr)
	}
	return nil, ErrNoPorts
}

// release gives a pair back, once its sockets are closed.
func (p *portPool) release(port int) {
	if p.first == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.inUse, port)
}

func (p *portPool) listen(port int) (*net.UDPConn, error) {
	return net.ListenUDP(p.network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, uint16(port))))
}

// ephemeral lets the kernel pick an even port whose odd neighbour is free
// now (nothing holds it for later: RTCP then goes without, rarely).
func (p *portPool) ephemeral() (rtpConn *net.UDPConn, err error) {
	for range 64 {
		c, err := p.listen(0)
		if err != nil {
			return nil, fmt.Errorf("media: bind rtp on %s: %w", p.ip, err)
		}
		port := c.LocalAddr().(*net.UDPAddr).Port
		if port%2 == 0 {
			if probe, err := p.listen(port + 1); err == nil {
				probe.Close()
				return c, nil
			}
		} else if even, err := p.listen(port - 1); err == nil {
			c.Close() // the odd port is free again for even's RTCP
			return even, nil
		}
		c.Close()
	}
	return nil, ErrNoPorts
}
