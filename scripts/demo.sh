#!/usr/bin/env bash
# demo.sh: the whole story of bundle, on the built-in fake Harbor (`make demo`).
#
#   1. a "connected machine": the fake Harbor registry and release downloads on 127.0.0.1;
#      `bundle build v1.10.0` makes harbor-upgrade-1.10.run from them.
#   2. an "air-gapped host": a Harbor 1.9.4 installed in a temp dir from its offline installer,
#      as an administrator would (tar xzf, edit harbor.yml, ./install.sh --with-...), with data.
#   3. the registry is shut down: from here on nothing is downloaded. The .run plans, checks,
#      backs up, loads its images, migrates harbor.yml, installs 1.10.0 and waits for health.
#   4. the result: Harbor 1.10.0 with the same data, the journal and the backup; then a
#      rollback to 1.9.4, because an upgrade you cannot undo is not one you should trust.
#   5. everything is removed: containers, network, the images it loaded, the temp dir.
#
# usage: scripts/demo.sh            (as root; BUNDLE=path/to/bundle, default bin/bundle)
#        KEEP=1 scripts/demo.sh     keeps the temp dir and the running Harbor for a look around
set -euo pipefail

bundle=$(readlink -f "${BUNDLE:-bin/bundle}")
root=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$bundle" ] || { echo "demo: $bundle not found: run make build first" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "demo: run as root (the upgrade restores owners)" >&2; exit 2; }

# The machine-wide e2e lock (internal/e2elock), held throughout: Harbor's container names are
# fixed, so the demo waits for running Docker tests and they wait for it.
lock=${TMPDIR:-/tmp}/harbor-bundle-e2e.lock
exec 9>>"$lock"
if ! flock -n 9; then
	echo "demo: waiting for the Docker tests holding $lock"
	flock 9
fi
if docker ps -a --format '{{.Names}}' | grep -qx harbor-core; then
	echo "demo: a container named harbor-core exists already; the demo needs Harbor's fixed names free" >&2
	exit 2
fi

work=$(mktemp -d /tmp/bundle-demo.XXXXXX)
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
		echo "demo: kept $work (KEEP=1); remove it and its containers yourself"
		exit $code
	fi
	say "cleaning up"
	# Wherever the compose files now are (the upgrade moves directories around).
	for dir in $(docker ps -a --format '{{.Label "com.docker.compose.project.working_dir"}}' | sort -u); do
		case $dir in "$work"/*) [ -f "$dir/docker-compose.yml" ] && (cd "$dir" && docker-compose down -t 2 >/dev/null 2>&1) || true ;; esac
	done
	for id in $(docker ps -aq --filter "label=$fake_label"); do
		case $(docker inspect -f '{{index .Config.Labels "com.docker.compose.project.working_dir"}}' "$id") in
		"$work"/*) docker rm -f "$id" >/dev/null ;;
		esac
	done
	[ -z "$net_before" ] && docker network rm harbor_harbor >/dev/null 2>&1 || true
	comm -13 <(echo "$images_before") <(docker images --filter "label=$fake_label" --format '{{.Repository}}:{{.Tag}}' | sort) |
		xargs -r docker image rm >/dev/null
	rm -rf "$work"
	echo "removed $work, its containers and the images it loaded"
	exit $code
}
trap cleanup EXIT

say "connected machine: the fake Harbor registry and release downloads on 127.0.0.1"
(cd "$root" && go build -o "$work/fakeharbor" ./internal/fakeharbor/cmd/fakeharbor)
"$work/fakeharbor" serve --versions v1.9.4,v1.10.0 >"$work/serve.out" 2>"$work/serve.err" &
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

say "connected machine: bundle build v1.10.0"
run "$bundle" build v1.10.0 --registry "$registry" --insecure-registry \
	--installer "$installers/goharbor/harbor/releases/download/v1.10.0/harbor-online-installer-v1.10.0.tgz" \
	--cache "$work/cache" -o "$work/harbor-upgrade-1.10.run" --quiet
run "$bundle" inspect "$work/harbor-upgrade-1.10.run"

say "air-gapped host: Harbor 1.9.4 from its offline installer"
mkdir -p "$work/host"
curl -fsS -o "$work/host/harbor-offline-installer-v1.9.4.tgz" \
	"$installers/goharbor/harbor/releases/download/v1.9.4/harbor-offline-installer-v1.9.4.tgz"
(cd "$work/host" && run tar xzf harbor-offline-installer-v1.9.4.tgz)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -i -e "s|^hostname: .*|hostname: harbor.demo.internal|" \
	-e "0,/^  port: 80\$/s||  port: $port|" \
	-e "s|^data_volume: .*|data_volume: $work/data|" \
	-e "s|^\(    location: \)/var/log/harbor|\1$work/log|" "$work/host/harbor/harbor.yml"
grep -nE '^(hostname|data_volume)|^  port' "$work/host/harbor/harbor.yml"
(cd "$work/host/harbor" && run ./install.sh --with-clair --with-chartmuseum)
api=http://127.0.0.1:$port/api
for _ in $(seq 120); do curl -fsS "$api/systeminfo" 2>/dev/null | grep -q v1.9.4 && break; sleep 1; done
run curl -fsS "$api/systeminfo"; echo
run curl -fsS -X POST -H 'Content-Type: application/json' -d '{"project_name":"demo-project"}' "$api/projects"
echo

say "the registry goes away: nothing below may download anything"
kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true; serve_pid=
cp "$work/harbor-upgrade-1.10.run" "$work/host/"
cd "$work/host"
run ./harbor-upgrade-1.10.run --dry-run --backup-dir "$work/backups" | tail -n 25

say "air-gapped host: ./harbor-upgrade-1.10.run --yes"
run ./harbor-upgrade-1.10.run --yes --backup-dir "$work/backups" --health-timeout 5m

say "the result"
run curl -fsS "$api/systeminfo"; echo
run curl -fsS "$api/projects"; echo
run grep -n '^_version' harbor/harbor.yml
run ./harbor-upgrade-1.10.run status --backup-dir "$work/backups"

say "changed our mind: rollback to 1.9.4 from the backup"
run ./harbor-upgrade-1.10.run rollback --yes --backup-dir "$work/backups" --health-timeout 5m
run curl -fsS "$api/systeminfo"; echo
run curl -fsS "$api/projects"; echo
