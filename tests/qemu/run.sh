#!/bin/bash
# QEMU 11's vfio-user-pci client against uvfio-serve (TESTBEDS.md, B).
#
# `uvfio-serve edu` runs on the host; QEMU 11 (a private sysroot from
# trixie-backports, tests/qemu/sysroot.sh) boots Debian's kernel under TCG
# with an emulated VT-d IOMMU and attaches the served device behind a PCIe
# root port with `-device vfio-user-pci`.  In the guest the device is a PCI
# device like any other: its capability list is read from config space,
# it is bound to the guest kernel's vfio-pci, and the shared edu driver
# test (uvfio-vm-edu) runs on it — so every access, interrupt and DMA
# crosses the guest kernel, QEMU's vfio-user client and uvfio's server.
# Its log must be identical line by line to the same test run directly
# on the host over vfio-user (and to the one tests/vm got from QEMU's own
# edu through the kernel, when that run left its log).
#
# Two guests, each rebooting once and repeating the test after the reset:
#   memfd   guest RAM shared with the server (DMA_MAP carries fds)
#   plain   private guest RAM: every device DMA is a DMA_READ/DMA_WRITE
#           message that QEMU answers
# Then the server's --verbose log must show no error reply other than the
# expected ones, and the server must still be alive and exit 0 on SIGTERM.
#
# Inputs (meson sets them): UVFIO_VM_EDU, UVFIO_VM_LSVFIO, UVFIO_LSVFIO,
# UVFIO_SERVE; or a build directory as $1.  Downloads are cached under
# $UVFIO_CACHE (default ~/.cache/uvfio).  What cannot be had is a failure
# with CI=true and a loud skip (exit 77) otherwise.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -ge 1 ]; then
	b=$(cd "$1" && pwd)
	UVFIO_VM_EDU=${UVFIO_VM_EDU:-$b/tests/vm/uvfio-vm-edu}
	UVFIO_VM_LSVFIO=${UVFIO_VM_LSVFIO:-$b/tests/vm/lsvfio-static}
	UVFIO_LSVFIO=${UVFIO_LSVFIO:-$b/tools/lsvfio}
	UVFIO_SERVE=${UVFIO_SERVE:-$b/tools/uvfio-serve}
fi
: "${UVFIO_VM_EDU:?set UVFIO_VM_EDU or pass the build directory}"
: "${UVFIO_VM_LSVFIO:?}" "${UVFIO_LSVFIO:?}" "${UVFIO_SERVE:?}"
cache=${UVFIO_CACHE:-${HOME:-/root}/.cache/uvfio}
boot_timeout=${UVFIO_QEMU_TIMEOUT:-150}
t0=$(date +%s.%N)
me=qemu
# shellcheck source=tests/vm/lib.sh
. "$here/../vm/lib.sh"

guest_tools "$UVFIO_VM_EDU" "$UVFIO_VM_LSVFIO"
qemu=$("$here/sysroot.sh") || unavailable "no QEMU 11 (tests/qemu/sysroot.sh failed)"
fetch_kernel

