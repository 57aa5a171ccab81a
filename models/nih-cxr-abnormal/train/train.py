#!/usr/bin/python3
"""Train the nih-cxr-abnormal read-assist model and export model.onnx.

Run from the repository root with Debian's Python (it sees python3-torch/onnx):

    /usr/bin/python3 models/nih-cxr-abnormal/train/train.py

Data: the 1,000-image NIH ChestX-ray14 normal/abnormal workshop subset, 64x64 PNG
(../shared/data/images/nih-cxr14-1000-64px). Everything that is chosen (recipe,
hyperparameters, calibration, operating point) is chosen on the `valid` split (200).
The `test` split is never read here: it is read once, by evaluate.py.

Writes:
    models/nih-cxr-abnormal/model.onnx                 the served graph (probability + CAM heatmap)
    models/nih-cxr-abnormal/train/train-summary.json   hyperparameters, per-epoch val curve, calibration, threshold
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
from sklearn.metrics import roc_auc_score

HERE = Path(__file__).resolve().parent
MODEL_DIR = HERE.parent
REPO = MODEL_DIR.parent.parent
DATA = REPO.parent / "shared" / "data" / "images" / "nih-cxr14-1000-64px" / "NIH1000"
CLASSES = (("0_normal", 0), ("1_abnormal", 1))
SIZE = 64
SENSITIVITY_TARGET = 0.90
STAGES = 4  # 64 -> 32 -> 16 -> 8: the CAM is exact on the 8x8 grid
LOGIT_BATCH = 256
# Recipes run as scripts (/usr/bin/python3 models/<id>/train/train.py), not as a package:
# put models/tools on the path explicitly to share the CNN/CAM code with pneumonia-cxr.
sys.path.insert(0, str(REPO / "models" / "tools"))
from cnn_cam import (Net, Served, contrast_brightness, export_onnx, logits_of, random_affine,  # noqa: E402
                     uniform, validation_report, write_summary)
from cnn_training import fit_platt, optimisers, refresh_ema_bn, set_seed, train_epoch  # noqa: E402


def load_split(split: str) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Images as display grey in [0,1] ([N,1,64,64]), labels [N,1], file names; sorted by class then name.

    The PNGs are 8-bit RGB(A) with R=G=B; PIL's 'L' conversion (ITU-R 601 luma) gives that grey
    level. Alpha is fully opaque in the 21 RGBA files and is dropped.
    """
    xs, ys, names = [], [], []
    for folder, label in CLASSES:
        for f in sorted((DATA / split / folder).glob("*.png")):
            im = Image.open(f).convert("L")
            if im.size != (SIZE, SIZE):
                raise ValueError(f"{f}: {im.size}, expected {SIZE}x{SIZE}")
            xs.append(np.asarray(im, dtype=np.float32) / 255.0)
            ys.append(label)
            names.append(f"{folder}/{f.name}")
    x = torch.from_numpy(np.stack(xs)).unsqueeze(1)
    y = torch.tensor(ys, dtype=torch.float32).view(-1, 1)
    return x, y, names


def patient_weights(names: list[str], y: torch.Tensor, power: float) -> torch.Tensor:
    """Loss weight per image: (images of that patient)^-power, renormalised to mean 1 within each class.

    NIH image names are <patient>_<follow-up>.png; a few patients contribute up to 61 images,
    and power > 0 stops them dominating what the network learns.
    """
    pid = [n.split("/")[1].split("_")[0] for n in names]
    count = {p: pid.count(p) for p in set(pid)}
    w = torch.tensor([count[p] ** -power for p in pid], dtype=torch.float32).view(-1, 1)
    for c in (0, 1):
        m = y == c
        w[m] = w[m] / w[m].mean()
    return w


