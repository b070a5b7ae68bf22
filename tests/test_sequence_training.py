"""`train.encoding: sequence`: each user's training sequence encoded once, a training row at
every position. The windows hold every row exactly once; where a row's history fits in
max_len its logits are the prefix encoding's; a group's members share every batch's shape;
backbones that cannot (BERT4Rec, DIN) train on prefixes."""

import dataclasses

import numpy as np
import pytest
import torch

from solidcli.data.batching import Windows, pad_histories
from solidcli.engine import fit
from solidcli.models.recommender import Recommender
from solidcli.runs import build_spec
from tests.test_models import N_ITEMS, build


def rows_of(seqs, cap=None, newest_first=False, with_t=False):
    """Leave-one-out training rows (user, x[:t], x[t]) of the given sequences, each history
    cut to its last `cap` items, a user's rows oldest (or, as the files, newest) first; with
    `with_t` also each row's t."""
    users, hists, targets, at = [], [], [], []
    for u, seq in enumerate(seqs, 1):
        ts = range(1, len(seq))
        for t in (reversed(ts) if newest_first else ts):
            users.append(u)
            hists.append(np.asarray(seq[max(0, t - cap) if cap else 0:t]))
            targets.append(seq[t])
            at.append(t)
    out = np.asarray(users), hists, np.asarray(targets)
    return (*out, np.asarray(at)) if with_t else out


def sequences(lengths, seed=0):
    g = np.random.default_rng(seed)
    return [list(g.integers(1, N_ITEMS + 1, size=n)) for n in lengths]


@pytest.mark.parametrize(("cap", "newest_first", "shuffle"),
                         [(None, False, True), (8, True, False), (8, False, False),
                          (4, True, False)])
def test_every_row_is_predicted_once_with_its_own_history_where_it_fits(cap, newest_first,
                                                                        shuffle):
    """Whatever the row order (users interleaved, newest or oldest first) and however the
    files cut long histories (`cap`), the windows rebuild each user's sequence: every row is
    predicted once, from its whole history where that fits in max_len."""
    max_len = 6
    seqs = sequences([2, 5, 7, 15, 30, 3])
    users, hists, targets, ts = rows_of(seqs, cap, newest_first, with_t=True)
    if shuffle:  # users interleaved (rows of one user of distinct lengths)
        order = np.random.default_rng(1).permutation(len(users))
        users, hists, targets, ts = (users[order], [hists[i] for i in order], targets[order],
                                     ts[order])
    w = Windows.from_rows(users, hists, targets, max_len)
    predicted = w.rows[w.rows >= 0]
    assert sorted(predicted.tolist()) == list(range(len(users)))
    stride = max_len // 2
    for win in range(len(w.lengths)):
        n = w.lengths[win]
        assert (w.hist[win, :n] > 0).all() and (w.hist[win, n:] == 0).all()
        for p in np.flatnonzero(w.rows[win] >= 0):
            row = w.rows[win, p]
            seen = w.hist[win, :p + 1]  # what position p has read
            history = np.asarray(seqs[users[row] - 1][:ts[row]])  # the row's uncut history
            if len(history) <= max_len:  # the whole history, nothing else
                assert np.array_equal(seen, history)
            else:  # its last max_len - stride + 1 .. max_len items
                assert max_len - stride + 1 <= len(seen) <= max_len
                assert np.array_equal(seen, history[-len(seen):])
            assert p < n


def test_rows_that_are_not_prefixes_are_refused():
    users, hists, targets = rows_of(sequences([4]))
    with pytest.raises(ValueError, match="prefixes"):
        Windows.from_rows(users[1:], hists[1:], targets[1:], 10)  # the row of x[:1] missing
    bad = targets.copy()
    bad[0] = bad[0] % N_ITEMS + 1  # x[1] is not the next history's last item
    with pytest.raises(ValueError, match="prefixes"):
        Windows.from_rows(users, hists, bad, 10)


@pytest.mark.parametrize("size", [1, 4, 9, 64])
def test_batches_have_the_same_shapes_for_every_seed_and_cover_every_window(size):
    users, hists, targets = rows_of(sequences([2, 3, 3, 5, 7, 9, 9, 12, 20, 4, 4, 2], seed=3))
    w = Windows.from_rows(users, hists, targets, 8)
    shapes = []
    for seed in (0, 1, 2):
        batches = w.batches(size, np.random.default_rng(seed), [7, 1, 1])
        assert sorted(np.concatenate(batches).tolist()) == list(range(len(w.lengths)))
        shapes.append([(w.lengths[b].tolist(), (w.rows[b] >= 0).tolist()) for b in batches])
        predicted = [int((w.rows[b] >= 0).sum()) for b in batches]
        assert min(predicted) >= 1
        assert sum(predicted) == len(users)
    assert shapes[0] == shapes[1] == shapes[2]
    # about `size` rows per batch: fewer batches than windows once size > the longest window
    if size >= 12:
        assert len(batches) < len(w.lengths)


COMBOS = [(b, d, v) for b in ("sasrec", "gru4rec")
          for d, v in [("none", "base"), ("duet", "base"), ("apg", "base"), ("duet", "scl"),
                       ("apg", "sml"), ("duet", "spg"), ("duet", "scl_only")]]


