#!/usr/bin/python3
"""Evaluate the shipped model.onnx of cxr-pneumonia-adult once on the test split, and its OOD score.

    /usr/bin/python3 models/cxr-pneumonia-adult/train/evaluate.py

Every number comes from the served graph run by onnxruntime-node (train/predict.ts): the test
films are prepared afresh by preprocessImageFile(file, 'grey-square@1', [224, 224]), exactly what
`npm run eval` does; the OOD sets from the prepare.ts cache (same preprocessing). The operating
point, refer band and OOD threshold are read from train/train-summary.json (chosen on valid).

Writes evaluation/test-metrics.json, evaluation/test-predictions.csv, evaluation/ood.json,
evaluation/roc.png, evaluation/calibration.png, evaluation/ood-histograms.png, evaluation/heatmaps.png.
"""
from __future__ import annotations

import csv
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, HERE, MODEL_DIR, es, load_cached, read_csv, run_predict, sha256, u16_to_float  # noqa: E402
from onnx_ood import dicom_strata  # noqa: E402  (models/tools, on the path since common)

EVAL = MODEL_DIR / "evaluation"
ONNX = MODEL_DIR / "model.onnx"
SEED = 20240611
REPS = 2000
BORDER_FRAC = 0.15


def r4(v):
    return None if v is None else round(float(v), 4)


def cluster_bootstrap(stat, y, p, groups, reps=REPS, seed=SEED):
    """Percentile 95% CI of stat(y, p) resampling whole patients with replacement (resamples where the
    statistic is undefined, e.g. one class only, are skipped and counted)."""
    rng = np.random.default_rng(seed)
    ids = sorted(set(groups))
    members = {g: np.flatnonzero(np.asarray(groups) == g) for g in ids}
    vals, skipped = [], 0
    for _ in range(reps):
        idx = np.concatenate([members[ids[k]] for k in rng.integers(0, len(ids), len(ids))])
        v = stat(y[idx], p[idx])
        if v is None or (isinstance(v, float) and math.isnan(v)):
            skipped += 1
            continue
        vals.append(v)
    return [float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))], skipped


def auc_stat(y, p):
    return None if y.min() == y.max() else es.delong_auc(y, p)[0]


def at(thr, what):
    def f(y, p):
        c = es.confusion(p, y, thr)
        if what == "accuracy":
            return (c["tp"] + c["tn"]) / len(y)
        if what == "sensitivity":
            return None if c["tp"] + c["fn"] == 0 else c["tp"] / (c["tp"] + c["fn"])
        return None if c["tn"] + c["fp"] == 0 else c["tn"] / (c["tn"] + c["fp"])
    return f


def brier(y, p):
    return float(np.mean((p - y) ** 2))


def threshold_block(y, p, thr, groups=None):
    c = es.confusion(p, y, thr)
    out = {"threshold": thr, "confusion": c}
    for what, k, n in (("accuracy", c["tp"] + c["tn"], len(y)), ("sensitivity", c["tp"], c["tp"] + c["fn"]),
                       ("specificity", c["tn"], c["tn"] + c["fp"])):
        out[what] = {"value": k / n, "n": n, "ci95Wilson": es.wilson(k, n)}
        if groups is not None:
            out[what]["ci95ClusterBootstrap"] = cluster_bootstrap(at(thr, what), y, p, groups)[0]
    return out


def detection(id_scores, ood_scores, thr):
    """OOD detection: AUROC of ood_score separating the OOD set (positive) from in-distribution films, and share flagged."""
    y = np.r_[np.zeros(len(id_scores)), np.ones(len(ood_scores))]
    s = np.r_[id_scores, ood_scores]
    auc, se = es.delong_auc(y, s)
    return {"n": len(ood_scores), "auroc": auc, "auroc95": [max(0, auc - es.Z95 * se), min(1, auc + es.Z95 * se)],
            "flagged": float((ood_scores > thr).mean()), "flaggedCount": int((ood_scores > thr).sum()),
            "scoreMedian": float(np.median(ood_scores)), "scoreRange": [float(ood_scores.min()), float(ood_scores.max())]}


