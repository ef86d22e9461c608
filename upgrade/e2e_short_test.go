//go:build !long

package upgrade

// longTests selects the cases that only `make test-long` (-tags long) runs, to keep make test
// within the CI budget.
const longTests = false
