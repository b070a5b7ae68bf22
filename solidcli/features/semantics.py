"""Item -> semantic id: k-means (paper Eq. 7) or nearest category centroid (Eq. 8-10).

Each chosen modality (text, image) is L2-normalised per item, then the modalities are
concatenated, so each contributes equally whatever its scale or dimension. k-means
(scikit-learn, seeded) groups the N items into K clusters; semantic ids are 1..K (0 stays
padding), numbered by cluster size, largest first, then by the smallest member item, so the
numbering does not depend on k-means' internal label order.
"""

from __future__ import annotations

import numpy as np

from solidcli.errors import SolidError


def item_matrix(tables: list[np.ndarray]) -> np.ndarray:
    """Concatenate L2-normalised rows 1..N of each feature table (row 0 is padding)."""
    parts = []
    for table in tables:
        x = table[1:].astype(np.float64)
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        parts.append(x / np.where(norms > 0, norms, 1.0))
    return np.concatenate(parts, axis=1)


def kmeans_semantics(x: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Semantic id (1..K) for each row of `x` and the (K + 1, d) centroids (row 0 zeros)."""
    from sklearn.cluster import KMeans

    n = x.shape[0]
    if not 1 <= k <= n:
        raise SolidError(f"semantics: k = {k} must be between 1 and the number of items ({n})")
    distinct = np.unique(x, axis=0).shape[0]
    if k > distinct:
        raise SolidError(
            f"semantics: k = {k} is more than the {distinct} distinct item representations"
        )
    km = KMeans(n_clusters=k, n_init=3, random_state=seed)
    labels = km.fit_predict(x)
    sizes = np.bincount(labels, minlength=k)
    first = np.full(k, n, dtype=np.int64)
    np.minimum.at(first, labels, np.arange(n))
    order = np.lexsort((first, -sizes))  # largest cluster first, ties by first member
    new_id = np.empty(k, dtype=np.int64)
    new_id[order] = np.arange(1, k + 1)
    centroids = np.zeros((k + 1, x.shape[1]), dtype=np.float32)
    centroids[1:] = km.cluster_centers_[order]
    return new_id[labels], centroids


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
