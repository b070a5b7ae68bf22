"""Training and scoring loops shared by every train-* stage and by `evaluate`, for seed groups.

A group is S models of one spec, one per training seed, stacked on the member axis of
`models.ensemble` and trained in one loop (a solo run is S = 1: one code path). Member s sees
exactly what its solo run sees: weights initialised under its seed, negatives and the order of
users within a batch drawn from `default_rng([seed, epoch])`, dropout from its own stream.
The batches' lengths and order come from the data seed and the epoch, the same for every
member, so all members step through batches of one shape (no padding between members).

Training (paper Sec. 4.1): Adam, binary cross-entropy on 1 positive + `negatives` sampled
negatives per training pair, negatives redrawn every epoch (`train.loss: bce`; `sampled-ce` is
softmax cross-entropy over the positive and `sampled_negatives` negatives, `ce` over every
item with no negatives drawn: `solidcli.losses`; `train.loss_by_backbone` sets it per
backbone), plus lambda times the model's auxiliary loss (SCL's codebook MSE, Eq. 13); with
`solid.dead_codes: reinit` unused codes restart after every epoch (`models.codebook`). The
group's loss is the sum of the members' losses, so each member's gradient is its own.

A training row is a history prefix and its next item. `train.encoding: prefix` (the paper's,
the default) encodes every row on its own, so an epoch reads the sum over users of
n_u x min(n_u, max_len) positions; `sequence` encodes each user's sequence once, in windows
of max_len (`data.batching.Windows`), and reads each row's state at its position. For a
backbone whose state at a position is its prefix's (`per_position`: SASRec with causal
attention, GRU4Rec; the DSR's condition GRU likewise) that gives the same logits for every
row whose history fits in max_len. The rows, their negatives and the rows per step stay the
same; a batch holds whole users, and a history longer than max_len reads max_len / 2 to
max_len items. BERT4Rec and DIN always train on prefixes (`FitResult.encoding` says which
ran).

After every epoch all members are scored on the valid candidates in one pass; each member keeps its own best-valid-UAUC epoch and stops on its
own after `patience` epochs without an improvement larger than `min_delta`, once `min_epochs`
have run. The kept epoch is the best one, even when it beat the previous best by less than
`min_delta`: that margin decides when to stop, not which epoch to keep. A stopped member
leaves the group (its slices of the weights and of Adam's moments are cut out), so it no
longer changes and no longer costs time; the others go on as before. The test split is never
looked at here, except under the authors' protocol (`select_on="test"`). A non-finite loss or
non-finite weights of a member end training with an error naming the seed and the epoch;
nothing is saved.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from solidcli._io import console, progress
from solidcli.config import TrainCfg
from solidcli.data.batching import Windows, length_batches, pad_histories
from solidcli.data.prepared import PreparedDataset
from solidcli.data.sampling import InteractionIndex, sample_negatives
from solidcli.errors import SolidError
from solidcli.losses import bce, softmax_ce
from solidcli.metrics import (
    FULL_METRIC_NAMES,
    evaluate_scores,
    full_ranking_from_counts,
    history_cells,
)
from solidcli.models.ensemble import keep_members, member_state


class Diverged(SolidError):
    """Training produced a non-finite loss or non-finite weights."""


@dataclass
class EvalSet:
    """A split ready to score: padded histories, lengths and the (M, C) candidate matrix."""

    hist: np.ndarray
    lengths: np.ndarray
    candidates: np.ndarray
    labels: np.ndarray
    targets: np.ndarray | None = None  # (M,) the positive item (full ranking)
    histories: list[np.ndarray] | None = None  # whole histories: excluded from full ranking

    @classmethod
    def from_split(cls, data: PreparedDataset, split: str, max_len: int) -> EvalSet:
        part = data.splits[split]
        hist, lengths = pad_histories(part.histories, max_len)
        cands = data.candidates[split]
        labels = cands == part.targets[:, None]
        return cls(hist, lengths, cands, labels, part.targets, part.histories)


@torch.no_grad()
def score(model: nn.Module, ev: EvalSet, batch_size: int, device: torch.device) -> np.ndarray:
    """Logits (S, M, C) of every member: each history encoded once per member, all its
    candidates scored against it."""
    model.eval()
    out = np.empty((model.members, *ev.candidates.shape), dtype=np.float32)
    for idx in length_batches(ev.lengths, batch_size):
        lengths = ev.lengths[idx]
        width = int(lengths.max())
        logits, _ = model(
            torch.from_numpy(ev.hist[idx, :width]).to(device),
            torch.from_numpy(lengths).to(device),
            torch.from_numpy(ev.candidates[idx]).to(device),
        )
        out[:, idx] = logits.float().cpu().numpy()
    return out


@torch.no_grad()
def score_full(model: nn.Module, ev: EvalSet, batch_size: int, device: torch.device,
               ties: str, full_users: np.ndarray | None = None
               ) -> tuple[np.ndarray, list[dict[str, np.ndarray]]]:
    """The sampled logits (S, M, C) of every member, as `score` gives them, and each member's
    per-user full-ranking metrics (`metrics.full_ranking_metrics`), from one pass: each history
    is encoded once and every item scored against it (`Recommender.score_items`); the sampled
    candidates are those items' columns, except for DIN, whose target-dependent state scores
    them with `forward` (the all-items path only equals it up to rounding).

    The (S, B, N + 1) all-items scores stay on the device: the history is masked there and
    each user's row reduced to two counts (`_full_counts`), so only (S, B) integers are copied
    to the host, where `metrics.full_ranking_from_counts` turns them into the same bits as
    `full_ranking_metrics`. `full_users` (sorted row indices of `ev`) full-ranks those users
    only (a sample, see `pipeline.evaluate`): the sampled logits then come from `score` for
    every user, and the others' full-ranking metrics are NaN."""
    model.eval()
    users = len(ev.lengths)
    out = [{m: np.full(users, np.nan) for m in FULL_METRIC_NAMES} for _ in range(model.members)]
    if full_users is None:
        rows = np.arange(users)
        sampled = np.empty((model.members, *ev.candidates.shape), dtype=np.float32)
    else:
        rows = np.asarray(full_users, dtype=np.int64)
        sampled = score(model, ev, batch_size, device)
    for pos in length_batches(ev.lengths[rows], batch_size):
        idx = rows[pos]
        lengths = ev.lengths[idx]
        width = int(lengths.max())
        hist = torch.from_numpy(ev.hist[idx, :width]).to(device)
        lengths_t = torch.from_numpy(lengths).to(device)
        every = model.score_items(hist, lengths_t)
        if full_users is None:
            cands = torch.from_numpy(ev.candidates[idx]).to(device)
            if model.target is None:
                picked = model(hist, lengths_t, cands)[0]
            else:
                picked = torch.gather(every, 2, cands.expand(model.members, -1, -1))
            sampled[:, idx] = picked.float().cpu().numpy()
        greater, equal = _full_counts(every, ev.targets[idx], [ev.histories[i] for i in idx])
        for member, above, tied in zip(out, greater, equal, strict=True):
            for m, v in full_ranking_from_counts(above, tied, ties=ties).items():
                member[m][idx] = v
    return sampled, out


