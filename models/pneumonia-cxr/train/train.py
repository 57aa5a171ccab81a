#!/usr/bin/python3
"""Train the pneumonia-cxr read-assist model and export model.onnx.

Run from the repository root with Debian's Python (it sees python3-torch/onnx):

    /usr/bin/python3 models/pneumonia-cxr/train/train.py

Everything that is chosen (checkpoint epoch, temperature, operating point) is chosen
on the official validation split. The test split is never read here: it is read
once, by evaluate.py, for the reported result.

Writes:
    models/pneumonia-cxr/model.onnx              the served graph (probability + CAM heatmap)
    models/pneumonia-cxr/train/train-summary.json  hyperparameters, per-epoch val curve, T, threshold
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

HERE = Path(__file__).resolve().parent
MODEL_DIR = HERE.parent
REPO = MODEL_DIR.parent.parent
DATA = REPO.parent / "shared" / "data" / "images" / "pneumoniamnist" / "pneumoniamnist_varun19424.npz"
# Recipes run as scripts (/usr/bin/python3 models/<id>/train/train.py), not as a package:
# put models/tools on the path explicitly to share the CNN/CAM code with nih-cxr-abnormal.
sys.path.insert(0, str(REPO / "models" / "tools"))
from cnn_cam import (Net, Served, contrast_brightness, export_onnx, logits_of, random_affine,  # noqa: E402
                     validation_report, write_summary)
from cnn_training import (BestCheckpoint, class_balanced_weights, optimisers, refresh_ema_bn,  # noqa: E402
                          set_seed, train_epoch, weighted_logloss)

# Pixel statistics of the training split (uint8/255), baked into the graph so callers
# feed plain [0,1] display grey levels.
SENSITIVITY_TARGET = 0.90
SIZE = 28
STAGES = 3  # 28 -> 14 -> 7: the CAM is exact on the 7x7 grid
LOGIT_BATCH = 512


def load_split(npz, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(npz[f"{split}_images"].astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(npz[f"{split}_labels"].astype(np.float32).reshape(-1, 1))
    return x, y


def augment(x: torch.Tensor, g: torch.Generator, a: argparse.Namespace) -> torch.Tensor:
    """Small rotations, shifts and zooms (one affine warp), then brightness/contrast."""
    return contrast_brightness(random_affine(x, g, a, SIZE), g, a)


def fit_temperature(z: np.ndarray, y: np.ndarray, offset: float) -> float:
    """Minimise validation NLL of sigmoid(z / T + offset) over log T (grid, then golden-section refine)."""

    def nll(log_t: float) -> float:
        s = z / math.exp(log_t) + offset
        return float(np.mean(np.logaddexp(0, s) - y * s))

    grid = np.linspace(-3, 3, 601)
    best = min(grid, key=nll)
    lo, hi = best - 0.01, best + 0.01
    for _ in range(60):  # golden-section refine
        m1, m2 = lo + (hi - lo) * 0.382, lo + (hi - lo) * 0.618
        if nll(m1) < nll(m2):
            hi = m2
        else:
            lo = m1
    return math.exp((lo + hi) / 2)


def train_member(seed: int, a, xtr, ytr, xva, yva, mean, std) -> tuple[Net, list[dict]]:
    set_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = Net(a.width, a.dropout, STAGES)
    opt, sched, ema = optimisers(model, a, len(xtr), pct_start=0.15)
    # Class weighting: the train split is 10% normal. Each class contributes equally to the loss.
    w_pos, w_neg = class_balanced_weights(ytr)
    best, curve = BestCheckpoint(a.min_epoch), []
    yv = yva.numpy().ravel()

    def inputs(idx):  # augmented, normalised images; labels; class weights
        xb, yb = augment(xtr[idx], g, a), ytr[idx]
        return (xb - mean) / std, yb, yb * w_pos + (1 - yb) * w_neg

    for epoch in range(a.epochs):
        t0 = time.time()
        loss = train_epoch(model, opt, sched, ema, len(xtr), g, a.batch, inputs)
        refresh_ema_bn(ema, xtr, mean, std, 256)
        zv = logits_of(ema.module, xva, mean, std, LOGIT_BATCH)
        auc = roc_auc_score(yv, zv)
        vloss = weighted_logloss(zv, yv, w_pos, w_neg)
        curve.append({"epoch": epoch + 1, "trainLoss": loss, "valLoss": vloss, "valAUROC": auc,
                      "seconds": round(time.time() - t0, 1)})
        print(f"seed {seed} epoch {epoch + 1:2d} train {loss:.4f} val loss {vloss:.4f} "
              f"AUROC {auc:.4f} ({time.time() - t0:.1f}s)", flush=True)
        if best.offer(epoch + 1, auc, vloss, ema.module):
            curve[-1]["selected"] = True
    model.load_state_dict(best.state)
    model.eval()
    return model, curve


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20241)
    ap.add_argument("--epochs", type=int, default=24)
    ap.add_argument("--min-epoch", type=int, default=8)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--ema", type=float, default=0.99)
    ap.add_argument("--rotate", type=float, default=10.0, help="degrees")
    ap.add_argument("--shift", type=float, default=2.0, help="pixels")
    ap.add_argument("--zoom", type=float, default=0.10)
    ap.add_argument("--brightness", type=float, default=0.10)
    ap.add_argument("--contrast", type=float, default=0.20)
    ap.add_argument("--out", type=Path, default=MODEL_DIR / "model.onnx")
    ap.add_argument("--summary", type=Path, default=HERE / "train-summary.json")
    a = ap.parse_args()

    torch.set_num_threads(2)
    t_start = time.time()
    npz = np.load(DATA)
    xtr, ytr = load_split(npz, "train")
    xva, yva = load_split(npz, "val")
    mean, std = float(xtr.mean()), float(xtr.std())
    print(f"train {len(xtr)} ({int(ytr.sum())} pneumonia), val {len(xva)}; pixel mean {mean:.4f} std {std:.4f}")

    members, curves = [], []
    for i in range(a.members):
        m, c = train_member(a.seed + i, a, xtr, ytr, xva, yva, mean, std)
        members.append(m)
        curves.append(c)

    yv = yva.numpy().ravel()
    # The class-balanced loss trains the network as if prevalence were 50%. Temperature alone
    # cannot move that prior, so the validation prior is restored with the fixed (not fitted)
    # log-odds offset of Saerens et al. 2002, and only T is fitted on val.
    offset = math.log(yv.sum() / (len(yv) - yv.sum()))
    served = Served(members, mean, std, 1.0, offset, SIZE, "prior_offset").eval()
    # Logits straight from the members (avoids the sigmoid/logit round trip).
    zv = np.mean([logits_of(m, xva, mean, std, LOGIT_BATCH) for m in members], axis=0)
    temperature = fit_temperature(zv, yv, offset)
    served.temperature.fill_(temperature)
    val = validation_report(served, members, xva, yv, zv, mean, std, LOGIT_BATCH,
                            {"temperature": temperature, "priorOffset": offset}, SENSITIVITY_TARGET)
    print(json.dumps(val, indent=2))

    export_onnx(served, xva[:2], a.out,
                "Lantern pneumonia-cxr: P(pneumonia) (temperature-calibrated) and a CAM heatmap "
                "from a 28x28 PneumoniaMNIST-trained CNN. AI-assisted; not a diagnosis.")
    write_summary(a, "/usr/bin/python3 models/pneumonia-cxr/train/train.py", ("out", "summary"),
                  str(DATA.relative_to(REPO.parent)), mean, std, val, curves, t_start)


if __name__ == "__main__":
    sys.exit(main())
