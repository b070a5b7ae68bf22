"""`solid synth`: a synthetic dataset with the shape of a registered one, at any scale.

It writes the RecBole/UniSRec atomic files `solidcli.data.atomic` reads, row for row in the
layout of the real files (`solidcli.data.recipes` step 7): `<stem>.user2index` and
`<stem>.item2index` (indices in order of first appearance along the sequences), the
leave-one-out `<stem>.{train,valid,test}.inter` (n - 3 train rows per user, newest target
first, every history cut to its last 50 items), `<stem>.text` when the named dataset has item
text, and random `<stem>.feat1CLS` (text) / `<stem>.feat3CLS` (image) float32 matrices of 512
columns when the real dataset ships CLIP features. The folder then goes through
`solid download --dataset <folder>` like any bring-your-own folder.

What it imitates, from a seed (same arguments, same bytes):

* users and items: the target's counts times `scale`, exactly; interactions follow (the
  target's mean per user times the users);
* history lengths: 5-core-like, `5 + floor(X)` with X log-normal (sigma `LENGTH_SIGMA`, its
  mean set so the lengths average the target's), at most half the items; then nudged one by one
  to the exact total. On the bundled Scientific this gives median 6, 90th percentile 9-10,
  99th about 18, as the real file has;
* item popularity: every item `min(5, interactions // items)` times (the 5-core floor), the
  rest drawn from a Zipf-Mandelbrot law, weight `(rank + q) ** -ZIPF_EXPONENT` with q
  `ZIPF_OFFSET` of the items, over a random ranking of the items (the bundled Scientific files
  have a popularity Gini of 0.41-0.43 and their top 1 % of items take 8-10 % of the
  interactions; these constants give about that), no item in more than half the sequences;
* distinct items within a sequence, in random order.

What it cannot: features are random (so semantic ids carry no signal), no temporal effects,
no co-purchase structure; the distributions are matched only approximately.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from solidcli.data.atomic import INTER_HEADER, SPLITS, TEXT_HEADER, header_line, write_index
from solidcli.errors import SolidError

MAX_HISTORY = 50  # UniSRec keeps the last 50 items of every history
MIN_LENGTH = 5  # 5-core: every user has at least 5 interactions (and every item, where it can)
FEATURE_DIM = 512  # CLIP ViT-B/32, as MISSRec's .feat1CLS / .feat3CLS
LENGTH_SIGMA = 1.0
ZIPF_EXPONENT = 1.1
ZIPF_OFFSET = 0.0125  # the Zipf-Mandelbrot offset, as a share of the items
MIN_COUNT = 10  # fewer users or items than this is no dataset


@dataclass(frozen=True)
class Target:
    """The published statistics of one registered dataset."""

    stem: str
    users: int
    items: int
    interactions: int
    text: bool  # items have text (`<stem>.text`)
    features: tuple[str, ...]  # feature files the real dataset ships: feat1CLS (text), feat3CLS
    source: str


_MISSREC_LOG = "MISSRec reference_log/full RecBole counts (users, items less 1 padding)"
_UNISREC = ("rebuilt with the UniSRec recipe: the counts of UniSRec's downstream set, which "
            "equal MISSRec's _mm_full (" + _MISSREC_LOG + ")")
_CLIP = ("feat1CLS", "feat3CLS")

# The datasets' published statistics. Names missing here (the MISSRec subsets of instruments,
# arts and office; cds, electronic) have none published: SOLID's configs only bound their
# item vocabularies.
TARGETS: dict[str, Target] = {
    # the bundled files themselves (MISSRec Scientific_mm_subset)
    "scientific": Target("Scientific", 2_928, 1_585, 19_712, True, _CLIP,
                         "bundled Scientific_mm_subset files"),
    # the bundled files (UniSRec/MISSRec Scientific full, text only, from CoWPiRec)
    "scientific-full": Target("Scientific", 8_442, 4_385, 59_427, True, (),
                              "bundled Scientific full files; " + _MISSREC_LOG),
    "instruments-full": Target("Instruments", 24_962, 9_964, 208_926, True, _CLIP,
                               "Instruments_mm_full, " + _MISSREC_LOG),
    "arts-full": Target("Arts", 45_486, 21_019, 395_150, True, _CLIP,
                        "Arts_mm_full, " + _MISSREC_LOG),
    "office-full": Target("Office", 87_346, 25_986, 684_837, True, _CLIP,
                          "Office_mm_full, " + _MISSREC_LOG),
    "scientific-2018": Target("Scientific", 8_442, 4_385, 59_427, True, (), _UNISREC),
    "instruments-2018": Target("Instruments", 24_962, 9_964, 208_926, True, (), _UNISREC),
    "arts-2018": Target("Arts", 45_486, 21_019, 395_150, True, (), _UNISREC),
    "office-2018": Target("Office", 87_346, 25_986, 684_837, True, (), _UNISREC),
    # DGRec's README table (Song et al., WSDM 2019): raw events, before 5-core; ID only
    "douban-book": Target("DoubanBook", 46_548, 212_995, 1_908_081, False, (),
                          "DGRec Douban README table (events)"),
    "douban-music": Target("DoubanMusic", 39_742, 164_223, 1_792_501, False, (),
                           "DGRec Douban README table (events)"),
}

_WORDS = ("red", "blue", "green", "black", "white", "small", "large", "compact", "classic",
          "steel", "wooden", "glass", "paper", "digital", "portable", "heavy", "light", "soft")
_THINGS = ("lamp", "kettle", "notebook", "pen", "cable", "gauge", "clamp", "filter", "glove",
           "bottle", "sensor", "brush", "tape", "drill", "folder", "stapler", "marker", "valve")


@dataclass
class Synthetic:
    """Users' item sequences (0-based item indices in first-appearance order) and the
    target they imitate."""

    name: str
    target: Target
    sequences: list[np.ndarray]
    n_items: int

    def stats(self) -> dict:
        lengths = np.fromiter((len(s) for s in self.sequences), dtype=np.int64,
                              count=len(self.sequences))
        counts = np.sort(np.bincount(np.concatenate(self.sequences), minlength=self.n_items))
        n = len(counts)
        gini = float((2 * np.arange(1, n + 1) - n - 1) @ counts / (n * counts.sum()))
        top = counts[::-1][: max(1, n // 100)].sum() / counts.sum()
        return {"users": len(lengths), "items": self.n_items,
                "interactions": int(lengths.sum()), "mean_length": float(lengths.mean()),
                "min_length": int(lengths.min()), "max_length": int(lengths.max()),
                "popularity_gini": round(gini, 4), "top1pct_share": round(float(top), 4),
                "min_item_count": int(counts[0])}


def target(name: str) -> Target:
    if name not in TARGETS:
        from solidcli.data.registry import known_datasets

        none = sorted(set(known_datasets()) - set(TARGETS))
        raise SolidError(f"--like '{name}': no statistics for it (known: "
                         f"{', '.join(sorted(TARGETS))}; no published statistics for "
                         f"{', '.join(none)})")
    return TARGETS[name]


def _fit_total(rng, values: np.ndarray, total: int, low: int, high: int) -> np.ndarray:
    """`values` nudged one unit at a time until they sum to `total`, each within [low, high];
    the units go to (or come from) entries drawn in proportion to their size."""
    values = values.copy()
    for _ in range(1000):
        diff = total - int(values.sum())
        if diff == 0:
            break
        room = np.flatnonzero(values < high) if diff > 0 else np.flatnonzero(values > low)
        if not len(room):
            raise SolidError(f"cannot spread {total} interactions within [{low}, {high}] each")
        weight = values[room].astype(np.float64)
        picks = rng.choice(room, size=abs(diff), p=weight / weight.sum())
        np.add.at(values, picks, 1 if diff > 0 else -1)
        np.clip(values, low, high, out=values)
    else:
        raise SolidError(f"cannot spread {total} interactions within [{low}, {high}] each")
    return values


def _lengths(rng, n_users: int, total: int, longest: int) -> np.ndarray:
    mean_excess = max(total / n_users - MIN_LENGTH, 0.0) + 0.5  # + 0.5: floor() takes 0.5
    mu = math.log(mean_excess) - LENGTH_SIGMA ** 2 / 2
    raw = MIN_LENGTH + np.floor(rng.lognormal(mu, LENGTH_SIGMA, n_users)).astype(np.int64)
    return _fit_total(rng, np.clip(raw, MIN_LENGTH, longest), total, MIN_LENGTH, longest)


def _item_counts(rng, n_items: int, total: int, most: int) -> np.ndarray:
    floor = min(MIN_LENGTH, total // n_items)
    offset = max(1.0, ZIPF_OFFSET * n_items)
    weight = (np.arange(1, n_items + 1, dtype=np.float64) + offset) ** -ZIPF_EXPONENT
    weight = weight[rng.permutation(n_items)] / weight.sum()
    counts = floor + rng.multinomial(total - floor * n_items, weight)
    return _fit_total(rng, np.minimum(counts, most), total, max(floor, 1), most)


def _deal(rng, lengths: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Items dealt to users: each item's copies shuffled into the users' slots, then every
    item a user got twice swapped with a random slot until no user holds one item twice."""
    n_items = len(counts)
    owner = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    slots = rng.permutation(np.repeat(np.arange(n_items, dtype=np.int64), counts))
    for _ in range(200):
        key = owner * n_items + slots
        order = np.argsort(key, kind="stable")
        twice = order[1:][key[order[1:]] == key[order[:-1]]]
        if not len(twice):
            return slots
        other = rng.integers(0, len(slots), len(twice))
        _, first = np.unique(other, return_index=True)
        pair = np.zeros(len(other), dtype=bool)
        pair[first] = True  # disjoint pairs only, so the swaps keep every item's count
        pair &= ~np.isin(other, twice)
        here, there = twice[pair], other[pair]
        slots[here], slots[there] = slots[there], slots[here].copy()
    # what is left after 200 rounds (only in tiny, dense cases): fixed one by one
    starts = np.concatenate([[0], np.cumsum(lengths)])
    for u in range(len(lengths)):
        seq = slots[starts[u]:starts[u + 1]]
        if len(np.unique(seq)) < len(seq):
            free = np.setdiff1d(np.arange(n_items), seq)
            _, first = np.unique(seq, return_index=True)
            again = np.setdiff1d(np.arange(len(seq)), first)
            seq[again] = rng.choice(free, size=len(again), replace=False)
    return slots


