#!/usr/bin/python3
"""Evaluate models/nih-cxr-abnormal/model.onnx on the NIH1000 `test` split (n=200), once.

    /usr/bin/python3 models/nih-cxr-abnormal/train/evaluate.py      (from the repository root)

The graph is run with onnxruntime-node (train/predict.ts via tsx), the runtime Lantern serves
with, so every number here is a number of the exact served file. Debian's Python has no
onnxruntime; Python only edits the graph (for the uncalibrated variant) and does statistics.

Chosen on the `valid` split (never on test): the operating point (highest threshold with
sensitivity >= 0.90) and the refer band (NPV/PPV targets, see REFER_RULE). Platt calibration
was fitted on valid by train.py.

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
import evaluation_stats as es  # noqa: E402  (models/evaluation_stats.py)

EVAL_DIR = MODEL_DIR / "evaluation"
MODEL = MODEL_DIR / "model.onnx"
CARD = MODEL_DIR / "model.json"
DATA = REPO.parent / "shared" / "data" / "images" / "nih-cxr14-1000-64px" / "NIH1000"
SENSITIVITY_TARGET = 0.90
NPV_TARGET = 0.80
PPV_TARGET = 0.80
MIN_CASES = 10
TEST_SPLIT = "NIH1000 test (n=200)"
REFER_RULE = (f"chosen on the valid split (n=200, 50% abnormal): low = the largest cut <= the operating threshold "
              f"such that the >= {MIN_CASES} valid images below it have NPV >= {NPV_TARGET:.2f} (0 if none); "
              f"high = the smallest cut >= the operating threshold such that the >= {MIN_CASES} valid images at or "
              f"above it have PPV >= {PPV_TARGET:.2f} (1 if none); cuts are midpoints between adjacent valid "
              f"probabilities. p < low: negative hint; p >= high: positive hint; otherwise refer.")


def predict(model: Path, split: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    cmd = ["npx", "--no-install", "tsx", str(HERE / "predict.ts"), str(model), split]
    env = dict(os.environ, ONNXRUNTIME_NODE_INSTALL="skip")
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        sys.exit(f"predict.ts failed ({r.returncode}):\n{r.stderr}")
    out = json.loads(r.stdout)
    assert out["heatmapDims"][1:] == [1, 64, 64], out["heatmapDims"]
    return (np.asarray(out["probability"], dtype=np.float64), np.asarray(out["label"], dtype=np.int64),
            out["name"])


def uncalibrated_copy(model: Path, dst: Path) -> None:
    """The same graph with temperature 1 and calibration bias 0: the raw ensemble's sigmoid."""
    import onnx
    from onnx import numpy_helper

    g = onnx.load(str(model))
    found = set()
    for init in g.graph.initializer:
        if init.name in ("temperature", "calibration_bias"):
            value = 1.0 if init.name == "temperature" else 0.0
            init.CopyFrom(numpy_helper.from_array(np.array(value, dtype=np.float32), init.name))
            found.add(init.name)
    if found != {"temperature", "calibration_bias"}:
        sys.exit(f"calibration constants not found in graph (found {found})")
    onnx.save(g, str(dst))


def constant(model: Path, name: str) -> float:
    import onnx
    from onnx import numpy_helper

    for init in onnx.load(str(model)).graph.initializer:
        if init.name == name:
            return float(numpy_helper.to_array(init))
    raise KeyError(name)


def patient(name: str) -> str:
    return name.split("/")[1].split("_")[0]


