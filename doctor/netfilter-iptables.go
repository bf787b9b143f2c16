package doctor

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// parseIptablesSave parses iptables-save output, with or without -c: tables (*name), chains
// (:NAME POLICY [p:b]) and rules ([p:b] -A CHAIN options).
func parseIptablesSave(backend nfBackend, text string) (*nfRuleset, error) {
	rs := &nfRuleset{Backend: backend}
	table := ""
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#':
		case line[0] == '*':
			table = line[1:]
		case line == "COMMIT":
			table = ""
		case table == "":
			return nil, fmt.Errorf("%s line %d: %q outside a table", backend, i+1, line)
		case line[0] == ':':
			rs.Chains = append(rs.Chains, parseXtChain(table, line[1:]))
		default:
			r, err := parseIptablesRule(line)
			if err != nil {
				return nil, fmt.Errorf("%s line %d: %w", backend, i+1, err)
			}
			c := rs.chain("ip", table, r.Chain)
			if c == nil {
				return nil, fmt.Errorf("%s line %d: rule in undeclared chain %s", backend, i+1, r.Chain)
			}
			r.Backend, r.Family, r.Table, r.Index = backend, "ip", table, len(c.Rules)+1
			if r.Verdict != "GOTO" && rs.chain("ip", table, r.Target) != nil {
				r.Verdict = "JUMP"
			} else if r.Verdict != "GOTO" {
				r.Target = ""
			}
			c.Rules = append(c.Rules, r)
		}
	}
	return rs, nil
}

// parseXtChain parses a chain declaration "NAME POLICY [packets:bytes]" (POLICY "-" for a user
// chain; the counter only with -c).
func parseXtChain(table, decl string) *nfChain {
	f := append(strings.Fields(decl), "")
	c := &nfChain{Family: "ip", Table: table, Name: f[0], Hook: xtHooks[f[0]]}
	if len(f) > 2 && f[1] != "-" {
		c.Policy = f[1]
	}
	if len(f) > 3 && strings.HasPrefix(f[2], "[") {
		pk, _, _ := strings.Cut(strings.Trim(f[2], "[]"), ":")
		if n, err := strconv.ParseUint(pk, 10, 64); err == nil {
			c.PolicyCounted, c.PolicyPackets = true, n
		}
	}
	return c
}

// xtToken is one word of an iptables-save rule; quoted words are never options.
type xtToken struct {
	s      string
	quoted bool
}

// tokenizeXt splits a rule as iptables-save quotes it: "…" with \" and \\ escapes.
func tokenizeXt(line string) ([]xtToken, error) {
	var out []xtToken
	var cur strings.Builder
	inWord, quoted, inQuote := false, false, false
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case inQuote && ch == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case ch == '"':
			inQuote, inWord, quoted = !inQuote, true, true
		case !inQuote && (ch == ' ' || ch == '\t'):
			if inWord {
				out = append(out, xtToken{cur.String(), quoted})
			}
			cur.Reset()
			inWord, quoted = false, false
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inQuote {
		return nil, fmt.Errorf("unterminated quote in %q", line)
	}
	if inWord {
		out = append(out, xtToken{cur.String(), quoted})
	}
	return out, nil
}

// parseIptablesRule parses "[p:b] -A CHAIN options…".
func parseIptablesRule(line string) (*nfRule, error) {
	r := &nfRule{}
	if strings.HasPrefix(line, "[") {
		counter, rest, ok := strings.Cut(line[1:], "] ")
		pk, _, ok2 := strings.Cut(counter, ":")
		n, err := strconv.ParseUint(pk, 10, 64)
		if !ok || !ok2 || err != nil {
			return nil, fmt.Errorf("bad counter in %q", line)
		}
		r.Counted, r.Packets, line = true, n, rest
	}
	toks, err := tokenizeXt(line)
	if err != nil {
		return nil, err
	}
	if len(toks) < 2 || toks[0].s != "-A" {
		return nil, fmt.Errorf("not a rule: %q", line)
	}
	r.Chain, r.Text = toks[1].s, line
	negate := false
	for i := 2; i < len(toks); i++ {
		t := toks[i]
		if t.quoted || !strings.HasPrefix(t.s, "-") {
			if t.s == "!" && !t.quoted {
				negate = true
				continue
			}
			return nil, fmt.Errorf("unexpected %q in %q", t.s, line)
		}
		var args []string
		for i+1 < len(toks) && (toks[i+1].quoted || (!strings.HasPrefix(toks[i+1].s, "-") && toks[i+1].s != "!")) {
			i++
			args = append(args, toks[i].s)
		}
		if err := r.applyXtOption(t.s, args, negate); err != nil {
			return nil, fmt.Errorf("%s in %q: %w", t.s, line, err)
		}
		negate = false
	}
	return r, nil
}

// applyXtOption records one option of an iptables rule; options netcert does not reason about
// are ignored.
func (r *nfRule) applyXtOption(opt string, args []string, negate bool) error {
	arg := ""
	if len(args) > 0 {
		arg = args[0]
	}
	var err error
	switch opt {
	case "-p", "--protocol":
		r.Protos, r.ProtoNeg = []string{strings.ToLower(arg)}, negate
	case "-s", "--source", "-d", "--destination":
		m := addrMatch{Negate: negate}
		for _, s := range strings.Split(arg, ",") {
			p, perr := parsePrefixOrAddr(s)
			if perr != nil {
				return perr
			}
			m.Prefixes = append(m.Prefixes, p)
		}
		if opt == "-s" || opt == "--source" {
			r.Src = m
		} else {
			r.Dst = m
		}
	case "--dport", "--destination-port", "--dports", "--destination-ports", "--ports":
		var m portMatch
		m.Ranges, err = parsePortList(arg, ":")
		m.Negate = negate
		r.DPorts = append(r.DPorts, m)
	case "--match-set":
		if len(args) == 2 {
			switch strings.Split(args[1], ",")[0] {
			case "src":
				r.Src = addrMatch{Set: args[0], Negate: negate}
			case "dst":
				r.Dst = addrMatch{Set: args[0], Negate: negate}
			}
		}
	case "-i", "--in-interface":
		r.InIface, r.InNeg = arg, negate
	case "--comment":
		r.Comments = append(r.Comments, arg)
	case "-j", "--jump":
		r.Verdict, r.Target = arg, arg // a user chain's name becomes a JUMP once the chains are known
	case "-g", "--goto":
		r.Verdict, r.Target = "GOTO", arg
	}
	return err
}

// parsePortList parses "8472", "8000:9000" (sep ":"), ":9000", "8000:", and comma lists of those.
func parsePortList(s, sep string) ([]portRange, error) {
	var out []portRange
	for _, item := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(item), sep)
		r := portRange{0, 65535}
		var err error
		if lo != "" {
			if r.Lo, err = parsePort(lo); err != nil {
				return nil, err
			}
		}
		if !isRange {
			r.Hi = r.Lo
		} else if hi != "" {
			if r.Hi, err = parsePort(hi); err != nil {
				return nil, err
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 65535 {
		return 0, fmt.Errorf("bad port %q", s)
	}
	return n, nil
}

// parsePrefixOrAddr parses "10.0.0.0/8" or a bare address (a host prefix).
func parsePrefixOrAddr(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p, err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
