"""What the read-assist models' evaluate.py scripts share (Debian python3 + numpy; onnx and
matplotlib imported where used): running the served graph through train/predict.ts, the
uncalibrated copy of the graph, the operating point and refer band chosen on validation and
applied to test, the ROC/calibration plots, and the card fields every read-assist card has.

Each evaluate.py keeps what is specific to its model: data, split names, targets, the refer
rule's wording, extra metrics (e.g. nih-cxr-abnormal's patient-clustered CI) and the text of
its plots.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

import evaluation_stats as es
import svg_figures


def run_predict(repo: Path, cmd_args: list[str], heatmap_size: int) -> dict:
    """`npx tsx <predict.ts> …` from the repository root; its JSON, after checking the heatmap is [N,1,S,S]."""
    cmd = ["npx", "--no-install", "tsx", *cmd_args]
    env = dict(os.environ, ONNXRUNTIME_NODE_INSTALL="skip")
    r = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        sys.exit(f"predict.ts failed ({r.returncode}):\n{r.stderr}")
    out = json.loads(r.stdout)
    assert out["heatmapDims"][1:] == [1, heatmap_size, heatmap_size], out["heatmapDims"]
    return out


def uncalibrated_copy(model: Path, dst: Path, neutral: dict[str, float]) -> None:
    """The same graph with its calibration constants set to `neutral` (e.g. temperature 1, bias 0)."""
    import onnx
    from onnx import numpy_helper

    g = onnx.load(str(model))
    found = set()
    for init in g.graph.initializer:
        if init.name in neutral:
            init.CopyFrom(numpy_helper.from_array(np.array(neutral[init.name], dtype=np.float32), init.name))
            found.add(init.name)
    if found != set(neutral):
        sys.exit(f"calibration constants not found in graph (found {found})")
    onnx.save(g, str(dst))


def constant(model: Path, name: str) -> float:
    import onnx
    from onnx import numpy_helper

    for init in onnx.load(str(model)).graph.initializer:
        if init.name == name:
            return float(numpy_helper.to_array(init))
    raise KeyError(name)


def r4(x: float) -> float:
    return round(float(x), 4)


def raw_predictions(predict, model: Path, neutral: dict[str, float], splits: list[str]) -> list:
    """predict(graph, split) for each split, on a temporary copy of `model` with its calibration
    constants set to `neutral`: what the network gives before calibration."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "uncalibrated.onnx"
        uncalibrated_copy(model, raw, neutral)
        return [predict(raw, split) for split in splits]


def refer_rule(valid: str, images: str, npv_target: float, ppv_target: float, min_cases: int) -> str:
    """The card's words for es.refer_band on the validation split `valid` (its images called `images`)."""
    return (f"chosen on the {valid}: low = the largest cut <= the operating threshold such that the >= {min_cases} "
            f"{images} images below it have NPV >= {npv_target:.2f} (0 if none); high = the smallest cut >= the "
            f"operating threshold such that the >= {min_cases} {images} images at or above it have PPV >= "
            f"{ppv_target:.2f} (1 if none); cuts are midpoints between adjacent {images} probabilities. p < low: "
            f"negative hint; p >= high: positive hint; otherwise refer.")


def calibration_metrics(method: str, constants: dict[str, float], y_test, p_test, p_test_raw, y_val, p_val,
                        p_val_raw) -> dict:
    """`calibration` of test-metrics.json: the method and its fitted `constants`, ECE (10 bins) before
    and after on test and validation, and test reliability before and after."""
    return {
        "method": method,
        **constants,
        "bins": 10,
        "test": {"eceBefore": es.ece(p_test_raw, y_test), "eceAfter": es.ece(p_test, y_test),
                 "reliabilityBefore": es.reliability(p_test_raw, y_test),
                 "reliabilityAfter": es.reliability(p_test, y_test)},
        "validation": {"eceBefore": es.ece(p_val_raw, y_val), "eceAfter": es.ece(p_val, y_val)},
    }


def test_metrics(model: Path, sha: str, split: str, counts: dict, auroc: dict, more: dict, t: dict, chosen: dict,
                 op_rule: str, refer_rule: str, calibration: dict, ci_method: str) -> dict:
    """test-metrics.json: the graph, split and counts, AUROC, the model's `more` metrics, accuracy at
    0.5, the operating point and refer band chosen on validation, calibration, and how CIs were made."""
    c5 = t["c5"]
    band = chosen["band"]
    return {
        "model": {"file": model.name, "sha256": sha, "bytes": model.stat().st_size},
        "split": split,
        "counts": counts,
        "runtime": "onnxruntime-node (train/predict.ts)",
        "AUROC": auroc,
        **more,
        "accuracyAt0.5": {"value": t["acc5"], "ci95": es.wilson(c5["tp"] + c5["tn"], t["n"]), "confusion": c5},
        "operatingPoint": operating_point_metrics(chosen, t, op_rule),
        "referBand": {"low": band["low"], "high": band["high"], "rule": refer_rule,
                      "validation": chosen["band_val"], "test": chosen["band_test"]},
        "calibration": calibration,
        "ciMethod": ci_method,
    }


