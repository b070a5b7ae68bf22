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
    data/semantics-by-k/<d>/<setting>/     the same for one setting of the K study (k<K>, category)
    models/<d>/<family>/<config>/seed<s>/  model.pt, run.json, metrics.json, curves.csv
    models/<d>/<family>/stage.json         the training stage's wall time, workers, threads
    models/studies/<study>/<d>/<family>/   the same for a study's families (mechanics-sml, ...)
    reports/metrics/<d>/<key>/seed<s>/     metrics.json + run.json of `evaluate`
    reports/metrics/<d>/test_users.parquet each test user's target popularity, history length
    reports/curves/<d>/<key>/seed<s>.csv   training curves (a DVC plot)
    reports/table<N>.{md,tex,csv}, reports/figure<N>.{png,pdf}, reports/summary.json
    reports/params-checked.json            written by `check-params` when params.yaml is valid
    exports/<d>/<key>[-seed<s>].onnx       `solid export`: the run as ONNX, with .items.json
                                           (the vocabulary) and .json (what it is) beside it
    reports/studies/<study>/{metrics,curves}/<d>/...  the same for a study's runs (mechanics)
    protocols/<name>/reports/metrics/...   the same for a protocol project (authors, ce, ...)

A trained run is named by a `RunId`: a configuration (dataset, backbone, dsr, variant, tag)
and a training seed. <family> is the set of configurations one DVC stage trains (its one
output folder): the variant for Table 1's runs, `<variant>-<sweep>` for a study sweep (sml-T,
scl-lambda-T, sml-modality, scl-modality). <config> is `<backbone>-<dsr>`, plus `-<tag>` for a
tagged run (a sweep cell). <key> is `<backbone>-<dsr>-<run>`, <run> the variant or
`<variant>-<tag>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from solidcli.errors import SolidError

DATA = Path("data")
RAW_ROOT = DATA / "raw"
MODELS = Path("models")
REPORTS = Path("reports")
EXPORTS = Path("exports")  # `solid export` (not a DVC output)
METRICS_ROOT = REPORTS / "metrics"
CURVES_ROOT = REPORTS / "curves"
STUDY_REPORTS = REPORTS / "studies"  # a study outside the default pipeline
PROTOCOLS = Path("protocols")  # projects that rerun the grid another way (protocols/<name>/)
SUMMARY = REPORTS / "summary.json"
PARAMS_CHECKED = REPORTS / "params-checked.json"  # `solid check-params`'s mark (DVC's first
# stage: every other stage depends on it, so bad params stop `dvc repro` before DVC removes
# any stage's outputs)
PER_USER = "per_user.parquet"
TEST_USERS = "test_users.parquet"  # per dataset: each test user's target popularity, history
FULL_PREFIX = "full_"  # per-user columns of the full-ranking metrics
TABLE_SUFFIX = {"markdown": "md", "latex": "tex", "csv": "csv"}
STAGING_MARKERS = (".tmp-", ".old-")
TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")  # a run tag: one safe folder-name part  # infixes of the temporary siblings `_io` writes


@dataclass(frozen=True)
class RunId:
    """One trained model: dataset, backbone, dynamic model, SOLID variant, optional tag, the
    family (stage) that trains it, and the training seed (None: the configuration, all
    seeds)."""

    dataset: str
    backbone: str
    dsr: str
    variant: str
    tag: str | None = None
    family: str | None = None  # None: the variant (Table 1's families)
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.tag is not None and not TAG.fullmatch(self.tag):
            raise SolidError(f"invalid run tag {self.tag!r}: letters, digits and . _ + - only, "
                             "starting with a letter or digit, at most 64 (it names a folder)")

    @property
    def name(self) -> str:
        """The variant, plus `-<tag>` for a tagged run."""
        return self.variant if self.tag is None else f"{self.variant}-{self.tag}"

    @property
    def key(self) -> str:
        """`<backbone>-<dsr>-<run>`: the configuration's name inside its dataset's reports."""
        return f"{self.backbone}-{self.dsr}-{self.name}"

    @property
    def stage_family(self) -> str:
        return self.family or self.variant

    @property
    def config(self) -> RunId:
        """The configuration of this run (no seed)."""
        return replace(self, seed=None)

    def with_seed(self, seed: int) -> RunId:
        return replace(self, seed=int(seed))

    def __str__(self) -> str:
        text = f"{self.dataset}/{self.backbone}/{self.dsr}/{self.name}"
        return text if self.seed is None else f"{text} seed {self.seed}"


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


def semantics_dir(dataset: str, by_modality: str | None = None,
                  by_k: str | None = None) -> Path:
    """The default semantics, one modality set's (kept as written: it is DVC's path), or
    one setting of the K study's (`k<K>` or `category`)."""
    if by_k is not None:
        return DATA / "semantics-by-k" / dataset / by_k
    if by_modality is None:
        return DATA / "semantics" / dataset
    return DATA / "semantics-by-modality" / dataset / by_modality


def semantics_stem(method: str, modality_key: str) -> str:
    """File stem: the modality key for k-means (`text+image`), prefixed by any other method."""
    return modality_key if method == "kmeans" else f"{method}-{modality_key}"


def _seeded(run: RunId) -> int:
    if run.seed is None:
        raise SolidError(f"{run}: a run folder needs a training seed")
    return run.seed


def seed_name(seed: int) -> str:
    return f"seed{seed}"


# studies outside the default pipeline (studies/dvc.yaml): study -> variant -> family; their
# models live apart (models/studies/<study>/<d>/<family>/), so training one never touches
# what the default pipeline's evaluate stage reads (models/<d>/)
STUDIES = {"mechanics": {"sml": "mechanics-sml", "scl": "mechanics-scl"},
           "k": {"sml": "k-sml"}}
_STUDY_OF = {family: study for study, by in STUDIES.items() for family in by.values()}


def family_dir(dataset: str, family: str) -> Path:
    """The folder one training stage writes: every configuration of one family."""
    if family in _STUDY_OF:
        return MODELS / "studies" / _STUDY_OF[family] / dataset / family
    return MODELS / dataset / family


def stage_record(dataset: str, family: str) -> Path:
    """How long a training stage took, with how many workers (`benchmarks/bench.py`)."""
    return family_dir(dataset, family) / "stage.json"


def config_dir(run: RunId) -> Path:
    """Every seed of one configuration."""
    name = f"{run.backbone}-{run.dsr}" + ("" if run.tag is None else f"-{run.tag}")
    return family_dir(run.dataset, run.stage_family) / name


def model_dir(run: RunId) -> Path:
    return config_dir(run) / seed_name(_seeded(run))


def run_metrics_dir(run: RunId, root: Path = METRICS_ROOT) -> Path:
    return Path(root) / run.dataset / run.key / seed_name(_seeded(run))


def metrics_dir(dataset: str, root: Path = METRICS_ROOT) -> Path:
    return Path(root) / dataset


def test_users_file(dataset: str, root: Path = METRICS_ROOT) -> Path:
    """Each test user's target popularity and history length, beside the runs' metrics."""
    return metrics_dir(dataset, root) / TEST_USERS


def curves_dir(dataset: str, root: Path = CURVES_ROOT) -> Path:
    return Path(root) / dataset


def curves_file(run: RunId, root: Path = CURVES_ROOT) -> Path:
    return curves_path(run.dataset, run.key, _seeded(run), root)


def curves_path(dataset: str, key: str, seed: int, root: Path = CURVES_ROOT) -> Path:
    """The curves of seed `seed` of the run with key `<backbone>-<dsr>-<run>` in `dataset`."""
    return curves_dir(dataset, root) / key / f"{seed_name(seed)}.csv"


def study_roots(study: str | None) -> tuple[Path, Path]:
    """(metrics root, curves root) of the default pipeline (None) or of a study."""
    if study is None:
        return METRICS_ROOT, CURVES_ROOT
    return STUDY_REPORTS / study / "metrics", STUDY_REPORTS / study / "curves"


def protocol_metrics(protocol: str) -> Path:
    """The metrics root of a protocol project: protocols/<protocol>/reports/metrics."""
    return PROTOCOLS / protocol / METRICS_ROOT


AUTHORS_METRICS = protocol_metrics("authors")  # Table 1 under the authors' code's protocol
CE_METRICS = protocol_metrics("ce")  # Table 1 trained with softmax cross-entropy
CE_DIN_METRICS = protocol_metrics("ce-din")  # DIN's part of it: sampled cross-entropy
CE_STANDARD_METRICS = protocol_metrics("ce-standard")  # SASRec's, on the standard encoder


def table_file(number: int | str, fmt: str, out_dir: Path = REPORTS) -> Path:
    return Path(out_dir) / f"table{number}.{TABLE_SUFFIX[fmt]}"


def claims_file(suffix: str, out_dir: Path = REPORTS) -> Path:
    """reports/claims.md and reports/claims.csv: `solid claims`."""
    return Path(out_dir) / f"claims.{suffix}"


def figure_file(name: int | str, suffix: str = "png", out_dir: Path = REPORTS) -> Path:
    """reports/figure5.png for a paper figure, reports/figure-curves.png for another."""
    stem = f"figure{name}" if str(name).isdigit() else f"figure-{name}"
    return Path(out_dir) / f"{stem}.{suffix}"


def export_file(run: RunId) -> Path:
    """Where `solid export` writes a run by default: its seeds' ensemble (no seed), or one
    seed's model (`-seed<s>`)."""
    stem = run.key if run.seed is None else f"{run.key}-{seed_name(run.seed)}"
    return EXPORTS / run.dataset / f"{stem}.onnx"
