"""Model parts: clip bound, nearest-code lookup, and one training step for every variant."""

import pytest
import torch

from solidcli.models.codebook import SemanticCodebook, masked_mse
from solidcli.models.generators import DuetGenerator, add_params, clip_params
from solidcli.models.layers import DenseLayers
from solidcli.models.recommender import Recommender
from solidcli.models.spec import ModelSpec

N_ITEMS, K, D = 20, 4, 8


def spec(dsr="duet", variant="base", **kw):
    return ModelSpec(
        backbone="sasrec", dsr=dsr, variant=variant, n_items=N_ITEMS,
        n_semantics=K if variant != "base" else 0, dim=D, max_len=10,
        backbone_opts={"layers": 1, "heads": 2, "dropout": 0.0, "causal": True},
        dsr_opts={"layers": 2, "init": "scaled", "freeze": False},
        clip=0.01 if variant in ("sml", "scl") else 0.0, lam=0.1 if variant == "scl" else 0.0,
        **kw,
    )


def batch(b=6, length=5, c=5):
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, length + 1, (b,), generator=g)
    hist = torch.randint(1, N_ITEMS + 1, (b, length), generator=g)
    hist[torch.arange(length)[None, :] >= lengths[:, None]] = 0
    cands = torch.randint(1, N_ITEMS + 1, (b, c), generator=g)
    return hist, lengths, cands


def mapping():
    return torch.cat([torch.zeros(1, dtype=torch.long), torch.arange(N_ITEMS) % K + 1])


def test_clip_bound_holds_for_generated_branch():
    gen = DuetGenerator(D, DenseLayers([D, D, D]).param_shapes(), init="authors")
    branch = gen(torch.randn(16, D) * 5)
    clipped = clip_params(branch, 0.01)
    assert max(t.abs().max().item() for layer in branch for t in layer) > 0.01
    assert all(t.abs().max().item() <= 0.01 for layer in clipped for t in layer)


def test_sml_parameters_stay_within_T_of_the_trunk():
    torch.manual_seed(0)
    model = Recommender(spec(variant="sml"), item_to_semantic=mapping())
    hist, lengths, _ = batch()
    combined, _ = model.dynamic_params(hist, model.items(hist), lengths)
    sem = model.semantics(model.item_to_semantic[hist])
    trunk = model.semantic_generator(model.semantic_condition(sem, lengths))
    for layer_c, layer_t in zip(combined, trunk, strict=True):
        for c, t in zip(layer_c, layer_t, strict=True):
            assert (c - t).abs().max().item() <= 0.01 + 1e-6


def test_nearest_code_lookup():
    codes = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 5.0]])
    book = SemanticCodebook(codes)
    x = torch.tensor([[[0.9, 0.2], [0.1, -0.1], [0.2, 4.0]]])
    assert book.nearest(x).tolist() == [[1, 0, 2]]
    assert torch.equal(book(x), codes[[1, 0, 2]].unsqueeze(0))


def test_codebook_learns_through_lookup_and_frozen_when_asked():
    x = torch.randn(2, 3, 4)
    live = SemanticCodebook(torch.randn(5, 4), trainable=True)
    masked_mse(x, live(x), None).backward()
    assert live.codes.grad is not None and live.codes.grad.abs().sum() > 0
    frozen = SemanticCodebook(torch.randn(5, 4), trainable=False)
    assert not frozen.codes.requires_grad


def test_masked_mse_ignores_padding():
    a = torch.zeros(1, 3, 2)
    b = torch.tensor([[[1.0, 1.0], [1.0, 1.0], [9.0, 9.0]]])
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    assert masked_mse(a, b, mask).item() == pytest.approx(1.0)


def test_static_and_per_sample_weights_agree():
    layers = DenseLayers([D, D, D])
    w = [(torch.randn(D, D), torch.randn(D)) for _ in range(2)]
    x = torch.randn(3, D)
    batched = [(a.expand(3, D, D), b.expand(3, D)) for a, b in w]
    assert torch.allclose(layers(x, w), layers(x, batched), atol=1e-6)


def test_add_params_is_entrywise():
    a = [(torch.ones(2, 2), torch.ones(2))]
    b = [(torch.full((2, 2), 2.0), torch.zeros(2))]
    out = add_params(a, b)
    assert torch.equal(out[0][0], torch.full((2, 2), 3.0))


@pytest.mark.parametrize(("dsr", "variant"), [("none", "base"), ("duet", "base"),
                                              ("duet", "spg"), ("duet", "sml"),
                                              ("duet", "scl")])
def test_every_variant_trains_one_step(dsr, variant):
    torch.manual_seed(0)
    model = Recommender(spec(dsr, variant), item_to_semantic=mapping(),
                        codebook_init=torch.randn(K, D) * 0.05)
    hist, lengths, cands = batch()
    optim = torch.optim.Adam(model.parameters(), lr=1e-2)
    labels = torch.zeros_like(cands, dtype=torch.float)
    labels[:, 0] = 1
    logits, aux = model(hist, lengths, cands)
    assert logits.shape == cands.shape
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels) + 0.1 * aux
    optim.zero_grad()
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is None or torch.isfinite(g).all() for g in grads)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optim.step()
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert "items.weight" in changed
    if variant == "scl":
        assert aux.item() > 0
        assert "codebook.codes" in changed


def test_state_does_not_depend_on_padding_width():
    torch.manual_seed(0)
    model = Recommender(spec(variant="scl"), item_to_semantic=mapping(),
                        codebook_init=torch.randn(K, D)).eval()
    hist, lengths, cands = batch()
    wide = torch.cat([hist, torch.zeros(hist.shape[0], 4, dtype=torch.long)], dim=1)
    with torch.no_grad():
        a, aux_a = model(hist, lengths, cands)
        b, aux_b = model(wide, lengths, cands)
    assert torch.allclose(a, b, atol=1e-5)
    assert aux_a.item() == pytest.approx(aux_b.item(), rel=1e-5)


def test_frozen_generators_stay_put_and_are_saved():
    s = spec()
    s = ModelSpec(**{**s.to_dict(), "dsr_opts": {"layers": 2, "init": "authors", "freeze": True}})
    model = Recommender(s)
    names = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert names and all(n.startswith("item_generator.") for n in names)
    assert all(n in model.state_dict() for n in names)
