package netfilter

import (
	"net/netip"
	"strconv"
	"strings"
)

// nftVerdicts are nft's verdict statements: what a rule, or a verdict map's element, does.
var nftVerdicts = map[string]bool{"accept": true, "drop": true, "reject": true, "return": true,
	"jump": true, "goto": true, "continue": true, "queue": true}

// parseNftRule reads a native rule: protocol (meta l4proto, ip protocol, or the header of a port
// match), destination ports (udp/tcp/th dport), source and destination addresses (ip saddr,
// ip daddr, with a netmask: ip saddr & 255.0.255.0 == 10.0.0.0), the interfaces, the
// counter, comments, the verdict, and the chains a verdict map jumps or goes to.
func parseNftRule(text string, toks []string, sets map[string]nftPorts) *Rule {
	r := &Rule{Text: text}
	next := func(i int) string {
		if i+1 < len(toks) {
			return toks[i+1]
		}
		return ""
	}
	opaque := func(from, to int) {
		r.Opaque = append(r.Opaque, nftJoin(toks[from:min(to+1, len(toks))]))
	}
	for i := 0; i < len(toks); i++ {
		switch t := toks[i]; {
		case (t == "meta" && next(i) == "l4proto") || (t == "ip" && next(i) == "protocol"):
			if vals, _, neg, last, ok := nftExpr(toks, i+2); ok {
				r.Protos, r.ProtoNeg, i = vals, neg, last
			}
		case t == "ip" && (next(i) == "saddr" || next(i) == "daddr"):
			m, last, ok := nftAddrMatch(toks, i+2)
			switch {
			case !ok:
				opaque(i, last) // the match counts as any address
			case m != nil && next(i) == "saddr":
				r.Src = *m
			case m != nil:
				r.Dst = *m
			}
			i = last
		case (t == "udp" || t == "tcp" || t == "sctp" || t == "dccp" || t == "udplite" || t == "th") && next(i) == "dport":
			vals, set, neg, last, ok := nftExpr(toks, i+2)
			if !ok {
				continue // a key of a concatenation or map: no port match netcert reads
			}
			m := nftPortValues(vals)
			if set != "" {
				m = sets[set]
			}
			if m.ok {
				r.DPorts = append(r.DPorts, PortMatch{Ranges: m.ranges, Negate: neg})
			} else {
				opaque(i, last) // the match counts as any port
			}
			if t != "th" {
				r.Protos, r.ProtoNeg = []string{t}, false
			}
			i = last
		case (t == "iifname" || t == "oifname") && next(i) != "":
			vals, _, neg, last, ok := nftExpr(toks, i+1)
			if ok && len(vals) == 1 && t == "iifname" {
				r.InIface, r.InNeg = strings.Trim(vals[0], `"`), neg
			} else if ok && len(vals) == 1 {
				r.OutIface, r.OutNeg = strings.Trim(vals[0], `"`), neg
			}
			i = last
		case t == "counter" && next(i) == "packets":
			if n, err := strconv.ParseUint(next(i+1), 10, 64); err == nil {
				r.Counted, r.Packets = true, n
			}
		case t == "comment" && next(i) != "":
			r.Comments = append(r.Comments, strings.Trim(next(i), `"`))
			i++
		case t == "vmap":
			i = r.readVerdictMap(toks, i)
		case t == "{": // a map's or a concatenation's set: nothing netcert reads
			for depth := 0; i < len(toks); i++ {
				if depth += nftDepth(toks[i : i+1]); depth == 0 {
					break
				}
			}
		case t == "accept" || t == "drop" || t == "reject" || t == "return":
			r.Verdict = strings.ToUpper(t)
		case (t == "jump" || t == "goto") && next(i) != "":
			r.Verdict, r.Target = strings.ToUpper(t), next(i)
			i++
		case t == "queue": // the verdict is userspace's
			last := i
			for last+1 < len(toks) && toks[last+1] != "comment" {
				last++
			}
			opaque(i, last)
			i = last
		}
	}
	return r
}

// nftAddrMatch reads an address match's right-hand side at toks[i]: addresses, prefixes, ranges
// (restricted, not listed), a named set, or "& MASK == ADDR". ok is false for what it cannot
// read; m is nil for no match (the selector is a key of a concatenation or map, or is set).
func nftAddrMatch(toks []string, i int) (m *AddrMatch, last int, ok bool) {
	at := i
	masked := i+1 < len(toks) && toks[i] == "&"
	if masked {
		at += 2
	}
	vals, set, neg, last, isMatch := nftExpr(toks, at)
	if !isMatch || (masked && len(vals) == 0) {
		return nil, last, !masked
	}
	m = &AddrMatch{Set: set, Negate: neg}
	for _, v := range vals {
		if masked {
			v += "/" + toks[i+1]
		}
		if m.add(v) == nil {
			continue
		}
		lo, hi, isRange := strings.Cut(v, "-")
		if _, err := netip.ParseAddr(lo); err != nil || !isRange || masked {
			return nil, last, false
		}
		if _, err := netip.ParseAddr(hi); err != nil {
			return nil, last, false
		}
		m.Set = v // a range: restricted, not listed
	}
	return m, last, true
}

// readVerdictMap reads "vmap { key : verdict, … }" or "vmap @name" at toks[i] and returns the
// index of its last word. The chains its elements jump or go to are the rule's MapTargets; a
// verdict map netcert cannot follow (a named one, or one that accepts, drops, rejects, returns or
// queues) is opaque.
func (r *Rule) readVerdictMap(toks []string, i int) int {
	from := i
	if i+1 >= len(toks) || toks[i+1] != "{" {
		last := min(i+1, len(toks)-1)
		r.Opaque = append(r.Opaque, nftJoin(toks[from:last+1]))
		return last
	}
	follows := true
	for i += 2; i < len(toks) && toks[i] != "}"; i++ {
		switch {
		case (toks[i] == "jump" || toks[i] == "goto") && i+1 < len(toks):
			r.MapTargets = append(r.MapTargets, toks[i+1])
			i++
		case nftVerdicts[toks[i]]:
			follows = false
		}
	}
	if !follows {
		r.Opaque = append(r.Opaque, nftJoin(toks[from:min(i+1, len(toks))]))
	}
	return i
}

// nftExpr reads the right-hand side of a match at toks[i]: an optional "!=" or "==", then a
// value, an anonymous set { a, b } or a named set @name. It returns the values, the set's name,
// whether it is negated, and the index of its last word. ok is false when what follows is no
// comparison (a concatenation "a . b", a map or verdict map lookup, a "set" statement): the
// selector is a key or is written.
func nftExpr(toks []string, i int) (values []string, set string, negate bool, last int, ok bool) {
	if i < len(toks) && (toks[i] == "!=" || toks[i] == "==") {
		negate = toks[i] == "!="
		i++
	}
	switch {
	case i >= len(toks):
		return nil, "", negate, i - 1, false
	case toks[i] == "." || toks[i] == "map" || toks[i] == "vmap" || toks[i] == "set":
		return nil, "", negate, i - 1, false
	case toks[i] == "{":
		for i++; i < len(toks) && toks[i] != "}"; i++ {
			if toks[i] != "," {
				values = append(values, toks[i])
			}
		}
		return values, "", negate, i, true
	case strings.HasPrefix(toks[i], "@"):
		return nil, toks[i][1:], negate, i, true
	}
	return []string{toks[i]}, "", negate, i, true
}
