"""solidcli/layout.py is the one place that builds artifact paths."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from conftest import REPO

from solidcli import layout
from solidcli._io import staged_dir, write_json
from solidcli.errors import SolidError
from solidcli.layout import RunId

ROOTS = re.compile(r"^(data|models|reports)/")
TOPS = ("data", "models", "reports")


def test_no_module_but_layout_spells_an_artifact_path():
    offenders = []
    for path in sorted((REPO / "solidcli").rglob("*.py")):
        if path.name == "layout.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and ROOTS.match(node.value):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno} {node.value!r}")
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Path" \
                    and node.args and isinstance(node.args[0], ast.Constant) \
                    and node.args[0].value in TOPS:
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno} Path(...)")
    assert not offenders, offenders


def test_run_paths():
    config = RunId("scientific", "sasrec", "duet", "scl", "lam0.1-T0.01", "scl-lambda-T")
    run = config.with_seed(3)
    assert run.name == "scl-lam0.1-T0.01" and run.key == "sasrec-duet-scl-lam0.1-T0.01"
    assert run.config == config and str(run) == "scientific/sasrec/duet/scl-lam0.1-T0.01 seed 3"
    assert layout.model_dir(run) == Path(
        "models/scientific/scl-lambda-T/sasrec-duet-lam0.1-T0.01/seed3")
    assert layout.config_dir(config) == layout.model_dir(run).parent
    assert layout.family_dir("scientific", "scl-lambda-T") == Path("models/scientific/"
                                                                   "scl-lambda-T")
    assert layout.model_dir(RunId("arts", "din", "none", "base", seed=0)) == Path(
        "models/arts/base/din-none/seed0")
    assert layout.run_metrics_dir(run) == Path(
        "reports/metrics/scientific/sasrec-duet-scl-lam0.1-T0.01/seed3")
    assert layout.curves_file(run) == Path(
        "reports/curves/scientific/sasrec-duet-scl-lam0.1-T0.01/seed3.csv")
    with pytest.raises(SolidError, match="needs a training seed"):
        layout.model_dir(config)
    assert layout.semantics_dir("arts", "id+text") == Path(
        "data/semantics-by-modality/arts/id+text")
    assert layout.figure_file(5, "pdf") == Path("reports/figure5.pdf")
    assert layout.figure_file("curves") == Path("reports/figure-curves.png")
    for bad in ("", "a/b", ".hidden"):
        with pytest.raises(SolidError, match="invalid run tag"):
            RunId("d", "sasrec", "none", "base", bad)


def test_a_save_removes_what_an_interrupted_save_left(tmp_path):
    final = tmp_path / "run"
    for name in (".run.tmp-1a2b3c4d", ".run.old-5e6f7a8b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.pt").write_text("half")
    (tmp_path / ".run-other.tmp-99999999").mkdir()  # another artifact's: left alone
    with staged_dir(final) as tmp:
        write_json(tmp / "run.json", {"ok": True})
    assert sorted(p.name for p in tmp_path.iterdir()) == [".run-other.tmp-99999999", "run"]


def test_json_never_holds_nan(tmp_path):
    with pytest.raises(SolidError, match="NaN or infinite"):
        write_json(tmp_path / "m.json", {"UAUC": float("nan")})
    assert not list(tmp_path.iterdir())
