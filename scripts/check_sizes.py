#!/usr/bin/env python3
"""The checker behind scripts/check_sizes.sh.

  check_sizes.py [--max-file-lines N] [--max-function-lines N] [--list-functions] PATH...

Every file under PATH (a folder, searched recursively, or a file) may have at most
--max-file-lines lines (400). Every C++ function in it, a free function or a member
function defined in a class body, a lambda at namespace scope, counted from its first
line (a `template <...>` line included) to its closing brace, may have at most
--max-function-lines lines (80), unless the line just above its first line is a
comment that says `long:` followed by the reason, e.g.
    // long: a flat list of fields reads best in one place
Lambdas and local classes inside a function count as part of it.

The C++ reading is a heuristic, not a parser: comments, string and character literals
and preprocessor lines are blanked first; then, at namespace and class scope, a `{`
opens a function body when the text before it (since the last `;`, `{` or `}`) ends
like a function head: `)` plus qualifiers (const, noexcept, override, final, `&`,
`-> type`, requires ...), a constructor's initializer list, or a lambda's `]`.
Namespaces, classes, structs, unions and `extern "C"` are scanned inside; enums and
initializers are skipped.

Prints one line per failure, naming path:line, and exits 1 if there is any.
"""
import argparse
import os
import re
import sys

CXX_EXT = (".h", ".hpp", ".hh", ".hxx", ".cpp", ".cc", ".cxx", ".inc", ".ipp", ".tpp")
LONG_RE = re.compile(r"(//|/\*|^\s*\*).*\blong:\s*\S")
ACCESS_RE = re.compile(r"^\s*((public|private|protected)\s*:(?!:)\s*)+")
QUALIFIERS = r"(\s*(const|volatile|noexcept|override|final|mutable|try|&&|&|->\s*[^;{}]+|requires\s+[^;{}]+))*\s*$"
FUNCTION_END_RE = re.compile(r"\)" + QUALIFIERS)
LAMBDA_END_RE = re.compile(r"=\s*(\[[^\]]*\]|\[\])" + QUALIFIERS)
CTOR_INIT_RE = re.compile(r"\)\s*(noexcept\s*)?:(?!:)")