work=$(mktemp -d /tmp/uvfio-qemu.XXXXXX)
srv_pid=
cleanup() {
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
	if [ "${UVFIO_QEMU_KEEP:-}" ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

root=$work/root
initramfs_base "$root"
cp "$UVFIO_VM_EDU" "$root/bin/uvfio-vm-edu"
cp "$UVFIO_VM_LSVFIO" "$root/bin/lsvfio"
install -m 755 "$here/init.sh" "$root/init"
initramfs_pack "$root" "$work/initrd.gz"

fail=0
bad() { echo "qemu: FAIL: $*"; fail=1; }

# ---- the server, and the same test directly over vfio-user -------------

sock=$work/edu.sock
"$UVFIO_SERVE" edu --socket-path="$sock" --verbose 2> "$work/serve.log" &
srv_pid=$!
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.02; done
[ -S "$sock" ] || { cat "$work/serve.log"; echo "qemu: FAILED: uvfio-serve did not listen" >&2; exit 1; }
host_rc=0
"$UVFIO_VM_EDU" "$sock" > "$work/host-edu.log" 2>&1 || host_rc=$?
"$UVFIO_LSVFIO" "$sock" > "$work/host-lsvfio.log" 2>&1 || bad "lsvfio on the host failed"
[ "$host_rc" = 0 ] || bad "uvfio-vm-edu failed on the host"
[ -s "$work/host-edu.log" ] || bad "empty host edu log"
echo "=== shared edu driver test, host (uvfio-vm-edu over vfio-user), exit $host_rc"
cat "$work/host-edu.log"
# The capabilities uvfio-serve declares, as "[offset] name".
caps_of() { sed -n 's/^\tCapabilities: \[\([0-9a-f]*\)\] \([^:]*\):.*/[\1] \2/p' "$1"; }
caps_of "$work/host-lsvfio.log" > "$work/host-caps"
[ -s "$work/host-caps" ] || bad "lsvfio shows no capability of uvfio's edu"
echo "--- capabilities uvfio-serve edu declares (lsvfio $sock):"
cat "$work/host-caps"
# The PCI capability IDs of those names, for the guest's raw config walk.
cap_id() {
	case "$1" in
	"Power Management") echo 0x01 ;; MSI) echo 0x05 ;; Vendor*) echo 0x09 ;;
	Express*) echo 0x10 ;; MSI-X) echo 0x11 ;; *) echo "?" ;;
	esac
}
while read -r off name; do
	echo "cap $off id $(cap_id "$name")"
done < "$work/host-caps" > "$work/host-capwalk"

# ---- the guests ----------------------------------------------------------

# The server's log from here on is QEMU's conversation (lsvfio above
# probes DEVICE_FEATUREs that edu does not have: ENOTTY, as asked).
host_lines=$(wc -l < "$work/serve.log")

