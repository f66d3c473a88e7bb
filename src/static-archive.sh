#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# static-archive.sh OUT IN LD OBJCOPY AR
#
# Make the installed static library OUT from the internal archive IN
# (src/meson.build).  The sources are compiled with -fvisibility=hidden,
# so every global symbol but the UVFIO_EXPORT API is STV_HIDDEN; that
# keeps the internal names out of libuvfio.so, but in an archive a
# hidden symbol is still a global one, which a program's own definition
# of the same name takes the place of (or clashes with) at link time.
# So all of IN's objects are linked into one relocatable object (ld -r),
# which resolves the library's references to itself, and its hidden
# symbols are then made local (objcopy --localize-hidden): OUT has one
# member, which defines only the public uvfio_* symbols.  An LTO build's
# objects are fat (src/meson.build): their GCC IR, whose symbols objcopy
# cannot make local, is dropped, and the archive holds machine code only.
set -eu
[ $# -eq 5 ] || { echo "usage: $0 OUT IN LD OBJCOPY AR" >&2; exit 2; }
out=$1 in=$2 ld=$3 objcopy=$4 ar=$5

tmp=$(mktemp -d "$out.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$ld" -r -o "$tmp/uvfio.o" --whole-archive "$in" --no-whole-archive
"$objcopy" --remove-section='.gnu.lto_*' --remove-section='.gnu.debuglto_*' \
	--localize-hidden "$tmp/uvfio.o"
rm -f "$out"
"$ar" rcsD "$out" "$tmp/uvfio.o"
