"""Tables 1-5 and Figures 3, 4, 5 and curves from hand-written metrics files (no training).

Every run is written for training seeds 0, 1, 2 with the values base, base + 0.01, base + 0.03
(`OFFSETS`), so a cell's mean is base + 0.0133 and its sample sd 0.0153 (the population sd
would be 0.0125), and seed 0's values are the ones the tables showed before there were seeds.
"""

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

from solidcli import layout
from solidcli.config import load_params
from solidcli.errors import SolidError
from solidcli.grid import table2
from solidcli.layout import RunId, run_metrics_dir
from solidcli.metrics import METRIC_NAMES
from solidcli.report import figures, tables

OFFSETS = {0: 0.0, 1: 0.01, 2: 0.03}  # seed -> offset of all its metrics
SEEDS = tuple(OFFSETS)


@pytest.fixture(autouse=True)
def _outside_the_repository(tmp_path: Path, monkeypatch) -> None:
    """Tables and claims read protocols/{authors,ce} relative to the working directory: run
    where there are none, so the repository's committed results never reach a test."""
    monkeypatch.chdir(tmp_path)


def metrics(base: float) -> dict[str, float]:
    """Six test metrics: base, base+0.01, ... so every cell is predictable."""
    return {m: round(base + 0.01 * i, 6) for i, m in enumerate(METRIC_NAMES)}


def write_seed(root: Path, run: RunId, base: float, lam: float | None = None,
               T: float | None = None) -> Path:
    """The metrics file of one seeded run, every metric from `base`."""
    rec = {"dataset": run.dataset, "backbone": run.backbone, "dsr": run.dsr,
           "variant": run.variant, "tag": run.tag, "lambda": lam, "T": T,
           "seed": run.seed, "ties": "conservative", "protocol": "sampled 1+99", "best_epoch": 3,
           "valid": {**metrics(base), "users": 10}, "test": {**metrics(base), "users": 10}}
    path = run_metrics_dir(run, root) / "metrics.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(rec))
    return path


def write_run(root: Path, dataset: str, backbone: str, dsr: str, variant: str, base: float,
              tag: str | None = None, lam: float | None = None, T: float | None = None,
              seeds: tuple[int, ...] = SEEDS) -> RunId:
    """Seeds 0, 1, 2 of one configuration, at base + OFFSETS[seed]."""
    run = RunId(dataset, backbone, dsr, variant, tag)
    for s in seeds:
        write_seed(root, run.with_seed(s), base + OFFSETS[s], lam, T)
    return run


def drop_seed(root: Path, run: RunId, seed: int) -> None:
    shutil.rmtree(run_metrics_dir(run.with_seed(seed), root))


def make_params(tmp_path: Path, seeds: tuple[int, ...] = SEEDS, **study):
    """The repository's params with a small grid: SASRec and BERT4Rec x {-, DUET, Ours (DUET)},
    a 2 x 2 lambda x T sweep, three modality sets and training seeds 0, 1, 2."""
    data = YAML(typ="safe", pure=True).load((REPO / "params.yaml").read_text())
    data.update(datasets=["scientific"], backbones=["sasrec", "bert4rec"], dsrs=["none", "duet"],
                solid_dsrs=["duet"], seeds=list(seeds))
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


BERT_OURS = RunId("scientific", "bert4rec", "duet", "scl")
LEGEND1 = ("bold: best mean per SR model; †/‡: significantly above/below its DSR model alone "
           "(same SR model) (p < 0.05 in a paired t-test over seeds and a paired "
           "t-test over users; AUC: seed test only; 6 comparisons, uncorrected); 5 comparisons "
           "unmarked: no per-user metrics (rerun `solid evaluate --all`)")


def md_row(labels: str, *means: str, sd: str = "0.0153", n: str = "") -> str:
    """A markdown row of hand-computed cells `mean ± sd` (and ` (n=k)`)."""
    return f"| {labels} | " + " | ".join(f"{m} ± {sd}{n}" for m in means) + " |\n"