def update_card_calibration(card: dict, constants: dict[str, float], calibration: dict) -> None:
    """The card's calibration: its `constants` (card key -> value) and the test ECE before and after."""
    for k, v in constants.items():
        card["calibration"][k] = r4(v)
    card["calibration"]["eceBefore"] = r4(calibration["test"]["eceBefore"])
    card["calibration"]["eceAfter"] = r4(calibration["test"]["eceAfter"])
    card["calibration"]["split"] = "test"


def choose_on_validation(p_val, y_val, p_test, y_test, sensitivity_target: float, npv_target: float,
                         ppv_target: float, min_cases: int) -> dict:
    """Operating point and refer band chosen on validation only, then applied to test."""
    thr = es.operating_threshold(p_val, y_val, sensitivity_target)
    cv = es.confusion(p_val, y_val, thr)
    val_op = {"sensitivity": cv["tp"] / (cv["tp"] + cv["fn"]), "specificity": cv["tn"] / (cv["tn"] + cv["fp"])}
    band = es.refer_band(p_val, y_val, thr, npv_target, ppv_target, min_cases)
    band_val = es.band_effect(p_val, y_val, band["low"], band["high"])
    band_test = es.band_effect(p_test, y_test, band["low"], band["high"])
    return {"thr": thr, "cv": cv, "val_op": val_op, "band": band, "band_val": band_val, "band_test": band_test}


def test_at_thresholds(p_test, y_test, thr: float) -> dict:
    """Test confusion at 0.5 and at the operating threshold, with accuracy, sensitivity, specificity."""
    c5 = es.confusion(p_test, y_test, 0.5)
    ct = es.confusion(p_test, y_test, thr)
    n = len(y_test)
    return {"n": n, "c5": c5, "ct": ct, "acc5": (c5["tp"] + c5["tn"]) / n, "acct": (ct["tp"] + ct["tn"]) / n,
            "sens": ct["tp"] / (ct["tp"] + ct["fn"]), "spec": ct["tn"] / (ct["tn"] + ct["fp"])}


def operating_point_metrics(chosen: dict, t: dict, rule: str) -> dict:
    """`operatingPoint` of test-metrics.json."""
    n, ct = t["n"], t["ct"]
    return {
        "name": "sensitivity-0.90",
        "rule": rule,
        "threshold": chosen["thr"],
        "validation": {**chosen["val_op"], "confusion": chosen["cv"]},
        "test": {
            "accuracy": {"value": t["acct"], "ci95": es.wilson(ct["tp"] + ct["tn"], n)},
            "sensitivity": {"value": t["sens"], "ci95": es.wilson(ct["tp"], ct["tp"] + ct["fn"])},
            "specificity": {"value": t["spec"], "ci95": es.wilson(ct["tn"], ct["tn"] + ct["fp"])},
            "confusion": ct,
        },
    }


def update_card_operating_point(card: dict, sha: str, chosen: dict, band_label: str, refer_rule: str,
                                test_split: str) -> None:
    """The card's hash, operating point, refer band and its effect, from this evaluation."""
    band, band_val, band_test, val_op = chosen["band"], chosen["band_val"], chosen["band_test"], chosen["val_op"]
    card["weights"]["sha256"] = sha
    op = card["operatingPoints"][0]
    op["threshold"] = chosen["thr"]
    op["validation"] = {"sensitivity": r4(val_op["sensitivity"]), "specificity": r4(val_op["specificity"])}
    card["referBands"] = [{"label": band_label, "low": r4(band["low"]), "high": r4(band["high"]), "rule": refer_rule}]
    card["referBandEffect"] = {
        "split": test_split,
        "referredFraction": r4(band_test["referredFraction"]),
        "accuracyOutside": None if band_test["accuracyOutside"] is None else r4(band_test["accuracyOutside"]),
        "accuracyOutsideCi95": None if band_test["accuracyOutsideCi95"] is None else [r4(v) for v in band_test["accuracyOutsideCi95"]],
        "outside": band_test["outside"],
        "validationReferredFraction": r4(band_val["referredFraction"]),
        "validationAccuracyOutside": None if band_val["accuracyOutside"] is None else r4(band_val["accuracyOutside"]),
    }


