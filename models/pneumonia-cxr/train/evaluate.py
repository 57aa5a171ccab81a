#!/usr/bin/python3
"""Evaluate models/pneumonia-cxr/model.onnx on the official PneumoniaMNIST test split (n=624).

    /usr/bin/python3 models/pneumonia-cxr/train/evaluate.py      (from the repository root)

The graph is run with onnxruntime-node (train/predict.ts via tsx), the runtime Lantern
serves with, so every number here is a number of the exact served file. Debian's Python
has no onnxruntime; Python only edits the graph (for the uncalibrated variant) and does
the statistics.

Chosen on the validation split (never on test): the operating point (highest threshold
with sensitivity >= 0.90 on val) and the refer band (NPV/PPV targets, see REFER_RULE).
Temperature was fitted on val by train.py. Statistics: models/evaluation_stats.py.

Writes evaluation/test-metrics.json, evaluation/test-predictions.csv, evaluation/roc.svg,
evaluation/calibration.svg, and updates the numeric fields of model.json (hash, operating
point, refer band, calibration, metrics) so the card always matches the file it describes.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MODEL_DIR = HERE.parent
REPO = MODEL_DIR.parent.parent
sys.path.insert(0, str(MODEL_DIR.parent))
from evaluation_stats import (Z95, band_effect, confusion, delong_auc, ece, operating_threshold,  # noqa: E402
                              refer_band, reliability, roc_curve, wilson)
EVAL_DIR = MODEL_DIR / "evaluation"
MODEL = MODEL_DIR / "model.onnx"
CARD = MODEL_DIR / "model.json"
DATA = REPO.parent / "shared" / "data" / "images" / "pneumoniamnist" / "pneumoniamnist_varun19424.npz"
SENSITIVITY_TARGET = 0.90
TEST_SPLIT = "official test (n=624)"
NPV_TARGET = 0.95
PPV_TARGET = 0.95
MIN_CASES = 10
REFER_RULE = (f"chosen on the official validation split (n=524, 74% pneumonia): low = the largest cut <= the "
              f"operating threshold such that the >= {MIN_CASES} validation images below it have NPV >= {NPV_TARGET:.2f} "
              f"(0 if none); high = the smallest cut >= the operating threshold such that the >= {MIN_CASES} validation "
              f"images at or above it have PPV >= {PPV_TARGET:.2f} (1 if none); cuts are midpoints between adjacent "
              f"validation probabilities. p < low: negative hint; p >= high: positive hint; otherwise refer.")


def predict(model: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    cmd = ["npx", "--no-install", "tsx", str(HERE / "predict.ts"), str(model), str(DATA), split]
    env = dict(os.environ, ONNXRUNTIME_NODE_INSTALL="skip")
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        sys.exit(f"predict.ts failed ({r.returncode}):\n{r.stderr}")
    out = json.loads(r.stdout)
    assert out["heatmapDims"][1:] == [1, 28, 28], out["heatmapDims"]
    return np.asarray(out["probability"], dtype=np.float64), np.asarray(out["label"], dtype=np.int64)


def uncalibrated_copy(model: Path, dst: Path) -> None:
    """The same graph with temperature 1 and no prior offset: the raw network's sigmoid."""
    import onnx
    from onnx import numpy_helper

    g = onnx.load(str(model))
    found = set()
    for init in g.graph.initializer:
        if init.name in ("temperature", "prior_offset"):
            value = 1.0 if init.name == "temperature" else 0.0
            init.CopyFrom(numpy_helper.from_array(np.array(value, dtype=np.float32), init.name))
            found.add(init.name)
    if found != {"temperature", "prior_offset"}:
        sys.exit(f"calibration constants not found in graph (found {found})")
    onnx.save(g, str(dst))


def constant(model: Path, name: str) -> float:
    import onnx
    from onnx import numpy_helper

    for init in onnx.load(str(model)).graph.initializer:
        if init.name == name:
            return float(numpy_helper.to_array(init))
    raise KeyError(name)
















