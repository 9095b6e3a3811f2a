"""Can a depth-3 decision tree reproduce an agent's decisions? (docs/domain.md §3) Pure scikit-learn.

The legacy metric is the in-sample `match_rate`; a 3-deep tree fits noise too, so every fit
also reports held-out accuracy (stratified k-fold, out-of-fold predictions) with a 95% Wilson
interval, against the majority-class baseline. Only a held-out score above the baseline says
the rule is real.

A fit is evidence only on inputs it really saw. Each declared feature's coverage is the share of
rows where it was present (not defaulted); a feature under MIN_FEATURE_COVERAGE is missing, and a
fit whose declared features are mostly missing (more than half) is `no_features`, naming them:
its tree would describe the defaults, not the agent. A fit where no feature varies at all is
`constant_features`: a tree cannot split, so its "accuracy" is the majority baseline restated.
Neither is fitted, so neither gives a metric or a verdict.
"""

from collections import Counter

import numpy as np
import pandas as pd
import sklearn
from sklearn.model_selection import StratifiedKFold
from sklearn.tree import DecisionTreeClassifier, export_text

from alpha_replay_assets.stats import wilson_ci

MIN_SAMPLES = 10
MAX_FOLDS = 5
MIN_FEATURE_COVERAGE = 0.5


def _tree() -> DecisionTreeClassifier:
    return DecisionTreeClassifier(max_depth=3, random_state=0)


def _as_tree_input(x: np.ndarray) -> np.ndarray:
    """`x` as the float32 matrix a tree fits on anyway, checked here once per agent, not by sklearn
    on every fit and fold: its per-call validation cost more than the trees (bench/README.md).
    A value float32 cannot hold fails the fit, as sklearn's own check has it."""
    x32 = x.astype(np.float32)
    if not np.isfinite(x32).all():
        raise ValueError("a feature value is infinite or too large for float32")
    return x32


def _fit(x32: np.ndarray, y: np.ndarray) -> DecisionTreeClassifier:
    """A tree on checked input (`_as_tree_input`); the same tree sklearn's checked path gives."""
    with sklearn.config_context(skip_parameter_validation=True):
        return _tree().fit(x32, y, check_input=False)


def feature_matrix(features) -> tuple[np.ndarray, list[str]]:
    """`features` (a frame of numeric columns, or one dict per row) as a float matrix with its
    columns sorted by name; a feature a row lacks reads as 0 (as sklearn's DictVectorizer has it)."""
    frame = pd.DataFrame(features)
    names = sorted(frame.columns)
    return frame[names].to_numpy(dtype=float, na_value=0.0), names


def missing_features(coverage: dict[str, float]) -> list[str]:
    """The declared features present in fewer than MIN_FEATURE_COVERAGE of the rows."""
    return sorted(name for name, share in coverage.items() if share < MIN_FEATURE_COVERAGE)


def fit_rule(labels: list[str], features, coverage: dict[str, float] | None = None) -> dict:
    """Fit one agent on `features` (see `feature_matrix`); `coverage` = each declared feature's
    share of rows where it was present (None: all were). Returns a dict with `status` in
    {fitted, thin_sample, no_features, single_class, constant_features}."""
    counts = Counter(labels)
    result = {"n_samples": len(labels), "class_counts": dict(sorted(counts.items()))}
    if len(labels) < MIN_SAMPLES:
        return result | {"status": "thin_sample"}
    if coverage is not None and (not coverage or 2 * len(missing_features(coverage)) > len(coverage)):
        return result | {"status": "no_features"}  # none declared, or most absent
    if len(counts) < 2:
        return result | {"status": "single_class"}
    x, names = feature_matrix(features)
    if not (x.shape[1] and np.ptp(x, axis=0).any()):
        return result | {"status": "constant_features"}
    # Fitted on label codes in sorted label order (sklearn's own encoding, so the same trees and
    # folds): sorting millions of label strings on every fit and fold cost more than the trees.
    y, classes = pd.factorize(np.asarray(labels, dtype=object), sort=True)
    x32 = _as_tree_input(x)
    tree = _fit(x32, y)
    baseline = max(counts.values()) / len(labels)
    result |= {
        "status": "fitted",
        "match_rate": float((tree.predict(x32, check_input=False) == y).mean()),
        "baseline": baseline,
        "tree_text": export_text(tree, feature_names=names, class_names=list(classes)),
        "feature_importances": {n: round(float(v), 4) for n, v in zip(names, tree.feature_importances_) if v > 0},
        "split_features": sorted({names[i] for i in tree.tree_.feature if i >= 0}),
        "tree_json": tree_structure(tree, names, classes),
    }
    folds = min(MAX_FOLDS, min(counts.values()))
    if folds < 2:
        return result | {"heldout_accuracy": None, "heldout_note": "smallest class has one sample: no held-out score"}
    correct = int((out_of_fold(x32, y, folds) == y).sum())
    low, high = wilson_ci(correct, len(labels))
    accuracy = correct / len(labels)
    return result | {
        "heldout_accuracy": accuracy,
        "heldout_ci_low": low,
        "heldout_ci_high": high,
        "heldout_folds": folds,
        "lift": accuracy - baseline,
    }


