package doctor

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/doctor/internal/captures"
)

// testdata returns the contents of testdata/<elem...>.
func testdata(t *testing.T, elem ...string) string {
	t.Helper()
	return captures.Read(t, elem...)
}

// The files under testdata/iproute are real iproute2 6.1 output, captured by capture.sh in
// network namespaces built like kind nodes running Flannel.
func iprouteFile(t *testing.T, name string) []byte {
	t.Helper()
	return []byte(testdata(t, "iproute", name))
}

// readCorefileFixture returns the Corefile kube/corefile/testdata/<name>.
func readCorefileFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "kube", "corefile", "testdata", name))
	require.NoError(t, err)
	return string(b)
}
