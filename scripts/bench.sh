#!/usr/bin/env bash
# bench.sh: `make bench`. Every figure of README's Performance table, each measured against the
# tool a user would use instead, in the same run, on the fake Harbor 1.10.0 release (see
# internal/fakeharbor): several runs, median and spread, written to
# bench/results/<date>-<size>.{md,json,raw.jsonl} with the machine description, then the README
# section between <!-- bench:start --> and <!-- bench:end --> is rendered from those files.
#
#   sizes           every size (payload and .run, default and --level max, keep) against the limit
#                   anchor `zstd -19 --long=27` (and `xz -9 -T1`) of the same uncompressed
#                   docker-archive the floor loads, and against the offline installer .tgz, on each
#                   content mix of the fake (synthetic, debian: files of real Debian packages); the
#                   default payload also against `zstd -3 --long=27` (same level, whole release)
#   connected side  bundle size vs a makeself .run of the offline installer; cold build (keep, default, max), warm rebuild (blobs
#                   fetched) vs `crane pull --format oci` and `skopeo copy` of the same images
#   verify          `bundle verify` vs sha256sum of a 2 GiB .run; peak RSS of check and extract
#   host side       images-loaded time: the upgrade's load step (benchtool load) vs the floor
#                   (docker load -i of an uncompressed archive), the pipe floor (the same archive
#                   through cat | docker load) and the manual path (tar xzf + docker load -i);
#                   whole upgrade 1.9.4 -> 1.10.0 (with clair and chartmuseum):
#                   the .run vs scripts/manual-upgrade.sh vs a makeself .run running that script;
#                   wall time until healthy, peak RSS, extra disk
#
# usage: scripts/bench.sh   (as root, from the source tree; BUNDLE=path, default bin/bundle)
#   BENCH_SIZES="250MiB 1GiB"  release sizes (image content); `make bench-large`: "3GiB"
#   BENCH_MIXES="synthetic debian"  content mixes (fakeharbor --content); the first gets every
#                              figure, the others the sizes and builds (BENCH_MIX_RUNS=1 runs: sizes
#                              do not vary); results <date>-<size>.* and <date>-<size>-<mix>.*
#   BENCH_XZ=auto              xz -9 -T1 anchor: auto = only for sizes <= 1GiB, 1 = always, 0 = never
#   BENCH_RUNS=3               runs of each connected-side, verify and load figure
#   BENCH_UPGRADE_RUNS=2       runs of each whole upgrade (each installs Harbor 1.9.4 first)
#   BENCH_VERIFY_BYTES=2GiB    payload of the verify/check/extract .run
#   BENCH_HOST=1               0 skips everything that uses Docker
#   BENCH_OUT=bench/results    where the results go; BENCH_README=README.md (empty: leave it)
#   BENCH_TMP=/var/tmp         where the work dir is made (needs ~3x the largest size free)
#   BENCH_COMMAND             the command the results say reproduces them (make bench-large sets it)
# Docker work takes the e2e lock (/tmp/harbor-bundle-e2e.lock) one install/upgrade or one load at
# a time, so the test suites can run in between. Everything created is removed on exit.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bundle=$(readlink -f "${BUNDLE:-$root/bin/bundle}")
sizes=${BENCH_SIZES:-250MiB 1GiB}
mixes=${BENCH_MIXES:-synthetic debian}
mix_runs=${BENCH_MIX_RUNS:-1}
xz_anchor=${BENCH_XZ:-auto}
runs=${BENCH_RUNS:-3}
upgrade_runs=${BENCH_UPGRADE_RUNS:-2}
verify_bytes=${BENCH_VERIFY_BYTES:-2GiB}
host_side=${BENCH_HOST:-1}
out=$(mkdir -p "${BENCH_OUT:-$root/bench/results}" && cd "${BENCH_OUT:-$root/bench/results}" && pwd)
readme=${BENCH_README-$root/README.md}
lockfile=${TMPDIR:-/tmp}/harbor-bundle-e2e.lock
fake_label=io.github.harborbundle.fakeharbor

