"""Can a depth-3 decision tree reproduce an agent's decisions? (domain §3) Pure scikit-learn.

The legacy metric is the in-sample `match_rate`; a 3-deep tree fits noise too, so every fit
also reports held-out accuracy (stratified k-fold, out-of-fold predictions) with a 95% Wilson
interval, against the majority-class baseline. Only a held-out score above the baseline says
the rule is real.
"""

from collections import Counter

import numpy as np
from sklearn.feature_extraction import DictVectorizer
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.tree import DecisionTreeClassifier, export_text

from alpha_replay_assets.stats import wilson_ci

MIN_SAMPLES = 10
MAX_FOLDS = 5


def _tree() -> DecisionTreeClassifier:
    return DecisionTreeClassifier(max_depth=3, random_state=0)


def fit_rule(labels: list[str], features: list[dict[str, float]]) -> dict:
    """Fit one agent. Returns a dict with `status` in {fitted, thin_sample, single_class}."""
    counts = Counter(labels)
    result = {"n_samples": len(labels), "class_counts": dict(sorted(counts.items()))}
    if len(labels) < MIN_SAMPLES:
        return result | {"status": "thin_sample"}
    if len(counts) < 2:
        return result | {"status": "single_class"}
    vectorizer = DictVectorizer(sparse=False)
    x, y = vectorizer.fit_transform(features), np.asarray(labels)
    tree = _tree().fit(x, y)
    names = list(vectorizer.get_feature_names_out())
    baseline = max(counts.values()) / len(labels)
    result |= {
        "status": "fitted",
        "match_rate": float((tree.predict(x) == y).mean()),
        "baseline": baseline,
        "tree_text": export_text(tree, feature_names=names),
        "feature_importances": {n: round(float(v), 4) for n, v in zip(names, tree.feature_importances_) if v > 0},
        "split_features": sorted({names[i] for i in tree.tree_.feature if i >= 0}),
    }
    folds = min(MAX_FOLDS, min(counts.values()))
    if folds < 2:
        return result | {"heldout_accuracy": None, "heldout_note": "smallest class has one sample: no held-out score"}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    correct = int((cross_val_predict(_tree(), x, y, cv=splitter) == y).sum())
    low, high = wilson_ci(correct, len(labels))
    accuracy = correct / len(labels)
    return result | {
        "heldout_accuracy": accuracy,
        "heldout_ci_low": low,
        "heldout_ci_high": high,
        "heldout_folds": folds,
        "lift": accuracy - baseline,
    }
