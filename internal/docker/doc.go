// Package docker is the only library code that runs the docker and docker-compose command-line
// tools.
//
// bundle drives Docker the way Harbor's own installer and upgrade guide do, through the CLI:
// the CLI is what the air-gapped host is guaranteed to have (no API socket version to match, no
// SDK dependency), and running the same commands as the guide keeps our behaviour comparable to
// the manual procedure. Keeping every invocation here gives one place that logs each command
// line with its output (the upgrader records everything it did), one place that turns exit codes
// and messages into typed errors (ExitError, ErrNoSuchImage), and a small typed surface that the
// rest of the code and the tests use instead of assembling argument lists.
package docker