qver=$("$qemu" --version | head -n1)
boot_guest() {   # name, extra QEMU arguments...
	local name=$1 tb rc=0; shift
	log "booting $(basename "$vmlinuz") under $qver, $name guest RAM (reboots once)"
	tb=$(date +%s.%N)
	timeout "$boot_timeout" "$qemu" \
		-machine q35,kernel-irqchip=split -accel tcg -cpu max \
		-m 512 -smp 1 "$@" \
		-device intel-iommu,intremap=on,caching-mode=on \
		-device pcie-root-port,id=rp1,chassis=1,slot=1 \
		-device '{"driver":"vfio-user-pci","socket":{"path":"'"$sock"'","type":"unix"},"bus":"rp1"}' \
		-kernel "$vmlinuz" -initrd "$work/initrd.gz" \
		-append "console=ttyS0 intel_iommu=on iommu=pt panic=-1 quiet loglevel=1" \
		-nographic -nodefaults -serial stdio -display none \
		</dev/null > "$work/$name-console.raw" 2> "$work/$name-qemu.err" || rc=$?
	tr -d '\r' < "$work/$name-console.raw" > "$work/$name-console.log"
	log "$name: QEMU exited $rc after $(elapsed "$tb")s"
	# QEMU reports every DMA_UNMAP the server refused (see below);
	# anything else it says fails the test.
	grep -v -e 'vfio_container_dma_unmap(.*) = -2 (No such file or directory)$' \
		-e 'error reply on async request:\{0,1\} command 3 error No such file or directory$' \
		"$work/$name-qemu.err" > "$work/$name-qemu.other" || true
	if [ -s "$work/$name-qemu.other" ]; then
		# A request left unanswered, a refused region, a lost interrupt:
		# QEMU's vfio-user client says so here.
		bad "$name: QEMU reported errors:"
		cat "$work/$name-qemu.other"
	fi
	[ "$rc" = 0 ] || bad "$name: QEMU exited $rc"
	check_guest "$name"
}
section() {   # console boot name -> what the guest printed for it
	sed -n "/^@@UVFIO BEGIN $2 $3\$/,/^@@UVFIO END $2 $3 rc=/p" "$1" | sed '1d;$d'
}
section_rc() {
	sed -n "s/^@@UVFIO END $2 $3 rc=\([0-9]*\)$/\1/p" "$1"
}
check_guest() {
	local name=$1 con=$work/$1-console.log boot
	grep '^@@UVFIO FAIL' "$con" && fail=1
	if [ "$(grep -c '^@@UVFIO DONE [12]$' "$con")" != 2 ]; then
		bad "$name: the guest did not finish both boots; console:"
		tail -n 60 "$con"
		return
	fi
	for boot in 1 2; do
		echo "=== $name RAM, boot $boot: $(sed -n "s/^@@UVFIO device /device /p" "$con" | sed -n "${boot}p")"
		section "$con" $boot caps > "$work/$name-$boot-capwalk"
		section "$con" $boot lsvfio > "$work/$name-$boot-lsvfio.log"
		section "$con" $boot edu > "$work/$name-$boot-edu.log"
		# The device as the guest sees it: the same PCI ID and the same
		# capabilities at the same offsets as uvfio-serve declares.
		grep -q 'Device \[1234:11e8\]' "$work/$name-$boot-lsvfio.log" ||
			bad "$name boot $boot: lsvfio in the guest shows no 1234:11e8"
		caps_of "$work/$name-$boot-lsvfio.log" > "$work/$name-$boot-caps"
		if diff -u --label host --label guest "$work/host-caps" "$work/$name-$boot-caps" >/dev/null &&
		   diff -u --label host --label guest "$work/host-capwalk" "$work/$name-$boot-capwalk"; then
			echo "capabilities identical: $(tr '\n' ' ' < "$work/host-caps")(guest lsvfio and config-space walk)"
		else
			bad "$name boot $boot: the guest sees other capabilities"
			diff -u --label host --label guest "$work/host-caps" "$work/$name-$boot-caps" || true
		fi
		[ "$(section_rc "$con" $boot lsvfio)" = 0 ] || bad "$name boot $boot: lsvfio failed in the guest"
		if diff -u --label host --label guest "$work/host-edu.log" "$work/$name-$boot-edu.log"; then
			echo "edu driver test identical to the host's direct run: $(wc -l < "$work/host-edu.log") lines"
		else
			bad "$name boot $boot: the edu logs differ"
		fi
		[ "$(section_rc "$con" $boot edu)" = 0 ] || bad "$name boot $boot: uvfio-vm-edu failed in the guest"
	done
}

boot_guest memfd -object memory-backend-memfd,id=mem,size=512M,share=on \
	-machine memory-backend=mem
boot_guest plain

# The third log: QEMU's own edu through the kernel's vfio-pci (tests/vm),
# when that test ran with this build's uvfio-vm-edu.
kern=$cache/vm-guest-edu-$(edu_log_key).log
echo "=== against tests/vm (QEMU's edu through the kernel's vfio-pci)"
if [ -f "$kern" ]; then
	if diff -u --label tests/vm --label host "$kern" "$work/host-edu.log"; then
		echo "identical to tests/vm's guest log: $(wc -l < "$kern") lines"
	else
		bad "the edu log differs from the one tests/vm got from QEMU's edu"
	fi
else
	echo "not compared: no tests/vm log of this edu driver test (run the vm suite first)"
fi

# ---- the server's side of it --------------------------------------------

echo "=== uvfio-serve"
if kill -0 "$srv_pid" 2>/dev/null; then
	srv_rc=0
	kill -TERM "$srv_pid"
	wait "$srv_pid" || srv_rc=$?
	srv_pid=
	if [ "$srv_rc" = 0 ]; then
		echo "alive after $(grep -c 'client connected' "$work/serve.log") connections, exit 0 on SIGTERM"
	else
		bad "uvfio-serve exited $srv_rc on SIGTERM"
	fi
else
	srv_pid=
	bad "uvfio-serve died"
