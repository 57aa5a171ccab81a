#!/usr/bin/python3
"""Train, calibrate and evaluate models/diabetes-pima (task `risk`).

    /usr/bin/python3 models/diabetes-pima/train/train.py        (from the repository root)

Data: the fixed Ripley (1996) split of the Pima Indians Diabetes data as shipped in R's
MASS (`../shared/data/tabular/pima/Pima.tr.csv`, n=200, and `Pima.te.csv`, n=332).

Steps, in this order (the test split is read only in step 5):

1. Model selection on the train split only: logistic regression over a few explainable
   feature sets x L2 strengths, scored by 20x repeated stratified 10-fold CV log loss.
   Rule (fixed before looking at any result): the lowest mean CV log loss wins, then
   the one-standard-error rule picks the candidate with the fewest inputs (then the
   strongest penalty) whose mean is within one SE of the best.
2. Fit the chosen model on all 200 train rows (inputs standardised with the train mean/SD).
3. Calibration on train only: logistic recalibration (Platt / Cox) of the out-of-fold
   linear predictor from the same repeated CV: logit p = a + b * lp. It is folded into
   the coefficients (beta' = b * beta, intercept' = a + b * intercept), so the served
   contributions are still exact.
4. Build the ONNX graph by hand (no skl2onnx here): (x - mean) / sd -> MatMul(W) ->
   `contributions`; ReduceSum + intercept -> Sigmoid -> `risk`. Write model.json.
5. Evaluate once on the test split, with the predictions of onnxruntime-node (the runtime
   Lantern serves with; train/predict.ts via tsx), cross-checked against numpy.

Writes model.onnx, model.json, train/train-summary.json, evaluation/cv-selection.json,
evaluation/test-metrics.json, evaluation/test-predictions.csv, evaluation/test-roc.svg,
evaluation/test-calibration.svg. Deterministic (fixed seeds).
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import RepeatedStratifiedKFold

# Recipes run as scripts (/usr/bin/python3 models/<id>/train/train.py), not as a package:
# put models/tools on the path explicitly to share its statistics.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from evaluation_stats import Z95, ece, roc_curve, wilson  # noqa: E402
from evaluation_stats import delong_auc as delong  # noqa: E402
import svg_figures  # noqa: E402

HERE = Path(__file__).resolve().parent
MODEL_DIR = HERE.parent
REPO = MODEL_DIR.parent.parent
EVAL_DIR = MODEL_DIR / "evaluation"
DATA = REPO.parent / "shared" / "data" / "tabular" / "pima"
TRAIN_CSV, TEST_CSV = DATA / "Pima.tr.csv", DATA / "Pima.te.csv"
TEST_SPLIT = "Ripley test split (n=332)"
SEED = 20261122
N_SPLITS, N_REPEATS = 10, 20
BOOTSTRAP = 2000

# column in the CSV -> Lantern feature (request field), in the order of the full data set.
COLUMNS = {
    "npreg": "pregnancies",
    "glu": "glucose2hOgtt",
    "bp": "diastolicBp",
    "skin": "tricepsSkinfold",
    "bmi": "bmi",
    "ped": "diabetesPedigree",
    "age": "age",
}
CANDIDATE_SETS = {
    "all-7": ["npreg", "glu", "bp", "skin", "bmi", "ped", "age"],
    "ripley-5 (npreg, glu, bmi, ped, age)": ["npreg", "glu", "bmi", "ped", "age"],
    "4 without pedigree (npreg, glu, bmi, age)": ["npreg", "glu", "bmi", "age"],
    "4 without pregnancies (glu, bmi, ped, age)": ["glu", "bmi", "ped", "age"],
    "3 (glu, bmi, age)": ["glu", "bmi", "age"],
}
# sklearn's C (inverse L2 strength) on standardised inputs; 1e4 is effectively unpenalised.
CANDIDATE_C = [0.01, 0.03, 0.1, 0.3, 1.0, 10000.0]


def read(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    x = np.array([[float(r[c]) for c in COLUMNS] for r in rows], dtype=np.float64)
    y = np.array([1 if r["type"] == "Yes" else 0 for r in rows], dtype=np.int64)
    return x, y


def cols(names: list[str]) -> list[int]:
    order = list(COLUMNS)
    return [order.index(n) for n in names]


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def logistic_fit(y: np.ndarray, x: np.ndarray | None, offset: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Unpenalised logistic regression by Newton-Raphson: intercept (+ slope on x), optional offset.
    Returns the estimates and their Wald covariance."""
    n = len(y)
    design = np.ones((n, 1)) if x is None else np.column_stack([np.ones(n), x])
    off = np.zeros(n) if offset is None else offset
    beta = np.zeros(design.shape[1])
    for _ in range(100):
        eta = design @ beta + off
        p = 1 / (1 + np.exp(-eta))
        w = p * (1 - p)
        hessian = design.T @ (design * w[:, None])
        step = np.linalg.solve(hessian, design.T @ (y - p))
        beta += step
        if np.max(np.abs(step)) < 1e-12:
            break
    eta = design @ beta + off
    p = 1 / (1 + np.exp(-eta))
    return beta, np.linalg.inv(design.T @ (design * (p * (1 - p))[:, None]))


def standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x.mean(axis=0), x.std(axis=0)  # ddof=0, as sklearn's StandardScaler


def fit_lr(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    mean, sd = standardise(x)
    lr = LogisticRegression(C=c, solver="lbfgs", max_iter=10000, tol=1e-10)
    lr.fit((x - mean) / sd, y)
    return mean, sd, lr.coef_[0].astype(np.float64), float(lr.intercept_[0])


def cv_linear_predictors(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, list[dict]]:
    """Out-of-fold linear predictors, one column per repeat, and per-fold scores."""
    splitter = RepeatedStratifiedKFold(n_splits=N_SPLITS, n_repeats=N_REPEATS, random_state=SEED)
    lp = np.zeros((len(y), N_REPEATS))
    folds = []
    for k, (tr, te) in enumerate(splitter.split(x, y)):
        mean, sd, coef, icpt = fit_lr(x[tr], y[tr], c)
        eta = ((x[te] - mean) / sd) @ coef + icpt
        lp[te, k // N_SPLITS] = eta
        p = 1 / (1 + np.exp(-eta))
        folds.append({"logLoss": log_loss(y[te], p), "brier": float(np.mean((p - y[te]) ** 2)), "auroc": delong(y[te], p)[0]})
    return lp, folds


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 10) -> list[dict]:
    idx = np.minimum((p * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):
        m = idx == b
        if m.any():
            k, n = int(y[m].sum()), int(m.sum())
            out.append({"bin": [b / bins, (b + 1) / bins], "n": n, "events": k,
                        "meanRisk": float(p[m].mean()), "observed": k / n, "observedCi95": wilson(k, n)})
    return out


def calibration_slope_intercept(p: np.ndarray, y: np.ndarray) -> dict:
    lp = np.log(p / (1 - p))
    (a_slope, b), cov = logistic_fit(y, lp)
    (a,), cov_a = logistic_fit(y, None, offset=lp)
    se_b, se_a = math.sqrt(cov[1, 1]), math.sqrt(cov_a[0, 0])
    return {
        "slope": {"value": float(b), "ci95": [float(b - Z95 * se_b), float(b + Z95 * se_b)],
                  "method": "logistic regression of outcome on logit(risk); Wald 95% CI"},
        "intercept": {"value": float(a), "ci95": [float(a - Z95 * se_a), float(a + Z95 * se_a)],
                      "method": "calibration-in-the-large: intercept with logit(risk) as offset (slope fixed at 1); Wald 95% CI"},
        "slopeFitIntercept": float(a_slope),
    }


def bootstrap_ci(y: np.ndarray, p: np.ndarray, stat) -> list[float]:
    rng = np.random.default_rng(SEED)
    vals = []
    for _ in range(BOOTSTRAP):
        i = rng.integers(0, len(y), len(y))
        vals.append(stat(p[i], y[i]))
    return [float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))]


