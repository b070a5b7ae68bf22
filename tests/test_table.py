"""Tables 1-5 and Figure 5 from hand-written metrics files (no training)."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from solidcli.errors import SolidError
from solidcli.metrics import METRIC_NAMES
from solidcli.pipeline import figure, table


def metrics(base: float) -> dict[str, float]:
    """Six test metrics: base, base+0.01, ... so every cell is predictable."""
    return {m: round(base + 0.01 * i, 6) for i, m in enumerate(METRIC_NAMES)}


def write_run(root: Path, dataset: str, backbone: str, dsr: str, variant: str, base: float,
              tag: str | None = None, lam: float | None = None, T: float | None = None,
              legacy: bool = False) -> Path:
    rec = {"dataset": dataset, "backbone": backbone, "dsr": dsr, "variant": variant,
           "seed": 0, "ties": "conservative", "protocol": "sampled 1+99", "best_epoch": 3,
           "valid": {**metrics(base), "users": 10}, "test": {**metrics(base), "users": 10}}
    if not legacy:  # older files lack tag/lambda/T altogether
        rec |= {"tag": tag, "lambda": lam, "T": T}
    key = f"{dataset}-{backbone}-{dsr}-{variant}" + (f"-{tag}" if tag else "")
    path = root / key / "metrics.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(rec))
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "metrics"
    # Table 1 (and Table 2's base / scl rows): SASRec x {-, DUET, Ours (DUET)}, BERT4Rec Ours
    write_run(r, "scientific", "sasrec", "none", "base", 0.5, legacy=True)
    write_run(r, "scientific", "sasrec", "duet", "base", 0.6)
    write_run(r, "scientific", "sasrec", "duet", "scl", 0.7, lam=0.1, T=0.01)
    write_run(r, "scientific", "bert4rec", "duet", "scl", 0.4, lam=0.1, T=0.01)
    # the rest of Table 2
    write_run(r, "scientific", "sasrec", "duet", "spg", 0.61)
    write_run(r, "scientific", "sasrec", "duet", "sml", 0.62, T=0.01)
    write_run(r, "scientific", "sasrec", "duet", "scl_only", 0.63, lam=0.1, T=0.01)
    # a 2 x 2 lambda x T sweep: lambda in {1, 0.1} x T in {0.1, 0.01}
    for lam, t, base in ((1.0, 0.1, 0.30), (1.0, 0.01, 0.31), (0.1, 0.1, 0.32),
                         (0.1, 0.01, 0.33)):
        write_run(r, "scientific", "sasrec", "duet", "scl", base, tag=f"lam{lam:g}-T{t:g}",
                  lam=lam, T=t)
    # Table 3: three modality sets (at the sweep's default lambda and T; not sweep cells)
    for mods, base in (("text", 0.21), ("id+image+text", 0.22), ("text+id", 0.23)):
        write_run(r, "scientific", "sasrec", "duet", "scl", base, tag=f"mod-{mods}",
                  lam=0.1, T=0.01)
    write_run(r, "scientific", "sasrec", "duet", "sml", 0.24, tag="mod-text", T=0.01)
    return r


def test_table1_markdown_exact(root: Path) -> None:
    text, written = table.run(1, "markdown", root, None)
    assert written == []
    assert text == (
        "### Table 1: overall comparison, Scientific (test split; sampled 1+99)\n"
        "\n"
        "| SR model | DSR model | AUC | UAUC | NDCG@10 | Recall@10 | NDCG@20 | Recall@20 |\n"
        "|:---|:---|---:|---:|---:|---:|---:|---:|\n"
        "| SASRec | - | 0.5000 | 0.5100 | 0.5200 | 0.5300 | 0.5400 | 0.5500 |\n"
        "| SASRec | DUET | 0.6000 | 0.6100 | 0.6200 | 0.6300 | 0.6400 | 0.6500 |\n"
        "| SASRec | Ours (DUET) | 0.7000 | 0.7100 | 0.7200 | 0.7300 | 0.7400 | 0.7500 |\n"
        "| BERT4Rec | Ours (DUET) | 0.4000 | 0.4100 | 0.4200 | 0.4300 | 0.4400 | 0.4500 |\n"
    )
    # absent rows (APG, Ours (APG), DIN, GRU4Rec, other datasets) are left out
    assert "APG" not in text and "DIN" not in text and "Arts" not in text


def test_table4_markdown_exact_with_compare(root: Path) -> None:
    text, _ = table.run(4, "markdown", root, None, compare="paper")
    assert text == (
        "### Table 4: lambda sweep at T = 0.01 (test split; sampled 1+99; ours: Scientific, "
        "SASRec + DUET; paper: Arts, SASRec + DUET; cells: ours / paper (ours - paper))\n"
        "\n"
        "| λ | AUC | UAUC | NDCG@10 | Recall@10 | NDCG@20 | Recall@20 |\n"
        "|:---|---:|---:|---:|---:|---:|---:|\n"
        "| 1 | 0.3100 / 0.8485 (-0.5385) | 0.3200 / 0.7839 (-0.4639) "
        "| 0.3300 / 0.2901 (+0.0399) | 0.3400 / 0.5103 (-0.1703) "
        "| 0.3500 / 0.3273 (+0.0227) | 0.3600 / 0.6466 (-0.2866) |\n"
        "| 0.1 | 0.3300 / 0.8479 (-0.5179) | 0.3400 / 0.7850 (-0.4450) "
        "| 0.3500 / 0.2983 (+0.0517) | 0.3600 / 0.5155 (-0.1555) "
        "| 0.3700 / 0.3347 (+0.0353) | 0.3800 / 0.6510 (-0.2710) |\n"
    )


def test_table1_compare_missing_paper_cells(root: Path) -> None:
    text, _ = table.run(1, "markdown", root, None, compare="paper")
    lines = text.splitlines()
    assert sum(line.startswith("|:---") for line in lines) == 1  # one header separator
    assert "| SASRec | - | 0.5000 / 0.7175 (-0.2175) |" in text
    bert = next(line for line in lines if line.startswith("| BERT4Rec"))
    # the paper prints no Scientific/BERT4Rec/SOLID-DUET cell at all
    assert bert.count("missing") == len(METRIC_NAMES)
    assert "(" not in bert.split("|", 3)[3]


def test_table1_csv(root: Path) -> None:
    text, _ = table.run(1, "csv", root, None)
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ["dataset", "sr_model", "dsr_model", *METRIC_NAMES]
    assert rows[3] == ["Scientific", "SASRec", "SOLID-DUET",
                       "0.7000", "0.7100", "0.7200", "0.7300", "0.7400", "0.7500"]
    assert len(rows) == 5

    text, _ = table.run(1, "csv", root, None, compare="paper")
    rows = list(csv.reader(text.splitlines()))
    assert rows[0][:6] == ["dataset", "sr_model", "dsr_model", "AUC", "AUC_paper", "AUC_diff"]
    assert rows[0][-1] == "Recall@20_diff"
    assert rows[1][:6] == ["Scientific", "SASRec", "none", "0.5000", "0.7175", "-0.2175"]
    assert rows[4][3:6] == ["0.4000", "", ""]  # BERT4Rec Ours (DUET): paper cell missing


def test_table2_rows_flags_and_formats(root: Path) -> None:
    text, _ = table.run(2, "csv", root, None, compare="paper")
    rows = list(csv.reader(text.splitlines()))
    assert rows[0][:6] == ["SPG", "SML", "SCL", "AUC", "AUC_paper", "AUC_diff"]
    assert [r[:3] for r in rows[1:]] == [["0", "0", "0"], ["1", "0", "0"], ["1", "1", "0"],
                                         ["0", "0", "1"], ["1", "1", "1"]]
    assert rows[4][3:6] == ["0.6300", "0.8461", "-0.2161"]  # scl_only vs paper row 4
    md, _ = table.run(2, "markdown", root, None, compare="paper")
    assert "| ✓ | ✓ | ✗ | 0.6200 / 0.8270 (-0.2070) |" in md
    assert "ours: Scientific, SASRec + DUET; paper: Arts, SASRec + DUET" in md
    tex, _ = table.run(2, "latex", root, None)
    assert r"$\surd$ & $\times$ & $\times$ & 0.6100" in tex


def test_table3_modality_rows(root: Path) -> None:
    text, _ = table.run(3, "csv", root, None, compare="paper")
    rows = list(csv.reader(text.splitlines()))
    assert rows[0][:6] == ["ID", "Image", "Text", "AUC", "AUC_paper", "AUC_diff"]
    # paper order: text (0,0,1), then id+text (1,0,1), then all three; "text+id" is id+text
    assert [r[:3] for r in rows[1:]] == [["0", "0", "1"], ["1", "0", "1"], ["1", "1", "1"]]
    assert rows[1][3:6] == ["0.2100", "0.8480", "-0.6380"]
    assert rows[2][3] == "0.2300"
    md, _ = table.run(3, "markdown", root, None)
    assert "| ✓ | ✓ | ✓ | 0.2200 |" in md
    # the modality runs are not lambda x T sweep cells
    assert table.run(4, "csv", root, None)[0].count("\n") == 3


def test_table5_rows_present_only(root: Path) -> None:
    text, _ = table.run(5, "csv", root, None)
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ["T", *METRIC_NAMES]
    assert [r[0] for r in rows[1:]] == ["0.1", "0.01"]  # at lambda = 0.1; T = 1, 0.001 absent
    assert rows[2][1] == "0.3300"


def test_table2_other_setup(root: Path) -> None:
    write_run(root, "arts", "gru4rec", "apg", "base", 0.2)
    text, _ = table.run(2, "markdown", root, None, dataset="arts", backbone="gru4rec",
                        dsr="apg")
    assert "ours: Arts, GRU4Rec + APG" in text
    assert text.count("\n| ") == 2  # the header and the one row


def test_out_dir_writes_three_formats(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    text, written = table.run(4, "latex", root, out, compare="paper")
    assert written == [out / "table4.md", out / "table4.tex", out / "table4.csv"]
    assert (out / "table4.tex").read_text() == text
    assert "AUC_paper" in (out / "table4.csv").read_text()
    assert "/ 0.8485 (" in (out / "table4.md").read_text()
    assert not list(out.glob(".*"))  # no temp files left behind


def test_latex_escapes_and_signs(root: Path) -> None:
    write_run(root, "my_data&co", "sasrec", "none", "base", 0.1)
    tex, _ = table.run(1, "latex", root, None, compare="paper")
    assert r"\textit{my\_data\&co}" in tex
    assert "$-0.2175$" in tex  # scientific/sasrec/none: 0.5 - 0.7175, sign in math mode
    assert "& -- &" in tex


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
@pytest.mark.parametrize("number", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("compare", [None, "paper"])
def test_latex_compiles(root: Path, tmp_path: Path, number: int, compare: str | None) -> None:
    write_run(root, "my_data&co", "sasrec", "none", "base", 0.1)
    tex, _ = table.run(number, "latex", root, None, compare=compare)
    doc = tmp_path / "doc.tex"
    doc.write_text("\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n"
                   + tex + "\\end{document}\n", encoding="utf-8")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stdout[-2000:]


def test_errors(root: Path, tmp_path: Path) -> None:
    with pytest.raises(SolidError, match=r"table 6 is not implemented yet \(built: 1, 2, 3, 4, 5\)"):
        table.run(6, "markdown", root, None)
    with pytest.raises(SolidError, match="no Table 3 metrics.*mod-<modalities>"):
        table.run(3, "csv", root, None, dsr="apg")
    with pytest.raises(SolidError, match=r"table 7 is not implemented yet"):
        table.run(7, "markdown", root, None)
    with pytest.raises(SolidError, match="unknown format 'html'.*markdown, latex, csv"):
        table.run(1, "html", root, None)
    with pytest.raises(SolidError, match="unknown comparison"):
        table.run(1, "csv", root, None, compare="authors")
    with pytest.raises(SolidError, match="no Table 2 metrics.*office/sasrec/duet.*pipeline"):
        table.run(2, "csv", root, None, dataset="office")
    with pytest.raises(SolidError, match="no Table 4 metrics.*T = 0.01.*sweep"):
        table.run(4, "csv", root, None, dsr="apg")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SolidError, match="no Table 1 metrics.*run the pipeline first"):
        table.run(1, "markdown", empty, None)
    with pytest.raises(SolidError, match="run the pipeline first"):
        table.run(1, "markdown", tmp_path / "nowhere", None)
    with pytest.raises(SolidError, match="no lambda x T sweep"):
        figure.run(empty, tmp_path / "f.png")


@pytest.mark.parametrize("content", ["{not json", '["a list"]', '{"dataset": "scientific"}',
                                     json.dumps({"dataset": "s", "backbone": "sasrec",
                                                 "dsr": "none", "variant": "base",
                                                 "test": {"AUC": "high"}})])
def test_corrupt_metrics_file(root: Path, content: str) -> None:
    bad = root / "bad" / "metrics.json"
    bad.parent.mkdir()
    bad.write_text(content)
    with pytest.raises(SolidError, match="corrupt metrics file .*bad") as info:
        table.run(1, "markdown", root, None)
    assert "\n" not in str(info.value)


def test_duplicate_run_is_an_error(root: Path) -> None:
    rec = json.loads((root / "scientific-sasrec-duet-base" / "metrics.json").read_text())
    (root / "copy").mkdir()
    (root / "copy" / "metrics.json").write_text(json.dumps(rec))
    with pytest.raises(SolidError, match="two metrics files for the same table row"):
        table.run(1, "csv", root, None)


def test_figure5(root: Path, tmp_path: Path) -> None:
    from PIL import Image

    out = tmp_path / "fig" / "figure5.png"
    assert figure.run(root, out) == [out]
    first = out.read_bytes()
    assert first.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(out) as img:
        assert img.format == "PNG"
        assert 800 <= img.width <= 3000 and 300 <= img.height <= 1200
    figure.run(root, out)
    assert out.read_bytes() == first  # deterministic
    assert [p.name for p in out.parent.iterdir()] == ["figure5.png"]
