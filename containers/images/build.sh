#!/usr/bin/env bash
# build.sh: build ingo's grading images.
#
#   1. builds the in-container helper as a static binary
#      (CGO_ENABLED=0 go build ./containers/helper/cmd/ingo-helper);
#   2. makes sure the Debian base exists (debian-base.sh: debootstrap +
#      docker import, no registry needed);
#   3. builds every containers/images/<name>/Dockerfile as ingo/env-<name>:latest
#      ("default" first, so other environments may start FROM ingo/env-default),
#      with the helper put into the build context as ./ingo-helper.
#
# An image is skipped when it exists and was built from the same inputs
# (Dockerfile and context files, helper binary, parent images): its label
# io.ingo.build.inputs holds their hash. So a changed helper or Dockerfile is
# rebuilt, an unchanged one costs nothing.
#
# Usage: containers/images/build.sh [--force] [--helper FILE] [-v] [NAME...]
#   --force        rebuild the images (with --no-cache) even if up to date;
#                  the Debian base is rebuilt only by `debian-base.sh --force`
#   --helper FILE  use this prebuilt static helper instead of building it
#   -v             show the full docker build output (default: steps only)
#   NAME...        build only these environments (default: all)
# Environment:
#   INGO_IMAGE_BUILD_TIMEOUT  seconds allowed per image build (default 1200)
#   DOCKER_BUILD_FLAGS        extra flags for docker build (word-split),
#                             e.g. "--network host" where the build
#                             containers cannot reach the package mirror
set -euo pipefail

prog=${0##*/}
log() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { printf '%s: ERROR: %s\n' "$prog" "$*" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

force=0
helper=""
verbose=0
names=()
while [ $# -gt 0 ]; do
	case "$1" in
	--force) force=1 ;;
	--helper) [ $# -ge 2 ] || die "--helper needs a file"; helper=$2; shift ;;
	--helper=*) helper=${1#--helper=} ;;
	-v|--verbose) verbose=1 ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option: $1 (see --help)" ;;
	*) names+=("$1") ;;
	esac
	shift
done

command -v docker >/dev/null || die "docker CLI not found"
docker info >/dev/null 2>&1 || die "cannot reach the Docker daemon (is it running? are you allowed to use it?)"

