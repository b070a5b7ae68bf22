"""The README's verdict block is the pipeline's: rendered from the committed claims.csv, near
the top, rewritten only between its markers."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from solidcli.cli import app
from solidcli.errors import SolidError
from solidcli.report import readme

REPO = Path(__file__).resolve().parent.parent
CLAIMS_CSV = REPO / "reports" / "claims.csv"


def _words() -> dict[str, str]:
    from solidcli.report.claims import FAMILY_WORDS

    return FAMILY_WORDS


def test_committed_block_is_rendered_from_the_committed_claims():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme.current(text) == readme.block(CLAIMS_CSV.read_text(encoding="utf-8"),
                                                _words()), (
        "README's verdict block differs from reports/claims.csv: run `solid claims --out-dir "
        "reports --readme README.md`")
    head = text.splitlines()[:60]
    assert readme.START in head and readme.END in text.splitlines()[:90]


def test_block_counts_and_effects_follow_the_csv():
    csv_text = CLAIMS_CSV.read_text(encoding="utf-8")
    text = readme.block(csv_text, _words())
    rows = [line for line in text.splitlines() if line.startswith(("| T", "| F"))]
    assert len(rows) == 12  # the paper's claims, B.* and C.* (no claim verdict) excluded
    t1 = next(r for r in rows if r.startswith("| T1.ours>dsr"))
    cells = [c.strip() for c in t1.strip("|").split("|")]
    assert cells[1] == "+0.0160" and cells[2] == "+0.0104"  # as claims.md's power table
    assert cells[3] == "29 / 0 / 48"
    # a verdict changed in the csv changes the block
    flipped = csv_text.replace(",all,inconclusive,mixed,", ",all,supported,mixed,", 1)
    assert readme.block(flipped, _words()) != text


def test_rewrite_touches_only_the_block(tmp_path):
    path = tmp_path / "README.md"
    path.write_text(f"# x\nintro\n{readme.START}\nold\n{readme.END}\nrest\n", encoding="utf-8")
    assert readme.update(path, CLAIMS_CSV, _words()) == "rewritten"
    new = path.read_text(encoding="utf-8")
    assert new.startswith("# x\nintro\n") and new.endswith(f"{readme.END}\nrest\n")
    assert "old" not in new and "T1.ours>dsr" in new
    assert readme.update(path, CLAIMS_CSV, _words()) == "unchanged"  # nothing written
    # a project's own README without the markers, or none at all, is left alone
    plain = tmp_path / "PLAIN.md"
    plain.write_text("mine\n", encoding="utf-8")
    assert readme.update(plain, CLAIMS_CSV, _words()) == "no block"
    assert plain.read_text(encoding="utf-8") == "mine\n"
    assert readme.update(tmp_path / "absent.md", CLAIMS_CSV, _words()) == "no block"


@pytest.mark.parametrize("text", ["no markers\n", f"{readme.END}\n{readme.START}\n",
                                  f"{readme.START}\n{readme.START}\n{readme.END}\n"])
def test_bad_markers_are_refused(tmp_path, text):
    with pytest.raises(SolidError, match="verdicts:start"):
        readme.rewrite(text, "block\n")


def test_empty_claims_refused():
    with pytest.raises(SolidError, match="no claim verdicts"):
        readme.block("metrics,family,claim_verdict\n")


def test_cli_readme_needs_out_dir(tmp_path):
    result = CliRunner().invoke(app, ["claims", "--readme", str(tmp_path / "README.md")])
    assert result.exit_code == 1
    assert "--readme needs --out-dir" in result.output
