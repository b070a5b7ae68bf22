"""SOLID's mechanics on hand-made tensors (issue 11): the bounded branch, the straight-through
codebook and its loss terms, dead-code restarts, the warm start, and the diagnostics."""

import dataclasses
import types

import numpy as np
import pytest
import torch
from test_models import N_ITEMS, K, batch, build

from solidcli.config import load_overrides
from solidcli.diagnostics import diagnose
from solidcli.engine import fit
from solidcli.models.codebook import SemanticCodebook, aux_loss
from solidcli.models.generators import bound_params
from solidcli.models.recommender import Recommender
from solidcli.pipeline.train import _centroids, _warm_start
from solidcli.runs import build_spec

T = 0.01


def test_the_smooth_bound_stays_inside_T_and_passes_a_gradient_where_clip_does_not():
    torch.manual_seed(0)
    x = (torch.randn(1, 4, 6) * 0.02).requires_grad_()  # most entries outside +-T
    (smooth,), = bound_params([(x,)], T, "tanh")
    assert smooth.abs().max() <= T  # (float32 rounds tanh of |x| > ~9 T to 1)
    smooth.sum().backward()
    assert (x.grad > 0).all()  # every entry, even those beyond T, still learns
    x.grad = None
    (hard,), = bound_params([(x,)], T, "clip")
    hard.sum().backward()
    outside = x.detach().abs() > T
    assert outside.any() and (x.grad[outside] == 0).all() and (x.grad[~outside] == 1).all()


def _probe(b=64, length=5):
    hist, lengths, _ = batch(b, length)
    return types.SimpleNamespace(hist=hist.numpy(), lengths=lengths.numpy())


@pytest.mark.parametrize("dsr", ["duet", "apg"])
def test_a_branch_generated_at_the_scale_of_T_starts_inside_its_bound(dsr):
    live = diagnose(build(dsr, "sml", branch_scale="T"), _probe(), torch.device("cpu"))[0][0]
    dead = diagnose(build(dsr, "sml"), _probe(), torch.device("cpu"))[0][0]
    assert live["branch_inside_T"] > 0.9 and dead["branch_inside_T"] < 0.2
    assert 0 < live["branch_to_trunk"] < 1


@pytest.mark.parametrize("dsr", ["duet", "apg"])
def test_a_branch_kept_at_rms_T_over_2_stays_inside_its_bound_and_learns(dsr):
    """branch_scale rms: however far Adam moves the branch generator (here its weights x100,
    where branch_scale T's branch is saturated), each user's tensor keeps RMS T/2, so most of
    its entries stay inside +-T, it still differs across users, and its generator learns."""
    drifted = {}
    for scale in ("T", "rms"):
        model = build(dsr, "sml", branch_scale=scale)
        with torch.no_grad():
            for p in model.item_generator.parameters():
                p.mul_(100.0)
        drifted[scale] = diagnose(model, _probe(), torch.device("cpu"))[0][0]
    # T alone: drifted past its bound, the clipped branch mostly one sign pattern for everyone
    assert drifted["T"]["branch_inside_T"] < 0.2
    assert drifted["T"]["branch_same_across_users"] > 0.5
    assert drifted["rms"]["branch_inside_T"] > 0.85
    assert drifted["rms"]["branch_same_across_users"] < 0.1  # (one-entry tensors: +-T/2)
    model = build(dsr, "sml", branch_scale="rms")
    hist, lengths, cands = batch(8, 5)
    h, n = model._per_member(hist, lengths)
    parts = model.dynamic_parts(h, model.items(h), n)
    for layer in parts["branch"]:
        for t in layer:  # (S, B, *shape): per member and user, RMS T/2
            rms = t.flatten(2).pow(2).mean(-1).sqrt()
            assert torch.allclose(rms, torch.full_like(rms, T / 2), rtol=1e-4)
    model(hist, lengths, cands)[0].sum().backward()
    assert model.item_generator.weight.grad.abs().sum() > 0


def test_straight_through_passes_the_gradient_of_the_codes_to_the_input():
    codes = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.0, 5.0]]])
    x = torch.tensor([[[0.9, 0.2], [0.1, -0.1], [0.2, 4.0]]], requires_grad=True)
    weights = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]])
    book = SemanticCodebook(codes, straight_through=True)
    out, chosen = book(x)
    assert torch.equal(out, codes[:, [1, 0, 2]]) and torch.equal(chosen, out)
    (out * weights).sum().backward()
    assert torch.equal(x.grad, weights)  # the branch's gradient reaches the item vectors
    assert book.codes.grad is None  # ... and not the codes (they learn from the aux loss)
    x.grad = None
    plain = SemanticCodebook(codes)  # the paper read literally: the codes get it, x nothing
    (plain(x)[0] * weights).sum().backward()
    assert x.grad is None and plain.codes.grad.abs().sum() > 0


def _grads(kind, beta=0.25):
    x = torch.randn(1, 2, 3, 4, requires_grad=True)
    codes = torch.randn(1, 2, 3, 4, requires_grad=True)
    aux_loss(kind, x, codes, None, beta).sum().backward()
    return x.grad, codes.grad