def main() -> None:
    summary = json.loads((HERE / "train-summary.json").read_text())
    val = summary["validation"]
    oodsum = json.loads((HERE / "ood-summary.json").read_text())   # train/ood.py: the multi-depth OOD head
    thr, band, ood_thr = val["threshold"], val["referBand"], oodsum["threshold"]
    scale, bias = val["platt"]["scale"], val["platt"]["bias"]
    EVAL.mkdir(exist_ok=True)

    rows = [r for r in read_csv(CACHE / "nih.csv")]
    test_rows = [r for r in rows if r["split"] == "test"]
    valid_rows = [r for r in rows if r["split"] == "valid"]
    te = run_predict([str(ONNX), "--nih", "test", "--heatmap"])
    va = run_predict([str(ONNX), "--nih", "valid"])
    assert te["files"] == [r["file"] for r in test_rows] and va["files"] == [r["file"] for r in valid_rows]
    p = np.array(te["probability"], dtype=np.float64)
    ood = np.array(te["ood_score"], dtype=np.float64)
    heat = np.array(te["heatmap"]).reshape(-1, 28, 28)
    y = np.array([int(r["label"]) for r in test_rows], dtype=np.float64)
    groups = [r["patient_id"] for r in test_rows]
    pv, yv = np.array(va["probability"]), np.array([int(r["label"]) for r in valid_rows], dtype=np.float64)
    ov = np.array(va["ood_score"])
    logit = (np.log(p / (1 - p)) - bias) / scale
    p_raw = 1 / (1 + np.exp(-logit))

    # ---- per image -------------------------------------------------------------------------
    auc, se = es.delong_auc(y, p)
    per_image = {
        "n": len(y), "positives": int(y.sum()), "patients": len(set(groups)),
        "AUROC": {"value": auc, "ci95ClusterBootstrap": cluster_bootstrap(auc_stat, y, p, groups)[0],
                  "ci95DeLongIndependentImages": [auc - es.Z95 * se, auc + es.Z95 * se]},
        "operatingPoint": threshold_block(y, p, thr, groups),
        "at0.5": threshold_block(y, p, 0.5, groups),
        "ECE": {"value": es.ece(p, y), "ci95ClusterBootstrap": cluster_bootstrap(lambda a, b: es.ece(b, a), y, p, groups)[0],
                "uncalibrated": es.ece(p_raw, y)},
        "Brier": {"value": brier(y, p), "ci95ClusterBootstrap": cluster_bootstrap(brier, y, p, groups)[0],
                  "uncalibrated": brier(y, p_raw)},
        "reliability": es.reliability(p, y),
        "referBand": {**band, "test": es.band_effect(p, y, band["low"], band["high"]),
                      "valid": es.band_effect(pv, yv, band["low"], band["high"])},
        "bootstrap": {"reps": REPS, "seed": SEED, "unit": "patient", "interval": "percentile"},
    }

    # ---- per patient (score = max over the patient's test films; label = 1 if any film is positive)
    by = defaultdict(list)
    for i, g in enumerate(groups):
        by[g].append(i)
    pids = sorted(by)
    pp = np.array([p[by[g]].max() for g in pids])
    yp = np.array([y[by[g]].max() for g in pids])
    mixed = sum(1 for g in pids if len(set(y[by[g]])) > 1)
    auc_p, se_p = es.delong_auc(yp, pp)
    per_patient = {
        "n": len(pids), "positives": int(yp.sum()), "patientsWithMixedLabels": mixed,
        "filmsPerPatient": {str(k): int(v) for k, v in zip(*np.unique([len(by[g]) for g in pids], return_counts=True))},
        "rule": "patient score = max probability over the patient's test films; patient label = 1 if any film is labelled Pneumonia",
        "AUROC": {"value": auc_p, "ci95DeLong": [max(0, auc_p - es.Z95 * se_p), min(1, auc_p + es.Z95 * se_p)]},
        "operatingPoint": threshold_block(yp, pp, thr),
        "ECE": {"value": es.ece(pp, yp)},
        "Brier": {"value": brier(yp, pp)},
        "referBand": es.band_effect(pp, yp, band["low"], band["high"]),
    }

    # ---- OOD -------------------------------------------------------------------------------
    dicom = read_csv(CACHE / "dicom.csv")
    od = run_predict([str(ONNX), "--npy", str(CACHE / "dicom224.npy")])
    pm = run_predict([str(ONNX), "--npy", str(CACHE / "pmnist224.npy")])
    od_s, pm_s = np.array(od["ood_score"]), np.array(pm["ood_score"])
    od_p = np.array(od["probability"])
    pm_rows = read_csv(CACHE / "pmnist.csv")
    strata = dicom_strata(dicom)
    mod, part, view = strata["modality"], strata["bodyPart"], strata["view"]
    is_cmu, is_chest_frontal, is_other = strata["nonChestCtMrUs"], strata["frontalChest"], strata["otherNonChest"]
    # report halves: ood.py chose the design on the other (tuning) halves
    pm_rep = np.ones(len(pm_s), bool)
    pm_rep[oodsum["split"]["paediatricTune"]] = False
    dc_rep = ~np.isin([d["file"] for d in dicom], oodsum["split"]["dicomTune"])
    lateral = [d["file"] for d in dicom if d["view_position"].upper() in ("LL", "RL", "LATERAL", "LAT")]
    ood_eval = {
        "threshold": ood_thr,
        "thresholdRule": oodsum["thresholdRule"],
        "method": oodsum["method"],
        "reportedOn": ("REPORT halves of each OOD set: train/ood.py chose the design (pooling, combination, sharpness stage) "
                       "on the other (tuning) halves, listed in train/ood-summary.json; 'fullSet' figures include the tuning half"),
        "inDistribution": {
            "validRejected": float((ov > ood_thr).mean()), "validN": len(ov),
            "testRejected": float((ood > ood_thr).mean()), "testRejectedCount": int((ood > ood_thr).sum()), "testN": len(ood),
            "testScoreMedian": float(np.median(ood)),
        },
        "referenceForAUROC": "in-distribution test films (n=130, not used to choose anything)",
        "paediatric": {"set": "PneumoniaMNIST official test split (624 paediatric films, 28 px upsampled by grey-square@1 to 224); report half: 312 films",
                       **detection(ood, pm_s[pm_rep], ood_thr), "fullSet": detection(ood, pm_s, ood_thr)},
        "nonChestCtMrUs": {"set": "CT, MR and US greyscale frames from dicom/**, one per series, through parseDicom/decodeFrame/grey-square@1; report half",
                           **detection(ood, od_s[is_cmu & dc_rep], ood_thr), "fullSet": detection(ood, od_s[is_cmu], ood_thr),
                           "byModality": {m: {"n": int((mod[is_cmu & dc_rep] == m).sum()), "flagged": int(((od_s > ood_thr) & (mod == m) & dc_rep).sum())}
                                          for m in sorted(set(mod[is_cmu]))}},
        "otherNonChest": {"set": "every other decodable greyscale DICOM frame that is not a frontal chest film: " + ", ".join(
                              sorted({f"{m}{(' ' + b) if b else ''}" for m, b in zip(mod[is_other], part[is_other])})) + "; report half",
                          **detection(ood, od_s[is_other & dc_rep], ood_thr), "fullSet": detection(ood, od_s[is_other], ood_thr),
                          "files": [{"file": dicom[i]["file"], "modality": mod[i], "bodyPart": part[i], "view": view[i],
                                     "oodScore": float(od_s[i]), "flagged": bool(od_s[i] > ood_thr), "half": "report" if dc_rep[i] else "tune"}
                                    for i in np.flatnonzero(is_other)]},
        "frontalChestDicom": {"note": ("not OOD: CR chest PA films in the DICOM test corpora (not part of the NIH set); should pass. "
                                       "They were looked at when ood.py chose the design (see ood-summary.json designComparison), so "
                                       "they are not an independent check"),
                              "files": [{"file": dicom[i]["file"], "oodScore": float(od_s[i]), "flagged": bool(od_s[i] > ood_thr),
                                         "probability": float(od_p[i])} for i in np.flatnonzero(is_chest_frontal)]},
        "lateralChest": {"n": 0, "note": "no lateral chest film exists in ../shared/data: every DICOM was searched for View Position "
                         "(0018,5101) LL/RL/LATERAL and lateral descriptions; the only lateral film is a lateral cervical spine (CR, "
                         "View Position LL, 16x16 px test thumbnail: " + "; ".join(lateral) + "), counted in otherNonChest"},
        "dicomSkipped": "see var/train-cache/cxr-pneumonia-adult/dicom-skipped.csv (summary in ood.json.dicomPrepare)",
    }
    ood_eval["thresholdSweep"] = {
        "note": "for information only, computed after the fact (OOD columns on the report halves): the shipped threshold is the pre-specified percentile above",
        "rows": [{"validPercentile": q, "threshold": float(np.percentile(ov, q)),
                  **{name: float((s > np.percentile(ov, q)).mean()) for name, s in
                     (("validRejected", ov), ("testRejected", ood), ("paediatricFlagged", pm_s[pm_rep]),
                      ("ctMrUsFlagged", od_s[is_cmu & dc_rep]), ("otherNonChestFlagged", od_s[is_other & dc_rep]))}}
                 for q in (90.0, 95.0, 97.5, 99.0, 99.5)],
    }
    skipped = read_csv(CACHE / "dicom-skipped.csv")
    reasons = defaultdict(int)
    for s in skipped:
        r = s["reason"]
        key = ("colour (" + r.split("this one is ")[1].split(" with")[0] + ")") if "greyscale image" in r else \
            "series already represented" if r.startswith("series already") else \
            "no pixel data" if "no Pixel Data" in r else \
            "bits allocated not 8/16" if "bits allocated" in r else \
            "unsupported transfer syntax / 12-bit JPEG" if ("Transfer syntax" in r or "12-bit" in r) else \
            "not DICOM / malformed / truncated / missing UID"
        reasons[key] += 1
    named = ["dicom/pydicom-data/files/RG1_J2KI.dcm", "dicom/fo-dicom/files/CR-MONO1-10-chest",
             "dicom/pydicom-testfiles/test_files/dicomdirtests/77654033/CR1/6154", "dicom/pydicom-data/files/RG3_J2KI.dcm"]
    files = [d["file"] for d in dicom]
    ood_eval["namedDicom"] = [{"file": f, "modality": mod[files.index(f)], "bodyPart": part[files.index(f)], "view": view[files.index(f)],
                               "rows": int(dicom[files.index(f)]["rows"]), "oodScore": float(od_s[files.index(f)]), "threshold": ood_thr,
                               "flagged": bool(od_s[files.index(f)] > ood_thr), "probability": float(od_p[files.index(f)])} for f in named]
    ood_eval["dicomPrepare"] = {"filesSeen": len(dicom) + len(skipped), "kept": len(dicom), "skipped": dict(sorted(reasons.items()))}
    ood_eval["dicomPrepare"]["keptByModality"] = {m: int((mod == m).sum()) for m in sorted(set(mod))}
    (EVAL / "ood.json").write_text(json.dumps(ood_eval, indent=2) + "\n")

    # ---- CAM mass: centre vs outer frame ----------------------------------------------------
    k = round(BORDER_FRAC * 28)
    frame = np.ones((28, 28), bool)
    frame[k:28 - k, k:28 - k] = False
    mass = heat.reshape(len(heat), -1).sum(1)
    centre_share = heat[:, ~frame].sum(1) / np.maximum(mass, 1e-12)
    cam = {"frame": f"outer {k} px of the 28x28 heatmap ({BORDER_FRAC:.0%} of the side); centre = the rest ({(~frame).mean():.1%} of the area)",
           "meanCentreShare": float(centre_share.mean()), "meanBorderShare": float(1 - centre_share.mean()),
           "centreShareQuartiles": [float(q) for q in np.percentile(centre_share, [25, 50, 75])],
           "filmsWithPeakInBorder": int(sum(frame.reshape(-1)[np.argmax(h.reshape(-1))] for h in heat)),
           "uniformCentreShare": float((~frame).mean())}

    metrics = {"model": "cxr-pneumonia-adult", "weightsSha256": sha256(ONNX), "split": "test (patient-disjoint)",
               "perImage": per_image, "perPatient": per_patient, "heatmapMass": cam,
               "validation": {k2: val[k2] for k2 in ("AUROC", "threshold", "sensitivity", "specificity", "eceBefore", "eceAfter")}}
    (EVAL / "test-metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    with open(EVAL / "test-predictions.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "patient_id", "label", "probability", "ood_score"])
        for r, pi, oi in zip(test_rows, p, ood):
            w.writerow([r["file"], r["patient_id"], r["label"], f"{pi:.6f}", f"{oi:.4f}"])

    plots(y, p, p_raw, yp, pp, per_image, per_patient, thr, ov, ood, pm_s[pm_rep], od_s[is_cmu & dc_rep], od_s[is_other & dc_rep], ood_thr)
    montage(test_rows, y, p, heat, thr)
    print(json.dumps({"perImageAUROC": per_image["AUROC"], "perPatientAUROC": per_patient["AUROC"],
                      "op": {k2: per_image["operatingPoint"][k2]["value"] for k2 in ("accuracy", "sensitivity", "specificity")},
                      "ECE": per_image["ECE"]["value"], "Brier": per_image["Brier"]["value"],
                      "ood": {k2: (ood_eval[k2]["auroc"], ood_eval[k2]["flagged"]) for k2 in ("paediatric", "nonChestCtMrUs", "otherNonChest")},
                      "idRejected": ood_eval["inDistribution"], "cam": cam}, indent=1))


