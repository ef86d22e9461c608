// Package roles is what runs inside the fake Harbor's containers: one function per image role
// (core, db, proxy, registry, prepare, migrator, psql, ...), chosen by the first argument of the
// harbord binary (or the name it runs under: harbor-db's /usr/bin/psql), plus `health <role>` for
// the images' HEALTHCHECKs.
//
// Each role reproduces what real Harbor does at the points bundle touches: the real file paths
// and mount points, the real exit codes and messages of the migrator, the real docker-compose.yml
// written by prepare, the schema migration (with its dirty flag) done by core at start, and the
// secretkey that must match the database. Everything else is as small as it can be: the
// protocols between the roles are ours (JSON over HTTP), because bundle never speaks them.
//
// Where Harbor's own code is in ../shared/harbor-real (the 1.10 migrator, 2.x prepare), a role
// imitates that code, names the file, and a differential test runs both (README.md).
//
// Tests run the roles in-process: FAKEHARBOR_ROOT prefixes every absolute path a role uses, and
// FAKEHARBOR_LISTEN overrides the address a server role listens on, so no container is needed.
package roles
