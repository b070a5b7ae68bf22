"""The dataset registry: every dataset `solid` knows by name, one entry each.

An entry holds what tables print (`label`), where its atomic files come from (`Bundled` files
shipped in `solidcli/bundled/<name>/`, or `Remote`: downloaded and built by a recipe of
`solidcli.data.recipes`) and the paper figure it is a panel of. `solidcli.data.registry`
(bundled sources), `solidcli.data.recipes.RECIPES`, the display names of `solidcli.results` and
the figures' dataset groups all derive from `DATASETS`. Plain data, so naming a dataset in a
table imports no download code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bundled:
    """Atomic files shipped with the package, each checked against its SHA-256."""

    stem: str  # atomic-file prefix, e.g. "Scientific" for Scientific.train.inter
    citation: str
    sha256: dict[str, str]


@dataclass(frozen=True)
class Remote:
    """Built by `solidcli.data.recipes.BUILDERS[builder](name, stem, *args)`."""

    builder: str  # amazon_2018 (category, ratings SHA-256) | amazon_2014 (file, SHA-256)
    # | missrec (subset | full) | douban (book | music)
    stem: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class Dataset:
    label: str  # as the tables and figures print it
    source: Bundled | Remote
    figure: str | None = None  # the paper figure it is a panel of (Figures 3 and 4)


def _amazon_2018(stem: str, category: str, sha256: str) -> Dataset:
    return Dataset(f"{stem} (rebuilt from Amazon 2018)",
                   Remote("amazon_2018", stem, (category, sha256)))


def _missrec_full(stem: str) -> Dataset:
    return Dataset(f"{stem} (full)", Remote("missrec", stem, ("full",)))


# the paper's four multimodal sets first (the names Table 1 prints), then the other variants,
# which are never matched against the paper's rows
DATASETS: dict[str, Dataset] = {
    "scientific": Dataset("Scientific", Bundled(
        "Scientific",
        "MISSRec (MM'23) Scientific subset, built from Amazon Review Data 2018",
        {
            "Scientific.feat1CLS": "45fc2f23e1cd621f67ffc8584aa0cc30adae6eb5d7a354f79a2f93e6b94f8ae2",
            "Scientific.feat3CLS": "20cb8a751cbc1a84c785bc4acdd13a3f1003d4be0c3c8d4034cd1de834b43389",
            "Scientific.item2index": "e689059637092e6dfaf6161ab71c5a3e54d96dc6a401a285c534cfc41516c022",
            "Scientific.test.inter": "46077666a7e26f6f3a0b8929c15b66af83b4a21859fb0a6c25692403fd703611",
            "Scientific.text": "2989b83daab4624c7adc289d17baea0d09f85c20545e1635f7614926ae489167",
            "Scientific.train.inter": "ad7a8cc23499cdbc3a0ba3650a438f946da433131e786b4ce4dfeae1c5590c5f",
            "Scientific.user2index": "417271f5886f37761b9e7e0da8e80e189aac034922491ade408101bc31270642",
            "Scientific.valid.inter": "46b3f988b4f12ed05de4ba518e48744d7680eda42146138ffb416445d191cafb",
        })),
    "arts": Dataset("Arts", Remote("missrec", "Arts", ("subset",))),
    "instruments": Dataset("Instruments", Remote("missrec", "Instruments", ("subset",))),
    "office": Dataset("Office", Remote("missrec", "Office", ("subset",))),
    "cds": Dataset("CDs", Remote("amazon_2014", "CDs", (
        "ratings_CDs_and_Vinyl.csv",
        "74b503152bc8f92f389a1f841ec00361f903772e5ebb2b664ce678c023dbbceb")), figure="3"),
    "electronic": Dataset("Electronic", Remote("amazon_2014", "Electronics", (
        "ratings_Electronics.csv",
        "a8e5b66b7f5371d1659ff88ae4acec91604125d6850f4f7e1c418120f2f9c16c")), figure="3"),
    "douban-book": Dataset("Douban Book", Remote("douban", "DoubanBook", ("book",)),
                           figure="4"),
    "douban-music": Dataset("Douban Music", Remote("douban", "DoubanMusic", ("music",)),
                            figure="4"),
    "scientific-full": Dataset("Scientific (full)", Bundled(
        "Scientific",
        "UniSRec/MISSRec Scientific full (Amazon 2018 Industrial_and_Scientific, 5-core), "
        "text only, copied from ysh-1998/CoWPiRec dataset/Scientific",
        {
            "Scientific.item2index": "896ab1017508cf20834d3d0537da9f8f624324223a835af272a98ba16f8c087a",
            "Scientific.test.inter": "546da7e5f44002b4518d7fd58066684bc09613f76c240914e16976d57cfe7083",
            "Scientific.text": "95887e6bda76e54f59b71b566320520d5da74e21d3b6ff8f20bfb6e8e84aa831",
            "Scientific.train.inter": "7284f6489d956fa20c9b64ffc84569264320edba5c3bc2fcb22db2ea083a1163",
            "Scientific.user2index": "f0162b1a3a0c6b7e816f86208e7b36f65d6787923126f9558fbc6d368e4c4974",
            "Scientific.valid.inter": "5f37c84d3b54617cdc46638c89dfe8741c7efc4987acd5eb64de2cbd4311f46c",
        })),
    "arts-full": _missrec_full("Arts"),
    "instruments-full": _missrec_full("Instruments"),
    "office-full": _missrec_full("Office"),
    "scientific-2018": _amazon_2018(
        "Scientific", "Industrial_and_Scientific",
        "29e194947309c1a0e81f0f9646fd6f63959949dbd807ea327e07074f35376a30"),
    "arts-2018": _amazon_2018(
        "Arts", "Arts_Crafts_and_Sewing",
        "ab42ec44840c130b8bcb1993bad37021b5ff98f3aae55a120c2a0d0624be3be5"),
    "instruments-2018": _amazon_2018(
        "Instruments", "Musical_Instruments",
        "8933b17434e4984bcce8cf4ec43d847e0af6aa6d46add28bbb37b80e06da1b06"),
    "office-2018": _amazon_2018(
        "Office", "Office_Products",
        "2e24f3df092efc71fa4dea41162c7c1ab2d46bc53c4cace63794a3a66dc6d82f"),
}


def figure_groups() -> dict[str, tuple[str, ...]]:
    """Figure number -> the datasets it has a panel of, in registry order."""
    out: dict[str, tuple[str, ...]] = {}
    for name, d in DATASETS.items():
        if d.figure is not None:
            out[d.figure] = (*out.get(d.figure, ()), name)
    return out

