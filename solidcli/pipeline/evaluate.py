"""`solid evaluate`: score trained models on the valid and test candidates, every seed at once.

For each seed of each model writes, under `reports/metrics/<dataset>/<key>/seed<s>/`:
* `metrics.json` - AUC, UAUC, NDCG@10/20, Recall@10/20 for valid and test (sampled: 1
  positive + 99 negatives per user, the paper's protocol), and `test_full`: NDCG@10/20,
  Recall@10/20 and MRR of the test target ranked among every item except the user's own
  history (`metrics.full_ranking_metrics`). A target-dependent backbone (DIN) whose test
  users x items x history exceeds `EvalCfg.FULL_RANKING_BUDGET` is full-ranked on a random
  sample of the test users (`full_ranking_users`: the same users for every model of the
  dataset): `protocol_full` says so, `test_full.users` is the sample's size and
  `test_full_ci` holds each mean's 95% confidence interval over the sampled users;
* `per_user.parquet` - each test user's metrics, the pairing `solidcli.stats` tests on:
  `user`, AUC over that user's candidates, NDCG@10/20, Recall@10/20 (NaN where undefined),
  then `full_NDCG@10` ... `full_MRR` (absent when the full ranking was sampled: `pairing`
  takes a NaN for a corrupt file, and without the columns a full-ranking comparison gets
  the seed test alone, between means over the same sampled users);
* `run.json` beside them;
and `test_users.parquet` beside the runs (`--all`): each test user's target item, its training
popularity and the history's length, which the breakdown table buckets by;
and copies its training curves to `reports/curves/<dataset>/<key>/seed<s>.csv` (a DVC plot).
The seeds of a configuration are stacked into one batched model and scored in one pass. Every
model was selected on valid during training; test is scored here once.

`--all` evaluates exactly the runs (and seeds) params.yaml defines for the
dataset (`solidcli.grid`, the axes dvc.yaml expands), and rewrites both folders whole: a
folder left in models/ by a removed backbone, a seed no longer listed or an interrupted save is
never scored. This is the DVC stage.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

from solidcli import provenance
from solidcli._io import (
    Timer,
    atomic_file,
    console,
    progress,
    run_record,
    staged_dir,
    staged_dirs,
    write_json,
)
from solidcli.config import Params, check_backbone, check_dsr
from solidcli.data.prepared import PreparedDataset
from solidcli.errors import SolidError
from solidcli.grid import dataset_runs, find_tagged, study_runs, train_command
from solidcli.layout import (
    FULL_PREFIX,
    PER_USER,
    TEST_USERS,
    RunId,
    curves_dir,
    curves_file,
    metrics_dir,
    model_dir,
    run_metrics_dir,
    study_roots,
)
from solidcli.runs import load_seeds, read_record

FULL_SAMPLE_STREAM = 27  # the sample's random stream beside the data seed


def full_ranking_users(data_seed: int, users: int, n: int):
    """The sorted indices of the `n` of `users` test users whose full ranking is scored when
    it is sampled (`EvalCfg.full_ranking_sample`): the first `n` of one permutation drawn from
    the data seed alone, so every model of a dataset ranks the same users (their per-seed and
    per-model means pair), and a smaller sample is part of a larger one."""
    import numpy as np

    order = np.random.default_rng([data_seed, FULL_SAMPLE_STREAM]).permutation(users)
    return np.sort(order[:n])


def _score(params: Params, data: PreparedDataset, config: RunId, device,
           eval_sets: dict | None = None) -> list[tuple[RunId, dict, dict, dict]]:
    """(seeded run, metrics.json, run.json, per-user test metrics) for every seed of the
    trained `config`. `eval_sets` keeps the padded splits, keyed by (split, max_len), for the
    next model."""
    from solidcli.engine import EvalSet, score, score_full
    from solidcli.metrics import evaluate_scores, mean_ci, score_users
    from solidcli.models.recommender import Recommender

    eval_sets = {} if eval_sets is None else eval_sets
    timer = Timer()
    runs = [config.with_seed(s) for s in params.seeds]
    with timer("load"):
        loaded = load_seeds(params, config, list(params.seeds), data.n_items)
    spec = loaded[0][0].spec
    members = [model for model, _ in loaded]
    group = (members[0] if len(members) == 1 else Recommender.group(members)).to(device)
    results, per_user, full, full_users = {}, [], [], None
    ties = params.eval.ties
    for split in ("valid", "test"):
        with timer(split):  # test: the sampled and the full-ranking scores in one pass
            key = (split, spec.max_len)
            if key not in eval_sets:
                eval_sets[key] = EvalSet.from_split(data, split, spec.max_len)
            ev = eval_sets[key]
            if split == "valid":
                scores = score(group, ev, params.train.eval_batch_size, device)
                results[split] = [evaluate_scores(s, ev.labels, ties=ties) for s in scores]
                continue
            n_users = len(ev.lengths)
            n_full = params.eval.full_ranking_sample(n_users, data.n_items, spec.max_len,
                                                     group.target is None)
            full_users = (None if n_full == n_users
                          else full_ranking_users(params.seed, n_users, n_full))
            scores, full = score_full(group, ev, params.train.eval_batch_size, device, ties,
                                      full_users)
            both = [score_users(s, ev.labels, ties=ties) for s in scores]
            results[split] = [summary for summary, _ in both]
            users = data.splits["test"].users
            per_user = [{"user": users, **values, **({} if full_users is not None else {
                f"{FULL_PREFIX}{m}": v for m, v in full_values.items()})}
                        for (_, values), full_values in zip(both, full, strict=True)]
            if full_users is not None:  # the sampled users' values alone, from here on
                full = [{m: v[full_users] for m, v in member.items()} for member in full]
    n_candidates = data.candidates["test"].shape[1]
    sample = "" if full_users is None else (
        f"; a random sample of {len(full_users)} of {len(data.splits['test'].users)} test "
        f"users (target-dependent backbone over eval's full-ranking budget)")
    out = []
    for m, (run, (_, record)) in enumerate(zip(runs, loaded, strict=True)):
        selected_on = record.get("selected_on", "valid")
        label = "" if selected_on == "valid" else (
            "; TEST-SELECTED: checkpoint chosen on test (the authors' protocol)")
        metrics = {
            "dataset": data.name, "backbone": spec.backbone, "dsr": spec.dsr,
            "variant": spec.variant, "tag": run.tag, "seed": run.seed,
            "lambda": spec.lam if spec.codebook else None,
            "T": spec.clip if spec.variant in ("sml", "scl") else None,
            "K": spec.n_semantics if spec.variant != "base" else None,
            "data_seed": provenance.dataset_identity(data.name)["seed"],
            "ties": params.eval.ties,
            "inputs": {"data": provenance.data_input(data.name),
                       "model": {"path": (model_dir(run) / "model.pt").as_posix(),
                                 "sha256": record["model_sha256"]}},
            "protocol": f"sampled 1+{n_candidates - 1}{label}", "selected_on": selected_on,
            "best_epoch": record.get("best_epoch"),
            **({"diagnostics": record["diagnostics"]} if "diagnostics" in record else {}),
            "valid": results["valid"][m], "test": results["test"][m],
            "protocol_full": f"full ranking: all {data.n_items} items but the user's "
                             f"history{sample}{label}",
            "test_full": {k: float(v.mean()) for k, v in full[m].items()}
            | {"users": len(full[m]["MRR"])},
            **({} if full_users is None else {  # a sample: each mean's 95% interval
                "test_full_ci": {k: mean_ci(v) for k, v in full[m].items()}}),
        }
        evaluation = run_record(
            "evaluate", {"eval": params.as_dict()["eval"], "dataset": data.name}, run.seed,
            timer.times, model=str(model_dir(run)),
            model_git_revision=record.get("git_revision"), device=str(device),
            scored_with_seeds=list(params.seeds))
        out.append((run, metrics, evaluation, per_user[m]))
    return out


def _write(target: Path, curves_target: Path, run: RunId, metrics: dict, record: dict,
           per_user: dict) -> None:
    import pandas as pd

    with atomic_file(target / PER_USER) as tmp:
        pd.DataFrame(per_user).to_parquet(tmp, index=False, compression="zstd")
    write_json(target / "metrics.json",
               {**metrics, "per_user_sha256": provenance.sha256_file(target / PER_USER)})
    write_json(target / "run.json", record)
    source = model_dir(run) / "curves.csv"
    if source.is_file():
        curves_target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(curves_target) as tmp:
            shutil.copyfile(source, tmp)


def _log(run: RunId, metrics: dict) -> None:
    t = metrics["test"]
    console.log(f"[bold]{run}[/] test: AUC {t['AUC']:.4f}  UAUC {t['UAUC']:.4f}  "
                f"NDCG@10 {t['NDCG@10']:.4f}  Recall@10 {t['Recall@10']:.4f}")


def run(params: Params, dataset: str, backbone: str, dsr: str, variant: str,
        tag: str | None = None, threads: int | None = None) -> list[Path]:
    """Evaluate every seed of one trained configuration, in this process: with `threads`
    (`--threads`, or SOLID_THREADS) torch threads, checked against the cores as
    `workers.plan` checks a worker's; else torch's default."""
    import os

    from solidcli.device import keep_freed_memory, pick_device

    keep_freed_memory()  # full ranking allocates and frees large blocks (see device.py)
    if threads is not None or os.environ.get("SOLID_THREADS"):
        import torch

        from solidcli.workers import plan

        torch.set_num_threads(plan(1, None, threads).threads)
    check_backbone(backbone)
    check_dsr(dsr, solid=variant != "base")
    config = find_tagged(params, RunId(dataset, backbone, dsr, variant, tag))
    _some_seeds_missing(params, config)
    device = pick_device(params.device)
    data = PreparedDataset.load(dataset)
    provenance.check_seed(dataset, params.seed)
    out = []
    for run, metrics, record, per_user in _score(params, data, config, device):
        folder = run_metrics_dir(run)
        with staged_dir(folder) as tmp:
            _write(tmp, curves_file(run), run, metrics, record, per_user)
        _log(run, metrics)
        out.append(folder)
    return out


def _some_seeds_missing(params: Params, config: RunId) -> None:
    """When only some seeds of `seeds` are trained: name the first missing one, the command
    that trains it, and the evaluate command that takes a trained seed alone."""
    trained = [s for s in params.seeds if (model_dir(config.with_seed(s)) / "run.json").is_file()]
    missing = [s for s in params.seeds if s not in trained]
    if trained and missing:
        first = config.with_seed(missing[0])
        tag = f" --tag {config.tag}" if config.tag else ""
        raise SolidError(
            f"{config} seed {missing[0]} is not trained ({model_dir(first) / 'run.json'} "
            f"missing); train it with `{train_command(params, first)} --seed {missing[0]}`, or "
            f"evaluate a trained seed alone: `solid evaluate --dataset {config.dataset} "
            f"--backbone {config.backbone} --dsr {config.dsr} --variant {config.variant}{tag} "
            f"--seed {trained[0]}`")


def run_all(params: Params, dataset: str, study: str | None = None,
            workers: int | None = None, threads: int | None = None) -> list[Path]:
    """Evaluate every run params.yaml defines for `dataset` (or for a study outside the
    default pipeline); rewrite its reports folders. The configurations are scored in worker
    processes (`solidcli.workers`: both cores, one thread each, as training); the scores do not
    depend on the thread count (checked: 1 and 2 threads give the same bytes), and the main
    process writes every folder in plan order."""
    from solidcli.workers import plan, run_units

    planned = dataset_runs(params, dataset) if study is None else study_runs(
        params, study, dataset)
    if not planned:
        raise SolidError(f"params.yaml defines no runs of study '{study}' for {dataset} (a "
                         "study runs on study.dataset)")
    data = PreparedDataset.load(dataset)
    provenance.check_seed(dataset, params.seed)
    for item in planned:  # a run not trained yet: its error before any worker starts
        for seed in params.seeds:
            run = item.run.with_seed(seed)
            read_record(run, make=train_command(params, run))
    metrics_root, curves_root = study_roots(study)
    out, curves = metrics_dir(dataset, metrics_root), curves_dir(dataset, curves_root)
    units = [(params.as_dict(), dataset, item.run) for item in planned]
    scored = run_units(score_unit, units, plan(len(units), workers, threads, params.device),
                       label=f"evaluate {dataset}")
    with staged_dirs(out, curves) as (tmp, tmp_curves), progress() as bar:
        task = bar.add_task(f"write {dataset}", total=len(planned))
        for group in scored:
            for run, metrics, record, per_user in group:
                folder = tmp / run_metrics_dir(run, metrics_root).relative_to(out)
                folder.mkdir(parents=True)
                _write(folder, tmp_curves / curves_file(run, curves_root).relative_to(curves),
                       run, metrics, record, per_user)
                _log(run, metrics)
            bar.advance(task)
        _write_test_users(tmp / TEST_USERS, data)
    return [out, curves]


def score_unit(params_dict: dict, dataset: str, config: RunId) -> list:
    """One unit of `run_all`: every seed of one configuration, scored (`_score`)."""
    from solidcli.config import from_dict
    from solidcli.device import pick_device

    params = from_dict(params_dict)
    data, eval_sets = _worker_data(dataset)
    return _score(params, data, config, pick_device(params.device), eval_sets)


@functools.lru_cache(maxsize=1)
def _worker_data(dataset: str) -> tuple[PreparedDataset, dict]:
    """A worker's prepared data and its padded splits (`_score`'s eval_sets), loaded once."""
    return PreparedDataset.load(dataset), {}


def _write_test_users(path: Path, data: PreparedDataset) -> None:
    """Each test user's target item, its training popularity (how often it occurs in the
    users' histories before their valid item: the training interactions) and the length of
    the history the test scores (the breakdown table's buckets)."""
    import numpy as np
    import pandas as pd

    test = data.splits["test"]
    before_valid = [h for h in data.splits["valid"].histories if len(h)]
    counts = np.bincount(np.concatenate(before_valid), minlength=data.n_items + 1) \
        if before_valid else np.zeros(data.n_items + 1, dtype=np.int64)
    frame = pd.DataFrame({"user": test.users, "target": test.targets,
                          "target_popularity": counts[test.targets],
                          "history_length": [len(h) for h in test.histories]})
    with atomic_file(path) as tmp:
        frame.to_parquet(tmp, index=False)
