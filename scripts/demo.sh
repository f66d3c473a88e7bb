#!/bin/bash
# The main demo: serve the edu device model with uvfio-serve on a
# temporary socket, inspect it with lsvfio, drive it with a small edu
# driver written on the client library, then stop the server.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD:-build}
if [ -z "${BUILD:-}" ]; then
	./scripts/deps.sh
	[ -f "$B/build.ninja" ] || meson setup "$B"
	ninja -C "$B"
fi
tmp=$(mktemp -d /tmp/uvfio-demo.XXXXXX)
sock=$tmp/edu.sock
"$B"/tools/uvfio-serve edu --socket-path="$sock" &
srv=$!
trap 'kill $srv 2>/dev/null || true; wait $srv 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
if [ -x "$B"/tools/lsvfio ]; then
	echo "== lsvfio $sock"
	"$B"/tools/lsvfio "$sock"
fi
echo "== uvfio-edu-demo $sock"
"$B"/examples/uvfio-edu-demo "$sock"
kill -TERM $srv
wait $srv
trap 'rm -rf "$tmp"' EXIT
echo "== uvfio-serve stopped cleanly; socket removed: $([ -e "$sock" ] && echo no || echo yes)"
