"""Dataset recipes end to end against a local mirror (`SOLID_MIRROR`) serving small files in the
real formats: Amazon 2018 ratings CSV + gzipped JSON-lines metadata, an Amazon 2014 CSV, a
DGRec-style Douban.tar.gz and a MISSRec-style zip, plus Google Drive's confirmation page."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import write_tiny_dataset
from local_http import FileServer, serving

from solidcli.data import registry
from solidcli.data.atomic import read_atomic
from solidcli.data.recipes import (
    RECIPES,
    Interactions,
    Sequences,
    build_sequences,
    clean_text,
    write_atomic,
)
from solidcli.errors import SolidError

CSV = "categoryFilesSmall/Arts_Crafts_and_Sewing.csv"
META = "metaFiles2/meta_Arts_Crafts_and_Sewing.json.gz"
ARCHIVE = "MISSRec-datasets.archive"
GORILLA = ("Gorilla Original Gorilla Glue, Waterproof Polyurethane Glue, 8 ounce Bottle, Brown. "
           "Industrial & Scientific Tapes, Adhesives & Sealants Urethane Adhesives. Gorilla. ")
SCIENTIFIC = Path(__file__).resolve().parent.parent / "solidcli/bundled"


# ----------------------------------------------------------------------------- mirror

Mirror = FileServer  # the files it serves, its requests, the connections it drops


@pytest.fixture
def mirror(monkeypatch, tmp_path):
    """A local mirror at $SOLID_MIRROR; yields its root URL. Work happens in tmp_path."""
    with serving() as base:
        monkeypatch.setenv("SOLID_MIRROR", f"{base}/m")
        monkeypatch.chdir(tmp_path)
        yield base


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def serve(monkeypatch, names: str | list[str], payloads: dict[str, bytes]) -> None:
    """Put `payloads` (mirror path -> bytes) on the mirror, and give the datasets' files that
    have a known checksum the checksum of what is served."""
    for path, body in payloads.items():
        Mirror.files[f"/m/{path}"] = body
    for name in [names] if isinstance(names, str) else names:
        recipe = RECIPES[name]
        files = tuple(replace(f, sha256=sha(payloads[f.path])) if f.sha256 else f
                      for f in recipe.files)
        monkeypatch.setitem(RECIPES, name, replace(recipe, files=files))


def fetched() -> list[str]:
    return [path for path, _ in Mirror.requests]


def nothing_built(raw: Path, name: str) -> bool:
    folder = raw / name
    return not (folder / "atomic").exists() and not list(folder.glob(".atomic.tmp-*"))


# ----------------------------------------------------------------------------- fixtures

def amazon_2018_csv() -> bytes:
    """Rows `item,user,rating,time`. After the metadata filter and the 5-core: users U1..U5
    (6 items each), ULONG (60) and UTIE (5); items B001..B006. BNOMETA has no metadata; BRARE
    has 2 raters; UDROP keeps 3 rows, so it goes in round 1 and takes BWEAK (5 raters, then 4)
    with it in round 2."""
    rows = []
    u1 = ["B004", "B002", "B006", "B001", "B005", "B003", "BWEAK", "BNOMETA"]
    rows += [f"{item},U1,5.0,{10 + n}" for n, item in enumerate(u1)]
    rows.append("B004,U1,5,10")  # the same tuple again: collapses
    for u in (2, 3, 4):
        items = [f"B00{k}" for k in range(1, 7)] + ["BWEAK", "BNOMETA"]
        rows += [f"{item},U{u},4.0,{10 * u + n}" for n, item in enumerate(items)]
    items = [f"B00{k}" for k in range(1, 7)] + ["BRARE", "BNOMETA"]
    rows += [f"{item},U5,3.0,{50 + n}" for n, item in enumerate(items)]
    rows += ["BWEAK,UDROP,1.0,60", "B001,UDROP,1.0,61", "B002,UDROP,1.0,62",
             "BNOMETA,UDROP,1.0,63"]
    rows += [f"B00{j % 6 + 1},ULONG,5.0,{1000 + j}" for j in range(60)]
    rows += ["B002,UTIE,2.0,100", "B003,UTIE,2.0,200", "B001,UTIE,2.0,200", "BRARE,UTIE,2.0,250",
             "B004,UTIE,2.0,300", "B005,UTIE,2.0,400"]
    rows += ["B001,U9,5.0", "B001,U9,5.0,1,extra", "B001,U9,five,1"]  # skipped and counted
    return ("\n".join(rows) + "\n").encode()


META_RECORDS = [
    {"asin": "B006", "title": "Say &quot;Hi&quot;\r\nnow..",
     "category": ["Arts, Crafts &amp; Sewing", "Painting"], "brand": "Brand\tX"},
    "this line is not JSON {",
    {"title": "a record without an asin"},
    {"asin": "B001", "title": "Gorilla Original Gorilla Glue, Waterproof Polyurethane Glue, "
                              "8 ounce Bottle, Brown",
     "category": ["Industrial &amp; Scientific", "Tapes, Adhesives &amp; Sealants",
                  "Urethane Adhesives"], "brand": "Gorilla", "description": ["not used"],
     "imageURLHighRes": ["http://hi/1a.jpg", "http://hi/1b.jpg"], "imageURL": ["http://lo/1.jpg"]},
    {"asin": "B002", "title": "Plain", "imageURLHighRes": [], "imageURL": ["http://lo/2.jpg"]},
    {"asin": "B003", "title": "Trailing dots...", "category": []},
    {"asin": "B001", "title": "a second record for B001: ignored", "brand": "Other"},
    {"asin": "B004", "title": "x" * 2000, "brand": "Acme"},
    {"asin": "B005", "title": "Five", "brand": ""},
    {"asin": "BWEAK", "title": "Weak"},
    {"asin": "BRARE", "title": "Rare"},
    {"asin": "BOTHER", "title": "Not rated"},
]


def gz_lines(records: list) -> bytes:
    text = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)
    return gzip.compress(text.encode(), mtime=0)


def amazon_2018_payloads() -> dict[str, bytes]:
    return {CSV: amazon_2018_csv(), META: gz_lines(META_RECORDS)}


def tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def douban_tsv(prefix: str) -> bytes:
    """5 users x 5 items, ratings -1 (no rating) included, one float-formatted timestamp; a
    sixth user with one event is dropped by the 5-core."""
    rows = ["UserId\tItemId\tRating\tTimestamp"]
    for u in range(5):
        for i in range(5):
            rating = -1 if (u + i) % 3 == 0 else 4
            stamp = f"{1214582400 + 10 * u + i}" + (".0" if u == i else "")
            rows.append(f"{prefix}U{u}\t{prefix}I{i}\t{rating}\t{stamp}")
    rows.append(f"{prefix}U9\t{prefix}I0\t5\t1214582400")
    return ("\n".join(rows) + "\n").encode()


def douban_archive(music: bool = True) -> bytes:
    members = {"Douban/socialnet/socialnet.tsv": b"Follower\tFollowee\n1\t2\n",
               "Douban/book/douban_book.tsv": douban_tsv("b")}
    if music:
        members["Douban/music/douban_music.tsv"] = douban_tsv("m")
    return tar_gz(members)


def missrec_zip(tmp: Path) -> tuple[bytes, Path]:
    """A MISSRec-like zip: Arts_mm_subset/ with `<folder>.*` names, Arts_mm_full/ with bare
    `Arts.*` names, and macOS junk. Returns the bytes and the folder of the original files."""
    tiny = write_tiny_dataset(tmp / "tiny")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(tiny.iterdir()):
            suffix = f.name.removeprefix("Tiny.")
            zf.writestr(f"datasets/downstream/Arts_mm_subset/Arts_mm_subset.{suffix}",
                        f.read_bytes())
            zf.writestr(f"datasets/downstream/Arts_mm_full/Arts.{suffix}", f.read_bytes())
            zf.writestr(f"__MACOSX/datasets/downstream/Arts_mm_subset/._Arts_mm_subset.{suffix}",
                        b"junk")
    return buf.getvalue(), tiny


# ----------------------------------------------------------------------------- recipes

def test_amazon_2018_unisrec_recipe(mirror, monkeypatch, tmp_path, capsys):
    serve(monkeypatch, "arts-2018", amazon_2018_payloads())
    raw = tmp_path / "raw"
    source = registry.materialize("arts-2018", raw, quiet=True)
    folder = raw / "arts-2018" / "atomic"
    assert source.folder == folder and source.stem == "Arts"
    assert (raw / "arts-2018" / CSV).is_file() and (raw / "arts-2018" / META).is_file()

    data = read_atomic(folder, "Arts")
    assert data.user_tokens == ["U1", "U2", "U3", "U4", "U5", "ULONG", "UTIE"]
    # first appearance along U1's sequence, then nothing new
    assert data.item_tokens == ["B004", "B002", "B006", "B001", "B005", "B003"]
    index = {tok: n for n, tok in enumerate(data.item_tokens)}
    rows = {s: len(v.users) for s, v in data.splits.items()}
    assert rows == {"train": 5 * 3 + 57 + 2, "valid": 7, "test": 7}  # n-3 train rows per user
    stats = json.loads((folder / "build.json").read_text())["stats"]
    assert stats["interactions"] == 5 * 6 + 60 + 5 and stats["k_core_rounds"] == 2
    assert stats["lines_skipped"] == 3
    assert stats["distinct_rows"] == stats["rows_read"] - 1
    assert "skipped 3 lines" in " ".join(capsys.readouterr().err.split())

    lines = (folder / "Arts.train.inter").read_text().splitlines()
    assert lines[:4] == ["user_id:token\titem_id_list:token_seq\titem_id:token",
                         "0\t0 1 2\t3", "0\t0 1\t2", "0\t0\t1"]  # newest target first
    assert (folder / "Arts.valid.inter").read_text().splitlines()[1] == "0\t0 1 2 3\t4"
    assert (folder / "Arts.test.inter").read_text().splitlines()[1] == "0\t0 1 2 3 4\t5"
    # ties at the same second are ordered by item token: B001 before B003
    tie = [index[t] for t in ("B002", "B001", "B003", "B004", "B005")]
    users, hists, targets = data.splits["test"].lists()
    assert [i - 1 for i in hists[6]] + [targets[6] - 1] == tie
    # the long user: every history keeps its last 50 items
    long_seq = [index[f"B00{j % 6 + 1}"] for j in range(60)]
    assert users[5] == 6 and [i - 1 for i in hists[5]] == long_seq[9:59]
    assert targets[5] - 1 == long_seq[59]
    assert [i - 1 for i in data.splits["valid"].lists()[1][5]] == long_seq[8:58]
    train_u, train_h, _ = data.splits["train"].lists()
    assert max(len(h) for h, u in zip(train_h, train_u, strict=True) if u == 6) == 50

    text = (folder / "Arts.text").read_text().splitlines()
    assert text == ["item_id:token\ttext:token_seq",
                    "B006\tSay Hinow. Arts, Crafts & Sewing Painting. Brand X. ",
                    f"B001\t{GORILLA}", "B002\tPlain. ", "B003\tTrailing dots. . ",
                    "B004\t Acme. ", "B005\tFive. . "]
    assert (folder / "Arts.item").read_text().splitlines() == [
        "item_id:token\tcategory:token\timage:token",
        "B004\t\t", "B002\t\thttp://lo/2.jpg", "B006\tArts, Crafts & Sewing > Painting\t",
        ("B001\tIndustrial & Scientific > Tapes, Adhesives & Sealants > Urethane Adhesives"
         "\thttp://hi/1a.jpg"),
        "B005\t\t", "B003\t\t"]
    assert data.categories[3].startswith("Industrial & Scientific > ")
    assert data.images[3] == "http://hi/1a.jpg"

    # idempotent: built and complete, so no request at all
    before = len(Mirror.requests)
    assert registry.materialize("arts-2018", raw, quiet=True) == source
    assert len(Mirror.requests) == before


def test_resolve_source_needs_a_built_dataset(mirror, monkeypatch):
    serve(monkeypatch, "arts-2018", amazon_2018_payloads())
    with pytest.raises(SolidError, match=r"run `solid download --dataset arts-2018` first"):
        registry.resolve_source("arts-2018", None)
    assert fetched() == []  # no network in resolve_source
    built = registry.materialize("arts-2018", quiet=True)  # default root: data/raw
    assert registry.resolve_source("arts-2018", None) == built
    assert built.folder == Path("data/raw/arts-2018/atomic")
    full = registry.resolve_source("scientific-full", None)
    registry.verify_checksums(full)
    assert len(read_atomic(full.folder, full.stem).user_tokens) == 8442
    with pytest.raises(SolidError, match=r"unknown dataset 'nope' \(known: arts, arts-2018, "):
        registry.materialize("nope")
    assert {"douban-music", "cds", "office-full", "scientific"} <= set(registry.known_datasets())


def test_amazon_2014_csv_is_user_first(mirror, monkeypatch, tmp_path):
    rows = [f"V{u},C{i},5.0,{100 * u + i}" for u in range(1, 6) for i in range(1, 6)]
    rows += ["V6,C1,1.0,7"]
    serve(monkeypatch, "cds", {"ratings_CDs_and_Vinyl.csv": "\n".join(rows).encode()})
    source = registry.materialize("cds", tmp_path / "raw", quiet=True)
    data = read_atomic(source.folder, "CDs")
    assert data.user_tokens == ["V1", "V2", "V3", "V4", "V5"]
    assert data.item_tokens == ["C1", "C2", "C3", "C4", "C5"] and data.texts is None
    assert not (source.folder / "CDs.item").exists()
    assert data.splits["test"].lists()[1][0] == [1, 2, 3, 4]


def test_douban_reads_one_member_of_the_shared_archive(mirror, monkeypatch, tmp_path):
    serve(monkeypatch, ["douban-music", "douban-book"], {"Douban.tar.gz": douban_archive()})
    raw = tmp_path / "raw"
    music = registry.materialize("douban-music", raw, quiet=True)
    book = registry.materialize("douban-book", raw, quiet=True)
    assert fetched().count("/m/Douban.tar.gz") == 1  # one shared download
    assert (raw / "shared" / "Douban.tar.gz").is_file()
    assert not (raw / "shared" / "Douban").exists()  # nothing unpacked
    data = read_atomic(music.folder, "DoubanMusic")
    assert data.user_tokens == [f"mU{u}" for u in range(5)]
    assert len(data.item_tokens) == 5
    stats = json.loads((music.folder / "build.json").read_text())["stats"]
    assert stats["interactions"] == 25  # rating -1 events are kept
    assert read_atomic(book.folder, "DoubanBook").user_tokens[0] == "bU0"


def test_missrec_archive_folders_and_spellings(mirror, monkeypatch, tmp_path):
    body, tiny = missrec_zip(tmp_path)
    serve(monkeypatch, ["arts", "arts-full"], {ARCHIVE: body})
    raw = tmp_path / "raw"
    subset = registry.materialize("arts", raw, quiet=True)
    full = registry.materialize("arts-full", raw, quiet=True)
    assert fetched().count(f"/m/{ARCHIVE}") == 1
    for source in (subset, full):
        assert source.stem == "Arts"
        for suffix in ("train.inter", "text", "feat1CLS", "feat3CLS", "item2index"):
            assert (source.folder / f"Arts.{suffix}").read_bytes() == \
                (tiny / f"Tiny.{suffix}").read_bytes()
        assert not list(source.folder.glob("._*"))
        assert len(read_atomic(source.folder, "Arts").item_tokens) == 20


def test_drive_confirmation_page_is_followed(mirror, monkeypatch, tmp_path):
    monkeypatch.delenv("SOLID_MIRROR")
    body, _ = missrec_zip(tmp_path)
    drive = replace(RECIPES["arts"].files[0], urls=(f"{mirror}/drive/uc?export=download&id=X",))
    monkeypatch.setitem(RECIPES, "arts", replace(RECIPES["arts"], files=(drive,)))
    Mirror.pages.add("/drive/uc")
    Mirror.files["/drive/uc"] = (
        f'<html><body><p>Google Drive can\'t scan this file for viruses.</p>'
        f'<form id="download-form" action="{mirror}/drive/download" method="get">'
        f'<input type="submit" value="Download anyway"/>'
        f'<input type="hidden" name="id" value="X"><input type="hidden" name="export" '
        f'value="download"><input type="hidden" name="confirm" value="t">'
        f'<input type="hidden" name="uuid" value="u-1"></form></body></html>').encode()
    Mirror.files["/drive/download"] = body
    Mirror.needs_query["/drive/download"] = "confirm=t"  # no confirmation, no file
    source = registry.materialize("arts", tmp_path / "raw", quiet=True)
    assert (source.folder / "Arts.feat3CLS").is_file()
    assert "/drive/download?id=X&export=download&confirm=t&uuid=u-1" in fetched()

    Mirror.files["/drive/uc"] = b"<html><body>Too many users have viewed this file</body></html>"
    with pytest.raises(SolidError, match=r"no download link.*place it at .*other/shared/"
                                         r"MISSRec-datasets\.archive"):
        registry.materialize("arts", tmp_path / "other", quiet=True)


# ----------------------------------------------------------------------------- downloads

def test_locations_four_amazon_hosts_or_the_mirror(monkeypatch):
    monkeypatch.delenv("SOLID_MIRROR", raising=False)
    meta = RECIPES["office-2018"].files[1]
    assert [u.split("/")[2] for u in meta.locations()] == [
        "mcauleylab.ucsd.edu", "datarepo.eng.ucsd.edu", "jmcauley.ucsd.edu", "deepyeti.ucsd.edu"]
    assert all(u.endswith("/metaFiles2/meta_Office_Products.json.gz") for u in meta.locations())
    monkeypatch.setenv("SOLID_MIRROR", "http://a/x/ http://b")
    assert meta.locations() == ["http://a/x/metaFiles2/meta_Office_Products.json.gz",
                                "http://b/metaFiles2/meta_Office_Products.json.gz"]
    assert RECIPES["electronic"].files[0].locations() == ["http://a/x/ratings_Electronics.csv",
                                                          "http://b/ratings_Electronics.csv"]


def test_dropped_connection_resumes(mirror, monkeypatch, tmp_path):
    serve(monkeypatch, "arts-2018", amazon_2018_payloads())
    Mirror.drops[f"/m/{CSV}"] = 1
    registry.materialize("arts-2018", tmp_path / "raw", quiet=True)
    ranges = [r for path, r in Mirror.requests if path == f"/m/{CSV}"]
    assert ranges[0] is None and ranges[1].startswith("bytes=") and ranges[1] != "bytes=0-"


def test_wrong_checksum_caches_nothing(mirror, monkeypatch, tmp_path):
    payloads = amazon_2018_payloads()
    serve(monkeypatch, "arts-2018", payloads)
    Mirror.files[f"/m/{CSV}"] = payloads[CSV] + b"B001,U1,5.0,99\n"
    raw = tmp_path / "raw"
    with pytest.raises(SolidError, match=r"checksum mismatch for .*Arts_Crafts_and_Sewing\.csv"):
        registry.materialize("arts-2018", raw, quiet=True)
    assert not list((raw / "arts-2018").rglob("*.csv*")) and nothing_built(raw, "arts-2018")


def test_404_on_the_first_mirror_falls_to_the_second(mirror, monkeypatch, tmp_path):
    serve(monkeypatch, "arts-2018", amazon_2018_payloads())
    monkeypatch.setenv("SOLID_MIRROR", f"{mirror}/gone {mirror}/m")
    registry.materialize("arts-2018", tmp_path / "raw", quiet=True)
    assert fetched()[:2] == [f"/gone/{CSV}", f"/m/{CSV}"]


def test_offline_error_names_the_url_then_files_placed_by_hand_work(mirror, monkeypatch,
                                                                    tmp_path):
    payloads = amazon_2018_payloads()
    serve(monkeypatch, "arts-2018", payloads)
    monkeypatch.setenv("SOLID_MIRROR", "http://127.0.0.1:9 http://127.0.0.1:9/b")
    raw = tmp_path / "raw"
    with pytest.raises(SolidError) as err:
        registry.materialize("arts-2018", raw, quiet=True)
    message = str(err.value)
    assert "\n" not in message and f"cannot download http://127.0.0.1:9/{CSV}" in message
    assert f"place it at {raw / 'arts-2018' / CSV}" in message and "1 other mirrors" in message
    for path, body in payloads.items():
        (raw / "arts-2018" / path).parent.mkdir(parents=True, exist_ok=True)
        (raw / "arts-2018" / path).write_bytes(body)
    assert registry.materialize("arts-2018", raw, quiet=True).stem == "Arts"


# ----------------------------------------------------------------------------- bad input

def test_corrupt_archive_is_deleted_and_a_rerun_works(mirror, monkeypatch, tmp_path):
    serve(monkeypatch, "arts", {ARCHIVE: b"PK\x03\x04 but not really a zip, nor a tar"})
    raw = tmp_path / "raw"
    with pytest.raises(SolidError, match=r"MISSRec-datasets\.archive is not a zip or tar "
                                         r"archive; deleted it"):
        registry.materialize("arts", raw, quiet=True)
    assert not (raw / "shared" / ARCHIVE).exists() and nothing_built(raw, "arts")
    Mirror.files[f"/m/{ARCHIVE}"] = b"<!DOCTYPE html><html>quota exceeded</html>"
    with pytest.raises(SolidError, match="is a web page, not the archive"):
        registry.materialize("arts", raw, quiet=True)
    Mirror.files[f"/m/{ARCHIVE}"] = missrec_zip(tmp_path)[0][:-100]  # truncated zip
    with pytest.raises(SolidError, match="deleted it"):
        registry.materialize("arts", raw, quiet=True)
    Mirror.files[f"/m/{ARCHIVE}"] = missrec_zip(tmp_path)[0]
    assert registry.materialize("arts", raw, quiet=True).folder.is_dir()


def test_missing_folder_in_the_archive(mirror, monkeypatch, tmp_path):
    serve(monkeypatch, "office", {ARCHIVE: missrec_zip(tmp_path)[0]})
    with pytest.raises(SolidError, match=r"no complete Office_mm_subset/ folder \(missing "
                                         r"Office\.train\.inter"):
        registry.materialize("office", tmp_path / "raw", quiet=True)
    assert nothing_built(tmp_path / "raw", "office")


def test_tar_member_missing(mirror, monkeypatch, tmp_path):
    serve(monkeypatch, "douban-music", {"Douban.tar.gz": douban_archive(music=False)})
    raw = tmp_path / "raw"
    with pytest.raises(SolidError, match=r"Douban\.tar\.gz has no member "
                                         r"Douban/music/douban_music\.tsv; deleted it"):
        registry.materialize("douban-music", raw, quiet=True)
    assert not (raw / "shared" / "Douban.tar.gz").exists() and nothing_built(raw, "douban-music")
    serve(monkeypatch, "douban-music", {"Douban.tar.gz": douban_archive()})
    assert registry.materialize("douban-music", raw, quiet=True).folder.is_dir()


def test_truncated_archive_stream(mirror, monkeypatch, tmp_path):
    serve(monkeypatch, "douban-music", {"Douban.tar.gz": douban_archive()[:300]})
    with pytest.raises(SolidError, match=r"Douban\.tar\.gz is (truncated or corrupt|not a zip)"):
        registry.materialize("douban-music", tmp_path / "raw", quiet=True)
    assert not (tmp_path / "raw" / "shared" / "Douban.tar.gz").exists()


def test_truncated_gzip_is_deleted_and_a_rerun_works(mirror, monkeypatch, tmp_path):
    payloads = amazon_2018_payloads()
    serve(monkeypatch, "arts-2018", {**payloads, META: payloads[META][:-40]})
    raw = tmp_path / "raw"
    with pytest.raises(SolidError, match=r"meta_Arts_Crafts_and_Sewing\.json\.gz is truncated "
                                         r"or corrupt .*deleted it"):
        registry.materialize("arts-2018", raw, quiet=True)
    assert not (raw / "arts-2018" / META).exists() and nothing_built(raw, "arts-2018")
    assert (raw / "arts-2018" / CSV).is_file()  # the good file stays cached
    Mirror.files[f"/m/{META}"] = payloads[META]
    assert registry.materialize("arts-2018", raw, quiet=True).folder.is_dir()


def test_metadata_without_one_usable_line(mirror, monkeypatch, tmp_path):
    meta = gz_lines(["not json", {"title": "no asin"}, [1, 2]])
    serve(monkeypatch, "arts-2018", {CSV: amazon_2018_csv(), META: meta})
    raw = tmp_path / "raw"
    with pytest.raises(SolidError, match=r"json\.gz has no usable metadata lines"):
        registry.materialize("arts-2018", raw, quiet=True)
    assert not (raw / "arts-2018" / META).exists() and nothing_built(raw, "arts-2018")


def test_no_interactions_left_after_the_5_core(mirror, monkeypatch, tmp_path):
    rows = "".join(f"C{i},V{u},5.0,{u + i}\n" for u in range(4) for i in range(4))
    serve(monkeypatch, "cds", {"ratings_CDs_and_Vinyl.csv": rows.encode()})
    with pytest.raises(SolidError, match=r"ratings_CDs_and_Vinyl\.csv: no interactions left "
                                         r"after the 5-core filter"):
        registry.materialize("cds", tmp_path / "raw", quiet=True)
    assert nothing_built(tmp_path / "raw", "cds")


# ----------------------------------------------------------------------------- the core

def test_clean_text_as_unisrec():
    assert clean_text(["Industrial &amp; Scientific", "Urethane Adhesives"]) == \
        "Industrial & Scientific Urethane Adhesives."
    assert clean_text('a "quoted"\ntitle...') == "a quotedtitle."
    assert clean_text("") == "." and clean_text("...") == ".." and clean_text("x" * 1999) == ""
    assert clean_text({"k": 1}) == "{'k': 1}."


def test_core_reproduces_the_released_scientific_files(tmp_path):
    """The writer rewrites Scientific full byte for byte from its own sequences, and 5-core of
    full restricted to the subset's items gives the subset's counts (datasets.md section 3)."""
    full = read_atomic(SCIENTIFIC / "scientific-full", "Scientific")
    rows: dict[int, list] = {}  # user -> (history, target), oldest first
    for split in ("train", "valid", "test"):
        users, hists, targets = full.splits[split].lists()
        step = -1 if split == "train" else 1  # train rows come newest target first
        for u, h, t in list(zip(users, hists, targets, strict=True))[::step]:
            rows.setdefault(u - 1, []).append((h, t))
    seqs = [[i - 1 for i in rows[u][0][0]] + [t - 1 for _, t in rows[u]]
            for u in range(len(full.user_tokens))]
    assert sum(map(len, seqs)) == 59427 and max(map(len, seqs)) > 50
    write_atomic(tmp_path, "Scientific", Sequences(full.user_tokens, full.item_tokens, seqs),
                 quiet=True)
    for suffix in ("train.inter", "valid.inter", "test.inter", "item2index", "user2index"):
        assert (tmp_path / f"Scientific.{suffix}").read_bytes() == \
            (SCIENTIFIC / "scientific-full" / f"Scientific.{suffix}").read_bytes()

    subset = set(read_atomic(SCIENTIFIC / "scientific", "Scientific").item_tokens)
    inter = Interactions()
    for user, seq in zip(full.user_tokens, seqs, strict=True):
        for step, item in enumerate(seq):
            inter.add(user, full.item_tokens[item], 5.0, step)
    built = build_sequences(inter, keep_items=subset)
    assert built.stats["users"] == 2928 and built.stats["items"] == 1585
    assert built.stats["interactions"] == 19712


# ----------------------------------------------------------------------------- through the CLI

def test_cli_corrupt_download_is_one_line_and_a_rerun_works(mirror, monkeypatch, tmp_path):
    import shutil

    from conftest import REPO
    from test_cli import assert_one_line_error, invoke

    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    negatives = "data.douban-book.eval_negatives=3"
    rows = "UserId\tItemId\tRating\tTimestamp\n" + "".join(
        f"u{u}\ti{(u + k) % 10}\t4\t{1000 * u + k}\n" for u in range(10) for k in range(6))
    archive = tar_gz({"Douban/book/douban_book.tsv": rows.encode()})
    serve(monkeypatch, "douban-book", {"Douban.tar.gz": archive[:200]})
    assert_one_line_error(invoke("download", "--dataset", "douban-book", "--set", negatives),
                          "Douban.tar.gz is")
    assert not (tmp_path / "data/prepared").exists()
    serve(monkeypatch, "douban-book", {"Douban.tar.gz": archive})
    result = invoke("download", "--dataset", "douban-book", "--set", negatives)
    assert result.exit_code == 0, result.output
    stats = json.loads((tmp_path / "data/prepared/douban-book/stats.json").read_text())
    assert (stats["users"], stats["items"], stats["with_text"]) == (10, 10, 0)
    result = invoke("embed", "--dataset", "douban-book")  # ID-only: no text or image
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "data/features/douban-book/meta.json").read_text())
    assert meta["modalities"] == {}


def test_many_unusable_lines_mean_a_damaged_file(mirror, monkeypatch, tmp_path):
    records = [*META_RECORDS, *({"title": f"no asin {k}"} for k in range(20))]
    serve(monkeypatch, "arts-2018", {CSV: amazon_2018_csv(), META: gz_lines(records)})
    raw = tmp_path / "raw"
    with pytest.raises(SolidError, match=r"has 22 of 32 lines that are not JSON records with an "
                                         r"asin: it looks damaged; deleted it"):
        registry.materialize("arts-2018", raw, quiet=True)
    assert nothing_built(raw, "arts-2018")
    Mirror.files[f"/m/{META}"] = gz_lines(META_RECORDS)
    assert registry.materialize("arts-2018", raw, quiet=True).folder.is_dir()
