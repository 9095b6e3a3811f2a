"""Small statistics with honest uncertainty: bootstrap CI of a mean, Wilson CI of a proportion."""

import math

import numpy as np


def bootstrap_mean_ci(values, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float] | None:
    """Percentile bootstrap CI of the mean; None for fewer than 2 values."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return None
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(n_boot, len(values)))].mean(axis=1)
    alpha = (1 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def wilson_ci(successes: int, n: int, z: float = 1.959964) -> tuple[float, float] | None:
    """Wilson score interval of a proportion; None when n is 0."""
    if n == 0:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def cohen_kappa(pairs: list[tuple[str, str]]) -> tuple[float | None, dict]:
    """Cohen's kappa of (rater A, rater B) label pairs, and the confusion matrix {a: {b: n}}.
    None when undefined (no pairs, or both raters always give the same single label)."""
    labels = sorted({x for pair in pairs for x in pair})
    confusion = {a: {b: 0 for b in labels} for a in labels}
    for a, b in pairs:
        confusion[a][b] += 1
    n = len(pairs)
    if n == 0:
        return None, confusion
    observed = sum(confusion[label][label] for label in labels) / n
    expected = sum(
        sum(confusion[label].values()) * sum(confusion[a][label] for a in labels) for label in labels
    ) / (n * n)
    return (None if expected == 1 else (observed - expected) / (1 - expected)), confusion


def paired_bootstrap_diff(a, b, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> dict | None:
    """Means of paired samples a and b, and bootstrap CIs of mean(a) - mean(b) and of
    mean(a) / mean(b) (rows resampled together, so the pairing is kept)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(a) != len(b):
        return None
    idx = np.random.default_rng(seed).integers(0, len(a), size=(n_boot, len(a)))
    mean_a, mean_b = a[idx].mean(axis=1), b[idx].mean(axis=1)
    alpha = (1 - level) / 2
    diff = mean_a - mean_b
    ratio = np.divide(mean_a, mean_b, out=np.full_like(mean_a, np.nan), where=mean_b > 0)
    ratio = ratio[~np.isnan(ratio)]
    return {
        "mean_a": float(a.mean()), "mean_b": float(b.mean()), "diff": float(a.mean() - b.mean()),
        "diff_ci": (float(np.quantile(diff, alpha)), float(np.quantile(diff, 1 - alpha))),
        "ratio_ci": (float(np.quantile(ratio, alpha)), float(np.quantile(ratio, 1 - alpha))) if len(ratio) else None,
    }
