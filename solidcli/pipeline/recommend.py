"""`solid recommend`: top-k items of a trained run, in the dataset's own tokens.

For known users (`--user`, by user token), for a history given as item tokens (`--history`,
a user the model has never seen), or for every user to a Parquet file (`--all --out`,
batched). The scores are the run's seeds' ensemble (the mean of their logits) or one seed's
(`--seed`); items already in the history are left out unless `--keep-seen`. All of it is
`solidcli.api` (the Python surface); this module only prints or writes what it returns: a
rich table on a terminal, JSON or CSV for scripts, Parquet (user, rank, item, score) for
`--all`.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from solidcli.api import TrainedModel
from solidcli.errors import SolidError

FORMATS = ("table", "json", "csv")
BATCH = 256  # histories scored at once by --all: (BATCH x items) floats at a time


def rows_for(model: TrainedModel, queries: list[tuple[str, list]], k: int, keep_seen: bool
             ) -> list[dict]:
    """One row per (query, rank): query is (label, item ids)."""
    ids, scores = model.top_k([h for _, h in queries], k, keep_seen)
    return [{"query": label, "rank": rank, "item": model.item_tokens[i - 1], "score": float(s)}
            for (label, _), row, vals in zip(queries, ids, scores, strict=True)
            for rank, (i, s) in enumerate(zip(row, vals, strict=True), start=1)
            if s != float("-inf")]


def render(rows: list[dict], fmt: str, title: str) -> str:
    """The rows as a rich table (text), JSON or CSV."""
    if fmt == "json":
        return json.dumps(rows, indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=["query", "rank", "item", "score"],
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows({**r, "score": f"{r['score']:.6g}"} for r in rows)
        return out.getvalue()
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for name, justify in (("query", "left"), ("rank", "right"), ("item", "left"),
                          ("score", "right")):
        table.add_column(name, justify=justify)
    for r in rows:
        table.add_row(r["query"], str(r["rank"]), r["item"], f"{r['score']:.4f}")
    console = Console(file=io.StringIO(), width=100, force_terminal=False)
    console.print(table)
    return console.file.getvalue()


def write_all(model: TrainedModel, out: Path, k: int, keep_seen: bool, split: str) -> int:
    """Every user's top-k (from their `split` history) to Parquet: user, rank, item, score;
    written under a temporary name and renamed. Returns the number of users."""
    import numpy as np
    import pandas as pd

    from solidcli._io import atomic_file, task_bar

    users = list(model.user_tokens)
    histories = [model.user_history(u, split) for u in users]
    parts = []
    with task_bar(f"recommend {len(users)} users", len(users)) as bar:
        for lo in range(0, len(users), BATCH):
            part = histories[lo:lo + BATCH]
            ids, scores = model.top_k(part, k, keep_seen)
            keep = np.isfinite(scores)
            rank = np.broadcast_to(np.arange(1, ids.shape[1] + 1), ids.shape)
            who = np.broadcast_to(np.arange(lo, lo + len(part))[:, None], ids.shape)
            parts.append(pd.DataFrame({"user": np.asarray(users, dtype=object)[who[keep]],
                                       "rank": rank[keep].astype(np.int32),
                                       "item": np.asarray(model.item_tokens,
                                                          dtype=object)[ids[keep] - 1],
                                       "score": scores[keep].astype(np.float32)}))
            bar.advance(len(part))
    frame = pd.concat(parts, ignore_index=True)
    if out.exists() and out.is_dir():
        raise SolidError(f"--out {out} is a folder; give a file name such as recs.parquet")
    with atomic_file(out) as tmp:
        frame.to_parquet(tmp, index=False)
    return len(users)


def check(fmt: str, k: int, users: list[str] | None, history: str | None, all_: bool,
          out: Path | None) -> None:
    """The options make one request (checked before anything is loaded)."""
    if fmt not in FORMATS:
        raise SolidError(f"unknown --format '{fmt}' (choose from {', '.join(FORMATS)})")
    if k < 1:
        raise SolidError(f"-k must be a whole number >= 1, got {k}")
    asked = [flag for flag, given in (("--user", bool(users)), ("--history", history is not None),
                                      ("--all", all_)) if given]
    if len(asked) != 1:
        raise SolidError("say whom to recommend for: one of --user TOKEN (repeatable), "
                         "--history 'ITEM ITEM ...' or --all --out FILE.parquet"
                         + (f" (got {' and '.join(asked)})" if asked else ""))
    if all_ != (out is not None):
        raise SolidError("--all writes a Parquet file: give --out FILE.parquet (and --out "
                         "only with --all)")
    if history is not None and not history.split():
        raise SolidError("--history is empty: give item tokens separated by spaces")
