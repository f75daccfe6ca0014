#!/usr/bin/env bash
# debian-base.sh: build the Debian base image that the grading images start
# FROM, without any container registry.
#
# It runs debootstrap (variant minbase) against the Debian package mirror that
# this machine's apt already uses, trims the tree the way the official
# "-slim" images are trimmed, and `docker import`s it as
#     debian:<suite>-slim   and   debian:<suite>
# i.e. the names `docker pull` would give. The Dockerfiles in this directory
# therefore stay standard (`FROM debian:${DEBIAN_SUITE}-slim`) and work
# unchanged wherever a registry is reachable.
#
# Usage: containers/images/debian-base.sh [--force] [--suite SUITE]
#   --force        rebuild even if the image already exists
#   --suite SUITE  Debian suite (default: the host's VERSION_CODENAME)
# Environment:
#   INGO_DEBIAN_MIRROR   mirror URI to use instead of the one in apt's sources
#   INGO_DEBOOTSTRAP_TIMEOUT  seconds allowed for debootstrap (default 900)
#   TMPDIR               where the temporary root is made (default /var/tmp;
#                        must allow device nodes, so not a nodev tmpfs)
#
# Needs root (debootstrap) and a running Docker daemon. Installs debootstrap
# with apt-get if it is missing. The mirror is read at run time from apt's
# sources (/etc/apt/sources.list.d/*.sources, then /etc/apt/sources.list);
# no host name is written here on purpose.
set -euo pipefail

prog=${0##*/}
log() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { printf '%s: ERROR: %s\n' "$prog" "$*" >&2; exit 1; }

force=0
suite=""
while [ $# -gt 0 ]; do
	case "$1" in
	--force) force=1 ;;
	--suite) [ $# -ge 2 ] || die "--suite needs a value"; suite=$2; shift ;;
	--suite=*) suite=${1#--suite=} ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument: $1 (see --help)" ;;
	esac
	shift
done

if [ -z "$suite" ]; then
	[ -r /etc/os-release ] || die "no /etc/os-release: pass --suite"
	# shellcheck disable=SC1091
	suite=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
	[ -n "$suite" ] || die "/etc/os-release has no VERSION_CODENAME: pass --suite"
fi
case "$suite" in *[!a-z0-9-]*|"") die "bad suite name: $suite" ;; esac

slim="debian:${suite}-slim"
full="debian:${suite}"

command -v docker >/dev/null || die "docker CLI not found"
docker info >/dev/null 2>&1 || die "cannot reach the Docker daemon (is it running? are you allowed to use it?)"

have() { docker image inspect "$1" >/dev/null 2>&1; }

if [ "$force" -eq 0 ]; then
	if have "$slim" && have "$full"; then
		log "$slim and $full already exist (use --force to rebuild)"
		exit 0
	fi
	# One name missing: give it the other's image rather than rebuilding.
	if have "$slim"; then docker tag "$slim" "$full"; log "tagged $full from $slim"; exit 0; fi
	if have "$full"; then docker tag "$full" "$slim"; log "tagged $slim from $full"; exit 0; fi
fi

[ "$(id -u)" -eq 0 ] || die "debootstrap needs root"

# --- mirror, from apt's own configuration ---------------------------------
# Prints "URI" of the first enabled source that serves SUITE (deb822 files
# first, then one-line sources.list). Comment lines (e.g. a snapshot address)
# are ignored.
apt_uri_for_suite() {
	local want=$1 f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v want="$want" '
			function flush() {
				if (uris != "" && types ~ /(^|[ \t])deb([ \t]|$)/ && enabled !~ /^(no|false)$/) {
					n = split(suites, s, /[ \t]+/)
					for (i = 1; i <= n; i++) if (s[i] == want) { split(uris, u, /[ \t]+/); print u[1]; found = 1; exit }
				}
				uris = ""; suites = ""; types = ""; enabled = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			tolower($1) == "uris:"    { sub(/^[^:]*:[ \t]*/, ""); uris = $0; next }
			tolower($1) == "suites:"  { sub(/^[^:]*:[ \t]*/, ""); suites = $0; next }
			tolower($1) == "types:"   { sub(/^[^:]*:[ \t]*/, ""); types = $0; next }
			tolower($1) == "enabled:" { sub(/^[^:]*:[ \t]*/, ""); enabled = tolower($0); next }
			END { if (!found) flush() }
		' "$f" | head -n1 | grep . && return 0
	done
	if [ -r /etc/apt/sources.list ]; then
		awk -v want="$want" '
			$1 != "deb" { next }
			{ i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ } }
			$(i + 1) == want { print $i; exit }
		' /etc/apt/sources.list | grep . && return 0
	fi
	return 1
}

