"""Model parts: clip bound, nearest-code lookup, APG's size, and one step of every combination.

Every model carries the member axis (S models at once); these build one-member models (S = 1)
and feed inputs without the axis, which the Recommender shares across its members."""

import dataclasses

import pytest
import torch

from solidcli.models.codebook import SemanticCodebook, masked_mse
from solidcli.models.generators import Hypernetwork, bound_params
from solidcli.models.layers import DenseLayers, LowRankLayers
from solidcli.models.recommender import Recommender
from solidcli.models.spec import ModelSpec

N_ITEMS, K, D = 20, 4, 8
AUTHORS_ENCODER = {"input": "tanh", "output": "mlp", "init": "xavier"}
STANDARD_ENCODER = {"input": "layernorm", "output": "tied", "init": "normal"}
BACKBONE_OPTS = {
    "sasrec": {"layers": 1, "heads": 2, "dropout": 0.0, "causal": True, **AUTHORS_ENCODER},
    "bert4rec": {"layers": 2, "heads": 2, "dropout": 0.0, **AUTHORS_ENCODER},
    "gru4rec": {"layers": 1, "dropout": 0.0},
    "din": {"attention_hidden": 6, "classifier": [12, 6], "dropout": 0.0},
}
DSR_OPTS = {
    "none": {"layers": 2},
    "duet": {"layers": 2, "init": "scaled", "freeze": False},
    "apg": {"layers": 2, "rank": 3, "init": "scaled", "freeze": False,
            "authors_simplified": False},
}


def spec(dsr="duet", variant="base", backbone="sasrec", **kw):
    return ModelSpec(
        backbone=backbone, dsr=dsr, variant=variant, n_items=N_ITEMS,
        n_semantics=K if variant != "base" else 0, dim=D, max_len=10,
        backbone_opts=BACKBONE_OPTS[backbone], dsr_opts=DSR_OPTS[dsr],
        clip=0.01 if variant in ("sml", "scl") else 0.0,
        lam=0.1 if variant in ("scl", "scl_only") else 0.0, **kw,
    )


def standard_spec(backbone="sasrec"):
    """SASRec / BERT4Rec alone with the standard encoder and no head (`dsr.none.layers: 0`)."""
    return dataclasses.replace(spec("none", "base", backbone),
                               backbone_opts={**BACKBONE_OPTS[backbone], **STANDARD_ENCODER},
                               dsr_opts={"layers": 0})


def batch(b=6, length=5, c=5):
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, length + 1, (b,), generator=g)
    hist = torch.randint(1, N_ITEMS + 1, (b, length), generator=g)
    hist[torch.arange(length)[None, :] >= lengths[:, None]] = 0
    cands = torch.randint(1, N_ITEMS + 1, (b, c), generator=g)
    return hist, lengths, cands


def mapping():
    return torch.cat([torch.zeros(1, dtype=torch.long), torch.arange(N_ITEMS) % K + 1])


def build(dsr="duet", variant="base", backbone="sasrec", **kw):
    torch.manual_seed(0)
    return Recommender(spec(dsr, variant, backbone, **kw), item_to_semantic=mapping(),
                       codebook_init=torch.randn(K, D) * 0.05)


def test_clip_bound_holds_for_generated_branch():
    gen = Hypernetwork(D, DenseLayers([D, D, D]).param_shapes(), 1, init="authors")
    branch = gen(torch.randn(1, 16, D) * 5)
    clipped = bound_params(branch, 0.01)
    assert max(t.abs().max().item() for layer in branch for t in layer) > 0.01
    assert all(t.abs().max().item() <= 0.01 for layer in clipped for t in layer)


@pytest.mark.parametrize("dsr", ["duet", "apg"])
def test_sml_parameters_stay_within_T_of_the_trunk(dsr):
    model = build(dsr, "sml")
    hist, lengths, _ = batch()
    hist, lengths = hist[None], lengths[None]
    combined, _ = model.dynamic_params(hist, model.items(hist), lengths)
    sem = model.semantics(model.item_to_semantic[hist])
    trunk = model.semantic_generator(model.semantic_condition(sem, lengths))
    for layer_c, layer_t in zip(combined, trunk, strict=True):
        for c, t in zip(layer_c, layer_t, strict=True):
            assert (c - t).abs().max().item() <= 0.01 + 1e-6


def test_nearest_code_lookup():
    codes = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.0, 5.0]]])
    book = SemanticCodebook(codes)
    x = torch.tensor([[[[0.9, 0.2], [0.1, -0.1], [0.2, 4.0]]]])
    assert book.nearest(x).tolist() == [[[1, 0, 2]]]
    assert torch.equal(book(x)[0], codes[0, [1, 0, 2]][None, None])
    # two members: each looks up its own codebook
    pair = SemanticCodebook(torch.cat([codes, -codes]))
    two = torch.cat([x, -x])
    assert pair.nearest(two).tolist() == [[[1, 0, 2]], [[1, 0, 2]]]


