"""Pair two evaluated configurations seed by seed and user by user, for `solidcli.stats`.

`pair(a, b, metric, users)` compares the results of two configurations (each a list of
per-seed `Result`s, as a table cell holds them) on the training seeds both have, with the
per-user test metrics `solid evaluate` wrote beside each metrics.json (`per_user.parquet`).
Both runs must have been scored on the same users in the same order (same data seed); a file
that says otherwise is an error naming it. A configuration evaluated before per-user files
existed has none: its comparison gets no user test (`Paired.n_users == 0`), which the tables
and the claims report say, and which never counts as significant under the `both` and `users`
rules. Every value is finite: each test user has its positive and negatives
(`PreparedDataset.load` checks the candidates), so `solid evaluate` writes no NaN, and a file
with one is corrupt, never a user to skip (a skipped user would move a p-value unseen).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from solidcli.errors import SolidError
from solidcli.layout import FULL_PREFIX, PER_USER
from solidcli.metrics import PER_USER_NAMES
from solidcli.results import Result
from solidcli.stats import Paired, compare

# a table metric -> its per-user column (the pooled AUC has none; UAUC is the users' AUC mean)
PER_USER_OF = {"UAUC": "AUC", **{m: m for m in PER_USER_NAMES if m != "AUC"}}


class PerUser:
    """Reads (and keeps) the per-user test metrics beside each metrics file."""

    def __init__(self) -> None:
        self._frames: dict[Path, dict[str, np.ndarray] | None] = {}

    @staticmethod
    def path(result: Result) -> Path:
        """The per-user file beside `result`'s metrics.json."""
        return result.path.parent / PER_USER

    def of(self, result: Result) -> dict[str, np.ndarray] | None:
        """{'user': ids, <column>: values} of one seeded run, or None without a file."""
        path = self.path(result)
        if path not in self._frames:
            self._frames[path] = self._read(path, result)
        return self._frames[path]

    @staticmethod
    def _read(path: Path, result: Result) -> dict[str, np.ndarray] | None:
        import pandas as pd
        import pyarrow as pa

        if not path.is_file():
            return None
        rebuild = f"rebuild it with `solid evaluate --dataset {result.run.dataset} --all`"
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError, pa.ArrowException) as e:
            raise SolidError(f"corrupt per-user metrics file {path}: "
                             f"{str(e).splitlines()[0] if str(e) else type(e).__name__}; "
                             f"{rebuild}") from None
        missing = [c for c in ("user", *PER_USER_NAMES) if c not in frame.columns]
        if missing:
            raise SolidError(f"corrupt per-user metrics file {path}: no column "
                             f"{', '.join(missing)}; {rebuild}")
        if not pd.api.types.is_integer_dtype(frame["user"]):
            raise SolidError(f"corrupt per-user metrics file {path}: column user holds "
                             f"{frame['user'].dtype}, not integer ids; {rebuild}")
        out = {"user": frame["user"].to_numpy()}
        full = [c for c in frame.columns if c.startswith(FULL_PREFIX)]  # absent in old files
        for c in (*PER_USER_NAMES, *full):
            if not (pd.api.types.is_float_dtype(frame[c])
                    or pd.api.types.is_integer_dtype(frame[c])):
                raise SolidError(f"corrupt per-user metrics file {path}: column {c} holds "
                                 f"{frame[c].dtype}, not numbers; {rebuild}")
            v = frame[c].to_numpy(dtype=np.float64, na_value=np.nan)
            bad = int((~np.isfinite(v)).sum())
            if bad:  # every test user has one positive and negatives: never undefined
                raise SolidError(f"corrupt per-user metrics file {path}: {c} is NaN or "
                                 f"infinite for {bad} of {len(v)} users; {rebuild}")
            if ((v < 0) | (v > 1)).any():
                raise SolidError(f"corrupt per-user metrics file {path}: {c} outside [0, 1]; "
                                 f"{rebuild}")
            out[c] = v
        if len(out["user"]) != len(np.unique(out["user"])):
            raise SolidError(f"corrupt per-user metrics file {path}: a user appears twice; "
                             f"{rebuild}")
        return out


def shared_seeds(a: Sequence[Result], b: Sequence[Result]) -> list[tuple[Result, Result]]:
    """The (a, b) results of each training seed both have, in a's seed order."""
    by_seed = {r.run.seed: r for r in b}
    return [(r, by_seed[r.run.seed]) for r in a if r.run.seed in by_seed]


def pair(a: Sequence[Result], b: Sequence[Result], metric: str, users: PerUser,
         test: str = "ttest", kind: str = "sampled") -> Paired:
    """`metric` (of the `kind` metrics: sampled or full ranking) of configuration a against
    configuration b (see the module docstring)."""
    pairs = shared_seeds(a, b)
    if not pairs:
        raise SolidError(f"{a[0].run.config} and {b[0].run.config} share no training seed "
                         "with metrics; nothing to compare")
    a_seeds = np.array([x.values(kind)[metric] for x, _ in pairs])
    b_seeds = np.array([y.values(kind)[metric] for _, y in pairs])
    column = f"{FULL_PREFIX}{metric}" if kind == "full" else PER_USER_OF.get(metric)
    a_users = b_users = None
    if column is not None:
        frames = [(users.of(x), users.of(y), x, y) for x, y in pairs]
        if all(fa is not None and fb is not None and column in fa and column in fb
               for fa, fb, _, _ in frames):
            first = frames[0][0]["user"]
            for fa, fb, x, y in frames:
                if not (np.array_equal(fa["user"], first) and np.array_equal(fb["user"], first)):
                    raise SolidError(f"{users.path(x)} and {users.path(y)} hold different "
                                     "test users, so they do not pair; "
                                     "evaluate both with the same data (`solid evaluate "
                                     f"--dataset {x.run.dataset} --all`)")
            a_users = np.stack([fa[column] for fa, _, _, _ in frames])
            b_users = np.stack([fb[column] for _, fb, _, _ in frames])
    return compare(metric, a_seeds, b_seeds, a_users, b_users, test)
