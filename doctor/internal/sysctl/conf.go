package sysctl

import (
	"strconv"
	"strings"
)

// confDir holds the per-interface IPv4 settings, one folder per interface plus all and default.
const confDir = "/proc/sys/net/ipv4/conf/"

// ConfArgv returns the command that prints the live value of net.ipv4.conf.<iface>.<name> of
// every interface (and of all and default) as "/proc/sys/net/ipv4/conf/IFACE/NAME:VALUE" lines;
// an interface that vanishes while it runs is left out.
func ConfArgv(name string) []string {
	return []string{"sh", "-c", `grep -sH . ` + confDir + `*/"$1"; exit 0`, "netcert-sysctl", name}
}

// ParseConf parses ConfArgv(name)'s output into each interface's value ("all" and "default"
// included); lines of other settings and values that are not integers are left out.
func ParseConf(out, name string) map[string]int {
	values := map[string]int{}
	for _, line := range strings.Split(out, "\n") {
		file, value, ok := strings.Cut(line, ":")
		iface, rest, ok2 := strings.Cut(strings.TrimPrefix(file, confDir), "/")
		if !ok || !ok2 || !strings.HasPrefix(file, confDir) || rest != name || iface == "" {
			continue
		}
		if v, err := strconv.Atoi(strings.TrimSpace(value)); err == nil {
			values[iface] = v
		}
	}
	return values
}

// ConfKey is the dotted key of an interface's setting as ParseGrep gives persisted keys
// (net.ipv4.conf.flannel.1.rp_filter: the dots of the interface name kept).
func ConfKey(iface, name string) string { return "net.ipv4.conf." + iface + "." + name }

// ConfPath is the key in the form sysctl -w and sysctl.d files read without touching the dots of
// an interface name (net/ipv4/conf/flannel.1/rp_filter).
func ConfPath(iface, name string) string { return "net/ipv4/conf/" + iface + "/" + name }