# --- environments to build -------------------------------------------------
if [ ${#names[@]} -eq 0 ]; then
	[ -f "$here/default/Dockerfile" ] && names+=(default)
	for d in "$here"/*/; do
		n=$(basename "$d")
		[ "$n" != default ] && [ -f "$d/Dockerfile" ] && names+=("$n")
	done
fi
[ ${#names[@]} -gt 0 ] || die "no environments found under $here"
for n in "${names[@]}"; do
	case "$n" in *[!a-z0-9._-]*|.*) die "bad environment name '$n' (lowercase letters, digits, . _ -)" ;; esac
	[ -f "$here/$n/Dockerfile" ] || die "no such environment: $here/$n/Dockerfile"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/ingo-images.XXXXXX")
trap 'rc=$?; rm -rf "$work"; [ $rc -eq 0 ] || log "failed (exit $rc)"; exit $rc' EXIT
trap 'exit 130' INT TERM

t_all=$(date +%s)

# --- 1. the helper ---------------------------------------------------------
if [ -n "$helper" ]; then
	{ [ -f "$helper" ] && [ -x "$helper" ]; } || die "--helper $helper: not an executable file"
	cp "$helper" "$work/ingo-helper"
	log "helper: using prebuilt $helper"
else
	pkg=./containers/helper/cmd/ingo-helper
	if [ ! -d "$repo/${pkg#./}" ]; then
		die "the in-container helper's package $pkg does not exist yet in $repo: it must be built before images can be (or pass --helper FILE)"
	fi
	gobin=$(command -v go || true)
	if [ -z "$gobin" ] && [ -x /usr/local/go/bin/go ]; then gobin=/usr/local/go/bin/go; fi
	[ -n "$gobin" ] || die "go not found on PATH or in /usr/local/go/bin (needed to build the helper)"
	t0=$(date +%s)
	log "helper: CGO_ENABLED=0 go build $pkg"
	(cd "$repo" && CGO_ENABLED=0 timeout 600 "$gobin" build -trimpath -ldflags='-s -w' \
		-o "$work/ingo-helper" "$pkg") || die "building the helper failed"
	log "helper: built in $(( $(date +%s) - t0 ))s"
fi
# The images must not depend on the base's libc: insist on a static binary.
if command -v readelf >/dev/null && readelf -l "$work/ingo-helper" 2>/dev/null | grep -q 'program interpreter'; then
	die "the helper is dynamically linked; it must be static (CGO_ENABLED=0)"
fi

# --- 2. the Debian base ----------------------------------------------------
# shellcheck disable=SC1091
suite=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
[ -n "$suite" ] || die "/etc/os-release has no VERSION_CODENAME"
"$here/debian-base.sh" --suite "$suite" || die "building the Debian base failed"

# --- 3. the images ---------------------------------------------------------
sha() { sha256sum | cut -c1-64; }

# Image IDs of the FROM lines of a Dockerfile (ARG DEBIAN_SUITE substituted),
# so that a rebuilt parent makes its children stale.
parents() {
	awk '
		toupper($1) == "FROM" {
			for (i = 2; i <= NF; i++) if ($i !~ /^--/) { print $i; break }
		}' "$1" | sed "s/\${DEBIAN_SUITE}/$suite/g; s/\$DEBIAN_SUITE/$suite/g" |
	while read -r ref; do
		[ "$ref" = scratch ] && continue
		printf '%s %s\n' "$ref" "$(docker image inspect --format '{{.Id}}' "$ref" 2>/dev/null || echo absent)"
	done
}

i=0
built=()
for n in "${names[@]}"; do
	i=$((i + 1))
	tag="ingo/env-$n:latest"
	ctx="$work/ctx-$n"
	mkdir -p "$ctx"
	cp -a "$here/$n/." "$ctx/"
	[ -e "$ctx/ingo-helper" ] && die "$here/$n/ingo-helper exists: remove it, the helper is added at build time"
	cp "$work/ingo-helper" "$ctx/ingo-helper"

	inputs=$( { (cd "$ctx" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum);
		parents "$ctx/Dockerfile"; echo "suite $suite"; } | sha)
	have=$(docker image inspect --format '{{index .Config.Labels "io.ingo.build.inputs"}}' "$tag" 2>/dev/null || true)
	if [ "$force" -eq 0 ] && [ "$have" = "$inputs" ]; then
		log "[$i/${#names[@]}] $tag is up to date (use --force to rebuild)"
		continue
	fi
	[ -n "$have" ] && [ "$force" -eq 0 ] && log "[$i/${#names[@]}] $tag exists but its inputs changed: rebuilding"

	args=(--tag "$tag" --label "io.ingo.build.inputs=$inputs")
	grep -q 'DEBIAN_SUITE' "$ctx/Dockerfile" && args+=(--build-arg "DEBIAN_SUITE=$suite")
	[ "$force" -eq 1 ] && args+=(--no-cache)
	# shellcheck disable=SC2206 # word-splitting wanted
	[ -n "${DOCKER_BUILD_FLAGS:-}" ] && args+=(${DOCKER_BUILD_FLAGS})

	t0=$(date +%s)
	log "[$i/${#names[@]}] building $tag"
	blog="$work/build-$n.log"
	if [ "$verbose" -eq 1 ]; then
		filter=(cat)
	else
		# legacy builder "Step 3/9 : ...", BuildKit "#5 [2/4] ..."
		filter=(grep --line-buffered -E '^(Step [0-9]+/[0-9]+ :|#[0-9]+ \[)')
	fi
	set +e
	timeout "${INGO_IMAGE_BUILD_TIMEOUT:-1200}" docker build "${args[@]}" "$ctx" 2>&1 |
		tee "$blog" | "${filter[@]}" | sed -u 's/^/    /' >&2
	rc=${PIPESTATUS[0]}
	set -e
	if [ "$rc" -ne 0 ]; then
		[ "$verbose" -eq 1 ] || tail -n 40 "$blog" >&2
		[ "$rc" -eq 124 ] && die "building $tag timed out after ${INGO_IMAGE_BUILD_TIMEOUT:-1200}s"
		die "building $tag failed (docker build exit $rc; see above)"
	fi
	name_label=$(docker image inspect --format '{{index .Config.Labels "org.inginious.grading.name"}}' "$tag")
	# The label is inherited: an image FROM ingo/env-default without its own
	# label would announce itself as "default" and shadow the real one.
	if [ "$name_label" != "$n" ]; then
		docker image rm "$tag" >/dev/null 2>&1 || true
		die "$tag: label org.inginious.grading.name is \"$name_label\", must be \"$n\" (add LABEL org.inginious.grading.name=\"$n\" to $n/Dockerfile); image removed"
	fi
	size=$(docker image inspect --format '{{.Size}}' "$tag")
	log "[$i/${#names[@]}] $tag built in $(( $(date +%s) - t0 ))s ($((size / 1000000)) MB, environment \"$name_label\")"
	built+=("$tag")
done

log "done in $(( $(date +%s) - t_all ))s; built: ${built[*]:-none}"
docker image ls --format '  {{.Repository}}:{{.Tag}}  {{.Size}}  {{.CreatedSince}}' 'ingo/env-*' >&2
