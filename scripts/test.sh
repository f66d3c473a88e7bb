#!/bin/bash
# The whole test suite: a normal gcc build, the real-kernel VM test
# (tests/vm), QEMU 11's vfio-user client (tests/qemu), a clang build, an
# ASan+UBSan build, short runs of every fuzz target, and valgrind on the
# protocol and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
jobs=$(nproc)

run_build() {   # dir, meson args...
	local dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" --werror "$@"
	fi
	ninja -C "$dir"
}

echo "=== gcc build + tests"
run_build build
meson test -C build --num-processes "$jobs" --print-errorlogs --no-suite vm --no-suite qemu

# Debian's kernel under QEMU with edu and nvme bound to vfio-pci: the
# kernel backend, and the shared edu driver test compared line by line
# with its run over vfio-user.  Seconds once the kernel package is cached
# (~/.cache/uvfio); a failed download fails with CI=true, else it is a
# loud skip.
echo "=== real kernel: vfio-pci in a QEMU guest (tests/vm/run.sh)"
meson test -C build --suite vm --verbose --print-errorlogs

# QEMU 11 (trixie-backports, a private sysroot cached in ~/.cache/uvfio)
# attaches uvfio-serve's edu to a guest with its vfio-user-pci client; the
# guest's kernel vfio-pci drives it and the edu driver log must equal the
# host's direct run (and the VM step's, just above).  Shared and private
# guest RAM, a reboot in each.  Same download rules as the VM step.
echo "=== QEMU 11 vfio-user-pci client → uvfio-serve (tests/qemu/run.sh)"
meson test -C build --suite qemu --verbose --print-errorlogs

echo "=== meson install + programs built against the installed library, run"
# The demo (examples/demo.c) built twice from the install tree alone: with
# the shared library (run with LD_LIBRARY_PATH into the tree), and fully
# static with libuvfio.a (pkg-config --static adds json-c's archive and
# -pthread).  Both drive the installed uvfio-serve's testdev on a
# temporary socket; the demo exits 0 only when every exchange checked out.
# The installed libuvfio.a defines only the uvfio_* API, as libuvfio.so
# (tests/static/check_archive.sh), and uvfio-clash (tests/static/clash.c),
# which defines functions named like the library's internal ones
# (handle_message, pci_cfg_read, dev_reset ...), links with it statically
# and serves itself a device without the library calling any of them.
inst=$(mktemp -d /tmp/uvfio-install.XXXXXX)
srv=
trap '[ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$inst"' EXIT
DESTDIR=$inst meson install -C build --quiet
pcdir=$(dirname "$(find "$inst" -name uvfio.pc)")
libdir=$(dirname "$pcdir")
pkgc() { PKG_CONFIG_SYSROOT_DIR=$inst PKG_CONFIG_PATH=$pcdir pkg-config "$@"; }
gcc -Wall -Werror -o "$inst/demo" examples/demo.c -I. $(pkgc --cflags --libs uvfio)
gcc -Wall -Werror -static -o "$inst/demo-static" examples/demo.c -I. \
	$(pkgc --static --cflags --libs uvfio)
deps=$(LD_LIBRARY_PATH=$libdir ldd "$inst/demo")
case $deps in *"libuvfio.so.0 => $libdir/"*) ;;
	*) echo "demo does not load the installed libuvfio.so: $deps"; exit 1 ;;
esac
gcc -Wall -Werror -static -o "$inst/clash-static" tests/static/clash.c \
	$(pkgc --static --cflags --libs uvfio)
for p in demo-static clash-static; do
	if ldd "$inst/$p" >/dev/null 2>&1; then
		echo "$p is not a static executable"; exit 1
	fi
done
tests/static/check_archive.sh "$libdir/libuvfio.a" "$libdir/libuvfio.so"
"$inst/clash-static"
"$(find "$inst" -name uvfio-serve -type f)" testdev --socket-path="$inst/testdev.sock" &
srv=$!
for _ in $(seq 200); do [ -S "$inst/testdev.sock" ] && break; sleep 0.05; done
LD_LIBRARY_PATH=$libdir "$inst/demo" "$inst/testdev.sock" >"$inst/demo.out" ||
	{ cat "$inst/demo.out"; exit 1; }
"$inst/demo-static" "$inst/testdev.sock" >"$inst/demo-static.out" ||
	{ cat "$inst/demo-static.out"; exit 1; }
kill -TERM "$srv"
wait "$srv"
srv=
echo "installed library: the demo linked shared and static ran against testdev:"
grep "BAR0 ID register" "$inst/demo.out" "$inst/demo-static.out"
rm -rf "$inst"
trap - EXIT

echo "=== clang build (warnings are errors)"
CC=clang run_build build-clang

echo "=== ASan+UBSan build + tests"
run_build build-asan -Db_sanitize=address,undefined -Db_lundef=false
meson test -C build-asan --num-processes "$jobs" --print-errorlogs

# libFuzzer targets (tests/fuzz), 60 s each, from the committed corpus;
# any finding fails the run (scripts/fuzz.sh).  The normal builds above
# already replayed every corpus and regression input ('fuzz' suite).
echo "=== fuzz targets: 60 s each (clang, libFuzzer, ASan+UBSan)"
if echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
	clang -x c -fsanitize=fuzzer,address,undefined -o /dev/null - 2>/dev/null; then
	FUZZ_BUILD=build-fuzz ./scripts/fuzz.sh all 60
elif [ "${CI:-}" = true ]; then
	echo "clang cannot link a libFuzzer target (libclang-rt-14-dev missing?): fuzz runs cannot run in CI" >&2
	exit 1
else
	echo "clang with libFuzzer (libclang-rt-14-dev) not available: FUZZ RUNS SKIPPED" >&2
fi

# Both sides under valgrind: --wrapper runs the test programs (the client
# library) under it, UVFIO_SERVE_WRAPPER the uvfio-serve processes they
# start (tests/common/testutil.c).  A server's valgrind errors end it with
# status 99, which fails the test that started it.
echo "=== valgrind: protocol and integration tests, client and server"
vg='valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite -q'
UVFIO_SERVE_WRAPPER=$vg meson test -C build --num-processes "$jobs" --print-errorlogs \
	--suite proto --suite integration --timeout-multiplier 4 --wrapper "$vg"

echo "=== all tests passed"