def out_of_fold(x32: np.ndarray, y: np.ndarray, folds: int) -> np.ndarray:
    """Each row's prediction by the tree fitted on the other folds (`x32` from `_as_tree_input`):
    `cross_val_predict` with stratified shuffled folds, without its per-call machinery (validation,
    cloning, joblib), which cost more than the trees themselves on a window's ~300 fits (same
    folds, same predictions)."""
    predicted = np.empty_like(y)
    for train, test in StratifiedKFold(n_splits=folds, shuffle=True, random_state=0).split(x32, y):
        predicted[test] = _fit(x32[train], y[train]).predict(x32[test], check_input=False)
    return predicted


def tree_structure(tree: DecisionTreeClassifier, names: list[str], classes) -> dict:
    """A fitted tree (on codes of `classes`) as plain JSON (feature, threshold, children, class):
    storable, comparable across windows, and applicable to rows without pickling a model."""
    t = tree.tree_

    def node(i: int) -> dict:
        if t.children_left[i] < 0:
            return {"class": str(classes[tree.classes_[int(np.argmax(t.value[i]))]])}
        return {"feature": names[t.feature[i]], "threshold": float(t.threshold[i]),
                "left": node(t.children_left[i]), "right": node(t.children_right[i])}
    return node(0)


def predict(structure: dict, features: pd.DataFrame) -> np.ndarray:
    """The class the tree gives each row of `features` (a feature a row lacks reads as 0)."""
    classes = np.empty(len(features), dtype=object)

    def walk(node: dict, rows: np.ndarray) -> None:
        if "class" in node:
            classes[rows] = node["class"]
            return
        name = node["feature"]
        values = features[name].fillna(0.0).to_numpy()[rows] if name in features else np.zeros(len(rows))
        left = values <= node["threshold"]
        walk(node["left"], rows[left])
        walk(node["right"], rows[~left])
    walk(structure, np.arange(len(features)))
    return classes


def _splits(structure: dict) -> list[tuple[str, float]]:
    if "class" in structure:
        return []
    return [(structure["feature"], structure["threshold"]), *_splits(structure["left"]), *_splits(structure["right"])]


def rule_stability(current: dict, previous: dict, rows: pd.DataFrame, threshold_tolerance: float = 0.1,
                   min_agreement: float = 0.95) -> dict:
    """Is `current` the same rule as `previous`? Same split features, each threshold within a
    relative tolerance of the nearest previous one on that feature, and the same predictions on
    the shared rows (their features)."""
    now, before = _splits(current), _splits(previous)
    same_features = sorted({f for f, _ in now}) == sorted({f for f, _ in before})
    deltas = []
    for feature, threshold in now:
        others = [t for f, t in before if f == feature]
        if others:
            nearest = min(others, key=lambda t: abs(t - threshold))
            deltas.append(abs(threshold - nearest) / max(abs(nearest), 1e-9))
    max_delta = max(deltas) if deltas and len(deltas) == len(now) else None
    agreement = float((predict(current, rows) == predict(previous, rows)).mean()) if len(rows) else None
    stable = (same_features and max_delta is not None and max_delta <= threshold_tolerance
              and agreement is not None and agreement >= min_agreement)
    return {"rule_same_features": same_features, "rule_max_threshold_delta": max_delta,
            "rule_prediction_agreement": agreement, "rule_stable": bool(stable)}
