#!/usr/bin/python3
"""Train cxr-pneumonia-adult from scratch and export model.onnx.

    npx tsx models/cxr-pneumonia-adult/train/prepare.ts        # once: the serving preprocessing -> var/train-cache
    /usr/bin/python3 models/cxr-pneumonia-adult/train/train.py

Uses the train split (712 films) for weights, pixel statistics and the OOD feature distribution,
and the valid split (158) for the epoch, the Platt calibration, the operating point, the refer
band and the OOD threshold. The test split is never read here (evaluate.py reads it once).

Writes model.onnx, train/train-summary.json and (outside git) var/train-cache/cxr-pneumonia-adult/model.pt.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.covariance import LedoitWolf
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (CACHE, HERE, MODEL_DIR, REPO, Served, es, export_onnx, forward_all,  # noqa: E402
                    load_nih, n_params, run_predict, split_of, train_model, Net)
from cnn_training import fit_platt  # noqa: E402  (models/tools, on the path since common)

SENSITIVITY_TARGET = 0.90
REFER_TARGETS = (0.95, 0.90, 0.85, 0.80)   # first (NPV, PPV) target pair reachable on valid, tried in order
REFER_MIN_CASES = 10


def parse_args(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--epochs", type=int, default=35)
    ap.add_argument("--min-epoch", type=int, default=10)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=0.02)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--extra", type=int, default=1, help="extra stride-1 blocks (at 28 px, 14 px, ...)")
    ap.add_argument("--ema", type=float, default=0.97)
    ap.add_argument("--rotate", type=float, default=7.0, help="degrees")
    ap.add_argument("--zoom", type=float, default=0.10, help="scale in [1/(1+z), 1+z]-ish (log-uniform)")
    ap.add_argument("--shift", type=float, default=0.05, help="fraction of the image side")
    ap.add_argument("--gamma", type=float, default=1.25, help="gamma in [1/g, g] (log-uniform)")
    ap.add_argument("--contrast", type=float, default=0.20)
    ap.add_argument("--brightness", type=float, default=0.08)
    ap.add_argument("--ood-percentile", type=float, default=99.0)
    ap.add_argument("--out", type=Path, default=MODEL_DIR / "model.onnx")
    ap.add_argument("--summary", type=Path, default=HERE / "train-summary.json")
    return ap.parse_args(argv)


def choose_refer_band(p, y, thr):
    for target in REFER_TARGETS:
        band = es.refer_band(p, y, thr, target, target, REFER_MIN_CASES)
        if band["low"] > 0 and band["high"] < 1:
            return target, band
    return None, es.refer_band(p, y, thr, REFER_TARGETS[-1], REFER_TARGETS[-1], REFER_MIN_CASES)


def main() -> None:
    a = parse_args()
    torch.set_num_threads(2)
    t_start = time.time()
    x, rows = load_nih()
    xtr, ytr, _ = split_of(x, rows, "train")
    xva, yva, _ = split_of(x, rows, "valid")
    mean, std = float(xtr.mean()), float(xtr.std())
    print(f"train {len(xtr)} ({int(ytr.sum())} pneumonia), valid {len(xva)} ({int(yva.sum())}); "
          f"pixel mean {mean:.4f} std {std:.4f}; params {n_params(Net(extra=a.extra))}", flush=True)

    net, curve = train_model(a, xtr, ytr, xva, yva, mean, std)
    t_trained = time.time()
    torch.save({"state": net.state_dict(), "mean": mean, "std": std, "extra": a.extra, "dropout": a.dropout},
               CACHE / "model.pt")

    # OOD: Mahalanobis distance from the un-augmented training images' pooled features
    _, ftr = forward_all(net, xtr, mean, std)
    lw = LedoitWolf().fit(ftr)
    zv, fv = forward_all(net, xva, mean, std)
    scale, bias = fit_platt(zv, yva, reduce=np.sum)
    served = Served(net, mean, std, scale, bias, lw.location_, lw.precision_).eval()
    export_onnx(served, xva[:2], a.out,
                "Lantern cxr-pneumonia-adult: P(pneumonia) (Platt-calibrated on valid), CAM heatmap and a Mahalanobis "
                "out-of-distribution score, from a CNN trained from scratch on 712 adult NIH ChestX-ray14 films at 224 px. "
                "AI-assisted; not a diagnosis.")

    # Exported graph (onnxruntime-node, films prepared afresh through preprocessImageFile) vs torch (cached arrays)
    with torch.no_grad():
        pt, ht, ot = (t.double().numpy() for t in served(xva))
    onnx_val = run_predict([str(a.out), "--nih", "valid", "--heatmap"])
    pv = np.array(onnx_val["probability"])
    ov = np.array(onnx_val["ood_score"])
    hv = np.array(onnx_val["heatmap"]).reshape(ht.shape)
    parity = {"maxAbsDiffProbability": float(np.abs(pv - pt[:, 0]).max()),
              "maxAbsDiffOodScore": float(np.abs(ov - ot[:, 0]).max()),
              "maxRelDiffOodScore": float((np.abs(ov - ot[:, 0]) / ot[:, 0]).max()),
              "maxAbsDiffHeatmap": float(np.abs(hv - ht).max()),
              "what": "onnxruntime-node on valid films prepared by preprocessImageFile now vs torch on the prepare.ts cache"}
    print(json.dumps(parity), flush=True)
    assert parity["maxAbsDiffProbability"] < 1e-4 and parity["maxRelDiffOodScore"] < 1e-3, parity

    # Choices on valid, from the served graph's outputs
    thr = es.operating_threshold(pv, yva, SENSITIVITY_TARGET)
    cv = es.confusion(pv, yva, thr)
    target, band = choose_refer_band(pv, yva, thr)
    ood_thr = float(np.percentile(ov, a.ood_percentile))
    val = {
        "AUROC": float(roc_auc_score(yva, pv)),
        "AUROCuncalibratedLogit": float(roc_auc_score(yva, zv)),
        "platt": {"scale": scale, "bias": bias},
        "eceBefore": es.ece(1 / (1 + np.exp(-zv)), yva),
        "eceAfter": es.ece(pv, yva),
        "brierAfter": float(np.mean((pv - yva) ** 2)),
        "threshold": thr,
        "sensitivity": cv["tp"] / (cv["tp"] + cv["fn"]),
        "specificity": cv["tn"] / (cv["tn"] + cv["fp"]),
        "confusion": cv,
        "referTarget": target,
        "referBand": band,
        "referEffect": es.band_effect(pv, yva, band["low"], band["high"]),
        "oodThreshold": ood_thr,
        "oodRejected": float((ov > ood_thr).mean()),
        "oodScoreRange": [float(ov.min()), float(np.median(ov)), float(ov.max())],
        "trainOodScoreMedian": float(np.median(np.sqrt(np.einsum("ij,jk,ik->i", ftr - lw.location_, lw.precision_, ftr - lw.location_)))),
        "ledoitWolfShrinkage": float(lw.shrinkage_),
    }
    print(json.dumps(val, indent=2), flush=True)
    summary = {
        "command": "/usr/bin/python3 models/cxr-pneumonia-adult/train/train.py",
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items() if k not in ("out", "summary")},
        "data": "shared/data/images/nih-cxr14-pneumonia-1000 via prepare.ts (grey-square@1, 224x224)",
        "trainSplit": {"n": len(xtr), "pneumonia": int(ytr.sum())},
        "validSplit": {"n": len(xva), "pneumonia": int(yva.sum())},
        "parameters": n_params(net),
        "pixelMean": mean,
        "pixelStd": std,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "selectedEpoch": max((c for c in curve if c.get("best")), key=lambda c: c["epoch"])["epoch"],
        "validation": val,
        "onnxParity": parity,
        "curve": curve,
        "secondsTraining": round(t_trained - t_start, 1),
        "secondsTotal": round(time.time() - t_start, 1),
        "onnxBytes": a.out.stat().st_size,
        "nih64pxSet": "not used (see train/README.md)",
    }
    a.summary.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {a.out} and {a.summary} in {summary['secondsTotal']} s")


if __name__ == "__main__":
    sys.exit(main())
