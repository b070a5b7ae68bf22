"""MkDocs hooks (mkdocs.yml `hooks:`): pages generated at build time, so they cannot drift.

* `commands.md`: every command of the Typer app (`solidcli.cli.app`) with its `--help`, as the
  terminal shows it at 100 columns without colour. A new command appears here by itself.
* The committed results: every `reports/**/*.md` table, `reports/figure5.png`, and the tables
  of the nested protocol projects (`protocols/*/reports/*.md`), copied into the site at the
  same paths as in the repository, so results.md links to `reports/table1.md` and strict link
  checking sees them. They stay out of the navigation (results.md lists them).

Nothing here reaches the network; importing the CLI does not import torch.
"""

from __future__ import annotations

import os
from pathlib import Path

from mkdocs.structure.files import File, Files, InclusionLevel

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = 80  # a standard terminal; wider blocks scroll sideways in the page
OPTIONAL_PAGES = ("figures.md",)  # listed in mkdocs.yml's nav, dropped from it while absent
# the committed results copied into the site (repository-relative globs)
RESULT_GLOBS = ("reports/*.md", "reports/studies/*/*.md", "reports/figure5.png",
                "protocols/*/reports/*.md")


def command_names() -> list[str]:
    """The registered commands of the `solid` app, in the app's order."""
    import click
    import typer

    from solidcli.cli import app

    group = typer.main.get_command(app)
    return list(group.list_commands(click.Context(group, info_name="solid")))


def _help(args: list[str]) -> str:
    from typer.testing import CliRunner

    from solidcli.cli import app

    env = {"COLUMNS": str(COLUMNS), "NO_COLOR": "1", "TERM": "dumb"}
    result = CliRunner().invoke(app, [*args, "--help"], env=env, terminal_width=COLUMNS)
    if result.exit_code != 0:
        raise RuntimeError(f"`solid {' '.join(args)} --help` exited {result.exit_code}: "
                           f"{result.output}")
    lines = [line.rstrip() for line in result.output.splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    return "\n".join(lines).rstrip()


def commands_page() -> str:
    """The Markdown of commands.md: `solid --help`, then one section per command."""
    old = {k: os.environ.get(k) for k in ("COLUMNS", "NO_COLOR", "TERM")}
    try:
        parts = [
            "# Commands",
            "",
            "Generated at build time from the Typer app (`solidcli/cli.py`) by `docs/hooks.py`:",
            "each block is the command's `--help` exactly as `solid <command> --help` prints it",
            f"({COLUMNS} columns, no colour), so this page and the program cannot disagree.",
            "Every command reads its defaults from `params.yaml`; flags override them, and",
            "`-S key=value` overrides any parameter for one run.",
            "",
            "## solid",
            "",
            "```text",
            _help([]),
            "```",
            "",
        ]
        for name in command_names():
            parts += [f"## solid {name}", "", "```text", _help([name]), "```", ""]
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return "\n".join(parts)


def result_paths() -> list[Path]:
    return sorted({p for pattern in RESULT_GLOBS for p in ROOT.glob(pattern) if p.is_file()})


def _result_file(path: Path, config) -> File:
    rel = path.relative_to(ROOT).as_posix()
    if path.suffix != ".md":
        return File.generated(config, rel, abs_src_path=str(path),
                              inclusion=InclusionLevel.NOT_IN_NAV)
    first, _, rest = path.read_text(encoding="utf-8").partition("\n")
    back = os.path.relpath("results.md", os.path.dirname(rel) or ".")
    note = (f"*The committed file `{rel}`, copied into the site at build time "
            f"(see [Results]({back})).*")
    if first.startswith("# "):  # the file's own title
        text = f"{first}\n\n{note}\n{rest}"
    elif first.startswith("#"):  # a table's caption as a heading: a short title, then it whole
        caption = first.lstrip("#").strip()
        short = f"{caption.split(' (')[0]} ({rel.removesuffix('.md')})"  # several Table 1s
        text = f"# {short}\n\n{note}\n\n{caption}\n{rest}"
    elif first.startswith("**") and first.endswith("**"):  # a bold caption: the title
        text = f"# {first.strip('*')}\n\n{note}\n{rest}"
    else:
        text = f"# `{rel}`\n\n{note}\n\n{first}\n{rest}"
    return File.generated(config, rel, content=text, inclusion=InclusionLevel.NOT_IN_NAV)


def _drop_missing(nav: list, missing: set[str]) -> list:
    out = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        if isinstance(value, list):
            out.append({next(iter(entry)): _drop_missing(value, missing)})
        elif value not in missing:
            out.append(entry)
    return out


def on_config(config):
    """A page another change is still writing (OPTIONAL_PAGES) leaves the nav while absent;
    every other nav entry must exist (strict)."""
    docs = Path(config["docs_dir"])
    missing = {page for page in OPTIONAL_PAGES if not (docs / page).is_file()}
    if missing and config["nav"]:
        config["nav"] = _drop_missing(config["nav"], missing)
    return config


def on_files(files: Files, config) -> Files:
    files.append(File.generated(config, "commands.md", content=commands_page()))
    for path in result_paths():
        files.append(_result_file(path, config))
    return files
