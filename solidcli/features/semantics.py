"""Item -> semantic id: k-means (paper Eq. 7) or nearest category centroid (Eq. 8-10).

Each chosen modality (text, image) is L2-normalised per item, then the modalities are
concatenated, so each contributes equally whatever its scale or dimension. k-means
(scikit-learn, seeded) groups the N items into K clusters; semantic ids are 1..K (0 stays
padding), numbered by cluster size, largest first, then by the smallest member item, so the
numbering does not depend on k-means' internal label order.

Which k-means (`semantics.<name>.algorithm`): `lloyd` is scikit-learn's exact
KMeans (float64, 3 seeded k-means++ starts), whose cost grows as items x K, so quadratically
under the authors' rule K ~ items / 3 (15,000 items, K = 5,000: about 6 min on 2 cores; 26,000
items, K = 8,600: about 25 min). `minibatch` is scikit-learn's MiniBatchKMeans on float32
(the best of 3 seeded random starts, batches of max(MINIBATCH_SIZE, 2 K) items, sklearn's
early stopping); labels come from sklearn's chunked assignment, so no items x K matrix is
held whole; a cluster left empty takes the item farthest from its own centre (from a cluster
of two or more), so there are exactly K non-empty clusters, and the centroids are the means
of the final clusters. Its random start costs quality (inertia +1.2 % at K = 32, +18 % at the
authors' K = 550 on Scientific's features), but a k-means++ start is what makes lloyd slow.
Same seed, same bytes, for both. The rule: `auto` (the default) takes lloyd while items x K
<= LLOYD_MAX_WORK (10 million: Scientific, 1,585 x 32, and Scientific full, 4,385 x 1,500,
keep their exact, byte-identical k-means) and minibatch above it
(`benchmarks/kmeans_bench.py`; docs/ARCHITECTURE.md has the measured costs).
"""

from __future__ import annotations

import numpy as np

from solidcli.errors import SolidError

ALGORITHMS = ("auto", "lloyd", "minibatch")
LLOYD_MAX_WORK = 10_000_000  # items x K up to which `auto` runs exact (Lloyd) k-means
MINIBATCH_SIZE = 4096  # MiniBatchKMeans batch: this many items, or 2 K where K is larger


def item_matrix(tables: list[np.ndarray]) -> np.ndarray:
    """Concatenate L2-normalised rows 1..N of each feature table (row 0 is padding)."""
    parts = []
    for table in tables:
        x = table[1:].astype(np.float64)
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        parts.append(x / np.where(norms > 0, norms, 1.0))
    return np.concatenate(parts, axis=1)


def choose_algorithm(n: int, k: int, algorithm: str = "auto") -> str:
    """The k-means that `algorithm` runs on `n` items and K = `k`: lloyd or minibatch."""
    if algorithm not in ALGORITHMS:
        raise SolidError(f"semantics: unknown k-means algorithm '{algorithm}' (choose from "
                         f"{', '.join(ALGORITHMS)})")
    if algorithm != "auto":
        return algorithm
    return "lloyd" if n * k <= LLOYD_MAX_WORK else "minibatch"


