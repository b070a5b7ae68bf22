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


README = REPO / "README.md"
# "issue 27", "issues 27, 28", "#27": numbers of a tracker the reader cannot see
ISSUE_NUMBER = re.compile(r"\bissues?\s+#?\d+|(?<![\w&/#])#\d+\b", re.IGNORECASE)


def _readme_and_pages() -> list:
    return [README, *sorted(DOCS.glob("*.md"))]


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; the rest belongs in docs/"


def test_readme_opens_with_the_verdict_block():
    """The answer first: the block `solid claims` regenerates sits in the first screen."""
    head = README.read_text(encoding="utf-8").splitlines()[:60]
    assert "<!-- verdicts:start -->" in head, "README: <!-- verdicts:start --> not in 60 lines"
    assert "<!-- verdicts:end -->" in head, "README: <!-- verdicts:end --> not in 60 lines"
    assert head.index("<!-- verdicts:start -->") < head.index("<!-- verdicts:end -->")


@pytest.mark.parametrize("path", _readme_and_pages(), ids=lambda p: p.name)
def test_no_private_references(path):
    """No private design notes and no issue numbers: a reader of the repository sees neither."""
    text = path.read_text(encoding="utf-8")
    assert "method-spec" not in text, f"{path.name} refers to method-spec"
    found = [m.group(0) for m in ISSUE_NUMBER.finditer(text)]
    assert not found, f"{path.name} refers to issue numbers: {found}"


def test_readme_links_resolve():
    """Every relative link of the README names a file of the repository (or a page the docs
    build generates), and every glossary anchor it uses exists."""
    text = README.read_text(encoding="utf-8")
    generated = {"docs/commands.md"}
    glossary = (DOCS / "glossary.md").read_text(encoding="utf-8")
    anchors = {re.sub(r"[^\w\- ]", "", h.lower()).strip().replace(" ", "-")
               for h in re.findall(r"^## (.+)$", glossary, re.MULTILINE)}
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://")):
            continue
        path, _, anchor = target.partition("#")
        assert path in generated or (REPO / path).exists(), f"README links to missing {path}"
        if path == "docs/glossary.md" and anchor:
            assert anchor in anchors, f"README links to glossary#{anchor}, not a term there"
