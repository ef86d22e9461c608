//go:build failpoint

package upgrade

import (
	"os"
	"syscall"
)

// This file is only in test builds (`go build -tags failpoint`): the release binary carries the
// no-op twin in failpoint_off.go, so no environment variable can kill a production upgrade.

// failpointEnv names the environment variable that makes the upgrader kill itself with SIGKILL
// at a named point, exactly as a power loss or `kill -9` would: the crash-recovery tests use it
// to stop at points that last milliseconds. Points: "<step>:begin" (the journal says the step
// started, nothing done yet), "backup:mid" (database copied, secret not yet), "<step>:end"
// (the work done, the journal not yet told); the same for the rollback's steps as
// "rollback:<step>:begin", "rollback:<step>:end" and "rollback:restore:mid" (the install dir
// restored, the data trees not yet).
const failpointEnv = "BUNDLE_UPGRADE_FAILPOINT"

var failpointAt = os.Getenv(failpointEnv)

// failpoint dies here when asked to.
func failpoint(name string) {
	if failpointAt != "" && failpointAt == name {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}