def test_table1_markdown_mean_sd_exact(params, root: Path) -> None:
    drop_seed(root, BERT_OURS, 2)
    text, written, missing = tables.run(1, "markdown", params, root, None)
    assert written == []
    not_run = " | ".join(["not run"] * len(METRIC_NAMES))
    assert text == (
        "### Table 1: overall comparison, Scientific (test split; sampled 1+99; mean ± sd over "
        "3 training seeds (0, 1, 2); (n=k): a mean over the k seeds that have metrics; 7 runs "
        f"missing; {LEGEND1})\n"
        "\n"
        "| SR model | DSR model | AUC | UAUC | NDCG@10 | Recall@10 | NDCG@20 | Recall@20 |\n"
        "|:---|:---|---:|---:|---:|---:|---:|---:|\n"
        + md_row("SASRec | -", "0.5133", "0.5233", "0.5333", "0.5433", "0.5533", "0.5633")
        + md_row("SASRec | DUET", "0.6133", "0.6233", "0.6333", "0.6433", "0.6533", "0.6633")
        # best of SASRec's rows (bold); AUC, judged by the seed test alone, is significantly
        # above DUET (every seed's difference is 0.1: p = 0); the others have no user test
        + "| SASRec | Ours (DUET) | **0.7133** ± 0.0153† | " + " | ".join(
            f"**{m}** ± 0.0153" for m in ("0.7233", "0.7333", "0.7433", "0.7533", "0.7633"))
        + " |\n"
        + f"| BERT4Rec | - | {not_run} |\n"
        + f"| BERT4Rec | DUET | {not_run} |\n"
        # seeds 0 and 1 only: mean of 0.40 and 0.41, sd 0.01 / sqrt(2)
        + md_row("BERT4Rec | Ours (DUET)", "0.4050", "0.4150", "0.4250", "0.4350", "0.4450",
                 "0.4550", sd="0.0071", n=" (n=2)")
    )
    assert [str(p.run) for p in missing] == (
        [f"scientific/bert4rec/none/base seed {s}" for s in SEEDS]
        + [f"scientific/bert4rec/duet/base seed {s}" for s in SEEDS]
        + ["scientific/bert4rec/duet/scl seed 2"])
    assert missing[0].command == ("solid train-base --dataset scientific --backbone bert4rec "
                                  "--dsr none")
    assert missing[-1].run == BERT_OURS.with_seed(2)


def test_table1_latex_and_csv_mean_sd(params, root: Path) -> None:
    drop_seed(root, BERT_OURS, 2)
    tex, _, _ = tables.run(1, "latex", params, root, None)
    assert r"SASRec & - & 0.5133 $\pm$ 0.0153 & 0.5233 $\pm$ 0.0153 &" in tex
    assert r"& 0.4550 $\pm$ 0.0071 (n=2) \\" in tex
    assert r"& \textbf{0.7133} $\pm$ 0.0153$^{\dagger}$ & \textbf{0.7233} $\pm$ 0.0153 &" in tex
    assert r"\footnotesize $\dagger$/$\ddagger$: significantly above/below its DSR" in tex
    assert r"BERT4Rec & - & -- & --" in tex
    assert r"\footnotesize mean $\pm$ sd over 3 training seeds (0, 1, 2)}" in tex

    rows = list(csv.reader(tables.run(1, "csv", params, root, None)[0].splitlines()))
    assert rows[0] == ["dataset", "sr_model", "dsr_model", "n_seeds",
                       *[c for m in METRIC_NAMES for c in (m, f"{m}_sd")]]
    assert rows[1][:8] == ["Scientific", "SASRec", "none", "3", "0.5133", "0.0153", "0.5233",
                           "0.0153"]
    assert rows[4] == ["Scientific", "BERT4Rec", "none", "0", *[""] * 2 * len(METRIC_NAMES)]
    assert rows[6][3:6] == ["2", "0.4050", "0.0071"]
    assert len(rows) == 7


def test_one_seed_mode_is_the_table_of_that_seed(params, root: Path) -> None:
    """seed=0 prints the values of seed 0 exactly as the tables did before seeds."""
    text, _, missing = tables.run(1, "markdown", params, root, None, seed=0)
    assert text == (
        "### Table 1: overall comparison, Scientific (test split; sampled 1+99; training seed "
        "0; 2 runs missing; bold: best mean per SR model; †/‡: significantly above/below its "
        "DSR model alone (same SR model) (p < 0.05 in a paired t-test over users; "
        "one seed: no seed test, AUC unmarked; 6 comparisons, uncorrected); 5 comparisons "
        "unmarked: no per-user metrics (rerun `solid evaluate --all`))\n"
        "\n"
        "| SR model | DSR model | AUC | UAUC | NDCG@10 | Recall@10 | NDCG@20 | Recall@20 |\n"
        "|:---|:---|---:|---:|---:|---:|---:|---:|\n"
        "| SASRec | - | 0.5000 | 0.5100 | 0.5200 | 0.5300 | 0.5400 | 0.5500 |\n"
        "| SASRec | DUET | 0.6000 | 0.6100 | 0.6200 | 0.6300 | 0.6400 | 0.6500 |\n"
        "| SASRec | Ours (DUET) | **0.7000** | **0.7100** | **0.7200** | **0.7300** | **0.7400** "
        "| **0.7500** |\n"
        "| BERT4Rec | - | not run | not run | not run | not run | not run | not run |\n"
        "| BERT4Rec | DUET | not run | not run | not run | not run | not run | not run |\n"
        "| BERT4Rec | Ours (DUET) | 0.4000 | 0.4100 | 0.4200 | 0.4300 | 0.4400 | 0.4500 |\n"
    )
    # rows the params do not define (APG, DIN, other datasets) are not shown
    assert "APG" not in text and "DIN" not in text and "Arts" not in text
    assert [str(p.run) for p in missing] == ["scientific/bert4rec/none/base seed 0",
                                             "scientific/bert4rec/duet/base seed 0"]
    assert "| SASRec | - | 0.5300 | 0.5400 |" in tables.run(1, "markdown", params, root, None,
                                                           seed=2)[0]
    rows = list(csv.reader(tables.run(1, "csv", params, root, None, seed=0)[0].splitlines()))
    assert rows[0] == ["dataset", "sr_model", "dsr_model", *METRIC_NAMES]
    assert rows[3] == ["Scientific", "SASRec", "SOLID-DUET",
                       "0.7000", "0.7100", "0.7200", "0.7300", "0.7400", "0.7500"]
    assert rows[4] == ["Scientific", "BERT4Rec", "none", *[""] * len(METRIC_NAMES)]
    tex = tables.run(1, "latex", params, root, None, seed=0)[0]
    assert r"SASRec & - & 0.5000 & 0.5100 &" in tex and r"\pm" not in tex
    assert r"\footnotesize training seed 0}" in tex


