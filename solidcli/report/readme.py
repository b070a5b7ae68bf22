"""The README's verdict block: each of the paper's claims, its verdict under the three
protocols and its effect against the paper's, rendered from claims.csv.

`solid claims --out-dir reports --readme README.md` (the claims stage of dvc.yaml) rewrites
the lines between the README's two markers, leaving the rest of the file as it is; a test
renders the block from the committed reports/claims.csv and compares it with the committed
README, so the README never shows a verdict the pipeline did not produce.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from pathlib import Path

from solidcli._io import write_text
from solidcli.errors import SolidError
from solidcli.report.verdicts import median

START = "<!-- verdicts:start -->"
END = "<!-- verdicts:end -->"
PROTOCOLS = (("sampled", "sampled metrics"), ("full", "full ranking"),
             ("authors", "authors' protocol"))


def _median(values: list[float]) -> str:
    value = median(values)  # the claims report's (NaN when there are none)
    return "n/a" if math.isnan(value) else f"{value:+.4f}"


def _families(rows: list[dict]) -> list[str]:
    """The paper's claims, in report order: the families with a claim-level verdict."""
    return list(dict.fromkeys(r["family"] for r in rows
                              if r["metrics"] == "sampled" and r["claim_verdict"]))


def block(csv_text: str, words: Mapping[str, str] | None = None) -> str:
    """The block's markdown (markers excluded) from claims.csv's text; `words`: a claim's
    wording where it differs from its first comparison's (the claims report's)."""
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    families = _families(rows)
    if not families:
        raise SolidError("claims.csv holds no claim verdicts; run `solid claims --out-dir` "
                         "on evaluated runs first")
    by = {(r["metrics"], r["family"]): [] for r in rows}
    for r in rows:
        by[(r["metrics"], r["family"])].append(r)
    sampled = [r for f in families for r in by[("sampled", f)] if r["diff"]]
    seeds = sorted({int(r["n_seeds"]) for r in sampled})
    users = max(int(r["n_users"]) for r in sampled)
    tally = {v: sum(1 for f in families if by[("sampled", f)][0]["claim_verdict"] == v)
             for v in ("supported", "contradicted", "inconclusive")}
    lines = [(f"**{tally['supported']} of {len(families)} claims supported, "
             f"{tally['contradicted']} contradicted, {tally['inconclusive']} inconclusive** "
             f"(sampled metrics; {'/'.join(map(str, seeds))} training seeds, {users:,} test "
             "users; Δ: median difference in the claimed direction over the claim's "
             "comparisons; for / against: comparisons significant each way)"), "",
             "| claim | paper Δ | our Δ | for / against / all | "
             + " | ".join(name for _, name in PROTOCOLS) + " |",
             "|:---|---:|---:|:---:|" + ":---|" * len(PROTOCOLS)]
    for family in families:
        fam = by[("sampled", family)]
        tested = [r for r in fam if r["diff"]]
        ours = [int(r["direction"]) * float(r["diff"]) for r in tested]
        paper = [int(r["direction"]) * float(r["paper_diff"]) for r in tested
                 if r["paper_diff"]]
        count = (f"{sum(r['verdict'] == 'supported' for r in fam)} / "
                 f"{sum(r['verdict'] == 'contradicted' for r in fam)} / {len(fam)}")
        verdicts = []
        for key, _ in PROTOCOLS:
            got = by.get((key, family))
            verdicts.append(f"**{got[0]['claim_verdict']}**" if got
                            and got[0]["claim_verdict"] != "not run" else "not run")
        lines.append(f"| {family}: {(words or {}).get(family, fam[0]['claim'])} | {_median(paper)} | "
                     f"{_median(ours)} | {count} | " + " | ".join(verdicts) + " |")
    return "\n".join(lines) + "\n"


def rewrite(text: str, new_block: str) -> str:
    """`text` with the lines between its markers replaced by `new_block`."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start or text.count(START) != 1 or text.count(END) != 1:
        raise SolidError(f"the README needs one '{START}' line before one '{END}' line")
    head = text[:start + len(START)]
    return f"{head}\n{new_block}{text[end:]}"


def current(text: str) -> str:
    """The block between the markers of `text` (markers excluded)."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise SolidError(f"the README has no '{START}' ... '{END}' block")
    return text[start + len(START):end].removeprefix("\n")


def update(readme: Path, claims_csv: Path, words: Mapping[str, str] | None = None) -> str:
    """Rewrite `readme`'s block from `claims_csv`: "rewritten", "unchanged" (same bytes,
    nothing written), or "no block" (no such file, or a file without the markers: a project
    of one's own need not have one). Malformed markers are an error."""
    if not readme.is_file():
        return "no block"
    text = readme.read_text(encoding="utf-8")
    if START not in text and END not in text:
        return "no block"
    new = rewrite(text, block(claims_csv.read_text(encoding="utf-8"), words))
    if new == text:
        return "unchanged"
    write_text(readme, new)
    return "rewritten"
