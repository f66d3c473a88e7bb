#!/bin/bash
# lsvfio's vfio-pci listing against a made-up sysfs and /dev
# (LSVFIO_SYSFS, LSVFIO_DEV), on the host: the VM test shows it on the
# real kernel, this checks the parsing and the odd cases it cannot make.
set -euo pipefail
: "${LSVFIO:?}"
t=$(mktemp -d /tmp/uvfio-lsvfio-list.XXXXXX)
trap 'rm -rf "$t"' EXIT
drv=$t/sys/bus/pci/drivers/vfio-pci
mkdir -p "$drv" "$t/dev/vfio"
mkdev() {   # addr vendor device class rev group|-
	mkdir -p "$drv/$1"
	echo "$2" > "$drv/$1/vendor"
	echo "$3" > "$drv/$1/device"
	echo "$4" > "$drv/$1/class"
	echo "$5" > "$drv/$1/revision"
	[ "$6" = - ] || ln -s "../../../../kernel/iommu_groups/$6" "$drv/$1/iommu_group"
}
mkdev 0000:01:00.0 0x1234 0x11e8 0x00ff00 0x10 4
mkdev 0000:02:00.0 0x1b36 0x0010 0x010802 0x02 5
mkdev 0000:03:00.0 0x8086 0x10d3 0x020000 0x00 -
# Entries of the driver directory that are not devices are ignored.
touch "$drv/new_id" "$drv/bind"
: > "$t/dev/vfio/4"          # openable: free
# group 5 has no node: cannot tell

out=$(LSVFIO_SYSFS=$t/sys LSVFIO_DEV=$t/dev XDG_RUNTIME_DIR=$t "$LSVFIO")
want="0000:01:00.0: Unclassified device [00ff]: Device [1234:11e8] (rev 10) (vfio-pci, IOMMU group 4, free)
0000:02:00.0: Non-Volatile memory controller [0108]: Red Hat, Inc. Device [1b36:0010] (rev 02) (vfio-pci, IOMMU group 5, use unknown: No such file or directory)
0000:03:00.0: Ethernet controller [0200]: Intel Corporation Device [8086:10d3] (vfio-pci, no IOMMU group, use unknown: No such device)"
if [ "$out" != "$want" ]; then
	echo "lsvfio listing differs:"
	diff <(echo "$want") <(echo "$out") || true
	exit 1
fi
json=$(LSVFIO_SYSFS=$t/sys LSVFIO_DEV=$t/dev XDG_RUNTIME_DIR=$t "$LSVFIO" -j)
for k in '"name": "0000:01:00.0"' '"source": "vfio-pci"' '"iommu_group": 4' \
	 '"in_use": false' '"vendor": 6966' '"iommu_group": null'; do
	grep -qF "$k" <<<"$json" || { echo "JSON lacks $k:"; echo "$json"; exit 1; }
done
# Without a vfio-pci driver directory: the vfio-user message as before.
out=$(LSVFIO_SYSFS=$t/none LSVFIO_DEV=$t/dev XDG_RUNTIME_DIR=$t "$LSVFIO")
[ "$out" = "no vfio-user devices in $t/uvfio" ] || { echo "unexpected: $out"; exit 1; }
echo "lsvfio vfio-pci listing: ok"
