package netfilter

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseIptablesSave parses iptables-save output, with or without -c: tables (*name), chains
// (:NAME POLICY [p:b]) and rules ([p:b] -A CHAIN options). What it cannot read of a rule is kept
// in the rule's Opaque; only lines that iptables-save does not print are errors.
func ParseIptablesSave(backend Backend, text string) (*Ruleset, error) {
	rs := &Ruleset{Backend: backend}
	table := ""
	isChain := func(name string) bool { return rs.Chain("ip", table, name) != nil }
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		line, n := strings.TrimSpace(lines[i]), i+1
		switch {
		case line == "" || line[0] == '#':
		case line[0] == '*':
			table = line[1:]
		case line == "COMMIT":
			table = ""
		case table == "":
			return nil, fmt.Errorf("%s line %d: %q outside a table", backend, n, line)
		case line[0] == ':':
			rs.addChain(parseXtChain(table, line[1:]))
		default:
			if xtQuoteOpen(line, false) { // a quoted word (a comment) with a newline in it
				line, i = joinQuotedLines(line, lines, i)
			}
			r, err := parseIptablesRule(line, isChain)
			if err != nil {
				return nil, fmt.Errorf("%s line %d: %w", backend, n, err)
			}
			c := rs.Chain("ip", table, r.Chain)
			if c == nil {
				return nil, fmt.Errorf("%s line %d: rule in undeclared chain %s", backend, n, r.Chain)
			}
			r.Backend, r.Family, r.Table, r.Index = backend, "ip", table, len(c.Rules)+1
			c.Rules = append(c.Rules, r)
		}
	}
	return rs, nil
}

// joinQuotedLines continues line, whose quote lines[i] left open, over the lines after it until
// the quote closes; it returns the joined rule and the index of its last line, or line and i
// when no line closes the quote.
func joinQuotedLines(line string, lines []string, i int) (string, int) {
	var b strings.Builder
	b.WriteString(line)
	for j := i + 1; j < len(lines); j++ {
		b.WriteByte('\n')
		b.WriteString(strings.TrimRight(lines[j], "\r"))
		if !xtQuoteOpen(lines[j], true) {
			return strings.TrimSpace(b.String()), j
		}
	}
	return line, i
}

// xtQuoteOpen reports whether a quote is open at the end of s, given whether one was at its start.
func xtQuoteOpen(s string, open bool) bool {
	for i := 0; i < len(s); i++ {
		switch {
		case open && s[i] == '\\':
			i++
		case s[i] == '"':
			open = !open
		}
	}
	return open
}

// xtHooks are the hooks of the iptables built-in chains.
var xtHooks = map[string]string{"PREROUTING": "prerouting", "INPUT": "input", "FORWARD": "forward",
	"OUTPUT": "output", "POSTROUTING": "postrouting"}

// parseXtChain parses a chain declaration "NAME POLICY [packets:bytes]" (POLICY "-" for a user
// chain; the counter only with -c).
func parseXtChain(table, decl string) *Chain {
	f := append(strings.Fields(decl), "")
	c := &Chain{Family: "ip", Table: table, Name: f[0], Hook: xtHooks[f[0]]}
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

// xtToken is one word of an iptables-save rule and where it is in the rule; quoted words are
// never options.
type xtToken struct {
	s          string
	quoted     bool
	start, end int
}

// tokenizeXt splits a rule as iptables-save quotes it: "…" with \" and \\ escapes.
func tokenizeXt(line string) ([]xtToken, error) {
	out := make([]xtToken, 0, strings.Count(line, " ")+1)
	var cur strings.Builder // a quoted word's text
	inWord, quoted, inQuote, start := false, false, false, 0
	word := func(end int) xtToken {
		t := xtToken{line[start:end], quoted, start, end}
		if quoted {
			t.s = cur.String()
			cur.Reset()
		}
		return t
	}
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case !inQuote && (ch == ' ' || ch == '\t'):
			if inWord {
				out = append(out, word(i))
			}
			inWord, quoted = false, false
			continue
		case !inWord:
			inWord, start = true, i
		}
		switch {
		case inQuote && ch == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case ch == '"':
			if !quoted {
				cur.WriteString(line[start:i]) // the word's text before its quote
			}
			inQuote, quoted = !inQuote, true
		case quoted:
			cur.WriteByte(ch)
		}
	}
	if inQuote {
		return nil, fmt.Errorf("unterminated quote in %q", line)
	}
	if inWord {
		out = append(out, word(len(line)))
	}
	return out, nil
}