def test_a_seed_outside_params_seeds(params, root: Path) -> None:
    """--seed reads any seed's files; the mean reads only `seeds`."""
    sasrec_duet = RunId("scientific", "sasrec", "duet", "base")
    write_seed(root, sasrec_duet.with_seed(7), 0.9)
    text, _, missing = tables.run(1, "markdown", params, root, None, seed=7)
    assert "| SASRec | DUET | 0.9000 | 0.9100 |" in text and "training seed 7" in text
    assert text.count("not run") == 5 * len(METRIC_NAMES)
    assert {p.run.seed for p in missing} == {7} and len(missing) == 5
    assert "0.9" not in tables.run(1, "markdown", params, root, None)[0]
    with pytest.raises(SolidError, match=r"no Table 1 metrics.*training seed 8; first: "
                                         r"scientific/sasrec/none/base seed 8"):
        tables.run(1, "markdown", params, root, None, seed=8)


def test_one_configured_seed(tmp_path: Path, root: Path) -> None:
    """seeds: [0]: the mean of one seed is its value, and its sd is undefined."""
    one = make_params(tmp_path, seeds=(0,))
    text, _, missing = tables.run(1, "markdown", one, root, None)
    assert "mean ± sd over 1 training seed (0)" in text and "±" not in text.split("\n", 1)[1]
    assert "| SASRec | - | 0.5000 | 0.5100 |" in text and "(n=" not in text
    assert len(missing) == 2
    rows = list(csv.reader(tables.run(1, "csv", one, root, None)[0].splitlines()))
    assert rows[1][3:6] == ["1", "0.5000", ""]


def test_table_reads_only_the_runs_params_define(params, root: Path) -> None:
    """A leftover run of a removed backbone, a seed not in `seeds`, a staging folder and a
    stray copy never count."""
    write_run(root, "scientific", "din", "duet", "base", 0.9)  # din is not in `backbones`
    write_seed(root, RunId("scientific", "sasrec", "duet", "base", seed=3), 0.05)
    config = root / "scientific" / "sasrec-duet-base"
    shutil.copytree(config, root / "scientific" / ".sasrec-duet-base.tmp-1a2b3c4d")
    shutil.copytree(config / "seed0", config / ".seed0.tmp-1a2b3c4d")
    (root / "copy").mkdir()
    shutil.copy(config / "seed0" / "metrics.json", root / "copy")
    text, _, _ = tables.run(1, "markdown", params, root, None)
    assert "DIN" not in text and "0.9" not in text
    assert text.count("| SASRec | DUET | 0.6133 ± 0.0153 |") == 1


def test_table_follows_the_sweep_values_of_params(tmp_path: Path, root: Path) -> None:
    wider = make_params(tmp_path, Ts=[0.1, 0.01, 0.001])
    text, _, missing = tables.run(5, "csv", wider, root, None)
    assert [r.split(",")[0] for r in text.splitlines()[1:]] == ["0.1", "0.01", "0.001"]
    assert text.splitlines()[3] == "0.001,0" + ",," * len(METRIC_NAMES)  # a missing cell
    # ... and the study model's DSR alone, the baseline of the marks, is read too
    assert [(p.run.tag, p.run.seed) for p in missing] == [("lam0.1-T0.001", s) for s in SEEDS]


