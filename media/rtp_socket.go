package media

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"unsafe"
)

// datagramBufs lends datagram buffers to readers while a packet is in
// hand and to WritePayload while it builds one.
var datagramBufs = sync.Pool{New: func() any { return new([maxDatagram]byte) }}

var errAddrFamily = errors.New("media: destination address family does not match the socket")

// rtpSocket is an endpoint's RTP socket, read and written through its
// raw descriptor (syscall.RawConn) rather than net.UDPConn's methods. The
// runtime's poller still does the waiting, and the descriptor cannot be
// closed under a read or a write; what changes is what each endpoint
// costs:
//
//   - a reader borrows a buffer from datagramBufs only once a datagram is
//     waiting and gives it back when the packet is handled, so a reader
//     parked between packets holds none: buffers are counted per packet
//     in hand, not per endpoint;
//   - the call chain from the reader through the relay to sendto is about
//     half as deep as net's chain of wrappers, which alone outgrows the
//     2 KB stack a goroutine starts with and would double every reader's
//     stack for good (a stack shrinks back only while nearly empty, and a
//     parked reader's never is).
type rtpSocket struct {
	conn *net.UDPConn
	raw  syscall.RawConn
	// v6 is an AF_INET6 socket (dual stack when bound to ::): IPv4
	// destinations go to it as IPv4-mapped addresses.
	v6 bool
}

func newRTPSocket(c *net.UDPConn) (rtpSocket, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return rtpSocket{}, err
	}
	return rtpSocket{conn: c, raw: raw, v6: c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Is6()}, nil
}

// socketReader is a reader goroutine's state around RawConn.Read: read is
// made once, so waiting for each packet allocates nothing.
type socketReader struct {
	read  func(fd uintptr) bool
	buf   *[maxDatagram]byte // borrowed while a datagram is in hand, else nil
	n     int
	from  netip.AddrPort
	errno syscall.Errno
}

func newSocketReader() *socketReader {
	r := &socketReader{}
	r.read = r.recv
	return r
}

// next waits for the next datagram on s and returns it, with where it came
// from; release must be called once it has been handled. err is non-nil
// when the socket is closed or the read failed.
func (r *socketReader) next(s *rtpSocket) (pkt []byte, from netip.AddrPort, err error) {
	r.errno = 0
	if err := s.raw.Read(r.read); err != nil {
		return nil, netip.AddrPort{}, err
	}
	if r.errno != 0 {
		return nil, netip.AddrPort{}, r.errno
	}
	return r.buf[:r.n], r.from, nil
}

// release gives the buffer of the last datagram back.
func (r *socketReader) release() {
	if r.buf != nil {
		datagramBufs.Put(r.buf)
		r.buf = nil
	}
}

// recv is one non-blocking recvfrom, called by the poller when the socket
// may be readable; false asks it to wait for readability and call again.
func (r *socketReader) recv(fd uintptr) bool {
	buf := datagramBufs.Get().(*[maxDatagram]byte)
	var sa syscall.RawSockaddrInet6 // room for either family
	for {
		salen := uint32(unsafe.Sizeof(sa))
		n, _, errno := syscall.Syscall6(syscall.SYS_RECVFROM, fd,
			uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0,
			uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&salen)))
		switch errno {
		case 0:
			r.buf, r.n, r.from = buf, int(n), sockaddrAddrPort(&sa)
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			datagramBufs.Put(buf)
			return false
		default:
			datagramBufs.Put(buf)
			r.errno = errno
			return true
		}
	}
}

// sockaddrAddrPort reads the source address recvfrom filled in. The
// family and port fields sit at the same place in both families on every
// Unix, whatever the width of the family field.
func sockaddrAddrPort(sa *syscall.RawSockaddrInet6) netip.AddrPort {
	port := *(*[2]byte)(unsafe.Pointer(&sa.Port))
	p := uint16(port[0])<<8 | uint16(port[1])
	switch sa.Family {
	case syscall.AF_INET:
		sa4 := (*syscall.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), p)
	case syscall.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), p)
	}
	return netip.AddrPort{}
}

// socketWriter is an endpoint's state around RawConn.Write. It is guarded
// by the endpoint's wmu, which also keeps packets leaving in the order
// they were numbered.
type socketWriter struct {
	send func(fd uintptr) bool
	pkt  []byte
	to   syscall.Sockaddr
	sa4  syscall.SockaddrInet4
	sa6  syscall.SockaddrInet6
	err  syscall.Errno
}

func (w *socketWriter) init() { w.send = w.sendto }

// write sends pkt to dst on s, waiting while the socket's send buffer is
// full, as net.UDPConn would.
func (w *socketWriter) write(s *rtpSocket, pkt []byte, dst netip.AddrPort) error {
	switch a := dst.Addr(); {
	case a.Is4() && !s.v6:
		w.sa4.Addr, w.sa4.Port, w.to = a.As4(), int(dst.Port()), &w.sa4
	case s.v6:
		w.sa6.Addr, w.sa6.Port, w.to = a.As16(), int(dst.Port()), &w.sa6
	default:
		return errAddrFamily
	}
	w.pkt, w.err = pkt, 0
	err := s.raw.Write(w.send)
	w.pkt, w.to = nil, nil
	if err != nil {
		return err
	}
	if w.err != 0 {
		return w.err
	}
	return nil
}

// sendto is one non-blocking sendto, called by the poller; false asks it
// to wait until the socket is writable and call again.
func (w *socketWriter) sendto(fd uintptr) bool {
	for {
		switch err := syscall.Sendto(int(fd), w.pkt, 0, w.to); err {
		case nil:
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		default:
			w.err = syscall.EINVAL // what else the socket address can be refused with
			if errno, ok := err.(syscall.Errno); ok {
				w.err = errno
			}
			return true
		}
	}
}
