package fakeharbor

import (
	"context"
	"os/exec"
	"testing"
)

// TestReapWorkspaceOfKilledTest: a test killed by -timeout leaves its workspace behind; the next
// workspace removes it.
func TestReapWorkspaceOfKilledTest(t *testing.T) {
	ctx := context.Background()
	dead := NewHarbor(t, InstallOptions{})
	if err := dead.LoadImages(ctx, "v1.10.0"); err != nil {
		t.Fatal(err)
	}
	finished := exec.Command("true")
	if err := finished.Run(); err != nil {
		t.Fatal(err)
	}
	if err := dead.writeOwner(finished.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if err := reapStale(ctx, dead.Docker); err != nil {
		t.Fatal(err)
	}
	left, err := dead.Leftovers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("the dead workspace was not reaped: %v", left)
	}
}
