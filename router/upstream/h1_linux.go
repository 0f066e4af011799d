package upstream

import (
	"net"
	"syscall"
)

// alive reports whether an idle connection is still open: a peek that does
// not wait finds nothing to read. A server that closed it (its keep-alive
// timeout) left an end of file; one that sent bytes unasked is out of step.
func alive(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := false
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		open = rerr == syscall.EAGAIN
		return true
	})
	return open && err == nil
}
