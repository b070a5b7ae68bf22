"""`train.loss`: the objectives by hand, `ce`'s all-items logits with gradients (DIN's
recomputed chunks included), and `ce` training lowering the loss for every combination."""

import dataclasses
import math

import pytest
import torch

from solidcli.engine import fit
from solidcli.losses import bce, softmax_ce
from solidcli.models.recommender import Recommender
from solidcli.runs import build_spec
from tests.test_models import COMBOS, N_ITEMS, batch, build, standard_spec


def test_softmax_ce_equals_a_hand_computation_on_a_tiny_catalogue():
    logits = torch.tensor([[[2.0, 0.5, -1.0], [0.0, 0.0, 3.0]],
                           [[1.0, 1.0, 1.0], [-2.0, 4.0, 0.5]]])  # (S=2, B=2, 3 items)
    target = torch.tensor([[0, 1], [2, 1]])

    def hand(row, t):
        return -math.log(math.exp(row[t]) / sum(math.exp(z) for z in row))

    want = [sum(hand(logits[s, b].tolist(), int(target[s, b])) for b in range(2)) / 2
            for s in range(2)]
    assert softmax_ce(logits, target).tolist() == pytest.approx(want, rel=1e-6)
    # sampled-ce: the positive is column 0
    first = [sum(hand(logits[s, b].tolist(), 0) for b in range(2)) / 2 for s in range(2)]
    assert softmax_ce(logits).tolist() == pytest.approx(first, rel=1e-6)


def test_bce_equals_a_hand_computation():
    logits = torch.tensor([[[2.0, 0.5, -1.0]]])

    def sig(z):
        return 1 / (1 + math.exp(-z))

    want = -(math.log(sig(2.0)) + math.log(1 - sig(0.5)) + math.log(1 - sig(-1.0))) / 3
    assert bce(logits).item() == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize(("backbone", "dsr", "variant"), COMBOS,
                         ids=["-".join(c) for c in COMBOS])
def test_all_item_logits_with_gradients_equal_the_sampled_ones(backbone, dsr, variant,
                                                               monkeypatch):
    """The training path of `ce` (gradients on; DIN's chunks checkpointed) gives the sampled
    candidates' numbers, and its gradient is the plain (not recomputed) one's."""
    model = build(dsr, variant, backbone).eval()  # eval: no dropout, so the paths compare
    hist, lengths, cands = batch(c=7)
    sampled, _ = model(hist, lengths, cands)
    every, aux = model.item_logits(hist, lengths, first=1, chunk=4)
    assert every.shape == (1, hist.shape[0], N_ITEMS) and aux.shape == (1,)
    picked = torch.gather(every, 2, cands[None] - 1)
    assert torch.allclose(picked, sampled, atol=1e-5, rtol=1e-5)
    target = cands[None, :, 0] - 1
    softmax_ce(every, target).sum().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    assert grads and "items.weight" in grads
    if backbone == "din":  # the recomputed chunks' gradient is the stored graph's
        model.zero_grad()
        monkeypatch.setattr("solidcli.models.recommender.checkpoint",
                            lambda fn, *args, use_reentrant: fn(*args))
        every2, _ = model.item_logits(hist, lengths, first=1, chunk=4)
        softmax_ce(every2, target).sum().backward()
        for name, grad in grads.items():
            assert torch.allclose(model.get_parameter(name).grad, grad, atol=1e-6), name


@pytest.mark.parametrize(("backbone", "dsr", "variant"), COMBOS,
                         ids=["-".join(c) for c in COMBOS])
def test_ce_steps_lower_the_loss(backbone, dsr, variant):
    """Adam steps on the softmax over every item (dropout on, as in training) fit a batch."""
    losses = _ce_steps(build(dsr, variant, backbone))
    assert losses[0] == pytest.approx(math.log(N_ITEMS), rel=0.3)  # about uniform at first
    assert losses[-1] < 0.8 * losses[0], losses


def _ce_steps(model: Recommender, steps: int = 25) -> list[float]:
    """The ce loss over 25 Adam steps on one batch, dropout on (as in training)."""
    model.train()
    model.rng.seed([0], torch.device("cpu"))
    hist, lengths, cands = batch(b=8)
    target = cands[None, :, 0] - 1
    optim = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(steps):
        logits, aux = model.item_logits(hist, lengths, first=1, chunk=8)
        loss = softmax_ce(logits, target)
        optim.zero_grad()
        (loss + 0.1 * aux).sum().backward()
        optim.step()
        losses.append(loss.item())
    return losses


def test_ce_training_in_the_engine(prepared):
    """`train.loss: ce` through `fit`: no negatives drawn, the epoch loss starts near log N
    (a uniform softmax) and falls."""
    params, data, mapping, k = prepared
    spec = build_spec(params, data.n_items, "sasrec", "duet", "scl", k)
    torch.manual_seed(0)
    model = Recommender.group([Recommender(spec, item_to_semantic=mapping) for _ in range(2)])
    cfg = dataclasses.replace(params.train, loss="ce", epochs=4, min_epochs=4, lr=0.01)
    results = fit(model, data, cfg, lam=spec.lam, seeds=[0, 1], data_seed=0,
                  device=torch.device("cpu"), ties="conservative", label="t")
    for res in results:
        losses = [row["loss"] for row in res.curves]
        assert len(losses) == 4 and losses[-1] < losses[0], losses
        assert losses[0] == pytest.approx(math.log(data.n_items), rel=0.25)


def test_sampled_ce_trains_on_the_sampled_candidates(prepared):
    params, data, mapping, _ = prepared
    spec = build_spec(params, data.n_items, "din", "duet", "base", 0)
    torch.manual_seed(0)
    model = Recommender(spec, item_to_semantic=mapping)
    cfg = dataclasses.replace(params.train, loss="sampled-ce", sampled_negatives=9, epochs=3,
                              min_epochs=3, lr=0.01)
    (res,) = fit(model, data, cfg, lam=0.0, seeds=[0], data_seed=0,
                 device=torch.device("cpu"), ties="conservative", label="t")
    losses = [row["loss"] for row in res.curves]
    assert losses[-1] < losses[0] and losses[0] == pytest.approx(math.log(10), rel=0.25)


@pytest.mark.parametrize("backbone", ["sasrec", "bert4rec"])
def test_ce_steps_lower_the_loss_of_the_standard_encoder(backbone):
    """Standard SASRec (layernorm, tied, normal, no head) under ce: N(0, 0.02) items make the
    first softmax close to uniform, and Adam steps fit the batch."""
    torch.manual_seed(0)
    losses = _ce_steps(Recommender(standard_spec(backbone)))
    assert losses[0] == pytest.approx(math.log(N_ITEMS), rel=0.05)
    assert losses[-1] < 0.8 * losses[0], losses
