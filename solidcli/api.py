"""The public Python API: use a trained run from a notebook or another program, in item tokens.

This module is the documented surface (the rest of `solidcli` may change between releases):

    from solidcli.api import load

    model = load("scientific", backbone="sasrec", dsr="duet", variant="scl")  # in a project
    model.recommend([["B00X", "B00Y"]], k=10)    # [[("B00Z", 3.12), ...]] per history
    model.recommend_users(["A1B2C3"], k=10)      # the users' own histories
    model.score(["B00X", "B00Y"], ["B00Z", "B00W"])  # the scores of given items
    tokens, table = model.item_embeddings()      # (N,) tokens, (N, D) float32

`load` reads a run that `solid train-*` saved under the project's `models/` (the current
folder, or `project=`), every seed of `seeds` in its params.yaml, and checks it as `solid
evaluate` does (model.pt against run.json, the data and semantics it was trained on);
`engine="onnx"` scores with the run's `solid export` file in onnxruntime instead, without
importing torch, after checking that the export is the run as it is now. With
several seeds a score is the seeds' ensemble, the mean of their scores (logits); `seed=s`
takes one seed alone. A history is a list of item tokens (the dataset's own ids), oldest
first; only its last `max_len` items reach the model, as in training. An item token the
dataset does not have is an error naming it (the model has no row for it; we refuse rather
than silently drop a part of the history); so is an empty history.

Top-k is exact and deterministic: the scores of every item, items already in the history
removed (unless `keep_seen`), ordered by score and, for equal scores, by item id (a stable
argsort), so the same inputs always give the same list.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from solidcli.errors import SolidError

SPLITS = ("full", "test", "valid")  # a known user's history: all of it, or a split's


ENGINES = ("torch", "onnx")  # what scores: the trained models, or their `solid export`


class TrainedModel:
    """A trained run (one seed, or the ensemble of its seeds) and its dataset's vocabulary."""

    def __init__(self, scorer: Callable[[np.ndarray, np.ndarray], np.ndarray], max_len: int,
                 run: Any, seeds: list[int], items: Any, users: Any,
                 histories: dict[str, dict[int, np.ndarray]], members: list | None = None
                 ) -> None:
        self._scorer = scorer  # (hist (B, L), lengths (B,)) -> (B, N) scores of items 1..N
        self._members = members  # engine torch: one Recommender per seed
        self.run = run  # the configuration (a solidcli.layout.RunId without a seed)
        self.seeds = seeds
        self.item_tokens: list[str] = [str(t) for t in items["token"]]  # item id i + 1
        self._item_ids = {t: i + 1 for i, t in enumerate(self.item_tokens)}
        self.user_tokens: list[str] = [str(t) for t in users["token"]]
        self._user_ids = {t: i + 1 for i, t in enumerate(self.user_tokens)}
        self._histories = histories  # split -> user id -> item ids (oldest first)
        self.max_len = max_len

    # ---- vocabulary ------------------------------------------------------------------------
    @property
    def n_items(self) -> int:
        return len(self.item_tokens)

    def item_ids(self, tokens: Sequence[str], what: str = "history") -> np.ndarray:
        """Item ids (1..N) of item tokens; an unknown token is an error naming it."""
        if isinstance(tokens, str):
            raise SolidError(f"a {what} is a list of item tokens, not one string {tokens!r}")
        ids = []
        for token in tokens:
            found = self._item_ids.get(str(token))
            if found is None:
                raise SolidError(f"unknown item token {str(token)!r} in the {what} (not in "
                                 f"dataset '{self.run.dataset}', whose {self.n_items} items "
                                 "the model has rows for)")
            ids.append(found)
        return np.asarray(ids, dtype=np.int64)

    def user_history(self, user: str, split: str = "full") -> np.ndarray:
        """A known user's history as item ids: `full` = every interaction the dataset has
        (the test history and its target), `test` / `valid` = that split's input history."""
        if split not in SPLITS:
            raise SolidError(f"unknown split '{split}' (choose from {', '.join(SPLITS)})")
        uid = self._user_ids.get(str(user))
        if uid is None:
            raise SolidError(f"unknown user token {str(user)!r} (not in dataset "
                             f"'{self.run.dataset}')")
        return self._histories[split][uid]

    # ---- scores ----------------------------------------------------------------------------
    def scores(self, histories: Sequence[np.ndarray], batch_size: int = 256) -> np.ndarray:
        """(B, N) float32 scores of items 1..N (column j = item id j + 1) for histories of
        item ids: the mean over the loaded seeds of each seed's logits."""
        from solidcli.data.batching import pad_histories

        for h in histories:
            if len(h) == 0:
                raise SolidError("an empty history: give at least one item token")
        out = np.empty((len(histories), self.n_items), dtype=np.float32)
        for lo in range(0, len(histories), batch_size):
            part = histories[lo:lo + batch_size]
            hist, lengths = pad_histories([np.asarray(h) for h in part], self.max_len)
            out[lo:lo + len(part)] = self._scorer(
                np.ascontiguousarray(hist[:, :int(lengths.max())]), lengths)
        return out

    def top_k(self, histories: Sequence[np.ndarray], k: int = 10, keep_seen: bool = False
              ) -> tuple[np.ndarray, np.ndarray]:
        """(ids (B, k'), scores (B, k')) of the best items for each history, k' = min(k, N);
        ids are 1..N. Where a history leaves fewer than k' unseen items, its row ends in
        seen items scored -inf (`recommend` drops them)."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise SolidError(f"k must be a whole number >= 1, got {k!r}")
        scores = self.scores(histories)
        if not keep_seen and len(histories):  # every history's own items, in one scatter
            rows = np.repeat(np.arange(len(histories)), [len(h) for h in histories])
            cols = np.concatenate([np.asarray(h, dtype=np.int64) for h in histories]) - 1
            scores[rows, cols] = -np.inf
        k = min(int(k), self.n_items)
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        picked = np.take_along_axis(scores, order, axis=1)
        return order + 1, picked

    # ---- the documented calls, in tokens ------------------------------------------------------
    def recommend(self, histories: Sequence[Sequence[str]], k: int = 10,
                  keep_seen: bool = False) -> list[list[tuple[str, float]]]:
        """Top-k (item token, score) for each history of item tokens."""
        ids = [self.item_ids(h) for h in histories]
        return self._lists(ids, k, keep_seen)

    def recommend_users(self, users: Sequence[str], k: int = 10, keep_seen: bool = False,
                        split: str = "full") -> list[list[tuple[str, float]]]:
        """Top-k (item token, score) for known users, from their histories (`user_history`)."""
        if isinstance(users, str):
            raise SolidError(f"users is a list of user tokens, not one string {users!r}")
        return self._lists([self.user_history(u, split) for u in users], k, keep_seen)

    def score(self, history: Sequence[str], items: Sequence[str]) -> list[float]:
        """The scores of `items` (item tokens) for one history of item tokens."""
        row = self.scores([self.item_ids(history)])[0]
        return [float(row[i - 1]) for i in self.item_ids(items, "items to score")]

    def item_embeddings(self, seed: int | None = None) -> tuple[list[str], np.ndarray]:
        """(item tokens, (N, D) float32 item table) of one seed (default: the first loaded;
        the seeds' tables live in different spaces, so they are never averaged)."""
        if self._members is None:
            raise SolidError("the item table is inside the exported graph: load the run with "
                             "engine='torch' for its embeddings")
        seed = self.seeds[0] if seed is None else seed
        if seed not in self.seeds:
            raise SolidError(f"seed {seed} is not loaded (loaded: {self.seeds})")
        member = self._members[self.seeds.index(seed)]
        table = member.items.weight.detach()[0, 1:].float().numpy()
        return list(self.item_tokens), table.copy()

    def _lists(self, histories: list[np.ndarray], k: int, keep_seen: bool
               ) -> list[list[tuple[str, float]]]:
        ids, scores = self.top_k(histories, k, keep_seen)
        return [[(self.item_tokens[i - 1], float(s)) for i, s in zip(r, v, strict=True)
                 if s != -np.inf] for r, v in zip(ids, scores, strict=True)]


def load(dataset: str | None = None, backbone: str | None = None, dsr: str | None = None,
         variant: str = "scl", tag: str | None = None, seed: int | None = None,
         project: str | Path | None = None, params: str | Path = "params.yaml",
         overrides: Sequence[str] = (), engine: str = "torch",
         export: str | Path | None = None) -> TrainedModel:
    """A trained run of the project at `project` (default: the current folder): every seed of
    its params' `seeds` (their ensemble), or `seed` alone. Unset names take the params'
    defaults, as the CLI does (the first dataset, backbone, and dsr). `engine="onnx"` scores
    with the run's `solid export` file (`export`, default its layout path; checked to be the
    run as it is now, `solidcli.serving`) in onnxruntime, without importing torch."""
    folder = Path(project) if project is not None else Path.cwd()
    if not folder.is_dir():
        raise SolidError(f"project folder not found: {folder}")
    with _inside(folder):
        return _load(dataset, backbone, dsr, variant, tag, seed, Path(params), list(overrides),
                     engine, export)


@contextmanager
def _inside(folder: Path) -> Iterator[None]:
    """Work in `folder` meanwhile (every artifact path is relative to the project)."""
    old = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(old)


def _load(dataset, backbone, dsr, variant, tag, seed, params_path, overrides, engine,
          export) -> TrainedModel:
    from solidcli.config import VARIANTS, check_backbone, check_dsr, load_params
    from solidcli.data.prepared import PreparedDataset
    from solidcli.grid import find_tagged, pick, pick_dsr
    from solidcli.layout import RunId
    from solidcli.runs import load_seeds

    if variant not in VARIANTS:
        raise SolidError(f"unknown variant '{variant}' (choose from {', '.join(VARIANTS)})")
    if engine not in ENGINES:
        raise SolidError(f"unknown engine '{engine}' (choose from {', '.join(ENGINES)})")
    p = load_params(params_path, overrides)
    p, name = p.for_dataset(pick(dataset, p.datasets, "datasets"))
    backbone = check_backbone(pick(backbone, p.backbones, "backbones"))
    dsr = check_dsr(pick_dsr(dsr, p, variant), solid=variant != "base")
    config = find_tagged(p, RunId(name, backbone, dsr, variant, tag))
    seeds = list(p.seeds) if seed is None else [seed]
    if engine == "onnx":
        return _load_export(p, name, config, seeds, seed, export)
    data = PreparedDataset.load(name)
    members = [model.eval() for model, _ in load_seeds(p, config, seeds, data.n_items,
                                                       one_seed=seed is not None)]
    return TrainedModel(_torch_scorer(members), members[0].spec.max_len, config, seeds,
                        data.items, data.users, _histories(data), members)


def _histories(data: Any) -> dict[str, dict[int, np.ndarray]]:
    """split -> user id -> history (item ids, oldest first); `full`: the test history and
    its target, every interaction the dataset has."""
    out = {split: {int(u): h for u, h in zip(data.splits[split].users,
                                              data.splits[split].histories, strict=True)}
           for split in ("valid", "test")}
    test = data.splits["test"]
    out["full"] = {int(u): np.append(h, t) for u, h, t in zip(
        test.users, test.histories, test.targets, strict=True)}
    return out


def _torch_scorer(members: list) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The seeds' mean logits of items 1..N, each seed's model run alone (stacking them into
    one batched model costs more than it saves for a request)."""
    import torch

    def score(hist: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            h, n = torch.from_numpy(hist), torch.from_numpy(lengths)
            total = sum(m.score_items(h, n)[0, :, 1:] for m in members)
            return (total / len(members)).float().numpy()
    return score


def _load_export(p: Any, name: str, config: Any, seeds: list[int], seed: int | None,
                 export: str | Path | None) -> TrainedModel:
    """The run's `solid export` in onnxruntime (engine onnx): no torch imported."""
    from solidcli.data.prepared import PreparedDataset
    from solidcli.layout import export_file
    from solidcli.serving import read_export, session

    path = Path(export) if export is not None else export_file(
        config if seed is None else config.with_seed(seed))
    remake = (f"solid export --dataset {name} --backbone {config.backbone} --dsr {config.dsr} "
              f"--variant {config.variant}" + (f" --tag {config.tag}" if config.tag else "")
              + (f" --seed {seed}" if seed is not None else "")
              + (f" --out {path}" if export is not None else ""))
    meta = read_export(path, config.key, seeds, remake)
    data = PreparedDataset.load(name)
    if meta["tokens"] != [str(t) for t in data.items["token"]]:
        raise SolidError(f"{path}: its vocabulary is not the prepared data's; remake it with "
                         f"`{remake}`")
    graph = session(path)

    def score(hist: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return graph.run(["scores"], {"hist": hist, "lengths": lengths})[0]
    return TrainedModel(score, int(meta["max_len"]), config, seeds, data.items, data.users,
                        _histories(data))
