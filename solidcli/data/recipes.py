"""Recipes that turn the raw public files of each remote dataset into a folder of
UniSRec/RecBole atomic files, the format `solid download` reads (`solidcli.data.atomic`).

Sources, URLs and checksums come from the project's dataset reference
(docs/datasets.md):

* Amazon Review Data 2018 (Ni, Li, McAuley, EMNLP 2019): ratings-only CSV
  `categoryFilesSmall/<Cat>.csv` (`item,user,rating,timestamp`, no header) and metadata
  `metaFiles2/meta_<Cat>.json.gz` (JSON lines), on four hosts tried in order; rebuilt with the
  UniSRec recipe: `scientific-2018`, `instruments-2018`, `arts-2018`, `office-2018`.
* MISSRec (MM 2023) preprocessed sets with CLIP text (`.feat1CLS`) and image (`.feat3CLS`)
  features, one Google Drive archive: `instruments`, `arts`, `office` (`<Name>_mm_subset`) and
  `instruments-full`, `arts-full`, `office-full` (`<Name>_mm_full`). The archive's name and format
  are not published, so zip, tar and compressed tar are all accepted (told apart by content).
  It has no published checksum.
* Amazon 2014 ratings-only CSV (McAuley et al., SIGIR 2015; `user,item,rating,timestamp`):
  `cds`, `electronic`, ID only.
* DGRec Douban (Song et al., WSDM 2019) `Douban.tar.gz`, member
  `Douban/<kind>/douban_<kind>.tsv`: `douban-book`, `douban-music`, ID only. Every event is kept
  (rating -1, "no rating", included): the sequences are implicit feedback.

The interaction recipe, shared by all but MISSRec, is UniSRec's
(RUCAIBox/UniSRec `dataset/preprocessing/process_amazon.py`, datasets.md section 2):

1. rows form a set of (user, item, rating, time) tuples: exact duplicates collapse, repeats at
   other times stay; lines that do not parse are skipped and counted;
2. Amazon 2018 only: items missing from the metadata file are dropped;
3. iterative 5-core on users and items, to a fixed point;
4. each user's rows are sorted by (time, item token). UniSRec sorts by time only and leaves ties
   in Python set order, which is random per run; breaking ties by item token makes the build
   deterministic. Users are taken in token order (UniSRec: set order, random as well);
5. users and items get indices 0.. in order of first appearance along those sequences;
6. leave-one-out: train = s[:-2], valid = s[-2], test = s[-1];
7. atomic files as UniSRec writes them: n-3 train rows per user (newest target first), one valid
   and one test row, every history cut to its last 50 items;
8. Amazon 2018 only: `<Stem>.text` (title, category and brand through UniSRec's `clean_text`,
   kept items in metadata-file order) and `<Stem>.item` (category path and image URL, index
   order).

Downloads honour `SOLID_MIRROR` (see `solidcli.data.registry`).
"""

from __future__ import annotations

import contextlib
import html
import json
import math
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from array import array
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.client import HTTPException
from pathlib import Path, PurePosixPath
from typing import Any

from solidcli._io import console, staged_dir, task_bar, write_json
from solidcli.data.archives import corrupt, extract_members, lines, tar_member_lines
from solidcli.data.atomic import (
    INTER_HEADER,
    ITEM_HEADER,
    SPLITS,
    TEXT_HEADER,
    header_line,
    read_atomic,
    write_index,
)
from solidcli.data.datasets import DATASETS, Remote
from solidcli.data.fetch import USER_AGENT, by_hand, fetch_first
from solidcli.errors import SolidError
from solidcli.layout import SHARED_RAW, atomic_dir, raw_dir

K_CORE = 5
MAX_HISTORY = 50
MIRROR_ENV = "SOLID_MIRROR"
MANIFEST = "build.json"
TEXT_FIELDS = ("title", "category", "brand")


# ----------------------------------------------------------------------------- downloads

