"""Statistics shared by the model recipes (the read-assist evaluate.py scripts, diabetes-pima's
train.py); Debian python3 + numpy only.

    sys.path.insert(0, str(REPO / "models" / "tools")); import evaluation_stats as es

Every function takes plain numpy arrays: `p` probabilities (or scores), `y` 0/1 labels.
"""
from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054


def delong_auc(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """AUROC (Mann-Whitney, ties half) and its DeLong (1988) standard error."""
    pos, neg = s[y == 1], s[y == 0]
    psi = (pos[:, None] > neg[None, :]).astype(float) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    auc = float(v10.mean())
    var = v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg)
    return auc, float(math.sqrt(var))


def auroc_ci(y: np.ndarray, s: np.ndarray) -> tuple[float, float, list[float]]:
    """AUROC, its DeLong standard error, and the normal 95% CI clipped to [0, 1]."""
    auc, se = delong_auc(y, s)
    return auc, se, [max(0.0, auc - Z95 * se), min(1.0, auc + Z95 * se)]


def cluster_bootstrap_auc(y: np.ndarray, s: np.ndarray, groups: list[str], reps: int = 2000,
                          seed: int = 1) -> list[float]:
    """Percentile 95% CI of AUROC resampling whole clusters (patients) with replacement.

    DeLong assumes independent images; several images of one patient are not independent.
    """
    rng = np.random.default_rng(seed)
    ids = sorted(set(groups))
    members = {g: np.flatnonzero(np.asarray(groups) == g) for g in ids}
    aucs = []
    for _ in range(reps):
        idx = np.concatenate([members[ids[k]] for k in rng.integers(0, len(ids), len(ids))])
        yy = y[idx]
        if yy.min() == yy.max():
            continue
        aucs.append(delong_auc(yy, s[idx])[0])
    return [float(np.percentile(aucs, 2.5)), float(np.percentile(aucs, 97.5))]


def wilson(k: int, n: int) -> list[float]:
    """Wilson score 95% interval of k/n."""
    p = k / n
    d = 1 + Z95 ** 2 / n
    c = (p + Z95 ** 2 / (2 * n)) / d
    h = Z95 * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n)) / d
    return [c - h, c + h]


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error, equal-width bins on [0,1]."""
    idx = np.minimum((p * bins).astype(int), bins - 1)
    return float(sum((idx == b).sum() / len(p) * abs(p[idx == b].mean() - y[idx == b].mean())
                     for b in range(bins) if (idx == b).any()))


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 10) -> list[dict]:
    idx = np.minimum((p * bins).astype(int), bins - 1)
    return [{"bin": [b / bins, (b + 1) / bins], "n": int((idx == b).sum()),
             "meanProbability": float(p[idx == b].mean()), "observed": float(y[idx == b].mean())}
            for b in range(bins) if (idx == b).any()]


def operating_threshold(p: np.ndarray, y: np.ndarray, target: float) -> float:
    """Highest t such that sensitivity of (p >= t) is >= target."""
    pos = np.sort(p[y == 1])[::-1]
    return float(pos[math.ceil(target * len(pos)) - 1])


def confusion(p: np.ndarray, y: np.ndarray, t: float) -> dict:
    pred = p >= t
    return {"tp": int((pred & (y == 1)).sum()), "fn": int((~pred & (y == 1)).sum()),
            "tn": int((~pred & (y == 0)).sum()), "fp": int((pred & (y == 0)).sum())}


def roc_curve(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    distinct = np.r_[np.where(np.diff(s))[0], len(s) - 1]
    tps = np.cumsum(y)[distinct]
    fps = (1 + distinct) - tps
    return np.r_[0, fps / (y == 0).sum()], np.r_[0, tps / (y == 1).sum()]


def refer_band(p: np.ndarray, y: np.ndarray, t: float, npv_target: float, ppv_target: float,
               min_cases: int = 10) -> dict:
    """The refer band [low, high) around the operating point t, chosen on one (validation) split.

    Candidate cuts are t and the midpoints between adjacent distinct probabilities.
    - low  = the largest cut c <= t such that the cases with p < c number >= min_cases and have
             NPV >= npv_target (0 if there is none: no negative hints at all);
    - high = the smallest cut c >= t such that the cases with p >= c number >= min_cases and have
             PPV >= ppv_target (1 if there is none: no positive hints at all).
    So p < low is a negative hint, p >= high a positive hint, and [low, high) is "refer".
    Because low <= t <= high, a hint never contradicts the operating point.
    """
    u = np.unique(p)
    cuts = np.unique(np.r_[t, (u[1:] + u[:-1]) / 2])
    low = 0.0
    for c in sorted(cuts[cuts <= t], reverse=True):
        m = p < c
        if m.sum() >= min_cases and (y[m] == 0).mean() >= npv_target:
            low = float(c)
            break
    high = 1.0
    for c in sorted(cuts[cuts >= t]):
        m = p >= c
        if m.sum() >= min_cases and (y[m] == 1).mean() >= ppv_target:
            high = float(c)
            break
    return {"low": low, "high": high}


def band_effect(p: np.ndarray, y: np.ndarray, low: float, high: float) -> dict:
    """What a refer band does on one split: fraction referred, and accuracy/NPV/PPV of the hints outside it."""
    refer = (p >= low) & (p < high)
    neg, pos = p < low, p >= high
    n_out = int((~refer).sum())
    correct = int(((neg & (y == 0)) | (pos & (y == 1))).sum())
    out = {
        "n": len(p),
        "referred": int(refer.sum()),
        "referredFraction": float(refer.mean()),
        "referredPositiveFraction": float(y[refer].mean()) if refer.any() else None,
        "outside": n_out,
        "accuracyOutside": correct / n_out if n_out else None,
        "accuracyOutsideCi95": wilson(correct, n_out) if n_out else None,
        "negativeHints": int(neg.sum()),
        "npv": float((y[neg] == 0).mean()) if neg.any() else None,
        "positiveHints": int(pos.sum()),
        "ppv": float((y[pos] == 1).mean()) if pos.any() else None,
    }
    return out
