#!/bin/bash
# Run the libFuzzer targets (tests/fuzz): scripts/fuzz.sh TARGET SECONDS
#
#   TARGET   server | client | version | config | all
#   SECONDS  how long each target runs (default 60)
#
# Builds them with clang, ASan and UBSan in $FUZZ_BUILD (default
# build-fuzz), starting from the committed corpus and regression inputs.
# New corpus units go to $FUZZ_BUILD/fuzz-corpus/TARGET, never into the
# tree.  `all` runs $FUZZ_JOBS targets at a time (default: one per CPU).
# Fails on any finding (crash, sanitizer report, leak, timeout, the
# targets' own checks), leaving the input in $FUZZ_BUILD/fuzz-artifacts/
# TARGET/; it becomes a regression test once copied to
# tests/fuzz/regressions/TARGET/.  Executions per target are printed and
# kept in $FUZZ_BUILD/fuzz-stats.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

targets_all="server client version config"
target=${1:-}
secs=${2:-60}
build=${FUZZ_BUILD:-build-fuzz}
jobs=${FUZZ_JOBS:-$(nproc)}

case "$target" in
all) targets=$targets_all ;;
server|client|version|config) targets=$target ;;
*) echo "usage: $0 {server|client|version|config|all} [SECONDS]" >&2; exit 2 ;;
esac
if ! [[ "$secs" =~ ^[0-9]+$ ]] || [ "$secs" -lt 1 ]; then
	echo "fuzz.sh: SECONDS must be a positive number" >&2
	exit 2
fi

if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" --werror -Dfuzz=true \
		-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
if ! ninja -C "$build" $(for t in $targets; do echo tests/fuzz/fuzz-$t; done) \
	>"$build/fuzz-build.log" 2>&1; then
	cat "$build/fuzz-build.log" >&2
	echo "fuzz.sh: building the fuzz targets failed" >&2
	exit 1
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

run_one() {   # target: runs it, prints one summary line, returns 1 on a finding
	local t=$1
	local work=$build/fuzz-corpus/$t art=$build/fuzz-artifacts/$t/
	local log=$build/fuzz-logs/$t.log
	mkdir -p "$work" "$art" "$(dirname "$log")"
	local rc=0
	"$build/tests/fuzz/fuzz-$t" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
		-artifact_prefix="$art" "$work" \
		"tests/fuzz/corpus/$t" "tests/fuzz/regressions/$t" \
		>"$log" 2>&1 || rc=$?
	local execs
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	if [ "$rc" -ne 0 ]; then
		echo "fuzz $t: FINDING after ${execs:-?} executions (exit $rc)"
		grep -E "^(==[0-9]+==ERROR|SUMMARY|FUZZ FINDING|.*runtime error)" "$log" | head -5 || true
		ls "$art" | sed "s|^|  input: $art|"
		echo "  log: $log"
		return 1
	fi
	echo "$t ${secs} ${execs:-0}" >>"$build/fuzz-stats.txt"
	echo "fuzz $t: ${secs} s, ${execs:-0} executions, no finding"
}

fail=0
pids=()
names=()
for t in $targets; do
	run_one "$t" &
	pids+=($!)
	names+=("$t")
	if [ "${#pids[@]}" -ge "$jobs" ]; then
		wait "${pids[0]}" || fail=1
		pids=("${pids[@]:1}")
		names=("${names[@]:1}")
	fi
done
for p in "${pids[@]}"; do
	wait "$p" || fail=1
done
exit $fail