def mirrors() -> list[str]:
    """The base URLs in `SOLID_MIRROR` (space-separated), in the order to try them; each must
    be an http(s) URL with a host or a file: URL."""
    raw = os.environ.get(MIRROR_ENV, "")
    bases = raw.split()
    for base in bases:
        url = urllib.parse.urlsplit(base)
        if not ((url.scheme in ("http", "https") and url.netloc)
                or (url.scheme == "file" and url.path)):
            raise SolidError(f"{MIRROR_ENV}='{raw}': '{base}' is not a URL (expected "
                             "space-separated http://host/path, https://host/path or "
                             "file:///folder)")
    return bases


@dataclass(frozen=True)
class RemoteFile:
    """One raw file: its path under its host (also its path on a mirror and in the cache) and
    the official URLs that serve it, in the order to try them."""

    path: str
    urls: tuple[str, ...]
    sha256: str | None = None
    drive: bool = False  # on Google Drive: a large file first answers with a warning page

    def locations(self) -> list[str]:
        bases = mirrors()
        if bases:
            return [f"{base.rstrip('/')}/{self.path}" for base in bases]
        return list(self.urls)

    def download(self, dest: Path, quiet: bool) -> Path:
        urls = self.locations()
        if self.drive and not mirrors() and not dest.is_file():
            urls = [drive_download_url(url, dest) for url in urls]
        return fetch_first(urls, dest, self.sha256, quiet=quiet)


class _DrivePage(HTMLParser):
    """The download link on Google Drive's "can't scan this file for viruses" page: a form
    (`id="download-form"`, hidden inputs id/export/confirm/uuid) or, on older pages, a link
    carrying `confirm=`."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.link: str | None = None
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None and (
                a.get("id") == "download-form" or "download" in a.get("action", "")):
            self.action, self._in_form = a.get("action", ""), True
        elif tag == "input" and self._in_form and a.get("type") == "hidden" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "a" and self.link is None and "confirm=" in a.get("href", ""):
            self.link = a["href"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


def drive_download_url(url: str, dest: Path, timeout: float = 30.0) -> str:
    """The URL that serves the file itself: `url`, or the confirmed link of the warning page
    Google Drive shows for large files. Only a page is read; a file's body is left unread."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if response.headers.get_content_type() != "text/html":
                return url
            page_url = response.url
            page = response.read(1 << 21).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        exc.close()
        raise by_hand(url, dest, f"HTTP {exc.code}") from None
    except (urllib.error.URLError, HTTPException, OSError) as exc:
        raise by_hand(url, dest, getattr(exc, "reason", None) or exc) from None
    parser = _DrivePage()
    parser.feed(page)
    if parser.action is not None:
        target = urllib.parse.urljoin(page_url, parser.action)
        query = urllib.parse.urlencode(parser.fields)
        return f"{target}{'&' if '?' in target else '?'}{query}" if query else target
    if parser.link is not None:
        return urllib.parse.urljoin(page_url, parser.link)
    raise by_hand(url, dest, "Google Drive answered with a page that has no download link: "
                             "download quota exceeded or access denied")


# ----------------------------------------------------------------------------- readers

class Interactions:
    """(user, item, rating, time) rows, tokens interned to ints, in compact arrays (the raw
    files hold up to tens of millions of rows)."""

    def __init__(self) -> None:
        self.user_ids: dict[str, int] = {}
        self.item_ids: dict[str, int] = {}
        self.users = array("i")
        self.items = array("i")
        self.ratings = array("f")
        self.times = array("q")
        self.skipped = 0  # source lines that did not parse

    def add(self, user: str, item: str, rating: float, time: int) -> None:
        self.users.append(self.user_ids.setdefault(user, len(self.user_ids)))
        self.items.append(self.item_ids.setdefault(item, len(self.item_ids)))
        self.ratings.append(rating)
        self.times.append(time)

    def __len__(self) -> int:
        return len(self.users)


