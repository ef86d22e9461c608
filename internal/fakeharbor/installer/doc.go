// Package installer writes the files of the fake Harbor's installer packages: install.sh,
// prepare, harbor.yml (harbor.cfg for 1.7), common.sh from 1.10, and LICENSE.
//
// The scripts are written from what the real ones do (../shared/harbor-facts.md), not copied:
// the same flags, checks, steps, messages and mounts, because bundle runs them exactly as a user
// would, and every difference in them would be a difference between our tests and a real host.
// The harbor.yml files are the real default files of each release line, unchanged.
package installer
