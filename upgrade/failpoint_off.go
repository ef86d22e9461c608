//go:build !failpoint

package upgrade

// failpoint is a no-op in release builds: the kill points of the crash tests exist only in
// binaries built with -tags failpoint (see failpoint.go).
func failpoint(string) {}
