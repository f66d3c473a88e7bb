#!/bin/bash
# A private QEMU 11 (the first Debian QEMU with the vfio-user-pci client)
# for the tests/qemu testbed: TESTBEDS.md, recipe B.
#
# Debian's trixie-backports has qemu-system-x86 11.x, built against a
# newer glibc than the host's.  It is never installed: a throwaway apt
# configuration (its own sources, lists, cache, and an *empty* dpkg status
# so that apt resolves the whole dependency closure) downloads the closure
# and `dpkg -x` unpacks every package into one directory, from which a
# wrapper script runs qemu-system-x86_64 through that directory's own
# dynamic loader.  /etc/apt is only read: the mirror and its keyring are
# the system's own.
#
# Prints the path of the wrapper on stdout (progress goes to stderr).
# Cached under $UVFIO_CACHE/qemu11 (default ~/.cache/uvfio): a second run
# only checks the wrapper.  Exit 2 when something cannot be had (no
# mirror configured, download failed, not QEMU 11): the caller decides
# whether that is a failure or a skip.
set -euo pipefail
cache=${UVFIO_CACHE:-${HOME:-/root}/.cache/uvfio}
top=$cache/qemu11
suite=trixie
pkg=qemu-system-x86
log() { echo "qemu-sysroot: $*" >&2; }
fail() { log "$*"; exit 2; }

wrapper=$top/root/qemu-system-x86_64
check() {   # the wrapper runs and is QEMU 11 with the vfio-user client
	local v
	v=$("$wrapper" --version 2>/dev/null | head -n1) || return 1
	case "$v" in
	"QEMU emulator version 11."*) ;;
	*) log "not QEMU 11: ${v:-no output}"; return 1 ;;
	esac
	"$wrapper" -device vfio-user-pci,help 2>/dev/null | grep -q '^vfio-user-pci options' ||
		{ log "$v has no vfio-user-pci"; return 1; }
}
if [ -f "$top/root/.done" ] && check; then
	echo "$wrapper"
	exit 0
fi

# ---- the mirror and keyring the system already uses -------------------

# deb822 stanzas first, then one-line sources.list entries; the first
# Debian archive (not -security, not a third party) wins.
mirror='' keyring=''
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] || continue
	read -r mirror keyring < <(awk '
		function flush() {
			if (uri != "" && suites !~ /-security/ && suites ~ /(bookworm|trixie|stable|testing|sid)/)
				{ print uri, key; found = 1; exit }
			uri = ""; key = ""; suites = ""
		}
		/^[ \t]*$/ { flush(); next }
		/^URIs:/ { uri = $2 }
		/^Suites:/ { $1 = ""; suites = $0 }
		/^Signed-By:/ { key = $2 }
		END { if (!found) flush() }' "$f") || true
	[ -n "$mirror" ] && break
done
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
	read -r mirror keyring < <(awk '
		$1 == "deb" {
			key = ""; i = 2
			if ($2 ~ /^\[/) {
				for (; i <= NF; i++) {
					if ($i ~ /signed-by=/) { key = $i; sub(/.*signed-by=/, "", key); sub(/\]$/, "", key) }
					if ($i ~ /\]$/) { i++; break }
				}
			}
			if ($(i + 1) !~ /-security/) { print $i, key; exit }
		}' /etc/apt/sources.list) || true
fi
[ -n "$mirror" ] || fail "no Debian mirror in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list"
# A source without Signed-By is checked against the archive keyring.
keyring=${keyring:-/usr/share/keyrings/debian-archive-keyring.gpg}
[ -f "$keyring" ] || fail "no archive keyring ($keyring) for $mirror"

# ---- a throwaway apt -----------------------------------------------------

apt=$top/apt
rm -rf "$apt"
mkdir -p "$apt"/{sources.list.d,lists/partial,cache/archives/partial,preferences.d}
: > "$apt/status"
cat > "$apt/sources.list" <<EOF
deb [arch=amd64 signed-by=$keyring] $mirror $suite main
deb [arch=amd64 signed-by=$keyring] $mirror $suite-backports main
EOF
opts=(
	-o "Dir::Etc::sourcelist=$apt/sources.list"
	-o "Dir::Etc::sourceparts=$apt/sources.list.d"
	-o "Dir::Etc::preferencesparts=$apt/preferences.d"
	-o "Dir::State::Lists=$apt/lists"
	-o "Dir::State::status=$apt/status"
	-o "Dir::Cache=$apt/cache"
	-o "APT::Architecture=amd64"
	-o "APT::Architectures=amd64"
	-o "APT::Get::AllowUnauthenticated=false"
	-o "Debug::NoLocking=1"
)
log "reading the $suite and $suite-backports package lists from the system's mirror"
apt-get "${opts[@]}" update >"$apt/update.log" 2>&1 ||
	{ tail -n 5 "$apt/update.log" >&2; fail "apt-get update (private lists) failed"; }

# The closure: with an empty status nothing counts as installed, so the
# simulated install lists every package the binary needs.
mapfile -t closure < <(apt-get "${opts[@]}" -s -t "$suite-backports" \
	--no-install-recommends install "$pkg/$suite-backports" 2>"$apt/resolve.log" |
	awk '$1 == "Inst" { v = $3; gsub(/[()]/, "", v); print $2 "=" v }')
((${#closure[@]})) || { cat "$apt/resolve.log" >&2; fail "cannot resolve $pkg/$suite-backports"; }
log "downloading ${#closure[@]} packages"
debs=$top/debs
rm -rf "$debs" && mkdir -p "$debs"
(cd "$debs" && apt-get "${opts[@]}" download "${closure[@]}" >"$apt/download.log" 2>&1) ||
	{ tail -n 5 "$apt/download.log" >&2; fail "apt-get download failed"; }

root=$top/root
rm -rf "$root.tmp" && mkdir -p "$root.tmp"
for d in "$debs"/*.deb; do
	dpkg -x "$d" "$root.tmp"
done
lib=$root/usr/lib/x86_64-linux-gnu
cat > "$root.tmp/qemu-system-x86_64" <<EOF
#!/bin/sh
# Generated by tests/qemu/sysroot.sh: QEMU from a private sysroot.  Its
# loadable modules first: the host's QEMU has modules of another build.
QEMU_MODULE_DIR="$lib/qemu" exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib:$root/lib/x86_64-linux-gnu" \\
	"$root/usr/bin/qemu-system-x86_64" -L "$root/usr/share/qemu" -L "$root/usr/share/seabios" "\$@"
EOF
chmod +x "$root.tmp/qemu-system-x86_64"
rm -rf "$root" && mv "$root.tmp" "$root"
rm -rf "$debs" "$apt/lists" "$apt/cache"
check || fail "the unpacked QEMU does not run as QEMU 11 with vfio-user-pci"
touch "$root/.done"
log "$("$wrapper" --version | head -n1) in $root ($(du -sh "$root" | cut -f1))"
echo "$wrapper"