// IptablesDNATTarget returns the --to-destination of an iptables DNAT rule's text.
func IptablesDNATTarget(text string) string {
	toks, err := tokenizeXt(text)
	if err != nil {
		return ""
	}
	for i := 0; i+1 < len(toks); i++ {
		if toks[i].s == "--to-destination" {
			return toks[i+1].s
		}
	}
	return ""
}

// xtKnownMatches are the match extensions netcert knows: those whose options it reads, and those
// of a fixed meaning it leaves aside (connection state, marks, rates, …: they only narrow what a
// rule sees). Programmable matches (bpf, u32, string) and any other extension are opaque.
var xtKnownMatches = map[string]bool{
	"udp": true, "tcp": true, "sctp": true, "dccp": true, "udplite": true, "icmp": true, "icmp6": true,
	"multiport": true, "comment": true, "set": true, "conntrack": true, "state": true, "mark": true,
	"connmark": true, "connlabel": true, "addrtype": true, "statistic": true, "limit": true, "hashlimit": true,
	"pkttype": true, "physdev": true, "mac": true, "owner": true, "rpfilter": true, "nfacct": true,
	"recent": true, "length": true, "iprange": true, "ttl": true, "hl": true, "tcpmss": true, "socket": true,
	"policy": true, "devgroup": true, "ipvs": true, "connlimit": true, "connbytes": true, "helper": true,
	"dscp": true, "tos": true, "ecn": true, "cgroup": true, "time": true, "quota": true, "cluster": true,
	"cpu": true, "realm": true, "ah": true, "esp": true, "frag": true, "hbh": true, "rt": true, "mh": true,
	"ipv6header": true, "rateest": true,
}

// xtKnownTargets are the targets netcert knows besides user chains: the verdicts, and targets
// that change or log a packet but never discard it. Any other (NFQUEUE, TPROXY, SYNPROXY, …) is
// opaque.
var xtKnownTargets = map[string]bool{
	"ACCEPT": true, "DROP": true, "REJECT": true, "RETURN": true, "LOG": true, "NFLOG": true, "ULOG": true,
	"TRACE": true, "AUDIT": true, "MARK": true, "CONNMARK": true, "SECMARK": true, "CONNSECMARK": true,
	"CLASSIFY": true, "DSCP": true, "TOS": true, "TTL": true, "HL": true, "TCPMSS": true, "TCPOPTSTRIP": true,
	"CHECKSUM": true, "CT": true, "NOTRACK": true, "SET": true, "MASQUERADE": true, "SNAT": true,
	"DNAT": true, "REDIRECT": true, "NETMAP": true, "IDLETIMER": true, "LED": true, "RATEEST": true,
	"HMARK": true, "TEE": true,
}