def plots(y, p_cal, p_raw, auc, ci, op) -> None:
    import matplotlib

    matplotlib.use("svg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "lantern"  # deterministic SVG ids
    plt.rcParams["svg.fonttype"] = "none"
    fpr, tpr = roc_curve(y, p_cal)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(fpr, tpr, lw=2, label=f"pneumonia-cxr, AUROC {auc:.3f} (95% CI {ci[0]:.3f}-{ci[1]:.3f})")
    ax.plot([0, 1], [0, 1], ls=":", c="grey", lw=1)
    ax.plot([1 - op["specificity"]], [op["sensitivity"]], "o", c="C3",
            label=f"operating point t={op['threshold']:.3f} (chosen on val)\n"
                  f"sens {op['sensitivity']:.3f}, spec {op['specificity']:.3f}")
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title("ROC, PneumoniaMNIST official test split (n=624)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(EVAL_DIR / "roc.svg", metadata={"Date": None})
    plt.close(fig)

    fig, (ax, hx) = plt.subplots(2, 1, figsize=(5, 6), gridspec_kw={"height_ratios": [3, 1]}, sharex=True)
    ax.plot([0, 1], [0, 1], ls=":", c="grey", lw=1, label="perfect calibration")
    for p, name, c in ((p_raw, "before (raw network)", "C1"), (p_cal, "after (temperature + prior)", "C0")):
        r = reliability(p, y)
        ax.plot([b["meanProbability"] for b in r], [b["observed"] for b in r], "o-", c=c,
                label=f"{name}, ECE {ece(p, y):.3f}")
        hx.hist(p, bins=10, range=(0, 1), histtype="step", color=c)
    ax.set_ylabel("observed fraction with pneumonia")
    ax.set_title("Calibration, official test split (n=624), 10 bins")
    ax.legend(loc="upper left", fontsize=8)
    hx.set_xlabel("predicted P(pneumonia)")
    hx.set_ylabel("images")
    fig.tight_layout()
    fig.savefig(EVAL_DIR / "calibration.svg", metadata={"Date": None})
    plt.close(fig)


def r4(x: float) -> float:
    return round(float(x), 4)


def main() -> None:
    EVAL_DIR.mkdir(exist_ok=True)
    sha = hashlib.sha256(MODEL.read_bytes()).hexdigest()
    temperature, offset = constant(MODEL, "temperature"), constant(MODEL, "prior_offset")

    p_val, y_val = predict(MODEL, "val")
    p_test, y_test = predict(MODEL, "test")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "uncalibrated.onnx"
        uncalibrated_copy(MODEL, raw)
        p_val_raw, _ = predict(raw, "val")
        p_test_raw, _ = predict(raw, "test")
    assert len(y_test) == 624 and len(y_val) == 524

    # Operating point: chosen on val only, then applied to test.
    thr = operating_threshold(p_val, y_val, SENSITIVITY_TARGET)
    cv = confusion(p_val, y_val, thr)
    val_op = {"sensitivity": cv["tp"] / (cv["tp"] + cv["fn"]), "specificity": cv["tn"] / (cv["tn"] + cv["fp"])}

    band = refer_band(p_val, y_val, thr, NPV_TARGET, PPV_TARGET, MIN_CASES)
    band_val = band_effect(p_val, y_val, band["low"], band["high"])
    band_test = band_effect(p_test, y_test, band["low"], band["high"])

    auc, se = delong_auc(y_test, p_test)
    auc_ci = [max(0.0, auc - Z95 * se), min(1.0, auc + Z95 * se)]
    c5 = confusion(p_test, y_test, 0.5)
    ct = confusion(p_test, y_test, thr)
    n = len(y_test)
    acc5 = (c5["tp"] + c5["tn"]) / n
    acct = (ct["tp"] + ct["tn"]) / n
    sens = ct["tp"] / (ct["tp"] + ct["fn"])
    spec = ct["tn"] / (ct["tn"] + ct["fp"])
    metrics = {
        "model": {"file": "model.onnx", "sha256": sha, "bytes": MODEL.stat().st_size},
        "split": TEST_SPLIT,
        "counts": {"n": n, "pneumonia": int(y_test.sum()), "normal": int((y_test == 0).sum())},
        "runtime": "onnxruntime-node (train/predict.ts)",
        "AUROC": {"value": auc, "ci95": auc_ci, "se": se, "method": "DeLong 1988 asymptotic variance, normal 95% CI"},
        "accuracyAt0.5": {"value": acc5, "ci95": wilson(c5["tp"] + c5["tn"], n), "confusion": c5},
        "operatingPoint": {
            "name": "sensitivity-0.90",
            "rule": "highest threshold with sensitivity >= 0.90 on the official validation split; positive if p >= t",
            "threshold": thr,
            "validation": {**val_op, "confusion": cv},
            "test": {
                "accuracy": {"value": acct, "ci95": wilson(ct["tp"] + ct["tn"], n)},
                "sensitivity": {"value": sens, "ci95": wilson(ct["tp"], ct["tp"] + ct["fn"])},
                "specificity": {"value": spec, "ci95": wilson(ct["tn"], ct["tn"] + ct["fp"])},
                "confusion": ct,
            },
        },
        "referBand": {"low": band["low"], "high": band["high"], "rule": REFER_RULE,
                      "validation": band_val, "test": band_test},
        "calibration": {
            "method": "temperature scaling fitted on val, after a fixed prior-shift log-odds offset",
            "temperature": temperature,
            "priorOffset": offset,
            "bins": 10,
            "test": {"eceBefore": ece(p_test_raw, y_test), "eceAfter": ece(p_test, y_test),
                     "reliabilityBefore": reliability(p_test_raw, y_test),
                     "reliabilityAfter": reliability(p_test, y_test)},
            "validation": {"eceBefore": ece(p_val_raw, y_val), "eceAfter": ece(p_val, y_val)},
        },
        "ciMethod": "Wilson score 95% intervals for proportions; DeLong for AUROC",
    }
    (EVAL_DIR / "test-metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    with open(EVAL_DIR / "test-predictions.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["index", "label", "probability"])
        for i, (lab, p) in enumerate(zip(y_test, p_test)):
            w.writerow([i, int(lab), f"{p:.8f}"])
    plots(y_test, p_test, p_test_raw, auc, auc_ci,
          {"threshold": thr, "sensitivity": sens, "specificity": spec})

    card = json.loads(CARD.read_text())
    card["weights"]["sha256"] = sha
    op = card["operatingPoints"][0]
    op["threshold"] = thr
    op["validation"] = {"sensitivity": r4(val_op["sensitivity"]), "specificity": r4(val_op["specificity"])}
    card["referBands"] = [{"label": "pneumonia", "low": r4(band["low"]), "high": r4(band["high"]), "rule": REFER_RULE}]
    card["referBandEffect"] = {
        "split": TEST_SPLIT,
        "referredFraction": r4(band_test["referredFraction"]),
        "accuracyOutside": None if band_test["accuracyOutside"] is None else r4(band_test["accuracyOutside"]),
        "accuracyOutsideCi95": None if band_test["accuracyOutsideCi95"] is None else [r4(v) for v in band_test["accuracyOutsideCi95"]],
        "outside": band_test["outside"],
        "validationReferredFraction": r4(band_val["referredFraction"]),
        "validationAccuracyOutside": None if band_val["accuracyOutside"] is None else r4(band_val["accuracyOutside"]),
    }
    card["calibration"]["temperature"] = r4(temperature)
    card["calibration"]["eceBefore"] = r4(metrics["calibration"]["test"]["eceBefore"])
    card["calibration"]["eceAfter"] = r4(metrics["calibration"]["test"]["eceAfter"])
    card["calibration"]["split"] = "test"
    wil = "Wilson score 95% interval"
    card["metrics"] = [
        {"name": "AUROC", "split": TEST_SPLIT, "value": r4(auc), "ci95": [r4(v) for v in auc_ci],
         "method": "Mann-Whitney AUROC; 95% CI from DeLong 1988 variance", "n": n},
        {"name": "accuracy@0.5", "split": TEST_SPLIT, "value": r4(acc5),
         "ci95": [r4(v) for v in wilson(c5["tp"] + c5["tn"], n)], "method": f"threshold 0.5 on calibrated probability; {wil}", "n": n},
        {"name": "accuracy@operating-point", "split": TEST_SPLIT, "value": r4(acct),
         "ci95": [r4(v) for v in wilson(ct["tp"] + ct["tn"], n)], "method": f"threshold {thr:.4f} (sensitivity-0.90, chosen on val); {wil}", "n": n},
        {"name": "sensitivity@operating-point", "split": TEST_SPLIT, "value": r4(sens),
         "ci95": [r4(v) for v in wilson(ct["tp"], ct["tp"] + ct["fn"])], "method": f"threshold {thr:.4f} (chosen on val); {wil}; n = pneumonia images", "n": ct["tp"] + ct["fn"]},
        {"name": "specificity@operating-point", "split": TEST_SPLIT, "value": r4(spec),
         "ci95": [r4(v) for v in wilson(ct["tn"], ct["tn"] + ct["fp"])], "method": f"threshold {thr:.4f} (chosen on val); {wil}; n = normal images", "n": ct["tn"] + ct["fp"]},
    ]
    CARD.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")

    print(f"sha256 {sha}")
    print(f"AUROC {auc:.4f} (95% CI {auc_ci[0]:.4f}-{auc_ci[1]:.4f}, DeLong)")
    print(f"accuracy@0.5 {acc5:.4f}  accuracy@t {acct:.4f}")
    print(f"operating point t={thr:.4f}: val sens {val_op['sensitivity']:.4f} spec {val_op['specificity']:.4f}; "
          f"test sens {sens:.4f} spec {spec:.4f}")
    print(f"refer band [{band['low']:.4f}, {band['high']:.4f}): val {json.dumps(band_val)}\n  test {json.dumps(band_test)}")
    print(f"ECE test before {metrics['calibration']['test']['eceBefore']:.4f} after {metrics['calibration']['test']['eceAfter']:.4f}")


if __name__ == "__main__":
    main()
