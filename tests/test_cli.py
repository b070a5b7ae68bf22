"""Every command through the CLI: happy paths on the tiny dataset, and one-line errors."""

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, tiny_params, write_params, write_tiny_dataset
from typer.testing import CliRunner

from solidcli.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args))


def assert_one_line_error(result, text):
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("solid: error:") and text in lines[0], lines[0]
    assert "Traceback" not in result.output


def test_help_is_fast_and_does_not_import_torch():
    code = ("import sys, time; t = time.perf_counter(); sys.argv = ['solid', '--help']\n"
            "from solidcli.cli import app\n"
            "try:\n    app()\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'pandas', 'sklearn', 'pyarrow') if m in sys.modules]\n"
            "print('HEAVY', heavy, time.perf_counter() - t)")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    elapsed = time.perf_counter() - start
    assert "HEAVY []" in out
    for command in ("download", "embed", "assign-semantics", "train-base", "train-spg",
                    "train-sml", "train-scl", "evaluate", "table"):
        assert command in out
    assert elapsed < 5  # generous: the point is that torch is never imported


def test_whole_pipeline_through_the_cli(trained_tiny):
    root = trained_tiny
    for variant in ("base", "spg", "sml", "scl"):
        for seed in (0, 1):
            folder = root / "models/tiny" / variant / "sasrec-duet" / f"seed{seed}"
            assert {"model.pt", "run.json", "metrics.json", "curves.csv"} <= {
                p.name for p in folder.iterdir()}
            record = json.loads((folder / "run.json").read_text())
            assert record["seed"] == seed and record["spec"]["variant"] == variant
            assert record["trained_with_seeds"] == [0, 1] and record["data_seed"] == 0
            assert "git_revision" in record and "fit" in record["timings_s"]
    scl = root / "reports/metrics/tiny/sasrec-duet-scl"
    assert {p.name for p in scl.iterdir()} == {"seed0", "seed1"}
    metrics = json.loads((scl / "seed1/metrics.json").read_text())
    assert metrics["seed"] == 1 and metrics["data_seed"] == 0
    for split in ("valid", "test"):
        for name in ("AUC", "UAUC", "NDCG@10", "Recall@10", "NDCG@20", "Recall@20"):
            assert 0.0 <= metrics[split][name] <= 1.0
    assert (scl / "seed1/run.json").is_file()
    full = metrics["test_full"]
    assert set(full) == {"NDCG@10", "Recall@10", "NDCG@20", "Recall@20", "MRR", "users"}
    assert full["Recall@10"] <= full["Recall@20"] and 0 < full["MRR"] <= 1
    per_user = pd.read_parquet(scl / "seed1/per_user.parquet")
    assert list(per_user.columns) == ["user", "AUC", "NDCG@10", "Recall@10", "NDCG@20",
                                      "Recall@20", "full_NDCG@10", "full_Recall@10",
                                      "full_NDCG@20", "full_Recall@20", "full_MRR"]
    assert per_user["AUC"].mean() == pytest.approx(metrics["test"]["UAUC"])
    assert per_user["full_MRR"].mean() == pytest.approx(full["MRR"])
    assert (root / "reports/curves/tiny/sasrec-duet-scl/seed1.csv").is_file()
    evaluated = {p.name for p in (root / "reports/metrics/tiny").iterdir() if p.is_dir()}
    table1 = {"sasrec-none-base", "sasrec-duet-base", "sasrec-duet-spg", "sasrec-duet-sml",
              "sasrec-duet-scl", "sasrec-duet-scl_only"}
    sweeps = {"sasrec-duet-sml-T0.1", "sasrec-duet-sml-T0.01", "sasrec-duet-scl-lam1.0-T0.1",
              "sasrec-duet-scl-lam1.0-T0.01", "sasrec-duet-scl-lam0.1-T0.1",
              "sasrec-duet-scl-lam0.1-T0.01", "sasrec-duet-sml-mod-text",
              "sasrec-duet-scl-mod-text", "sasrec-duet-sml-mod-id+image",
              "sasrec-duet-scl-mod-id+image"}
    assert evaluated == table1 | sweeps  # exactly the runs params.yaml defines
    families = {p.name for p in (root / "models/tiny").iterdir()}
    assert families == {"base", "spg", "sml", "scl", "scl_only", "sml-T", "scl-lambda-T",
                        "sml-modality", "scl-modality"}
    ablation = json.loads((root / "reports/metrics/tiny/sasrec-duet-scl_only/seed0/"
                                  "metrics.json").read_text())
    assert ablation["variant"] == "scl_only" and ablation["lambda"] == 0.1
    assert not list(root.rglob(".*.tmp-*"))  # no half-written artifacts left behind


