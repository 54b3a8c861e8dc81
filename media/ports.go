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

// ports hands out RTP/RTCP socket pairs: an even RTP port and the odd port
// above it, from a range, rotating so a port just freed is not reused at
// once (late packets of an old call would land in a new one).
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

// open binds a pair. With no range (min 0) the kernel picks the RTP port.
func (p *ports) open() (rtp, rtcp *net.UDPConn, err error) {
	if p.min == 0 {
		for i := 0; i < 20; i++ {
			rtp, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, 0)))
			if err != nil {
				return nil, nil, fmt.Errorf("media: bind rtp: %w", err)
			}
			port := rtp.LocalAddr().(*net.UDPAddr).Port
			if port%2 == 0 && port < 65535 {
				if rtcp, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, uint16(port+1)))); err == nil {
					return rtp, rtcp, nil
				}
			}
			rtp.Close()
		}
		return nil, nil, ErrNoPorts
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
		rtcp, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, uint16(port+1))))
		if err != nil {
			rtp.Close()
			continue
		}
		p.used[port] = true
		return rtp, rtcp, nil
	}
	return nil, nil, ErrNoPorts
}

func (p *ports) release(port int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.used, port)
}