def augment(x: torch.Tensor, g: torch.Generator, a: argparse.Namespace) -> torch.Tensor:
    """Rotation, shift, zoom (one affine warp), then gamma, contrast and brightness, then cutout."""
    n = x.shape[0]
    x = random_affine(x, g, a, SIZE)
    gamma = torch.exp(uniform(n, g)(-a.gamma, a.gamma)).view(n, 1, 1, 1)
    x = x.clamp(1e-4, 1) ** gamma
    x = contrast_brightness(x, g, a)
    if a.cutout > 0:  # one square hole per image, filled with the image mean
        c = a.cutout
        cy = torch.randint(0, SIZE, (n,), generator=g).view(n, 1, 1)
        cx = torch.randint(0, SIZE, (n,), generator=g).view(n, 1, 1)
        r = torch.arange(SIZE).view(1, SIZE, 1)
        col = torch.arange(SIZE).view(1, 1, SIZE)
        hole = ((r - cy).abs() <= c // 2) & ((col - cx).abs() <= c // 2)
        keep = torch.rand(n, generator=g).view(n, 1, 1) < 0.5
        hole = (hole & keep).unsqueeze(1)
        x = torch.where(hole, x.mean(dim=(2, 3), keepdim=True).expand_as(x), x)
    return x


def normalise(x: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """Global train-split pixel mean/std (the served graph does the same)."""
    return (x - mean) / std


def train_member(seed: int, a, xtr, ytr, sw, xva, yva, mean, std) -> tuple[Net, list[dict]]:
    """One member: fixed epoch budget, EMA weights of the last epoch (no per-epoch selection on val)."""
    set_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = Net(a.width, a.dropout, STAGES)
    opt, sched, ema = optimisers(model, a, len(xtr), pct_start=0.2)
    curve = []
    yv = yva.numpy().ravel()

    def inputs(idx):  # augmented, normalised images; smoothed labels; patient weights
        return (normalise(augment(xtr[idx], g, a), mean, std), ytr[idx] * (1 - a.smooth) + 0.5 * a.smooth, sw[idx])

    for epoch in range(a.epochs):
        t0 = time.time()
        loss = train_epoch(model, opt, sched, ema, len(xtr), g, a.batch, inputs)
        if (epoch + 1) % a.eval_every == 0 or epoch + 1 == a.epochs:
            refresh_ema_bn(ema, xtr, mean, std, 200)
            zv = logits_of(ema.module, xva, mean, std, LOGIT_BATCH)
            auc = roc_auc_score(yv, zv)
            vloss = float(np.mean(np.logaddexp(0, zv) - yv * zv))
            curve.append({"epoch": epoch + 1, "trainLoss": loss, "valLoss": vloss, "valAUROC": auc})
            print(f"seed {seed} epoch {epoch + 1:3d} train {loss:.4f} val loss {vloss:.4f} "
                  f"AUROC {auc:.4f} ({time.time() - t0:.1f}s/epoch)", flush=True)
    member = ema.module
    member.eval()
    return member, curve


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=4)
    ap.add_argument("--seed", type=int, default=20251)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=5e-2)
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--smooth", type=float, default=0.1, help="label smoothing")
    ap.add_argument("--ema", type=float, default=0.98)
    ap.add_argument("--rotate", type=float, default=10.0, help="degrees")
    ap.add_argument("--shift", type=float, default=4.0, help="pixels")
    ap.add_argument("--zoom", type=float, default=0.10)
    ap.add_argument("--gamma", type=float, default=0.25, help="log-gamma range")
    ap.add_argument("--brightness", type=float, default=0.08)
    ap.add_argument("--contrast", type=float, default=0.20)
    ap.add_argument("--cutout", type=int, default=16, help="side of the cutout square in pixels (0 = off)")
    ap.add_argument("--patient-weight", type=float, default=0.0)
    ap.add_argument("--eval-every", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=MODEL_DIR / "model.onnx")
    ap.add_argument("--summary", type=Path, default=HERE / "train-summary.json")
    ap.add_argument("--no-export", action="store_true", help="exploration: train and report val, write nothing")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    t_start = time.time()
    xtr, ytr, names = load_split("train")
    xva, yva, _ = load_split("valid")
    sw = patient_weights(names, ytr, a.patient_weight)
    mean, std = float(xtr.mean()), float(xtr.std())
    print(f"train {len(xtr)} ({int(ytr.sum())} abnormal), valid {len(xva)}; pixel mean {mean:.4f} std {std:.4f}")

    members, curves = [], []
    for i in range(a.members):
        m, c = train_member(a.seed + i, a, xtr, ytr, sw, xva, yva, mean, std)
        members.append(m)
        curves.append(c)

    yv = yva.numpy().ravel()
    zv = np.mean([logits_of(m, xva, mean, std, LOGIT_BATCH) for m in members], axis=0)
    # Platt scaling of the mean member logit, stored as temperature 1/a and bias b
    slope, bias = fit_platt(zv, yv, reduce=np.mean)
    temperature = 1.0 / slope
    served = Served(members, mean, std, temperature, bias, SIZE, "calibration_bias").eval()
    val = validation_report(served, members, xva, yv, zv, mean, std, LOGIT_BATCH,
                            {"temperature": temperature, "calibrationBias": bias}, SENSITIVITY_TARGET)
    print(json.dumps(val, indent=2))
    print(f"{time.time() - t_start:.0f} s")
    if a.no_export:
        return

    export_onnx(served, xva[:2], a.out,
                "Lantern nih-cxr-abnormal: P(abnormal) (Platt-calibrated on valid) and a CAM heatmap "
                "from a 64x64 NIH ChestX-ray14-subset-trained CNN ensemble. AI-assisted; not a diagnosis.")
    write_summary(a, "/usr/bin/python3 models/nih-cxr-abnormal/train/train.py", ("out", "summary", "no_export"),
                  str(DATA.relative_to(REPO.parent)), mean, std, val, curves, t_start)

if __name__ == "__main__":
    sys.exit(main())