def plots(y, p, p_raw, yp, pp, pi, pp_m, thr, ov, ood, pm_s, cmu_s, other_s, ood_thr):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    for yy, ss, lab in ((y, p, f"per image (n={len(y)}), AUROC {pi['AUROC']['value']:.3f}"),
                        (yp, pp, f"per patient (n={len(yp)}, max score), AUROC {pp_m['AUROC']['value']:.3f}")):
        fpr, tpr = es.roc_curve(yy, ss)
        ax.step(fpr, tpr, where="post", label=lab)
    c = pi["operatingPoint"]
    ax.plot(1 - c["specificity"]["value"], c["sensitivity"]["value"], "ko", label=f"operating point p >= {thr:.3f} (per image)")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title("cxr-pneumonia-adult: test split ROC")
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(EVAL / "roc.png", dpi=110, metadata={"Software": None})
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 5))
    for pr, lab, mk in ((p_raw, "uncalibrated (sigmoid of logit)", "s--"), (p, "Platt-calibrated (served)", "o-")):
        rel = es.reliability(pr, y)
        ax.plot([b["meanProbability"] for b in rel], [b["observed"] for b in rel], mk, label=f"{lab}, ECE {es.ece(pr, y):.3f}")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set_xlabel("predicted probability (10 equal-width bins)")
    ax.set_ylabel("observed share with NIH 'Pneumonia' label")
    ax.set_title(f"Calibration, test split (n={len(y)} films)")
    ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    fig.savefig(EVAL / "calibration.png", dpi=110, metadata={"Software": None})
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    hi = max(np.percentile(np.r_[pm_s, cmu_s, other_s], 99), ood_thr * 1.5)
    lo = min(ov.min(), ood.min())
    bins = np.linspace(lo, hi, 60)
    for s, lab in ((ov, f"adult NIH valid (ID, n={len(ov)})"), (ood, f"adult NIH test (ID, n={len(ood)})"),
                   (pm_s, f"paediatric PneumoniaMNIST test, report half (n={len(pm_s)})"),
                   (cmu_s, f"CT/MR/US DICOM, report half (n={len(cmu_s)})"), (other_s, f"other non-chest DICOM, report half (n={len(other_s)})")):
        ax.hist(np.clip(s, lo, hi), bins=bins, density=True, histtype="step", linewidth=1.5, label=lab)
    ax.axvline(ood_thr, color="k", linestyle="--", label=f"threshold {ood_thr:.1f}")
    ax.set_xlabel("ood_score (max over 6 stages of the standardised Mahalanobis distance; clipped at the right edge)")
    ax.set_ylabel("density")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(EVAL / "ood-histograms.png", dpi=110, metadata={"Software": None})
    plt.close(fig)


