"""Write every dvc.yaml stage's solidcli code dependencies from the import closure of its
`solid` commands (`tests/import_closure.py`), so they are never kept by hand.

    python tools/dvc_deps.py              # rewrite dvc.yaml, studies/dvc.yaml and the copy
                                          # `solid init` ships (solidcli/project/dvc.yaml)
    python tools/dvc_deps.py --check      # exit 1, naming the files, if any would change

Each stage's run of `- solidcli/...` dependency lines is replaced by the sorted closure of
its commands, keeping package data (`solidcli/bundled`, `solidcli/paper`); everything else in
the file (comments, anchors, order) is left as it is. A stage's command is read from its
`cmd:` (one line, or a list), `${...}` interpolations counting as plain words.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from import_closure import command_closure

FILES = ("dvc.yaml", "studies/dvc.yaml")
COPY = {"dvc.yaml": "solidcli/project/dvc.yaml"}  # byte-identical copies
DATA = ("solidcli/bundled", "solidcli/paper")  # package data, not code
CMD = re.compile(r"^(\s*)cmd:\s*(.*)$")
DEP = re.compile(r"^(\s*)- solidcli/")


def _commands(lines: list[str], i: int, indent: str, rest: str) -> list[str]:
    """The commands of the `cmd:` at line i: its value, or the list items below it."""
    if rest and rest not in ("|", ">"):
        return [rest]
    out = []
    for line in lines[i + 1:]:
        if line.strip() and len(line) - len(line.lstrip()) <= len(indent):
            break
        text = line.strip().removeprefix("- ")
        if text and not text.startswith("#"):
            out.append(text)
    return out


def _closure(commands: list[str]) -> set[str]:
    needed: set[str] = set()
    for command in commands:
        args = shlex.split(re.sub(r"\$\{[^}]*\}", "X", command))
        if len(args) > 1 and args[0] == "solid":
            needed |= {p.as_posix() for p in command_closure(args[1])}
    return needed


def rewrite(text: str) -> str:
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    commands: list[str] = []
    i = 0
    while i < len(lines):
        cmd = CMD.match(lines[i])
        if cmd:
            commands = _commands(lines, i, cmd.group(1), cmd.group(2).strip())
        dep = DEP.match(lines[i])
        if not dep:
            out.append(lines[i])
            i += 1
            continue
        block = []
        while i < len(lines) and DEP.match(lines[i]):
            block.append(lines[i].strip().removeprefix("- "))
            i += 1
        kept = {b for b in block if b.startswith(DATA)}
        out.extend(f"{dep.group(1)}- {name}\n" for name in sorted(kept | _closure(commands)))
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    stale = []
    for name in FILES:
        path = REPO / name
        old = path.read_text()
        new = rewrite(old)
        targets = [path] + ([REPO / COPY[name]] if name in COPY else [])
        for target in targets:
            if target.read_text() != new:
                stale.append(target.relative_to(REPO).as_posix())
                if not check:
                    target.write_text(new)
    if check and stale:
        print(f"code dependencies out of date in {', '.join(stale)}: run "
              "`python tools/dvc_deps.py`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
