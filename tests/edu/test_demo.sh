#!/bin/bash
# The README's main demo, scripts/demo.sh, against this build directory
# (BUILD= skips deps.sh and the build): its output must show lsvfio's
# header for 1234:11e8, the edu results (ID, liveness, 10! by interrupt,
# 4 KiB DMA data identical) and the socket removed, without the server's
# own messages in between.  Then with a broken piece each time (a server
# that never listens, a failing step, a server that leaves its socket),
# demo.sh must fail and say why.
# Usage: test_demo.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
src=$1
build=$2
demo=$src/scripts/demo.sh
bad=0
note() { echo "test_demo: $*"; bad=1; }

out=$(BUILD="$build" "$demo" 2>&1)
status=$?
echo "$out"
[ "$status" -eq 0 ] || note "demo.sh exited with status $status"
expect() {
	grep -qE -- "$1" <<<"$out" || note "missing from the demo's output: $1"
}
expect '^== lsvfio /tmp/uvfio-demo\.[^ ]*/edu\.sock$'
expect '^/tmp/uvfio-demo\.[^ ]*/edu\.sock: Unclassified device \[00ff\]: Device \[1234:11e8\] \(rev 10\)$'
expect '^ok +identification 0x010000ed$'
expect '^ok +liveness: wrote 0x12345678, read 0xedcba987$'
expect '^ok +factorial 10! = 3628800, completion interrupt by MSI received'
expect '^ok +DMA 4096 bytes device -> RAM: interrupt received, data identical'
expect '^== uvfio-serve stopped cleanly; socket removed: yes$'
if grep -qE '^FAIL|uvfio-serve:' <<<"$out"; then
	note "a failed step or the server's messages in the output"
fi
[ "$(grep -c '^ok ' <<<"$out")" -ge 4 ] || note "fewer than four edu results"

# demo.sh on a copy of the build whose one piece is replaced by @2.
broken() {   # name, replaced binary, script, expected message
	local t
	t=$(mktemp -d /tmp/uvfio-demo-test.XXXXXX)
	mkdir -p "$t/tools" "$t/examples"
	ln -s "$build/tools/uvfio-serve" "$t/tools/uvfio-serve"
	ln -s "$build/tools/lsvfio" "$t/tools/lsvfio"
	ln -s "$build/examples/uvfio-edu-demo" "$t/examples/uvfio-edu-demo"
	rm "$t/$2"
	printf '#!/bin/bash\nreal=%q\n%s\n' "$build/$2" "$3" > "$t/$2"
	chmod +x "$t/$2"
	local o s
	o=$(BUILD="$t" timeout 60 "$demo" 2>&1)
	s=$?
	rm -rf "$t"
	if [ "$s" -eq 0 ] || [ "$s" -eq 124 ] || ! grep -qF -- "$4" <<<"$o"; then
		echo "$o"
		note "$1: status $s, expected a failure saying '$4'"
	fi
}
broken "server exits at once" tools/uvfio-serve \
	'echo "uvfio-serve: cannot serve on the socket" >&2; exit 1' \
	"uvfio-serve: cannot serve on the socket"
broken "a demo step fails" examples/uvfio-edu-demo \
	'"$real" "$@"; echo "FAIL pretend"; exit 1' \
	"demo: FAILED: uvfio-edu-demo"
# Killed hard on SIGTERM (socket left), the wrapper itself exits 0.
broken "socket left behind" tools/uvfio-serve \
	'"$real" "$@" & pid=$!; trap "kill -KILL $pid; wait $pid; exit 0" TERM; wait $pid' \
	"socket removed: no"
broken "exit status on SIGTERM" tools/uvfio-serve \
	'"$real" "$@" & pid=$!; trap "kill -TERM $pid; wait $pid; exit 3" TERM; wait $pid' \
	"exited with status 3 on SIGTERM"
exit $bad
