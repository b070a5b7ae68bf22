"""`solid init`: a SOLID project in any folder, from the files the package ships.

`solidcli/project/params.yaml` and `dvc.yaml` are the repository's own, byte for byte
(tests/test_package.py checks it: edit the repository's files, then copy them over). A project
outside the repository has no solidcli sources, and DVC fails on a missing dep, so the dvc.yaml
written here lacks the stages' deps on the package's files (`solidcli/...`): its stages rerun
when their params or data change, not when the installed package does (`dvc repro -f` after an
upgrade). The bundled datasets stay inside the installed package, so `dvc repro` runs offline.
Then `git init` and `dvc init` where there is no repository yet (`dvc init --subdir` inside
another git repository, `--no-scm` without git).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from solidcli import __version__
from solidcli._io import write_text
from solidcli.errors import SolidError

TEMPLATES = Path(__file__).resolve().parent / "project"
FILES = ("params.yaml", "dvc.yaml")
CODE_DEP = re.compile(r"\s*- solidcli(/\S*)?\s*")  # a dep on the package's own files
# what a project keeps out of git (DVC writes .gitignore files for the outputs it caches)
GITIGNORE = ("/data/raw", "__pycache__/")


def project_dvc_yaml(text: str) -> str:
    """The repository's dvc.yaml without the `solidcli/...` deps (and a `deps:` they leave
    empty), under a header saying so; everything else, comments included, unchanged."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.strip() != "deps:":
            out.append(line)
            continue
        indent = len(line) - len(line.lstrip())
        block = []
        while i < len(lines) and lines[i].strip() and \
                len(lines[i]) - len(lines[i].lstrip()) > indent:
            block.append(lines[i])
            i += 1
        kept = [b for b in block if not CODE_DEP.fullmatch(b)]
        if any(b.lstrip().startswith("- ") for b in kept):
            out.append(line)
        out += kept
    header = (f"# Written by `solid init` (solid-rec {__version__}): the package's dvc.yaml "
              "without the stages'\n# deps on the package's own files (solidcli/...), which "
              "this project does not hold:\n# a stage reruns when its params or data change; "
              "after upgrading solid-rec, `dvc repro -f`.\n#\n")
    return header + "".join(out)


def _run(shown: str, cmd: list[str], root: Path) -> None:
    """Run `cmd` in `root`; a failure is one line naming `shown` and its last output line."""
    result = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        why = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()[-1]
        raise SolidError(f"`{shown}` failed in {root}: {why}")


def _git_top(root: Path) -> Path | None:
    """The top folder of the git work tree holding `root`, or None (not in one)."""
    result = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root,
                            capture_output=True, text=True, check=False)
    return Path(result.stdout.strip()).resolve() if result.returncode == 0 else None


def _gitignore(root: Path) -> Path:
    """.gitignore with GITIGNORE's lines added where missing (others' lines kept)."""
    path = root / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    have = set(text.splitlines())
    missing = [line for line in GITIGNORE if line not in have]
    if missing:
        if text and not text.endswith("\n"):
            text += "\n"
        write_text(path, text + "".join(f"{line}\n" for line in missing))
    return path


def init(root: Path, force: bool = False) -> list[Path]:
    """Write params.yaml, dvc.yaml and .gitignore into `root` (made if absent), then set up
    git and DVC where absent; refuses to replace params.yaml or dvc.yaml unless `force`.
    Returns the files written and the repositories made (.git, .dvc)."""
    root = Path(root)
    taken = [name for name in FILES if (root / name).exists()]
    if taken and not force:
        one = len(taken) == 1
        raise SolidError(f"{' and '.join(str(root / n) for n in taken)} already "
                         f"exist{'s' if one else ''}; `solid init --force` overwrites "
                         f"{'it' if one else 'them'}")
    root.mkdir(parents=True, exist_ok=True)
    sources = {name: (TEMPLATES / name).read_text(encoding="utf-8") for name in FILES}
    sources["dvc.yaml"] = project_dvc_yaml(sources["dvc.yaml"])
    written = [write_text(root / name, text) for name, text in sources.items()]
    written.append(_gitignore(root))
    if shutil.which("git") is None:
        scm = ["--no-scm"]
    else:
        top = _git_top(root)
        if top is None:
            _run("git init", ["git", "init", "-q"], root)
            written.append(root / ".git")
            scm = []
        else:
            scm = [] if top == root.resolve() else ["--subdir"]
    if not (root / ".dvc").is_dir():
        # this interpreter's DVC: the one installed with solid-rec, whatever is on PATH
        _run(" ".join(["dvc init", *scm]), [sys.executable, "-m", "dvc", "init", "-q", *scm],
             root)
        written.append(root / ".dvc")
    return written
