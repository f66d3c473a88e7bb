#!/bin/bash
# The main demo: serve the edu device model with uvfio-serve on a
# temporary socket, inspect it with lsvfio, drive it with a small edu
# driver written on the client library, then stop the server.
#
# Without BUILD it installs missing Debian packages (scripts/deps.sh) and
# builds in ./build first; BUILD=DIR uses the binaries already built in
# DIR as they are (no deps.sh, no build).  Exits non-zero when the server
# does not come up, a step fails, the server does not exit with status 0
# on SIGTERM or leaves its socket behind.  The server's own messages go
# to a log that is shown only when something failed.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD:-build}
if [ -z "${BUILD:-}" ]; then
	./scripts/deps.sh
	[ -f "$B/build.ninja" ] || meson setup "$B"
	ninja -C "$B"
fi
for bin in tools/uvfio-serve tools/lsvfio examples/uvfio-edu-demo; do
	if [ ! -x "$B/$bin" ]; then
		echo "demo: $B/$bin is missing: build first" >&2
		exit 1
	fi
done

tmp=$(mktemp -d /tmp/uvfio-demo.XXXXXX)
sock=$tmp/edu.sock
log=$tmp/uvfio-serve.log
srv=
cleanup() {
	if [ -n "$srv" ]; then
		kill "$srv" 2>/dev/null || true
		wait "$srv" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "demo: FAILED: $*" >&2
	if [ -s "$log" ]; then
		echo "demo: what uvfio-serve said:" >&2
		sed 's/^/    /' "$log" >&2
	fi
	exit 1
}

"$B"/tools/uvfio-serve edu --socket-path="$sock" 2>"$log" &
srv=$!
# It says so once it listens (and it creates the socket just before).
for _ in $(seq 200); do
	grep -q "listening on" "$log" && [ -S "$sock" ] && break
	kill -0 "$srv" 2>/dev/null || break
	sleep 0.05
done
grep -q "listening on" "$log" && [ -S "$sock" ] ||
	fail "uvfio-serve's socket $sock never appeared"

echo "== lsvfio $sock"
"$B"/tools/lsvfio "$sock" || fail "lsvfio $sock"
echo "== uvfio-edu-demo $sock"
"$B"/examples/uvfio-edu-demo "$sock" || fail "uvfio-edu-demo $sock"

kill -TERM "$srv"
status=0
wait "$srv" || status=$?
srv=
[ "$status" -eq 0 ] || fail "uvfio-serve exited with status $status on SIGTERM"
if [ -e "$sock" ]; then
	echo "== uvfio-serve stopped cleanly; socket removed: no"
	fail "uvfio-serve left its socket $sock behind"
fi
echo "== uvfio-serve stopped cleanly; socket removed: yes"
