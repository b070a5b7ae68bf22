"""The chunked nearest-code search (issue 27) gives the whole table's results bit for bit:
indices, quantised vectors, auxiliary losses, gradients, dead-code restarts; and it never
holds more than its bound of distances."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from solidcli.models import codebook as cb


def reference_nearest(x: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """The search as it was before chunking: the whole (S, rows, N_c) table at once."""
    s = x.shape[0]
    flat = x.reshape(s, -1, x.shape[-1])
    dist = torch.baddbmm(codes.pow(2).sum(-1).unsqueeze(1), flat, codes.transpose(1, 2),
                         alpha=-2.0) + flat.pow(2).sum(-1, keepdim=True)
    return dist.argmin(dim=-1).view(x.shape[:-1])


def small_chunks(monkeypatch, min_rows: int) -> None:
    """Every input longer than `min_rows` rows goes through windows of `min_rows` rows."""
    monkeypatch.setattr(cb, "CHUNK_BYTES", 1)
    monkeypatch.setattr(cb, "MIN_CHUNK_ROWS", min_rows)


def data(s: int, rows: int, n_codes: int, d: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(s, rows, d, generator=gen), torch.randn(s, n_codes, d, generator=gen)


def test_chunk_rows_rule():
    assert cb.chunk_rows(5, 8600, 4) == (64 << 20) // (5 * 8600 * 4)
    assert cb.chunk_rows(1, 10**9, 4) == cb.MIN_CHUNK_ROWS
    assert cb.chunk_rows(1, 2, 8) == cb.CHUNK_BYTES // 16


@pytest.mark.parametrize("min_rows", [16, 64, 100])
@pytest.mark.parametrize("d", [8, 64])
@pytest.mark.parametrize("s", [1, 3])
def test_indices_equal_whole_table(monkeypatch, s, d, min_rows):
    small_chunks(monkeypatch, min_rows)
    for rows in [1, 15, 16, 17, 64, 65, 99, 101, 257, 1000, 3001]:
        for n_codes in [2, 17, 300]:
            x, codes = data(s, rows, n_codes, d, seed=rows * 7 + n_codes)
            got = cb.nearest_code(x, codes)
            assert torch.equal(got, reference_nearest(x, codes)), (rows, n_codes)


@pytest.mark.parametrize("d", [32, 64])
def test_training_step_shape_at_the_real_bound(d):
    """A step of the Scientific mechanics study at K = 550 (5 seeds, 256 histories of 50):
    12,800 rows, more than the 6,100 of one 64 MiB window, so three windows, the last moved
    back; and a short last batch."""
    assert cb.chunk_rows(5, 550, 4) < 256 * 50
    for batch in (256, 137):
        x, codes = data(5, batch * 50, 550, d, seed=batch)
        hist = x.view(5, batch, 50, d)
        assert torch.equal(cb.nearest_code(hist, codes), reference_nearest(hist, codes))


def test_strided_input_and_extra_axes(monkeypatch):
    """A slice of the item table (row 0 left out), and (S, B, L, D) histories."""
    small_chunks(monkeypatch, 64)
    table, codes = data(3, 2001, 50, 64)
    items = table[:, 1:]
    assert torch.equal(cb.nearest_code(items, codes), reference_nearest(items, codes))
    hist = table[:, :2000].reshape(3, 40, 50, 64)
    got = cb.nearest_code(hist, codes)
    assert got.shape == (3, 40, 50)
    assert torch.equal(got, reference_nearest(hist, codes))


def test_ties_go_to_the_first_code(monkeypatch):
    small_chunks(monkeypatch, 16)
    _, codes = data(1, 1, 8, 8)
    codes = torch.cat([codes, codes], dim=1)  # codes 8..15 repeat codes 0..7
    x = codes[:, torch.arange(500) % 16]
    got = cb.nearest_code(x, codes)
    assert torch.equal(got, reference_nearest(x, codes))
    assert torch.equal(got[0], torch.arange(500) % 8)


def forward_and_grads(book: cb.SemanticCodebook, x: torch.Tensor, kind: str):
    x = x.clone().requires_grad_(True)
    book.zero_grad()
    seq, codes = book(x)
    mask = torch.ones(x.shape[:-1], dtype=torch.bool)
    mask[:, :, -3:] = False
    aux = cb.aux_loss(kind, x, codes, mask, commitment=0.25)
    weight = torch.linspace(-1, 1, x.numel()).view_as(x)
    (aux.sum() + (seq * weight).sum()).backward()
    return seq.detach(), codes.detach(), aux.detach(), x.grad, book.codes.grad


@pytest.mark.parametrize("kind", ["paper", "vq", "authors"])
@pytest.mark.parametrize("straight_through", [False, True])
@pytest.mark.parametrize("s", [1, 3])
def test_forward_losses_and_gradients_equal(monkeypatch, s, straight_through, kind):
    table, init = data(s, 32 * 20, 70, 64, seed=s)
    x = table.view(s, 32, 20, 64)
    book = cb.SemanticCodebook(init, trainable=True, straight_through=straight_through)
    with monkeypatch.context() as m:
        m.setattr(cb.SemanticCodebook, "nearest",
                  lambda self, v: reference_nearest(v, self.codes.detach()))
        want = forward_and_grads(book, x, kind)
    small_chunks(monkeypatch, 64)
    got = forward_and_grads(book, x, kind)
    assert got[3] is not None  # x's gradient: from the aux loss or straight through
    for a, b in zip(got, want, strict=True):
        assert (a is None and b is None) or torch.equal(a, b)


def test_restart_dead_equal(monkeypatch):
    items, init = data(3, 900, 120, 8, seed=3)
    moved = []
    for chunked in (False, True):
        if chunked:
            small_chunks(monkeypatch, 64)
        else:
            monkeypatch.setattr(cb.SemanticCodebook, "nearest",
                                lambda self, v: reference_nearest(v, self.codes))
        book = cb.SemanticCodebook(init)
        rngs = [np.random.default_rng(m) for m in range(3)]
        moved.append((book.restart_dead(items, rngs), book.codes.detach().clone()))
        monkeypatch.undo()
    assert moved[0][0] == moved[1][0] and sum(moved[0][0]) > 0
    assert torch.equal(moved[0][1], moved[1][1])


def test_distances_held_stay_under_the_bound(monkeypatch):
    """No table of distances exceeds CHUNK_BYTES (counted at `_distances`), and no single
    allocation of the search does either (torch.profiler's CPU memory)."""
    s, rows, n_codes = 3, 5000, 100
    bound = 100 << 10
    monkeypatch.setattr(cb, "CHUNK_BYTES", bound)
    seen = []
    inner = cb._distances

    def counting(flat, codes, sq_codes):
        out = inner(flat, codes, sq_codes)
        seen.append(out.numel() * out.element_size())
        return out

    monkeypatch.setattr(cb, "_distances", counting)
    x, codes = data(s, rows, n_codes, 64)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU],
                                profile_memory=True) as prof:
        got = cb.nearest_code(x, codes)
    step = cb.chunk_rows(s, n_codes, 4)
    assert len(seen) == -(-rows // step) and max(seen) <= bound
    whole = s * rows * n_codes * 4
    assert whole > 50 * bound
    largest = max(e.cpu_memory_usage for e in prof.events() if e.cpu_memory_usage > 0)
    assert largest <= max(bound, got.numel() * got.element_size())  # or the (S, rows) index
    assert torch.equal(got, reference_nearest(x, codes))


def test_traced_search_takes_the_whole_table(monkeypatch):
    """`solid export` traces the model: the graph must not freeze a chunk count."""
    small_chunks(monkeypatch, 16)
    x, codes = data(2, 100, 30, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's deprecation, as in `solid export`
        traced = torch.jit.trace(lambda v: cb.nearest_code(v, codes), (x,),
                                 check_trace=False)
    other, _ = data(2, 333, 30, 8, seed=1)
    assert torch.equal(traced(other), reference_nearest(other, codes))
