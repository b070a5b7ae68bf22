"""`solid download` reads `.inter` files as arrays: the same bytes out, the same errors, and
memory that grows with the data, not with a Python object per id."""

import hashlib
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO
from test_cli import invoke

from solidcli.data.atomic import INTER_HEADER, _parse_inter, _read_inter_lines
from solidcli.errors import SolidError

# SHA-256 of the prepared files as the list-of-lists reader and pandas writer made them
SCIENTIFIC = {
    "scientific": {
        "candidates.parquet": "f07bbff92f8c4c942b5f9e862423f118d5551027d4d71cf4237508a5dda2958e",
        "items.parquet": "6e6c890c582543d8af2067a53f1d49e3abe29e8ec074314e55a7421303869ffb",
        "manifest.json": "d85c2eaf5e27893cd069d17df969d8d68833f0fb4485ba2d31f3ce133ec365b9",
        "sequences.parquet": "6fd4a8e7f2d805a7ab895bb4a67967c2592d6f42ec7a0f17068a78ccade817a3",
        "stats.json": "ab350b1c4e64bf59af776c1488ee69abf6676478a43d0d56bdaba65c9c6557fe",
        "users.parquet": "29d174b235b21a9c9bc4628a09088d6ed7a609d65123d87ac6a2e54cf1753cf0",
    },
    "scientific-full": {
        "candidates.parquet": "ba9cf07f46899680e9c0b9f396f95f709459be39900a36ae780b8a6b67a2824b",
        "items.parquet": "f0faf277b8bdb614b4e6975c14df9b964c43a8db9c975e33b298278d0390b717",
        "manifest.json": "892fd0888e04bf7f9c9e4b8c5e7bd741e32793a834133f49fb42900fdd7efd6e",
        "sequences.parquet": "4cc6f0f80cc3fe45d7fd217ce6708c9c805bf6bd46b82ebae5c8462bfa2104fc",
        "stats.json": "c811c995a14fb23004aa7795f8ada786f3be732593b5ee09395a98b1124fc161",
        "users.parquet": "4fc3d2414f3d0b937de484b3049facacc3f8cff998d00b9b797d155b3770cf05",
    },
}


@pytest.mark.parametrize("dataset", sorted(SCIENTIFIC))
def test_scientific_prepared_bytes_unchanged(dataset, tmp_path, monkeypatch):
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    assert invoke("download", "--dataset", dataset).exit_code == 0
    folder = tmp_path / "data" / "prepared" / dataset
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.iterdir()} == SCIENTIFIC[dataset]


def _slow(path, n_users, n_items):
    """The line-by-line reader's result as arrays, or its error message."""
    try:
        users, hists, targets = _read_inter_lines(path, n_users, n_items)
    except SolidError as exc:
        return str(exc)
    return users, hists, targets


CASES = {
    "canonical": "0\t0 1 2\t3\n1\t4\t0\n",
    "empty history": "0\t\t3\n1\t4 4\t0\n",
    "no final newline": "0\t0 1\t3\n1\t4\t0",
    "leading zeros": "00\t004 01\t03\n",
    "bom": "\ufeff",
    "crlf": "0\t0 1\t3\r\n1\t4\t0\r\n",
    "padded": " 0\t 0  1 \t3 \n",
    "empty line": "0\t0\t3\n\n1\t4\t0\n",
    "user out of range": "0\t0\t3\n5\t4\t0\n",
    "item out of range": "0\t0 9\t3\n",
    "target out of range": "1\t0\t5\n",
    "sign": "0\t+1\t3\n",
    "arabic digit": "0\t\u0663\t3\n",
    "too few fields": "0\t1 2\n",
    "too many fields": "0\t1\t2\t3\n",
    "three tabs": "0\t\t\t3\n",
    "form feed": "0\t1\x0c2\t3\n",
    "huge id": "0\t1\t99999999999999999999\n",
    "no rows": "",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_fast_reader_agrees_with_the_line_reader(name, tmp_path):
    """The vectorised reader gives the line reader's rows, or leaves the file to it (None)."""
    body = CASES[name]
    text = ("\ufeff" if name == "bom" else "") + "\t".join(INTER_HEADER) + "\n"
    text += "0\t1 2\t3\n" if name == "bom" else body
    path = tmp_path / "x.inter"
    path.write_bytes(text.encode())
    slow = _slow(path, 2, 5)
    fast = _parse_inter(path, 2, 5)
    if fast is None:
        assert name not in ("canonical", "empty history", "no final newline", "leading zeros",
                            "bom")
        return
    assert not isinstance(slow, str)
    users, hists, targets = slow
    assert fast.lists() == (users, hists, targets)
    assert fast.users.dtype == fast.items.dtype == fast.targets.dtype == np.int32


def test_fast_reader_spans_chunks(tmp_path, monkeypatch):
    """Lines cut across chunk borders, and a line longer than a chunk, parse whole."""
    from solidcli.data import atomic

    rng = np.random.default_rng(0)
    lines = [f"{rng.integers(0, 50)}\t{' '.join(map(str, rng.integers(0, 900, rng.integers(0, 40))))}"
             f"\t{rng.integers(0, 900)}" for _ in range(500)]
    path = tmp_path / "x.inter"
    path.write_text("\t".join(INTER_HEADER) + "\n" + "\n".join(lines) + "\n")
    monkeypatch.setattr(atomic, "_CHUNK", 64)
    fast = _parse_inter(path, 50, 900)
    assert fast is not None and fast.lists() == _slow(path, 50, 900)


CHILD = """
import resource, sys
from solidcli.cli import main
import solidcli.pipeline.download, solidcli.data.atomic, pandas, pyarrow.parquet
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sys.argv = ["solid", "download", "--dataset", sys.argv[1]]
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)
"""


def test_download_memory_grows_with_the_data(tmp_path):
    """A twentieth of Douban-Book (95k interactions, 13 MB of `.inter`) prepares within 200 MiB
    above the imports' footprint (about 125 MiB here; a Python list per history took 300)."""
    assert invoke("synth", "--like", "douban-book", "--scale", "0.05", "--seed", "0",
                  "--out", str(tmp_path / "d")).exit_code == 0
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(REPO / "params.yaml", project / "params.yaml")
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "d")], cwd=project,
                         capture_output=True, text=True, check=True)
    grown_kib = int(out.stdout.strip().splitlines()[-1])
    assert grown_kib < 200 * 1024, f"download grew by {grown_kib // 1024} MiB"