def test_table4_markdown_exact_with_compare(params, root: Path) -> None:
    text, _, _ = tables.run(4, "markdown", params, root, None, compare="paper", seed=0)
    assert text == (
        "### Table 4: lambda sweep at T = 0.01 (test split; sampled 1+99; training seed 0; ours: "
        "Scientific, SASRec + DUET; paper: Arts, SASRec + DUET; bold: best mean; †/‡: "
        "significantly above/below SASRec + DUET alone (p < 0.05 in a paired t-test over users; "
        "one seed: no seed test, AUC unmarked; 12 comparisons, uncorrected); 10 comparisons "
        "unmarked: no per-user metrics (rerun `solid evaluate --all`); cells: ours / paper (ours "
        "- paper))\n"
        "\n"
        "| λ | AUC | UAUC | NDCG@10 | Recall@10 | NDCG@20 | Recall@20 |\n"
        "|:---|---:|---:|---:|---:|---:|---:|\n"
        "| 1 | 0.3100 / 0.8485 (-0.5385) | 0.3200 / 0.7839 (-0.4639) "
        "| 0.3300 / 0.2901 (+0.0399) | 0.3400 / 0.5103 (-0.1703) "
        "| 0.3500 / 0.3273 (+0.0227) | 0.3600 / 0.6466 (-0.2866) |\n"
        "| 0.1 | **0.3300** / 0.8479 (-0.5179) | **0.3400** / 0.7850 (-0.4450) "
        "| **0.3500** / 0.2983 (+0.0517) | **0.3600** / 0.5155 (-0.1555) "
        "| **0.3700** / 0.3347 (+0.0353) | **0.3800** / 0.6510 (-0.2710) |\n"
    )


def test_compare_paper_uses_the_mean(params, root: Path) -> None:
    # SASRec alone: mean AUC 0.513333, paper 0.7175: -0.204167 (seed 0 alone: -0.2175)
    md, _, _ = tables.run(1, "markdown", params, root, None, compare="paper")
    assert "| SASRec | - | 0.5133 ± 0.0153 / 0.7175 (-0.2042) |" in md
    rows = list(csv.reader(tables.run(1, "csv", params, root, None, compare="paper")[0]
                           .splitlines()))
    assert rows[0][:8] == ["dataset", "sr_model", "dsr_model", "n_seeds", "AUC", "AUC_sd",
                           "AUC_paper", "AUC_diff"]
    assert rows[0][-1] == "Recall@20_diff" and len(rows[0]) == 4 + 4 * len(METRIC_NAMES)
    assert rows[1][3:8] == ["3", "0.5133", "0.0153", "0.7175", "-0.2042"]
    tex, _, _ = tables.run(1, "latex", params, root, None, compare="paper")
    assert r"SASRec & - & 0.5133 $\pm$ 0.0153 & 0.7175 & $-0.2042$ &" in tex


def test_table1_compare_missing_paper_cells(params, root: Path) -> None:
    text, _, _ = tables.run(1, "markdown", params, root, None, compare="paper")
    lines = text.splitlines()
    assert sum(line.startswith("|:---") for line in lines) == 1  # one header separator
    assert "| SASRec | - | 0.5133 ± 0.0153 / 0.7175 (-0.2042) |" in text
    bert = next(line for line in lines if line.startswith("| BERT4Rec | Ours"))
    # the paper prints no Scientific/BERT4Rec/SOLID-DUET cell at all
    assert bert.count("missing") == len(METRIC_NAMES)
    assert "(" not in bert.split("|", 3)[3]


def test_table1_csv_compare(params, root: Path) -> None:
    text, _, _ = tables.run(1, "csv", params, root, None, compare="paper")
    rows = list(csv.reader(text.splitlines()))
    assert rows[4][3:8] == ["0", "", "", "0.7329", ""]  # BERT4Rec "-": not run, paper kept
    assert rows[6][3:8] == ["3", "0.4133", "0.0153", "", ""]  # paper cell missing
    assert len(rows) == 7

    text, _, _ = tables.run(1, "csv", params, root, None, compare="paper", seed=0)
    rows = list(csv.reader(text.splitlines()))
    assert rows[0][:6] == ["dataset", "sr_model", "dsr_model", "AUC", "AUC_paper", "AUC_diff"]
    assert rows[0][-1] == "Recall@20_diff"
    assert rows[1][:6] == ["Scientific", "SASRec", "none", "0.5000", "0.7175", "-0.2175"]
    assert rows[4][3:6] == ["", "0.7329", ""]  # BERT4Rec "-": not run, the paper's value kept
    assert rows[6][3:6] == ["0.4000", "", ""]  # BERT4Rec Ours (DUET): paper cell missing


