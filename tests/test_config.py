"""params.yaml is validated strictly: unknown keys, missing keys and wrong types are errors."""

from dataclasses import replace

import pytest
from conftest import REPO, tiny_params, write_params

from solidcli.config import ConfigError, load_params, parse_value


def test_repository_params_load():
    p = load_params(REPO / "params.yaml")
    assert p.solid.lam == 0.1 and p.solid.T == 0.01
    assert p.semantics_cfg("scientific").k == 32  # the K study's choice on valid
    assert p.semantics_cfg("arts").k == 3000  # elsewhere about a third of the items
    assert p.train.dim == 32 and p.train.max_len == 50


@pytest.mark.parametrize(("change", "message"), [
    ({"train.lrate": 0.1}, "unknown key 'train.lrate'"),
    ({"train.lr": "fast"}, "'train.lr' must be a number"),
    ({"train.epochs": 2.5}, "'train.epochs' must be an integer"),
    ({"models.sasrec.causal": "yes"}, "'models.sasrec.causal' must be true or false"),
    ({"eval.ties": "random"}, "'eval.ties' must be one of"),
    ({"datasets": "tiny"}, "'datasets' must be a list"),
])
def test_bad_params_are_named(tmp_path, change, message):
    data = tiny_params(tmp_path)
    for key, value in change.items():
        node = data
        *path, last = key.split(".")
        for part in path:
            node = node[part]
        node[last] = value
    write_params(tmp_path / "params.yaml", data)
    with pytest.raises(ConfigError, match=message):
        load_params(tmp_path / "params.yaml")


def test_missing_key(tmp_path):
    data = tiny_params(tmp_path)
    del data["solid"]["T"]
    write_params(tmp_path / "params.yaml", data)
    with pytest.raises(ConfigError, match="missing key 'solid.T'"):
        load_params(tmp_path / "params.yaml")


def test_overrides_are_typed_and_checked(tmp_path):
    write_params(tmp_path / "params.yaml", tiny_params(tmp_path))
    p = load_params(tmp_path / "params.yaml", ["solid.lambda=1", "solid.T=1.0e-3"])
    assert p.solid.lam == 1.0 and p.solid.T == 0.001
    with pytest.raises(ConfigError, match="unknown key 'solid.lamda'"):
        load_params(tmp_path / "params.yaml", ["solid.lamda=1"])
    with pytest.raises(ConfigError, match="must look like"):
        load_params(tmp_path / "params.yaml", ["solid.lambda"])


def test_yaml_12_floats():
    assert parse_value("1e-3") == 0.001
    assert parse_value("yes") == "yes"


def test_not_yaml(tmp_path):
    (tmp_path / "params.yaml").write_text("seed: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(tmp_path / "params.yaml")


def test_repository_params_merge_sections_and_overrides_stay_local():
    p = load_params(REPO / "params.yaml", ["data.cds.path=/somewhere", "semantics.arts.k=7"])
    assert p.data_cfg("cds").path == "/somewhere"
    assert p.data_cfg("electronic").path is None and p.data_cfg("default").path is None
    assert p.data_cfg("arts-full").category_prefix == "Arts, Crafts & Sewing"  # merged
    assert p.semantics_cfg("arts").k == 7 and p.semantics_cfg("arts-full").k == 7000
    assert p.embed_cfg("cds").text is None and p.semantics_cfg("cds").modalities == ["id"]
    # a dataset without a section (a bring-your-own folder) gets the `default` ones
    assert p.embed_cfg("my-shop") == p.embed_cfg("default")


def test_the_standard_encoder_project_differs_from_the_ce_grid_only_in_the_encoder():
    """protocols/ce-standard (Table 1's "SASRec (CE, standard encoder)" row, and section C's
    standard-encoder sides) trains protocols/ce's SASRec grid with the standard encoder; seeds,
    data, semantics, SOLID, training and evaluation are protocols/ce's."""
    ce = load_params(REPO / "protocols" / "ce" / "params.yaml")
    std = load_params(REPO / "protocols" / "ce-standard" / "params.yaml")
    assert (std.backbones, std.dsrs, std.solid_dsrs) == (["sasrec"], ce.dsrs, ce.solid_dsrs)
    sasrec = std.models.sasrec
    assert (sasrec.input, sasrec.output, sasrec.init) == ("layernorm", "tied", "normal")
    assert std.dsr.none.layers == 0
    assert (std.train, std.eval, std.seeds, std.seed) == (ce.train, ce.eval, ce.seeds, ce.seed)
    assert (std.data, std.semantics, std.solid, std.dsr.apg, std.dsr.duet) == (
        ce.data, ce.semantics, ce.solid, ce.dsr.apg, ce.dsr.duet)
    others = {k: v for k, v in vars(sasrec).items() if k not in ("input", "output", "init")}
    assert others == {k: v for k, v in vars(ce.models.sasrec).items() if k in others}


def test_the_din_part_of_the_ce_grid_differs_from_it_only_in_the_backbone_and_its_loss():
    """protocols/ce-din (Table 1's DIN rows under softmax cross-entropy) is protocols/ce for
    DIN with sampled-ce: the seeds, data, semantics, models, SOLID, training otherwise and
    evaluation are protocols/ce's, so the two parts read as one grid."""
    ce = load_params(REPO / "protocols" / "ce" / "params.yaml")
    din = load_params(REPO / "protocols" / "ce-din" / "params.yaml")
    assert din.backbones == ["din"] and "din" not in ce.backbones
    assert din.train.loss_for("din") == "sampled-ce" and ce.train.loss_for("sasrec") == "ce"
    assert replace(din.train, loss_by_backbone={}) == ce.train
    from solidcli.report.references import CE_GRID  # its caption words name the negatives
    assert f" {din.train.sampled_negatives} sampled negatives" in CE_GRID[1].trained
    assert CE_GRID[1].root.parts[:2] == ("protocols", "ce-din") and CE_GRID[1].tag == "sampled-ce"
    for key in ("seed", "seeds", "datasets", "dsrs", "solid_dsrs", "data", "semantics",
                "models", "dsr", "solid", "eval", "study", "protocol"):
        assert getattr(din, key) == getattr(ce, key), key