def threshold_card_metrics(test_split: str, t: dict, thr: float, chosen_on: str, positives: str) -> list[dict]:
    """The card's accuracy@0.5 and accuracy/sensitivity/specificity@operating-point entries."""
    n, c5, ct = t["n"], t["c5"], t["ct"]
    wil = "Wilson score 95% interval"
    return [
        {"name": "accuracy@0.5", "split": test_split, "value": r4(t["acc5"]),
         "ci95": [r4(v) for v in es.wilson(c5["tp"] + c5["tn"], n)], "method": f"threshold 0.5 on calibrated probability; {wil}", "n": n},
        {"name": "accuracy@operating-point", "split": test_split, "value": r4(t["acct"]),
         "ci95": [r4(v) for v in es.wilson(ct["tp"] + ct["tn"], n)], "method": f"threshold {thr:.4f} (sensitivity-0.90, chosen on {chosen_on}); {wil}", "n": n},
        {"name": "sensitivity@operating-point", "split": test_split, "value": r4(t["sens"]),
         "ci95": [r4(v) for v in es.wilson(ct["tp"], ct["tp"] + ct["fn"])], "method": f"threshold {thr:.4f} (chosen on {chosen_on}); {wil}; n = {positives} images", "n": ct["tp"] + ct["fn"]},
        {"name": "specificity@operating-point", "split": test_split, "value": r4(t["spec"]),
         "ci95": [r4(v) for v in es.wilson(ct["tn"], ct["tn"] + ct["fp"])], "method": f"threshold {thr:.4f} (chosen on {chosen_on}); {wil}; n = normal images", "n": ct["tn"] + ct["fp"]},
    ]


def plots(eval_dir: Path, y, p_cal, p_raw, auc, ci, op, text: dict) -> None:
    """roc.svg and calibration.svg (deterministic bytes). `text`: model, chosen_on, roc_title,
    raw_name, calibrated_name, hist_bins, observed_label, calibration_title, predicted_label."""
    plt = svg_figures.pyplot()
    fpr, tpr = es.roc_curve(y, p_cal)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(fpr, tpr, lw=2, label=f"{text['model']}, AUROC {auc:.3f} (95% CI {ci[0]:.3f}-{ci[1]:.3f})")
    ax.plot([0, 1], [0, 1], ls=":", c="grey", lw=1)
    ax.plot([1 - op["specificity"]], [op["sensitivity"]], "o", c="C3",
            label=f"operating point t={op['threshold']:.3f} (chosen on {text['chosen_on']})\n"
                  f"sens {op['sensitivity']:.3f}, spec {op['specificity']:.3f}")
    svg_figures.finish_roc(fig, ax, text["roc_title"], eval_dir / "roc.svg")

    fig, (ax, hx) = plt.subplots(2, 1, figsize=(5, 6), gridspec_kw={"height_ratios": [3, 1]}, sharex=True)
    ax.plot([0, 1], [0, 1], ls=":", c="grey", lw=1, label="perfect calibration")
    for p, name, c in ((p_raw, text["raw_name"], "C1"), (p_cal, text["calibrated_name"], "C0")):
        r = es.reliability(p, y)
        ax.plot([b["meanProbability"] for b in r], [b["observed"] for b in r], "o-", c=c,
                label=f"{name}, ECE {es.ece(p, y):.3f}")
        hx.hist(p, bins=text["hist_bins"], range=(0, 1), histtype="step", color=c)
    ax.set_ylabel(text["observed_label"])
    ax.set_title(text["calibration_title"])
    ax.legend(loc="upper left", fontsize=8)
    hx.set_xlabel(text["predicted_label"])
    hx.set_ylabel("images")
    svg_figures.save(fig, eval_dir / "calibration.svg")


def print_summary(t: dict, chosen: dict, ece_before: float, ece_after: float) -> None:
    """The last lines every evaluate.py prints (after its AUROC line)."""
    thr, val_op, band = chosen["thr"], chosen["val_op"], chosen["band"]
    print(f"accuracy@0.5 {t['acc5']:.4f}  accuracy@t {t['acct']:.4f}")
    print(f"operating point t={thr:.4f}: val sens {val_op['sensitivity']:.4f} spec {val_op['specificity']:.4f}; "
          f"test sens {t['sens']:.4f} spec {t['spec']:.4f}")
    print(f"refer band [{band['low']:.4f}, {band['high']:.4f}): val {json.dumps(chosen['band_val'])}\n  test {json.dumps(chosen['band_test'])}")
    print(f"ECE test before {ece_before:.4f} after {ece_after:.4f}")
