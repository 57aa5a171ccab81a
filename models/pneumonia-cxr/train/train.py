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
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score

HERE = Path(__file__).resolve().parent
MODEL_DIR = HERE.parent
REPO = MODEL_DIR.parent.parent
DATA = REPO.parent / "shared" / "data" / "images" / "pneumoniamnist" / "pneumoniamnist_varun19424.npz"

# Pixel statistics of the training split (uint8/255), baked into the graph so callers
# feed plain [0,1] display grey levels.
SENSITIVITY_TARGET = 0.90


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def load_split(npz, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(npz[f"{split}_images"].astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(npz[f"{split}_labels"].astype(np.float32).reshape(-1, 1))
    return x, y


def conv_bn(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class Net(nn.Module):
    """Plain VGG-style CNN ending in global average pooling + one linear unit.

    GAP followed by a linear layer is what makes the class-activation map exact:
    logit = b + sum_k w_k * mean(F_k), so CAM = sum_k w_k * F_k on the 7x7 grid.
    """

    def __init__(self, width: int, dropout: float):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            *conv_bn(1, w), *conv_bn(w, w), nn.MaxPool2d(2),            # 28 -> 14
            *conv_bn(w, 2 * w), *conv_bn(2 * w, 2 * w), nn.MaxPool2d(2),  # 14 -> 7
            *conv_bn(2 * w, 4 * w), *conv_bn(4 * w, 4 * w),             # 7x7 feature maps
        )
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(4 * w, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x already normalised
        f = self.features(x)
        return self.fc(self.dropout(f.mean(dim=(2, 3))))


def augment(x: torch.Tensor, g: torch.Generator, a: argparse.Namespace) -> torch.Tensor:
    """Small rotations, shifts and zooms (one affine warp), then brightness/contrast.

    No horizontal flips: situs (heart on the left) is anatomy, not nuisance.
    """
    n = x.shape[0]
    u = lambda lo, hi: torch.rand(n, generator=g) * (hi - lo) + lo  # noqa: E731
    ang = u(-a.rotate, a.rotate) * math.pi / 180
    scale = u(1 - a.zoom, 1 + a.zoom)
    tx = u(-a.shift, a.shift) * 2 / 28  # pixels -> normalised coords
    ty = u(-a.shift, a.shift) * 2 / 28
    cos, sin = torch.cos(ang) / scale, torch.sin(ang) / scale
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    contrast = u(1 - a.contrast, 1 + a.contrast).view(n, 1, 1, 1)
    bright = u(-a.brightness, a.brightness).view(n, 1, 1, 1)
    mean = x.mean(dim=(2, 3), keepdim=True)
    return ((x - mean) * contrast + mean + bright).clamp(0, 1)


@torch.no_grad()
def logits_of(model: nn.Module, x: torch.Tensor, mean: float, std: float) -> np.ndarray:
    model.eval()
    out = [model((x[i:i + 512] - mean) / std) for i in range(0, len(x), 512)]
    return torch.cat(out).squeeze(1).double().numpy()


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of P(pneumonia), equal-width bins on [0,1]."""
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() / len(p) * abs(p[m].mean() - y[m].mean())
    return float(total)


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


def operating_threshold(p: np.ndarray, y: np.ndarray, target: float) -> float:
    """Highest t such that sensitivity of (p >= t) is >= target."""
    pos = np.sort(p[y == 1])[::-1]
    k = math.ceil(target * len(pos))
    return float(pos[k - 1])


def train_member(seed: int, a, xtr, ytr, xva, yva, mean, std) -> tuple[Net, list[dict]]:
    set_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = Net(a.width, a.dropout)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.weight_decay)
    steps_per_epoch = math.ceil(len(xtr) / a.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=a.lr, total_steps=a.epochs * steps_per_epoch, pct_start=0.15)
    # Class weighting: the train split is 10% normal. Each class contributes equally to the loss.
    n_pos = float(ytr.sum())
    n_neg = float(len(ytr) - n_pos)
    w_pos, w_neg = len(ytr) / (2 * n_pos), len(ytr) / (2 * n_neg)
    ema = torch.optim.swa_utils.AveragedModel(
        model, avg_fn=lambda avg, cur, n: a.ema * avg + (1 - a.ema) * cur)
    best, best_state, curve = -1.0, None, []
    for epoch in range(a.epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=g)
        t0, run = time.time(), 0.0
        for i in range(0, len(xtr), a.batch):
            idx = perm[i:i + a.batch]
            xb = augment(xtr[idx], g, a)
            yb = ytr[idx]
            z = model((xb - mean) / std)
            w = yb * w_pos + (1 - yb) * w_neg
            loss = F.binary_cross_entropy_with_logits(z, yb, weight=w)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            ema.update_parameters(model)
            run += float(loss) * len(idx)
        # BatchNorm running stats of the EMA copy: recompute on un-augmented train images.
        torch.optim.swa_utils.update_bn(
            [(xtr[i:i + 256] - mean) / std for i in range(0, len(xtr), 256)], ema)
        zv = logits_of(ema.module, xva, mean, std)
        auc = roc_auc_score(yva.numpy().ravel(), zv)
        yv = yva.numpy().ravel()
        wv = np.where(yv == 1, w_pos, w_neg)
        vloss = float(np.sum(wv * (np.logaddexp(0, zv) - yv * zv)) / np.sum(wv))
        curve.append({"epoch": epoch + 1, "trainLoss": run / len(xtr), "valLoss": vloss, "valAUROC": auc,
                      "seconds": round(time.time() - t0, 1)})
        print(f"seed {seed} epoch {epoch + 1:2d} train {run / len(xtr):.4f} val loss {vloss:.4f} "
              f"AUROC {auc:.4f} ({time.time() - t0:.1f}s)", flush=True)
        # Select on val: AUROC, ties broken by the weighted val loss (only after warm-up).
        score = auc - 1e-3 * vloss
        if epoch + 1 >= a.min_epoch and score > best:
            best, best_state = score, {k: v.clone() for k, v in ema.module.state_dict().items()}
            curve[-1]["selected"] = True
    model.load_state_dict(best_state)
    model.eval()
    return model, curve


class Served(nn.Module):
    """Ensemble of GAP CNNs -> (calibrated probability, CAM heatmap), all in one graph.

    Averaging member logits is still 'GAP + linear' over the concatenated feature maps,
    so the averaged CAM is the exact CAM of the averaged logit.
    """

    def __init__(self, members: list[Net], mean: float, std: float, temperature: float, offset: float):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
        self.register_buffer("temperature", torch.tensor(temperature, dtype=torch.float32))
        self.register_buffer("prior_offset", torch.tensor(offset, dtype=torch.float32))

    def forward(self, image: torch.Tensor):
        x = (image - self.mean) / self.std
        logit, cam = 0, 0
        for m in self.members:
            f = m.features(x)                                   # [N,C,7,7]
            w = m.fc.weight.view(1, -1, 1, 1)                    # [1,C,1,1]
            cam = cam + (f * w).sum(dim=1, keepdim=True)         # [N,1,7,7]
            logit = logit + m.fc(f.mean(dim=(2, 3)))             # [N,1]
        k = float(len(self.members))
        logit, cam = logit / k, cam / k
        probability = torch.sigmoid(logit / self.temperature + self.prior_offset)
        cam = F.interpolate(cam, size=(28, 28), mode="bilinear", align_corners=False)
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
            for d, v in zip(dims[1:], (1, 28, 28)):
                d.ClearField("dim_param")
                d.dim_value = v
    g.doc_string = ("Lantern pneumonia-cxr: P(pneumonia) (temperature-calibrated) and a CAM heatmap "
                    "from a 28x28 PneumoniaMNIST-trained CNN. AI-assisted; not a diagnosis.")
    onnx.checker.check_model(g, full_check=True)
    onnx.save(g, str(path))


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
    served = Served(members, mean, std, 1.0, offset).eval()
    # Logits straight from the members (avoids the sigmoid/logit round trip).
    zv = np.mean([logits_of(m, xva, mean, std) for m in members], axis=0)
    temperature = fit_temperature(zv, yv, offset)
    served.temperature.fill_(temperature)
    with torch.no_grad():
        pv, hv = served(xva)
    pv = pv.squeeze(1).double().numpy()
    thr = operating_threshold(pv, yv, SENSITIVITY_TARGET)
    pred = pv >= thr
    val = {
        "AUROC": float(roc_auc_score(yv, zv)),
        "memberAUROC": [float(roc_auc_score(yv, logits_of(m, xva, mean, std))) for m in members],
        "temperature": temperature,
        "priorOffset": offset,
        "eceBefore": ece(1 / (1 + np.exp(-zv)), yv),
        "eceAfter": ece(pv, yv),
        "threshold": thr,
        "sensitivity": float(pred[yv == 1].mean()),
        "specificity": float((~pred[yv == 0]).mean()),
        "accuracyAt0.5": float(((pv >= 0.5) == (yv == 1)).mean()),
        "heatmapRange": [float(hv.min()), float(hv.max())],
    }
    print(json.dumps(val, indent=2))

    a.out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        served, (xva[:2],), str(a.out), opset_version=17, input_names=["image"],
        output_names=["probability", "heatmap"],
        dynamic_axes={"image": {0: "N"}, "probability": {0: "N"}, "heatmap": {0: "N"}},
        do_constant_folding=True,
    )
    finalise_onnx(a.out)

    summary = {
        "command": "/usr/bin/python3 models/pneumonia-cxr/train/train.py",
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items() if k not in ("out", "summary")},
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