def test_evaluate_all_gives_the_same_bytes_on_one_or_two_workers(trained_tiny, tmp_path,
                                                                monkeypatch):
    """`evaluate --all` scores its configurations in worker processes of one thread each;
    what it writes does not depend on how many (nor on the fixture's default plan)."""
    import shutil

    project = tmp_path / "copy"
    shutil.copytree(trained_tiny, project, symlinks=True)
    monkeypatch.chdir(project)
    metrics = Path("reports/metrics/tiny")

    def written() -> dict[str, bytes]:
        return {str(p.relative_to(metrics)): p.read_bytes() for p in sorted(metrics.rglob("*"))
                if p.is_file() and p.name != "run.json"}  # run.json: timings

    before = written()
    assert len([k for k in before if k.endswith("per_user.parquet")]) > 10
    for n in ("1", "2"):
        done = invoke("evaluate", "--dataset", "tiny", "--all", "--workers", n)
        assert done.exit_code == 0, done.output
        assert written() == before, n
    from solidcli.workers import cores

    assert_one_line_error(invoke("evaluate", "--dataset", "tiny", "--all", "--workers",
                                 str(cores() + 1)), "would oversubscribe")


def test_table_formats(trained_tiny, monkeypatch):
    monkeypatch.chdir(trained_tiny)
    md = invoke("table", "--format", "markdown", "--compare", "paper")
    assert md.exit_code == 0, md.output
    assert "| SASRec | DUET |" in md.stdout and "| SASRec | Ours (DUET) |" in md.stdout
    assert "missing" in md.stdout  # the tiny dataset is not in the paper
    tex = invoke("table", "--format", "latex", "--out-dir", "out", "--compare", "paper")
    assert "\\toprule" in tex.stdout and "\\bottomrule" in tex.stdout
    assert {p.name for p in Path("out").iterdir()} == {"table1.md", "table1.tex", "table1.csv"}
    csv = invoke("table", "--format", "csv", "--compare", "paper").stdout.splitlines()
    assert csv[0].startswith("dataset,sr_model,dsr_model,n_seeds,AUC,AUC_sd,AUC_paper,AUC_diff")
    assert len(csv) == 1 + 3
    assert_one_line_error(invoke("table", "--table", "7"), "table 7 is not implemented yet")
    assert_one_line_error(invoke("table", "--format", "html"), "unknown format 'html'")
    full = invoke("table", "--metrics", "full", "--stats")
    assert full.exit_code == 0, full.output
    assert "full ranking: all" in full.stdout and "| MRR |" in full.stdout
    assert "[Δ " in full.stdout  # Ours (DUET) against DUET
    for compare in ("paper", "protocols"):  # never the paper's sampled number under full
        assert_one_line_error(invoke("table", "--metrics", "full", "--compare", compare),
                              "the paper reports sampled metrics only")
    assert_one_line_error(invoke("table", "--metrics", "top5"), "unknown metrics 'top5'")


def test_claims_command(trained_tiny, monkeypatch, tmp_path):
    monkeypatch.chdir(trained_tiny)
    done = invoke("claims", "--out-dir", str(tmp_path))
    assert done.exit_code == 0, done.output
    assert "T1.tiny.sasrec.ours-duet>duet" in done.stdout
    assert "Full ranking (full ranking: all" in done.stdout
    assert "not run: image not in study.modalities" in done.stderr  # tiny has id+image, text
    assert {p.name for p in tmp_path.iterdir()} == {"claims.md", "claims.csv"}
    assert_one_line_error(invoke("claims", "--metrics", str(tmp_path / "none")),
                          "no metrics folder")
    assert_one_line_error(invoke("claims", "--correction", "bonferroni"),
                          "unknown correction 'bonferroni'")


def test_same_seed_same_metrics(trained_tiny, tmp_path, monkeypatch):
    """The same params and seeds give the same metrics, whether a seed trains in a group or
    alone (--seed 1): on one machine and thread count the numbers agree to the last digit."""
    project = tmp_path / "again"
    project.mkdir()
    write_tiny_dataset(project / "raw" / "tiny")
    write_params(project / "params.yaml", tiny_params(project / "raw" / "tiny"))
    monkeypatch.chdir(project)
    for cmd in (["download"], ["embed"], ["assign-semantics"], ["train-spg", "--seed", "1"],
                ["train-sml", "--seed", "1"], ["train-scl", "--seed", "1"],
                ["evaluate", "--variant", "scl", "--set", "seeds=[1]"]):
        result = invoke(*cmd)
        assert result.exit_code == 0, (cmd, result.output)
    ours = json.loads(Path("reports/metrics/tiny/sasrec-duet-scl/seed1/metrics.json")
                      .read_text())
    first = json.loads((trained_tiny / "reports/metrics/tiny/sasrec-duet-scl/seed1/"
                                       "metrics.json").read_text())
    for split in ("valid", "test"):
        for name, value in first[split].items():
            assert ours[split][name] == pytest.approx(value, abs=1e-5), (split, name)


