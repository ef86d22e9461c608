#!/usr/bin/env bash
# manual-upgrade.sh: Harbor's upgrade guide ("Upgrade Harbor and Migrate Data", 1.10) performed
# literally, step by step, with nothing added but argument handling, a check that no image is
# pulled, and timings. It is the "manual path" bundle is compared with, in tests and benchmarks.
#
# usage: manual-upgrade.sh --parent DIR --package FILE.tgz --backup DIR [--data DIR] [--tag TAG]
#                          [-- INSTALL_FLAGS...]
#   --parent DIR    the directory holding the current install dir harbor/ (env HARBOR_PARENT;
#                   default: the current directory)
#   --package FILE  the new release's offline installer, harbor-offline-installer-vX.tgz
#                   (env HARBOR_PACKAGE; required)
#   --backup DIR    /my_backup_dir of the guide (env BACKUP_DIR; required; must exist)
#   --data DIR      data_volume of the install (env DATA_VOLUME; default: read from
#                   harbor/harbor.yml, else /data)
#   --tag TAG       the migrator's tag (env MIGRATOR_TAG; default: vX from the package name)
#   after --         install.sh's flags, the same as the current install's (env INSTALL_FLAGS),
#                   e.g. -- --with-clair --with-chartmuseum
#
# Deviations from the guide, each forced by running without a person at a terminal:
#   - `docker run -it` needs a TTY; without one docker refuses ("the input device is not a
#     TTY"). The script keeps -i and answers the migrator's "Enter y to continue" by writing y
#     to its stdin, as the person would (not SKIP_CONFIRM=y, which would skip the question the
#     guide's user sees). With a TTY on stdin it runs -it as written.
#   - ${harbor_yml} of the guide is the old install's harbor.yml copied into the new harbor/ dir
#     (the guide's "Copy ... to harbor.yml and upgrade it"); the mount uses its absolute path.
#   - Before `docker run`, the migrator image must be present: the guide's `docker run` would
#     otherwise pull it from Docker Hub, which this script never lets happen.
# Timings of each step go to stderr as "manual-upgrade: STEP SECONDS".
set -euo pipefail

parent=${HARBOR_PARENT:-$PWD}
package=${HARBOR_PACKAGE:-}
backup=${BACKUP_DIR:-}
data=${DATA_VOLUME:-}
tag=${MIGRATOR_TAG:-}
read -r -a flags <<<"${INSTALL_FLAGS:-}"

usage() { sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "manual-upgrade: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case $1 in
	--parent) parent=$2; shift 2;;
	--package) package=$2; shift 2;;
	--backup) backup=$2; shift 2;;
	--data) data=$2; shift 2;;
	--tag) tag=$2; shift 2;;
	--) shift; flags=("$@"); break;;
	-h|--help) usage;;
	*) echo "manual-upgrade: unknown argument $1" >&2; usage;;
	esac
done

[ -n "$package" ] || die "--package FILE.tgz is required (the new release's offline installer)"
[ -n "$backup" ] || die "--backup DIR is required"
[ -f "$package" ] || die "no such package: $package"
[ -d "$backup" ] || die "backup dir $backup does not exist: create it first"
[ -d "$parent/harbor" ] || die "no harbor/ install dir in $parent"
[ ! -e "$backup/harbor" ] || die "$backup/harbor already exists: choose an empty backup dir"
package=$(cd "$(dirname "$package")" && pwd)/$(basename "$package")
backup=$(cd "$backup" && pwd)
if [ -z "$tag" ]; then
	tag=$(basename "$package" | sed -n 's/^harbor-offline-installer-\(v[0-9.]*\)\.tgz$/\1/p')
	[ -n "$tag" ] || die "cannot read the version from $(basename "$package"): pass --tag vX.Y.Z"
fi
if [ -z "$data" ]; then
	data=$(sed -n 's/^data_volume:[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$parent/harbor/harbor.yml")
	data=${data:-/data}
fi

now_ms() { echo $(($(date +%s%N) / 1000000)); }
seconds_since() { local ms=$(($(now_ms) - $1)); printf '%d.%03d' $((ms / 1000)) $((ms % 1000)); }
step_start=$(now_ms)
total_start=$step_start
step_done() {
	echo "manual-upgrade: $1 $(seconds_since "$step_start")" >&2
	step_start=$(now_ms)
}

cd "$parent"

# 1. Stop and remove the existing Harbor instance.
(cd harbor && docker-compose down)
step_done stop

# 2. Back up Harbor's current files.
mv harbor "$backup/harbor"
step_done backup-files

# 3. Back up the database.
cp -r "$data/database" "$backup/"
step_done backup-database

# 5. Load the images from the offline package (tar zxf, docker image load -i).
tar zxf "$package"
docker image load -i "harbor/harbor.$tag.tar.gz"
step_done load

# 6. Upgrade harbor.yml with the migrator.
cp "$backup/harbor/harbor.yml" harbor/harbor.yml
harbor_yml=$PWD/harbor/harbor.yml
migrator=goharbor/harbor-migrator:$tag
docker image inspect "$migrator" >/dev/null 2>&1 || die "$migrator is not loaded: docker run would pull it"
if [ -t 0 ]; then
	docker run -it --rm -v "${harbor_yml}:/harbor-migration/harbor-cfg/harbor.yml" "$migrator" --cfg up
else
	echo y | docker run -i --rm -v "${harbor_yml}:/harbor-migration/harbor-cfg/harbor.yml" "$migrator" --cfg up
fi
step_done migrate

# 7. Install the new Harbor with the same components.
cd harbor
./install.sh "${flags[@]}"
step_done install

echo "manual-upgrade: total $(seconds_since "$total_start")" >&2