def _full_counts(every: torch.Tensor, targets: np.ndarray, histories: list[np.ndarray],
                 via_numpy: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each member's and user's counts (S, B) of the items scoring strictly above the target
    and equal to it (the target not counted), among every item but the padding id and the
    user's history (the target stays a candidate when the history holds it), computed where
    `every` (S, B, N + 1) lives; `every` is overwritten (masked). float32 comparisons equal
    `full_ranking_metrics`' float64 ones (widening is exact), so the counts are the same.
    On the CPU (`via_numpy` None: where `every` lives) NumPy counts on the same memory."""
    every = every.float()  # the values the host copy held (a no-op for float32 logits)
    bad = (~torch.isfinite(every[..., 1:])).any(-1).sum(-1)  # (S,) users with a bad score
    if bool(bad.any()):
        raise SolidError(f"the model gave NaN or infinite scores for {int(bad.max())} of "
                         f"{every.shape[1]} users; its weights are broken (retrain it)")
    device = every.device
    rows, cols = history_cells(targets, histories)
    every[:, torch.from_numpy(rows).to(device), torch.from_numpy(cols).to(device)] = -torch.inf
    every[..., 0] = -torch.inf
    target = torch.from_numpy(np.asarray(targets, dtype=np.int64)).to(device)
    own = torch.gather(every, 2, target.expand(every.shape[0], -1)[..., None])  # (S, B, 1)
    if device.type == "cpu" if via_numpy is None else via_numpy:  # NumPy counts 2-5x faster
        every, own = every.numpy(), own.numpy()
        return (every > own).sum(-1), (every == own).sum(-1) - 1
    greater = (every > own).sum(-1, dtype=torch.int32)
    equal = (every == own).sum(-1, dtype=torch.int32) - 1
    return greater.cpu().numpy().astype(np.int64), equal.cpu().numpy().astype(np.int64)


def evaluate(model, ev: EvalSet, batch_size: int, device, ties: str) -> list[dict[str, float]]:
    """The metrics of every member on `ev`."""
    scores = score(model, ev, batch_size, device)
    return [evaluate_scores(member, ev.labels, ties=ties) for member in scores]


@dataclass
class FitResult:
    """One member's outcome: its kept epoch, valid metrics there, weights and curves."""

    seed: int
    best_epoch: int = -1
    best_valid: dict[str, float] = field(default_factory=dict)
    state: dict[str, torch.Tensor] | None = None
    curves: list[dict[str, float]] = field(default_factory=list)
    stale: int = 0
    running: bool = True
    encoding: str = "prefix"  # how training rows were encoded (`train.encoding`, as run)

    @property
    def epoch_seconds(self) -> list[float]:
        """Training seconds of each epoch (evaluation excluded; the group's, shared)."""
        return [row["train_seconds"] for row in self.curves]


class _Batches:
    """Every member's training rows, negatives and batches for one epoch: batches of rows,
    or with `windows` (`train.encoding: sequence`) batches of windows predicting about
    `batch_size` rows (`lengths`, the rows' history lengths, is then None). Both draw the
    batches' order from (data seed, epoch), the same for every member."""

    def __init__(self, seeds: list[int], data_seed: int, epoch: int, users: np.ndarray,
                 targets: np.ndarray, lengths: np.ndarray | None, batch_size: int,
                 negatives: int, index: InteractionIndex, windows: Windows | None = None
                 ) -> None:
        order_seed = [data_seed, epoch, 1]
        if windows is None:
            n_batches = -(-len(lengths) // batch_size)
            order = np.random.default_rng(order_seed).permutation(n_batches)
        cands, batches = [], []
        for seed in seeds:
            rng = np.random.default_rng([seed, epoch])
            if negatives:
                negs = sample_negatives(rng, users, negatives, index)
                cands.append(np.concatenate([targets[:, None], negs], axis=1))
            else:  # loss ce: the target alone (every item is scored)
                cands.append(targets[:, None])
            if windows is None:
                batches.append(length_batches(lengths, batch_size, rng, order))
            else:
                batches.append(windows.batches(batch_size, rng, order_seed))
        self.cands = np.stack(cands)  # (S, N, 1 + negatives), the target first
        self.rows = [np.stack(step) for step in zip(*batches, strict=True)]  # each (S, B)


def fit(model: nn.Module, data: PreparedDataset, cfg: TrainCfg, *, lam: float,
        seeds: list[int], data_seed: int, device: torch.device, ties: str,
        label: str, select_on: str = "valid") -> list[FitResult]:
    """Train the group `model` (one member per seed) in place; returns each member's result,
    with the weights of its best valid epoch (`state`, a one-member state_dict).

    `select_on="test"` is the authors' code's protocol (docs: protocols; only the
    `protocol: authors` profile asks for it): the valid interaction becomes one more training
    positive and the epochs are scored, kept and stopped on the test split."""
    if len(seeds) != model.members:
        raise ValueError(f"{len(seeds)} seeds for a group of {model.members} members")
    if select_on not in ("valid", "test"):
        raise ValueError(f"select_on must be valid or test, not {select_on}")
    epochs, batch_size = cfg.epochs, cfg.batch_size
    loss_kind = cfg.loss_for(model.spec.backbone)
    negatives = cfg.negatives_for(model.spec.backbone)
    train = data.splits["train"]
    users, histories, targets = train.users, train.histories, train.targets
    if select_on == "test":
        extra = data.splits["valid"]
        users = np.concatenate([users, extra.users])
        histories = list(histories) + list(extra.histories)
        targets = np.concatenate([targets, extra.targets])
    encoding = cfg.encoding if getattr(model.backbone, "per_position", False) else "prefix"
    windows = None
    if encoding == "prefix":
        hist, lengths = pad_histories(histories, cfg.max_len)
        hist_t = torch.from_numpy(hist).to(device)
        lengths_t = torch.from_numpy(lengths).to(device)
    else:
        # the files list a user's newest row first: the valid rows (select_on test) go first
        n_train = len(train.users)
        perm = np.r_[np.arange(n_train, len(users)), np.arange(n_train)]
        windows = Windows.from_rows(users[perm], [histories[i] for i in perm], targets[perm],
                                    cfg.max_len)
        windows.rows = np.where(windows.rows >= 0, perm[windows.rows], -1)
        win_hist = torch.from_numpy(windows.hist).to(device)
        win_lengths = torch.from_numpy(windows.lengths).to(device)
        win_rows = torch.from_numpy(windows.rows).to(device)
        lengths = None  # the windows' own lengths drive the batches
    index = InteractionIndex.from_splits(
        ((s.users, s.histories, s.targets) for s in data.splits.values()), data.n_items)
    valid = EvalSet.from_split(data, select_on, cfg.max_len)
    params = [p for p in model.parameters() if p.requires_grad]
    # the fused kernel is the same update in one pass (CPU and CUDA)
    optim = torch.optim.Adam(params, lr=cfg.lr, fused=device.type in ("cpu", "cuda"))
    results = [FitResult(seed, encoding=encoding) for seed in seeds]
    active = list(range(len(seeds)))  # the group's members, as indices into `results`
    model.rng.seed(seeds, device)
    names = [f"{label} seed {s}" for s in seeds]  # for errors
    with progress() as bar:
        task = bar.add_task(f"{label} epoch 1", total=epochs)
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            epoch_data = _Batches([seeds[i] for i in active], data_seed, epoch, users,
                                  targets, lengths, batch_size, negatives, index, windows)
            cands_t = torch.from_numpy(epoch_data.cands).to(device)
            members = torch.arange(len(active), device=device)[:, None]
            model.train()
            total = torch.zeros(2, len(active), device=device)
            for rows in epoch_data.rows:
                rows_t = torch.from_numpy(rows).to(device)
                if windows is None:
                    width = int(lengths[rows].max())
                    step_hist, step_lengths = hist_t[rows_t, :width], lengths_t[rows_t]
                    cands = cands_t[members, rows_t]  # (S, B, 1 + negatives), target first
                    if loss_kind == "ce":  # every item but padding; the class is id - 1
                        logits, aux = model.item_logits(step_hist, step_lengths, first=1)
                    else:
                        logits, aux = model(step_hist, step_lengths, cands)
                else:  # rows rows_t are windows; their predicting positions are the rows
                    width = int(windows.lengths[rows].max())
                    step_hist, step_lengths = win_hist[rows_t, :width], win_lengths[rows_t]
                    # the predicting positions, the same for every member (found on the host:
                    # no device sync)
                    at = torch.from_numpy(np.flatnonzero(
                        windows.rows[rows[0], :width].ravel() >= 0)).to(device)
                    row_ids = win_rows[rows_t, :width].flatten(1)[:, at]  # (S, R)
                    cands = cands_t[members, row_ids]  # (S, R, 1 + negatives)
                    logits, aux = model.position_logits(
                        step_hist, step_lengths, at, None if loss_kind == "ce" else cands)
                if loss_kind == "ce":
                    loss = softmax_ce(logits, cands[..., 0] - 1)
                else:
                    loss = bce(logits) if loss_kind == "bce" else softmax_ce(logits)
                full = loss + lam * aux if lam else loss
                optim.zero_grad(set_to_none=True)
                full.sum().backward()
                optim.step()
                total += torch.stack([loss.detach(), aux.detach()])
            restarted = _restart_dead_codes(model, [seeds[i] for i in active], epoch, optim)
            means = (total / len(epoch_data.rows)).cpu().numpy()
            _check_finite(model, means, [names[i] for i in active], epoch)
            train_s = time.perf_counter() - start
            metrics = evaluate(model, valid, cfg.eval_batch_size, device, ties)
            seconds = time.perf_counter() - start
            marks = []
            for m, i in enumerate(active):
                extra = {} if restarted is None else {"codes_restarted": restarted[m]}
                improved = _record(results[i], model, m, epoch, means[:, m], metrics[m],
                                   train_s, seconds, cfg, extra)
                marks.append(f"{seeds[i]}:{metrics[m]['UAUC']:.4f}" + ("*" if improved else ""))
            console.log(f"{label} epoch {epoch:>2}  valid UAUC by seed {' '.join(marks)}  "
                        f"({train_s:.1f}s + {seconds - train_s:.1f}s eval)")
            bar.update(task, advance=1, description=f"{label} epoch {epoch + 1}")
            going = [m for m, i in enumerate(active) if results[i].running]
            if not going:
                break
            if len(going) < len(active):  # stopped members leave the group
                optim = keep_members(model, going, optim)
                active = [active[m] for m in going]
    return results


def _restart_dead_codes(model: nn.Module, seeds: list[int], epoch: int,
                        optim: torch.optim.Optimizer) -> list[int] | None:
    """`solid.dead_codes: reinit`: after an epoch, every code that is the nearest code of no
    item restarts on an item representation drawn from (seed, epoch); the number moved per
    member, or None when the model has no such codebook."""
    codebook = getattr(model, "codebook", None)
    if codebook is None or model.spec.dead_codes != "reinit":
        return None
    rngs = [np.random.default_rng([seed, epoch, 2]) for seed in seeds]
    return codebook.restart_dead(model.items.weight.detach()[:, 1:], rngs, optim)


def _record(res: FitResult, model: nn.Module, m: int, epoch: int, means, metrics, train_s,
            seconds, cfg: TrainCfg, extra: dict | None = None) -> bool:
    """Add one epoch to a running member: its curve row, its best state, its stopping.
    The kept epoch is the best valid UAUC; `min_delta` only decides when to stop."""
    row = {"epoch": epoch, "loss": float(means[0]), "aux": float(means[1]), **(extra or {}),
           **{f"valid_{k}": v for k, v in metrics.items() if k != "users"},
           "train_seconds": train_s, "seconds": seconds}
    res.curves.append(row)
    best = res.best_valid.get("UAUC", -1.0)
    improved = metrics["UAUC"] > best
    if improved:
        res.best_epoch, res.best_valid = epoch, metrics
        res.state = member_state(model, m)
    res.stale = 0 if metrics["UAUC"] > best + cfg.min_delta else res.stale + 1
    if res.stale >= cfg.patience and epoch >= cfg.min_epochs:
        res.running = False
    return improved


def _check_finite(model: nn.Module, means: np.ndarray, names: list[str], epoch: int) -> None:
    """A non-finite loss (means: (2, S)), or weights a non-finite gradient made non-finite,
    of a member of the group (`names`: its members in order)."""
    bad_loss = ~np.isfinite(means).all(axis=0)
    for m in range(len(names)):
        if bad_loss[m]:
            raise Diverged(f"{names[m]}: training diverged at epoch {epoch} (loss "
                           f"{means[0, m]}, aux {means[1, m]}); nothing was saved; check "
                           "train.lr and solid.lambda")
    finite = torch.stack([torch.isfinite(p).reshape(p.shape[0], -1).all(dim=1)
                          for p in model.parameters()]).cpu().numpy()  # (P, S)
    names_p = [name for name, _ in model.named_parameters()]
    for m in range(len(names)):
        if not finite[:, m].all():
            bad = names_p[int(np.argmin(finite[:, m]))]
            raise Diverged(f"{names[m]}: training diverged at epoch {epoch}: a gradient was "
                           f"not finite and made '{bad}' non-finite; nothing was saved; check "
                           "train.lr")
