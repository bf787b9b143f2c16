//go:build !linux

package probe

import (
	"errors"
	"net"
)

var errNoPMTU = errors.New("DF datagrams need Linux")

func setDontFragment(*net.UDPConn) error { return errNoPMTU }

func pathMTU(*net.UDPConn) (int, error) { return 0, errNoPMTU }
