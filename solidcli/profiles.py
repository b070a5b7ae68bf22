"""`protocol: authors`: the authors' public code's protocol as one named profile.

The paper's protocol is the default. The authors' code differs from it in ways that change
results (docs/protocols.md lists them). `protocol: authors` requires
every setting below at once: a params file that says `protocol: authors` and leaves one out is
an error naming it, so the profile is never half-applied. Two of its rows exist nowhere else:
the valid interaction becomes a training positive and the checkpoint is chosen on test
(`engine.fit(select_on="test")`); every output of such a run says `selected_on: test` and its
protocol reads "TEST-SELECTED". `protocols/authors/params.yaml` is the profile applied to this
project's params (Table 1 only), run by `cd protocols/authors && dvc repro`.

Not reproduced: the fixed file order of the training data (batches here are bucketed by
length and shuffled by seed), one training seed (the profile keeps `seeds`), batch AUCs in
training, pickled checkpoints and the hard-coded CUDA.
"""

from __future__ import annotations

from typing import Any

from solidcli.schema import ConfigError

# (params key, required value, what the authors' code does); `<dataset>` = every dataset
AUTHORS: tuple[tuple[str, Any, str], ...] = (
    ("train.lr", 0.001, "Adam, lr 1e-3"),
    ("train.batch_size", 1024, "batch size 1024 (the shell scripts)"),
    ("train.epochs", 10, "10 epochs (the argparse default)"),
    ("train.min_epochs", 10, "no early stopping: every epoch runs"),
    ("train.patience", 10, "no early stopping: every epoch runs"),
    ("train.max_len", 20, "history window of 20 items"),
    ("dsr.duet.init", "authors", "generators initialised with fmod(randn, 2)"),
    ("dsr.duet.freeze", True, "generators never trained"),
    ("dsr.apg.init", "authors", "generators initialised with fmod(randn, 2)"),
    ("dsr.apg.freeze", True, "generators never trained"),
    ("dsr.apg.authors_simplified", True, "APG without activation and bias"),
    ("models.sasrec.causal", False, "SASRec with no causal mask"),
    ("semantics.<dataset>.method", "category", "category ids as semantics"),
    ("solid.metacode", "spg", "the metacode from the SPG model"),
    ("solid.train_codebook", False, "a frozen codebook"),
    ("solid.aux_loss", "authors", "MSE(category history, sg(codes))"),
    ("solid.mask_padding", False, "padded positions quantised and in the MSE"),
    ("solid.straight_through", False, "no straight-through estimator"),
    ("solid.dead_codes", "keep", "no codebook update at all"),
    ("solid.bound", "clip", "the hard clamp to +-T"),
    ("solid.branch_scale", "dsr", "the branch generated at the DSR's scale"),
    ("solid.warm_start", False, "every model trained from scratch"),
    ("eval.ties", "optimistic", "stable sort with the positive first"),
    ("protocol", "authors", ("no validation split: the valid interaction is a "
     "training positive, and the checkpoint is chosen on test")),
)


def _get(params: Any, key: str) -> Any:
    node = params
    for part in key.split("."):
        node = getattr(node, part)
    return node


def expand(params: Any) -> list[tuple[str, Any, str]]:
    """The profile's rows with `<dataset>` replaced by each dataset of `params.datasets`."""
    out = []
    for key, value, what in AUTHORS:
        if "<dataset>" in key:
            out += [(key.replace("<dataset>", d), value, what) for d in params.datasets]
        else:
            out.append((key, value, what))
    return out


def check_authors(params: Any) -> None:
    """Raise a ConfigError naming the first setting of the profile that `params` lacks."""
    for key, value, what in expand(params):
        if key.startswith("semantics."):
            dataset = key.split(".")[1]
            got = params.semantics_cfg(dataset).method
        else:
            got = _get(params, key)
        same = got == value and type(got) is type(value) or (
            isinstance(value, float) and isinstance(got, float) and abs(got - value) < 1e-12)
        if not same:
            raise ConfigError(f"'protocol: authors' needs '{key}: {value}' ({what}, as the "
                              f"authors' code); params has {got!r}")
