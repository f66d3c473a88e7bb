#!/bin/bash
# The real-kernel testbed (TESTBEDS.md, recipe A), as a test.
#
# Boots Debian's own kernel under qemu-system-x86_64 (TCG, emulated
# intel-iommu with interrupt remapping) with QEMU's edu and an nvme
# controller behind PCIe root ports, and behind a third root port a
# multifunction pair of edus (functions 0 and 1, one IOMMU group: no
# ACS between them), binds them all to vfio-pci in the guest and runs
# there, statically linked:
#   uvfio-vm-edu     the shared edu driver test (examples/edu_driver.c)
#   uvfio-vm-cfgdiff the config-space differential (256 bytes after
#                    every step of a fixed, an out-of-range, a seeded
#                    random and a reset sequence)
#   uvfio-vm-kernel  what only the kernel backend does
#   lsvfio           the listing and both devices decoded
# The same uvfio-vm-edu runs on the host against `uvfio-serve edu` over
# vfio-user, and the two result logs must be identical line by line; so
# does uvfio-vm-cfgdiff, whose logs `uvfio-vm-cfgdiff --compare` checks
# byte by byte, printing each differing byte with both values.
#
# Inputs (meson sets them): UVFIO_VM_EDU, UVFIO_VM_KERNEL, UVFIO_VM_LSVFIO,
# UVFIO_SERVE; or a build directory as $1.  The kernel package is fetched
# with `apt-get download` (never installed) and cached with the extracted
# files under $UVFIO_CACHE (default ~/.cache/uvfio).  What cannot be had
# is a failure with CI=true and a loud skip (exit 77) otherwise.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -ge 1 ]; then
	b=$(cd "$1" && pwd)
	UVFIO_VM_EDU=${UVFIO_VM_EDU:-$b/tests/vm/uvfio-vm-edu}
	UVFIO_VM_KERNEL=${UVFIO_VM_KERNEL:-$b/tests/vm/uvfio-vm-kernel}
	UVFIO_VM_LSVFIO=${UVFIO_VM_LSVFIO:-$b/tests/vm/lsvfio-static}
	UVFIO_VM_CFGDIFF=${UVFIO_VM_CFGDIFF:-$b/tests/vm/uvfio-vm-cfgdiff}
	UVFIO_SERVE=${UVFIO_SERVE:-$b/tools/uvfio-serve}
fi
: "${UVFIO_VM_EDU:?set UVFIO_VM_EDU or pass the build directory}"
: "${UVFIO_VM_KERNEL:?}" "${UVFIO_VM_LSVFIO:?}" "${UVFIO_SERVE:?}"
cache=${UVFIO_CACHE:-${HOME:-/root}/.cache/uvfio}
boot_timeout=${UVFIO_VM_TIMEOUT:-240}
t0=$(date +%s.%N)

me=vm
# shellcheck source=tests/vm/lib.sh
. "$here/lib.sh"

# ---- host tools ---------------------------------------------------------

need_host_qemu=1 guest_tools "$UVFIO_VM_EDU" "$UVFIO_VM_KERNEL" "$UVFIO_VM_LSVFIO"

# The guest's devices are QEMU's models, and what the logs are compared
# against is what QEMU 7.2's do (Debian 12's qemu-system-x86): its edu
# aborts on a DMA that ends at its buffer's end, for one.  Another QEMU
# is a failure, not a skip: a testbed nobody checked would pass or fail
# for reasons of its own.  UVFIO_VM_ANY_QEMU=1 runs it all the same.
qemu_version=$(qemu-system-x86_64 --version | sed -n 's/^QEMU emulator version \([0-9][0-9.]*\).*/\1/p' | head -n1)
log "QEMU ${qemu_version:-of unknown version} ($(command -v qemu-system-x86_64))"
case "$qemu_version" in
7.2.*) ;;
*)	if [ "${UVFIO_VM_ANY_QEMU:-}" = 1 ]; then
		log "WARNING: QEMU ${qemu_version:-?} is not 7.2.x, the version this test is written against (UVFIO_VM_ANY_QEMU=1)"
	else
		echo "$me: FAILED: qemu-system-x86_64 is QEMU ${qemu_version:-of unknown version}, this test needs 7.2.x (Debian 12's qemu-system-x86); UVFIO_VM_ANY_QEMU=1 runs it anyway" >&2
		exit 1
	fi ;;
esac

# ---- the kernel: Debian's, downloaded once, never installed ------------

fetch_kernel

# ---- the initramfs ------------------------------------------------------

