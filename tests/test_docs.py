"""The documentation site (mkdocs.yml, docs/): it builds offline with strict link checking,
its commands page documents every command of the app, and it points nowhere outside the
repository."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer

from solidcli.cli import app

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
# a page may link to these project sites and nowhere else outside the repository
ALLOWED_HOSTS = ("www.mkdocs.org", "squidfunk.github.io", "dvc.org", "pytorch.org",
                 "typer.tiangolo.com", "onnxruntime.ai", "docs.ray.io")
# references to files outside the repository (the project's private design notes)
OUTSIDE = ("../shared", "method-spec")

pytest.importorskip("mkdocs")
pytest.importorskip("material")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(out)], check=False, cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    return out


def _commands() -> list[str]:
    group = typer.main.get_command(app)
    return list(group.list_commands(click.Context(group, info_name="solid")))


def test_site_builds_strict(site):
    for page in ("index", "getting-started", "commands", "datasets", "models", "protocols",
                 "verdicts", "results", "mechanics", "performance", "extending",
                 "ARCHITECTURE", "glossary"):
        assert (site / f"{page}.html").is_file(), page
    # the committed results are copied in, so results.md's links resolve
    assert (site / "reports" / "table1.html").is_file()
    assert (site / "reports" / "figure5.png").is_file()


def test_commands_page_documents_every_command(site):
    text = html.unescape((site / "commands.html").read_text(encoding="utf-8"))
    names = _commands()
    assert len(names) >= 10
    for name in names:
        assert f"Usage: solid {name} [OPTIONS]" in text, f"`solid {name}` has no --help in docs"
        assert re.search(rf"<h2[^>]*>solid {re.escape(name)}<", text), name


def _markdown_sources() -> list[Path]:
    return sorted(DOCS.glob("*.md")) + [REPO / "mkdocs.yml"]


def test_docs_reference_nothing_outside_the_repository():
    bad = [f"{p.name}: {word}" for p in _markdown_sources()
           for word in OUTSIDE if word in p.read_text(encoding="utf-8")]
    assert not bad, bad
    link = re.compile(r"\]\(\s*<?(https?://[^)\s>]+)|<(https?://[^>\s]+)>|href=\"(https?://[^\"]+)")
    for p in _markdown_sources():
        for match in link.finditer(p.read_text(encoding="utf-8")):
            url = next(g for g in match.groups() if g)
            host = url.split("/")[2]
            assert host in ALLOWED_HOSTS, f"{p.name} links outside the repository: {url}"


def test_built_site_loads_nothing_from_the_network(site):
    """No font, script or stylesheet fetched from elsewhere: the site works offline."""
    remote = re.compile(r"(?:src|href)=\"((?:https?:)?//[^\"]+)\"")
    for page in site.rglob("*.html"):
        for url in remote.findall(page.read_text(encoding="utf-8")):
            host = url.split("/")[2]
            assert host in ALLOWED_HOSTS, f"{page.relative_to(site)} loads {url}"