def test_table2_rows_flags_and_formats(params, root: Path) -> None:
    text, _, _ = tables.run(2, "csv", params, root, None, compare="paper")
    rows = list(csv.reader(text.splitlines()))
    assert rows[0][:8] == ["SPG", "SML", "SCL", "n_seeds", "AUC", "AUC_sd", "AUC_paper",
                           "AUC_diff"]
    assert [r[:3] for r in rows[1:]] == [["0", "0", "0"], ["1", "0", "0"], ["1", "1", "0"],
                                         ["0", "0", "1"], ["1", "1", "1"]]
    # scl_only vs paper row 4: 0.643333 - 0.8461
    assert rows[4][3:8] == ["3", "0.6433", "0.0153", "0.8461", "-0.2028"]
    md, _, _ = tables.run(2, "markdown", params, root, None, compare="paper")
    # above the base row on every seed by 0.02: AUC (the seed test alone) is marked
    assert "| ✓ | ✓ | ✗ | 0.6333 ± 0.0153† / 0.8270 (-0.1937) |" in md
    assert "ours: Scientific, SASRec + DUET; paper: Arts, SASRec + DUET" in md
    tex, _, _ = tables.run(2, "latex", params, root, None)
    assert r"$\surd$ & $\times$ & $\times$ & 0.6233 $\pm$ 0.0153" in tex


def test_table3_modality_rows(params, root: Path) -> None:
    text, _, _ = tables.run(3, "csv", params, root, None, compare="paper")
    rows = list(csv.reader(text.splitlines()))
    assert rows[0][:8] == ["ID", "Image", "Text", "n_seeds", "AUC", "AUC_sd", "AUC_paper",
                           "AUC_diff"]
    # paper order: text (0,0,1), then id+text (1,0,1), then all three; "text+id" is id+text
    assert [r[:3] for r in rows[1:]] == [["0", "0", "1"], ["1", "0", "1"], ["1", "1", "1"]]
    assert rows[1][3:8] == ["3", "0.2233", "0.0153", "0.8480", "-0.6247"]
    assert rows[2][4] == "0.2433"
    md, _, _ = tables.run(3, "markdown", params, root, None)
    assert "| ✓ | ✓ | ✓ | 0.2333 ± 0.0153‡ |" in md  # below SASRec + DUET alone (0.6)
    # the modality runs are not lambda x T sweep cells
    assert tables.run(4, "csv", params, root, None)[0].count("\n") == 3


def test_table5_at_the_default_lambda(params, root: Path) -> None:
    text, _, _ = tables.run(5, "csv", params, root, None)
    rows = list(csv.reader(text.splitlines()))
    assert rows[0][:4] == ["T", "n_seeds", "AUC", "AUC_sd"]
    assert [r[0] for r in rows[1:]] == ["0.1", "0.01"]  # study.Ts, at lambda = solid.lambda
    assert rows[2][2] == "0.3433"


def test_table2_other_setup(tmp_path: Path, root: Path) -> None:
    write_run(root, "arts", "gru4rec", "apg", "base", 0.2)
    other = make_params(tmp_path, dataset="arts", backbone="gru4rec", dsr="apg")
    text, _, missing = tables.run(2, "markdown", other, root, None)
    assert "ours: Arts, GRU4Rec + APG" in text
    assert text.count("| ✗ | ✗ | ✗ | 0.2133 ± 0.0153 |") == 1
    assert text.count("not run") == 4 * 6
    assert len(missing) == 4 * len(SEEDS)


def test_summary_is_table1_headline(params, root: Path, tmp_path: Path) -> None:
    drop_seed(root, BERT_OURS, 2)
    text, written, missing = tables.run("summary", "markdown", params, root, tmp_path / "out")
    data = json.loads(text)

    def entry(uauc: float, ndcg: float, sd: float | None = 0.015275, n: int = 3) -> dict:
        return {"UAUC": uauc, "UAUC_sd": sd, "NDCG@10": ndcg, "NDCG@10_sd": sd, "n_seeds": n}

    assert data == {"scientific": {
        "sasrec-none-base": entry(0.523333, 0.533333),
        "sasrec-duet-base": entry(0.623333, 0.633333),
        "sasrec-duet-scl": entry(0.723333, 0.733333),
        "bert4rec-duet-scl": entry(0.415, 0.425, 0.007071, 2)}}  # seeds 0 and 1
    assert list(data["scientific"]["sasrec-none-base"]) == ["UAUC", "UAUC_sd", "NDCG@10",
                                                            "NDCG@10_sd", "n_seeds"]
    assert written == [tmp_path / "out" / "summary.json"] and len(missing) == 2 * 3 + 1
    first = written[0].read_text()
    assert json.loads(first) == data
    tables.run("summary", "markdown", params, root, tmp_path / "out")
    assert written[0].read_text() == first  # deterministic

    one = json.loads(tables.run("summary", "markdown", params, root, None, seed=0)[0])
    assert one["scientific"]["sasrec-none-base"] == {"UAUC": 0.51, "NDCG@10": 0.52}
    single = json.loads(tables.run("summary", "csv", make_params(tmp_path, seeds=(1,)), root,
                                  None)[0])
    assert single["scientific"]["sasrec-none-base"] == entry(0.52, 0.53, None, 1)


