#!/usr/bin/env bash
# Installs the docker compose v2 CLI plugin (the tool Harbor 2.x's install.sh prefers) at a
# pinned version, built from its Go module because no binary download is reachable here.
#
# `go install github.com/docker/compose/v2/cmd@VERSION` is refused (the module's go.mod has
# exclude/replace directives, which go install rejects), so the module is downloaded, copied
# to a writable directory and built there, where its own go.mod directives apply.
# The binary is cached per version so a rerun (or a fresh plugin directory) costs no build; the
# Go build cache stays the shared one. Installation is temp file + rename: a half-written
# plugin is never visible to docker.
#
# Usage: build-compose-plugin.sh [VERSION]   (default $COMPOSE_VERSION, else v2.40.3)
# Env:   GO (go), COMPOSE_PLUGIN_DIR (/usr/local/lib/docker/cli-plugins),
#        COMPOSE_CACHE_DIR ($XDG_CACHE_HOME or ~/.cache, then /bundle-compose)
set -euo pipefail

version=${1:-${COMPOSE_VERSION:-v2.40.3}}
[[ $version == v* ]] || version=v$version
GO=${GO:-go}
plugin_dir=${COMPOSE_PLUGIN_DIR:-/usr/local/lib/docker/cli-plugins}
cache_dir=${COMPOSE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bundle-compose}
cached=$cache_dir/$version/docker-compose
target=$plugin_dir/docker-compose

fail() { echo "build-compose-plugin: $*" >&2; exit 1; }

# Already installed at this version, and the one `docker compose` runs: nothing to do.
if [[ -x $target ]] && [[ $("$target" version --short 2>/dev/null) == "${version#v}" ]] &&
  { ! command -v docker >/dev/null || [[ $(docker compose version --short 2>/dev/null) == "${version#v}" ]]; }; then
  exit 0
fi

if [[ ! -x $cached ]] || [[ $("$cached" version --short 2>/dev/null) != "${version#v}" ]]; then
  echo "building docker compose $version from its Go module (a few minutes, once per version)"
  start=$SECONDS
  work=$(mktemp -d)
  trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
  # GOFLAGS=-mod=mod: the module cache copy has no vendor dir, and a caller's -mod=vendor or
  # -mod=readonly must not stop go from completing the module's go.sum.
  # go mod download -json reports a failure in the JSON's "Error" field, on stdout.
  json=$(cd "$work" && GOFLAGS=-mod=mod "$GO" mod download -json "github.com/docker/compose/v2@$version") ||
    fail "go mod download github.com/docker/compose/v2@$version failed: $(sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")"
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")
  [[ -n $dir && -d $dir ]] || fail "go mod download gave no source directory for docker compose $version"
  cp -r "$dir" "$work/src" && chmod -R u+w "$work/src" || fail "cannot copy the compose source to $work/src"
  mkdir -p "$cache_dir/$version" || fail "cannot create cache dir $cache_dir/$version"
  (cd "$work/src" && CGO_ENABLED=0 GOFLAGS=-mod=mod "$GO" build -trimpath \
    -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$version" \
    -o "$work/docker-compose" ./cmd) || fail "go build of docker compose $version failed (see above)"
  # Into the cache under a name of this run's own, then renamed: two make tools at once (each
  # with its own $work) must not move each other's half-written file (a shared
  # docker-compose.tmp raced: "mv: cannot stat"). The last rename wins; both are whole builds.
  staged=$(mktemp "$cache_dir/$version/.docker-compose.XXXXXX") || fail "cannot write to $cache_dir/$version"
  cp "$work/docker-compose" "$staged" && chmod 0755 "$staged" && mv -f "$staged" "$cached" ||
    { rm -f "$staged"; fail "cannot store the built plugin at $cached"; }
  echo "built docker compose $version in $((SECONDS - start))s (cached at $cached)"
fi

mkdir -p "$plugin_dir" || fail "cannot create plugin dir $plugin_dir"
tmp=$(mktemp "$plugin_dir/.docker-compose.XXXXXX") || fail "cannot write to $plugin_dir"
cp "$cached" "$tmp" && chmod 0755 "$tmp" && mv -f "$tmp" "$target" ||
  { rm -f "$tmp"; fail "cannot install $target"; }
got=$("$target" version --short 2>/dev/null) || fail "installed $target does not run"
[[ $got == "${version#v}" ]] || fail "installed $target reports version $got, want ${version#v}"
# What counts is what `docker compose` runs: a plugin in ~/.docker/cli-plugins would win.
if command -v docker >/dev/null; then
  via=$(docker compose version --short 2>/dev/null) || fail "docker compose does not run the plugin installed at $target"
  [[ $via == "${version#v}" ]] || fail "docker compose runs version $via, not $target's ${version#v} (another plugin directory shadows it)"
fi
echo "installed docker compose $got at $target"