def _rating(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _timestamp(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        number = float(text)  # e.g. "1214582400.0"
        if not math.isfinite(number):
            raise ValueError(text) from None
        value = int(number)
    if not -(2**62) < value < 2**62:
        raise ValueError(text)
    return value


@dataclass(frozen=True)
class RatingsFormat:
    """How a ratings file lays out its rows: column order, separator, header, and the tar
    member that holds them when the download is an archive."""

    columns: tuple[str, str, str, str]  # the order of "user", "item", "rating", "time"
    sep: str = ","
    header: bool = False
    member: str | None = None

    def read(self, path: Path, quiet: bool) -> Interactions:
        u, i, r, t = (self.columns.index(c) for c in ("user", "item", "rating", "time"))
        rows = (tar_member_lines(path, self.member, quiet=quiet) if self.member
                else lines(path, quiet=quiet))
        name = f"{path}:{self.member}" if self.member else str(path)
        inter = Interactions()
        n = -1
        for n, raw in enumerate(rows):
            if n == 0 and self.header:
                continue
            try:
                text = raw.decode("utf-8").strip()
                if not text:
                    continue
                parts = text.split(self.sep)
                if len(parts) != 4 or not parts[u] or not parts[i]:
                    raise ValueError(text)
                inter.add(parts[u], parts[i], _rating(parts[r]), _timestamp(parts[t]))
            except ValueError:  # wrong field count, a bad number, or not UTF-8
                inter.skipped += 1
        _check_skipped(path, inter.skipped, n + 1,
                       f"lines that are not {self.sep.join(self.columns)}", name)
        if not inter:
            raise corrupt(path, f"has no usable rating lines ({self.sep.join(self.columns)})")
        return inter


AMAZON_2018 = RatingsFormat(("item", "user", "rating", "time"))
AMAZON_2014 = RatingsFormat(("user", "item", "rating", "time"))


def clean_text(value: object) -> str:
    """UniSRec's `clean_text`: join a list with spaces (a dict as its str), unescape HTML,
    delete `"`, newlines and carriage returns, strip trailing dots (never the first character)
    and add exactly one; 2000 characters or more become ''. A tab, which would break the
    tab-separated file, becomes a space (the released Scientific text has none)."""
    if isinstance(value, list):
        text = " ".join(map(str, value))
    else:
        text = "" if value is None else str(value)
    text = re.sub(r'["\n\r]', "", html.unescape(text)).replace("\t", " ")
    text = text[:1] + text[1:].rstrip(".") + "."
    return "" if len(text) >= 2000 else text


def _one_line(value: object) -> str:
    return " ".join(html.unescape(str(value)).split())


def _as_list(value: object) -> list:
    if isinstance(value, list):
        return value
    return [value] if value else []


@dataclass(frozen=True)
class ItemMeta:
    """What the atomic files keep of one Amazon 2018 metadata record."""

    text: str  # UniSRec item text: title, category and brand, each through clean_text
    category: str  # the category list joined with " > "
    image: str  # the first imageURLHighRes, else the first imageURL, else ""

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> ItemMeta:
        text = "".join(clean_text(rec[key]) + " " for key in TEXT_FIELDS if key in rec)
        category = " > ".join(filter(None, map(_one_line, _as_list(rec.get("category")))))
        images = [u for key in ("imageURLHighRes", "imageURL")
                  for u in _as_list(rec.get(key)) if isinstance(u, str) and u.strip()]
        return cls(text=text, category=category, image=_one_line(images[0]) if images else "")


SKIP_TOLERANCE = 0.01  # more unusable lines than this share (and than 10) means a damaged file


def _check_skipped(path: Path, skipped: int, total: int, what: str, name: str | None = None
                   ) -> None:
    """Log a few unusable lines (UniSRec skips them too); many mean the file is damaged."""
    if not skipped:
        return
    if skipped > max(10, SKIP_TOLERANCE * total):
        raise corrupt(path, f"has {skipped} of {total} {what}: it looks damaged")
    console.log(f"{name or path}: skipped {skipped} {what}")


def read_amazon_meta(path: Path, wanted: Collection[str], quiet: bool) -> dict[str, ItemMeta]:
    """The first metadata record of every ASIN in `wanted`, in file order. Lines that are not
    JSON objects with an `asin` are skipped; a file without one usable line is an error."""
    found: dict[str, ItemMeta] = {}
    usable = skipped = 0
    for line in lines(path, quiet=quiet):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            rec = None
        asin = rec.get("asin") if isinstance(rec, dict) else None
        if not isinstance(asin, str) or not asin:
            skipped += 1
            continue
        usable += 1
        if asin in wanted and asin not in found:
            found[asin] = ItemMeta.from_record(rec)
    _check_skipped(path, skipped, usable + skipped, "lines that are not JSON records with an "
                   "asin")
    if not usable:
        raise corrupt(path, "has no usable metadata lines (JSON records with an asin)")
    return found


# ----------------------------------------------------------------------------- core

@dataclass
class Sequences:
    """Per-user chronological item sequences, indexed as UniSRec indexes them."""

    user_tokens: list[str]  # user index -> token
    item_tokens: list[str]  # item index -> token
    items: list[Sequence[int]]  # user index -> item indices in time order
    stats: dict[str, int] = field(default_factory=dict)


def _ranked(ids, tokens: list[str], size: int):
    """`ids` ordered by token, and an array mapping every id to its rank there (-1 if absent)."""
    import numpy as np

    ordered = sorted(ids.tolist(), key=tokens.__getitem__)
    rank = np.full(size, -1, dtype=np.int64)
    rank[ordered] = np.arange(len(ordered))
    return ordered, rank


def build_sequences(inter: Interactions, keep_items: Collection[str] | None = None,
                    k: int = K_CORE) -> Sequences:
    """Steps 1 to 5 of the recipe: set of tuples, metadata filter, k-core, order, indices."""
    import numpy as np

    u = np.frombuffer(inter.users, dtype=np.intc)
    i = np.frombuffer(inter.items, dtype=np.intc)
    r = np.frombuffer(inter.ratings, dtype=np.float32)
    t = np.frombuffer(inter.times, dtype=np.longlong)
    order = np.lexsort((r, t, i, u))
    u, i, r, t = u[order], i[order], r[order], t[order]
    new = np.ones(len(u), dtype=bool)
    new[1:] = (u[1:] != u[:-1]) | (i[1:] != i[:-1]) | (t[1:] != t[:-1]) | (r[1:] != r[:-1])
    u, i, t = u[new], i[new], t[new]
    stats = {"rows_read": len(inter), "lines_skipped": inter.skipped, "distinct_rows": len(u)}
    if keep_items is not None:
        has = np.zeros(len(inter.item_ids), dtype=bool)
        has[[inter.item_ids[a] for a in keep_items if a in inter.item_ids]] = True
        known = has[i]
        u, i, t = u[known], i[known], t[known]
        stats["rows_with_metadata"] = len(u)
    rounds = 0
    while len(u):
        low = (np.bincount(u)[u] < k) | (np.bincount(i)[i] < k)
        if not low.any():
            break
        u, i, t = u[~low], i[~low], t[~low]
        rounds += 1
    stats["k_core_rounds"] = rounds
    user_tokens, item_tokens = list(inter.user_ids), list(inter.item_ids)
    users, user_rank = _ranked(np.unique(u), user_tokens, len(user_tokens))
    _, item_rank = _ranked(np.unique(i), item_tokens, len(item_tokens))
    order = np.lexsort((item_rank[i], t, user_rank[u]))
    u, i = user_rank[u][order], i[order]
    seen, first = np.unique(i, return_index=True)
    by_first = seen[np.argsort(first)]
    index = np.full(len(item_tokens), -1, dtype=np.int64)
    index[by_first] = np.arange(len(by_first))
    per_user = np.split(index[i], np.flatnonzero(np.diff(u)) + 1) if len(u) else []
    stats.update(users=len(users), items=len(by_first), interactions=len(u))
    return Sequences(user_tokens=[user_tokens[x] for x in users],
                     item_tokens=[item_tokens[x] for x in by_first.tolist()],
                     items=per_user, stats=stats)


def write_atomic(out: Path, stem: str, seqs: Sequences, *, quiet: bool = False) -> None:
    """Steps 6 and 7: `<stem>.{user2index,item2index}` and the leave-one-out
    `<stem>.{train,valid,test}.inter`, row for row as UniSRec writes them."""
    import numpy as np

    write_index(out / f"{stem}.user2index", seqs.user_tokens)
    write_index(out / f"{stem}.item2index", seqs.item_tokens)
    names = [str(n) for n in range(len(seqs.item_tokens))]
    with contextlib.ExitStack() as stack:
        train, valid, test = (
            stack.enter_context((out / f"{stem}.{s}.inter").open("w", encoding="utf-8",
                                                                 newline="\n"))
            for s in SPLITS)
        for fh in (train, valid, test):
            fh.write(header_line(INTER_HEADER))
        bar = stack.enter_context(task_bar(f"write {stem}", len(seqs.items), quiet=quiet))
        for uid, seq in enumerate(seqs.items):
            s = [names[x] for x in np.asarray(seq).tolist()]
            past = s[:-2]
            for end in range(len(past) - 1, 0, -1):
                hist = " ".join(past[max(0, end - MAX_HISTORY):end])
                train.write(f"{uid}\t{hist}\t{past[end]}\n")
            valid.write(f"{uid}\t{' '.join(past[-MAX_HISTORY:])}\t{s[-2]}\n")
            test.write(f"{uid}\t{' '.join(s[:-1][-MAX_HISTORY:])}\t{s[-1]}\n")
            if uid % 4096 == 0:
                bar.to(uid)


def write_item_files(out: Path, stem: str, seqs: Sequences, meta: Mapping[str, ItemMeta]) -> None:
    """Step 8: `<stem>.text` (metadata-file order) and `<stem>.item` (index order)."""
    kept = set(seqs.item_tokens)
    with (out / f"{stem}.text").open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(header_line(TEXT_HEADER))
        fh.writelines(f"{asin}\t{m.text}\n" for asin, m in meta.items() if asin in kept)
    with (out / f"{stem}.item").open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(header_line(ITEM_HEADER))
        fh.writelines(f"{tok}\t{meta[tok].category}\t{meta[tok].image}\n"
                      for tok in seqs.item_tokens)


# ----------------------------------------------------------------------------- recipes

@dataclass(frozen=True, kw_only=True)
class Recipe(ABC):
    """A remote dataset: its raw files and how they become `<raw_root>/<name>/atomic/`."""

    name: str
    stem: str
    citation: str
    files: tuple[RemoteFile, ...]
    shared: bool = False  # the files serve several datasets: cached in <raw_root>/shared/

    def folder(self, raw_root: Path) -> Path:
        return atomic_dir(self.name, raw_root)

    def cache(self, raw_root: Path) -> Path:
        return raw_dir(SHARED_RAW if self.shared else self.name, raw_root)

    def is_built(self, raw_root: Path) -> bool:
        """The atomic folder is there with every file its build manifest lists."""
        folder = self.folder(raw_root)
        try:
            files = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["files"]
            return bool(files) and all((folder / n).is_file() and (folder / n).stat().st_size
                                       == size for n, size in files.items())
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return False

    def materialize(self, raw_root: Path, *, quiet: bool = False) -> Path:
        """Download what is missing, build the atomic folder unless built; return it."""
        folder = self.folder(raw_root)
        if self.is_built(raw_root):
            return folder
        raw = [f.download(self.cache(raw_root) / f.path, quiet) for f in self.files]
        with staged_dir(folder) as tmp:
            stats = self.build(raw, tmp, quiet)
            files = {p.name: p.stat().st_size for p in sorted(tmp.iterdir())}
            write_json(tmp / MANIFEST, {
                "dataset": self.name, "stem": self.stem, "citation": self.citation,
                "sources": [{"path": f.path, "urls": list(f.urls), "sha256": f.sha256,
                             "bytes": p.stat().st_size} for f, p in zip(self.files, raw,
                                                                         strict=True)],
                "stats": stats, "files": files,
            })
        console.log(f"[bold]{self.name}[/]: {stats.get('users')} users, {stats.get('items')} "
                    f"items -> {folder}")
        return folder

    @abstractmethod
    def build(self, raw: list[Path], out: Path, quiet: bool) -> dict[str, Any]:
        """Write the atomic files made from the downloaded `raw` files into `out`."""


@dataclass(frozen=True, kw_only=True)
class InteractionRecipe(Recipe):
    """Ratings file (plus, for Amazon 2018, the metadata file) -> 5-core -> atomic files."""

    ratings: RatingsFormat

    def build(self, raw: list[Path], out: Path, quiet: bool) -> dict[str, Any]:
        inter = self.ratings.read(raw[0], quiet)
        meta = read_amazon_meta(raw[1], inter.item_ids, quiet) if len(raw) > 1 else None
        seqs = build_sequences(inter, keep_items=meta)
        if not seqs.items:
            kept = f", {seqs.stats['rows_with_metadata']} with metadata" if meta else ""
            raise SolidError(f"{raw[0]}: no interactions left after the {K_CORE}-core filter "
                             f"({seqs.stats['distinct_rows']} distinct rows{kept})")
        write_atomic(out, self.stem, seqs, quiet=quiet)
        if meta is not None:
            write_item_files(out, self.stem, seqs, meta)
        return seqs.stats


REQUIRED = ("train.inter", "valid.inter", "test.inter", "item2index", "user2index")


@dataclass(frozen=True, kw_only=True)
class MissrecRecipe(Recipe):
    """One `<Name>_mm_subset` or `<Name>_mm_full` folder of the MISSRec archive, copied as it
    is (features included) with its files renamed to the bare stem `<Name>.*`."""

    subfolder: str

    def _pick(self, member: str) -> str | None:
        parts = PurePosixPath(member).parts
        if len(parts) < 2 or parts[-2] != self.subfolder or "__MACOSX" in parts:
            return None
        for prefix in (f"{self.subfolder}.", f"{self.stem}."):
            if parts[-1].startswith(prefix) and len(parts[-1]) > len(prefix):
                return f"{self.stem}.{parts[-1][len(prefix):]}"
        return None

    def build(self, raw: list[Path], out: Path, quiet: bool) -> dict[str, Any]:
        archive = raw[0]
        with archive.open("rb") as fh:
            head = fh.read(256).lstrip().lower()
        if head.startswith((b"<!doctype html", b"<html")):
            raise corrupt(archive, "is a web page, not the archive (Google Drive refused the "
                                   "download: quota exceeded or access denied)")
        written = extract_members(archive, self._pick, out, quiet=quiet)
        missing = [f"{self.stem}.{s}" for s in REQUIRED if f"{self.stem}.{s}" not in written]
        if missing:
            raise SolidError(f"{archive}: no complete {self.subfolder}/ folder "
                             f"(missing {', '.join(missing)})")
        try:
            data = read_atomic(out, self.stem)
        except SolidError as exc:
            raise SolidError(f"{archive}: bad atomic files in {self.subfolder}/: "
                             f"{str(exc).replace(str(out), self.subfolder)}") from None
        return {"users": len(data.user_tokens), "items": len(data.item_tokens),
                "rows": {s: len(v) for s, v in data.splits.items()},
                "files": sorted(written)}


# ----------------------------------------------------------------------------- the registry

AMAZON_2018_HOSTS = (
    "https://mcauleylab.ucsd.edu/public_datasets/data/amazon_v2/",
    "https://datarepo.eng.ucsd.edu/mcauley_group/data/amazon_v2/",
    "https://jmcauley.ucsd.edu/data/amazon_v2/",
    "http://deepyeti.ucsd.edu/jianmo/amazon/",
)
AMAZON_2014_BASE = "http://snap.stanford.edu/data/amazon/productGraph/categoryFiles/"
DOUBAN_URL = ("https://www.dropbox.com/scl/fi/9zoykjl7km4wlrddscqrf/Douban.tar.gz"
              "?dl=1&e=2&rlkey=i6w593rb3m8p8u13znp9mq1t3")
DOUBAN_SHA256 = "8c2106750f457c8770d125718041f518ab088b6f8696c21c5e1764d85ff6a993"
MISSREC_DRIVE_ID = "1-k8PZDp7qjEbviQrmQHrbVYYsxaInBEm"
MISSREC_ARCHIVE = RemoteFile(
    path="MISSRec-datasets.archive",
    urls=(f"https://drive.google.com/uc?export=download&id={MISSREC_DRIVE_ID}",),
    drive=True,
)


def amazon_2018(name: str, stem: str, category: str, sha256: str) -> InteractionRecipe:
    ratings, meta = f"categoryFilesSmall/{category}.csv", f"metaFiles2/meta_{category}.json.gz"
    return InteractionRecipe(
        name=name, stem=stem, ratings=AMAZON_2018,
        citation=f"Amazon Review Data 2018 (Ni, Li, McAuley, EMNLP 2019) {category}, "
                 "ratings-only CSV + metadata, rebuilt with the UniSRec recipe "
                 "(5-core, leave-one-out, title/category/brand text)",
        files=(RemoteFile(ratings, tuple(h + ratings for h in AMAZON_2018_HOSTS), sha256),
               RemoteFile(meta, tuple(h + meta for h in AMAZON_2018_HOSTS))),
    )


def amazon_2014(name: str, stem: str, fname: str, sha256: str) -> InteractionRecipe:
    return InteractionRecipe(
        name=name, stem=stem, ratings=AMAZON_2014,
        citation=f"Amazon product data 2014 (McAuley et al., SIGIR 2015) {fname}, ID only, "
                 "5-core, leave-one-out",
        files=(RemoteFile(fname, (AMAZON_2014_BASE + fname,), sha256),),
    )


def douban(name: str, stem: str, kind: str) -> InteractionRecipe:
    return InteractionRecipe(
        name=name, stem=stem, shared=True,
        ratings=RatingsFormat(("user", "item", "rating", "time"), sep="\t", header=True,
                              member=f"Douban/{kind}/douban_{kind}.tsv"),
        citation=f"DGRec Douban {kind} (Song et al., WSDM 2019), every event, ID only, "
                 "5-core, leave-one-out",
        files=(RemoteFile("Douban.tar.gz", (DOUBAN_URL,), DOUBAN_SHA256),),
    )


def missrec(name: str, stem: str, variant: str) -> MissrecRecipe:
    return MissrecRecipe(
        name=name, stem=stem, subfolder=f"{stem}_mm_{variant}", shared=True,
        citation=f"MISSRec (MM 2023) {stem}_mm_{variant}, built from Amazon Review Data 2018, "
                 "CLIP ViT-B/32 text (.feat1CLS) and image (.feat3CLS) features",
        files=(MISSREC_ARCHIVE,),
    )


BUILDERS = {"amazon_2018": amazon_2018, "amazon_2014": amazon_2014, "douban": douban,
            "missrec": missrec}
# every remote dataset of the registry (`solidcli.data.datasets`), built by its recipe
RECIPES: dict[str, Recipe] = {
    name: BUILDERS[d.source.builder](name, d.source.stem, *d.source.args)
    for name, d in DATASETS.items() if isinstance(d.source, Remote)}
