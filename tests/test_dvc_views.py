"""The readable DVC views of docs/dvc.md: `make plots` (one chart per configuration, its seeds
overlaid, on a page that loads no script from the network), `make dag` (a narrow list, the
studies apart) and `make exp` (few columns)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO

from solidcli.config import load_params
from solidcli.grid import dataset_runs

ENV = {**os.environ, "DVC_NO_ANALYTICS": "1",
       "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def tool(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def dvc(*args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=REPO, env=ENV,
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, (args, out.stderr[-2000:])
    return out.stdout


def test_plots_render_one_chart_per_configuration_offline(tmp_path, monkeypatch):
    """DVC fills the offline template (Vega's scripts inline: stand-ins here, `make plots`
    fetches the real ones) with one chart per configuration, titled by display name, the
    seeds' curves in it; the page loads nothing over the network."""
    plots = tool("dvc_plots")
    monkeypatch.setattr(plots, "script", lambda name, version: f"/* {name} {version} */")
    template = plots.write_template(tmp_path / "offline.html", configure=False)
    assert [n for n, _ in plots.cdn_packages()] == ["vega", "vega-lite", "vega-embed"]
    dvc("plots", "show", "--html-template", str(template), "-o", str(tmp_path / "out"))
    page = (tmp_path / "out" / "index.html").read_text()
    assert plots.main(["--check", str(tmp_path / "out" / "index.html")]) == 0
    assert "cdn.jsdelivr" not in page and "/* vega-lite 5." in page
    found = re.findall(r"var spec = (.*?);\n\s*vegaEmbed", page, re.DOTALL)
    specs = [json.loads(s) for s in found]
    params = load_params(REPO / "params.yaml")
    runs = [p for d in params.datasets for p in dataset_runs(params, d)]
    assert len(specs) == len(runs)
    titles = {s["title"]["text"] if isinstance(s["title"], dict) else s["title"] for s in specs}
    assert "SASRec + DUET, Ours (valid UAUC)" in titles and len(titles) == len(runs)
    one = specs[0]
    assert {row["filename"] for row in one["data"]["values"]} == {
        f"seed{s}.csv" for s in params.seeds}
    # a page with DVC's own scripts fails the check
    remote = tmp_path / "remote.html"
    remote.write_text('<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>')
    assert plots.main(["--check", str(remote)]) == 1


def test_dag_is_a_narrow_list_with_the_studies_apart(capsys):
    assert tool("dvc_dag").main() == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(map(len, lines)) <= 96
    assert lines[0].startswith("dvc.yaml:") and "studies/dvc.yaml:" in lines
    split = lines.index("studies/dvc.yaml:")
    main = " ".join(lines[:split])
    studies = " ".join(lines[split:])
    assert "train-scl@scientific " in main and "k-table" not in main
    assert "mechanics-table " in studies and "evaluate@scientific (dvc.yaml)" in studies


def test_exp_show_views_are_a_few_columns():
    """`dvc exp show` has a column per param, metric and dependency file (hundreds); the two
    views docs/dvc.md gives keep a handful."""
    full = dvc("exp", "show", "--csv").splitlines()[0].split(",")
    assert len(full) > 300
    for args in (["--only-changed", "--drop", ".*/"],  # `make exp`
                 ["--drop", ".*", "--keep", r"Experiment|Created|.*sasrec-.*\.UAUC$"]):
        shown = dvc("exp", "show", "--csv", *args).splitlines()[0].split(",")
        assert len(shown) <= 12, (args, shown)