# ------------------------------------------------------------------ 1. selection


def select(x: np.ndarray, y: np.ndarray) -> tuple[dict, list[dict]]:
    rows = []
    for set_name, names in CANDIDATE_SETS.items():
        for c in CANDIDATE_C:
            _, folds = cv_linear_predictors(x[:, cols(names)], y, c)
            ll = np.array([f["logLoss"] for f in folds])
            rows.append({
                "featureSet": set_name, "features": names, "C": c,
                "cvLogLoss": float(ll.mean()),
                # SE of the mean over the 10 folds of one repeat (fold-level SD / sqrt(10)),
                # the usual one-SE-rule convention; repeats only reduce Monte Carlo noise.
                "cvLogLossSe": float(ll.std(ddof=1) / math.sqrt(N_SPLITS)),
                "cvAuroc": float(np.mean([f["auroc"] for f in folds])),
                "cvBrier": float(np.mean([f["brier"] for f in folds])),
            })
            print(f"  {set_name:45s} C={c:<8g} CV log loss {rows[-1]['cvLogLoss']:.4f}  AUROC {rows[-1]['cvAuroc']:.4f}", flush=True)
    best = min(rows, key=lambda r: r["cvLogLoss"])
    within = [r for r in rows if r["cvLogLoss"] <= best["cvLogLoss"] + best["cvLogLossSe"]]
    chosen = min(within, key=lambda r: (len(r["features"]), r["C"]))
    return {"best": best, "chosen": chosen, "withinOneSe": [f"{r['featureSet']} C={r['C']:g}" for r in within]}, rows


# ------------------------------------------------------------------ 4. ONNX graph


