package probe

import (
	"fmt"
	"net"
	"syscall"
)

// setDontFragment makes the kernel send conn's datagrams with DF set and never fragment them:
// a datagram larger than the path's known MTU fails to send (EMSGSIZE).
func setDontFragment(conn *net.UDPConn) error {
	return sockopt(conn, func(fd int) error {
		return syscall.SetsockoptInt(fd, syscall.IPPROTO_IP, syscall.IP_MTU_DISCOVER, syscall.IP_PMTUDISC_DO)
	})
}

// pathMTU returns the kernel's MTU for conn's destination: the route's, lowered by any ICMP
// "fragmentation needed" received since.
func pathMTU(conn *net.UDPConn) (int, error) {
	mtu := 0
	err := sockopt(conn, func(fd int) error {
		var err error
		mtu, err = syscall.GetsockoptInt(fd, syscall.IPPROTO_IP, syscall.IP_MTU)
		return err
	})
	return mtu, err
}

// sockopt runs f on conn's socket.
func sockopt(conn *net.UDPConn, f func(fd int) error) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := raw.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	if ferr != nil {
		return fmt.Errorf("socket option: %w", ferr)
	}
	return nil
}