@pytest.mark.parametrize(("backbone", "dsr", "variant"), COMBOS,
                         ids=["-".join(c) for c in COMBOS])
def test_one_pass_gives_each_rows_prefix_logits(backbone, dsr, variant):
    """With dropout off, the logits of a row read at its position of a window equal `forward`
    on the row's own padded prefix (generated DSR weights, codebook and semantic trunk
    included); rows longer than max_len read a shorter window (checked above) and differ."""
    max_len = 10
    users, hists, targets = rows_of(sequences([2, 5, 9, 14, 3]))
    w = Windows.from_rows(users, hists, targets, max_len)
    model = build(dsr, variant, backbone).train()  # the training path; dropout is 0
    cands = torch.from_numpy(np.stack([targets, targets % N_ITEMS + 1], axis=1))
    rows = torch.from_numpy(w.rows).flatten()
    at = (rows >= 0).nonzero().squeeze(1)
    with torch.no_grad():
        got, aux = model.position_logits(torch.from_numpy(w.hist), torch.from_numpy(w.lengths),
                                         at, cands[rows[at]][None])
        ph, pl = pad_histories(hists, max_len)
        ref, _ = model(torch.from_numpy(ph), torch.from_numpy(pl), cands)
    fits = torch.tensor([len(hists[r]) <= max_len for r in rows[at].tolist()])
    assert got.shape == (1, len(users), 2) and aux.shape == (1,)
    assert torch.allclose(got[0][fits], ref[0][rows[at]][fits], atol=1e-6)
    assert not torch.allclose(got[0][~fits], ref[0][rows[at]][~fits], atol=1e-6)


@pytest.mark.parametrize("backbone", ["bert4rec", "din"])
def test_backbones_that_see_beyond_a_position_refuse(backbone):
    model = build("duet", "base", backbone)
    with pytest.raises(ValueError, match="one sequence at a time"):
        model.position_logits(torch.ones(1, 3, dtype=torch.long), torch.tensor([3]),
                              torch.tensor([0]), torch.ones(1, 1, 2, dtype=torch.long))


@pytest.mark.parametrize(("backbone", "loss", "epochs"), [("sasrec", "bce", 3),
                                                          ("gru4rec", "ce", 2),
                                                          ("bert4rec", "bce", 1)])
def test_fit_trains_a_group_one_sequence_at_a_time(prepared, backbone, loss, epochs):
    """A two-seed group trains through `fit` with `encoding: sequence` (BERT4Rec: on prefixes,
    recorded as such) and its loss falls; a rerun gives the same weights bit for bit."""
    params, data, mapping, k = prepared
    spec = build_spec(params, data.n_items, backbone, "duet", "scl", k)
    cfg = dataclasses.replace(params.train, encoding="sequence", loss=loss, epochs=epochs,
                              min_epochs=epochs, lr=0.01)

    def train():
        members = []
        for seed in (0, 1):
            torch.manual_seed(seed)
            members.append(Recommender(spec, item_to_semantic=mapping))
        return fit(Recommender.group(members), data, cfg, lam=spec.lam, seeds=[0, 1],
                   data_seed=0, device=torch.device("cpu"), ties="conservative", label="t")

    first = train()
    expected = "prefix" if backbone == "bert4rec" else "sequence"
    for res in first:
        assert res.encoding == expected
        losses = [row["loss"] for row in res.curves]
        assert len(losses) == epochs and (epochs == 1 or losses[-1] < losses[0]), losses
    if backbone == "sasrec":
        for res, rerun in zip(first, train(), strict=True):
            assert all(torch.equal(v, rerun.state[name]) for name, v in res.state.items())


@pytest.mark.parametrize("backbone", ["sasrec", "gru4rec", "bert4rec"])
def test_a_large_catalogue_scores_only_the_candidates(monkeypatch, backbone):
    """Above `EVERY_ITEM_UP_TO` items, scoring (validation, the sampled test) multiplies the
    candidates alone instead of every item: the same logits up to rounding."""
    from solidcli.models import recommender
    from tests.test_models import batch

    model = build("duet", "scl", backbone).eval()
    hist, lengths, cands = batch(c=7)
    with torch.no_grad():
        every, _ = model(hist, lengths, cands)
        monkeypatch.setattr(recommender, "EVERY_ITEM_UP_TO", 0)
        alone, _ = model(hist, lengths, cands)
    assert torch.allclose(every, alone, atol=1e-6)


def test_the_fused_gru_a_gpu_runs_trains_as_the_loop():
    """Off the CPU the GRU runs torch.gru (cuDNN); its outputs and gradients are the loop's."""
    from solidcli.models.ensemble import GRU

    torch.manual_seed(0)
    gru = GRU(2, 6, 5, layers=2).train()  # no dropout between layers: comparable
    seq = torch.randn(2, 3, 7, 6)
    grads = []
    for run in (gru, gru._fused):
        gru.zero_grad()
        out = run(seq)
        out.square().sum().backward()
        grads.append((out.detach(), [p.grad.clone() for p in gru.parameters()]))
    torch.testing.assert_close(grads[0][0], grads[1][0], rtol=1e-5, atol=1e-6)
    for a, b in zip(grads[0][1], grads[1][1], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
