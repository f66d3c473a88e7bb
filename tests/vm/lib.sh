# shellcheck shell=bash disable=SC2034,SC2154
# Shell pieces shared by the guest testbeds (tests/vm/run.sh and
# tests/qemu/run.sh); sourced, not run.  The caller sets `me` (the log
# prefix), `cache` (the download cache) and `here` (its own directory)
# first.

log() { echo "$me: $*"; }

# What cannot be had (a download, a package): a failure with CI=true, a
# loud skip (exit 77) otherwise.
unavailable() {
	if [ "${CI:-}" = true ]; then
		echo "$me: FAILED: $* (CI=true: this test must run)" >&2
		exit 1
	fi
	{
		echo "$me: ########################################################"
		echo "$me: SKIPPED: the test did not run: $*"
		echo "$me: ########################################################"
	} >&2
	exit 77
}

elapsed() { echo "$(date +%s.%N) $1" | awk '{ printf "%.1f", $1 - $2 }'; }

# The guest's tools and programs: a static busybox, cpio, xz, and the
# programs named as arguments, which must be statically linked.
guest_tools() {
	local need_pkgs=() p
	[ -x /bin/busybox ] || need_pkgs+=(busybox-static)
	command -v cpio >/dev/null || need_pkgs+=(cpio)
	command -v xz >/dev/null || need_pkgs+=(xz-utils)
	if [ "${need_host_qemu:-}" ]; then
		command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
	fi
	if ((${#need_pkgs[@]})); then
		if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
			log "installing ${need_pkgs[*]}"
			export DEBIAN_FRONTEND=noninteractive
			apt-get install -y --no-install-recommends "${need_pkgs[@]}" >/dev/null ||
				{ apt-get update >/dev/null && apt-get install -y --no-install-recommends "${need_pkgs[@]}" >/dev/null; } ||
				unavailable "cannot install ${need_pkgs[*]}"
		else
			unavailable "missing ${need_pkgs[*]} (run scripts/deps.sh as root)"
		fi
	fi
	# The guest has no libraries: busybox must be the static one.
	if ldd /bin/busybox >/dev/null 2>&1; then
		unavailable "/bin/busybox is dynamically linked (install busybox-static)"
	fi
	for p in "$@"; do
		[ -x "$p" ] || { echo "$me: FAILED: $p not built" >&2; exit 1; }
		if ldd "$p" >/dev/null 2>&1; then
			echo "$me: FAILED: $p is not statically linked" >&2
			exit 1
		fi
	done
}

# Debian's kernel, downloaded once with `apt-get download`, never
# installed; only the kernel image and the vfio modules are kept, under
# $cache/kernel.  Sets kpkg, kroot and vmlinuz.
fetch_kernel() {
	local kdir=$cache/kernel dl old
	mkdir -p "$kdir"
	kpkg=$(kernel_pkg || true)
	if [ -z "$kpkg" ] && [ "$(id -u)" = 0 ]; then
		apt-get update >/dev/null 2>&1 || true
		kpkg=$(kernel_pkg || true)
	fi
	if [ -z "$kpkg" ]; then
		# No package lists: a kernel cached by an earlier run still does.
		kpkg=$(cd "$kdir" && ls -d linux-image-*/.done 2>/dev/null | sed 's,/.done,,' | sort -V | tail -n1 || true)
		[ -n "$kpkg" ] || unavailable "apt-cache knows no linux-image-amd64 and nothing is cached in $kdir"
		log "package lists unavailable; using the cached $kpkg"
	fi
	kroot=$kdir/$kpkg
	if [ ! -f "$kroot/.done" ]; then
		log "fetching $kpkg (apt-get download, cached in $kdir)"
		dl=$(mktemp -d "$kdir/.dl.XXXXXX")
		if ! (cd "$dl" && apt-get download "$kpkg" >/dev/null 2>&1); then
			if [ "$(id -u)" = 0 ]; then apt-get update >/dev/null 2>&1 || true; fi
			(cd "$dl" && apt-get download "$kpkg" >/dev/null 2>&1) || {
				rm -rf "$dl"
				unavailable "apt-get download $kpkg failed"
			}
		fi
		rm -rf "$kroot.tmp" && mkdir -p "$kroot.tmp"
		dpkg-deb --fsys-tarfile "$dl"/*.deb |
			tar -x -C "$kroot.tmp" --wildcards './boot/vmlinuz-*' \
				'*/kernel/drivers/vfio/*' '*/kernel/virt/lib/irqbypass.ko*'
		rm -rf "$dl" "$kroot"
		mv "$kroot.tmp" "$kroot"
		touch "$kroot/.done"
		# Kernels Debian has moved past are not needed any more.
		for old in "$kdir"/linux-image-*; do
			[ "$old" = "$kroot" ] || rm -rf "$old"
		done
	fi
	vmlinuz=$(ls "$kroot"/boot/vmlinuz-* | head -n1)
}
kernel_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1
}

# The start of an initramfs in $1: busybox, the directories /init needs,
# and the vfio modules under /lib/modules/NAME.ko in load order.
initramfs_base() {
	local root=$1 m f
	mkdir -p "$root"/{bin,lib/modules,proc,sys,dev,tmp}
	cp /bin/busybox "$root/bin/busybox"
	for m in irqbypass vfio_virqfd vfio vfio_iommu_type1 vfio-pci-core vfio-pci; do
		f=$(find "$kroot/lib/modules" -name "$m.ko*" | head -n1)
		case "$f" in
		"") [ "$m" = vfio_virqfd ] && continue   # folded into vfio after 6.1
		    echo "$me: FAILED: module $m not in $kpkg" >&2; exit 1 ;;
		*.ko.xz) xz -dc "$f" > "$root/lib/modules/$m.ko" ;;
		*.ko.zst) zstd -qdc "$f" > "$root/lib/modules/$m.ko" ;;
		*) cp "$f" "$root/lib/modules/$m.ko" ;;
		esac
	done
}

# What the edu driver test's log depends on: its sources.  tests/vm keeps
# the guest's log under this key; tests/qemu compares against it only if
# the key is the same.
edu_log_key() {
	cat "$here/../vm/vm_edu.c" "$here/../../examples/edu_driver.c" \
		"$here/../../examples/edu_driver.h" 2>/dev/null | sha256sum | cut -c1-16
}

# Pack the tree $1 as the gzip'ed newc cpio $2.
initramfs_pack() {
	(cd "$1" && find . | cpio -o -H newc --quiet | gzip -1) > "$2"
}
