#!/usr/bin/env python3
"""The checker behind scripts/check_layout.sh (the rules table lives there).

  layout_rules.py --rules FILE --dot FILE [--src DIR]

Reads the rules table, the link graph CMake wrote with --graphviz (its .dot file)
and, with --src, the #include lines of every file under DIR/<folder>/. Prints one
line per violation and exits 1 if there is any; otherwise prints
"N libraries, 0 violations" and exits 0. Exit 2: bad input (no graph, bad table).
"""
import argparse
import os
import re
import sys

KINDS = ("only", "never", "any", "flags")
NODE_RE = re.compile(r'^\s*"(node\d+)"\s*\[\s*label\s*=\s*"([^"]*)"')
EDGE_RE = re.compile(r'^\s*"(node\d+)"\s*->\s*"(node\d+)"')
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*[<"]([^">]+)[">]')
SOURCE_EXT = (".h", ".hpp", ".hh", ".cpp", ".cc", ".cxx", ".inc", ".ipp", ".tpp")


def die(msg):
    print(f"layout: {msg}", file=sys.stderr)
    sys.exit(2)


def full(name):
    return name if name.startswith("blt_") else "blt_" + name


def parse_rules(path):
    """Rows: `library  kind  libraries...  | why`. Returns {lib: (kind, set, why)}."""
    rules = {}
    with open(path) as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            body, _, why = line.partition("|")
            fields = body.split()
            if len(fields) < 2 or fields[1] not in KINDS:
                die(f"rules line {lineno}: expected `library {'|'.join(KINDS)} libraries... | why`: {raw.strip()}")
            lib, kind = full(fields[0]), fields[1]
            names = {full(n) for n in fields[2:] if n != "-"}
            if lib in rules:
                die(f"rules line {lineno}: {lib} appears twice")
            if kind in ("any", "flags") and names:
                die(f"rules line {lineno}: `{kind}` takes no libraries: {raw.strip()}")
            rules[lib] = (kind, names, why.strip())
    for lib, (_, names, _) in rules.items():
        for name in sorted(names - rules.keys()):
            die(f"rules: {lib} names {name}, which has no row of its own (a typo?)")
    return rules


def parse_dot(path):
    """Returns (every target's name, edges [(from name, to name)]) of a CMake graphviz file."""
    labels, edges = {}, []
    try:
        with open(path) as f:
            lines = f.readlines()
    except OSError as e:
        die(f"cannot read the link graph: {e}")
    for line in lines:
        m = EDGE_RE.match(line)
        if m:
            edges.append(m.groups())
            continue
        m = NODE_RE.match(line)
        if m:
            labels[m.group(1)] = m.group(2)
    if not labels:
        die(f"{path}: no targets found (not a CMake --graphviz file?)")
    named = []
    for a, b in edges:
        if a not in labels or b not in labels:
            die(f"{path}: edge {a} -> {b} names an undeclared node")
        named.append((labels[a], labels[b]))
    return set(labels.values()), named


def reach_paths(graph, start):
    """Breadth-first from start: {target: path [start, ..., target]} for every target reached;
    start itself is in the result only when a path leads back to it (a link cycle)."""
    paths, frontier, cycle = {start: [start]}, [start], None
    while frontier:
        nxt = []
        for a in frontier:
            for b in sorted(graph.get(a, ())):
                if b == start and cycle is None:
                    cycle = paths[a] + [b]
                if b not in paths:
                    paths[b] = paths[a] + [b]
                    nxt.append(b)
        frontier = nxt
    del paths[start]
    if cycle:
        paths[start] = cycle
    return paths


def forbidden(rules, lib, target):
    """Why lib must not link target (both ours), or None when it may."""
    kind, names, why = rules[lib]
    if target == lib:
        return "a library must not reach itself (a link cycle)"
    if kind == "only" and target not in names:
        allowed = ", ".join(sorted(names)) or "none of our libraries"
        return f"{lib} may link only {allowed}" + (f" ({why})" if why else "")
    if kind == "never" and target in names:
        return f"{lib} must never link {target}" + (f" ({why})" if why else "")
    return None


def check_graph(rules, targets, edges):
    violations = []
    for t in sorted(targets):
        if t.startswith("blt_") and t not in rules:
            violations.append(f"unknown library {t} in the link graph: add it to the rules in scripts/check_layout.sh")
    flags = {lib for lib, (kind, _, _) in rules.items() if kind == "flags"}
    ours = {t for t in targets if t in rules and t not in flags}
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    for lib in sorted(ours | (flags & targets)):
        for target, path in sorted(reach_paths(graph, lib).items()):
            if target not in rules:
                continue
            if lib in flags:
                if target not in flags:
                    violations.append(f"{lib} -> {target}: {lib} is a settings target and must link none of our "
                                      f"libraries (path {' -> '.join(path)})")
                continue
            if target in flags:
                continue
            why = forbidden(rules, lib, target)
            if why:
                how = "links" if len(path) == 2 else "reaches"
                violations.append(f"{lib} {how} {target}: offending edge {path[0]} -> {path[1]}"
                                  + (f" (path {' -> '.join(path)})" if len(path) > 2 else "") + f"; {why}")
    return ours, graph, violations


def include_folder(src, folder_dir, inc, folders):
    """The src folder an #include names ("nn/x.h" -> nn; "../nn/x.h" from src/ops -> nn), or None."""
    if inc.startswith("."):
        resolved = os.path.normpath(os.path.join(folder_dir, inc))
        rel = os.path.relpath(resolved, src)
        if rel.startswith(".."):
            return None
        first = rel.split(os.sep, 1)[0]
    else:
        first = inc.split("/", 1)[0]
        if "/" not in inc:
            return None
    return first if first in folders else None


def check_includes(rules, ours, graph, src):
    """A file in src/<folder>/ may include <other>/... only when the table lets blt_<folder> reach
    blt_<other> and the link graph has it reach blt_<other> (no dependency hidden behind a header)."""
    violations = []
    folders = sorted(d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d)))
    for folder in folders:
        if full(folder) not in rules:
            violations.append(f"src/{folder}/: no rule for {full(folder)}: add it to the rules in scripts/check_layout.sh")
    known = set(folders)
    reach = {lib: set(reach_paths(graph, lib)) for lib in ours}
    for folder in folders:
        lib = full(folder)
        if lib not in rules:
            continue
        for root, _, files in os.walk(os.path.join(src, folder)):
            for name in sorted(files):
                if not name.endswith(SOURCE_EXT):
                    continue
                path = os.path.join(root, name)
                with open(path, errors="replace") as f:
                    for lineno, line in enumerate(f, 1):
                        m = INCLUDE_RE.match(line)
                        if not m:
                            continue
                        other = include_folder(src, root, m.group(1), known)
                        if other is None or other == folder or full(other) not in rules:
                            continue
                        rel = os.path.relpath(path, os.path.dirname(src.rstrip("/")))
                        why = forbidden(rules, lib, full(other))
                        if why:
                            violations.append(f"{rel}:{lineno}: includes \"{m.group(1)}\"; {why}")
                        elif lib in ours and full(other) not in reach[lib]:
                            violations.append(f"{rel}:{lineno}: includes \"{m.group(1)}\" but {lib} does not link "
                                              f"{full(other)}: add it to the DEPS in src/{folder}/CMakeLists.txt")
    return violations


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rules", required=True)
    ap.add_argument("--dot", required=True)
    ap.add_argument("--src")
    args = ap.parse_args()
    rules = parse_rules(args.rules)
    targets, edges = parse_dot(args.dot)
    ours, graph, violations = check_graph(rules, targets, edges)
    if args.src:
        violations += check_includes(rules, ours, graph, args.src)
    for v in violations:
        print(f"layout: FAIL: {v}")
    print(f"{len(ours)} libraries, {len(violations)} violations")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
