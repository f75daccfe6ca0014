#!/usr/bin/env bash
# build-services.sh: build the images of docker-compose.yml, without any
# registry (every image is FROM scratch; nothing is pulled):
#
#   ingo/ingo:dev  the static ingo binary (CGO_ENABLED=0 go build ./cmd/ingo),
#                  for the backend, api and agent services;
#   ingo/nats:dev  the real nats-server, built from the Go module go.mod pins
#                  (CGO_ENABLED=0 go build github.com/nats-io/nats-server/v2).
#
# The binaries are built on this machine with its Go toolchain, then copied
# with containers/images/services/{ingo,nats}.Dockerfile into the build
# contexts bin/compose/ingo/ and bin/compose/nats/, which docker-compose.yml's
# `build:` sections also point at (bin/ is git-ignored). A Dockerfile
# `FROM golang` would need a registry.
#
# The grading images (ingo/env-*) are not built here: `make images` does.
#
# Usage: containers/images/build-services.sh [-q]
#   -q   print only the image names and ids (default: the build steps too)
# Environment:
#   GO         the go command (default: go, else /usr/local/go/bin/go)
#   VERSION    version stamped into `ingo version` (default: git describe, else dev)
#   DOCKER_BUILD_FLAGS  extra flags for docker build (word-split)
set -euo pipefail

prog=${0##*/}
log() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { printf '%s: ERROR: %s\n' "$prog" "$*" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
quiet=0
case "${1:-}" in
-q) quiet=1 ;;
"") ;;
-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
*) die "unknown argument: $1 (see --help)" ;;
esac

gobin=${GO:-$(command -v go || true)}
if [ -z "$gobin" ] && [ -x /usr/local/go/bin/go ]; then gobin=/usr/local/go/bin/go; fi
[ -n "$gobin" ] || die "go not found on PATH or in /usr/local/go/bin"
command -v docker >/dev/null || die "docker CLI not found"
docker info >/dev/null 2>&1 || die "cannot reach the Docker daemon (is it running? are you allowed to use it?)"

t_all=$(date +%s)
cd "$repo"
version=${VERSION:-$(git describe --tags --dirty 2>/dev/null || echo dev)}
commit=$(git rev-parse --short HEAD 2>/dev/null || true)
out=$repo/bin/compose
mkdir -p "$out/ingo" "$out/nats"

build() { # build OUTPUT PACKAGE [LDFLAGS]
	log "CGO_ENABLED=0 go build -o ${1#"$repo"/} $2"
	CGO_ENABLED=0 timeout 600 "$gobin" build -trimpath -ldflags="-s -w ${3:-}" -o "$1.tmp" "$2" ||
		die "building $2 failed"
	if command -v readelf >/dev/null && readelf -l "$1.tmp" 2>/dev/null | grep -q 'program interpreter'; then
		die "$2 was linked dynamically; a FROM scratch image needs a static binary"
	fi
	mv -f "$1.tmp" "$1"
}
build "$out/ingo/ingo" ./cmd/ingo "-X main.version=$version -X main.commit=$commit"
build "$out/nats/nats-server" github.com/nats-io/nats-server/v2
cp "$here/services/ingo.Dockerfile" "$out/ingo/Dockerfile"
# The ingo image's only directory, /tmp (mode 1777), as a tar for ADD.
# Fixed owner and time, so an unchanged tar keeps the build cache.
# Also /var/lib/ingo, the data directory of the services (XDG_DATA_HOME
# /var/lib), owned by the unprivileged user 65534 that docker-compose.yml
# runs them as: a named volume mounted there starts with that owner.
rm -rf "$out/ingo/rootfs" && mkdir -p "$out/ingo/rootfs/tmp" "$out/ingo/rootfs/var/lib/ingo" &&
	chmod 1777 "$out/ingo/rootfs/tmp" && chmod 0700 "$out/ingo/rootfs/var/lib/ingo"
tar -C "$out/ingo/rootfs" --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$out/ingo/rootfs.tar" tmp
tar -C "$out/ingo/rootfs" --owner=65534 --group=65534 --numeric-owner --mtime=@0 -rf "$out/ingo/rootfs.tar" var
rm -rf "$out/ingo/rootfs"
cp "$here/services/nats.Dockerfile" "$out/nats/Dockerfile"

for name in ingo nats; do
	tag=ingo/$name:dev ctx=$out/$name
	args=(--tag "$tag" --label "io.ingo.version=$version")
	# shellcheck disable=SC2206 # word-splitting wanted
	[ -n "${DOCKER_BUILD_FLAGS:-}" ] && args+=(${DOCKER_BUILD_FLAGS})
	if [ "$quiet" -eq 1 ]; then
		args+=(--quiet)
		docker build "${args[@]}" "$ctx" >/dev/null || die "docker build $tag failed"
	else
		docker build "${args[@]}" "$ctx" 2>&1 | sed -u 's/^/    /' >&2
		[ "${PIPESTATUS[0]}" -eq 0 ] || die "docker build $tag failed"
	fi
	log "$tag: $(docker image inspect --format '{{.Id}} ({{.Size}} bytes)' "$tag")"
done
log "done in $(( $(date +%s) - t_all ))s; now: docker-compose up -d (or docker compose up -d)"
