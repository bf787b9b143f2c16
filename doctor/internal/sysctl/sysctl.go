// Package sysctl reads the sysctl values a node persists: its drop-in files and /etc/sysctl.conf,
// and which assignment of a key wins at boot; and the live per-interface IPv4 settings.
package sysctl

import (
	"path"
	"sort"
	"strings"
)

// Dirs are the drop-in directories that systemd-sysctl and `sysctl --system` read, highest
// priority first: a file name in an earlier directory hides the same name in later ones.
var Dirs = []string{"/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d"}

// Conf is read after every drop-in.
const Conf = "/etc/sysctl.conf"

// PersistedGrep returns the command that prints, as "file:line", every line mentioning
// pattern in the persisted sysctl files that exist on the node (exit 1: none).
func PersistedGrep(pattern string) []string {
	script := `set --; for p in ` + Conf + " " + strings.Join(Dirs, " ") + `; do
  [ -e "$p" ] && set -- "$@" "$p"; done
[ $# -gt 0 ] || exit 1
exec grep -rH "` + pattern + `" "$@"`
	return []string{"sh", "-c", script}
}

// Assignment is one `key = value` line of a persisted sysctl file.
type Assignment struct {
	File, Key, Value string
}

// ParseGrep parses `grep -rH KEY DIRS...` output ("file:line" per match) into the
// assignments of .conf drop-ins and /etc/sysctl.conf, with keys normalised to dotted form.
func ParseGrep(out string) []Assignment {
	var list []Assignment
	for _, line := range strings.Split(out, "\n") {
		file, text, ok := strings.Cut(line, ":")
		if !ok || (file != Conf && !strings.HasSuffix(file, ".conf")) {
			continue
		}
		text = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(text), "-")) // "-key = v": ignore errors
		if text == "" || text[0] == '#' || text[0] == ';' {
			continue
		}
		key, value, ok := strings.Cut(text, "=")
		if !ok {
			continue
		}
		list = append(list, Assignment{
			File:  file,
			Key:   strings.ReplaceAll(strings.TrimSpace(key), "/", "."),
			Value: strings.TrimSpace(value),
		})
	}
	return list
}

// Effective returns the assignment of key that wins at boot: drop-ins by file name (a name
// in a higher-priority directory hides the others), then /etc/sysctl.conf; the last one counts.
func Effective(list []Assignment, key string) (Assignment, bool) {
	priority := func(file string) int {
		for i, dir := range Dirs {
			if path.Dir(file) == dir {
				return i
			}
		}
		return len(Dirs)
	}
	winner := map[string]string{} // base name -> file that provides it
	for _, a := range list {
		if a.File == Conf {
			continue
		}
		base := path.Base(a.File)
		if cur, ok := winner[base]; !ok || priority(a.File) < priority(cur) {
			winner[base] = a.File
		}
	}
	ordered := append([]Assignment(nil), list...)
	sort.SliceStable(ordered, func(i, j int) bool { return bootOrder(ordered[i].File) < bootOrder(ordered[j].File) })
	var last Assignment
	found := false
	for _, a := range ordered {
		if a.Key != key || (a.File != Conf && winner[path.Base(a.File)] != a.File) {
			continue
		}
		last, found = a, true
	}
	return last, found
}

// bootOrder sorts drop-ins by base name and puts /etc/sysctl.conf last.
func bootOrder(file string) string {
	if file == Conf {
		return "\xff"
	}
	return path.Base(file)
}