def build_onnx(path: Path, card_features: list[str], term_columns: list[int], mean_full: np.ndarray,
               sd_full: np.ndarray, coef: np.ndarray, intercept: float) -> None:
    """features [N,K] -> z = (x - mean) / sd -> contributions = z @ W [N,T] -> risk = sigmoid(sum + b).

    W[k, t] = coefficient of term t when input column k feeds it, else 0: inputs that are not
    model terms (sex) go in with mean 0, sd 1 and an all-zero row, so they never change the risk.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    k, t = len(card_features), len(term_columns)
    w = np.zeros((k, t), dtype=np.float32)
    for j, col in enumerate(term_columns):
        w[col, j] = coef[j]
    inits = [
        numpy_helper.from_array(mean_full.astype(np.float32), "train_mean"),
        numpy_helper.from_array(sd_full.astype(np.float32), "train_sd"),
        numpy_helper.from_array(w, "coefficients"),
        numpy_helper.from_array(np.array([intercept], dtype=np.float32), "intercept"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "term_axis"),
    ]
    nodes = [
        helper.make_node("Sub", ["features", "train_mean"], ["centred"]),
        helper.make_node("Div", ["centred", "train_sd"], ["standardised"]),
        helper.make_node("MatMul", ["standardised", "coefficients"], ["contributions"]),
        helper.make_node("ReduceSum", ["contributions", "term_axis"], ["linear_sum"], keepdims=1),
        helper.make_node("Add", ["linear_sum", "intercept"], ["log_odds"]),
        helper.make_node("Sigmoid", ["log_odds"], ["risk"]),
    ]
    graph = helper.make_graph(
        nodes, "diabetes_pima_logistic",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", k])],
        [helper.make_tensor_value_info("risk", TensorProto.FLOAT, ["N", 1]),
         helper.make_tensor_value_info("contributions", TensorProto.FLOAT, ["N", t])],
        inits,
    )
    graph.doc_string = f"inputs in order: {', '.join(card_features)}"
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="lantern models/diabetes-pima/train/train.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())


def predict_ort(model: Path, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(rows.tolist(), f)
        rows_path = f.name
    cmd = ["npx", "--no-install", "tsx", str(HERE / "predict.ts"), str(model), rows_path]
    env = dict(os.environ, ONNXRUNTIME_NODE_INSTALL="skip")
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    os.unlink(rows_path)
    if r.returncode != 0:
        sys.exit(f"predict.ts failed ({r.returncode}):\n{r.stderr}")
    out = json.loads(r.stdout)
    return np.asarray(out["risk"], dtype=np.float64), np.asarray(out["contributions"], dtype=np.float64)


# ------------------------------------------------------------------ plots


def plots(y: np.ndarray, p: np.ndarray, auc: float, ci: list[float], rel: list[dict], cal: dict, ece_value: float) -> None:
    plt = svg_figures.pyplot()
    fpr, tpr = roc_curve(y, p)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(fpr, tpr, lw=2, label=f"diabetes-pima, AUROC {auc:.3f} (95% CI {ci[0]:.3f}-{ci[1]:.3f})")
    for t, marker in ((0.10, "s"), (0.30, "o")):
        pred = p >= t
        ax.plot([(pred & (y == 0)).sum() / (y == 0).sum()], [(pred & (y == 1)).sum() / (y == 1).sum()], marker, c="C3",
                label=f"risk >= {t:.0%} (band boundary)")
    ax.plot([0, 1], [0, 1], ls=":", c="grey", lw=1)
    svg_figures.finish_roc(fig, ax, f"ROC, Pima {TEST_SPLIT}", EVAL_DIR / "test-roc.svg")

    fig, (ax, hx) = plt.subplots(2, 1, figsize=(5, 6), gridspec_kw={"height_ratios": [4, 1]}, sharex=True)
    ax.plot([0, 1], [0, 1], ls=":", c="grey", lw=1, label="perfect calibration")
    xs = [r["meanRisk"] for r in rel]
    ys = [r["observed"] for r in rel]
    err = np.array([[r["observed"] - r["observedCi95"][0] for r in rel], [r["observedCi95"][1] - r["observed"] for r in rel]])
    ax.errorbar(xs, ys, yerr=err, fmt="o-", c="C0", capsize=3,
                label=f"10 equal-width bins (Wilson 95% CI), ECE {ece_value:.3f}")
    grid = np.linspace(0.005, 0.995, 199)
    lg = np.log(grid / (1 - grid))
    slope, icpt = cal["slope"]["value"], cal["intercept"]["value"]
    ax.plot(grid, 1 / (1 + np.exp(-(cal["slopeFitIntercept"] + slope * lg))), c="C1", lw=1, ls="--",
            label=f"logistic fit: slope {slope:.2f}; calibration-in-the-large {icpt:.2f}")
    for x_ in (0.10, 0.30):
        ax.axvline(x_, c="grey", lw=0.5)
    ax.set_ylabel("observed diabetes fraction")
    ax.set_title(f"Calibration, Pima {TEST_SPLIT}")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    hx.hist([p[y == 0], p[y == 1]], bins=20, range=(0, 1), stacked=True, color=["C2", "C3"], label=["no diabetes", "diabetes"])
    hx.set_xlabel("predicted risk")
    hx.set_ylabel("n")
    hx.legend(fontsize=7)
    svg_figures.save(fig, EVAL_DIR / "test-calibration.svg")


# ------------------------------------------------------------------ main


def main() -> None:
    EVAL_DIR.mkdir(exist_ok=True)
    x_tr, y_tr = read(TRAIN_CSV)
    print(f"train: {len(y_tr)} rows, {y_tr.sum()} diabetes", flush=True)

    print("1. model selection (train split only, repeated 10-fold CV)", flush=True)
    selection, table = select(x_tr, y_tr)
    chosen = selection["chosen"]
    names, c = chosen["features"], chosen["C"]
    print(f"   best by CV log loss: {selection['best']['featureSet']} C={selection['best']['C']:g}; "
          f"chosen (one-SE rule): {chosen['featureSet']} C={c:g}", flush=True)

    print("2. fit on all train rows", flush=True)
    xs = x_tr[:, cols(names)]
    mean, sd, coef, icpt = fit_lr(xs, y_tr, c)

    print("3. calibration: logistic recalibration of the out-of-fold linear predictor", flush=True)
    lp_oof, _ = cv_linear_predictors(xs, y_tr, c)
    lp_stack = lp_oof.T.reshape(-1)
    y_stack = np.tile(y_tr, N_REPEATS)
    (cal_a, cal_b), _ = logistic_fit(y_stack, lp_stack)
    p_oof_raw = 1 / (1 + np.exp(-lp_stack))
    p_oof_cal = 1 / (1 + np.exp(-(cal_a + cal_b * lp_stack)))
    coef_cal, icpt_cal = cal_b * coef, cal_a + cal_b * icpt
    print(f"   OOF recalibration: a={cal_a:.4f}, b={cal_b:.4f}; CV ECE {ece(p_oof_raw, y_stack):.4f} -> {ece(p_oof_cal, y_stack):.4f}", flush=True)

    print("4. ONNX graph + card", flush=True)
    card_features = [COLUMNS[n] for n in names] + ["sex"]
    mean_full = np.r_[mean, 0.0]
    sd_full = np.r_[sd, 1.0]
    model_path = MODEL_DIR / "model.onnx"
    build_onnx(model_path, card_features, list(range(len(names))), mean_full, sd_full, coef_cal, icpt_cal)
    sha = hashlib.sha256(model_path.read_bytes()).hexdigest()
    ranges = {n: [float(x_tr[:, cols([n])[0]].min()), float(x_tr[:, cols([n])[0]].max())] for n in COLUMNS}

    print("5. test split, once", flush=True)
    x_te, y_te = read(TEST_CSV)
    rows = np.column_stack([x_te[:, cols(names)], np.zeros(len(y_te))])  # sex = female (0)
    p, contrib = predict_ort(model_path, rows)
    z = (x_te[:, cols(names)] - mean) / sd
    p_np = 1 / (1 + np.exp(-(z @ coef_cal + icpt_cal)))
    max_diff = float(np.max(np.abs(p - p_np)))
    assert max_diff < 1e-5, f"onnxruntime and numpy disagree by {max_diff}"
    assert np.allclose(contrib, z * coef_cal, atol=1e-4), "contributions differ from coefficient x standardised value"
    auc, se = delong(y_te, p)
    auc_ci = [auc - Z95 * se, auc + Z95 * se]
    brier = float(np.mean((p - y_te) ** 2))
    ece_value = ece(p, y_te)
    cal = calibration_slope_intercept(p, y_te)
    rel = reliability(p, y_te)
    thresholds = {}
    for t in (0.10, 0.30, 0.50):
        pred = p >= t
        tp, fn = int((pred & (y_te == 1)).sum()), int((~pred & (y_te == 1)).sum())
        tn, fp = int((~pred & (y_te == 0)).sum()), int((pred & (y_te == 0)).sum())
        thresholds[f"{t:g}"] = {
            "confusion": {"tp": tp, "fn": fn, "tn": tn, "fp": fp},
            "sensitivity": {"value": tp / (tp + fn), "ci95": wilson(tp, tp + fn), "n": tp + fn},
            "specificity": {"value": tn / (tn + fp), "ci95": wilson(tn, tn + fp), "n": tn + fp},
            "accuracy": {"value": (tp + tn) / len(y_te), "ci95": wilson(tp + tn, len(y_te)), "n": len(y_te)},
        }
    bands = {"low (<10%)": p < 0.10, "moderate (10-30%)": (p >= 0.10) & (p < 0.30), "high (>=30%)": p >= 0.30}
    band_rows = {k: {"n": int(m.sum()), "events": int(y_te[m].sum()), "observed": float(y_te[m].mean()) if m.any() else None,
                     "observedCi95": wilson(int(y_te[m].sum()), int(m.sum())) if m.any() else None,
                     "meanRisk": float(p[m].mean()) if m.any() else None} for k, m in bands.items()}
    metrics = {
        "model": {"file": "model.onnx", "sha256": sha},
        "split": TEST_SPLIT,
        "counts": {"n": int(len(y_te)), "diabetes": int(y_te.sum()), "noDiabetes": int((1 - y_te).sum())},
        "runtime": "onnxruntime-node (train/predict.ts); numpy agrees within %.1e" % max_diff,
        "AUROC": {"value": auc, "ci95": auc_ci, "se": se, "method": "Mann-Whitney AUROC; DeLong 1988 variance, normal 95% CI"},
        "Brier": {"value": brier, "ci95": bootstrap_ci(y_te, p, lambda a, b: float(np.mean((a - b) ** 2))),
                  "method": f"mean squared error of risk; percentile bootstrap 95% CI ({BOOTSTRAP} resamples, seed {SEED})",
                  "reference": {"prevalenceOnly": float(y_te.mean() * (1 - y_te.mean()))}},
        "ECE": {"value": ece_value, "ci95": bootstrap_ci(y_te, p, ece),
                "method": f"10 equal-width bins, |mean risk - observed| weighted by bin size; percentile bootstrap 95% CI ({BOOTSTRAP} resamples)"},
        "calibration": cal,
        "meanRisk": float(p.mean()), "observedPrevalence": float(y_te.mean()),
        "reliability": rel,
        "thresholds": thresholds,
        "bands": band_rows,
    }
    (EVAL_DIR / "test-metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    with open(EVAL_DIR / "test-predictions.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["row", *[COLUMNS[n] for n in names], "diabetes", "risk"])
        for i in range(len(y_te)):
            w.writerow([i + 1, *[f"{v:g}" for v in x_te[i, cols(names)]], int(y_te[i]), f"{p[i]:.6f}"])
    plots(y_te, p, auc, auc_ci, rel, cal, ece_value)
    print(f"   AUROC {auc:.4f} [{auc_ci[0]:.4f}, {auc_ci[1]:.4f}]  Brier {brier:.4f}  ECE {ece_value:.4f}  "
          f"slope {cal['slope']['value']:.3f}  intercept {cal['intercept']['value']:.3f}", flush=True)

    summary = {
        "data": {"train": str(TRAIN_CSV.relative_to(REPO.parent)), "test": str(TEST_CSV.relative_to(REPO.parent)),
                 "trainCounts": {"n": int(len(y_tr)), "diabetes": int(y_tr.sum())}},
        "selection": {"rule": "lowest mean CV log loss; then one-SE rule: fewest inputs, then strongest L2 penalty, within one SE of the best",
                      "cv": f"{N_REPEATS}x repeated stratified {N_SPLITS}-fold CV on the train split (seed {SEED})",
                      **selection},
        "fit": {"features": names, "C": c, "trainMean": mean.tolist(), "trainSd": sd.tolist(),
                "coefficientsStandardised": coef.tolist(), "intercept": icpt},
        "calibration": {"method": "logistic recalibration (Platt/Cox) of out-of-fold linear predictors, folded into the coefficients",
                        "a": float(cal_a), "b": float(cal_b), "cvEceBefore": ece(p_oof_raw, y_stack), "cvEceAfter": ece(p_oof_cal, y_stack),
                        "coefficientsStandardised": coef_cal.tolist(), "intercept": float(icpt_cal),
                        "coefficientsPerUnit": (coef_cal / sd).tolist(),
                        "oddsRatioPerSd": np.exp(coef_cal).tolist()},
        "trainRanges": ranges,
        "weights": {"file": "model.onnx", "sha256": sha},
    }
    (HERE / "train-summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (EVAL_DIR / "cv-selection.json").write_text(json.dumps({"rule": summary["selection"]["rule"], "cv": summary["selection"]["cv"],
                                                           "candidates": table}, indent=2) + "\n")
    write_card(summary, metrics, names, ranges)
    print(f"wrote model.onnx ({sha[:12]}...), model.json, evaluation/", flush=True)


def write_card(summary: dict, m: dict, names: list[str], ranges: dict) -> None:
    from card import card  # train/card.py: the descriptive text of the card, kept apart from the numbers

    out = card(summary, m, names, ranges, TEST_SPLIT)
    (MODEL_DIR / "model.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
