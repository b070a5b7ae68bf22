"""Item -> semantic id by k-means over item representations (paper Eq. 7).

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
