#!/usr/bin/python3
"""Evaluate models/nih-cxr-abnormal/model.onnx on the NIH1000 `test` split (n=200), once.

    /usr/bin/python3 models/nih-cxr-abnormal/train/evaluate.py      (from the repository root)

The graph is run with onnxruntime-node (train/predict.ts via tsx), the runtime Lantern serves
with, so every number here is a number of the exact served file. Debian's Python has no
onnxruntime; Python only edits the graph (for the uncalibrated variant) and does statistics.

Chosen on the `valid` split (never on test): the operating point (highest threshold with
sensitivity >= 0.90) and the refer band (NPV/PPV targets, see REFER_RULE). Platt calibration
was fitted on valid by train.py. Statistics: models/tools/evaluation_stats.py; what both
read-assist evaluations share: models/tools/read_assist_eval.py.

Writes evaluation/test-metrics.json (with a patient-cluster bootstrap CI and the AUROC on images
of patients absent from train), evaluation/test-predictions.csv (file, patient, patient in train,
label, probability, hint), evaluation/roc.svg and evaluation/calibration.svg, and updates the
numeric fields of model.json (hash, operating point, refer band, Platt temperature and bias, ECE,
metrics) so the card always matches the file it describes.
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
import evaluation_stats as es  # noqa: E402
import read_assist_eval as rae  # noqa: E402

EVAL_DIR = MODEL_DIR / "evaluation"
MODEL = MODEL_DIR / "model.onnx"
CARD = MODEL_DIR / "model.json"
DATA = REPO.parent / "shared" / "data" / "images" / "nih-cxr14-1000-64px" / "NIH1000"
SENSITIVITY_TARGET = 0.90
NPV_TARGET = 0.80
PPV_TARGET = 0.80
MIN_CASES = 10
TEST_SPLIT = "NIH1000 test (n=200)"
REFER_RULE = rae.refer_rule("valid split (n=200, 50% abnormal)", "valid", NPV_TARGET, PPV_TARGET, MIN_CASES)
PLOT_TEXT = {
    "model": "nih-cxr-abnormal", "chosen_on": "valid", "roc_title": "ROC, NIH1000 test split (n=200)",
    "raw_name": "before (raw ensemble)", "calibrated_name": "after (Platt, fitted on valid)", "hist_bins": 20,
    "observed_label": "observed fraction abnormal",
    "calibration_title": "Calibration, NIH1000 test split (n=200), 10 bins", "predicted_label": "predicted P(abnormal)",
}


def predict(model: Path, split: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    out = rae.run_predict(REPO, [str(HERE / "predict.ts"), str(model), split], 64)
    return (np.asarray(out["probability"], dtype=np.float64), np.asarray(out["label"], dtype=np.int64),
            out["name"])


def patient(name: str) -> str:
    return name.split("/")[1].split("_")[0]


def main() -> None:
    EVAL_DIR.mkdir(exist_ok=True)
    sha = hashlib.sha256(MODEL.read_bytes()).hexdigest()
    temperature, bias = rae.constant(MODEL, "temperature"), rae.constant(MODEL, "calibration_bias")

    p_val, y_val, _ = predict(MODEL, "valid")
    p_test, y_test, names = predict(MODEL, "test")
    _, _, train_names = predict(MODEL, "train")
    # temperature 1 and calibration bias 0: the raw ensemble's sigmoid
    (p_val_raw, _, _), (p_test_raw, _, _) = rae.raw_predictions(
        predict, MODEL, {"temperature": 1.0, "calibration_bias": 0.0}, ["valid", "test"])
    assert len(y_test) == 200 and int(y_test.sum()) == 100 and len(y_val) == 200

    # Operating point and refer band: chosen on valid only, then applied to test.
    chosen = rae.choose_on_validation(p_val, y_val, p_test, y_test, SENSITIVITY_TARGET, NPV_TARGET, PPV_TARGET, MIN_CASES)
    thr, band = chosen["thr"], chosen["band"]

    auc, se, auc_ci = es.auroc_ci(y_test, p_test)
    groups = [patient(n) for n in names]
    auc_ci_cluster = es.cluster_bootstrap_auc(y_test, p_test, groups)
    seen = {patient(n) for n in train_names}
    unseen = np.array([g not in seen for g in groups])
    auc_unseen, _, ci_unseen = es.auroc_ci(y_test[unseen], p_test[unseen])
    auc_val, _, ci_val = es.auroc_ci(y_val, p_val)
    t = rae.test_at_thresholds(p_test, y_test, thr)
    n = t["n"]
    calibration = rae.calibration_metrics(
        "Platt scaling (temperature and bias) of the mean member logit, fitted by NLL on valid",
        {"temperature": temperature, "bias": bias}, y_test, p_test, p_test_raw, y_val, p_val, p_val_raw)
    metrics = rae.test_metrics(
        MODEL, sha, TEST_SPLIT,
        {"n": n, "abnormal": int(y_test.sum()), "normal": int((y_test == 0).sum()),
         "patients": len(set(groups)), "imagesOfPatientsAlsoInTrain": int((~unseen).sum())},
        {"value": auc, "ci95": auc_ci, "se": se, "method": "DeLong 1988 asymptotic variance, normal 95% CI",
         "ci95PatientBootstrap": auc_ci_cluster,
         "patientBootstrapMethod": "percentile CI, 2000 resamples of test patients (images clustered by patient)"},
        {"AUROCPatientsNotInTrain": {"value": auc_unseen, "n": int(unseen.sum()), "abnormal": int(y_test[unseen].sum()),
                                     "ci95": ci_unseen},
         "validationAUROC": {"value": auc_val, "ci95": ci_val,
                             "note": "valid was used for recipe choice and calibration: optimistic"}},
        t, chosen, "highest threshold with sensitivity >= 0.90 on the valid split; positive if p >= t", REFER_RULE,
        calibration, "Wilson score 95% intervals for proportions; DeLong (and a patient-cluster bootstrap) for AUROC")
    (EVAL_DIR / "test-metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    with open(EVAL_DIR / "test-predictions.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["file", "patient", "patientInTrain", "label", "probability", "hint"])
        for name, g, u, lab, p in zip(names, groups, unseen, y_test, p_test):
            hint = "refer" if band["low"] <= p < band["high"] else ("positive" if p >= band["high"] else "negative")
            w.writerow([name, g, int(not u), int(lab), f"{p:.8f}", hint])
    rae.plots(EVAL_DIR, y_test, p_test, p_test_raw, auc, auc_ci,
              {"threshold": thr, "sensitivity": t["sens"], "specificity": t["spec"]}, PLOT_TEXT)

    card = json.loads(CARD.read_text())
    rae.update_card_operating_point(card, sha, chosen, "abnormal", REFER_RULE, TEST_SPLIT)
    rae.update_card_calibration(card, {"temperature": temperature, "bias": bias}, calibration)
    card["metrics"] = [
        {"name": "AUROC", "split": TEST_SPLIT, "value": rae.r4(auc), "ci95": [rae.r4(v) for v in auc_ci],
         "method": "Mann-Whitney AUROC; 95% CI from DeLong 1988 variance (assumes independent images)", "n": n,
         # Images of one patient are not independent: this is the interval to quote.
         "ci95PatientClustered": [rae.r4(v) for v in auc_ci_cluster],
         "ci95PatientClusteredMethod": f"percentile 95% CI from 2000 bootstrap resamples of the {len(set(groups))} test patients"},
        {"name": "AUROC (patients not in train)", "split": f"NIH1000 test, images of patients absent from train (n={int(unseen.sum())})",
         "value": rae.r4(auc_unseen), "ci95": [rae.r4(v) for v in ci_unseen],
         "method": "Mann-Whitney AUROC; DeLong 95% CI", "n": int(unseen.sum())},
        *rae.threshold_card_metrics(TEST_SPLIT, t, thr, "valid", "abnormal"),
        {"name": "ECE", "split": TEST_SPLIT, "value": rae.r4(calibration["test"]["eceAfter"]),
         "method": "expected calibration error, 10 equal-width bins, calibrated probability", "n": n},
    ]
    CARD.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")

    print(f"sha256 {sha}")
    print(f"valid AUROC {auc_val:.4f}")
    print(f"AUROC {auc:.4f} (95% CI {auc_ci[0]:.4f}-{auc_ci[1]:.4f}, DeLong; patient bootstrap "
          f"{auc_ci_cluster[0]:.4f}-{auc_ci_cluster[1]:.4f}); patients not in train {auc_unseen:.4f} (n={int(unseen.sum())})")
    rae.print_summary(t, chosen, calibration["test"]["eceBefore"], calibration["test"]["eceAfter"])

if __name__ == "__main__":
    main()