def test_codebook_learns_through_lookup_and_frozen_when_asked():
    x = torch.randn(1, 2, 3, 4)
    live = SemanticCodebook(torch.randn(1, 5, 4), trainable=True)
    masked_mse(x, live(x)[1], None).sum().backward()
    assert live.codes.grad is not None and live.codes.grad.abs().sum() > 0
    frozen = SemanticCodebook(torch.randn(1, 5, 4), trainable=False)
    assert not frozen.codes.requires_grad


def test_masked_mse_ignores_padding():
    a = torch.zeros(2, 1, 3, 2)
    b = torch.tensor([[[1.0, 1.0], [1.0, 1.0], [9.0, 9.0]]]).expand(2, 1, 3, 2)
    mask = torch.tensor([[[1.0, 1.0, 0.0]], [[1.0, 1.0, 1.0]]])
    assert masked_mse(a, b, mask).tolist() == pytest.approx([1.0, (1 + 1 + 81) / 3])


@pytest.mark.parametrize("layers_cls", ["dense", "lowrank"])
def test_shared_and_per_sample_params_agree(layers_cls):
    layers = DenseLayers([D, D, D]) if layers_cls == "dense" else LowRankLayers([D, D, D], 3, 1)
    shared = [tuple(torch.randn(1, *s) for s in layer) for layer in layers.param_shapes()]
    batched = [tuple(t[:, None].expand(1, 3, *t.shape[1:]) for t in layer) for layer in shared]
    x = torch.randn(1, 3, D)
    assert torch.allclose(layers(x, shared), layers(x, batched), atol=1e-5)


def test_lowrank_layer_is_U_S_V():
    layers = LowRankLayers([4, 5], rank=2, members=1)
    core = torch.randn(1, 2, 2)
    x = torch.randn(1, 3, 4)
    weight = layers.down[0].weight[0] @ core[0] @ layers.up[0].weight[0]  # (4, 5)
    assert torch.allclose(layers(x, [(core,)])[0], x[0] @ weight + layers.up[0].bias[0],
                          atol=1e-5)


def test_apg_parameter_count_matches_its_formula():
    model = build("apg", "base")
    rank, n_layers = 3, 2
    sizes = [(D, D)] * n_layers
    shared = sum(i * rank + rank * o + o for i, o in sizes)  # U, V and the bias
    generator = n_layers * (D * rank * rank + rank * rank)  # G (D x K^2) and g (K^2)
    condition = 3 * (D * D + D * D + 2 * D) + (D * D + D) * 2  # GRU + Linear-Tanh-Linear
    count = lambda m: sum(p.numel() for p in m.parameters())
    assert count(model.layers) == shared
    assert count(model.item_generator) == generator
    assert count(model.item_condition) == condition
    dense = build("duet", "base")
    assert count(dense.item_generator) == n_layers * (D + 1) * (D * D + D)
    assert count(model.item_generator) < count(dense.item_generator)


COMBOS = [(b, d, v) for b in ("din", "gru4rec", "sasrec", "bert4rec")
          for d, v in [("none", "base"), ("apg", "base"), ("duet", "base"), ("apg", "spg"),
                       ("apg", "sml"), ("apg", "scl"), ("duet", "spg"), ("duet", "sml"),
                       ("duet", "scl"), ("duet", "scl_only")]]


@pytest.mark.parametrize(("backbone", "dsr", "variant"), COMBOS,
                         ids=["-".join(c) for c in COMBOS])
def test_every_combination_trains_one_step_and_scores(backbone, dsr, variant):
    model = build(dsr, variant, backbone)
    hist, lengths, cands = batch()
    optim = torch.optim.Adam(model.parameters(), lr=1e-2)
    labels = torch.zeros(1, *cands.shape)
    labels[..., 0] = 1
    model.rng.seed([0], torch.device("cpu"))
    logits, aux = model(hist, lengths, cands)
    assert logits.shape == (1, *cands.shape) and aux.shape == (1,)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels) + 0.1 * aux.sum()
    optim.zero_grad()
    loss.backward()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optim.step()
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert "items.weight" in changed
    if variant in ("scl", "scl_only"):
        assert aux.item() > 0 and "codebook.codes" in changed
    model.eval()
    with torch.no_grad():
        many, _ = model(hist, lengths, torch.randint(1, N_ITEMS + 1, (6, 30)))
    assert many.shape == (1, 6, 30) and torch.isfinite(many).all()


@pytest.mark.parametrize("backbone", ["din", "gru4rec", "sasrec", "bert4rec"])
def test_candidates_scored_together_equal_one_by_one(backbone):
    model = build("duet", "scl", backbone).eval()
    hist, lengths, cands = batch()
    with torch.no_grad():
        together, _ = model(hist, lengths, cands)
        alone = torch.cat([model(hist, lengths, cands[:, j:j + 1])[0]
                           for j in range(cands.shape[1])], dim=2)
    assert torch.allclose(together, alone, atol=1e-5)


@pytest.mark.parametrize("backbone", ["din", "gru4rec", "sasrec", "bert4rec"])
def test_state_does_not_depend_on_padding_width(backbone):
    model = build("duet", "scl", backbone).eval()
    hist, lengths, cands = batch()
    wide = torch.cat([hist, torch.zeros(hist.shape[0], 4, dtype=torch.long)], dim=1)
    with torch.no_grad():
        a, aux_a = model(hist, lengths, cands)
        b, aux_b = model(wide, lengths, cands)
    assert torch.allclose(a, b, atol=1e-5)
    assert aux_a.item() == pytest.approx(aux_b.item(), rel=1e-5)


