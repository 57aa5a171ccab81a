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
import math
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from sklearn.metrics import roc_auc_score

HERE = Path(__file__).resolve().parent
MODEL_DIR = HERE.parent
REPO = MODEL_DIR.parent.parent
DATA = REPO.parent / "shared" / "data" / "images" / "nih-cxr14-1000-64px" / "NIH1000"
CLASSES = (("0_normal", 0), ("1_abnormal", 1))
SIZE = 64
SENSITIVITY_TARGET = 0.90


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


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


def conv_bn(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class Net(nn.Module):
    """VGG-style CNN, 64 -> 32 -> 16 -> 8, global average pooling + one linear unit.

    GAP followed by a linear layer makes the class-activation map exact:
    logit = b + sum_k w_k * mean(F_k), so CAM = sum_k w_k * F_k on the 8x8 grid.
    """

    def __init__(self, width: int, dropout: float):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            *conv_bn(1, w), *conv_bn(w, w), nn.MaxPool2d(2),                # 64 -> 32
            *conv_bn(w, 2 * w), *conv_bn(2 * w, 2 * w), nn.MaxPool2d(2),      # 32 -> 16
            *conv_bn(2 * w, 4 * w), *conv_bn(4 * w, 4 * w), nn.MaxPool2d(2),  # 16 -> 8
            *conv_bn(4 * w, 8 * w), *conv_bn(8 * w, 8 * w),                 # 8x8 feature maps
        )
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(8 * w, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x already normalised
        f = self.features(x)
        return self.fc(self.dropout(f.mean(dim=(2, 3))))


def augment(x: torch.Tensor, g: torch.Generator, a: argparse.Namespace) -> torch.Tensor:
    """Rotation, shift, zoom (one affine warp), then gamma, contrast and brightness, then cutout.

    No horizontal flips: situs (heart on the left) is anatomy, not nuisance.
    """
    n = x.shape[0]
    u = lambda lo, hi: torch.rand(n, generator=g) * (hi - lo) + lo  # noqa: E731
    ang = u(-a.rotate, a.rotate) * math.pi / 180
    scale = u(1 - a.zoom, 1 + a.zoom)
    tx = u(-a.shift, a.shift) * 2 / SIZE  # pixels -> normalised coords
    ty = u(-a.shift, a.shift) * 2 / SIZE
    cos, sin = torch.cos(ang) / scale, torch.sin(ang) / scale
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    gamma = torch.exp(u(-a.gamma, a.gamma)).view(n, 1, 1, 1)
    x = x.clamp(1e-4, 1) ** gamma
    contrast = u(1 - a.contrast, 1 + a.contrast).view(n, 1, 1, 1)
    bright = u(-a.brightness, a.brightness).view(n, 1, 1, 1)
    mean = x.mean(dim=(2, 3), keepdim=True)
    x = ((x - mean) * contrast + mean + bright).clamp(0, 1)
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


@torch.no_grad()
def logits_of(model: nn.Module, x: torch.Tensor, mean: float, std: float) -> np.ndarray:
    model.eval()
    out = [model(normalise(x[i:i + 256], mean, std)) for i in range(0, len(x), 256)]
    return torch.cat(out).squeeze(1).double().numpy()


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of P(abnormal), equal-width bins on [0,1]."""
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() / len(p) * abs(p[m].mean() - y[m].mean())
    return float(total)


def fit_platt(z: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling: minimise validation NLL of sigmoid(z / T + b) over (log T, b) (Newton on (1/T, b))."""
    a, b = 1.0, 0.0
    for _ in range(100):
        s = a * z + b
        p = 1 / (1 + np.exp(-s))
        r = p - y
        grad = np.array([np.mean(r * z), np.mean(r)])
        w = p * (1 - p)
        hess = np.array([[np.mean(w * z * z), np.mean(w * z)], [np.mean(w * z), np.mean(w)]]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-10:
            break
    if a <= 0:
        raise RuntimeError(f"Platt slope {a} <= 0: the ensemble's validation ranking is inverted")
    return 1.0 / a, b


def operating_threshold(p: np.ndarray, y: np.ndarray, target: float) -> float:
    """Highest t such that sensitivity of (p >= t) is >= target."""
    pos = np.sort(p[y == 1])[::-1]
    k = math.ceil(target * len(pos))
    return float(pos[k - 1])


def train_member(seed: int, a, xtr, ytr, sw, xva, yva, mean, std) -> tuple[Net, list[dict]]:
    """One member: fixed epoch budget, EMA weights of the last epoch (no per-epoch selection on val)."""
    set_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = Net(a.width, a.dropout)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.weight_decay)
    steps_per_epoch = math.ceil(len(xtr) / a.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=a.lr, total_steps=a.epochs * steps_per_epoch, pct_start=0.2)
    ema = torch.optim.swa_utils.AveragedModel(
        model, avg_fn=lambda avg, cur, n: a.ema * avg + (1 - a.ema) * cur)
    curve = []
    yv = yva.numpy().ravel()
    for epoch in range(a.epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=g)
        t0, run = time.time(), 0.0
        for i in range(0, len(xtr), a.batch):
            idx = perm[i:i + a.batch]
            xb = augment(xtr[idx], g, a)
            yb = ytr[idx] * (1 - a.smooth) + 0.5 * a.smooth
            z = model(normalise(xb, mean, std))
            loss = F.binary_cross_entropy_with_logits(z, yb, weight=sw[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            ema.update_parameters(model)
            run += float(loss) * len(idx)
        if (epoch + 1) % a.eval_every == 0 or epoch + 1 == a.epochs:
            # BatchNorm running stats of the EMA copy: recompute on un-augmented train images.
            torch.optim.swa_utils.update_bn(
                [normalise(xtr[i:i + 200], mean, std) for i in range(0, len(xtr), 200)], ema)
            zv = logits_of(ema.module, xva, mean, std)
            auc = roc_auc_score(yv, zv)
            vloss = float(np.mean(np.logaddexp(0, zv) - yv * zv))
            curve.append({"epoch": epoch + 1, "trainLoss": run / len(xtr), "valLoss": vloss, "valAUROC": auc})
            print(f"seed {seed} epoch {epoch + 1:3d} train {run / len(xtr):.4f} val loss {vloss:.4f} "
                  f"AUROC {auc:.4f} ({time.time() - t0:.1f}s/epoch)", flush=True)
    member = ema.module
    member.eval()
    return member, curve


class Served(nn.Module):
    """Ensemble of GAP CNNs -> (calibrated probability, CAM heatmap), all in one graph.

    Averaging member logits is still 'GAP + linear' over the concatenated feature maps,
    so the averaged CAM is the exact CAM of the averaged logit.
    """

    def __init__(self, members: list[Net], mean: float, std: float, temperature: float, bias: float):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
        self.register_buffer("temperature", torch.tensor(temperature, dtype=torch.float32))
        self.register_buffer("calibration_bias", torch.tensor(bias, dtype=torch.float32))

    def forward(self, image: torch.Tensor):
        x = (image - self.mean) / self.std
        logit, cam = 0, 0
        for m in self.members:
            f = m.features(x)                                   # [N,C,8,8]
            w = m.fc.weight.view(1, -1, 1, 1)                    # [1,C,1,1]
            cam = cam + (f * w).sum(dim=1, keepdim=True)         # [N,1,8,8]
            logit = logit + m.fc(f.mean(dim=(2, 3)))             # [N,1]
        k = float(len(self.members))
        logit, cam = logit / k, cam / k
        probability = torch.sigmoid(logit / self.temperature + self.calibration_bias)
        cam = F.interpolate(cam, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
        cam = torch.relu(cam)
        peak = cam.amax(dim=(2, 3), keepdim=True)
        heatmap = cam / torch.clamp(peak, min=1e-6)              # all-zero CAM stays all-zero
        return probability, heatmap


def finalise_onnx(path: Path) -> None:
    """Pin the heatmap's static dims (the exporter leaves them symbolic), add a doc string, check."""
    import onnx

    g = onnx.load(str(path))
    for out in g.graph.output:
        if out.name == "heatmap":
            dims = out.type.tensor_type.shape.dim
            for d, v in zip(dims[1:], (1, SIZE, SIZE)):
                d.ClearField("dim_param")
                d.dim_value = v
    g.doc_string = ("Lantern nih-cxr-abnormal: P(abnormal) (Platt-calibrated on valid) and a CAM heatmap "
                    "from a 64x64 NIH ChestX-ray14-subset-trained CNN ensemble. AI-assisted; not a diagnosis.")
    onnx.checker.check_model(g, full_check=True)
    onnx.save(g, str(path))


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
    zv = np.mean([logits_of(m, xva, mean, std) for m in members], axis=0)
    temperature, bias = fit_platt(zv, yv)
    served = Served(members, mean, std, temperature, bias).eval()
    with torch.no_grad():
        pv, hv = served(xva)
    pv = pv.squeeze(1).double().numpy()
    thr = operating_threshold(pv, yv, SENSITIVITY_TARGET)
    pred = pv >= thr
    val = {
        "AUROC": float(roc_auc_score(yv, zv)),
        "memberAUROC": [float(roc_auc_score(yv, logits_of(m, xva, mean, std))) for m in members],
        "temperature": temperature,
        "calibrationBias": bias,
        "eceBefore": ece(1 / (1 + np.exp(-zv)), yv),
        "eceAfter": ece(pv, yv),
        "threshold": thr,
        "sensitivity": float(pred[yv == 1].mean()),
        "specificity": float((~pred[yv == 0]).mean()),
        "accuracyAt0.5": float(((pv >= 0.5) == (yv == 1)).mean()),
        "heatmapRange": [float(hv.min()), float(hv.max())],
    }
    print(json.dumps(val, indent=2))
    print(f"{time.time() - t_start:.0f} s")
    if a.no_export:
        return

    a.out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        served, (xva[:2],), str(a.out), opset_version=17, input_names=["image"],
        output_names=["probability", "heatmap"],
        dynamic_axes={"image": {0: "N"}, "probability": {0: "N"}, "heatmap": {0: "N"}},
        do_constant_folding=True,
    )
    finalise_onnx(a.out)

    summary = {
        "command": "/usr/bin/python3 models/nih-cxr-abnormal/train/train.py",
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()
                 if k not in ("out", "summary", "no_export")},
        "data": str(DATA.relative_to(REPO.parent)),
        "pixelMean": mean,
        "pixelStd": std,
        "torch": torch.__version__,
        "validation": val,
        "curves": curves,
        "seconds": round(time.time() - t_start, 1),
        "onnxBytes": os.path.getsize(a.out),
    }
    a.summary.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {a.out} ({os.path.getsize(a.out)} bytes) in {summary['seconds']} s")


if __name__ == "__main__":
    sys.exit(main())
