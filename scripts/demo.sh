#!/bin/bash
# The main demo: serve the test device with uvfio-serve on a temporary
# socket, drive it with a small driver written on the client library,
# then stop the server.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD:-build}
tmp=$(mktemp -d /tmp/uvfio-demo.XXXXXX)
sock=$tmp/testdev.sock
"$B"/tools/uvfio-serve testdev --socket-path="$sock" &
srv=$!
trap 'kill $srv 2>/dev/null || true; wait $srv 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
echo "== uvfio-demo $sock"
"$B"/examples/uvfio-demo "$sock"
kill -TERM $srv
wait $srv
echo "== uvfio-serve exited cleanly; socket removed: $([ -e "$sock" ] && echo no || echo yes)"
