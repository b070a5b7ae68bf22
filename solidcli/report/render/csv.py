"""CSV: a paper `Table` and a study `Grid`.

A table's columns: the label columns, then `n_seeds` (the seeds a row's cells average; 0: not
run), then per metric `<m>` (mean) and `<m>_sd` (empty when undefined), the comparison's
columns (`<m>_paper`, `<m>_diff`; `<m>_authors`, `<m>_authors_sd`, `<m>_paper`; `<m>_ce`,
`<m>_ce_sd`, `<m>_ce_sig`), and with `stats` `<m>_delta`, `<m>_delta_low`, `<m>_delta_high`,
`<m>_p_seeds`, `<m>_p_users`, `<m>_sig` (+1 / -1 / 0). With one seed there are no `n_seeds` /
`_sd` columns: `<m>` is that seed's value.
"""

from __future__ import annotations

import csv
import io
import math

from solidcli.report.model import Grid, Row, Table, mean_of, sd_of
from solidcli.report.text import num

STATS_COLUMNS = ("delta", "delta_low", "delta_high", "p_seeds", "p_users", "sig")


def _stats_cells(t: Table, r: Row, m: str) -> list[str]:
    pair = r.pairs.get(m)
    if pair is None:
        return [""] * len(STATS_COLUMNS)

    def g(v: float) -> str:
        return "" if math.isnan(v) else f"{v:.6g}"

    return [num(pair.diff), num(None if math.isnan(pair.ci[0]) else pair.ci[0]),
            num(None if math.isnan(pair.ci[1]) else pair.ci[1]), g(pair.p_seeds),
            g(pair.p_users), str(t.sign(r, m))]


def _write(header: list, rows) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def table(t: Table, comparison, stats: bool = False) -> str:
    """`t` as CSV; with one seed (`Table.one_seed`) no `n_seeds` and `_sd` columns."""
    spread = not t.one_seed  # n_seeds and <m>_sd columns
    head = ([t.group.csv] if t.group else []) + [c.csv for c in t.columns]
    head += ["n_seeds"] if spread else []
    for m in t.metrics:
        head += [m] + ([f"{m}_sd"] if spread else [])
        head += [f"{m}_{c}" for c in comparison.csv_columns]
        head += [f"{m}_{c}" for c in STATS_COLUMNS] if stats else []
    rows = []
    for r in t.rows:
        cells = ([r.group] if t.group else []) + list(r.csv)
        cells += [r.ours.n if r.ours else 0] if spread else []
        for m in t.metrics:
            cells.append(num(mean_of(r.ours, m)))
            cells += [num(sd_of(r.ours, m))] if spread else []
            cells += comparison.csv(t, r, m)
            cells += _stats_cells(t, r, m) if stats else []
        rows.append(cells)
    return _write(head, rows)


def grid(g: Grid) -> str:
    """A study table's values (None and NaN empty)."""
    return _write(g.csv_header, (["" if v is None or (isinstance(v, float) and math.isnan(v))
                                  else v for v in r] for r in g.csv_rows))
