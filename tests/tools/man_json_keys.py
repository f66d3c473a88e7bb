#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Every key of lsvfio's golden JSON outputs is documented in lsvfio(1).

Usage: man_json_keys.py MANPAGE GOLDEN_DIR

Collects every object key in every *.json file under GOLDEN_DIR (at any
depth: through objects and arrays) and looks for each in the "JSON
OUTPUT" section of MANPAGE.  A key counts as documented when some text
of that section set in bold is exactly the key: the argument of .B, a
bold argument of .BR/.RB/.BI/.IB, or a \\fB...\\fR span.  A key only
mentioned in roman or italic text, or only inside a longer bold phrase,
does not count.  Exit 0 when all are documented, 1 listing those that
are not (and where they occur), 2 on a usage or input error.
"""

import json
import os
import re
import sys

FONT_MACROS = {
    # macro: fonts its arguments alternate between, from the first
    "B": None,          # every argument bold
    "BR": "BR", "RB": "RB", "BI": "BI", "IB": "IB",
}


def macro_args(rest):
    """Split a request's arguments as troff does: blanks separate, double
    quotes group ("" inside quotes is a quote), and an escaped blank
    (backslash space) does not separate."""
    args, cur, quoted, i, have = [], [], False, 0, False
    while i < len(rest):
        ch = rest[i]
        if ch == "\\" and i + 1 < len(rest):
            cur.append(rest[i:i + 2])
            i += 2
            have = True
            continue
        if quoted:
            if ch == '"':
                if rest[i + 1:i + 2] == '"':
                    cur.append('"')
                    i += 2
                    continue
                quoted = False
            else:
                cur.append(ch)
        elif ch == '"' and not have:
            quoted = True
            have = True
        elif ch in " \t":
            if have:
                args.append("".join(cur))
                cur, have = [], False
        else:
            cur.append(ch)
            have = True
        i += 1
    if have:
        args.append("".join(cur))
    return args


def plain(text):
    """The characters roff text stands for, for the escapes a key can
    contain or be wrapped in; other escapes are dropped."""
    text = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", text)  # font changes
    text = text.replace("\\-", "-").replace("\\ ", " ").replace("\\~", " ")
    text = text.replace("\\(dq", '"').replace("\\e", "\\")
    text = re.sub(r"\\[&%:|^/,)]", "", text)
    return text.strip()


def inline_bold(line):
    """Text between \\fB (or \\f[B]) and the next font change."""
    out = []
    for m in re.finditer(r"\\f(?:B|\[B\])(.*?)(?=\\f|$)", line):
        out.append(m.group(1))
    return out


def json_section(lines):
    """The lines of the JSON OUTPUT section, or None."""
    start = None
    for n, line in enumerate(lines):
        m = re.match(r'\.SH\s+"?([^"]*)"?\s*$', line)
        if not m:
            continue
        if start is not None:
            return lines[start:n]
        if m.group(1).strip().upper() == "JSON OUTPUT":
            start = n + 1
    return lines[start:] if start is not None else None


def documented_keys(lines):
    bold = set()
    for line in lines:
        if line.startswith(("'", ".")):
            m = re.match(r"[.'][ \t]*([A-Za-z]+)[ \t]*(.*)$", line)
            if m and m.group(1) in FONT_MACROS:
                args = macro_args(m.group(2))
                fonts = FONT_MACROS[m.group(1)]
                for i, a in enumerate(args):
                    if fonts is None or fonts[i % 2] == "B":
                        bold.add(plain(a))
        for span in inline_bold(line):
            bold.add(plain(span))
    return bold


def collect(obj, into, where):
    if isinstance(obj, dict):
        for k, v in obj.items():
            into.setdefault(k, set()).add(where)
            collect(v, into, where)
    elif isinstance(obj, list):
        for v in obj:
            collect(v, into, where)


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    man, golden = argv[1], argv[2]

    keys, files = {}, 0
    for root, dirs, names in os.walk(golden):
        dirs.sort()
        for name in sorted(names):
            if not name.endswith(".json"):
                continue
            path = os.path.join(root, name)
            try:
                with open(path, encoding="utf-8") as f:
                    doc = json.load(f)
            except (OSError, ValueError) as e:
                print(f"{path}: {e}", file=sys.stderr)
                return 2
            collect(doc, keys, os.path.relpath(path, golden))
            files += 1
    if not files:
        print(f"no *.json files under {golden}", file=sys.stderr)
        return 2

    try:
        with open(man, encoding="utf-8") as f:
            section = json_section(f.read().splitlines())
    except OSError as e:
        print(f"{man}: {e}", file=sys.stderr)
        return 2
    if section is None:
        print(f"{man}: no JSON OUTPUT section", file=sys.stderr)
        return 1
    doc = documented_keys(section)

    missing = sorted(k for k in keys if k not in doc)
    if missing:
        print(f"{len(missing)} of the {len(keys)} keys in the golden JSON "
              f"files are not documented (in bold) in the JSON OUTPUT "
              f"section of {man}:")
        for k in missing:
            print(f"  {k}  ({', '.join(sorted(keys[k]))})")
        return 1
    print(f"all {len(keys)} keys of {files} golden JSON files are documented "
          f"in {os.path.basename(man)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