work=$(mktemp -d /tmp/uvfio-vm.XXXXXX)
srv_pid=
cleanup() {
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
	if [ "${UVFIO_VM_KEEP:-}" ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
root=$work/root
initramfs_base "$root"
cp "$UVFIO_VM_EDU" "$root/bin/uvfio-vm-edu"
cp "$UVFIO_VM_KERNEL" "$root/bin/uvfio-vm-kernel"
cp "$UVFIO_VM_LSVFIO" "$root/bin/lsvfio"
cp "$UVFIO_VM_CFGDIFF" "$root/bin/uvfio-vm-cfgdiff"
install -m 755 "$here/init.sh" "$root/init"
initramfs_pack "$root" "$work/initrd.gz"

# ---- the host side: the same edu test over vfio-user -------------------

sock=$work/edu.sock
"$UVFIO_SERVE" edu --socket-path="$sock" 2> "$work/serve.log" &
srv_pid=$!
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.02; done
host_rc=0
"$UVFIO_VM_EDU" "$sock" > "$work/host-edu.log" 2>&1 || host_rc=$?
host_cfg_rc=0
"$UVFIO_VM_CFGDIFF" "$sock" > "$work/host-cfgdiff.log" 2>&1 || host_cfg_rc=$?
kill "$srv_pid" && wait "$srv_pid" || true
srv_pid=

# ---- the guest ----------------------------------------------------------

log "booting $(basename "$vmlinuz") under $(qemu-system-x86_64 --version | head -n1)"
tb=$(date +%s.%N)
qemu_rc=0
timeout "$boot_timeout" qemu-system-x86_64 \
	-machine q35,kernel-irqchip=split -accel tcg -cpu max -m 512 -smp 1 \
	-device intel-iommu,intremap=on,caching-mode=on \
	-device pcie-root-port,id=rp1,chassis=1,slot=1 -device edu,bus=rp1 \
	-device pcie-root-port,id=rp2,chassis=2,slot=2,x-speed=5,x-width=1 \
	-device nvme,serial=uvfio,bus=rp2 \
	-device pcie-root-port,id=rp3,chassis=3,slot=3 \
	-device edu,bus=rp3,addr=0.0,multifunction=on -device edu,bus=rp3,addr=0.1 \
	-kernel "$vmlinuz" -initrd "$work/initrd.gz" \
	-append "console=ttyS0 intel_iommu=on iommu=pt panic=-1 quiet loglevel=1" \
	-nographic -nodefaults -serial stdio -display none -no-reboot \
	</dev/null > "$work/console.raw" 2> "$work/qemu.err" || qemu_rc=$?
boot_s=$(elapsed "$tb")
tr -d '\r' < "$work/console.raw" > "$work/console.log"

fail=0
bad() { echo "vm: FAIL: $*"; fail=1; }
if ! grep -q '^@@UVFIO DONE' "$work/console.log"; then
	echo "vm: the guest did not finish (qemu exit $qemu_rc after ${boot_s}s); console:"
	tail -n 60 "$work/console.log"
	echo "vm: qemu's stderr:"
	tail -n 20 "$work/qemu.err"
	exit 1
fi
section() {   # name -> the log the guest printed for it
	sed -n "/^@@UVFIO BEGIN $1\$/,/^@@UVFIO END $1 rc=/p" "$work/console.log" | sed '1d;$d'
}
section_rc() {
	sed -n "s/^@@UVFIO END $1 rc=\([0-9]*\)$/\1/p" "$work/console.log"
}
for s in edu cfgdiff kernel list busy lsvfio-edu lsvfio-nvme; do
	section "$s" > "$work/guest-$s.log"
done
grep '^@@UVFIO FAIL' "$work/console.log" && fail=1
sed -n 's/^@@UVFIO devices /vm: guest devices: /p' "$work/console.log"
sed -n 's/^@@UVFIO groups /vm: their IOMMU groups: /p' "$work/console.log"
grep -q '^@@UVFIO devices edu=0000:01:00.0 nvme=0000:02:00.0 pair=0000:03:00.0,0000:03:00.1$' "$work/console.log" ||
	bad "the guest's devices are not where the checks below expect them"
# The pair shares a group of its own.
groups=$(sed -n 's/^@@UVFIO groups edu=\([0-9]*\) nvme=\([0-9]*\) pair=\([0-9]*\),\([0-9]*\)$/\1 \2 \3 \4/p' "$work/console.log")
read -r g_edu g_nvme g_p0 g_p1 <<< "${groups:-x x x y}"
[ "$g_p0" = "$g_p1" ] && [ "$g_p0" != "$g_edu" ] && [ "$g_p0" != "$g_nvme" ] ||
	bad "the pair's functions are not alone in one IOMMU group (groups: ${groups:-none})"

echo "=== shared edu driver test, host (uvfio-serve edu over vfio-user), exit $host_rc"
cat "$work/host-edu.log"
echo "=== shared edu driver test, guest (QEMU edu through vfio-pci), exit $(section_rc edu)"
cat "$work/guest-edu.log"
echo "=== comparison"
if diff -u --label host --label guest "$work/host-edu.log" "$work/guest-edu.log"; then
	echo "identical: $(wc -l < "$work/host-edu.log") lines"
else
	bad "the two edu logs differ"
fi
[ "$host_rc" = 0 ] || bad "uvfio-vm-edu failed on the host"
[ "$(section_rc edu)" = 0 ] || bad "uvfio-vm-edu failed in the guest"
# tests/qemu compares its guest's log with this one (the kernel's own edu).
[ "$(section_rc edu)" = 0 ] && cp "$work/guest-edu.log" "$cache/vm-guest-edu-$(edu_log_key).log"
[ -s "$work/host-edu.log" ] || bad "empty edu log"

echo "=== config-space differential: uvfio's edu (host) vs QEMU's edu through vfio-pci (guest)"
# Every step's result line, and all 256 bytes after every step.
cmp_rc=0
"$UVFIO_VM_CFGDIFF" --compare "$work/host-cfgdiff.log" "$work/guest-cfgdiff.log" \
	> "$work/cfgdiff-compare.log" 2>&1 || cmp_rc=$?
grep -v -e '^cfg ' -e '(random [0-9]*)$' "$work/host-cfgdiff.log"
echo "($(grep -c '(random [0-9]*)$' "$work/host-cfgdiff.log") random writes not shown)"
echo "--- comparison"
cat "$work/cfgdiff-compare.log"
[ "$cmp_rc" = 0 ] || bad "config space differs between uvfio's edu and the kernel's view of QEMU's edu"
[ "$host_cfg_rc" = 0 ] || bad "uvfio-vm-cfgdiff failed on the host"
[ "$(section_rc cfgdiff)" = 0 ] || bad "uvfio-vm-cfgdiff failed in the guest"
[ -s "$work/host-cfgdiff.log" ] || bad "empty config differential log"

echo "=== kernel backend checks (guest)"
cat "$work/guest-kernel.log"
[ "$(section_rc kernel)" = 0 ] || bad "uvfio-vm-kernel checks failed"
cat "$work/guest-busy.log"
[ "$(section_rc busy)" = 0 ] || bad "a held group was not EBUSY"
grep -q '^ok   open 0000:03:00.1 while another program holds its group: Device or resource busy$' "$work/guest-busy.log" ||
	bad "function 1 of the pair opened while another program held function 0"

echo "=== lsvfio (guest)"
cat "$work/guest-list.log"
[ "$(section_rc list)" = 0 ] || bad "lsvfio (listing) failed"
grep -q '^0000:01:00.0: .*\[1234:11e8\].*(vfio-pci, IOMMU group [0-9]*, in use)$' "$work/guest-list.log" ||
	bad "the listing does not show edu, in use"
grep -q '^0000:02:00.0: .*\[1b36:0010\].*(vfio-pci, IOMMU group [0-9]*, free)$' "$work/guest-list.log" ||
	bad "the listing does not show nvme, free"
# Both functions of the pair, in use through the group function 0 holds.
for f in 0 1; do
	grep -q "^0000:03:00.$f: .*\[1234:11e8\].*(vfio-pci, IOMMU group $g_p0, in use)\$" "$work/guest-list.log" ||
		bad "the listing does not show the pair's function $f in group $g_p0, in use"
done
[ "$(grep -c '^0000:' "$work/guest-list.log")" = 4 ] || bad "the listing does not show 4 devices"
for s in lsvfio-edu lsvfio-nvme; do
	[ "$(section_rc $s)" = 0 ] || bad "$s failed"
done
echo "--- lsvfio 0000:01:00.0"
cat "$work/guest-lsvfio-edu.log"
grep -q 'Device \[1234:11e8\]' "$work/guest-lsvfio-edu.log" || bad "lsvfio edu: no 1234:11e8"
grep -q 'Capabilities: \[40\] MSI: ' "$work/guest-lsvfio-edu.log" || bad "lsvfio edu: no MSI capability"
grep -q 'VFIO: flags PCI RESET' "$work/guest-lsvfio-edu.log" || bad "lsvfio edu: no VFIO flags"
echo "--- lsvfio 0000:02:00.0 (capabilities)"
grep -E 'Device \[|Capabilities:|VFIO:|Region 0|IRQ 2' "$work/guest-lsvfio-nvme.log"
grep -q 'Device \[1b36:0010\]' "$work/guest-lsvfio-nvme.log" || bad "lsvfio nvme: no 1b36:0010"
grep -q 'MSI-X: Enable' "$work/guest-lsvfio-nvme.log" || bad "lsvfio nvme: no MSI-X capability"
grep -q 'Express (v2) Endpoint' "$work/guest-lsvfio-nvme.log" || bad "lsvfio nvme: no PCIe capability"

echo "=== timings: guest boot+tests+poweroff ${boot_s}s, whole run $(elapsed "$t0")s"
if [ "$fail" = 0 ]; then
	echo "vm: all checks passed"
else
	[ "${UVFIO_VM_KEEP:-}" ] || cp "$work/console.log" "${TMPDIR:-/tmp}/uvfio-vm-console.log"
	echo "vm: console log: ${TMPDIR:-/tmp}/uvfio-vm-console.log"
fi
exit "$fail"
