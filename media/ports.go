package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
)

// ErrNoPorts is returned when every RTP port pair of the range is taken.
var ErrNoPorts = errors.New("media: no free RTP ports")

// ports hands out RTP sockets on even ports, from a range, rotating so a
// port just freed is not reused at once (late packets of an old call would
// land in a new one). The odd port above each is left for RTCP, which an
// endpoint opens only once media flows: a call that carries no RTP then
// costs one socket per leg, not two, and the file-descriptor limit stretches
// twice as far.
type ports struct {
	ip       netip.Addr
	min, max int
	mu       sync.Mutex
	next     int
	used     map[int]bool
}

func newPorts(ip netip.Addr, min, max int) *ports {
	if min%2 != 0 {
		min++
	}
	return &ports{ip: ip, min: min, max: max, next: min, used: map[int]bool{}}
}

// open binds an RTP socket. With no range (min 0) the kernel picks an even
// port.
func (p *ports) open() (rtp *net.UDPConn, err error) {
	if p.min == 0 {
		var odd []*net.UDPConn
		defer func() {
			for _, c := range odd {
				c.Close()
			}
		}()
		for i := 0; i < 20; i++ {
			rtp, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, 0)))
			if err != nil {
				return nil, fmt.Errorf("media: bind rtp: %w", err)
			}
			if port := rtp.LocalAddr().(*net.UDPAddr).Port; port%2 == 0 && port < 65535 {
				return rtp, nil
			}
			odd = append(odd, rtp) // held until an even port comes, so it is not offered again
		}
		return nil, ErrNoPorts
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n := (p.max - p.min + 1) / 2
	for i := 0; i < n; i++ {
		port := p.next
		p.next += 2
		if p.next+1 > p.max {
			p.next = p.min
		}
		if p.used[port] {
			continue
		}
		rtp, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, uint16(port))))
		if err != nil {
			continue
		}
		p.used[port] = true
		return rtp, nil
	}
	return nil, ErrNoPorts
}

func (p *ports) release(port int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.used, port)
}
