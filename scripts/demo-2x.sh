#!/usr/bin/env bash
# demo-2x.sh: bundle on Harbor 2.x, on the built-in fake Harbor (`make demo-2x`); shaped like demo.sh.
#
#   1. a "connected machine": the fake Harbor registry and release downloads on 127.0.0.1;
#      `bundle build v2.15.2` makes harbor-upgrade-v2.15.2.run from them.
#   2. an "air-gapped host": Harbor 2.13.5 installed from its offline installer (Harbor's REAL
#      2.13.5 install.sh, prepare, common.sh and harbor.yml.tmpl over fake images) as an
#      administrator would: tar xzf, cp harbor.yml.tmpl harbor.yml, edit, ./install.sh --with-trivy;
#      then a project and an image pushed into it.
#   3. the registry is shut down. The .run shows its plan (PostgreSQL 15 -> 18 in harbor-db, redis
#      replaced by valkey, --with-trivy carried, the projects and repositories it will count
#      again), then upgrades: backup, load, `prepare migrate` of harbor.yml, install.sh with the
#      `docker compose` plugin, health on /api/v2.0/systeminfo, the counts compared.
#   4. the result: Harbor 2.15.2 with the same data (database/pg18, pg15 gone); then a rollback
#      to 2.13.5, whose pg15 only the backup can bring back (pg_upgrade deleted it).
#   5. everything is removed: containers, network, the images it loaded, the temp dir.
#
# It holds the machine-wide e2e lock (internal/e2elock) throughout: Harbor's container names are
# fixed, so it waits for running Docker tests and they wait for it.
#
# usage: scripts/demo-2x.sh            (as root; BUNDLE=path/to/bundle, default bin/bundle)
#        KEEP=1 scripts/demo-2x.sh     keeps the temp dir and the running Harbor for a look around
set -euo pipefail

bundle=$(readlink -f "${BUNDLE:-bin/bundle}")
root=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$bundle" ] || { echo "demo-2x: $bundle not found: run make build first" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "demo-2x: run as root (the upgrade restores owners)" >&2; exit 2; }
docker compose version >/dev/null 2>&1 || { echo "demo-2x: the docker compose plugin is missing: run make tools" >&2; exit 2; }

lock=${TMPDIR:-/tmp}/harbor-bundle-e2e.lock
exec 9>>"$lock"
if ! flock -n 9; then
	echo "demo-2x: waiting for the Docker tests holding $lock"
	flock 9
fi
if docker ps -a --format '{{.Names}}' | grep -qx harbor-core; then
	echo "demo-2x: a container named harbor-core exists already; the demo needs Harbor's fixed names free" >&2
	exit 2
fi

from=v2.13.5
to=v2.15.2
work=$(mktemp -d /tmp/bundle-demo-2x.XXXXXX)
fake_label=io.github.harborbundle.fakeharbor
images_before=$(docker images --filter "label=$fake_label" --format '{{.Repository}}:{{.Tag}}' | sort)
net_before=$(docker network ls --filter name=harbor_harbor -q)
serve_pid=

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

