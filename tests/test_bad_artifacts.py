"""Damaged artifacts and raw files the writers never produce, and a disk that fills up while a
command writes its set of files (issue 25): each ends with exit 1, one stderr line naming the
file and the fix, and every file of the project byte-identical afterwards.

A damaged prepared or per-user file is re-signed first (its hash recorded where provenance
keeps it), as if its writer had produced it: the readers' own checks are what is tested, not
the hash check in front of them."""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import private_copy, snapshot
from test_cli import assert_one_line_error, invoke

from solidcli import layout
from solidcli.layout import PER_USER, RunId

GRID = ["--set", "study.dataset=other", "--set", "dsrs=[duet]"]  # the runs `ready` has
PREPARED = layout.prepared_dir("tiny")
RAW = Path("raw/tiny")
SCL0 = layout.run_metrics_dir(RunId("tiny", "sasrec", "duet", "scl", seed=0))
TRAIN = ["train-base", "--dsr", "duet", "--tag", "x"]  # reads every prepared file first
REBUILD_DATA = "rebuild it with `solid download --dataset tiny`"
REBUILD_METRICS = "rebuild it with `solid evaluate --dataset tiny --all`"


@pytest.fixture(scope="module")
def evaluated_once(ready, tmp_path_factory) -> Path:
    """`ready` with its four SASRec-DUET configurations evaluated (made once per module)."""
    root = tmp_path_factory.mktemp("evaluated") / "p"
    shutil.copytree(ready, root)
    old = os.getcwd()
    os.chdir(root)
    try:
        result = invoke("evaluate", "--all", *GRID)
        assert result.exit_code == 0, result.output
    finally:
        os.chdir(old)
    return root


@pytest.fixture
def evaluated(evaluated_once, tmp_path, monkeypatch) -> Path:
    """A private copy of `evaluated_once`; cwd moves there."""
    return private_copy(evaluated_once, tmp_path, monkeypatch)


# ---- damaging a file as its writer would have written it --------------------------------------

def _prepared(name: str, change: Callable[[pd.DataFrame], pd.DataFrame]
              ) -> Callable[[], None]:
    """Rewrite data/prepared/tiny/<name>.parquet changed by `change`, then re-sign the
    manifest (every file's hash and the digest) as `solid download` would."""
    def breaker() -> None:
        from solidcli import provenance

        path = PREPARED / f"{name}.parquet"
        change(pd.read_parquet(path)).to_parquet(path, index=False)
        manifest = json.loads((PREPARED / provenance.MANIFEST).read_text())
        provenance.write_manifest(PREPARED, "tiny", manifest["source"], manifest["seed"])
    return breaker


TEST_USERS = Path("reports/metrics/tiny/test_users.parquet")


def _per_user(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[], None]:
    """Rewrite seed 0's per-user file of SASRec + Ours (DUET) changed by `change`, and record
    its new hash in the metrics.json beside it as `solid evaluate` would."""
    def breaker() -> None:
        from solidcli import provenance

        change(pd.read_parquet(SCL0 / PER_USER)).to_parquet(SCL0 / PER_USER, index=False)
        metrics = json.loads((SCL0 / "metrics.json").read_text())
        metrics["per_user_sha256"] = provenance.sha256_file(SCL0 / PER_USER)
        (SCL0 / "metrics.json").write_text(json.dumps(metrics))
    return breaker


def _raw(name: str, change: Callable[[list[str]], None]) -> Callable[[], None]:
    """Edit the lines of raw/tiny/Tiny.<name> in place."""
    def breaker() -> None:
        path = RAW / f"Tiny.{name}"
        lines = path.read_text(encoding="utf-8").splitlines()
        change(lines)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return breaker


def _set(column: str, row: int, value) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """`column` with `value` in `row` (a list column stays one: the other rows keep theirs)."""
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        values = list(frame[column])
        values[row] = value
        return frame.assign(**{column: pd.Series(values, dtype=object)})
    return change