def montage(test_rows, y, p, heat, thr):
    """4 films from each confusion cell at the operating point: the first 4 by file name (no picking)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = u16_to_float(np.load(CACHE / "nih224.npy"))
    index = {r["file"]: int(r["index"]) for r in read_csv(CACHE / "nih.csv")}
    pred = p >= thr
    cells = [("TP", pred & (y == 1)), ("FN", ~pred & (y == 1)), ("FP", pred & (y == 0)), ("TN", ~pred & (y == 0))]
    fig, axes = plt.subplots(4, 4, figsize=(12, 12.8))
    for r, (name, m) in enumerate(cells):
        chosen = sorted(np.flatnonzero(m), key=lambda i: test_rows[i]["file"])[:4]
        for c in range(4):
            ax = axes[r, c]
            ax.axis("off")
            if c >= len(chosen):
                continue
            i = chosen[c]
            ax.imshow(x[index[test_rows[i]["file"]]], cmap="gray", vmin=0, vmax=1)
            ax.imshow(heat[i], cmap="jet", alpha=0.35, vmin=0, vmax=1, extent=(-0.5, 223.5, 223.5, -0.5), interpolation="bilinear")
            ax.set_title(f"{name}  p={p[i]:.2f}  label={int(y[i])}\n{Path(test_rows[i]['file']).name}", fontsize=8)
    fig.suptitle(f"cxr-pneumonia-adult: CAM heatmaps on test films (operating point p >= {thr:.3f}); rows TP, FN, FP, TN; "
                 "first 4 of each cell by file name", fontsize=9)
    fig.tight_layout()
    fig.savefig(EVAL / "heatmaps.png", dpi=80, metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