cleanup() {
	local code=$?
	[ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
	if [ "${KEEP:-}" = 1 ]; then
		echo "demo-2x: kept $work (KEEP=1); remove it and its containers yourself"
		exit $code
	fi
	say "cleaning up"
	# Wherever the compose files now are (the upgrade moves directories around), with the tool
	# that made the containers.
	for dir in $(docker ps -a --format '{{.Label "com.docker.compose.project.working_dir"}}' | sort -u); do
		case $dir in "$work"/*)
			[ -f "$dir/docker-compose.yml" ] && (cd "$dir" && { docker compose down -t 2 || docker-compose down -t 2; } >/dev/null 2>&1) || true ;;
		esac
	done
	for id in $(docker ps -aq --filter "label=$fake_label"); do
		case $(docker inspect -f '{{index .Config.Labels "com.docker.compose.project.working_dir"}}' "$id") in
		"$work"/*) docker rm -f "$id" >/dev/null ;;
		esac
	done
	# prepare's one-shot containers (--rm) are gone; the network is the project's.
	[ -z "$net_before" ] && docker network rm harbor_harbor >/dev/null 2>&1 || true
	comm -13 <(echo "$images_before") <(docker images --filter "label=$fake_label" --format '{{.Repository}}:{{.Tag}}' | sort) |
		xargs -r docker image rm >/dev/null
	rm -rf "$work"
	echo "removed $work, its containers and the images it loaded"
	exit $code
}
trap cleanup EXIT

# Harbor's real 2.x prepare script runs its container with --privileged, which this machine's
# Docker engine cannot start (see internal/fakeharbor/harness_shim.go): a `docker` first on PATH
# drops that one flag and runs the real docker. Everything else is what a real host runs.
mkdir -p "$work/bin"
real_docker=$(command -v docker)
cat >"$work/bin/docker" <<EOF
#!/bin/sh
# demo-2x: drops --privileged (this engine cannot apply every capability), see harness_shim.go.
reset=1
for a do
	if [ "\$reset" = 1 ]; then set --; reset=0; fi
	[ "\$a" = --privileged ] && continue
	set -- "\$@" "\$a"
done
exec '$real_docker' "\$@"
EOF
chmod 755 "$work/bin/docker"
export PATH=$work/bin:$PATH

say "connected machine: the fake Harbor registry and release downloads on 127.0.0.1"
(cd "$root" && go build -o "$work/fakeharbor" ./internal/fakeharbor/cmd/fakeharbor)
"$work/fakeharbor" serve --versions "$from,$to" >"$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!
for _ in $(seq 600); do
	[ -s "$work/serve.out" ] && break
	kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.err" >&2; exit 1; }
	sleep 0.2
done
read -r reg_kv inst_kv <"$work/serve.out"
registry=${reg_kv#registry=}
installers=${inst_kv#installers=}
echo "registry $registry, installers $installers"

say "connected machine: bundle build $to"
run "$bundle" build "$to" --registry "$registry" --insecure-registry \
	--installer "$installers/goharbor/harbor/releases/download/$to/harbor-online-installer-$to.tgz" \
	--cache "$work/cache" -o "$work/harbor-upgrade-$to.run" --quiet
run "$bundle" inspect "$work/harbor-upgrade-$to.run"

say "air-gapped host: Harbor $from from its offline installer (Harbor's real install.sh and prepare)"
mkdir -p "$work/host"
curl -fsS -o "$work/host/harbor-offline-installer-$from.tgz" \
	"$installers/goharbor/harbor/releases/download/$from/harbor-offline-installer-$from.tgz"
(cd "$work/host" && run tar xzf "harbor-offline-installer-$from.tgz")
cd "$work/host/harbor"
run cp harbor.yml.tmpl harbor.yml
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# hostname, http port, data and log dirs; the https block commented out (no certificate here).
sed -i -e "s|^hostname: .*|hostname: harbor.demo.internal|" \
	-e "0,/^  port: 80\$/s||  port: $port|" \
	-e '/^https:/,/^  private_key:/s|^|#|' \
	-e "s|^data_volume: .*|data_volume: $work/data|" \
	-e "s|^\(    location: \)/var/log/harbor|\1$work/log|" harbor.yml
grep -nE '^(hostname|data_volume|#?https)|^  port' harbor.yml
run ./install.sh --with-trivy
api=http://127.0.0.1:$port/api/v2.0
for _ in $(seq 120); do curl -fsS "$api/systeminfo" 2>/dev/null | grep -q "$from" && break; sleep 1; done
run curl -fsS "$api/systeminfo"; echo
run curl -fsS -X POST -H 'Content-Type: application/json' -d '{"project_name":"demo-project"}' "$api/projects"
# An image: one blob (as config and layer) and its manifest, pushed through Harbor's proxy.
blob="demo layer $(date +%s)"
digest=sha256:$(printf '%s' "$blob" | sha256sum | cut -d' ' -f1)
curl -fsS -X PUT --data-binary "$blob" "http://127.0.0.1:$port/v2/demo-project/app/blobs/$digest"
manifest='{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":'${#blob}',"digest":"'$digest'"},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":'${#blob}',"digest":"'$digest'"}]}'
run curl -fsS -X PUT --data-binary "$manifest" "http://127.0.0.1:$port/v2/demo-project/app/manifests/v1"
run curl -fsS "$api/repositories"; echo
run ls "$work/data/database"

say "the registry goes away: nothing below may download anything"
kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true; serve_pid=
cp "$work/harbor-upgrade-$to.run" "$work/host/"
cd "$work/host"
run "./harbor-upgrade-$to.run" --dry-run --backup-dir "$work/backups" | tail -n 40

say "air-gapped host: ./harbor-upgrade-$to.run --yes"
run "./harbor-upgrade-$to.run" --yes --backup-dir "$work/backups" --health-timeout 5m

say "the result"
run curl -fsS "$api/systeminfo"; echo
run curl -fsS "$api/repositories"; echo
run grep -n '^_version' harbor/harbor.yml
run ls "$work/data/database"
run docker ps --filter "label=$fake_label" --format '{{.Names}}\t{{.Image}}\t{{.Status}}'
run "./harbor-upgrade-$to.run" status --backup-dir "$work/backups"

say "changed our mind: rollback to $from from the backup (pg_upgrade deleted pg15: only the backup has it)"
run "./harbor-upgrade-$to.run" rollback --yes --backup-dir "$work/backups" --health-timeout 5m
run curl -fsS "$api/systeminfo"; echo
run curl -fsS "$api/repositories"; echo
run ls "$work/data/database"
