//go:build long

package upgrade

import "testing"

const longTests = true

// TestE2EKillMatrix kills the upgrader after each step in turn (the step's work done, the
// journal not yet told: the hardest moment) and in the middle of the backup and of install.sh.
func TestE2EKillMatrix(t *testing.T) {
	crashMatrix(t, []string{"stop:end", "backup:mid", "backup:end", "load:end", "migrate:end",
		"install:running", "install:end", "health:begin"})
}

func TestE2EUpgrade194None(t *testing.T) { upgradeAndCheck(t, "v1.9.4", nil) }

func TestE2EUpgrade186AllComponents(t *testing.T) {
	upgradeAndCheck(t, "v1.8.6", []string{"notary", "clair", "chartmuseum"})
}
