#!/bin/busybox sh
# /init of the tests/qemu guest.  QEMU 11's vfio-user-pci client puts a
# device served by `uvfio-serve edu` on the host into this guest; here it
# is an ordinary PCI device: its config space is read, it is bound to the
# guest kernel's vfio-pci and the shared edu driver test runs on it.  The
# guest then reboots once (QEMU runs without -no-reboot) and does all of
# it again: a boot counter in the RTC's CMOS NVRAM, which a machine reset
# keeps, tells the passes apart.  Logs go to the console between markers
# for run.sh, which decides pass or fail.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /tmp && mount -t tmpfs tmp /tmp
echo 1 > /proc/sys/kernel/printk

say() { echo "@@UVFIO $*"; }
echo   # the firmware leaves the console mid-line

# ---- which boot this is --------------------------------------------------
# One byte of CMOS NVRAM through the rtc-cmos nvmem device (offset 0 is
# CMOS byte 14); the byte is far above what the firmware uses.
NV=/sys/bus/nvmem/devices/cmos_nvram0/nvmem
NV_OFF=100
boot=1
if [ -w $NV ]; then
	b=$(dd if=$NV bs=1 skip=$NV_OFF count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
	# 0xb0 | n marks boot n; anything else is a cold start.
	case "$b" in 177) boot=2 ;; 178|179) boot=3 ;; esac
	printf "\\$(printf %o $((176 + boot)))" |
		dd of=$NV bs=1 seek=$NV_OFF count=1 conv=notrunc 2>/dev/null
else
	say "FAIL no CMOS NVRAM at $NV: cannot count boots"
	boot=2   # run once and power off rather than reboot forever
fi
say "BOOT $boot"
if [ $boot -gt 2 ]; then
	say "FAIL booted a third time"
	poweroff -f
fi

for m in irqbypass vfio_virqfd vfio vfio_iommu_type1 vfio-pci-core vfio-pci; do
	[ -f /lib/modules/$m.ko ] || continue   # vfio_virqfd: 6.1 only
	insmod /lib/modules/$m.ko || say "FAIL insmod $m"
done

find_dev() {   # vendor device -> PCI address
	for d in /sys/bus/pci/devices/*; do
		if [ "$(cat $d/vendor)" = "$1" ] && [ "$(cat $d/device)" = "$2" ]; then
			basename $d
			return
		fi
	done
}
run() {   # name command...: output to /tmp/name.log, exit status kept
	name=$1; shift
	"$@" > /tmp/$name.log 2>&1
	echo $? > /tmp/$name.rc
}
# The capability list as the guest kernel reads it from config space
# (sysfs, no driver yet): "[offset] id" per capability.
cap_walk() {
	cfg=/sys/bus/pci/devices/$1/config
	byte() { od -An -tu1 -j $1 -N 1 $cfg | tr -d ' '; }
	status=$(byte 6)
	if [ $((status & 16)) = 0 ]; then echo "no capability list"; return; fi
	p=$(byte 52)
	n=0
	while [ "$p" != 0 ] && [ $n -lt 48 ]; do
		printf "cap [%02x] id 0x%02x\n" $((p & 252)) $(byte $((p & 252)))
		p=$(byte $(((p & 252) + 1)))
		n=$((n + 1))
	done
}

EDU=$(find_dev 0x1234 0x11e8)
say "device $EDU"
if [ -n "$EDU" ]; then
	run caps cap_walk "$EDU"
	echo "1234 11e8" > /sys/bus/pci/drivers/vfio-pci/new_id
	run lsvfio /bin/lsvfio "$EDU"
	run edu /bin/uvfio-vm-edu "$EDU"
else
	say "FAIL no 1234:11e8 device"
	lspci 2>/dev/null
fi

for name in caps lsvfio edu; do
	[ -f /tmp/$name.rc ] || continue
	say "BEGIN $boot $name"
	cat /tmp/$name.log
	say "END $boot $name rc=$(cat /tmp/$name.rc)"
done
say "DONE $boot"
if [ $boot = 1 ]; then
	reboot -f
else
	poweroff -f
fi