def test_frozen_generators_stay_put_and_are_saved():
    frozen = {"layers": 2, "init": "authors", "freeze": True}
    model = Recommender(ModelSpec(**{**spec().to_dict(), "dsr_opts": frozen}))
    names = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert names and all(n.startswith("item_generator.") for n in names)
    assert all(n in model.state_dict() for n in names)


@pytest.mark.parametrize(("backbone", "dsr", "variant"), COMBOS,
                         ids=["-".join(c) for c in COMBOS])
def test_a_group_is_its_members_side_by_side(backbone, dsr, variant):
    """Three one-member models stacked into a group give each member's own logits and
    auxiliary loss, and cutting a member back out gives its weights exactly."""
    from solidcli.models.ensemble import member_state

    members = []
    for seed in (0, 1, 2):
        torch.manual_seed(seed)
        members.append(Recommender(spec(dsr, variant, backbone), item_to_semantic=mapping()))
    group = Recommender.group(members).eval()
    hist, lengths, cands = batch()
    per_member = (hist.expand(3, -1, -1), lengths.expand(3, -1), cands.expand(3, -1, -1))
    with torch.no_grad():
        together, aux = group(*per_member)
        for m, member in enumerate(members):
            alone, aux_alone = member.eval()(hist, lengths, cands)
            assert torch.allclose(together[m], alone[0], atol=1e-6)
            assert aux[m].item() == pytest.approx(aux_alone.item(), abs=1e-7)
    for m, member in enumerate(members):
        state = member_state(group, m)
        assert all(torch.equal(state[k], v) for k, v in member.state_dict().items())


@pytest.mark.parametrize(("backbone", "dsr", "variant"), COMBOS,
                         ids=["-".join(c) for c in COMBOS])
def test_all_item_scores_equal_the_sampled_scores_on_their_candidates(backbone, dsr, variant):
    """Full ranking scores every item once per history (DIN: the folded activation unit); on
    the sampled candidates those are the numbers the sampled protocol scores."""
    model = build(dsr, variant, backbone)
    group = Recommender.group([model, build(dsr, variant, backbone)]).eval()
    hist, lengths, cands = batch(c=7)
    with torch.no_grad():
        sampled, _ = group(hist, lengths, cands)
        every = group.score_items(hist, lengths, chunk=4)  # several item chunks
    assert every.shape == (2, hist.shape[0], N_ITEMS + 1)
    picked = torch.gather(every, 2, cands.expand(2, -1, -1))
    assert torch.allclose(picked, sampled, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("backbone", ["sasrec", "bert4rec"])
def test_the_standard_encoder_scores_the_state_against_the_items_as_they_are(backbone):
    """layernorm + tied + normal, and no head (`dsr.none.layers: 0`): standard SASRec's
    model, logit = <encoder state, E_v>; the authors' transforms are not built at all."""
    torch.manual_seed(0)
    model = Recommender(standard_spec(backbone)).eval()
    names = [n for n, _ in model.named_parameters()]
    assert not [n for n in names if n.startswith(("target.", "static.", "layers."))], names
    assert not [n for n in names if "seq_transform" in n]
    assert model.backbone.encoder.input_norm is not None
    hist, lengths, cands = batch()
    logits, _ = model(hist, lengths, cands)
    state = model.backbone(model.items(hist[None]), lengths[None])  # (1, B, D)
    expected = (state[:, :, None] * model.items(cands[None], padding=False)).sum(-1)
    assert torch.allclose(logits, expected, atol=1e-6)
    table = model.items.weight[0, 1:]
    assert 0.012 < table.std().item() < 0.03 and model.items.weight[0, 0].abs().sum() == 0
    encoder = model.backbone.encoder
    assert 0.012 < encoder.positions.std().item() < 0.03
    assert all(layer.ff_in.bias.abs().sum() == 0 for layer in encoder.layers)


def test_the_input_norm_normalises_items_plus_positions():
    """`input: layernorm` feeds the first layer LayerNorm(E_v + P) (dropout 0 here)."""
    torch.manual_seed(0)
    model = Recommender(standard_spec("sasrec")).eval()
    seen = {}

    def keep_input(_module, args):
        seen["x"] = args[0]

    model.backbone.encoder.layers[0].register_forward_pre_hook(keep_input)
    hist, lengths, cands = batch()
    model(hist, lengths, cands)
    x = seen["x"][0]  # (B, L, D)
    summed = model.items(hist) + model.backbone.encoder.positions[0, :hist.shape[1]]
    assert torch.allclose(x, torch.nn.functional.layer_norm(summed, (D,)), atol=1e-6)


def test_no_static_layers_are_the_identity():
    x = torch.randn(1, 4, D)
    layers = DenseLayers([D])
    assert layers.param_shapes() == []
    assert torch.equal(layers(x, []), x)
