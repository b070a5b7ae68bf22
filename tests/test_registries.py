"""The registries (backbones, DSRs, datasets) against everything that lists their entries: a
registered item missing from a table, a name list or the params checks fails here."""

from __future__ import annotations

import dataclasses
import typing

import pytest
from conftest import REPO
from import_closure import command_closure

from solidcli import _options, config, grid, results
from solidcli.data import recipes, registry
from solidcli.data.datasets import DATASETS, Bundled, Dataset, Remote, figure_groups
from solidcli.layout import RunId
from solidcli.models import backbones, dsrs
from solidcli.models import registry as classes

SOLID_VARIANTS = ("spg", "sml", "scl")  # what Table 1 trains for SOLID on a DSR


@pytest.fixture(scope="module")
def params():
    """params.yaml with every registered DSR on the grid axes it may be on."""
    return config.load_overrides(config.load_params(REPO / "params.yaml"), [
        f"dsrs=[{', '.join(dsrs.DSRS)}]", f"solid_dsrs=[{', '.join(dsrs.dynamic())}]"])


def _planned(params, dataset: str) -> set[tuple[str, str]]:
    """(dsr, variant) of Table 1's runs and their SOLID parts."""
    return {(p.run.dsr, p.run.variant)
            for p in grid.table1(params, dataset) + grid.solid_parts(params, dataset)}


def _help(option) -> str:
    return typing.get_args(option)[1].help


@pytest.mark.parametrize("name", list(dsrs.DSRS))
def test_every_dsr_is_on_every_list(params, name):
    entry = dsrs.DSRS[name]
    # params accept it, with its section checked by its config class
    assert name in config.DSRS and config.check_dsr(name) == name
    assert isinstance(getattr(params.dsr, name), entry.config)
    assert name in params.dsrs
    # Table 1: the model alone, and SOLID on a dynamic one (label and the paper's row name)
    rows = dsrs.table1_rows()
    assert grid.TABLE1_LABELS[(name, "base")] == rows[(name, "base")].label
    planned = _planned(params, params.datasets[0])
    assert (name, "base") in planned
    if entry.dynamic:
        assert name in config.SOLID_DSRS and config.check_dsr(name, solid=True) == name
        assert grid.TABLE1_LABELS[(name, dsrs.SOLID_VARIANT)] == entry.solid.label
        assert rows[(name, dsrs.SOLID_VARIANT)].paper == entry.solid.paper
        assert all((name, v) in planned for v in SOLID_VARIANTS)
    else:
        assert not any((name, v) in planned for v in SOLID_VARIANTS)
    # display name, --dsr help, and the layers a model of it is built with
    assert results.dsr_name(name) == entry.label
    assert f" {name} " in f" {_help(_options.DsrOpt).replace('|', ' ')} "
    from solidcli.models.recommender import LAYERS

    assert entry.layers in LAYERS


def test_table1_labels_are_the_registry_rows():
    assert {row: r.label for row, r in dsrs.table1_rows().items()} == grid.TABLE1_LABELS
    assert list(grid.TABLE1_LABELS) == [("none", "base"), ("apg", "base"), ("apg", "scl"),
                                        ("duet", "base"), ("duet", "scl")]


def test_a_registered_dsr_reaches_table1(monkeypatch, params):
    """A new entry shows up in Table 1's planned rows and names without touching grid or
    results (params naming it; its `dsr.<name>` section is params.yaml's business)."""
    fake = dsrs.Dsr("Fake", dsrs.DuetCfg, "dense", dsrs.Row("Fake", "FAKE", "#000000"),
                    dsrs.Row("Ours (Fake)", "SOLID-FAKE", "#111111"))
    monkeypatch.setitem(dsrs.DSRS, "fake", fake)
    p = dataclasses.replace(params, dsrs=[*params.dsrs, "fake"],
                            solid_dsrs=[*params.solid_dsrs, "fake"])
    runs = [q.run for q in grid.table1(p, "scientific")]
    for variant in ("base", "scl"):
        assert RunId("scientific", p.backbones[0], "fake", variant) in runs
    assert _planned(p, "scientific") >= {("fake", v) for v in ("base", *SOLID_VARIANTS)}
    assert dsrs.table1_rows()[("fake", "scl")].label == "Ours (Fake)"
    # the labels the tables, claims and figures look a row up in see it too
    assert grid.TABLE1_LABELS[("fake", "scl")] == "Ours (Fake)"
    assert grid.TABLE1_LABELS.get(("fake", "base")) == "Fake"
    assert "fake" in dsrs.dynamic() and results.dsr_name("fake") == "Fake"


@pytest.mark.parametrize("name", list(backbones.BACKBONES))
def test_every_backbone_is_registered_whole(params, name):
    entry = backbones.BACKBONES[name]
    assert isinstance(getattr(params.models, name), entry.config)
    assert config.check_backbone(name) == name
    assert results.backbone_name(name) == entry.label
    assert f" {name} " in f" {_help(_options.BackboneOpt).replace('|', ' ')} "
    cls = classes.load(name)
    assert f"{cls.__module__}:{cls.__name__}" == classes.MODULES[name]


def test_the_backbone_halves_agree():
    assert list(classes.MODULES) == list(backbones.BACKBONES)


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_dataset_has_a_name_and_a_source(name):
    entry = DATASETS[name]
    assert entry.label and results.dataset_name(name) == entry.label
    if isinstance(entry.source, Bundled):
        assert registry.REGISTRY[name].folder.is_dir() and name not in recipes.RECIPES
    else:
        assert isinstance(entry.source, Remote) and name not in registry.REGISTRY
        assert recipes.RECIPES[name].name == name
        assert recipes.RECIPES[name].stem == entry.source.stem
    assert name in registry.known_datasets()
    if entry.figure is not None:
        assert name in figure_groups()[entry.figure]


def test_datasets_by_place():
    assert sorted(DATASETS) == registry.known_datasets()
    assert figure_groups() == {"3": ("cds", "electronic"), "4": ("douban-book", "douban-music")}


def test_a_registered_dataset_reaches_names_and_figures(monkeypatch, params):
    monkeypatch.setitem(DATASETS, "fake-ds", Dataset("Fake DS", Remote("douban", "Fake",
                                                                         ("book",)), "4"))
    assert results.dataset_name("fake-ds") == "Fake DS"
    assert figure_groups()["4"] == ("douban-book", "douban-music", "fake-ds")
    assert {q.run.dataset for q in grid.table1(params, "fake-ds")} == {"fake-ds"}


def test_reading_params_imports_no_model_code():
    """`solid download` (config, the dataset registry) does not reach a backbone's module."""
    files = {p.as_posix() for p in command_closure("download")}
    assert "solidcli/config.py" in files
    assert not {f"solidcli/models/{m}.py" for m in (*backbones.BACKBONES, "registry",
                                                    "ensemble", "layers")} & files
