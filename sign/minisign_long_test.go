//go:build long

package sign

import "testing"

// minisign's default scrypt limits: N=2^20, r=8, p=1, 1 GiB of memory and several seconds.
func TestMinisignEncryptedKeyDefaultLimits(t *testing.T) {
	checkMinisignEncryptedKey(t, "testdata/minisign-encrypted")
}