@pytest.mark.parametrize(("args", "text"), [
    (["download", "--dataset", "nope"], "unknown dataset 'nope'"),
    (["train-base", "--backbone", "resnet"], "unknown backbone 'resnet'"),
    (["train-base", "--dsr", "hyper"], "unknown dsr 'hyper'"),
    (["train-scl", "--dsr", "none"], "SOLID needs a dynamic model"),
    (["evaluate", "--variant", "xyz"], "unknown variant 'xyz'"),
    (["train-base", "--set", "train.lr=fast"], "'train.lr' must be a number"),
    (["train-base", "--params", "missing.yaml"], "params file not found"),
    (["embed"], "run `solid download --dataset tiny` first"),
    (["train-spg"], "run `solid download --dataset tiny` first"),
    (["evaluate"], "run `solid download --dataset tiny` first"),
])
def test_errors_are_one_line(tiny_project, args, text):
    assert_one_line_error(invoke(*args), text)


def test_unknown_params_key_in_file(tiny_project):
    data = tiny_params(tiny_project / "raw" / "tiny")
    data["solid"]["temperature"] = 1.0
    write_params(tiny_project / "params.yaml", data)
    assert_one_line_error(invoke("download"), "unknown key 'solid.temperature'")


def test_missing_semantics_and_checkpoint(tiny_project):
    assert invoke("download").exit_code == 0
    assert_one_line_error(invoke("train-spg"), "run `solid assign-semantics --dataset tiny`")
    assert_one_line_error(invoke("evaluate"), "tiny/sasrec/none/base seed 0 is not trained "
                          "(models/tiny/base/sasrec-none/seed0/run.json missing); run `solid "
                          "train-base --dataset tiny --backbone sasrec --dsr none` first")
    assert_one_line_error(invoke("evaluate", "--all"),
                          "tiny/sasrec/none/base seed 0 is not trained")
    assert_one_line_error(invoke("assign-semantics"), "missing file: data/features/tiny/meta.json")


def _break_and_embed(project: Path, breaker) -> object:
    assert invoke("download").exit_code == 0
    breaker(project / "raw" / "tiny")
    return invoke("embed")


def test_feature_rows_not_matching_items(tiny_project):
    def drop_row(folder):
        feats = np.fromfile(folder / "Tiny.feat1CLS", dtype=np.float32).reshape(-1, 8)
        feats[:-1].tofile(folder / "Tiny.feat1CLS")
    result = _break_and_embed(tiny_project, drop_row)
    assert_one_line_error(result, "19 rows of dimension 8, but the dataset has 20 items")
    assert not (tiny_project / "data/features/tiny").exists()


def test_feature_size_not_whole_rows(tiny_project):
    def chop(folder):
        data = (folder / "Tiny.feat3CLS").read_bytes()
        (folder / "Tiny.feat3CLS").write_bytes(data[:-4])
    assert_one_line_error(_break_and_embed(tiny_project, chop),
                          "is not a whole number of 8-d float32 rows")


def test_nan_features(tiny_project):
    def poison(folder):
        feats = np.fromfile(folder / "Tiny.feat1CLS", dtype=np.float32)
        feats[17] = np.nan
        feats.tofile(folder / "Tiny.feat1CLS")
    assert_one_line_error(_break_and_embed(tiny_project, poison), "1 item rows contain NaN")
    assert not list(tiny_project.rglob(".*.tmp-*"))


def test_failed_rerun_keeps_previous_artifact(tiny_project):
    assert invoke("download").exit_code == 0
    assert invoke("embed").exit_code == 0
    before = (tiny_project / "data/features/tiny/text.npy").read_bytes()
    feats = np.full(20 * 8, np.nan, dtype=np.float32)
    feats.tofile(tiny_project / "raw/tiny/Tiny.feat1CLS")
    assert invoke("embed").exit_code == 1
    assert (tiny_project / "data/features/tiny/text.npy").read_bytes() == before


@pytest.mark.parametrize("damage", ["delete", "truncate"])
def test_damaged_bundled_file(tmp_path, monkeypatch, damage):
    from solidcli.data import registry

    bundle = tmp_path / "bundle"
    import shutil
    shutil.copytree(registry.REGISTRY["scientific"].folder, bundle)
    target = bundle / "Scientific.valid.inter"
    if damage == "delete":
        target.unlink()
    else:
        target.write_bytes(target.read_bytes()[:1000])
    monkeypatch.setitem(registry.REGISTRY, "scientific",
                        registry.REGISTRY["scientific"].__class__(
                            **{**registry.REGISTRY["scientific"].__dict__, "folder": bundle}))
    monkeypatch.chdir(tmp_path)
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    result = invoke("download")
    word = "missing" if damage == "delete" else "truncated or altered"
    assert_one_line_error(result, word)
    assert not (tmp_path / "data/prepared/scientific").exists()


def test_corrupt_inter_line_in_a_local_dataset(tiny_project):
    path = tiny_project / "raw/tiny/Tiny.train.inter"
    path.write_text(path.read_text() + "7\tnot numbers\t3\n")
    assert_one_line_error(invoke("download"), "Tiny.train.inter line")


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.startswith("solid ")
