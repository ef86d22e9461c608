package upgrade

import (
	"os"
	"syscall"
)

// FailpointEnv names the environment variable that makes the upgrader kill itself with SIGKILL
// at a named point, exactly as a power loss or `kill -9` would: the crash-recovery tests use it
// to stop at points that last milliseconds. Points: "<step>:begin" (the journal says the step
// started, nothing done yet), "backup:mid" (database copied, secret not yet), "<step>:end"
// (the work done, the journal not yet told). Unset in normal use.
const FailpointEnv = "BUNDLE_UPGRADE_FAILPOINT"

var failpointAt = os.Getenv(FailpointEnv)

// failpoint dies here when asked to.
func failpoint(name string) {
	if failpointAt != "" && failpointAt == name {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}