mirror=${INGO_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
	mirror=$(apt_uri_for_suite "$suite") ||
		die "no enabled apt source for suite '$suite' in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list; set INGO_DEBIAN_MIRROR"
fi
security=$(apt_uri_for_suite "${suite}-security" || true)
log "suite $suite, mirror from apt sources: $mirror${security:+ (security: $security)}"

# --- debootstrap ----------------------------------------------------------
if ! command -v debootstrap >/dev/null; then
	log "installing debootstrap with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	timeout 300 apt-get update -qq || log "apt-get update failed; trying to install anyway"
	timeout 300 apt-get install -y -qq --no-install-recommends debootstrap >/dev/null ||
		die "could not install debootstrap with apt-get"
fi
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || die "$keyring missing (apt-get install debian-archive-keyring)"

work=$(mktemp -d "${TMPDIR:-/var/tmp}/ingo-debian-base.XXXXXX")
root="$work/rootfs"
cleanup() {
	local rc=$? m
	set +e
	# debootstrap mounts proc/sys (and may bind /dev) inside the target; undo
	# any it left behind, deepest first, before deleting anything.
	if command -v findmnt >/dev/null; then
		findmnt -rn -o TARGET | { grep -F "$work/" || true; } | sort -r | while read -r m; do
			umount -l "$m" 2>/dev/null
		done
	fi
	rm -rf --one-file-system "$work"
	[ $rc -eq 0 ] || log "failed (exit $rc); temporary files removed"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$(date +%s)
log "debootstrap --variant=minbase $suite into $root (log: on failure)"
if ! timeout "${INGO_DEBOOTSTRAP_TIMEOUT:-900}" debootstrap \
	--variant=minbase --keyring="$keyring" --components=main \
	"$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
	tail -n 40 "$work/debootstrap.log" >&2 || true
	[ -r "$root/debootstrap/debootstrap.log" ] && tail -n 40 "$root/debootstrap/debootstrap.log" >&2
	die "debootstrap failed or timed out (see above)"
fi
log "debootstrap done in $(( $(date +%s) - t0 ))s"

# --- make it look like the official image -----------------------------------
# apt sources: the same mirror(s) this host uses, deb822 like the official image.
rm -f "$root/etc/apt/sources.list"
{
	printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: %s\n' \
		"$mirror" "$suite" "$suite" "$keyring"
	if [ -n "$security" ]; then
		printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: %s\n' \
			"$security" "$suite" "$keyring"
	fi
} >"$root/etc/apt/sources.list.d/debian.sources"

# The container tweaks that debuerreotype (the official images' builder) applies.
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
echo 'Acquire::GzipIndexes "true";' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
echo 'force-unsafe-io' >"$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
# "-slim": keep docs, man pages and translations out, now and for every
# package installed later in a derived image.
cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
EOF
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "$root/usr/share/info/"* "$root/usr/share/man/"* "$root/usr/share/linda/"* \
	"$root/usr/share/lintian/overrides/"*
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
# Nothing of this host or of the build in the image.
rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin "$root/var/cache/apt/archives/"*.deb \
	"$root/var/log/"*.log "$root/var/log/apt/"* "$root/debootstrap" "$root/tmp/"* "$root/var/tmp/"*
: >"$root/etc/resolv.conf"
: >"$root/etc/hostname"
[ -e "$root/etc/machine-id" ] && : >"$root/etc/machine-id"

# --- import ---------------------------------------------------------------
t1=$(date +%s)
old=$(docker image inspect --format '{{.Id}}' "$slim" 2>/dev/null || true)
log "importing as $slim"
id=$(tar --numeric-owner --xattrs --one-file-system -C "$root" \
	--exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf - . |
	timeout 600 docker import \
		--change 'CMD ["bash"]' \
		--message "debootstrap --variant=minbase $suite (ingo containers/images/debian-base.sh)" \
		- "$slim") || die "docker import failed"
docker tag "$slim" "$full" || die "docker tag $full failed"
# With --force the previous base is now untagged: drop it unless images
# built on it still use it (then the daemon refuses, which is what we want).
if [ -n "$old" ] && [ "$old" != "$id" ]; then
	docker image rm "$old" >/dev/null 2>&1 || true
fi
log "imported in $(( $(date +%s) - t1 ))s: $slim = $full = ${id#sha256:}"
docker image ls --format '  {{.Repository}}:{{.Tag}}  {{.Size}}' "debian:${suite}*" >&2