fi
tail -n +"$((host_lines + 1))" "$work/serve.log" > "$work/serve-qemu.log"
# (Lines "<- DMA_READ/DMA_WRITE ... reply" are QEMU's replies to ours.)
echo "$(grep ' <- ' "$work/serve-qemu.log" | grep -vc ' reply') requests from QEMU served"
# Which way the device's DMA went: shared RAM comes mapped with fds and
# needs no message; private RAM comes without, and every access is a
# DMA_READ/DMA_WRITE that QEMU answers.
awk '/edu: client connected/ { n++ } { print > (dir "/serve-qemu-" n ".log") }' \
	dir="$work" "$work/serve-qemu.log"
for n in 1 2; do
	name=$([ $n = 1 ] && echo memfd || echo plain)
	f=$work/serve-qemu-$n.log
	[ -f "$f" ] || { bad "no connection $n from QEMU in the server's log"; continue; }
	echo "$name RAM: $(grep -c '<- DMA_MAP .* fds=1' "$f" || true) DMA_MAPs with an fd, $(grep -c '<- DMA_MAP .* fds=0' "$f" || true) without; $(grep -c -- '-> DMA_READ ' "$f" || true) DMA_READs and $(grep -c -- '-> DMA_WRITE ' "$f" || true) DMA_WRITEs sent"
done
if [ -f "$work/serve-qemu-1.log" ] && [ -f "$work/serve-qemu-2.log" ]; then
	grep -q '<- DMA_MAP .* fds=1' "$work/serve-qemu-1.log" || bad "memfd RAM: no DMA_MAP came with an fd"
	grep -q -- '-> DMA_\(READ\|WRITE\) ' "$work/serve-qemu-1.log" && bad "memfd RAM: DMA went through messages"
	grep -q '<- DMA_MAP .* fds=1' "$work/serve-qemu-2.log" && bad "plain RAM: a DMA_MAP came with an fd"
	grep -q -- '-> DMA_READ ' "$work/serve-qemu-2.log" || bad "plain RAM: no DMA_READ was sent"
	grep -q -- '-> DMA_WRITE ' "$work/serve-qemu-2.log" || bad "plain RAM: no DMA_WRITE was sent"
fi
# Error replies the clients ask for:
# * DEVICE_GET_IRQ_INFO of ERR → EINVAL: edu is not PCIe and has no ERR
#   IRQ, QEMU probes it at attach;
# * DMA_UNMAP → ENOENT: when the guest's vIOMMU invalidates, QEMU's
#   container unmaps the whole IOVA space in large aligned pieces, the
#   kernel's way (type1 unmaps whatever lies inside); vfio-user requires
#   an unmap to match a mapping exactly, so these match nothing.  A
#   stale window would show up as a DMA_MAP refused with EEXIST.
errs=$(grep -- '-> error' "$work/serve-qemu.log" |
	grep -v -e '^uvfio-serve: debug:    DEVICE_GET_IRQ_INFO id=[0-9]* -> error Invalid argument$' \
		-e '^uvfio-serve: debug:    DMA_UNMAP id=[0-9]* -> error No such file or directory$' || true)
echo "error replies: $(grep -c -- '-> error' "$work/serve-qemu.log" || true) ($(grep -c 'DMA_UNMAP id=[0-9]* -> error No such file' "$work/serve-qemu.log" || true) DMA_UNMAP of ranges that match no mapping, $(grep -c 'DEVICE_GET_IRQ_INFO id=[0-9]* -> error Invalid argument' "$work/serve-qemu.log" || true) GET_IRQ_INFO of the absent ERR IRQ)"
if [ -n "$errs" ]; then
	bad "uvfio-serve answered requests with unexpected errors:"
	echo "$errs" | sort | uniq -c | head -n 20
fi
if grep -E 'warning|error:|dropping client|unsolicited' "$work/serve-qemu.log" | grep -v -- '-> error'; then
	bad "uvfio-serve logged warnings"
fi

echo "=== timings: whole run $(elapsed "$t0")s"
if [ "$fail" = 0 ]; then
	echo "qemu: all checks passed"
else
	for f in "$work"/*-console.log "$work/serve.log"; do
		cp "$f" "${TMPDIR:-/tmp}/uvfio-qemu-$(basename "$f")"
	done
	echo "qemu: logs: ${TMPDIR:-/tmp}/uvfio-qemu-*"
fi
exit "$fail"
