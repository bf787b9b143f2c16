package doctor

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// testdata returns the contents of testdata/<elem...>.
func testdata(t *testing.T, elem ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"testdata"}, elem...)...))
	require.NoError(t, err)
	return string(b)
}

// readCorefileFixture returns the Corefile kube/corefile/testdata/<name>.
func readCorefileFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "kube", "corefile", "testdata", name))
	require.NoError(t, err)
	return string(b)
}
