package images

import (
	"os/exec"
	"testing"
)

// TestRuntimeWrapperBackupAndUndo runs runtime-wrapper_test.sh: the set-up's backup of
// daemon.json and the undo of its runtime wrapper, against a temporary directory, with fake
// pidof, docker and dockerd (no root, Docker or network).
func TestRuntimeWrapperBackupAndUndo(t *testing.T) {
	for _, tool := range []string{"bash", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: %v", tool, err)
		}
	}
	out, err := exec.Command("bash", "runtime-wrapper_test.sh", t.TempDir()).CombinedOutput()
	if err != nil {
		t.Fatalf("runtime-wrapper_test.sh: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
