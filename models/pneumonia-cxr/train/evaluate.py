#!/usr/bin/python3
"""Evaluate models/pneumonia-cxr/model.onnx on the official PneumoniaMNIST test split (n=624).

    /usr/bin/python3 models/pneumonia-cxr/train/evaluate.py      (from the repository root)

The graph is run with onnxruntime-node (train/predict.ts via tsx), the runtime Lantern
serves with, so every number here is a number of the exact served file. Debian's Python
has no onnxruntime; Python only edits the graph (for the uncalibrated variant) and does
the statistics.

Chosen on the validation split (never on test): the operating point (highest threshold
with sensitivity >= 0.90 on val) and the refer band (NPV/PPV targets, see REFER_RULE).
Temperature was fitted on val by train.py. Statistics: models/tools/evaluation_stats.py; what
both read-assist evaluations share: models/tools/read_assist_eval.py.

Writes evaluation/test-metrics.json, evaluation/test-predictions.csv (index, label, probability),
evaluation/roc.svg and evaluation/calibration.svg, and updates the numeric fields of model.json
(hash, operating point, refer band, temperature, ECE, metrics; the prior offset is fixed, not
fitted) so the card always matches the file it describes.
"""
from __future__ import annotations

import csv
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MODEL_DIR = HERE.parent
REPO = MODEL_DIR.parent.parent
# Recipes run as scripts (/usr/bin/python3 models/<id>/train/evaluate.py), not as a package:
# put models/tools on the path explicitly to share its statistics and evaluation steps.
sys.path.insert(0, str(REPO / "models" / "tools"))
import read_assist_eval as rae  # noqa: E402
from evaluation_stats import auroc_ci  # noqa: E402

EVAL_DIR = MODEL_DIR / "evaluation"
MODEL = MODEL_DIR / "model.onnx"
CARD = MODEL_DIR / "model.json"
DATA = REPO.parent / "shared" / "data" / "images" / "pneumoniamnist" / "pneumoniamnist_varun19424.npz"
SENSITIVITY_TARGET = 0.90
TEST_SPLIT = "official test (n=624)"
NPV_TARGET = 0.95
PPV_TARGET = 0.95
MIN_CASES = 10
REFER_RULE = rae.refer_rule("official validation split (n=524, 74% pneumonia)", "validation", NPV_TARGET, PPV_TARGET,
                            MIN_CASES)
PLOT_TEXT = {
    "model": "pneumonia-cxr", "chosen_on": "val", "roc_title": "ROC, PneumoniaMNIST official test split (n=624)",
    "raw_name": "before (raw network)", "calibrated_name": "after (temperature + prior)", "hist_bins": 10,
    "observed_label": "observed fraction with pneumonia",
    "calibration_title": "Calibration, official test split (n=624), 10 bins", "predicted_label": "predicted P(pneumonia)",
}


def predict(model: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    out = rae.run_predict(REPO, [str(HERE / "predict.ts"), str(model), str(DATA), split], 28)
    return np.asarray(out["probability"], dtype=np.float64), np.asarray(out["label"], dtype=np.int64)


def main() -> None:
    EVAL_DIR.mkdir(exist_ok=True)
    sha = hashlib.sha256(MODEL.read_bytes()).hexdigest()
    temperature, offset = rae.constant(MODEL, "temperature"), rae.constant(MODEL, "prior_offset")

    p_val, y_val = predict(MODEL, "val")
    p_test, y_test = predict(MODEL, "test")
    # temperature 1 and no prior offset: the raw network's sigmoid
    (p_val_raw, _), (p_test_raw, _) = rae.raw_predictions(
        predict, MODEL, {"temperature": 1.0, "prior_offset": 0.0}, ["val", "test"])
    assert len(y_test) == 624 and len(y_val) == 524

    chosen = rae.choose_on_validation(p_val, y_val, p_test, y_test, SENSITIVITY_TARGET, NPV_TARGET, PPV_TARGET, MIN_CASES)
    thr = chosen["thr"]

    auc, se, auc_ci = auroc_ci(y_test, p_test)
    t = rae.test_at_thresholds(p_test, y_test, thr)
    n = t["n"]
    calibration = rae.calibration_metrics(
        "temperature scaling fitted on val, after a fixed prior-shift log-odds offset",
        {"temperature": temperature, "priorOffset": offset}, y_test, p_test, p_test_raw, y_val, p_val, p_val_raw)
    metrics = rae.test_metrics(
        MODEL, sha, TEST_SPLIT, {"n": n, "pneumonia": int(y_test.sum()), "normal": int((y_test == 0).sum())},
        {"value": auc, "ci95": auc_ci, "se": se, "method": "DeLong 1988 asymptotic variance, normal 95% CI"}, {},
        t, chosen, "highest threshold with sensitivity >= 0.90 on the official validation split; positive if p >= t",
        REFER_RULE, calibration, "Wilson score 95% intervals for proportions; DeLong for AUROC")
    (EVAL_DIR / "test-metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    with open(EVAL_DIR / "test-predictions.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["index", "label", "probability"])
        for i, (lab, p) in enumerate(zip(y_test, p_test)):
            w.writerow([i, int(lab), f"{p:.8f}"])
    rae.plots(EVAL_DIR, y_test, p_test, p_test_raw, auc, auc_ci,
              {"threshold": thr, "sensitivity": t["sens"], "specificity": t["spec"]}, PLOT_TEXT)

    card = json.loads(CARD.read_text())
    rae.update_card_operating_point(card, sha, chosen, "pneumonia", REFER_RULE, TEST_SPLIT)
    rae.update_card_calibration(card, {"temperature": temperature}, calibration)
    card["metrics"] = [
        {"name": "AUROC", "split": TEST_SPLIT, "value": rae.r4(auc), "ci95": [rae.r4(v) for v in auc_ci],
         "method": "Mann-Whitney AUROC; 95% CI from DeLong 1988 variance", "n": n},
        *rae.threshold_card_metrics(TEST_SPLIT, t, thr, "val", "pneumonia"),
    ]
    CARD.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")

    print(f"sha256 {sha}")
    print(f"AUROC {auc:.4f} (95% CI {auc_ci[0]:.4f}-{auc_ci[1]:.4f}, DeLong)")
    rae.print_summary(t, chosen, calibration["test"]["eceBefore"], calibration["test"]["eceAfter"])


if __name__ == "__main__":
    main()
