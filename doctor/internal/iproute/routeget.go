package iproute

import (
	"net/netip"
	"strings"
)

// Flow is a packet the kernel is asked about: from Src, arriving on interface Iif, to Dst.
type Flow struct {
	Dst, Src netip.Addr
	Iif      string
}

// routeGetScript asks the kernel, for each flow given as arguments in threes (DST SRC IIF), the
// input route lookup a packet from SRC arriving on IIF gets (`ip -j route get DST from SRC iif
// IIF`, reverse-path validation included); when it refuses, also the output lookup of the route
// back to SRC. Each answer (iproute2's JSON line, or its error line) follows a header line:
// "input DST SRC IIF" or "output SRC". It reads and changes nothing else.
const routeGetScript = `while [ $# -ge 3 ]; do
  echo "input $1 $2 $3"
  if ! ip -j route get "$1" from "$2" iif "$3" 2>&1; then
    echo "output $2"
    ip -j route get "$2" 2>&1
  fi
  shift 3
done
exit 0`

// RouteGetArgv is the one command that asks the kernel about every flow; its output is what
// ParseRouteGet reads. The flows are arguments of the script, never parsed by the shell.
func RouteGetArgv(flows []Flow) []string {
	argv := []string{"sh", "-c", routeGetScript, "netcert-route-get"}
	for _, f := range flows {
		argv = append(argv, f.Dst.String(), f.Src.String(), f.Iif)
	}
	return argv
}

// RouteGet is the kernel's answer about one flow.
type RouteGet struct {
	Flow
	Input Answer // the input lookup of the flow
	Back  Answer // the output lookup of the route back to Src; asked only when Input is refused
}

// Answer is one lookup's result: the route the kernel chose, or its error line
// ("RTNETLINK answers: Invalid argument").
type Answer struct {
	Route *Route
	Err   string
	Asked bool
}

// Refused reports whether the lookup was asked and gave no route.
func (a Answer) Refused() bool { return a.Asked && a.Route == nil }

// ParseRouteGet parses the output of RouteGetArgv's command, flow by flow in order. A block it
// cannot read (a header without valid addresses) is left out; an answer that is neither a route
// nor empty is kept as the error text.
func ParseRouteGet(out []byte) []RouteGet {
	var gets []RouteGet
	var body []string
	part := "" // the answer being read: "input", "output" or none
	flush := func() {
		if part == "" {
			return
		}
		a := &gets[len(gets)-1].Input
		if part == "output" {
			a = &gets[len(gets)-1].Back
		}
		*a = parseAnswer(strings.TrimSpace(strings.Join(body, "\n")))
		part, body = "", nil
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 4 && f[0] == "input":
			flush()
			dst, err1 := netip.ParseAddr(f[1])
			src, err2 := netip.ParseAddr(f[2])
			if err1 != nil || err2 != nil {
				continue
			}
			gets = append(gets, RouteGet{Flow: Flow{Dst: dst, Src: src, Iif: f[3]}})
			part = "input"
		case len(f) == 2 && f[0] == "output" && part == "input":
			flush()
			part = "output"
		case part != "":
			body = append(body, line)
		}
	}
	flush()
	return gets
}

// parseAnswer reads one lookup's output: a route, or the error text.
func parseAnswer(text string) Answer {
	a := Answer{Asked: true, Err: text}
	if strings.HasPrefix(text, "[") {
		if routes, err := ParseRoute([]byte(text)); err == nil && len(routes) > 0 {
			a.Route, a.Err = &routes[0], ""
		}
	}
	if a.Route == nil && a.Err == "" {
		a.Err = "no answer"
	}
	return a
}