def _float_lists(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(items=[np.asarray(x, dtype=np.float64) for x in frame["items"]])


def _repeat_positive(frame: pd.DataFrame) -> pd.DataFrame:
    items = [np.array(x) for x in frame["items"]]
    items[0][1] = items[0][0]
    return frame.assign(items=items)


def _test_user_twice(frame: pd.DataFrame) -> pd.DataFrame:
    test = frame.index[frame["split"] == "test"]
    frame.loc[test[-1], "user"] = frame.loc[test[0], "user"]
    return frame


def _nan_users(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[[3, 7], "AUC"] = np.nan
    return frame


def _inf_user(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[5, "full_MRR"] = np.inf
    return frame


def _no_categories() -> None:
    for args in (["download", "--set", "data.tiny.category_prefix=null"], ["embed"]):
        result = invoke(*args)
        assert result.exit_code == 0, result.output


CASES = [
    # -- prepared data: every row of every column, as whole Arrow columns
    ("candidates-as-floats", "project", _prepared("candidates", _float_lists), TRAIN,
     (f"candidates.parquet: column 'items' holds list<element: double>, not integer list "
      f"values; {REBUILD_DATA}")),
    ("history-null-at-row-120", "project", _prepared("sequences", _set("history", 120, None)),
     TRAIN, (f"sequences.parquet: column 'history' is null in 1 of 166 rows (the first: row 120); "
             f"{REBUILD_DATA}")),
    ("history-null-item", "project", _prepared("sequences", _set("history", 140, [3, None])),
     TRAIN, ("sequences.parquet: column 'history' has 1 null values inside its lists (the first "
             "in row 140)")),
    ("target-as-float", "project",
     _prepared("sequences", lambda f: f.assign(target=f["target"].astype(float))),
     TRAIN, "sequences.parquet: column 'target' holds double, not integer values"),
    ("test-user-twice", "project", _prepared("sequences", _test_user_twice), TRAIN,
     "sequences.parquet: split 'test' lists user 1 more than once"),
    ("negative-is-the-positive", "project", _prepared("candidates", _repeat_positive), TRAIN,
     "twice among one user's candidates (row 0 of that split)"),
    ("user-token-twice", "project", _prepared("users", _set("token", 1, "USER000")), TRAIN,
     f"users.parquet: token 'USER000' appears twice; {REBUILD_DATA}"),
    ("items-without-category", "project",
     _prepared("items", lambda f: f.drop(columns="category")), ["embed"],
     "items.parquet has no column 'category' (columns: item, token, text, image)"),
    ("no-item-has-a-category", "tiny_project", _no_categories,
     ["assign-semantics", "--set", "semantics.tiny.method=category"],
     ("items.parquet: no item has a category, which semantics.tiny.method 'category' needs; "
      "set data.tiny.category_prefix")),
    # -- per-user metrics: every test user has one, so a NaN is damage, never a user to skip
    ("per-user-nan", "evaluated", _per_user(_nan_users), ["table", *GRID],
     f"per_user.parquet: AUC is NaN or infinite for 2 of 30 users; {REBUILD_METRICS}"),
    ("per-user-infinite", "evaluated", _per_user(_inf_user), ["claims", *GRID],
     "per_user.parquet: full_MRR is NaN or infinite for 1 of 30 users"),
    ("per-user-text", "evaluated",
     _per_user(lambda f: f.assign(**{"NDCG@10": f["NDCG@10"].astype(str)})),
     ["table", "--table", "breakdown", *GRID], "per_user.parquet: column NDCG@10 holds"),
    ("test-users-null", "evaluated",
     lambda: pd.read_parquet(TEST_USERS).assign(
         target_popularity=lambda f: f["target_popularity"].astype("Float64").where(
             f.index != 4)).to_parquet(TEST_USERS, index=False),
     ["table", "--table", "breakdown", *GRID],
     "test_users.parquet: column 'target_popularity' does not hold whole numbers in every row"),
    # -- raw atomic files
    ("index-token-twice", "tiny_project",
     _raw("item2index", lambda lines: lines.__setitem__(2, "ITEM000\t2")), ["download"],
     "Tiny.item2index line 3: token 'ITEM000' appears twice (also line 1)"),
    ("index-superscript-digit", "tiny_project",
     _raw("item2index", lambda lines: lines.__setitem__(0, "ITEM000\t²")), ["download"],
     "Tiny.item2index line 1: expected '<token>\\t<index>' (the index in ASCII digits)"),
    ("inter-arabic-digit", "tiny_project",
     _raw("train.inter", lambda lines: lines.__setitem__(1, "٠" + lines[1][1:])), ["download"],
     "Tiny.train.inter line 2: expected '<user>\\t<items...>\\t<item>' (indices in ASCII"),
    ("text-token-twice", "tiny_project", _raw("text", lambda lines: lines.append("ITEM003\tx")),
     ["download"], "Tiny.text line 22: item 'ITEM003' appears twice (also line 5)"),
]


@pytest.mark.parametrize(("where", "breaker", "args", "text"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_artifact_ends_cleanly(request, where, breaker, args, text):
    root = request.getfixturevalue(where)
    breaker()
    before = snapshot(root)
    assert_one_line_error(invoke(*args), text)
    assert snapshot(root) == before  # nothing written, nothing half-written


def test_byte_order_marks_are_dropped_and_stray_lines_named(tiny_project):
    """A BOM at the start of every atomic file (an editor's) changes nothing: item 1 keeps its
    token and text; a .text line naming no item is left out with one warning."""
    for path in RAW.iterdir():
        if "CLS" not in path.name:
            path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    with (RAW / "Tiny.text").open("a", encoding="utf-8") as fh:
        fh.write("NOPE\tnot an item\n")
    result = invoke("download")
    assert result.exit_code == 0, result.output
    assert "1 line names an item token Tiny.item2index lacks" in " ".join(result.stderr.split())
    items = pd.read_parquet(PREPARED / "items.parquet")
    assert items["token"].iloc[0] == "ITEM000" and items["text"].iloc[0].startswith("Thing 0.")
    assert items["text"].notna().all()
    users = pd.read_parquet(PREPARED / "users.parquet")
    assert users["token"].iloc[0] == "USER000"


# ---- a full disk while writing a set of files: all of them or none -----------------------------

def _disk_full_at(monkeypatch, name: str) -> None:
    """Writing `name` (through its temp) fails as a full disk does: OSError ENOSPC."""
    import matplotlib.figure

    def check(path) -> None:
        if Path(path).name.startswith(f".{name}.tmp-"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    write_text, savefig = Path.write_text, matplotlib.figure.Figure.savefig

    def failing_write_text(self, *args, **kwargs):
        check(self)
        return write_text(self, *args, **kwargs)

    def failing_savefig(self, fname, *args, **kwargs):
        check(fname)
        return savefig(self, fname, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", failing_write_text)
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", failing_savefig)


FULL_DISK = [  # (id, command, the files it writes: the last one fails)
    ("table", ["table", "--out-dir", "out", *GRID], ["table1.md", "table1.tex", "table1.csv"]),
    ("claims", ["claims", "--out-dir", "out", *GRID], ["claims.md", "claims.csv"]),
    ("breakdown", ["table", "--table", "breakdown", "--out-dir", "out", *GRID],
     ["table-breakdown.md", "table-breakdown.csv"]),
    ("figure", ["figure", "--figure", "curves", "--run", "sasrec-duet-scl", "--dataset", "tiny",
                "--out", "out/curves.png"], ["curves.png", "curves.pdf"]),
]


@pytest.mark.parametrize(("args", "files"), [c[1:] for c in FULL_DISK],
                         ids=[c[0] for c in FULL_DISK])
def test_full_disk_writes_none_of_a_set(evaluated, monkeypatch, args, files):
    out = evaluated / "out"
    out.mkdir()
    for name in files:  # an earlier run's files: they must stay as they are
        (out / name).write_text(f"old {name}\n")
    _disk_full_at(monkeypatch, files[-1])
    before = snapshot(evaluated)
    assert_one_line_error(invoke(*args), f"cannot write out/{files[-1]}: No space left on "
                                         f"device; none of {', '.join(files)} was changed")
    assert snapshot(evaluated) == before


def test_staged_files_puts_back_what_a_failed_rename_replaced(tmp_path, monkeypatch):
    """A rename that fails halfway through the set (the second of three) restores the first."""
    from solidcli._io import staged_files
    from solidcli.errors import SolidError

    finals = [tmp_path / n for n in ("a.md", "a.tex", "a.csv")]
    for f in finals[:2]:
        f.write_text(f"old {f.name}")
    real = os.replace

    def replace(src, dst):
        if Path(src).name.startswith(".a.tex.tmp-"):  # its temp onto a.tex
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(src))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(SolidError, match="cannot write .*a.tex: Input/output error; none of "
                                         "a.md, a.tex, a.csv was changed"), \
            staged_files(finals) as temps:
        for tmp in temps:
            tmp.write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.md", "a.tex"]
    assert [f.read_text() for f in finals[:2]] == ["old a.md", "old a.tex"]


def test_compare_refuses_a_nan_rather_than_skipping_its_user():
    """`PerUser` lets no NaN through; one that reaches the test anyway is an error, never a
    user silently left out of the p-value."""
    from solidcli.stats import compare

    users = np.full((2, 30), 0.5)
    users[0, 3] = np.nan
    with pytest.raises(ValueError, match="per-user metrics must be finite"):
        compare("UAUC", np.ones(2), np.ones(2), users, np.full((2, 30), 0.4))