def kmeans_semantics(x: np.ndarray, k: int, seed: int, algorithm: str = "auto"
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Semantic id (1..K) for each row of `x` and the (K + 1, d) centroids (row 0 zeros).

    `algorithm`: auto, lloyd or minibatch (module docstring; `choose_algorithm` resolves auto).
    """
    n = x.shape[0]
    if not 1 <= k <= n:
        raise SolidError(f"semantics: k = {k} must be between 1 and the number of items ({n})")
    algorithm = choose_algorithm(n, k, algorithm)
    distinct = np.unique(x, axis=0).shape[0]
    if k > distinct:
        raise SolidError(
            f"semantics: k = {k} is more than the {distinct} distinct item representations"
        )
    if algorithm == "lloyd":
        from sklearn.cluster import KMeans

        km = KMeans(n_clusters=k, n_init=3, random_state=seed)
        labels = km.fit_predict(x)
        centers = km.cluster_centers_
    else:
        labels, centers = _minibatch(x, k, seed)
    sizes = np.bincount(labels, minlength=k)
    first = np.full(k, n, dtype=np.int64)
    np.minimum.at(first, labels, np.arange(n))
    order = np.lexsort((first, -sizes))  # largest cluster first, ties by first member
    new_id = np.empty(k, dtype=np.int64)
    new_id[order] = np.arange(1, k + 1)
    centroids = np.zeros((k + 1, x.shape[1]), dtype=np.float32)
    centroids[1:] = centers[order]
    return new_id[labels], centroids


def _minibatch(x: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels (0..K-1, every cluster non-empty) and (K, d) member means, mini-batch k-means."""
    import warnings

    from sklearn.cluster import MiniBatchKMeans

    x32 = np.ascontiguousarray(x, dtype=np.float32)
    batch = max(MINIBATCH_SIZE, 2 * k)
    # random init: k-means++ is sequential in K and costs more than the fit itself at these
    # sizes (15,000 x 512, K = 5,000: 410 s for one k-means++ start, 16 s for the fit)
    km = MiniBatchKMeans(n_clusters=k, batch_size=batch, init="random", n_init=3,
                         init_size=min(x.shape[0], 3 * batch), random_state=seed)
    with warnings.catch_warnings():  # sklearn's hints on batch sizes and thread counts
        warnings.simplefilter("ignore")
        km.fit(x32)
    labels = km.labels_.astype(np.int64)
    _fill_empty(x32, labels, km.cluster_centers_, k)
    return labels, _member_means(x32, labels, k)


def _fill_empty(x: np.ndarray, labels: np.ndarray, centers: np.ndarray, k: int,
                rows: int = 16384) -> None:
    """Give each empty cluster one item, in place: the items farthest from their own centre
    whose cluster keeps at least one other member, farthest first (ties by item order)."""
    sizes = np.bincount(labels, minlength=k)
    empty = np.flatnonzero(sizes == 0)
    if not empty.size:
        return
    far = np.empty(x.shape[0])
    for lo in range(0, x.shape[0], rows):
        diff = x[lo:lo + rows] - centers[labels[lo:lo + rows]]
        far[lo:lo + rows] = np.einsum("ij,ij->i", diff, diff)
    taken = []
    for i in np.argsort(-far, kind="stable"):
        if sizes[labels[i]] > 1:
            sizes[labels[i]] -= 1
            taken.append(i)
            if len(taken) == empty.size:
                break
    labels[np.array(taken)] = empty


def _member_means(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """(K, d) float64 mean of each cluster's items (every cluster non-empty)."""
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(k))
    sums = np.add.reduceat(x[order].astype(np.float64), starts, axis=0)
    return sums / np.bincount(labels, minlength=k)[:, None]


def category_semantics(x: np.ndarray, labels: list[str | None]
                       ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Each item's primary category (paper Eq. 8-10).

    m_c is the mean representation of the items labelled c (Eq. 8); every item, labelled or
    not, takes the category whose centroid is nearest in Euclidean distance (Eq. 9-10). So an
    item can end up in a category other than its own label when another centroid is closer;
    unlabelled items still get one. Categories are numbered 1..K by number of labelled items,
    largest first, then by name. Returns semantic ids, (K + 1, d) centroids (row 0 zeros) and
    the category names in id order.
    """
    if len(labels) != x.shape[0]:
        raise SolidError("category labels and item representations disagree on the item count")
    labels = [lab if isinstance(lab, str) and lab else None for lab in labels]  # NA -> None
    counts: dict[str, int] = {}
    for label in labels:
        if label:
            counts[label] = counts.get(label, 0) + 1
    if not counts:
        raise SolidError("semantics: method 'category' needs item categories, and this dataset "
                         "has none (set data.<name>.category_prefix, or use method 'kmeans')")
    names = sorted(counts, key=lambda c: (-counts[c], c))
    index = {c: i for i, c in enumerate(names)}
    member = np.array([index[lab] if lab else -1 for lab in labels])
    labelled = member >= 0
    sums = np.zeros((len(names), x.shape[1]))
    np.add.at(sums, member[labelled], x[labelled])
    centroids = sums / np.bincount(member[labelled], minlength=len(names))[:, None]
    dist = _squared_distances(x, centroids)
    table = np.zeros((len(names) + 1, x.shape[1]), dtype=np.float32)
    table[1:] = centroids
    return dist.argmin(axis=1) + 1, table, names


def _squared_distances(x: np.ndarray, centroids: np.ndarray, rows: int = 1024) -> np.ndarray:
    """(N, K) squared Euclidean distances, computed in row blocks to bound memory."""
    out = np.empty((x.shape[0], centroids.shape[0]))
    sq = (centroids ** 2).sum(1)
    for lo in range(0, x.shape[0], rows):
        part = x[lo:lo + rows]
        out[lo:lo + rows] = (part ** 2).sum(1)[:, None] - 2 * part @ centroids.T + sq[None, :]
    return out
