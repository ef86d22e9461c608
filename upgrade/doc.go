// Package upgrade is the air-gapped side of bundle: it takes a running Harbor to the release a
// bundle carries, or returns the host to exactly where it was.
//
// Harbor cannot be downgraded: once the new core has migrated the database, the only way back is
// a copy taken before. So the upgrade is a state machine whose every step is recorded in a
// journal (<backup-dir>/<id>/journal.json, written through a synced temp file and a rename)
// before and after it runs:
//
//	verify -> detect -> preflight -> plan -> stop -> backup -> load -> migrate -> install -> health -> done
//
// Everything up to and including plan only reads: a refusal (exit status 2) leaves the host as it
// was. From stop on, a failure rolls back (exit status 1) unless the caller asked not to: the new
// install is stopped and kept as evidence, the old install dir and the database and secret trees
// are restored from the backup after their checksums were re-verified, and the old install.sh is
// run with its old flags. When the rollback itself fails the error carries the exact commands
// that finish it by hand (exit status 3).
//
// Each step is written so that running it again after a crash (kill -9, power loss) is safe:
// partial copies carry a ".partial" name the journal owns, the new install dir is laid out under
// a staging name and renamed into place last, loading skips images already present. That is what
// makes --resume and rollback after a crash possible. Nothing is ever deleted that the journal
// does not say is ours, and backups are never deleted automatically.
//
// A multi-hop bundle (built with --from) runs as a chain of these upgrades sharing one stop and
// one backup of the starting state (chain_run.go):
//
//	stop -> backup -> [per hop: load -> migrate -> install -> health -> stop-hop] -> done
//
// Each hop's steps are the one-hop steps run on the hop's view of the bundle (its installer,
// images and migration, chain_source.go), journaled as "<version>/<step>"; stop-hop keeps the
// hop's install dir in the backup, where the next hop's migrate reads harbor.yml. Preflight walks
// the whole chain before any change (chain_prepare.go). A failure or a rollback anywhere returns
// to the starting version; --keep-progress instead returns to the last hop that finished, from
// a checkpoint of its data taken when it stopped (chain_keep.go).
//
// The package never runs docker itself: it goes through Engine, implemented by internal/docker.
// It writes no progress bars: byte progress leaves through progress.Reporter and one line per
// step through Options.Out.
package upgrade