def test_out_dir_writes_three_formats(params, root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    text, written, _ = tables.run(4, "latex", params, root, out, compare="paper")
    assert written == [out / "table4.md", out / "table4.tex", out / "table4.csv"]
    assert (out / "table4.tex").read_text() == text
    assert "AUC_paper" in (out / "table4.csv").read_text()
    assert "/ 0.8485 (" in (out / "table4.md").read_text()
    assert not list(out.glob(".*"))  # no temp files left behind


def test_latex_escapes_and_signs(tmp_path: Path, root: Path) -> None:
    write_run(root, "my_data&co", "sasrec", "none", "base", 0.1)
    params = make_params(tmp_path)
    params = dataclasses.replace(params, datasets=["scientific", "my_data&co"])
    tex, _, _ = tables.run(1, "latex", params, root, None, compare="paper")
    assert r"\textit{my\_data\&co}" in tex
    assert "$-0.2042$" in tex  # scientific/sasrec/none: 0.5133 - 0.7175, sign in math mode
    assert "& -- &" in tex


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
@pytest.mark.parametrize("number", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("compare", [None, "paper"])
def test_latex_compiles(tmp_path: Path, root: Path, number: int, compare: str | None) -> None:
    write_run(root, "my_data&co", "sasrec", "none", "base", 0.1)
    for run in (RunId("scientific", "sasrec", "duet", "scl"), BERT_OURS,  # cells of (n=2)
                RunId("scientific", "sasrec", "duet", "scl", "lam0.1-T0.01"),
                RunId("scientific", "sasrec", "duet", "scl", "mod-text")):
        drop_seed(root, run, 1)
    params = dataclasses.replace(make_params(tmp_path), datasets=["scientific", "my_data&co"])
    tex, _, _ = tables.run(number, "latex", params, root, None, compare=compare)
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
        tables.run(6, "markdown", params, root, None)
    apg = make_params(tmp_path, dsr="apg")
    with pytest.raises(SolidError, match="no Table 3 metrics.*none of the 4 runs"):
        tables.run(3, "csv", apg, root, None)
    with pytest.raises(SolidError, match="unknown format 'html'.*markdown, latex, csv"):
        tables.run(1, "html", params, root, None)
    with pytest.raises(SolidError, match="unknown comparison"):
        tables.run(1, "csv", params, root, None, compare="authors")
    office = make_params(tmp_path, dataset="office")
    with pytest.raises(SolidError, match="no Table 2 metrics.*first: office/sasrec/duet/base"):
        tables.run(2, "csv", office, root, None)
    with pytest.raises(SolidError, match=r"sweeps lambda at T = 0.01 \(solid.T\), which is not"):
        tables.run(4, "csv", make_params(tmp_path, Ts=[0.1]), root, None)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SolidError, match="no Table 1 metrics.*run the pipeline first"):
        tables.run(1, "markdown", params, empty, None)
    with pytest.raises(SolidError, match="run the pipeline first"):
        tables.run(1, "markdown", params, tmp_path / "nowhere", None)
    with pytest.raises(SolidError, match="no lambda x T sweep"):
        figures.figure5(params, empty, tmp_path / "f.png")


def _record(**changes) -> str:
    return json.dumps({"dataset": "scientific", "backbone": "sasrec", "dsr": "none",
                       "variant": "base", "tag": None, "seed": 0,
                       "test": dict.fromkeys(METRIC_NAMES, 0.5)} | changes)


@pytest.mark.parametrize("content", ["{not json", '["a list"]', '{"dataset": "scientific"}',
                                     _record(test={"AUC": "high"}),
                                     _record(test=dict.fromkeys(METRIC_NAMES, 1.5)),
                                     _record(backbone="din"), _record(seed=1), _record(seed=None)])
def test_corrupt_metrics_file(params, root: Path, content: str) -> None:
    bad = root / "scientific" / "sasrec-none-base" / "seed0" / "metrics.json"
    assert json.loads(_record())["test"] != json.loads(bad.read_text())["test"]
    bad.write_text(content)
    with pytest.raises(SolidError, match="corrupt metrics file .*sasrec-none-base.*solid "
                                         "evaluate --dataset scientific --all") as info:
        tables.run(1, "markdown", params, root, None)
    assert "\n" not in str(info.value)


def drawn(monkeypatch) -> list:
    """The figures `figure` saves from now on (captured before they are written)."""
    figs = []
    save = figures._save
    monkeypatch.setattr(figures, "_save", lambda fig, out: (figs.append(fig), save(fig, out))[1])
    return figs


def test_figure5(params, root: Path, tmp_path: Path) -> None:
    from PIL import Image

    out = tmp_path / "fig" / "figure5.png"
    written, missing = figures.figure5(params, root, out)
    assert written == [out, out.with_suffix(".pdf")] and missing == []
    first = out.read_bytes()
    assert first.startswith(b"\x89PNG\r\n\x1a\n")
    assert out.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
    with Image.open(out) as img:
        assert img.format == "PNG"
        assert 800 <= img.width <= 4000 and 300 <= img.height <= 1500
    pdf = out.with_suffix(".pdf").read_bytes()
    figures.figure5(params, root, out)
    assert out.read_bytes() == first and out.with_suffix(".pdf").read_bytes() == pdf
    assert sorted(p.name for p in out.parent.iterdir()) == ["figure5.pdf", "figure5.png"]


def test_figure5_labels_mean_and_sd(params, root: Path, tmp_path: Path, monkeypatch) -> None:
    cell = RunId("scientific", "sasrec", "duet", "scl", "lam0.1-T0.01")
    drop_seed(root, cell, 2)
    figs = drawn(monkeypatch)
    _, missing = figures.figure5(params, root, tmp_path / "f.png")
    assert [str(p.run) for p in missing] == [str(cell.with_seed(2))]
    uauc = {t.get_text() for t in figs[0].axes[0].texts}
    # x 100: lambda 1, T 0.1: UAUC 0.31 + 0.013333 over seeds 0-2; lambda 0.1, T 0.01: seeds 0, 1
    assert {"32.33\n±1.53", "34.50\n±0.71\nn=2"} <= uauc
    assert all(t.get_fontsize() >= 9 for t in figs[0].axes[0].texts)
    assert figs[0].get_size_inches()[0] == pytest.approx(7.0)  # a two-column paper's width
    assert figs[0]._suptitle is None  # the caption is in docs/figures.md
    assert "3 training seeds (0, 1, 2)" in figs[0].legends[0].get_title().get_text()
    figures.figure5(params, root, tmp_path / "f.png", seed=0)
    assert {"31.00", "34.00"} <= {t.get_text() for t in figs[1].axes[0].texts}
    assert "training seed 0" in figs[1].legends[0].get_title().get_text()


def test_figure5_colour_limits() -> None:
    """The colour scale spans max(range, 4 median sds) around the middle of the range."""
    # means within one sd (0.005) of each other: the scale is 4 sd wide, not 0.770..0.772
    low, high, rule = figures.colour_limits([0.770, 0.771, 0.772], [0.005, 0.004, 0.006])
    assert (low, high) == pytest.approx((0.761, 0.781)) and rule == "4 × median sd"
    assert high - low >= 4 * 0.005
    # means far apart: their range
    assert figures.colour_limits([0.1, 0.5, 0.3], [0.01, None, 0.02]) == pytest.approx(
        (0.1, 0.5, "range of the means"))
    # one seed: the range of the values; one value: a 0.001 band
    assert figures.colour_limits([0.3, 0.4], [None, None])[2] == "range of the values"
    assert figures.colour_limits([0.5], [None])[:2] == pytest.approx((0.4995, 0.5005))


def test_figure5_marks_best_and_papers_best(params, root: Path, tmp_path: Path,
                                            monkeypatch) -> None:
    from types import SimpleNamespace

    assert figures.paper_best("UAUC") == (0.1, 0.01)  # Tables 4 and 5 of the paper peak there

    def cell(v: float) -> SimpleNamespace:
        return SimpleNamespace(mean={"UAUC": v}, sd={"UAUC": 0.01}, n=3)

    cells = {(1.0, 0.1): cell(0.9), (1.0, 0.01): cell(0.5), (0.1, 0.1): cell(0.5),
             (0.1, 0.01): cell(0.5)}
    h = figures.heat("UAUC", cells, [1.0, 0.1], [0.1, 0.01])
    assert (h.best, h.paper) == ((1.0, 0.1), (0.1, 0.01))
    assert figures.heat("UAUC", {(1.0, 0.1): cell(0.9)}, [1.0], [0.1]).paper is None
    figs = drawn(monkeypatch)
    figures.figure5(params, root, tmp_path / "f.png")
    for ax in figs[0].axes[:3]:  # lambda (columns) 1, 0.1; T (rows) 0.1, 0.01
        best, = [p for p in ax.patches if p.get_gid() == "best"]
        assert best.get_xy() == pytest.approx((1 - 0.47, 1 - 0.47)) and best.get_linewidth() > 2
        star, = [line for line in ax.lines if line.get_gid() == "paper-best"]
        assert star.get_marker() == "*"
        assert (round(star.get_xdata()[0]), round(star.get_ydata()[0])) == (1, 1)
    assert [t.get_text() for t in figs[0].legends[0].get_texts()] == [
        "best mean", "paper's best (λ = 0.1, T = 0.01)"]


def test_figure5_says_which_cells_are_missing(tmp_path: Path, root: Path) -> None:
    wider = make_params(tmp_path, lambdas=[1.0, 0.1, 0.01])
    _, missing = figures.figure5(wider, root, tmp_path / "f.png")
    assert sorted((p.run.tag, p.run.seed) for p in missing) == [
        (tag, s) for tag in ("lam0.01-T0.01", "lam0.01-T0.1") for s in SEEDS]


@pytest.mark.parametrize(("number", "present", "absent"), [("3", "cds", "electronic"),
                                                           ("4", "douban-music", "douban-book")])
def test_figures_3_and_4(params, tmp_path: Path, number: str, present: str, absent: str,
                         monkeypatch) -> None:
    root = tmp_path / "m"
    for i, (backbone, dsr, variant) in enumerate(
            [(b, d, v) for b in ("sasrec", "bert4rec") for d, v in
             (("none", "base"), ("duet", "base"), ("duet", "scl"))]):
        write_run(root, present, backbone, dsr, variant, 0.6 + 0.01 * i)
    figs = drawn(monkeypatch)
    out = tmp_path / f"figure{number}.png"
    written, missing = figures.figure_uauc(number, params, root, out)
    assert written == [out, out.with_suffix(".pdf")]
    assert {p.run.dataset for p in missing} == {absent} and len(missing) == 6 * len(SEEDS)
    from matplotlib.container import BarContainer

    def first_bar(fig) -> BarContainer:
        return next(c for c in fig.axes[0].containers if isinstance(c, BarContainer))

    # the first bar (SASRec alone): UAUC 0.61 + 0.013333, error bar +- 0.015275
    bar = first_bar(figs[0])
    top = bar.patches[0].get_y() + bar.patches[0].get_height()
    (low, high), = [seg[:, 1] for seg in bar.errorbar.lines[2][0].get_segments()]
    assert top == pytest.approx(0.623333, abs=1e-6)
    assert (low, high) == pytest.approx((0.623333 - 0.015275, 0.623333 + 0.015275), abs=1e-6)
    assert [t.get_text() for t in figs[0].axes[0].get_legend().get_texts()] == [
        "SR model alone", "DUET", "Ours (DUET)"]
    assert [t.get_text() for t in figs[0].axes[0].get_xticklabels()] == ["SASRec", "BERT4Rec"]
    figures.figure_uauc(number, params, root, out, seed=2)
    bar = first_bar(figs[1])
    assert bar.errorbar is None
    assert bar.patches[0].get_y() + bar.patches[0].get_height() == pytest.approx(0.64)
    with pytest.raises(SolidError, match=f"figure {number} needs metrics of"):
        figures.figure_uauc(number, params, tmp_path / "empty", out)


def test_figure_curves(params, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    runs = [p.run for p in table2(params).values()]
    for i, run in enumerate(runs):
        for s in (0, 1):  # no curves of seed 2
            path = layout.curves_file(run.with_seed(s))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("epoch,valid_UAUC\n" + "".join(f"{e},{0.5 + 0.01 * (i + e + s)}\n"
                                                           for e in range(1, 4 + s)))
    figs = drawn(monkeypatch)
    written, missing = figures.figure_curves(params, None, None, tmp_path / "c.png")
    assert written == [tmp_path / "c.png", tmp_path / "c.pdf"]
    assert missing == [f"scientific/{r.key} seed 2 ({layout.curves_file(r.with_seed(2))})"
                       for r in runs]
    lines = figs[0].axes[0].lines
    assert [len(line.get_xdata()) for line in lines] == [3, 4] * len(runs)  # every seed
    assert [line.get_color() for line in lines[:4]] == ["C0", "C0", "C1", "C1"]
    assert [t.get_text() for t in figs[0].axes[0].get_legend().get_texts()] == [
        "SASRec + DUET", "SASRec + DUET + SPG", "SASRec + DUET + SPG + SML", "SASRec + DUET + SCL",
        "SASRec + Ours (DUET)"]
    assert [figures.key_label(k) for k in ("din-none-base", "bert4rec-apg-sml-T0.01", "odd")] == [
        "DIN", "BERT4Rec + APG + SPG + SML [T0.01]", "odd"]
    _, missing = figures.figure_curves(params, "scientific", ["sasrec-duet-scl",
                                                             "din-none-base"],
                                      tmp_path / "d.png", seed=1)
    assert [len(line.get_xdata()) for line in figs[1].axes[0].lines] == [4]
    assert list(figs[1].axes[0].lines[0].get_ydata()) == pytest.approx([0.56, 0.57, 0.58,
                                                                        0.59])
    assert missing == [("scientific/din-none-base seed 1 "
                        "(reports/curves/scientific/din-none-base/seed1.csv)")]
    with pytest.raises(SolidError, match="no training curves for .*seed 5"):
        figures.figure_curves(params, None, None, tmp_path / "e.png", seed=5)
