#!/usr/bin/python3
"""Shortcut analysis of cxr-pneumonia-adult: could the test AUROC come from something other than the lungs?

    /usr/bin/python3 models/cxr-pneumonia-adult/train/shortcuts.py   # after train.py and evaluate.py

(a) borders-only model: the same network and recipe (fewer epochs) trained on the same prepared films with
    the centre blanked to 0, keeping only the outer frame of 15 % of the side (markers, collimation, labels,
    the edges of the body); selected on valid, its test AUROC.
(b) global-statistics model: logistic regression on a 32-bin intensity histogram + mean, std and
    percentiles of the raw 320 px PNG (no spatial information); C chosen on valid; its test AUROC.
(c) the shipped model on the test films with the centre (inner 70 % square: lungs, heart) or the outer
    15 % frame replaced by the film's mean grey level.
(d) the 39 films with an expert (Majkowska et al. 2020) read: NIH label vs expert airspace opacity, the
    model's scores there, and AP/PA.
(e) the NIH follow-up index alone (no image) as a score: a metadata shortcut check.

Writes evaluation/shortcuts.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (CACHE, HERE, MODEL_DIR, NIH_DIR, Net, border_mask, es, forward_all, load_nih,  # noqa: E402
                    run_predict, split_of, train_model)
from evaluate import SEED, auc_stat, cluster_bootstrap  # noqa: E402
from train import parse_args  # noqa: E402

EVAL = MODEL_DIR / "evaluation"
FRAC = 0.15


def auc_with_ci(y, s, groups):
    auc, se = es.delong_auc(y, s)
    return {"value": auc, "ci95ClusterBootstrap": cluster_bootstrap(auc_stat, y, s, groups)[0],
            "ci95DeLong": [auc - es.Z95 * se, auc + es.Z95 * se]}


def global_features(files: list[str]) -> np.ndarray:
    out = []
    for f in files:
        a = np.asarray(Image.open(NIH_DIR / f).convert("L"), dtype=np.float64) / 255.0
        hist = np.histogram(a, bins=32, range=(0, 1))[0] / a.size
        out.append(np.r_[hist, a.mean(), a.std(), np.percentile(a, [1, 5, 25, 50, 75, 95, 99])])
    return np.array(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--border-epochs", type=int, default=15)
    ap.add_argument("--skip-border-model", action="store_true", help="reuse the borders-only result in shortcuts.json")
    s = ap.parse_args()
    torch.set_num_threads(2)
    t0 = time.time()
    x, rows = load_nih()
    xtr, ytr, rtr = split_of(x, rows, "train")
    xva, yva, rva = split_of(x, rows, "valid")
    xte, yte, rte = split_of(x, rows, "test")
    gte = [r["patient_id"] for r in rte]
    metrics = json.loads((EVAL / "test-metrics.json").read_text())
    main_auc = metrics["perImage"]["AUROC"]
    out: dict = {"mainModel": {"testAUROC": main_auc["value"], "ci95ClusterBootstrap": main_auc["ci95ClusterBootstrap"]},
                 "frame": f"outer frame of round({FRAC} x 224) = {round(FRAC * 224)} px per side; centre = inner "
                          f"{224 - 2 * round(FRAC * 224)} px square ({(1 - 2 * FRAC) ** 2:.0%} of the area)"}
    prev = json.loads((EVAL / "shortcuts.json").read_text()) if (EVAL / "shortcuts.json").exists() else {}

    # (a) borders-only model
    if s.skip_border_model and "bordersOnlyModel" in prev:
        out["bordersOnlyModel"] = prev["bordersOnlyModel"]
    else:
        a = parse_args([])
        a.epochs, a.min_epoch = s.border_epochs, 5
        mask = border_mask(224, FRAC)
        blank = lambda t: t * mask  # noqa: E731  (centre -> 0 after augmentation, fixed in image coordinates)
        tb = time.time()
        net, curve = train_model(a, xtr, ytr, xva, yva, float(xtr.mean()), float(xtr.std()), transform=blank, tag="borders ")
        mean, std = float(xtr.mean()), float(xtr.std())
        zv, _ = forward_all(net, xva, mean, std, transform=blank)
        zt, _ = forward_all(net, xte, mean, std, transform=blank)
        out["bordersOnlyModel"] = {
            "what": "same Net/augmentation/loss/EMA/selection as train.py, trained on films whose inner 70% square is set to 0 "
                    f"(only the outer {FRAC:.0%} frame is seen); {a.epochs} epochs, best valid AUROC from epoch {a.min_epoch}",
            "validAUROC": float(roc_auc_score(yva, zv)),
            "testAUROC": auc_with_ci(yte, zt, gte),
            "selectedEpoch": max(c["epoch"] for c in curve if c.get("best")),
            "curve": curve, "seconds": round(time.time() - tb, 1), "seed": a.seed,
        }

    # (b) global intensity statistics
    ftr, fva, fte = (global_features([r["file"] for r in rr]) for rr in (rtr, rva, rte))
    sc = StandardScaler().fit(ftr)
    best = None
    for c in (0.001, 0.01, 0.1, 1.0, 10.0, 100.0):
        lr = LogisticRegression(C=c, max_iter=5000).fit(sc.transform(ftr), ytr)
        v = roc_auc_score(yva, lr.decision_function(sc.transform(fva)))
        if best is None or v > best[1]:
            best = (c, v, lr)
    c, v, lr = best
    st = lr.decision_function(sc.transform(fte))
    out["globalStatisticsModel"] = {
        "what": "logistic regression (L2, C chosen on valid from 0.001..100 by AUROC) on 41 features of the raw 320 px PNG: "
                "32-bin intensity histogram, mean, std, percentiles 1/5/25/50/75/95/99 (no spatial information)",
        "C": c, "validAUROC": v, "trainAUROC": float(roc_auc_score(ytr, lr.decision_function(sc.transform(ftr)))),
        "testAUROC": auc_with_ci(yte, st, gte),
    }

    # (c) occlusion of the shipped model's inputs (torch weights = the exported graph, checked in train.py)
    ck = torch.load(CACHE / "model.pt")
    net = Net(extra=ck["extra"], dropout=ck["dropout"])
    net.load_state_dict(ck["state"])
    net.eval()
    frame = border_mask(224, FRAC).bool()

    def fill(region):
        def f(t):
            m = t.mean(dim=(2, 3), keepdim=True).expand_as(t)
            return torch.where(region.expand_as(t), m, t)
        return f

    z_full, _ = forward_all(net, xte, ck["mean"], ck["std"])
    z_c, _ = forward_all(net, xte, ck["mean"], ck["std"], transform=fill(~frame))
    z_b, _ = forward_all(net, xte, ck["mean"], ck["std"], transform=fill(frame))
    out["occlusion"] = {
        "what": "shipped model on test films with a region replaced by the film's mean grey level",
        "noOcclusion": auc_with_ci(yte, z_full, gte),
        "centreOccluded": auc_with_ci(yte, z_c, gte),
        "borderOccluded": auc_with_ci(yte, z_b, gte),
    }

    # (e) metadata: the NIH follow-up index (how many earlier films the patient had) alone
    fu = np.array([float(r["follow_up"]) for r in rte])
    out["followUpIndex"] = {
        "what": "the NIH follow-up number of the film (<patient>_<follow-up>.png; higher = more earlier films at NIH) used "
                "as the score, no image at all; also reported by `npm run eval` as a metadata baseline",
        "testAUROC": auc_with_ci(yte, fu, gte),
        "validAUROC": float(roc_auc_score(yva, np.array([float(r["follow_up"]) for r in rva]))),
        "spearmanWithModelLogitTest": float(np.corrcoef(np.argsort(np.argsort(fu)), np.argsort(np.argsort(z_full)))[0, 1]),
    }

    # (d) expert-read films
    allp = run_predict([str(MODEL_DIR / "model.onnx"), "--npy", str(CACHE / "nih224.npy")])
    p_all = np.array(allp["probability"])
    ex = [(i, r) for i, r in enumerate(rows) if r["expert_airspace_opacity"]]
    nih = np.array([int(r["label"]) for _, r in ex])
    exp = np.array([1 if r["expert_airspace_opacity"] == "YES" else 0 for _, r in ex])
    view = np.array([r["expert_view"] for _, r in ex])
    pe = np.array([p_all[i] for i, _ in ex])
    held = np.array([r["split"] != "train" for _, r in ex])

    def safe_auc(yy, ss):
        return None if len(set(yy)) < 2 else float(roc_auc_score(yy, ss))

    out["expertRead"] = {
        "n": len(ex), "bySplit": {sp: int(sum(r["split"] == sp for _, r in ex)) for sp in ("train", "valid", "test")},
        "nihVsExpert": {"nihPneumonia_expertOpacityYes": int(((nih == 1) & (exp == 1)).sum()),
                        "nihPneumonia_expertOpacityNo": int(((nih == 1) & (exp == 0)).sum()),
                        "nihNoFinding_expertOpacityYes": int(((nih == 0) & (exp == 1)).sum()),
                        "nihNoFinding_expertOpacityNo": int(((nih == 0) & (exp == 0)).sum()),
                        "agreement": float((nih == exp).mean())},
        "view": {"AP": {"n": int((view == "AP").sum()), "nihPneumonia": int(((view == "AP") & (nih == 1)).sum()),
                        "expertOpacity": int(((view == "AP") & (exp == 1)).sum()), "meanProbability": float(pe[view == "AP"].mean())},
                 "PA": {"n": int((view == "PA").sum()), "nihPneumonia": int(((view == "PA") & (nih == 1)).sum()),
                        "expertOpacity": int(((view == "PA") & (exp == 1)).sum()), "meanProbability": float(pe[view == "PA"].mean())}},
        "modelAUROC": {"vsNihLabel_all39": safe_auc(nih, pe), "vsExpertOpacity_all39": safe_auc(exp, pe),
                       "vsView_AP_all39": safe_auc((view == "AP").astype(int), pe),
                       "vsNihLabel_heldOut": safe_auc(nih[held], pe[held]), "vsExpertOpacity_heldOut": safe_auc(exp[held], pe[held]),
                       "note": f"{int((~held).sum())} of the {len(ex)} are training films (the model was fitted to their NIH labels); "
                               f"only {int(held.sum())} are held out (valid/test): tiny n, anecdotal"},
        "meanProbability": {"nih1_exp1": float(pe[(nih == 1) & (exp == 1)].mean()) if ((nih == 1) & (exp == 1)).any() else None,
                            "nih1_exp0": float(pe[(nih == 1) & (exp == 0)].mean()) if ((nih == 1) & (exp == 0)).any() else None,
                            "nih0_exp1": float(pe[(nih == 0) & (exp == 1)].mean()) if ((nih == 0) & (exp == 1)).any() else None,
                            "nih0_exp0": float(pe[(nih == 0) & (exp == 0)].mean()) if ((nih == 0) & (exp == 0)).any() else None},
        "films": [{"file": r["file"], "split": r["split"], "nihLabel": int(r["label"]), "expertAirspaceOpacity": r["expert_airspace_opacity"],
                   "age": int(r["expert_age"]), "view": r["expert_view"], "probability": round(float(p_all[i]), 4)} for i, r in ex],
    }
    out["seed"] = SEED
    out["seconds"] = round(time.time() - t0, 1)
    (EVAL / "shortcuts.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: out[k] for k in ("mainModel",)}, indent=1))
    print("borders-only", out["bordersOnlyModel"]["testAUROC"], "valid", out["bordersOnlyModel"]["validAUROC"])
    print("global stats", out["globalStatisticsModel"]["testAUROC"], "valid", out["globalStatisticsModel"]["validAUROC"])
    print("occlusion", json.dumps(out["occlusion"], indent=1))
    print("follow-up index", json.dumps(out["followUpIndex"], indent=1))
    print("expert", json.dumps({k: out["expertRead"][k] for k in ("nihVsExpert", "view", "modelAUROC", "meanProbability")}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
