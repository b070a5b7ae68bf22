"""Training and scoring loops shared by every train-* stage and by `evaluate`.

Training (paper Sec. 4.1): Adam, binary cross-entropy on 1 positive + `negatives` sampled
negatives per training pair, negatives redrawn every epoch from the seed, plus lambda times the
model's auxiliary loss (SCL's codebook MSE, Eq. 13). After every epoch the model is scored on
the valid candidates; the epoch with the best valid UAUC is kept, and training stops after
`patience` epochs without an improvement larger than `min_delta`, once `min_epochs` have run
(some runs sit on a plateau for a few epochs before they learn from the history). The test
split is never looked at here. A loss that is not finite, or weights that stop being finite (a
non-finite gradient), end training with an error naming the epoch; nothing is saved.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from solidcli._io import console, progress
from solidcli.config import TrainCfg
from solidcli.data.batching import length_batches, pad_histories
from solidcli.data.prepared import PreparedDataset
from solidcli.data.sampling import InteractionIndex, sample_negatives
from solidcli.errors import SolidError
from solidcli.metrics import evaluate_scores


class Diverged(SolidError):
    """Training produced a non-finite loss or non-finite weights."""


@dataclass
class EvalSet:
    """A split ready to score: padded histories, lengths and the (M, C) candidate matrix."""

    hist: np.ndarray
    lengths: np.ndarray
    candidates: np.ndarray
    labels: np.ndarray

    @classmethod
    def from_split(cls, data: PreparedDataset, split: str, max_len: int) -> EvalSet:
        part = data.splits[split]
        hist, lengths = pad_histories(part.histories, max_len)
        cands = data.candidates[split]
        labels = cands == part.targets[:, None]
        return cls(hist, lengths, cands, labels)


@torch.no_grad()
def score(model: nn.Module, ev: EvalSet, batch_size: int, device: torch.device) -> np.ndarray:
    """Logits (M, C): each history encoded once, all its candidates scored against it."""
    model.eval()
    out = np.empty(ev.candidates.shape, dtype=np.float32)
    for idx in length_batches(ev.lengths, batch_size):
        lengths = ev.lengths[idx]
        width = int(lengths.max())
        logits, _ = model(
            torch.from_numpy(ev.hist[idx, :width]).to(device),
            torch.from_numpy(lengths).to(device),
            torch.from_numpy(ev.candidates[idx]).to(device),
        )
        out[idx] = logits.float().cpu().numpy()
    return out


def evaluate(model, ev: EvalSet, batch_size: int, device, ties: str) -> dict[str, float]:
    return evaluate_scores(score(model, ev, batch_size, device), ev.labels, ties=ties)


@dataclass
class FitResult:
    best_epoch: int
    best_valid: dict[str, float]
    curves: list[dict[str, float]] = field(default_factory=list)

    @property
    def epoch_seconds(self) -> list[float]:
        """Training seconds of each epoch (evaluation excluded)."""
        return [row["train_seconds"] for row in self.curves]


def fit(model: nn.Module, data: PreparedDataset, cfg: TrainCfg, *, lam: float, seed: int,
        device: torch.device, ties: str, label: str) -> FitResult:
    """Train `model` in place; on return it holds the weights of the best valid epoch."""
    epochs, batch_size, patience = cfg.epochs, cfg.batch_size, cfg.patience
    negatives, max_len = cfg.negatives, cfg.max_len
    train = data.splits["train"]
    hist, lengths = pad_histories(train.histories, max_len)
    users, targets = train.users, train.targets
    index = InteractionIndex.from_splits(
        ((s.users, s.histories, s.targets) for s in data.splits.values()), data.n_items)
    valid = EvalSet.from_split(data, "valid", max_len)
    labels = torch.zeros(1, 1 + negatives, device=device)
    labels[0, 0] = 1.0
    params = [p for p in model.parameters() if p.requires_grad]
    # the fused kernel is the same update in one pass (CPU and CUDA)
    optim = torch.optim.Adam(params, lr=cfg.lr, fused=device.type in ("cpu", "cuda"))
    bce = nn.BCEWithLogitsLoss()
    result = FitResult(best_epoch=-1, best_valid={})
    best_state = None
    stale = 0
    with progress() as bar:
        task = bar.add_task(f"{label} epoch 1", total=epochs)
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            rng = np.random.default_rng([seed, epoch])
            negs = sample_negatives(rng, users, negatives, index)
            cands = np.concatenate([targets[:, None], negs], axis=1)
            model.train()
            total, total_aux, steps = 0.0, 0.0, 0
            for idx in length_batches(lengths, batch_size, rng):
                width = int(lengths[idx].max())
                logits, aux = model(
                    torch.from_numpy(hist[idx, :width]).to(device),
                    torch.from_numpy(lengths[idx]).to(device),
                    torch.from_numpy(cands[idx]).to(device),
                )
                loss = bce(logits, labels.expand_as(logits))
                full = loss + lam * aux if lam else loss
                optim.zero_grad(set_to_none=True)
                full.backward()
                optim.step()
                step_loss, step_aux = float(loss.detach()), float(aux.detach())
                if not (math.isfinite(step_loss) and math.isfinite(step_aux)):
                    raise Diverged(f"{label}: training diverged at epoch {epoch} (loss "
                                   f"{step_loss}, aux {step_aux}); nothing was saved; check "
                                   "train.lr and solid.lambda")
                total += step_loss
                total_aux += step_aux
                steps += 1
            _check_weights(model, label, epoch)
            train_s = time.perf_counter() - start
            metrics = evaluate(model, valid, cfg.eval_batch_size, device, ties)
            seconds = time.perf_counter() - start
            row = {"epoch": epoch, "loss": total / steps, "aux": total_aux / steps,
                   **{f"valid_{k}": v for k, v in metrics.items() if k != "users"},
                   "train_seconds": train_s, "seconds": seconds}
            result.curves.append(row)
            improved = metrics["UAUC"] > result.best_valid.get("UAUC", -1.0) + cfg.min_delta
            console.log(
                f"{label} epoch {epoch:>2}  loss {row['loss']:.4f}"
                + (f"  aux {row['aux']:.4f}" if row["aux"] else "")
                + f"  valid UAUC {metrics['UAUC']:.4f}  NDCG@10 {metrics['NDCG@10']:.4f}"
                + f"  ({train_s:.1f}s + {seconds - train_s:.1f}s eval)"
                + ("  *" if improved else "")
            )
            if improved:
                result.best_epoch, result.best_valid = epoch, metrics
                best_state = copy.deepcopy(model.state_dict())
                stale = 0
            else:
                stale += 1
            bar.update(task, advance=1, description=f"{label} epoch {epoch + 1}")
            if stale >= patience and epoch >= cfg.min_epochs:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    return result


def _check_weights(model: nn.Module, label: str, epoch: int) -> None:
    """A non-finite gradient turns weights non-finite at the next optimiser step."""
    bad = [name for name, p in model.named_parameters() if not bool(torch.isfinite(p).all())]
    if bad:
        raise Diverged(f"{label}: training diverged at epoch {epoch}: a gradient was not "
                       f"finite and made '{bad[0]}' non-finite; nothing was saved; check "
                       "train.lr")
