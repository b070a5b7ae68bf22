"""Where every artifact lives: the one module that builds artifact paths.

All paths are relative to the project root (the folder holding params.yaml and dvc.yaml, the
working directory of every command and DVC stage). dvc.yaml spells the same paths out for
DVC; `tests/test_dvc_layout.py` checks that each stage's outputs are the paths built here.

    data/raw/<d>/                          downloads (a cache, not DVC-tracked); atomic/ files
    data/raw/shared/                       archives several datasets share
    data/raw/<d>/images/                   item images fetched by `embed`
    data/prepared/<d>/                     the prepared-data contract (`data.prepared`)
    data/features/<d>/                     text.npy, image.npy, meta.json
    data/semantics/<d>/                    <stem>.parquet, <stem>.centroids.npy, <stem>.json
    data/semantics-by-modality/<d>/<set>/  the same for one modality set (Table 3)
    models/<d>/<backbone>/<dsr>/<run>/     model.pt, run.json, metrics.json, curves.csv
    reports/metrics/<d>/<key>/             metrics.json + run.json of `evaluate`
    reports/curves/<d>/<key>.csv           training curves (a DVC plot)
    reports/table<N>.{md,tex,csv}, reports/figure<N>.{png,pdf}, reports/summary.json

A trained run is named by a `RunId`; <run> is its variant, or `<variant>-<tag>` for a tagged
run (a sweep cell), and <key> is `<backbone>-<dsr>-<run>`. A new axis of runs (the seed) is
one more field of `RunId` and one more component of `model_dir` / `run_metrics_dir`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from solidcli.errors import SolidError

DATA = Path("data")
RAW_ROOT = DATA / "raw"
MODELS = Path("models")
REPORTS = Path("reports")
METRICS_ROOT = REPORTS / "metrics"
CURVES_ROOT = REPORTS / "curves"
SUMMARY = REPORTS / "summary.json"
TABLE_SUFFIX = {"markdown": "md", "latex": "tex", "csv": "csv"}
STAGING_MARKERS = (".tmp-", ".old-")  # infixes of the temporary siblings `_io` writes


@dataclass(frozen=True)
class RunId:
    """One trained model: dataset, backbone, dynamic model, SOLID variant and optional tag."""

    dataset: str
    backbone: str
    dsr: str
    variant: str
    tag: str | None = None

    def __post_init__(self) -> None:
        if self.tag is not None and (not self.tag or "/" in self.tag
                                     or self.tag.startswith(".")):
            raise SolidError(f"invalid run tag '{self.tag}' (a short name without '/')")

    @property
    def name(self) -> str:
        """Folder name of the run: the variant, plus `-<tag>` for a tagged run."""
        return self.variant if self.tag is None else f"{self.variant}-{self.tag}"

    @property
    def key(self) -> str:
        """`<backbone>-<dsr>-<run>`: the run's name inside its dataset's reports."""
        return f"{self.backbone}-{self.dsr}-{self.name}"

    def __str__(self) -> str:
        return f"{self.dataset}/{self.backbone}/{self.dsr}/{self.name}"


SHARED_RAW = "shared"  # data/raw/shared/: archives several datasets share


def raw_dir(dataset: str, root: Path = RAW_ROOT) -> Path:
    """A dataset's download cache (`shared` for archives several datasets share)."""
    return Path(root) / dataset


def atomic_dir(dataset: str, root: Path = RAW_ROOT) -> Path:
    """The atomic files a recipe builds from the raw downloads."""
    return raw_dir(dataset, root) / "atomic"


def image_cache_dir(dataset: str) -> Path:
    return raw_dir(dataset) / "images"


def prepared_dir(dataset: str) -> Path:
    return DATA / "prepared" / dataset


def features_dir(dataset: str) -> Path:
    return DATA / "features" / dataset


def semantics_dir(dataset: str, by_modality: str | None = None) -> Path:
    """The default semantics, or one modality set's (kept as written: it is DVC's path)."""
    if by_modality is None:
        return DATA / "semantics" / dataset
    return DATA / "semantics-by-modality" / dataset / by_modality


def semantics_stem(method: str, modality_key: str) -> str:
    """File stem: the modality key for k-means (`text+image`), prefixed by any other method."""
    return modality_key if method == "kmeans" else f"{method}-{modality_key}"


def model_dir(run: RunId) -> Path:
    return MODELS / run.dataset / run.backbone / run.dsr / run.name


def run_metrics_dir(run: RunId, root: Path = METRICS_ROOT) -> Path:
    return Path(root) / run.dataset / run.key


def metrics_dir(dataset: str, root: Path = METRICS_ROOT) -> Path:
    return Path(root) / dataset


def curves_dir(dataset: str) -> Path:
    return CURVES_ROOT / dataset


def curves_file(run: RunId) -> Path:
    return curves_path(run.dataset, run.key)


def curves_path(dataset: str, key: str) -> Path:
    """The curves of the run with key `<backbone>-<dsr>-<run>` in `dataset`."""
    return curves_dir(dataset) / f"{key}.csv"


def table_file(number: int | str, fmt: str, out_dir: Path = REPORTS) -> Path:
    return Path(out_dir) / f"table{number}.{TABLE_SUFFIX[fmt]}"


def figure_file(name: int | str, suffix: str = "png", out_dir: Path = REPORTS) -> Path:
    """reports/figure5.png for a paper figure, reports/figure-curves.png for another."""
    stem = f"figure{name}" if str(name).isdigit() else f"figure-{name}"
    return Path(out_dir) / f"{stem}.{suffix}"