def plots(y, p_cal, p_raw, auc, ci, op) -> None:
    import matplotlib

    matplotlib.use("svg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "lantern"  # deterministic SVG ids
    plt.rcParams["svg.fonttype"] = "none"
    fpr, tpr = es.roc_curve(y, p_cal)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(fpr, tpr, lw=2, label=f"nih-cxr-abnormal, AUROC {auc:.3f} (95% CI {ci[0]:.3f}-{ci[1]:.3f})")
    ax.plot([0, 1], [0, 1], ls=":", c="grey", lw=1)
    ax.plot([1 - op["specificity"]], [op["sensitivity"]], "o", c="C3",
            label=f"operating point t={op['threshold']:.3f} (chosen on valid)\n"
                  f"sens {op['sensitivity']:.3f}, spec {op['specificity']:.3f}")
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title("ROC, NIH1000 test split (n=200)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(EVAL_DIR / "roc.svg", metadata={"Date": None})
    plt.close(fig)

    fig, (ax, hx) = plt.subplots(2, 1, figsize=(5, 6), gridspec_kw={"height_ratios": [3, 1]}, sharex=True)
    ax.plot([0, 1], [0, 1], ls=":", c="grey", lw=1, label="perfect calibration")
    for p, name, c in ((p_raw, "before (raw ensemble)", "C1"), (p_cal, "after (Platt, fitted on valid)", "C0")):
        r = es.reliability(p, y)
        ax.plot([b["meanProbability"] for b in r], [b["observed"] for b in r], "o-", c=c,
                label=f"{name}, ECE {es.ece(p, y):.3f}")
        hx.hist(p, bins=20, range=(0, 1), histtype="step", color=c)
    ax.set_ylabel("observed fraction abnormal")
    ax.set_title("Calibration, NIH1000 test split (n=200), 10 bins")
    ax.legend(loc="upper left", fontsize=8)
    hx.set_xlabel("predicted P(abnormal)")
    hx.set_ylabel("images")
    fig.tight_layout()
    fig.savefig(EVAL_DIR / "calibration.svg", metadata={"Date": None})
    plt.close(fig)


def r4(x: float) -> float:
    return round(float(x), 4)


def main() -> None:
    EVAL_DIR.mkdir(exist_ok=True)
    sha = hashlib.sha256(MODEL.read_bytes()).hexdigest()
    temperature, bias = constant(MODEL, "temperature"), constant(MODEL, "calibration_bias")

    p_val, y_val, _ = predict(MODEL, "valid")
    p_test, y_test, names = predict(MODEL, "test")
    _, _, train_names = predict(MODEL, "train")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "uncalibrated.onnx"
        uncalibrated_copy(MODEL, raw)
        p_val_raw, _, _ = predict(raw, "valid")
        p_test_raw, _, _ = predict(raw, "test")
    assert len(y_test) == 200 and int(y_test.sum()) == 100 and len(y_val) == 200

    # Operating point and refer band: chosen on valid only, then applied to test.
    thr = es.operating_threshold(p_val, y_val, SENSITIVITY_TARGET)
    cv = es.confusion(p_val, y_val, thr)
    val_op = {"sensitivity": cv["tp"] / (cv["tp"] + cv["fn"]), "specificity": cv["tn"] / (cv["tn"] + cv["fp"])}
    band = es.refer_band(p_val, y_val, thr, NPV_TARGET, PPV_TARGET, MIN_CASES)
    band_val = es.band_effect(p_val, y_val, band["low"], band["high"])
    band_test = es.band_effect(p_test, y_test, band["low"], band["high"])

    auc, se = es.delong_auc(y_test, p_test)
    auc_ci = [max(0.0, auc - es.Z95 * se), min(1.0, auc + es.Z95 * se)]
    groups = [patient(n) for n in names]
    auc_ci_cluster = es.cluster_bootstrap_auc(y_test, p_test, groups)
    seen = {patient(n) for n in train_names}
    unseen = np.array([g not in seen for g in groups])
    auc_unseen, se_unseen = es.delong_auc(y_test[unseen], p_test[unseen])
    auc_val, se_val = es.delong_auc(y_val, p_val)
    c5 = es.confusion(p_test, y_test, 0.5)
    ct = es.confusion(p_test, y_test, thr)
    n = len(y_test)
    acc5 = (c5["tp"] + c5["tn"]) / n
    acct = (ct["tp"] + ct["tn"]) / n
    sens = ct["tp"] / (ct["tp"] + ct["fn"])
    spec = ct["tn"] / (ct["tn"] + ct["fp"])
    metrics = {
        "model": {"file": "model.onnx", "sha256": sha, "bytes": MODEL.stat().st_size},
        "split": TEST_SPLIT,
        "counts": {"n": n, "abnormal": int(y_test.sum()), "normal": int((y_test == 0).sum()),
                   "patients": len(set(groups)), "imagesOfPatientsAlsoInTrain": int((~unseen).sum())},
        "runtime": "onnxruntime-node (train/predict.ts)",
        "AUROC": {"value": auc, "ci95": auc_ci, "se": se, "method": "DeLong 1988 asymptotic variance, normal 95% CI",
                  "ci95PatientBootstrap": auc_ci_cluster,
                  "patientBootstrapMethod": "percentile CI, 2000 resamples of test patients (images clustered by patient)"},
        "AUROCPatientsNotInTrain": {"value": auc_unseen, "n": int(unseen.sum()),
                                    "abnormal": int(y_test[unseen].sum()),
                                    "ci95": [max(0.0, auc_unseen - es.Z95 * se_unseen), min(1.0, auc_unseen + es.Z95 * se_unseen)]},
        "validationAUROC": {"value": auc_val, "ci95": [auc_val - es.Z95 * se_val, auc_val + es.Z95 * se_val],
                            "note": "valid was used for recipe choice and calibration: optimistic"},
        "accuracyAt0.5": {"value": acc5, "ci95": es.wilson(c5["tp"] + c5["tn"], n), "confusion": c5},
        "operatingPoint": {
            "name": "sensitivity-0.90",
            "rule": "highest threshold with sensitivity >= 0.90 on the valid split; positive if p >= t",
            "threshold": thr,
            "validation": {**val_op, "confusion": cv},
            "test": {
                "accuracy": {"value": acct, "ci95": es.wilson(ct["tp"] + ct["tn"], n)},
                "sensitivity": {"value": sens, "ci95": es.wilson(ct["tp"], ct["tp"] + ct["fn"])},
                "specificity": {"value": spec, "ci95": es.wilson(ct["tn"], ct["tn"] + ct["fp"])},
                "confusion": ct,
            },
        },
        "referBand": {"low": band["low"], "high": band["high"], "rule": REFER_RULE,
                      "validation": band_val, "test": band_test},
        "calibration": {
            "method": "Platt scaling (temperature and bias) of the mean member logit, fitted by NLL on valid",
            "temperature": temperature,
            "bias": bias,
            "bins": 10,
            "test": {"eceBefore": es.ece(p_test_raw, y_test), "eceAfter": es.ece(p_test, y_test),
                     "reliabilityBefore": es.reliability(p_test_raw, y_test),
                     "reliabilityAfter": es.reliability(p_test, y_test)},
            "validation": {"eceBefore": es.ece(p_val_raw, y_val), "eceAfter": es.ece(p_val, y_val)},
        },
        "ciMethod": "Wilson score 95% intervals for proportions; DeLong (and a patient-cluster bootstrap) for AUROC",
    }
    (EVAL_DIR / "test-metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    with open(EVAL_DIR / "test-predictions.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["file", "patient", "patientInTrain", "label", "probability", "hint"])
        for name, g, u, lab, p in zip(names, groups, unseen, y_test, p_test):
            hint = "refer" if band["low"] <= p < band["high"] else ("positive" if p >= band["high"] else "negative")
            w.writerow([name, g, int(not u), int(lab), f"{p:.8f}", hint])
    plots(y_test, p_test, p_test_raw, auc, auc_ci, {"threshold": thr, "sensitivity": sens, "specificity": spec})

    card = json.loads(CARD.read_text())
    card["weights"]["sha256"] = sha
    op = card["operatingPoints"][0]
    op["threshold"] = thr
    op["validation"] = {"sensitivity": r4(val_op["sensitivity"]), "specificity": r4(val_op["specificity"])}
    card["referBands"] = [{"label": "abnormal", "low": r4(band["low"]), "high": r4(band["high"]), "rule": REFER_RULE}]
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
    card["calibration"]["bias"] = r4(bias)
    card["calibration"]["eceBefore"] = r4(metrics["calibration"]["test"]["eceBefore"])
    card["calibration"]["eceAfter"] = r4(metrics["calibration"]["test"]["eceAfter"])
    card["calibration"]["split"] = "test"
    wil = "Wilson score 95% interval"
    card["metrics"] = [
        {"name": "AUROC", "split": TEST_SPLIT, "value": r4(auc), "ci95": [r4(v) for v in auc_ci],
         "method": "Mann-Whitney AUROC; 95% CI from DeLong 1988 variance (assumes independent images)", "n": n,
         # Images of one patient are not independent: this is the interval to quote.
         "ci95PatientClustered": [r4(v) for v in auc_ci_cluster],
         "ci95PatientClusteredMethod": f"percentile 95% CI from 2000 bootstrap resamples of the {len(set(groups))} test patients"},
        {"name": "AUROC (patients not in train)", "split": f"NIH1000 test, images of patients absent from train (n={int(unseen.sum())})",
         "value": r4(auc_unseen), "ci95": [r4(max(0.0, auc_unseen - es.Z95 * se_unseen)), r4(min(1.0, auc_unseen + es.Z95 * se_unseen))],
         "method": "Mann-Whitney AUROC; DeLong 95% CI", "n": int(unseen.sum())},
        {"name": "accuracy@0.5", "split": TEST_SPLIT, "value": r4(acc5),
         "ci95": [r4(v) for v in es.wilson(c5["tp"] + c5["tn"], n)], "method": f"threshold 0.5 on calibrated probability; {wil}", "n": n},
        {"name": "accuracy@operating-point", "split": TEST_SPLIT, "value": r4(acct),
         "ci95": [r4(v) for v in es.wilson(ct["tp"] + ct["tn"], n)], "method": f"threshold {thr:.4f} (sensitivity-0.90, chosen on valid); {wil}", "n": n},
        {"name": "sensitivity@operating-point", "split": TEST_SPLIT, "value": r4(sens),
         "ci95": [r4(v) for v in es.wilson(ct["tp"], ct["tp"] + ct["fn"])], "method": f"threshold {thr:.4f} (chosen on valid); {wil}; n = abnormal images", "n": ct["tp"] + ct["fn"]},
        {"name": "specificity@operating-point", "split": TEST_SPLIT, "value": r4(spec),
         "ci95": [r4(v) for v in es.wilson(ct["tn"], ct["tn"] + ct["fp"])], "method": f"threshold {thr:.4f} (chosen on valid); {wil}; n = normal images", "n": ct["tn"] + ct["fp"]},
        {"name": "ECE", "split": TEST_SPLIT, "value": r4(metrics["calibration"]["test"]["eceAfter"]),
         "method": "expected calibration error, 10 equal-width bins, calibrated probability", "n": n},
    ]
    CARD.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")

    print(f"sha256 {sha}")
    print(f"valid AUROC {auc_val:.4f}")
    print(f"AUROC {auc:.4f} (95% CI {auc_ci[0]:.4f}-{auc_ci[1]:.4f}, DeLong; patient bootstrap "
          f"{auc_ci_cluster[0]:.4f}-{auc_ci_cluster[1]:.4f}); patients not in train {auc_unseen:.4f} (n={int(unseen.sum())})")
    print(f"accuracy@0.5 {acc5:.4f}  accuracy@t {acct:.4f}")
    print(f"operating point t={thr:.4f}: val sens {val_op['sensitivity']:.4f} spec {val_op['specificity']:.4f}; "
          f"test sens {sens:.4f} spec {spec:.4f}")
    print(f"refer band [{band['low']:.4f}, {band['high']:.4f}): val {json.dumps(band_val)}\n  test {json.dumps(band_test)}")
    print(f"ECE test before {metrics['calibration']['test']['eceBefore']:.4f} after {metrics['calibration']['test']['eceAfter']:.4f}")


if __name__ == "__main__":
    main()
