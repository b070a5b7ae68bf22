"""Is SOLID's machinery alive? Numbers that say whether the item branch and the codebook can
act as the paper describes them (docs: SOLID's mechanics), for every SOLID run's run.json and `solid inspect`.

The branch (paper Eq. 12, x = M_v(E_v(s_v)) before its bound T):
* `branch_inside_T`: the fraction of branch entries strictly inside (-T, T), where the bound
  is not saturated (the hard clip passes no gradient outside it);
* `branch_user_sd`: the standard deviation across users of each bounded entry, averaged over
  entries, in units of T (0: the same branch for every user);
* `branch_same_across_users`: the fraction of bounded entries equal for all users;
* `branch_to_trunk`: |bounded branch| / |trunk| per user (Frobenius norms over all generated
  tensors), averaged over users.
The codebook (Eq. 13), over the item table's rows (searched in chunks of rows,
`codebook.nearest_code`, so no items x codes table is built):
* `codes_used`: codes that are the nearest code of at least one item, of `codes`;
* `code_perplexity`: exp of the entropy of the items' code assignment (= codes_used when the
  items spread evenly over them);
* `codes_changed` (kept epoch only): the fraction of items whose nearest code differs from
  the one it had at initialisation.
All are measured on the first `SAMPLE` users of the valid split, in eval mode (no dropout).
"""

from __future__ import annotations

import numpy as np
import torch

from solidcli.models.generators import bound_params

SAMPLE = 512


def _flat(params) -> torch.Tensor:
    """Every generated tensor of every layer, (S, B, ...) each, side by side: (S, B, E)."""
    return torch.cat([t.reshape(*t.shape[:2], -1) for layer in params for t in layer], dim=2)


@torch.no_grad()
def diagnose(model, ev, device: torch.device) -> tuple[list[dict], np.ndarray | None]:
    """The diagnostics of every member of `model` on the histories of `ev` (an EvalSet), and
    each member's code of every item (S, N), or None without a codebook."""
    model.eval()
    idx = np.arange(min(SAMPLE, len(ev.lengths)))
    lengths = ev.lengths[idx]
    hist = torch.from_numpy(ev.hist[idx, :int(lengths.max())]).to(device)
    hist, lengths_t = model._per_member(hist, torch.from_numpy(lengths).to(device))
    out: list[dict] = [{} for _ in range(model.members)]
    if model.static is None:
        parts = model.dynamic_parts(hist, model.items(hist), lengths_t)
        if parts["branch"] is not None and parts["trunk"] is not None:
            t = model.spec.clip
            raw = _flat(parts["branch"])
            bounded = _flat(bound_params(parts["branch"], t, model.spec.bound))
            trunk = _flat(parts["trunk"])
            for m, row in enumerate(out):
                row["branch_inside_T"] = float((raw[m].abs() < t).double().mean())
                row["branch_user_sd"] = float(bounded[m].std(dim=0).mean() / t)
                row["branch_same_across_users"] = float(
                    (bounded[m] == bounded[m][:1]).all(dim=0).double().mean())
                row["branch_to_trunk"] = float(
                    (bounded[m].norm(dim=1) / trunk[m].norm(dim=1).clamp(min=1e-12)).mean())
    assign = None
    if model.codebook is not None:
        assign = model.codebook.nearest(model.items.weight[:, 1:]).cpu().numpy()
        n_codes = model.codebook.codes.shape[1]
        for m, row in enumerate(out):
            counts = np.bincount(assign[m], minlength=n_codes)
            p = counts[counts > 0] / counts.sum()
            row["codes"] = int(n_codes)
            row["codes_used"] = int((counts > 0).sum())
            row["code_perplexity"] = float(np.exp(-(p * np.log(p)).sum()))
    return out, assign


def kept(model_at_kept, ev, device, init_assign: np.ndarray | None) -> dict:
    """The diagnostics of a one-member model at its kept epoch, with `codes_changed` against
    its assignment at initialisation (N,)."""
    rows, assign = diagnose(model_at_kept, ev, device)
    row = rows[0]
    if assign is not None and init_assign is not None:
        row["codes_changed"] = float((assign[0] != init_assign).mean())
    return row


LABELS = {  # name -> (short label, format)
    "branch_inside_T": ("inside ±T", "{:.1%}"),
    "branch_user_sd": ("user sd (×T)", "{:.3f}"),
    "branch_same_across_users": ("same for all users", "{:.1%}"),
    "branch_to_trunk": ("|branch|/|trunk|", "{:.4f}"),
    "codes_used": ("codes used", "{}"),
    "codes": ("K", "{}"),
    "code_perplexity": ("perplexity", "{:.1f}"),
    "codes_changed": ("codes changed", "{:.1%}"),
}


def fmt(name: str, value) -> str:
    return "-" if value is None else LABELS[name][1].format(value)