// parseIptablesRule parses "[p:b] -A CHAIN options…"; isChain tells the table's chains (the
// targets a rule jumps to) from other targets.
func parseIptablesRule(line string, isChain func(string) bool) (*Rule, error) {
	r := &Rule{}
	if strings.HasPrefix(line, "[") {
		counter, rest, ok := strings.Cut(line[1:], "] ")
		pk, _, ok2 := strings.Cut(counter, ":")
		n, err := strconv.ParseUint(pk, 10, 64)
		if !ok || !ok2 || err != nil {
			return nil, fmt.Errorf("bad counter in %q", line)
		}
		r.Counted, r.Packets, line = true, n, strings.TrimSpace(rest)
	}
	toks, err := tokenizeXt(line)
	if err != nil {
		return nil, err
	}
	if len(toks) < 2 || toks[0].s != "-A" || toks[0].quoted {
		return nil, fmt.Errorf("not a rule: %q", line)
	}
	r.Chain, r.Text = toks[1].s, line
	// The options come in sections: the built-in ones, each -m match's, the target's. The section
	// of an extension netcert does not know is kept whole as one opaque part.
	unknown := -1 // where the section of an unknown extension starts, while in one
	endUnknown := func(end int) {
		if unknown >= 0 {
			r.Opaque = append(r.Opaque, strings.TrimSpace(line[unknown:end]))
			unknown = -1
		}
	}
	negate, from := false, 0 // a "!" before the option, and where the option starts with it
	for i := 2; i < len(toks); i++ {
		t := toks[i]
		if !negate {
			from = t.start
		}
		switch {
		case t.s == "!" && !t.quoted:
			negate = true
			continue
		case t.quoted || !strings.HasPrefix(t.s, "-"):
			if unknown < 0 {
				r.Opaque = append(r.Opaque, line[from:t.end]) // a word of no option
			}
			negate = false
			continue
		}
		var args []string
		for i+1 < len(toks) && (toks[i+1].quoted || (!strings.HasPrefix(toks[i+1].s, "-") && toks[i+1].s != "!")) {
			i++
			args = append(args, toks[i].s)
		}
		switch t.s {
		case "-m", "--match", "-j", "--jump", "-g", "--goto":
			endUnknown(from)
		}
		if unknown < 0 {
			known, err := r.applyXtOption(t.s, args, negate, isChain)
			switch {
			case !known:
				unknown = from
			case err != nil:
				r.Opaque = append(r.Opaque, line[from:toks[i].end])
			}
		}
		negate = false
	}
	if negate && unknown < 0 {
		r.Opaque = append(r.Opaque, line[from:]) // a "!" at the end
	}
	endUnknown(len(line))
	return r, nil
}

// applyXtOption records one option of an iptables rule. It reports whether netcert knows the
// extension an -m, -j or -g option names (other options are known), and an error for a value it
// cannot read: the rule then matches as if the option were not there. Options netcert does not
// reason about are left aside.
func (r *Rule) applyXtOption(opt string, args []string, negate bool, isChain func(string) bool) (known bool, err error) {
	arg := ""
	if len(args) > 0 {
		arg = args[0]
	}
	switch opt {
	case "-m", "--match":
		return xtKnownMatches[arg], nil
	case "-j", "--jump":
		r.Verdict = arg
		if isChain != nil && isChain(arg) {
			r.Verdict, r.Target = "JUMP", arg
		}
		return r.Verdict == "JUMP" || xtKnownTargets[arg], nil
	case "-g", "--goto":
		r.Verdict, r.Target = "GOTO", arg
		return isChain != nil && isChain(arg), nil
	}
	if len(args) == 0 {
		return true, nil // a flag: no option netcert reads
	}
	switch opt {
	case "-p", "--protocol":
		if p := strings.ToLower(arg); p != "all" && p != "0" { // all: any protocol
			r.Protos, r.ProtoNeg = []string{p}, negate
		}
	case "-s", "--source", "-d", "--destination":
		m := AddrMatch{Negate: negate}
		for _, s := range strings.Split(arg, ",") {
			if err := m.add(s); err != nil {
				return true, err
			}
		}
		if opt == "-s" || opt == "--source" {
			r.Src = m
		} else {
			r.Dst = m
		}
	case "--dport", "--destination-port", "--dports", "--destination-ports", "--ports":
		ranges, err := parsePortList(arg, ":")
		if err != nil {
			return true, err
		}
		r.DPorts = append(r.DPorts, PortMatch{Ranges: ranges, Negate: negate})
	case "--match-set":
		if len(args) != 2 {
			return true, fmt.Errorf("--match-set needs a set and flags")
		}
		switch strings.Split(args[1], ",")[0] {
		case "src":
			r.Src = AddrMatch{Set: args[0], Negate: negate}
		case "dst":
			r.Dst = AddrMatch{Set: args[0], Negate: negate}
		}
	case "-i", "--in-interface":
		r.InIface, r.InNeg = arg, negate
	case "-o", "--out-interface":
		r.OutIface, r.OutNeg = arg, negate
	case "--comment":
		r.Comments = append(r.Comments, arg)
	case "-c", "--set-counters":
		n, err := strconv.ParseUint(arg, 10, 64)
		if err != nil {
			return true, err
		}
		r.Counted, r.Packets = true, n
	}
	return true, nil
}