die() { echo "bench: $*" >&2; exit 2; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }
[ -x "$bundle" ] || die "$bundle not found: run make build first"
[ "$(id -u)" = 0 ] || die "run as root (the upgrade restores owners)"
for t in skopeo makeself sha256sum curl jq flock python3; do
	command -v "$t" >/dev/null || die "$t is missing: run make tools"
done
for t in zstd xz; do # the limit anchors
	command -v "$t" >/dev/null || die "$t is missing: apt-get install zstd xz-utils"
done

work=$(mktemp -d "${BENCH_TMP:-/var/tmp}/bundle-bench.XXXXXX")
serve_pid=
net_before=$(docker network ls --filter name=harbor_harbor -q)

# cleanup removes what this run created: the fake registry, containers and networks of Harbors
# installed under $work, the images they or we loaded (only those absent when we started), $work.
cleanup() {
	local code=$?
	set +e
	[ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
	if [ -n "${images_before+x}" ]; then
		exec 9>"$lockfile"
		flock 9
		teardown_harbor
		flock -u 9
	fi
	rm -rf "$work"
	echo "bench: removed $work and everything it created" >&2
	exit $code
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fakeharbor=$work/bin/fakeharbor
benchtool=$work/bin/benchtool
crane=$work/bin/crane
say "building fakeharbor, benchtool and crane"
(cd "$root" && go build -o "$fakeharbor" ./internal/fakeharbor/cmd/fakeharbor &&
	go build -o "$benchtool" ./bench/cmd/benchtool &&
	go build -o "$crane" github.com/google/go-containerregistry/cmd/crane)

date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
day=${date%%T*}
command=${BENCH_COMMAND:-make bench}
[ -z "${BENCH_COMMAND:-}" ] && [ -n "${BENCH_SIZES:-}" ] && command="BENCH_SIZES=\"$sizes\" $command"
"$benchtool" machine "$work" >"$work/machine.json"

# bytes_of turns 250MiB / 1GiB / 3GB into bytes (the report orders sizes by it).
bytes_of() { numfmt --from=auto "$(echo "$1" | sed -e 's/iB$/i/' -e 's/B$//')"; }

# m NAME [--disk DIR]... -- CMD: measure CMD for the current size and run.
m() { local name=$1; shift; "$benchtool" measure --raw "$raw" --size "$size" --name "$name" --run "$run" "$@"; }
# v NAME UNIT VALUE: record a plain value.
v() { "$benchtool" value --raw "$raw" --size "$size" --name "$1" --run "$run" --unit "$2" "$3"; }
fsize() { stat -c %s "$1"; }
payload_length() { "$bundle" inspect "$1" -o json | jq '.payloadLength // .PayloadLength'; }

# ---------------------------------------------------------------- the fake Harbor, per size
serve() {
	[ -n "$serve_pid" ] && { kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true; }
	(cd "$root" && exec "$fakeharbor" serve --size "$size" --content "$mix" --versions v1.9.4,v1.10.0) >"$work/serve.out" 2>"$work/serve.err" &
	serve_pid=$!
	for _ in $(seq 3000); do
		[ -s "$work/serve.out" ] && break
		kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.err" >&2; die "fakeharbor serve failed"; }
		sleep 0.2
	done
	read -r reg_kv inst_kv <"$work/serve.out"
	registry=${reg_kv#registry=}
	installers=${inst_kv#installers=}
	dl=$installers/goharbor/harbor/releases/download
	mapfile -t refs < <(cd "$root" && "$fakeharbor" list --version v1.10.0 --size "$size" --content "$mix" | awk '{print $1}')
	mapfile -t old_refs < <(cd "$root" && "$fakeharbor" list --version v1.9.4 --size "$size" --content "$mix" | awk '{print $1}')
	(cd "$root" && "$fakeharbor" packages --content "$mix") >"$work/packages.txt"
	echo "bench: $size $mix release at $registry (${#refs[@]} images), installers at $installers" >&2
}

# ---------------------------------------------------------------- connected side
artifacts() {
	say "$size: offline installers, the floor archive, the makeself .run"
	a=$work/$size
	mkdir -p "$a/mk"
	curl -fsS -o "$a/offline-v1.9.4.tgz" "$dl/v1.9.4/harbor-offline-installer-v1.9.4.tgz"
	curl -fsS -o "$a/mk/harbor-offline-installer-v1.10.0.tgz" "$dl/v1.10.0/harbor-offline-installer-v1.10.0.tgz"
	offline=$a/mk/harbor-offline-installer-v1.10.0.tgz
	cp "$root/scripts/manual-upgrade.sh" "$a/mk/"
	makeself --quiet "$a/mk" "$a/harbor-1.10-makeself.run" "Harbor 1.10.0 offline installer and upgrade guide" ./manual-upgrade.sh >/dev/null
	(cd "$root" && "$fakeharbor" images --version v1.10.0 --size "$size" --content "$mix" -o "$a/floor.tar")
	run=1
	v size.offline bytes "$(fsize "$offline")"
	v size.makeself bytes "$(fsize "$a/harbor-1.10-makeself.run")"
	v size.floor bytes "$(fsize "$a/floor.tar")"
}

# anchors compresses the floor's uncompressed docker-archive with the best general-purpose
# compressors: what any per-layer scheme is measured against (DESIGN.md's limit anchor). One run:
# the sizes do not vary, and zstd -19 takes minutes per GiB.
anchors() {
	say "$size $mix: limit anchors of the uncompressed docker-archive"
	run=1
	m anchor.zstd -- zstd -q -19 --long=27 -T1 -f -o "$a/floor.tar.zst" "$a/floor.tar"
	v size.anchor.zstd bytes "$(fsize "$a/floor.tar.zst")"
	# the default level's own class over the whole release: what is left between it and the
	# default payload is cross-layer redundancy, which per-layer blobs cannot see
	m anchor.zstd3 -- zstd -q -3 --long=27 -T1 -f -o "$a/floor.tar.zst" "$a/floor.tar"
	v size.anchor.zstd3 bytes "$(fsize "$a/floor.tar.zst")"
	rm -f "$a/floor.tar.zst"
	if [ "$xz_anchor" = 1 ] || { [ "$xz_anchor" = auto ] && [ "$(bytes_of "$size")" -le $((1 << 30)) ]; }; then
		m anchor.xz -- bash -c 'xz -9 -T1 -c "$0" >"$0.xz"' "$a/floor.tar"
		v size.anchor.xz bytes "$(fsize "$a/floor.tar.xz")"
		rm -f "$a/floor.tar.xz"
	fi
}

build_ours() { # NAME CACHE OUTPUT BUILD-FLAGS...: a measured bundle build; the summary in OUTPUT.json
	local name=$1 cache=$2 output=$3
	shift 3
	m "$name" -- "$bundle" build v1.10.0 --registry "$registry" --insecure-registry \
		--installer "$dl/v1.10.0/harbor-online-installer-v1.10.0.tgz" --cache "$cache" \
		-o "$output" -o json --quiet --force "$@" >"$output.json"
}

connected() {
	say "$size $mix: build, $1 runs: bundle (keep, default, warm, max) vs crane vs skopeo"
	local full=() r
	for r in "${refs[@]}"; do full+=("$registry/$r"); done
	"$crane" pull --insecure --format oci "${full[@]}" "$a/warmup-oci" # page cache, unmeasured
	rm -rf "$a/warmup-oci"
	for run in $(seq "$1"); do
		m build.crane -- "$crane" pull --insecure --format oci "${full[@]}" "$a/crane-oci"
		rm -rf "$a/crane-oci"
		m build.skopeo -- bash -c 'for r in "${@:2}"; do skopeo copy -q --src-tls-verify=false "docker://$1/$r" "oci:$0:$r"; done' \
			"$a/skopeo-oci" "$registry" "${refs[@]}"
		rm -rf "$a/skopeo-oci"
		build_ours build.keep.cold "$a/cache-keep" "$a/keep.run" --compression keep
		v size.run.keep bytes "$(fsize "$a/keep.run")"
		build_ours build.default.cold "$a/cache" "$a/default.run"
		v size.run.default bytes "$(fsize "$a/default.run")"
		v size.payload.default bytes "$(payload_length "$a/default.run")"
		v blobs.cold blobs "$(jq .cache.blobsFetched "$a/default.run.json")"
		build_ours build.default.warm "$a/cache" "$a/warm.run"
		v blobs.warm blobs "$(jq .cache.blobsFetched "$a/warm.run.json")"
		build_ours build.max.cold "$a/cache-max" "$a/max.run" --level max
		v size.run.max bytes "$(fsize "$a/max.run")"
		v size.payload.max bytes "$(payload_length "$a/max.run")"
		rm -rf "$a/cache-keep" "$a/cache" "$a/cache-max" "$a/keep.run" "$a/warm.run" "$a/max.run"
	done
	ours=$a/harbor-upgrade-1.10.run
	mv "$a/default.run" "$ours"
	mv "$a/default.run.sha256" "$ours.sha256"
	v size.installer_files bytes "$("$bundle" inspect "$ours" -o json |
		jq '[.manifest | (.Entries // .entries)[] | select((.Path // .path) | startswith("installer/")) | (.Size // .size)] | add')"
}

# ---------------------------------------------------------------- verify, check, extract
verify_side() {
	say "$size: verify vs sha256sum ($verify_bytes .run and the release bundle), peak RSS of check and extract"
	[ -f "$work/big.run" ] || "$benchtool" bigrun --stub "$bundle" --bytes "$verify_bytes" -o "$work/big.run"
	for run in $(seq "$runs"); do
		v verify.bytes bytes "$(fsize "$work/big.run")"
		m verify.ours -- "$bundle" verify --quiet "$work/big.run" >/dev/null
		m verify.sha256sum -- sha256sum "$work/big.run" >/dev/null
		m check.ours -- "$work/big.run" check --quiet >/dev/null
		mkdir -p "$work/ex"
		m extract.ours --disk "$work/ex" -- "$work/big.run" extract --quiet "$work/ex/x" >/dev/null
		rm -rf "$work/ex"
		v verify.bundle.bytes bytes "$(fsize "$ours")"
		m verify.bundle.ours -- "$bundle" verify --quiet "$ours" >/dev/null
		m verify.bundle.sha256 -- sha256sum "$ours" >/dev/null
	done
}

# ---------------------------------------------------------------- host side (Docker)
lock() { exec 9>"$lockfile"; flock 9; }
unlock() { flock -u 9; exec 9>&-; }

# images_absent fails when an image we are about to load exists already: we would measure
# nothing, and removing it afterwards would remove something that is not ours.
images_absent() {
	local r
	if docker ps -a --format '{{.Names}}' | grep -qx harbor-core; then
		die "a container named harbor-core exists: another Harbor is running on this engine"
	fi
	for r in "$@"; do
		if docker image inspect "$r" >/dev/null 2>&1; then
			die "image $r is already loaded: the load would not be measured (remove it, or use a clean engine)"
		fi
	done
}

# remove_new_images removes the fake Harbor images that were not there when the unit started.
remove_new_images() {
	comm -13 <(echo "$images_before") <(docker images --filter "label=$fake_label" --format '{{.Repository}}:{{.Tag}}' | sort) |
		xargs -r docker image rm >/dev/null
	docker image prune -f --filter "label=$fake_label" >/dev/null
}

load_side() {
	say "$size: images loaded, $runs runs: bundle's load step vs floor vs pipe floor vs manual"
	local methods=(ours floor pipe manual) i
	for run in $(seq "$runs"); do
		for i in "${!methods[@]}"; do # rotate the order, so no method always goes first
			lock
			images_before=$(docker images --filter "label=$fake_label" --format '{{.Repository}}:{{.Tag}}' | sort)
			images_absent "${refs[@]}"
			case ${methods[$(((i + run) % ${#methods[@]}))]} in
			# The load step's own path (its pipe into docker load), not a shell pipe of the stream.
			ours) m load.ours -- "$benchtool" load "$ours" >/dev/null ;;
			floor) m load.floor -- docker load -q -i "$a/floor.tar" >/dev/null ;;
			# The floor of any stream into docker load's stdin, as the load step feeds it.
			pipe) m load.pipe -- bash -c "set -o pipefail; cat '$a/floor.tar' | docker load -q" >/dev/null ;;
			manual)
				mkdir -p "$a/manual"
				m load.manual --disk "$a/manual" -- bash -c "cd '$a/manual' && tar xzf '$offline' && docker load -q -i harbor/harbor.v1.10.0.tar.gz" >/dev/null
				rm -rf "$a/manual"
				;;
			esac
			remove_new_images
			unset images_before
			unlock
		done
	done
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# install_194 installs Harbor 1.9.4 from its offline installer in $u/host as an administrator
# would (demo.sh does the same), with clair and chartmuseum, and waits until it is healthy.
install_194() {
	mkdir -p "$u/host" "$u/backup" "$u/tmp"
	tar xzf "$a/offline-v1.9.4.tgz" -C "$u/host"
	port=$(free_port)
	sed -i -e "s|^hostname: .*|hostname: harbor.bench.internal|" \
		-e "0,/^  port: 80\$/s||  port: $port|" \
		-e "s|^data_volume: .*|data_volume: $u/data|" \
		-e "s|^\(    location: \)/var/log/harbor|\1$u/log|" "$u/host/harbor/harbor.yml"
	(cd "$u/host/harbor" && ./install.sh --with-clair --with-chartmuseum) >"$u/install-194.log" 2>&1 ||
		{ tail -n 30 "$u/install-194.log" >&2; die "installing Harbor 1.9.4 failed"; }
	"$work/wait-healthy.sh" "$port" v1.9.4 300 || die "Harbor 1.9.4 did not become healthy"
	curl -fsS -X POST -H 'Content-Type: application/json' -d '{"project_name":"bench"}' \
		"http://127.0.0.1:$port/api/projects" >/dev/null
}

write_wait_healthy() {
	cat >"$work/wait-healthy.sh" <<'EOF'
#!/usr/bin/env bash
# wait-healthy.sh PORT VERSION TIMEOUT: until /api/systeminfo reports VERSION and no Harbor
# container is starting or unhealthy (what the .run's health step waits for, too).
set -euo pipefail
for _ in $(seq $(($3 * 5))); do
	if curl -fsS "http://127.0.0.1:$1/api/systeminfo" 2>/dev/null | grep -q "\"$2-"; then
		st=$(docker ps --filter label=com.docker.compose.project=harbor --format '{{.Status}}')
		if [ -n "$st" ] && ! grep -qE 'starting|unhealthy|Restarting' <<<"$st"; then exit 0; fi
	fi
	sleep 0.2
done
echo "wait-healthy: Harbor $2 not healthy on port $1 after $3 s" >&2
exit 1
EOF
	chmod +x "$work/wait-healthy.sh"
}

# teardown_harbor removes the Harbor installed under $work, wherever its compose files now are.
teardown_harbor() {
	local dir id
	for dir in $(docker ps -a --format '{{.Label "com.docker.compose.project.working_dir"}}' | sort -u); do
		case $dir in "$work"/*) [ -f "$dir/docker-compose.yml" ] && (cd "$dir" && docker-compose down -t 2 >/dev/null 2>&1) || true ;; esac
	done
	for id in $(docker ps -aq --filter "label=$fake_label"); do
		case $(docker inspect -f '{{index .Config.Labels "com.docker.compose.project.working_dir"}}' "$id") in
		"$work"/*) docker rm -f "$id" >/dev/null ;;
		esac
	done
	[ -z "$net_before" ] && docker network rm harbor_harbor >/dev/null 2>&1 || true
	[ -n "${images_before+x}" ] && remove_new_images
	return 0
}

upgrade_side() {
	say "$size: whole upgrade 1.9.4 -> 1.10.0, $upgrade_runs runs: bundle vs manual guide vs makeself + guide"
	write_wait_healthy
	local method flags=(--with-clair --with-chartmuseum) methods=(ours manual makeself) i
	for run in $(seq "$upgrade_runs"); do
		for i in 0 1 2; do # rotate the order, as for the loads
			method=${methods[$(((i + run - 1) % 3))]}
			u=$a/up-$method-$run
			lock
			images_before=$(docker images --filter "label=$fake_label" --format '{{.Repository}}:{{.Tag}}' | sort)
			images_absent "${refs[@]}" "${old_refs[@]}"
			install_194
			local disks=(--disk "$u/host" --disk "$u/backup" --disk "$u/tmp")
			case $method in
			ours)
				cp "$ours" "$u/host/"
				(cd "$u/host" && m upgrade.ours "${disks[@]}" -- env TMPDIR="$u/tmp" ./harbor-upgrade-1.10.run --yes \
					--harbor-dir "$u/host/harbor" --backup-dir "$u/backup" --health-timeout 10m -o json) >"$u/upgrade.json" 2>"$u/upgrade.log" ||
					{ tail -n 30 "$u/upgrade.log" >&2; cat "$u/upgrade.json" >&2; die "the bundle's upgrade failed"; }
				grep '^bench: ' "$u/upgrade.log" >&2 || true
				# where the whole upgrade's time goes, step by step, to compare with the manual guide's
				while read -r step took; do v "upgrade.ours.step.$step" s "$took"; done < <(jq -r \
					'.result.steps | group_by(.name)[] | "\(.[0].name) \(map(.took_ns) | add / 1e9)"' "$u/upgrade.json")
				v upgrade.ours.execute s "$(jq '.result.took_ns / 1e9' "$u/upgrade.json")" # the rest of the wall time: verify, preflight
				;;
			manual)
				cp "$offline" "$u/host/"
				m upgrade.manual "${disks[@]}" -- bash -c "{ TMPDIR='$u/tmp' '$root/scripts/manual-upgrade.sh' --parent '$u/host' \
					--package '$u/host/harbor-offline-installer-v1.10.0.tgz' --backup '$u/backup' --data '$u/data' -- ${flags[*]} &&
					'$work/wait-healthy.sh' $port v1.10.0 600; } >'$u/upgrade.log' 2>&1" ||
					{ tail -n 30 "$u/upgrade.log" >&2; die "the manual upgrade failed"; }
				while read -r step took; do v "upgrade.manual.step.$step" s "$took"; done < <(sed -n 's/^manual-upgrade: \([a-z-]*\) \([0-9.]*\)$/\1 \2/p' "$u/upgrade.log")
				;;
			makeself)
				cp "$a/harbor-1.10-makeself.run" "$u/host/"
				m upgrade.makeself "${disks[@]}" -- bash -c "{ cd '$u/host' && TMPDIR='$u/tmp' ./harbor-1.10-makeself.run --nox11 -- \
					--parent '$u/host' --package ./harbor-offline-installer-v1.10.0.tgz --backup '$u/backup' --data '$u/data' -- ${flags[*]} &&
					'$work/wait-healthy.sh' $port v1.10.0 600; } >'$u/upgrade.log' 2>&1" ||
					{ tail -n 30 "$u/upgrade.log" >&2; die "the makeself upgrade failed"; }
				;;
			esac
			curl -fsS "http://127.0.0.1:$port/api/projects" | grep -q '"bench"' || die "$method: the project made before the upgrade is gone"
			teardown_harbor
			unset images_before
			unlock
			rm -rf "$u"
		done
	done
}

# ---------------------------------------------------------------- report
report() { # RUNS
	"$benchtool" report --raw "$raw" --size "$size" --mix "$mix" --packages "$work/packages.txt" --size-bytes "$(bytes_of "$size")" --runs "$1" \
		--command "$command" --date "$date" --machine "$work/machine.json" --bundle "$("$bundle" --version 2>&1 | head -n 1)" \
		--md "$out/$name.md" --json "$out/$name.json"
}

first_mix=${mixes%% *}
for size in $sizes; do
	for mix in $mixes; do
		name=$day-$size # the synthetic mix's files keep the names they had before the mixes
		[ "$mix" = synthetic ] || name=$day-$size-$mix
		raw=$out/$name.raw.jsonl
		: >"$raw"
		serve
		artifacts
		anchors
		if [ "$mix" = "$first_mix" ]; then
			connected "$runs"
			verify_side
			if [ "$host_side" = 1 ]; then
				load_side
				upgrade_side
			fi
			report "$runs"
		else
			connected "$mix_runs"
			report "$mix_runs"
		fi
		rm -rf "${work:?}/$size"
	done
done
if [ -n "$readme" ]; then
	"$benchtool" readme --results "$out" --readme "$readme"
	echo "bench: README section updated from $out" >&2
fi
