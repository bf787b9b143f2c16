// Command netcert-gate prints the suites that must pass before a change may merge: the release
// gate's choice. It reads the changed paths, as a JSON array or one per line, on stdin and prints
// `suites=["flannel","calico"]` (GitHub Actions output syntax); `suites=[]` when nothing
// network-relevant changed.
//
//	git diff --name-only origin/main... | netcert-gate
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() { os.Exit(run(os.Stdin, os.Stdout, os.Stderr)) }

func run(stdin io.Reader, stdout, stderr io.Writer) int {
	paths, err := readPaths(stdin)
	if err != nil {
		fmt.Fprintf(stderr, "netcert-gate: %v\n", err)
		return 2
	}
	out, _ := json.Marshal(suitesFor(paths))
	fmt.Fprintf(stdout, "suites=%s\n", out)
	return 0
}

// readPaths accepts a JSON array of paths or one path per line.
func readPaths(r io.Reader) ([]string, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	text := strings.TrimSpace(string(data))
	if strings.HasPrefix(text, "[") {
		var paths []string
		if err := json.Unmarshal([]byte(text), &paths); err != nil {
			return nil, fmt.Errorf("the changed paths are not a JSON array of strings: %w", err)
		}
		return paths, nil
	}
	var paths []string
	lines := bufio.NewScanner(strings.NewReader(text))
	for lines.Scan() {
		if p := strings.TrimSpace(lines.Text()); p != "" {
			paths = append(paths, p)
		}
	}
	return paths, nil
}
