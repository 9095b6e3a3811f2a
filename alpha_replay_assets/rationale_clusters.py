"""Rationale template clustering (docs/domain.md §3b): how much of an agent's prose is one template with
the numbers swapped? Pure: no Dagster, no I/O.

Rationales are normalised for structure, not meaning (lower case, every run of digits with its
decimals `#`, whitespace collapsed), embedded as TF-IDF over character 3-5-grams (sublinear tf,
L2 norm) and merged by single linkage at cosine similarity >= 0.75: the clusters are the
connected components of the graph whose edges are pairs at or above the threshold, which is
exactly what greedy single linkage (join every cluster holding a close enough member) builds.
The graph is built by sparse matrix products one block of rows at a time, never by a Python loop
over pairs, and identical normalised texts are embedded once (their similarity is 1: one cluster).
"""

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize

SIMILARITY = 0.75  # single-linkage merge threshold (cosine)
TOP_CLUSTERS = 3  # concentration = their share of all rationales
MIN_RATIONALES = 5  # fewer is a thin sample: no metric
TEMPLATED = 0.7  # concentration above this means templated
REPRESENTATIVES = 3  # distinct rationales kept per reported cluster
REPORTED_CLUSTERS = 10  # clusters reported with representatives (all sizes are reported)
# Rows of the similarity product per block: a block's products are at most BLOCK x n floats.
BLOCK = 512
PAIRS = 100_000  # candidate pairs whose exact similarity is computed at once
DENSE = 0.02  # candidate share of a block above which its full product is computed instead
# float products of unit vectors: a hair of tolerance so a similarity of exactly 0.75 is not lost to rounding
MARGIN = 1e-6

DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Structure, not meaning: lower case, digit runs (with decimals) -> `#`, whitespace collapsed."""
    return SPACE.sub(" ", DIGITS.sub("#", text.lower())).strip()


def vectoriser() -> TfidfVectorizer:
    """The embedding of docs/domain.md §3b, as scikit-learn spells it (what `tfidf` computes)."""
    return TfidfVectorizer(analyzer="char", ngram_range=(3, 5), sublinear_tf=True, norm="l2", lowercase=False)


def tfidf(texts: list[str], weights: np.ndarray) -> csr_matrix:
    """`vectoriser().fit(corpus).transform(texts)` where the corpus holds each text `weights` times,
    with each distinct text analysed once: char n-gram counts by scikit-learn's CountVectorizer,
    then the same smooth idf, sublinear tf and L2 norm (a test holds it equal to the vectoriser)."""
    v = vectoriser()
    counts = CountVectorizer(analyzer="char", ngram_range=v.ngram_range, lowercase=False).fit_transform(texts)
    counts = counts.tocsr().astype(np.float64)
    df = np.bincount(counts.indices, weights=np.repeat(weights, np.diff(counts.indptr)), minlength=counts.shape[1])
    idf = np.log((1 + weights.sum()) / (1 + df)) + 1
    counts.data = (1 + np.log(counts.data)) * idf[counts.indices]
    return normalize(counts, norm="l2", copy=False)


def _indexed(matrix: csr_matrix, threshold: float) -> csr_matrix:
    """The part of each row that any pair at `threshold` must share (all-pairs prefix filtering).

    Features are ordered globally, most frequent first. For each row, the longest run of its most
    frequent features whose possible contribution to any dot product stays below the threshold
    (the smaller of its L2 norm and the sum of weight x the feature's largest weight anywhere) is
    left out. If two rows share no kept feature, every feature they share lies in the left-out
    run of the row that left out more of the order, so their similarity is below the threshold:
    pairs sharing a kept feature are the only candidates. Common n-grams (" th", "the") make the
    full product dense; the kept, rarer ones do not."""
    df = np.bincount(matrix.indices, minlength=matrix.shape[1])
    rank = np.empty(matrix.shape[1], dtype=np.int64)
    rank[np.lexsort((np.arange(matrix.shape[1]), -df))] = np.arange(matrix.shape[1])
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    order = np.lexsort((rank[matrix.indices], rows))  # per row, most frequent feature first
    values, features = matrix.data[order].astype(np.float64), matrix.indices[order]
    largest = matrix.max(axis=0).toarray().ravel().astype(np.float64)
    starts = np.repeat(matrix.indptr[:-1], np.diff(matrix.indptr))

    def running(x: np.ndarray) -> np.ndarray:  # cumulative sum within each row
        total = np.cumsum(x)
        return total - np.concatenate(([0.0], total))[starts]

    bound = np.minimum(np.sqrt(running(values ** 2)), running(values * largest[features]))
    keep = bound >= threshold - MARGIN
    return csr_matrix((values[keep], (rows[order][keep], features[keep])), shape=matrix.shape)


def close_pairs(texts: list[str], weights: np.ndarray | None = None,
                threshold: float = SIMILARITY) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) index arrays of the pairs i < j of `texts` at cosine similarity >= threshold. TF-IDF
    is fitted as if each text occurred `weights` times (the corpus with its duplicates), so the
    vectors are those of the full corpus."""
    empty = np.empty(0, dtype=np.int64)
    if len(texts) < 2:
        return empty, empty
    try:
        matrix = tfidf(texts, np.ones(len(texts)) if weights is None else np.asarray(weights, dtype=np.float64))
    except ValueError:  # no text has a 3-gram: no vector, no similarity
        return empty, empty
    indexed = _indexed(matrix, threshold)
    transposed, matrix_t = indexed.T.tocsc(), matrix.T.tocsc()
    found_i, found_j = [empty], [empty]
    filtered = True  # until a block shows that most pairs are candidates (a small vocabulary)
    for start in range(0, matrix.shape[0], BLOCK):
        if filtered:
            candidates = (indexed[start:start + BLOCK] @ transposed).tocoo()
            filtered = candidates.nnz <= DENSE * candidates.shape[0] * candidates.shape[1]
        if not filtered:  # the full product of the block is cheaper than checking its candidates
            block = (matrix[start:start + BLOCK] @ matrix_t).tocoo()
            close = (block.data >= threshold - MARGIN) & (block.row + start < block.col)
            found_i.append(block.row[close] + start)
            found_j.append(block.col[close])
            continue
        upper = candidates.row + start < candidates.col
        i, j = candidates.row[upper] + start, candidates.col[upper]
        for at in range(0, len(i), PAIRS):  # exact similarity of the candidates, a bounded number at a time
            a, b = i[at:at + PAIRS], j[at:at + PAIRS]
            similarity = np.asarray(matrix[a].multiply(matrix[b]).sum(axis=1)).ravel()
            close = similarity >= threshold - MARGIN
            found_i.append(a[close])
            found_j.append(b[close])
    return np.concatenate(found_i).astype(np.int64), np.concatenate(found_j).astype(np.int64)


@dataclass
class Clusters:
    """An agent's rationales clustered: sizes (descending) and per cluster its distinct texts."""
    n: int
    sizes: list[int]
    members: list[list[str]] = field(default_factory=list)  # per cluster, distinct raw texts, most frequent first

    @property
    def concentration(self) -> float | None:
        """Share of all rationales in the TOP_CLUSTERS largest clusters; None for a thin sample."""
        if self.n < MIN_RATIONALES:
            return None
        return sum(self.sizes[:TOP_CLUSTERS]) / self.n

    def representatives(self, k: int = REPRESENTATIVES, clusters: int = REPORTED_CLUSTERS) -> list[dict]:
        """The largest clusters, each with its size and up to `k` distinct rationales."""
        return [{"size": size, "representatives": texts[:k]}
                for size, texts in zip(self.sizes[:clusters], self.members[:clusters])]


def cluster(rationales: list[str], threshold: float = SIMILARITY) -> Clusters:
    """Single-linkage clusters of `rationales` (blank ones are not rationales and are dropped)."""
    raw = [r for r in rationales if isinstance(r, str) and r.strip()]
    if not raw:
        return Clusters(0, [])
    normal = [normalise(r) for r in raw]
    distinct = sorted(set(normal))
    position = {text: i for i, text in enumerate(distinct)}
    counts = np.bincount([position[t] for t in normal], minlength=len(distinct))
    i, j = close_pairs(distinct, counts, threshold)
    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(len(distinct), len(distinct)))
    _, label = connected_components(graph, directed=False)
    sizes = np.bincount(label, weights=counts).astype(int)
    # clusters by size (descending), ties by their first distinct text: deterministic
    order = sorted(range(len(sizes)), key=lambda c: (-sizes[c], c))
    rank = {c: r for r, c in enumerate(order)}
    texts = [Counter() for _ in order]
    for text, norm in zip(raw, normal):
        texts[rank[label[position[norm]]]][text] += 1
    return Clusters(len(raw), [int(sizes[c]) for c in order],
                    [[t for t, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))] for c in texts])
