#!/bin/busybox sh
# /init of the tests/vm guest: load vfio, bind QEMU's edus (one alone
# behind a root port, two as the functions of one multifunction device
# behind another) and nvme to vfio-pci, run the test programs, print their logs between markers on
# the console for run.sh, power off.  Nothing here decides pass or fail:
# run.sh reads the markers.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /tmp && mount -t tmpfs tmp /tmp
# Kernel messages (the DMAR fault the unmapped-DMA step causes on
# purpose) would interleave with the logs on the console.
echo 1 > /proc/sys/kernel/printk

say() { echo "@@UVFIO $*"; }
echo   # the firmware leaves the console mid-line

for m in irqbypass vfio_virqfd vfio vfio_iommu_type1 vfio-pci-core vfio-pci; do
	[ -f /lib/modules/$m.ko ] || continue   # vfio_virqfd: 6.1 only
	insmod /lib/modules/$m.ko || say "FAIL insmod $m"
done
echo "1234 11e8" > /sys/bus/pci/drivers/vfio-pci/new_id
echo "1b36 0010" > /sys/bus/pci/drivers/vfio-pci/new_id

find_devs() {   # vendor device -> their PCI addresses
	for d in /sys/bus/pci/devices/*; do
		if [ "$(cat $d/vendor)" = "$1" ] && [ "$(cat $d/device)" = "$2" ]; then
			basename $d
		fi
	done
}
group_of() { basename "$(readlink /sys/bus/pci/devices/$1/iommu_group)"; }
# The edu alone is function 0 without a function 1 beside it; the pair
# is functions 0 and 1 of one slot.
EDU= PAIR0= PAIR1=
for a in $(find_devs 0x1234 0x11e8); do
	case $a in
	*.1) PAIR1=$a ;;
	*.0) if [ -e /sys/bus/pci/devices/${a%.0}.1 ]; then PAIR0=$a; else EDU=${EDU:-$a}; fi ;;
	esac
done
NVME=$(find_devs 0x1b36 0x0010 | head -n1)
say "devices edu=$EDU nvme=$NVME pair=$PAIR0,$PAIR1"
say "groups edu=$(group_of $EDU) nvme=$(group_of $NVME) pair=$(group_of $PAIR0),$(group_of $PAIR1)"

run() {   # name command...: output to /tmp/name.log, exit status kept
	name=$1; shift
	"$@" > /tmp/$name.log 2>&1
	echo $? > /tmp/$name.rc
}

run edu /bin/uvfio-vm-edu "$EDU"
run cfgdiff /bin/uvfio-vm-cfgdiff "$EDU"
run kernel /bin/uvfio-vm-kernel checks "$EDU" "$NVME" "$PAIR0" "$PAIR1"
# The listing while another program holds edu's group and the pair's
# (through its function 0): "in use" there, function 1 included, "free"
# for nvme; a second open of edu, and an open of function 1, refused
# with EBUSY.
/bin/uvfio-vm-kernel hold 30 "$EDU" "$PAIR0" > /tmp/hold.log 2>&1 &
hold=$!
for i in 1 2 3 4 5 6 7 8 9 10; do
	grep -q "open $PAIR0" /tmp/hold.log 2>/dev/null && break
	sleep 0.2
done
run list /bin/lsvfio
run busy /bin/uvfio-vm-kernel busy "$EDU" "$PAIR1"
kill $hold
wait $hold
run lsvfio-edu /bin/lsvfio "$EDU"
run lsvfio-nvme /bin/lsvfio "$NVME"

for name in edu cfgdiff kernel list busy lsvfio-edu lsvfio-nvme; do
	say "BEGIN $name"
	cat /tmp/$name.log
	say "END $name rc=$(cat /tmp/$name.rc)"
done
say "DONE"
poweroff -f
