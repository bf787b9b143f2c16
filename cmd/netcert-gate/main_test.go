package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSuitesFor(t *testing.T) {
	for name, tc := range map[string]struct {
		paths []string
		want  []string
	}{
		"docs only":                {[]string{"README.md", ".github/workflows/ci.yml", "reports/html.go"}, []string{}},
		"nothing":                  {nil, []string{}},
		"a check":                  {[]string{"doctor/ip-forward-off.go"}, []string{"flannel", "calico", "nftables"}},
		"the Calico recipe":        {[]string{"images/build/calico.sh", "README.md"}, []string{"calico"}},
		"Flannel's kind config":    {[]string{"kind-configs/flannel-overlap.yaml"}, []string{"flannel"}},
		"the nftables kind config": {[]string{"kind-configs/flannel-nftables.yaml"}, []string{"nftables"}},
		"Flannel's manifest":       {[]string{"fixtures/flannel.yaml"}, []string{"flannel"}},
		"both CNIs' own files":     {[]string{"suites/calico/main_test.go", "testbed/flannel.go"}, []string{"flannel", "calico"}},
		"a shared test-bed file":   {[]string{"testbed/cluster.go"}, []string{"flannel", "calico", "nftables"}},
		"a dependency":             {[]string{"go.sum"}, []string{"flannel", "calico", "nftables"}},
		"the report command":       {[]string{"cmd/netcert-report/main.go"}, []string{}},
		"the probe in the cluster": {[]string{"cmd/netcert-probe/main.go"}, []string{"flannel", "calico", "nftables"}},
	} {
		assert.Equal(t, tc.want, suitesFor(tc.paths), name)
	}
}

func TestRunReadsJSONOrLines(t *testing.T) {
	for _, in := range []string{`["README.md","images/calico/start-calico-node"]`, "README.md\n\nimages/calico/start-calico-node\n"} {
		var out, errOut bytes.Buffer
		assert.Equal(t, 0, run(strings.NewReader(in), &out, &errOut))
		assert.Equal(t, "suites=[\"calico\"]\n", out.String(), in)
	}
	var out, errOut bytes.Buffer
	assert.Equal(t, 0, run(strings.NewReader(""), &out, &errOut))
	assert.Equal(t, "suites=[]\n", out.String())

	assert.Equal(t, 2, run(strings.NewReader(`["a", 3]`), &out, &errOut))
	assert.Contains(t, errOut.String(), "not a JSON array of strings")
}
