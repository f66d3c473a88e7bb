#!/bin/bash
# Install the Debian packages uvfio needs, only those that are missing.
set -euo pipefail
# libclang-rt-14-dev: libFuzzer and the sanitizer runtimes for clang (only
# a Recommends of clang, which --no-install-recommends leaves out).
pkgs=(gcc clang libclang-rt-14-dev meson ninja-build pkg-config libjson-c-dev libcmocka-dev
      valgrind python3
      # tests/vm: Debian's kernel booted under QEMU with vfio-pci
      qemu-system-x86 busybox-static cpio xz-utils)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if ((${#missing[@]})); then
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
		apt-get update
		apt-get install -y --no-install-recommends "${missing[@]}"
	fi
fi