def test_the_loss_terms_move_only_what_they_should():
    gx, gc = _grads("vq", beta=0.0)  # the codebook term alone: codes move, items do not
    assert (gx == 0).all() and gc.abs().sum() > 0
    torch.manual_seed(1)
    gx, gc = _grads("vq", beta=0.25)
    torch.manual_seed(1)
    px, pc = _grads("paper")
    assert torch.allclose(gc, pc) and torch.allclose(gx, 0.25 * px)  # commitment = beta x
    torch.manual_seed(1)
    vx, vc = _grads("vq", beta=1.0)  # beta = 1: the paper's single MSE, gradient for gradient
    assert torch.allclose(vx, px) and torch.allclose(vc, pc)
    x = torch.randn(1, 2, 3, 4, requires_grad=True)
    codes = torch.randn(1, 2, 3, 4, requires_grad=True)
    aux_loss("authors", x, codes, None, 0.25).sum().backward()
    assert codes.grad is None and x.grad.abs().sum() > 0  # the authors' stop-gradient codes


def test_dead_code_reinitialisation_restores_an_unused_code():
    items = torch.tensor([[[0.0, 0.0], [0.1, 0.0], [1.0, 1.0], [1.1, 0.9]]])
    codes = torch.tensor([[[0.0, 0.1], [1.0, 1.0], [50.0, 50.0]]])
    book = SemanticCodebook(codes)
    optim = torch.optim.Adam(book.parameters(), lr=0.1)
    (book.codes.sum() * 1.0).backward()
    optim.step()
    before = book.codes.detach().clone()
    moved = book.restart_dead(items, [np.random.default_rng(0)], optim)
    assert moved == [1]
    assert any(torch.equal(book.codes[0, 2], row) for row in items[0])  # on an item now
    assert torch.equal(book.codes[0, :2], before[0, :2])  # the used codes are untouched
    state = optim.state[book.codes]
    assert (state["exp_avg"][0, 2] == 0).all() and (state["exp_avg"][0, 0] != 0).all()
    assert book.restart_dead(items, [np.random.default_rng(0)], optim) == [0]


@pytest.mark.parametrize("dsr", ["duet", "apg"])
def test_an_scl_model_warm_started_from_sml_holds_its_weights(dsr):
    sml = build(dsr, "sml", branch_scale="T")
    scl = build(dsr, "scl", branch_scale="T")
    torch.manual_seed(5)
    scl = Recommender(scl.spec, item_to_semantic=sml.item_to_semantic,
                      codebook_init=torch.randn(K, 8))
    shared = _warm_start(scl, sml)
    theirs, mine = sml.state_dict(), scl.state_dict()
    assert set(shared) == set(theirs)  # SCL has every tensor of SML, plus its codebook
    for prefix in ("items.", "backbone.", "target.", "layers.", "item_condition.",
                   "item_generator.", "semantics.", "semantic_condition.", "semantic_generator."):
        names = [n for n in theirs if n.startswith(prefix)]
        assert names or prefix == "layers.", prefix
        assert all(torch.equal(mine[n], theirs[n]) for n in names), prefix
    assert "codebook.codes" in mine and "codebook.codes" not in shared


def test_centroid_metacode_is_the_mean_of_each_semantic_ids_items():
    items = torch.tensor([[1.0, 0.0], [3.0, 2.0], [5.0, 5.0]])
    table = _centroids(items, torch.tensor([1, 1, 3]), 3)
    assert torch.equal(table, torch.tensor([[2.0, 1.0], [3.0, 7.0 / 3.0], [5.0, 5.0]]))


def test_codebook_diagnostics_count_the_codes_items_use():
    model = build("duet", "scl")
    with torch.no_grad():
        model.codebook.codes[0] = torch.randn(K, 8) * 100  # far apart: items pick few codes
        model.codebook.codes[0, 0] = 0.0
    row = diagnose(model, _probe(), torch.device("cpu"))[0][0]
    assert row["codes"] == K and row["codes_used"] < K
    _, assign = diagnose(model, _probe(), torch.device("cpu"))
    counts = np.bincount(assign[0], minlength=K) / N_ITEMS
    p = counts[counts > 0]
    assert row["code_perplexity"] == pytest.approx(float(np.exp(-(p * np.log(p)).sum())))


FIXES = ["solid.branch_scale=T", "solid.bound=tanh", "solid.straight_through=true",
         "solid.aux_loss=vq", "solid.dead_codes=reinit"]


@pytest.mark.parametrize("dsr", ["duet", "apg"])
def test_every_fix_trains_and_a_group_equals_its_seeds_alone(prepared, dsr):
    params, data, mapping, k = prepared
    params = load_overrides(params, FIXES)
    spec = build_spec(params, data.n_items, "sasrec", dsr, "scl", k)

    def run(seeds):
        members = []
        for seed in seeds:
            torch.manual_seed(seed)
            members.append(Recommender(spec, item_to_semantic=mapping,
                                       codebook_init=torch.randn(k, spec.dim)))
        model = members[0] if len(seeds) == 1 else Recommender.group(members)
        cfg = dataclasses.replace(params.train, epochs=2, min_epochs=2)
        return fit(model, data, cfg, lam=spec.lam, seeds=seeds, data_seed=0,
                   device=torch.device("cpu"), ties="conservative", label="t")

    group = run([0, 4])
    assert all(r.curves[1]["loss"] < r.curves[0]["loss"] for r in group)
    assert all("codes_restarted" in row for r in group for row in r.curves)
    (alone,) = run([4])
    for key, value in alone.state.items():
        assert torch.allclose(group[1].state[key], value, atol=1e-5, rtol=0), key
