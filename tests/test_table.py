"""Tables 1-5 and Figure 5 from hand-written metrics files (no training)."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, write_params
from ruamel.yaml import YAML

from solidcli.config import load_params
from solidcli.errors import SolidError
from solidcli.layout import RunId, run_metrics_dir
from solidcli.metrics import METRIC_NAMES
from solidcli.pipeline import figure, table


def metrics(base: float) -> dict[str, float]:
    """Six test metrics: base, base+0.01, ... so every cell is predictable."""
    return {m: round(base + 0.01 * i, 6) for i, m in enumerate(METRIC_NAMES)}


def write_run(root: Path, dataset: str, backbone: str, dsr: str, variant: str, base: float,
              tag: str | None = None, lam: float | None = None, T: float | None = None
              ) -> Path:
    run = RunId(dataset, backbone, dsr, variant, tag)
    rec = {"dataset": dataset, "backbone": backbone, "dsr": dsr, "variant": variant,
           "tag": tag, "lambda": lam, "T": T,
           "seed": 0, "ties": "conservative", "protocol": "sampled 1+99", "best_epoch": 3,
           "valid": {**metrics(base), "users": 10}, "test": {**metrics(base), "users": 10}}
    path = run_metrics_dir(run, root) / "metrics.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(rec))
    return path


def make_params(tmp_path: Path, **study):
    """The repository's params with a small grid: SASRec and BERT4Rec x {-, DUET, Ours (DUET)},
    a 2 x 2 lambda x T sweep and three modality sets."""
    data = YAML(typ="safe", pure=True).load((REPO / "params.yaml").read_text())
    data.update(datasets=["scientific"], backbones=["sasrec", "bert4rec"], dsrs=["none", "duet"],
                solid_dsrs=["duet"])
    data["study"].update({"lambdas": [1.0, 0.1], "Ts": [0.1, 0.01],
                          "modalities": ["text", "id+image+text", "text+id"], **study})
    path = write_params(tmp_path / f"params-{len(list(tmp_path.glob('params*')))}.yaml", data)
    return load_params(path)


@pytest.fixture
def params(tmp_path: Path):
    return make_params(tmp_path)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "metrics"
    # Table 1 (and Table 2's base / scl rows): SASRec x {-, DUET, Ours (DUET)}, BERT4Rec Ours
    write_run(r, "scientific", "sasrec", "none", "base", 0.5)
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
        write_run(r, "scientific", "sasrec", "duet", "scl", base, tag=f"lam{lam}-T{t}",
                  lam=lam, T=t)
    # Table 3: three modality sets (at the default lambda and T; not sweep cells)
    for mods, base in (("text", 0.21), ("id+image+text", 0.22), ("text+id", 0.23)):
        write_run(r, "scientific", "sasrec", "duet", "scl", base, tag=f"mod-{mods}",
                  lam=0.1, T=0.01)
    write_run(r, "scientific", "sasrec", "duet", "sml", 0.24, tag="mod-text", T=0.01)
    return r


def test_table1_markdown_exact(params, root: Path) -> None:
    text, written, missing = table.run(1, "markdown", params, root, None)
    assert written == []
    assert text == (
        "### Table 1: overall comparison, Scientific (test split; sampled 1+99; 2 runs "
        "missing)\n"
        "\n"
        "| SR model | DSR model | AUC | UAUC | NDCG@10 | Recall@10 | NDCG@20 | Recall@20 |\n"
        "|:---|:---|---:|---:|---:|---:|---:|---:|\n"
        "| SASRec | - | 0.5000 | 0.5100 | 0.5200 | 0.5300 | 0.5400 | 0.5500 |\n"
        "| SASRec | DUET | 0.6000 | 0.6100 | 0.6200 | 0.6300 | 0.6400 | 0.6500 |\n"
        "| SASRec | Ours (DUET) | 0.7000 | 0.7100 | 0.7200 | 0.7300 | 0.7400 | 0.7500 |\n"
        "| BERT4Rec | - | not run | not run | not run | not run | not run | not run |\n"
        "| BERT4Rec | DUET | not run | not run | not run | not run | not run | not run |\n"
        "| BERT4Rec | Ours (DUET) | 0.4000 | 0.4100 | 0.4200 | 0.4300 | 0.4400 | 0.4500 |\n"
    )
    # rows the params do not define (APG, DIN, other datasets) are not shown
    assert "APG" not in text and "DIN" not in text and "Arts" not in text
    assert [str(p.run) for p in missing] == ["scientific/bert4rec/none/base",
                                             "scientific/bert4rec/duet/base"]
    assert missing[0].command == ("solid train-base --dataset scientific --backbone bert4rec "
                                  "--dsr none")


def test_table_reads_only_the_runs_params_define(params, root: Path) -> None:
    """A leftover run of a removed backbone, a staging folder and a stray copy never count."""
    write_run(root, "scientific", "din", "duet", "base", 0.9)  # din is not in `backbones`
    stale = root / "scientific" / ".sasrec-duet-base.tmp-1a2b3c4d"
    shutil.copytree(root / "scientific" / "sasrec-duet-base", stale)
    (root / "copy").mkdir()
    shutil.copy(root / "scientific" / "sasrec-duet-base" / "metrics.json", root / "copy")
    text, _, _ = table.run(1, "markdown", params, root, None)
    assert "DIN" not in text and "0.9000" not in text
    assert text.count("| SASRec | DUET | 0.6000") == 1


def test_table_follows_the_sweep_values_of_params(tmp_path: Path, root: Path) -> None:
    wider = make_params(tmp_path, Ts=[0.1, 0.01, 0.001])
    text, _, missing = table.run(5, "csv", wider, root, None)
    assert [r.split(",")[0] for r in text.splitlines()[1:]] == ["0.1", "0.01", "0.001"]
    assert text.splitlines()[3] == "0.001" + "," * len(METRIC_NAMES)  # a missing cell
    assert [p.run.tag for p in missing] == ["lam0.1-T0.001"]


def test_table4_markdown_exact_with_compare(params, root: Path) -> None:
    text, _, _ = table.run(4, "markdown", params, root, None, compare="paper")
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


def test_table1_compare_missing_paper_cells(params, root: Path) -> None:
    text, _, _ = table.run(1, "markdown", params, root, None, compare="paper")
    lines = text.splitlines()
    assert sum(line.startswith("|:---") for line in lines) == 1  # one header separator
    assert "| SASRec | - | 0.5000 / 0.7175 (-0.2175) |" in text
    bert = next(line for line in lines if line.startswith("| BERT4Rec | Ours"))
    # the paper prints no Scientific/BERT4Rec/SOLID-DUET cell at all
    assert bert.count("missing") == len(METRIC_NAMES)
    assert "(" not in bert.split("|", 3)[3]


def test_table1_csv(params, root: Path) -> None:
    text, _, _ = table.run(1, "csv", params, root, None)
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ["dataset", "sr_model", "dsr_model", *METRIC_NAMES]
    assert rows[3] == ["Scientific", "SASRec", "SOLID-DUET",
                       "0.7000", "0.7100", "0.7200", "0.7300", "0.7400", "0.7500"]
    assert rows[4] == ["Scientific", "BERT4Rec", "none", *[""] * len(METRIC_NAMES)]
    assert len(rows) == 7

    text, _, _ = table.run(1, "csv", params, root, None, compare="paper")
    rows = list(csv.reader(text.splitlines()))
    assert rows[0][:6] == ["dataset", "sr_model", "dsr_model", "AUC", "AUC_paper", "AUC_diff"]
    assert rows[0][-1] == "Recall@20_diff"
    assert rows[1][:6] == ["Scientific", "SASRec", "none", "0.5000", "0.7175", "-0.2175"]
    assert rows[4][3:6] == ["", "0.7329", ""]  # BERT4Rec "-": not run, the paper's value kept
    assert rows[6][3:6] == ["0.4000", "", ""]  # BERT4Rec Ours (DUET): paper cell missing


def test_table2_rows_flags_and_formats(params, root: Path) -> None:
    text, _, _ = table.run(2, "csv", params, root, None, compare="paper")
    rows = list(csv.reader(text.splitlines()))
    assert rows[0][:6] == ["SPG", "SML", "SCL", "AUC", "AUC_paper", "AUC_diff"]
    assert [r[:3] for r in rows[1:]] == [["0", "0", "0"], ["1", "0", "0"], ["1", "1", "0"],
                                         ["0", "0", "1"], ["1", "1", "1"]]
    assert rows[4][3:6] == ["0.6300", "0.8461", "-0.2161"]  # scl_only vs paper row 4
    md, _, _ = table.run(2, "markdown", params, root, None, compare="paper")
    assert "| ✓ | ✓ | ✗ | 0.6200 / 0.8270 (-0.2070) |" in md
    assert "ours: Scientific, SASRec + DUET; paper: Arts, SASRec + DUET" in md
    tex, _, _ = table.run(2, "latex", params, root, None)
    assert r"$\surd$ & $\times$ & $\times$ & 0.6100" in tex


def test_table3_modality_rows(params, root: Path) -> None:
    text, _, _ = table.run(3, "csv", params, root, None, compare="paper")
    rows = list(csv.reader(text.splitlines()))
    assert rows[0][:6] == ["ID", "Image", "Text", "AUC", "AUC_paper", "AUC_diff"]
    # paper order: text (0,0,1), then id+text (1,0,1), then all three; "text+id" is id+text
    assert [r[:3] for r in rows[1:]] == [["0", "0", "1"], ["1", "0", "1"], ["1", "1", "1"]]
    assert rows[1][3:6] == ["0.2100", "0.8480", "-0.6380"]
    assert rows[2][3] == "0.2300"
    md, _, _ = table.run(3, "markdown", params, root, None)
    assert "| ✓ | ✓ | ✓ | 0.2200 |" in md
    # the modality runs are not lambda x T sweep cells
    assert table.run(4, "csv", params, root, None)[0].count("\n") == 3


def test_table5_at_the_default_lambda(params, root: Path) -> None:
    text, _, _ = table.run(5, "csv", params, root, None)
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ["T", *METRIC_NAMES]
    assert [r[0] for r in rows[1:]] == ["0.1", "0.01"]  # study.Ts, at lambda = solid.lambda
    assert rows[2][1] == "0.3300"


def test_table2_other_setup(tmp_path: Path, root: Path) -> None:
    write_run(root, "arts", "gru4rec", "apg", "base", 0.2)
    other = make_params(tmp_path, dataset="arts", backbone="gru4rec", dsr="apg")
    text, _, missing = table.run(2, "markdown", other, root, None)
    assert "ours: Arts, GRU4Rec + APG" in text
    assert text.count("| ✗ | ✗ | ✗ | 0.2000") == 1 and text.count("not run") == 4 * 6
    assert len(missing) == 4


def test_summary_is_table1_headline(params, root: Path, tmp_path: Path) -> None:
    text, written, missing = table.run("summary", "markdown", params, root, tmp_path / "out")
    data = json.loads(text)
    assert data == {"scientific": {
        "sasrec-none-base": {"UAUC": 0.51, "NDCG@10": 0.52},
        "sasrec-duet-base": {"UAUC": 0.61, "NDCG@10": 0.62},
        "sasrec-duet-scl": {"UAUC": 0.71, "NDCG@10": 0.72},
        "bert4rec-duet-scl": {"UAUC": 0.41, "NDCG@10": 0.42}}}
    assert written == [tmp_path / "out" / "summary.json"] and len(missing) == 2


def test_out_dir_writes_three_formats(params, root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    text, written, _ = table.run(4, "latex", params, root, out, compare="paper")
    assert written == [out / "table4.md", out / "table4.tex", out / "table4.csv"]
    assert (out / "table4.tex").read_text() == text
    assert "AUC_paper" in (out / "table4.csv").read_text()
    assert "/ 0.8485 (" in (out / "table4.md").read_text()
    assert not list(out.glob(".*"))  # no temp files left behind


def test_latex_escapes_and_signs(tmp_path: Path, root: Path) -> None:
    write_run(root, "my_data&co", "sasrec", "none", "base", 0.1)
    params = make_params(tmp_path)
    params = dataclasses.replace(params, datasets=["scientific", "my_data&co"])
    tex, _, _ = table.run(1, "latex", params, root, None, compare="paper")
    assert r"\textit{my\_data\&co}" in tex
    assert "$-0.2175$" in tex  # scientific/sasrec/none: 0.5 - 0.7175, sign in math mode
    assert "& -- &" in tex


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
@pytest.mark.parametrize("number", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("compare", [None, "paper"])
def test_latex_compiles(tmp_path: Path, root: Path, number: int, compare: str | None) -> None:
    write_run(root, "my_data&co", "sasrec", "none", "base", 0.1)
    params = dataclasses.replace(make_params(tmp_path), datasets=["scientific", "my_data&co"])
    tex, _, _ = table.run(number, "latex", params, root, None, compare=compare)
    doc = tmp_path / "doc.tex"
    doc.write_text("\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n"
                   + tex + "\\end{document}\n", encoding="utf-8")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stdout[-2000:]


def test_errors(params, root: Path, tmp_path: Path) -> None:
    with pytest.raises(SolidError, match=r"table 6 is not implemented yet \(built: 1, 2, 3, 4, "
                                         r"5, summary\)"):
        table.run(6, "markdown", params, root, None)
    apg = make_params(tmp_path, dsr="apg")
    with pytest.raises(SolidError, match="no Table 3 metrics.*none of the 3 runs"):
        table.run(3, "csv", apg, root, None)
    with pytest.raises(SolidError, match="unknown format 'html'.*markdown, latex, csv"):
        table.run(1, "html", params, root, None)
    with pytest.raises(SolidError, match="unknown comparison"):
        table.run(1, "csv", params, root, None, compare="authors")
    office = make_params(tmp_path, dataset="office")
    with pytest.raises(SolidError, match="no Table 2 metrics.*first: office/sasrec/duet/base"):
        table.run(2, "csv", office, root, None)
    with pytest.raises(SolidError, match=r"sweeps lambda at T = 0.01 \(solid.T\), which is not"):
        table.run(4, "csv", make_params(tmp_path, Ts=[0.1]), root, None)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SolidError, match="no Table 1 metrics.*run the pipeline first"):
        table.run(1, "markdown", params, empty, None)
    with pytest.raises(SolidError, match="run the pipeline first"):
        table.run(1, "markdown", params, tmp_path / "nowhere", None)
    with pytest.raises(SolidError, match="no lambda x T sweep"):
        figure.figure5(params, empty, tmp_path / "f.png")


@pytest.mark.parametrize("content", ["{not json", '["a list"]', '{"dataset": "scientific"}',
                                     json.dumps({"dataset": "scientific", "backbone": "sasrec",
                                                 "dsr": "none", "variant": "base", "tag": None,
                                                 "test": {"AUC": "high"}}),
                                     json.dumps({"dataset": "scientific", "backbone": "sasrec",
                                                 "dsr": "none", "variant": "base", "tag": None,
                                                 "test": dict.fromkeys(METRIC_NAMES, 1.5)}),
                                     json.dumps({"dataset": "scientific", "backbone": "din",
                                                 "dsr": "none", "variant": "base", "tag": None,
                                                 "test": dict.fromkeys(METRIC_NAMES, 0.5)})])
def test_corrupt_metrics_file(params, root: Path, content: str) -> None:
    bad = root / "scientific" / "sasrec-none-base" / "metrics.json"
    bad.write_text(content)
    with pytest.raises(SolidError, match="corrupt metrics file .*sasrec-none-base.*solid "
                                         "evaluate --dataset scientific --all") as info:
        table.run(1, "markdown", params, root, None)
    assert "\n" not in str(info.value)


def test_figure5(params, root: Path, tmp_path: Path) -> None:
    from PIL import Image

    out = tmp_path / "fig" / "figure5.png"
    written, missing = figure.figure5(params, root, out)
    assert written == [out, out.with_suffix(".pdf")] and missing == []
    first = out.read_bytes()
    assert first.startswith(b"\x89PNG\r\n\x1a\n")
    assert out.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
    with Image.open(out) as img:
        assert img.format == "PNG"
        assert 800 <= img.width <= 4000 and 300 <= img.height <= 1500
    pdf = out.with_suffix(".pdf").read_bytes()
    figure.figure5(params, root, out)
    assert out.read_bytes() == first and out.with_suffix(".pdf").read_bytes() == pdf
    assert sorted(p.name for p in out.parent.iterdir()) == ["figure5.pdf", "figure5.png"]


def test_figure5_says_which_cells_are_missing(tmp_path: Path, root: Path) -> None:
    wider = make_params(tmp_path, lambdas=[1.0, 0.1, 0.01])
    _, missing = figure.figure5(wider, root, tmp_path / "f.png")
    assert sorted(p.run.tag for p in missing) == ["lam0.01-T0.01", "lam0.01-T0.1"]


@pytest.mark.parametrize(("number", "present", "absent"), [("3", "cds", "electronic"),
                                                           ("4", "douban-music", "douban-book")])
def test_figures_3_and_4(params, tmp_path: Path, number: str, present: str, absent: str
                         ) -> None:
    root = tmp_path / "m"
    for i, (backbone, dsr, variant) in enumerate(
            [(b, d, v) for b in ("sasrec", "bert4rec") for d, v in
             (("none", "base"), ("duet", "base"), ("duet", "scl"))]):
        write_run(root, present, backbone, dsr, variant, 0.6 + 0.01 * i)
    out = tmp_path / f"figure{number}.png"
    written, missing = figure.figure_uauc(number, params, root, out)
    assert written == [out, out.with_suffix(".pdf")]
    assert {p.run.dataset for p in missing} == {absent} and len(missing) == 6
    with pytest.raises(SolidError, match=f"figure {number} needs metrics of"):
        figure.figure_uauc(number, params, tmp_path / "empty", out)


def test_figure_curves(trained_tiny, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.chdir(trained_tiny)
    params = load_params("params.yaml")
    written, missing = figure.figure_curves(params, None, None, tmp_path / "c.png")
    assert written == [tmp_path / "c.png", tmp_path / "c.pdf"] and missing == []
    _, missing = figure.figure_curves(params, "tiny", ["sasrec-duet-scl", "din-none-base"],
                                      tmp_path / "d.png")
    assert missing == ["tiny/din-none-base (reports/curves/tiny/din-none-base.csv)"]
