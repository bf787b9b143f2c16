package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// capNumbers maps the capability names of the OCI spec to their numbers
// (linux/capability.h).
var capNumbers = map[string]uint{
	"CAP_CHOWN":              0,
	"CAP_DAC_OVERRIDE":       1,
	"CAP_DAC_READ_SEARCH":    2,
	"CAP_FOWNER":             3,
	"CAP_FSETID":             4,
	"CAP_KILL":               5,
	"CAP_SETGID":             6,
	"CAP_SETUID":             7,
	"CAP_SETPCAP":            8,
	"CAP_LINUX_IMMUTABLE":    9,
	"CAP_NET_BIND_SERVICE":   10,
	"CAP_NET_BROADCAST":      11,
	"CAP_NET_ADMIN":          12,
	"CAP_NET_RAW":            13,
	"CAP_IPC_LOCK":           14,
	"CAP_IPC_OWNER":          15,
	"CAP_SYS_MODULE":         16,
	"CAP_SYS_RAWIO":          17,
	"CAP_SYS_CHROOT":         18,
	"CAP_SYS_PTRACE":         19,
	"CAP_SYS_PACCT":          20,
	"CAP_SYS_ADMIN":          21,
	"CAP_SYS_BOOT":           22,
	"CAP_SYS_NICE":           23,
	"CAP_SYS_RESOURCE":       24,
	"CAP_SYS_TIME":           25,
	"CAP_SYS_TTY_CONFIG":     26,
	"CAP_MKNOD":              27,
	"CAP_LEASE":              28,
	"CAP_AUDIT_WRITE":        29,
	"CAP_AUDIT_CONTROL":      30,
	"CAP_SETFCAP":            31,
	"CAP_MAC_OVERRIDE":       32,
	"CAP_MAC_ADMIN":          33,
	"CAP_SYSLOG":             34,
	"CAP_WAKE_ALARM":         35,
	"CAP_BLOCK_SUSPEND":      36,
	"CAP_AUDIT_READ":         37,
	"CAP_PERFMON":            38,
	"CAP_BPF":                39,
	"CAP_CHECKPOINT_RESTORE": 40,
}

// capNumber returns the number of a capability name ("CAP_SYS_ADMIN"; the
// case and the CAP_ prefix are not significant); ok is false for names
// the table does not know.
func capNumber(name string) (n uint, ok bool) {
	name = strings.ToUpper(strings.TrimSpace(name))
	if !strings.HasPrefix(name, "CAP_") {
		name = "CAP_" + name
	}
	n, ok = capNumbers[name]
	return n, ok
}

// capSet is a set of capabilities as a bit mask (bit n = capability n), the
// format of the Cap* lines of /proc/PID/status.
type capSet uint64

func (s capSet) has(n uint) bool { return n < 64 && s&(1<<n) != 0 }

// missing lists, in numeric order, the known capabilities that s lacks.
func (s capSet) missing() []string {
	var out []string
	for n := uint(0); n < 64; n++ {
		for name, num := range capNumbers {
			if num == n && !s.has(n) {
				out = append(out, name)
			}
		}
	}
	return out
}

// parseCapBnd extracts the CapBnd mask from the text of /proc/PID/status.
func parseCapBnd(status string) (capSet, error) {
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		key, value, found := strings.Cut(sc.Text(), ":")
		if !found || key != "CapBnd" {
			continue
		}
		value = strings.TrimSpace(value)
		mask, err := strconv.ParseUint(value, 16, 64)
		if err != nil {
			return 0, fmt.Errorf("bad CapBnd value %q: %w", value, err)
		}
		return capSet(mask), nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no CapBnd line")
}

// boundingSet reads the capability bounding set of the running process.
func boundingSet() (capSet, error) {
	const path = "/proc/self/status"
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("reading the capability bounding set: %w", err)
	}
	s, err := parseCapBnd(string(b))
	if err != nil {
		return 0, fmt.Errorf("reading the capability bounding set from %s: %w", path, err)
	}
	return s, nil
}
