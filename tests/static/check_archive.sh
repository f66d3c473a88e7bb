#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# check_archive.sh LIBUVFIO.A [LIBUVFIO.SO]
#
# The static library must define no global symbol but the uvfio_* API:
# any other global name (an internal function such as handle_message) is
# one a program's own definition takes the place of, or clashes with,
# when it links the archive (src/static-archive.sh).  With the shared
# library as well: the archive defines exactly the symbols libuvfio.so
# exports, and takes from outside only what libuvfio.so does (so no
# reference of the library's to itself is left for a program to answer).
# nm is $NM, else nm.
set -eu
export LC_ALL=C   # one collation for sort and comm
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 LIBUVFIO.A [LIBUVFIO.SO]" >&2; exit 2; }
nm=${NM:-nm}
a=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# nm's output in files first, so that set -e sees it fail.  Keep the
# "ADDR TYPE NAME" (and "U NAME") lines: member headers and blank lines
# have fewer fields.
"$nm" -g --defined-only "$a" >"$tmp/nm.defined"
"$nm" -u "$a" >"$tmp/nm.undefined"
awk 'NF == 3 { print $3 }' "$tmp/nm.defined" | sort -u >"$tmp/defined"
awk 'NF == 2 { print $2 }' "$tmp/nm.undefined" | sort -u >"$tmp/undefined"
status=0
if [ ! -s "$tmp/defined" ]; then
	echo "$a: defines no global symbol at all" >&2
	exit 1
fi
if grep -v '^uvfio_' "$tmp/defined" >"$tmp/bad"; then
	echo "$a: $(wc -l <"$tmp/bad") global symbols without the uvfio_ prefix:" >&2
	sed 's/^/  /' "$tmp/bad" >&2
	status=1
else
	echo "$a: $(wc -l <"$tmp/defined") global symbols, all uvfio_*"
fi

if [ $# -eq 2 ]; then
	so=$2
	# What the linker defines itself: the GOT, and __start_/__stop_ of
	# sections named like C identifiers (the fuzz build's __sancov_*),
	# which libuvfio.so then exports too.
	linker_defined='^(_GLOBAL_OFFSET_TABLE_|__start_.*|__stop_.*)$'
	# Dynamic symbols may carry a version (memcpy@GLIBC_2.14).
	"$nm" -D --defined-only "$so" >"$tmp/nm.exported"
	"$nm" -D -u "$so" >"$tmp/nm.imported"
	awk 'NF == 3 { sub(/@.*/, "", $3); print $3 }' "$tmp/nm.exported" |
		grep -Ev "$linker_defined" | sort -u >"$tmp/exported"
	awk 'NF == 2 { sub(/@.*/, "", $2); print $2 }' "$tmp/nm.imported" | sort -u >"$tmp/imported"
	if ! cmp -s "$tmp/defined" "$tmp/exported"; then
		echo "$a defines other global symbols than $so exports (<: only the archive, >: only the shared library):" >&2
		diff "$tmp/defined" "$tmp/exported" | grep '^[<>]' >&2
		status=1
	fi
	grep -Ev "$linker_defined" "$tmp/undefined" | comm -23 - "$tmp/defined" |
		comm -23 - "$tmp/imported" >"$tmp/bad"
	if [ -s "$tmp/bad" ]; then
		echo "$a refers to symbols it does not define and $so does not import:" >&2
		sed 's/^/  /' "$tmp/bad" >&2
		status=1
	fi
	[ $status -ne 0 ] ||
		echo "$a: defines what $so exports, and refers to nothing else $so does not import"
fi
exit $status
