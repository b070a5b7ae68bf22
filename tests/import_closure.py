"""The solidcli source files a `solid <command>` can execute: its import closure, statically.

Every `import` and `from ... import` anywhere in a module (top level or inside a function, where
the commands import lazily) counts, and so does a string constant naming a solidcli module
(the backbone registry imports its modules by name). For cli.py only the command's own
function, the cli helpers it calls and cli's top-level imports count, since each command
imports just its own pipeline module. A package `__init__.py` holding nothing but a docstring
cannot change behaviour and is left out.

    python tests/import_closure.py train-scl     # print the files, as dvc.yaml deps
"""

from __future__ import annotations

import ast
import re
import sys
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "solidcli"
MODULE_NAME = re.compile(r"^solidcli(\.[A-Za-z_]\w*)+$")


def module_path(name: str) -> Path | None:
    """The file of module `name` (a package's __init__.py), or None if it is not ours."""
    if name != PACKAGE and not name.startswith(PACKAGE + "."):
        return None
    base = REPO.joinpath(*name.split("."))
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _names_in(nodes, current: str) -> set[str]:
    """Module names that the AST nodes import or name in a string."""
    found: set[str] = set()
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Import):
                found.update(a.name for a in sub.names)
            elif isinstance(sub, ast.ImportFrom):
                base = sub.module or ""
                if sub.level:
                    anchor = current.split(".")[: -sub.level]
                    base = ".".join(anchor + ([base] if base else []))
                found.add(base)
                found.update(f"{base}.{a.name}" for a in sub.names)
            elif (isinstance(sub, ast.Constant) and isinstance(sub.value, str)
                  and MODULE_NAME.match(sub.value.split(":")[0])):  # "<module>[:<class>]"
                found.add(sub.value.split(":")[0])
    return {n for n in found if module_path(n) is not None}


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _trivial(path: Path) -> bool:
    """An __init__.py with nothing but a docstring."""
    body = _tree(path).body
    return path.name == "__init__.py" and all(
        isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body)


def closure(modules: set[str], opaque: frozenset[str] = frozenset()) -> set[Path]:
    """Files of `modules` and of everything they import, transitively (with parents); the
    imports of an `opaque` module are not followed (the caller gave the ones that count)."""
    todo, seen = list(modules), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = module_path(name)
        if path is None:
            continue
        todo += _parents(name)
        if name not in opaque:
            todo += _names_in(_tree(path).body, name)
    files = {module_path(n) for n in seen}
    return {f.relative_to(REPO) for f in files if f is not None and not _trivial(f)}


def command_modules(command: str) -> set[str]:
    """Modules a `solid <command>` reaches from cli.py: top-level imports, plus the imports of
    the command's function and of the cli functions it calls (transitively)."""
    cli = _tree(module_path(f"{PACKAGE}.cli"))
    funcs = {n.name: n for n in cli.body if isinstance(n, ast.FunctionDef)}
    entry = next((f for f in funcs.values() if _command_name(f) == command), None)
    if entry is None:
        raise KeyError(f"cli.py has no command '{command}'")
    reached, todo = set(), [entry.name]
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        for sub in ast.walk(funcs[name]):
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) \
                    and sub.func.id in funcs:
                todo.append(sub.func.id)
    top = [n for n in cli.body if not isinstance(n, ast.FunctionDef)]
    names = _names_in(top, f"{PACKAGE}.cli") | _names_in([funcs[n] for n in reached],
                                                         f"{PACKAGE}.cli")
    return names | {f"{PACKAGE}.cli"}


def _command_name(func: ast.FunctionDef) -> str | None:
    for dec in func.decorator_list:
        if isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) \
                and dec.func.attr == "command":
            if dec.args and isinstance(dec.args[0], ast.Constant):
                return dec.args[0].value
            return func.name.replace("_", "-")
    return None


def command_closure(command: str) -> set[Path]:
    return closure(command_modules(command), opaque=frozenset({f"{PACKAGE}.cli"}))


if __name__ == "__main__":
    for path in sorted(command_closure(sys.argv[1])):
        print(f"      - {path.as_posix()}")
