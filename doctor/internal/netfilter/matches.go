package netfilter

// Unconditional reports whether the rule matches every packet: it has no match, only comments,
// counters, a log statement and its verdict or target (`-j DROP`, `counter drop`, `reject with
// icmpx admin-prohibited`). A part netcert does not know counts as a match.
func (r *Rule) Unconditional() bool {
	if r.Policy {
		return true
	}
	if r.Backend == Native {
		return nftUnconditional(tokenizeNft(r.Text))
	}
	toks, err := tokenizeXt(r.Text)
	if err != nil || len(toks) < 2 {
		return false
	}
	for i := 2; i < len(toks); i++ {
		switch t := toks[i]; {
		case t.quoted:
			return false
		case (t.s == "-m" || t.s == "--match") && i+1 < len(toks) && toks[i+1].s == "comment":
			i++
		case t.s == "--comment" && i+1 < len(toks):
			i++
		case t.s == "-j" || t.s == "--jump" || t.s == "-g" || t.s == "--goto":
			return true // what follows are the target's own options
		default:
			return false
		}
	}
	return true
}

// nftLogOptions are the options of nft's log statement that take one value.
var nftLogOptions = map[string]bool{"prefix": true, "level": true, "group": true, "snaplen": true, "queue-threshold": true}

func nftUnconditional(toks []string) bool {
	next := func(i int) string {
		if i+1 < len(toks) {
			return toks[i+1]
		}
		return ""
	}
	for i := 0; i < len(toks); i++ {
		switch t := toks[i]; {
		case t == "counter":
			if next(i) == "packets" && i+4 < len(toks) && toks[i+3] == "bytes" {
				i += 4
			}
		case t == "comment" && next(i) != "":
			i++
		case t == "log":
			for nftLogOptions[next(i)] && i+2 < len(toks) {
				i += 2
			}
		case t == "reject":
			return true // the rest says how it rejects
		case t == "accept" || t == "drop" || t == "return" || t == "continue":
		case (t == "jump" || t == "goto") && next(i) != "":
			i++
		default:
			return false
		}
	}
	return true
}

// MatchesMark reports whether the rule matches the packet's mark (`-m mark --mark 0x10000/0x10000`,
// `meta mark & 0x00010000 == 0x00010000`), as Calico accepts what its policy chains marked.
func (r *Rule) MatchesMark() bool {
	if r.Backend == Native {
		toks := tokenizeNft(r.Text)
		for i := 1; i+1 < len(toks); i++ {
			if toks[i] == "mark" && toks[i-1] == "meta" && toks[i+1] != "set" {
				return true
			}
		}
		return false
	}
	toks, err := tokenizeXt(r.Text)
	if err != nil {
		return false
	}
	for i := 0; i+1 < len(toks); i++ {
		if (toks[i].s == "-m" || toks[i].s == "--match") && !toks[i].quoted && toks[i+1].s == "mark" {
			return true
		}
	}
	return false
}