def generate(name: str, scale: float, seed: int) -> Synthetic:
    """Sequences with the statistics of `name` at `scale` (see the module docstring)."""
    tgt = target(name)
    if not (math.isfinite(scale) and scale > 0):
        raise SolidError(f"--scale must be a positive number, got {scale}")
    n_users, n_items = round(tgt.users * scale), round(tgt.items * scale)
    if min(n_users, n_items) < MIN_COUNT:
        least = MIN_COUNT / min(tgt.users, tgt.items)
        raise SolidError(f"--scale {scale} gives {n_users} users and {n_items} items, fewer "
                         f"than {MIN_COUNT}; use --scale {least:.2g} or more")
    rng = np.random.default_rng([seed, 27])
    longest = max(MIN_LENGTH, n_items // 2)
    total = min(max(round(tgt.interactions / tgt.users * n_users), MIN_LENGTH * n_users),
                longest * n_users)
    lengths = _lengths(rng, n_users, total, longest)
    most = max(MIN_LENGTH, n_users // 2, -(-total // n_items))  # at least room for the total
    counts = _item_counts(rng, n_items, total, min(most, n_users))
    slots = _deal(rng, lengths, counts)
    # item indices in order of first appearance along the sequences, as the real files have
    _, first = np.unique(slots, return_index=True)
    index = np.empty(n_items, dtype=np.int64)
    index[slots[np.sort(first)]] = np.arange(len(first))
    seqs = np.split(index[slots], np.cumsum(lengths)[:-1])
    return Synthetic(name=name, target=tgt, sequences=seqs, n_items=len(first))


def _texts(rng, n_items: int) -> list[str]:
    words = np.asarray(_WORDS)[rng.integers(0, len(_WORDS), (n_items, 2))]
    things = np.asarray(_THINGS)[rng.integers(0, len(_THINGS), n_items)]
    brands = rng.integers(0, max(2, n_items // 20), n_items)
    return [f"{a} {b} {t} {i}. Synthetic > {t.capitalize()}s. Brand{k}."
            for i, (a, b, t, k) in enumerate(zip(words[:, 0].tolist(), words[:, 1].tolist(),
                                                  things.tolist(), brands.tolist(),
                                                  strict=True))]


def _write_inter(folder: Path, stem: str, seqs: list[np.ndarray]) -> None:
    """The three `.inter` files; each user's sequence is joined once, and every history is a
    slice of that string."""
    names = [str(n) for n in range(max((int(s.max()) for s in seqs), default=0) + 1)]
    files = {s: (folder / f"{stem}.{s}.inter").open("w", encoding="utf-8", newline="\n")
             for s in SPLITS}
    try:
        for fh in files.values():
            fh.write(header_line(INTER_HEADER))
        train, valid, test = ([] for _ in SPLITS)
        for uid, seq in enumerate(seqs):
            tokens = [names[x] for x in seq.tolist()]
            joined = " ".join(tokens)
            # start[k]: where token k begins in `joined`; start[n] = len + 1
            start = np.concatenate([[0], np.cumsum([len(t) + 1 for t in tokens])]).tolist()
            n = len(tokens)

            def hist(a: int, e: int, joined=joined, start=start) -> str:
                return joined[start[max(a, e - MAX_HISTORY)]:start[e] - 1]

            train.extend(f"{uid}\t{hist(0, e)}\t{tokens[e]}\n" for e in range(n - 3, 0, -1))
            valid.append(f"{uid}\t{hist(0, n - 2)}\t{tokens[n - 2]}\n")
            test.append(f"{uid}\t{hist(0, n - 1)}\t{tokens[n - 1]}\n")
            if len(train) > 200_000 or uid == len(seqs) - 1:
                for split, rows in zip(SPLITS, (train, valid, test), strict=True):
                    files[split].write("".join(rows))
                    rows.clear()
    finally:
        for fh in files.values():
            fh.close()


def write(data: Synthetic, folder: Path, seed: int) -> None:
    """The atomic files of `data` in `folder` (which exists and is empty)."""
    stem = data.target.stem
    rng = np.random.default_rng([seed, 28])
    write_index(folder / f"{stem}.user2index",
                [f"SU{u:07d}" for u in range(len(data.sequences))])
    items = [f"SI{i:07d}" for i in range(data.n_items)]
    write_index(folder / f"{stem}.item2index", items)
    _write_inter(folder, stem, data.sequences)
    if data.target.text:
        with (folder / f"{stem}.text").open("w", encoding="utf-8", newline="\n") as fh:
            fh.write(header_line(TEXT_HEADER))
            fh.writelines(f"{tok}\t{text}\n"
                          for tok, text in zip(items, _texts(rng, data.n_items), strict=True))
    for suffix in data.target.features:
        rng.standard_normal((data.n_items, FEATURE_DIM), dtype=np.float32).tofile(
            folder / f"{stem}.{suffix}")


def run(like: str, scale: float, seed: int, out: Path, force: bool = False) -> dict:
    """Generate and write a dataset like `like` into `out`; its statistics (and the seconds
    it took)."""
    from solidcli._io import staged_dir

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SolidError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise SolidError(f"--out {out} exists and is not empty; pass --force to replace it")
    started = time.perf_counter()
    data = generate(like, scale, seed)
    with staged_dir(out) as tmp:
        write(data, tmp, seed)
    stats = data.stats()
    stats["seconds"] = round(time.perf_counter() - started, 2)
    return stats