def blank(text):
    """text with comments, string/char literals and preprocessor lines replaced by spaces (newlines kept)."""
    out = list(text)
    n, i = len(text), 0
    line_start = True

    def wipe(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = text[i]
        if c == "\n":
            line_start = True
            i += 1
            continue
        if line_start and c in " \t":
            i += 1
            continue
        if line_start and c == "#":  # a preprocessor line, with its continuations
            j = i
            while j < n and text[j] != "\n":
                if text[j] == "\\" and j + 1 < n and text[j + 1] == "\n":
                    j += 1
                j += 1
            wipe(i, j)
            i = j
            continue
        line_start = False
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            wipe(i, j)
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            wipe(i, j)
            i = j
        elif c == '"' and i > 0 and text[i - 1] == "R" and (i < 2 or not (text[i - 2].isalnum() or text[i - 2] == "_")
                                                           or text[i - 2] in "uUL8"):
            m = re.match(r'"([^()\\\s]{0,16})\(', text[i:])
            if not m:
                i += 1
                continue
            end = text.find(")" + m.group(1) + '"', i)
            j = n if end < 0 else end + len(m.group(1)) + 2
            wipe(i + 1, j - 1)
            i = j
        elif c in "\"'":
            if c == "'" and is_digit_separator(text, i):
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            wipe(i + 1, min(j, n))
            i = j + 1
        else:
            i += 1
    return "".join(out)


def is_digit_separator(text, i):
    """Whether the ' at i is a digit separator (1'000'000), not a character literal."""
    j = i - 1
    while j >= 0 and (text[j].isalnum() or text[j] in "_'."):
        j -= 1
    return j + 1 < i and text[j + 1].isdigit()


def collapse_parens(s):
    """s with the contents of every balanced (...) removed: `f(int a) : x_(a)` -> `f() : x_()`."""
    out, depth = [], 0
    for c in s:
        if c == "(":
            if depth == 0:
                out.append(c)
            depth += 1
        elif c == ")":
            depth = max(0, depth - 1)
            if depth == 0:
                out.append(c)
        elif depth == 0:
            out.append(c)
    return "".join(out)


def function_name(head):
    """A readable name for a function head: the qualified name before its parameter list."""
    flat = " ".join(head.split())
    m = re.search(r"([\w:~]*operator\s*(\(\)|[^\s(]+))\s*\(", flat)
    if m:
        return m.group(1)
    depth = 0
    for k, c in enumerate(flat):  # the first "(" outside template brackets
        if c == "<":
            depth += 1
        elif c == ">":
            depth = max(0, depth - 1)
        elif c == "(" and depth == 0:
            m = re.search(r"([\w:~]+)\s*$", flat[:k])
            if m:
                return m.group(1)
            break
    m = re.search(r"(\w+)\s*=\s*\[", flat)
    return (m.group(1) + " (lambda)") if m else flat[:60]


class Scanner:
    def __init__(self, text):
        self.s = blank(text)
        self.line_of = []
        line = 1
        for c in self.s:
            self.line_of.append(line)
            if c == "\n":
                line += 1
        self.functions = []  # (name, first line, last line)

    def match_brace(self, i):
        """Index of the } that closes the { at i (or the end)."""
        depth, n = 0, len(self.s)
        while i < n:
            c = self.s[i]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    return i
            i += 1
        return n - 1

    def scan(self, i, end):
        """Scans namespace or class scope s[i:end]: records functions, recurses into containers."""
        head_start = i
        paren = 0
        while i < end:
            c = self.s[i]
            if c == "(":
                paren += 1
            elif c == ")":
                paren = max(0, paren - 1)
            elif c in ";}":
                head_start, paren = i + 1, 0
            elif c == "{":
                close = self.match_brace(i)
                head = self.s[head_start:i]
                if paren > 0 or self.is_member_init(head):  # a default argument or a member's brace-init
                    i = close + 1
                    continue
                kind = self.classify(head)
                if kind == "function":
                    stripped = ACCESS_RE.sub(lambda m: " " * len(m.group(0)), head)
                    first = head_start + len(stripped) - len(stripped.lstrip())
                    self.functions.append((function_name(stripped), self.line_of[first], self.line_of[close]))
                elif kind == "container":
                    self.scan(i + 1, close)
                rest = self.s[close + 1:end].lstrip()
                if kind != "initializer" or not rest.startswith((";", ",")):
                    head_start = close + 1  # an initializer's head runs on to its ";"
                paren = 0
                i = close + 1
                continue
            i += 1

    @staticmethod
    def is_member_init(head):
        """A { inside a constructor's initializer list (`: v_{1}`), as opposed to its body."""
        flat = collapse_parens(" ".join(head.split()))
        if not CTOR_INIT_RE.search(flat):
            return False
        last = flat.rstrip()[-1:] if flat.strip() else ""
        return bool(last) and (last.isalnum() or last in "_>")

    @staticmethod
    def classify(head):
        flat = collapse_parens(" ".join(ACCESS_RE.sub("", head).split()))
        if not flat:
            return "initializer"  # a bare block
        if CTOR_INIT_RE.search(flat) and flat[-1] in ")}":
            return "function"
        if FUNCTION_END_RE.search(flat) or LAMBDA_END_RE.search(flat):
            return "function"
        if re.search(r"\benum\b", flat):
            return "enum"
        if re.search(r"\b(namespace|class|struct|union)\b", flat) or re.search(r'\bextern\s*"\s*"', flat):
            return "container"
        return "initializer"


def files_under(paths):
    for p in paths:
        if os.path.isfile(p):
            yield p
            continue
        for root, dirs, files in os.walk(p):
            dirs.sort()
            for name in sorted(files):
                yield os.path.join(root, name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-file-lines", type=int, default=400)
    ap.add_argument("--max-function-lines", type=int, default=80)
    ap.add_argument("--list-functions", action="store_true", help="print every function found, with its length")
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()
    failures, n_files, n_functions = [], 0, 0
    for path in files_under(args.paths):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError as e:
            failures.append(f"{path}: cannot read: {e}")
            continue
        n_files += 1
        lines = text.splitlines()
        if len(lines) > args.max_file_lines:
            failures.append(f"{path}: {len(lines)} lines, more than {args.max_file_lines}: split the file")
        if not path.endswith(CXX_EXT):
            continue
        scanner = Scanner(text)
        scanner.scan(0, len(scanner.s))
        for name, first, last in scanner.functions:
            n_functions += 1
            length = last - first + 1
            if args.list_functions:
                print(f"{path}:{first}: {name}: {length} lines")
            if length <= args.max_function_lines:
                continue
            above = lines[first - 2] if first >= 2 else ""
            if LONG_RE.search(above):
                continue
            failures.append(f"{path}:{first}: {name} is {length} lines, more than {args.max_function_lines}: "
                            f"split it, or say why not in a `// long: <reason>` comment on the line above it")
    for f in failures:
        print(f"sizes: FAIL: {f}")
    print(f"sizes: {n_files} files, {n_functions} functions, {len(failures)} over the limits "
          f"({args.max_file_lines} lines a file, {args.max_function_lines} a function)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
