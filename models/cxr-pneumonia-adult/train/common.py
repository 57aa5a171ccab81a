"""What train.py, evaluate.py and shortcuts.py of cxr-pneumonia-adult share: the prepared
arrays (written by prepare.ts through Lantern's serving preprocessing), the network, the
augmentation, the training loop and the served graph.

Debian python3 (/usr/bin/python3) with python3-torch 1.13, numpy, sklearn.
"""
from __future__ import annotations

import csv
import json
import math
import os
import subprocess
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
DATA = REPO.parent / "shared" / "data"
NIH_DIR = DATA / "images" / "nih-cxr14-pneumonia-1000"
CACHE = REPO / "var" / "train-cache" / "cxr-pneumonia-adult"
SIZE = 224
HEATMAP = 28
U16 = 65535.0

sys.path.insert(0, str(REPO / "models" / "tools"))
import evaluation_stats as es  # noqa: E402,F401  (re-exported for the scripts)
from cnn_training import (BestCheckpoint, class_balanced_weights, optimisers, refresh_ema_bn,  # noqa: E402
                          set_seed, train_epoch, weighted_logloss)


# ---------------------------------------------------------------------------------------------
# data
def u16_to_float(a: np.ndarray) -> np.ndarray:
    """The served values exactly: Float32(u / 65535) computed in double, as preprocess.ts does."""
    return (a.astype(np.float64) / U16).astype(np.float32)


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def load_nih() -> tuple[torch.Tensor, list[dict]]:
    """All 1,000 films [N,1,224,224] in labels.csv order, and their rows (with split, label, patient_id)."""
    need = CACHE / "nih224.npy"
    if not need.exists():
        sys.exit(f"{need} missing: run `npx tsx models/cxr-pneumonia-adult/train/prepare.ts` first")
    x = torch.from_numpy(u16_to_float(np.load(need))).unsqueeze(1)
    rows = read_csv(CACHE / "nih.csv")
    assert len(rows) == len(x)
    return x, rows


def split_of(x: torch.Tensor, rows: list[dict], split: str) -> tuple[torch.Tensor, np.ndarray, list[dict]]:
    idx = [i for i, r in enumerate(rows) if r["split"] == split]
    y = np.array([int(rows[i]["label"]) for i in idx], dtype=np.float32)
    return x[idx], y, [rows[i] for i in idx]


def load_cached(name: str) -> torch.Tensor:
    return torch.from_numpy(u16_to_float(np.load(CACHE / f"{name}.npy"))).unsqueeze(1)


# ---------------------------------------------------------------------------------------------
# network
class Block(nn.Module):
    """ResNet basic block (two 3x3 conv-BN, identity or 1x1-conv shortcut)."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return F.relu(y + (x if self.short is None else self.short(x)))


class Net(nn.Module):
    """224 -> stem (two stride-2 3x3 convs) 56 -> blocks at 28, 14, 7 -> GAP -> dropout -> 1 logit.

    GAP + one linear unit makes the class-activation map exact: logit = b + sum_k w_k mean(F_k).
    """

    def __init__(self, widths=(16, 32, 64, 128, 256), extra: int = 1, dropout: float = 0.2):
        super().__init__()
        w0, w1, *ws = widths
        layers: list[nn.Module] = [
            nn.Conv2d(1, w0, 3, 2, 1, bias=False), nn.BatchNorm2d(w0), nn.ReLU(inplace=True),
            nn.Conv2d(w0, w1, 3, 2, 1, bias=False), nn.BatchNorm2d(w1), nn.ReLU(inplace=True),
        ]
        cin = w1
        for i, c in enumerate(ws):
            layers.append(Block(cin, c, 2))
            if i < extra:
                layers.append(Block(c, c, 1))
            cin = c
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(cin, 1)
        self.channels = cin

    def forward(self, x):  # x normalised
        return self.fc(self.dropout(self.features(x).mean(dim=(2, 3))))


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


# ---------------------------------------------------------------------------------------------
# augmentation (per image, on the fly; no flips: the heart is on the left)
def augment(x: torch.Tensor, g: torch.Generator, a) -> torch.Tensor:
    n = x.shape[0]

    def u(lo, hi):
        return torch.rand(n, generator=g) * (hi - lo) + lo

    ang = u(-a.rotate, a.rotate) * math.pi / 180
    scale = torch.exp(u(math.log(1 - a.zoom), math.log(1 + a.zoom)))     # >1 = zoom in (crop)
    tx, ty = u(-a.shift, a.shift) * 2, u(-a.shift, a.shift) * 2          # fraction of width -> [-1,1] coords
    cos, sin = torch.cos(ang) / scale, torch.sin(ang) / scale
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    gamma = torch.exp(u(-math.log(a.gamma), math.log(a.gamma))).view(n, 1, 1, 1)
    x = x.clamp(1e-6, 1) ** gamma
    contrast = u(1 - a.contrast, 1 + a.contrast).view(n, 1, 1, 1)
    bright = u(-a.brightness, a.brightness).view(n, 1, 1, 1)
    m = x.mean(dim=(2, 3), keepdim=True)
    return ((x - m) * contrast + m + bright).clamp(0, 1)


# ---------------------------------------------------------------------------------------------
# training
@torch.no_grad()
def forward_all(model: Net, x: torch.Tensor, mean: float, std: float, batch: int = 64, transform=None):
    """(logits [N], pooled features [N,C]) of un-augmented images."""
    model.eval()
    zs, fs = [], []
    for i in range(0, len(x), batch):
        xb = x[i:i + batch]
        if transform is not None:
            xb = transform(xb)
        f = model.features((xb - mean) / std).mean(dim=(2, 3))
        zs.append(model.fc(f).squeeze(1))
        fs.append(f)
    return torch.cat(zs).double().numpy(), torch.cat(fs).double().numpy()


def train_model(a, xtr: torch.Tensor, ytr: np.ndarray, xva: torch.Tensor, yva: np.ndarray, mean: float, std: float,
                transform=None, tag: str = "") -> tuple[Net, list[dict]]:
    """One seeded run; returns the EMA weights of the epoch with the best validation AUROC (>= a.min_epoch)."""
    set_seed(a.seed)
    g = torch.Generator().manual_seed(a.seed)
    model = Net(dropout=a.dropout, extra=a.extra)
    opt, sched, ema = optimisers(model, a, len(xtr), pct_start=0.2)
    ytr_t = torch.from_numpy(ytr).view(-1, 1)
    w_pos, w_neg = class_balanced_weights(ytr)
    best, curve = BestCheckpoint(a.min_epoch), []

    def inputs(idx):  # augmented (then transformed), normalised films; labels; class weights
        xb = augment(xtr[idx], g, a)
        if transform is not None:
            xb = transform(xb)
        yb = ytr_t[idx]
        return (xb - mean) / std, yb, yb * w_pos + (1 - yb) * w_neg

    for epoch in range(a.epochs):
        t0 = time.time()
        loss = train_epoch(model, opt, sched, ema, len(xtr), g, a.batch, inputs, min_batch=2)
        # BatchNorm statistics of the EMA copy from the un-augmented training images
        refresh_ema_bn(ema, xtr, mean, std, 64, transform)
        zv, _ = forward_all(ema.module, xva, mean, std, transform=transform)
        auc = float(roc_auc_score(yva, zv))
        vloss = weighted_logloss(zv, yva, w_pos, w_neg)
        rec = {"epoch": epoch + 1, "trainLoss": round(loss, 5), "valLoss": round(vloss, 5),
               "valAUROC": round(auc, 5), "seconds": round(time.time() - t0, 1)}
        if best.offer(epoch + 1, auc, vloss, ema.module):
            rec["best"] = True
        curve.append(rec)
        print(f"{tag}epoch {epoch + 1:2d} train {rec['trainLoss']:.4f} val loss {vloss:.4f} AUROC {auc:.4f} "
              f"({rec['seconds']}s)", flush=True)
    final = Net(dropout=a.dropout, extra=a.extra)
    final.load_state_dict(best.state)
    final.eval()
    return final, curve


# ---------------------------------------------------------------------------------------------
# the served graph
class CalibratedCam(nn.Module):
    """What every served graph of this model computes from the network (common.Served and ood.py's
    ServedMultiOOD differ only in their ood_score): the in-graph pixel normalisation, and from the last
    feature map the Platt-calibrated probability [N,1] and the heatmap [N,1,28,28] (CAM of the last conv
    features, bilinear-upsampled, min-max normalised per image). The buffers' names are the graph's
    initialiser names."""

    def __init__(self, net: Net, mean: float, std: float, scale: float, bias: float):
        super().__init__()
        self.net = net
        self.register_buffer("pixel_mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("pixel_std", torch.tensor(std, dtype=torch.float32))
        self.register_buffer("calibration_scale", torch.tensor(scale, dtype=torch.float32))
        self.register_buffer("calibration_bias", torch.tensor(bias, dtype=torch.float32))

    def normalise(self, image: torch.Tensor) -> torch.Tensor:
        return (image - self.pixel_mean) / self.pixel_std

    def classify(self, f: torch.Tensor):
        """(probability, heatmap, pooled features [N,C]) from the last feature map f [N,C,7,7]."""
        pooled = f.mean(dim=(2, 3))                                     # [N,C]
        logit = self.net.fc(pooled)                                     # [N,1]
        probability = torch.sigmoid(logit * self.calibration_scale + self.calibration_bias)
        cam = (f * self.net.fc.weight.view(1, -1, 1, 1)).sum(dim=1, keepdim=True)
        cam = F.interpolate(cam, size=(HEATMAP, HEATMAP), mode="bilinear", align_corners=False)
        lo = cam.amin(dim=(2, 3), keepdim=True)
        hi = cam.amax(dim=(2, 3), keepdim=True)
        heatmap = (cam - lo) / torch.clamp(hi - lo, min=1e-6)
        return probability, heatmap, pooled


class Served(CalibratedCam):
    """image [N,1,224,224] in [0,1] -> probability [N,1], heatmap [N,1,28,28] (CalibratedCam), ood_score
    [N,1] (Mahalanobis distance of the pooled features from the training split's distribution)."""

    def __init__(self, net: Net, mean: float, std: float, scale: float, bias: float, mu: np.ndarray, precision: np.ndarray):
        super().__init__(net, mean, std, scale, bias)
        self.register_buffer("ood_mean", torch.tensor(mu, dtype=torch.float32).view(1, -1))
        self.register_buffer("ood_precision", torch.tensor(precision, dtype=torch.float32))

    def forward(self, image):
        probability, heatmap, pooled = self.classify(self.net.features(self.normalise(image)))
        d = pooled - self.ood_mean
        ood = torch.sqrt(torch.clamp(((d @ self.ood_precision) * d).sum(dim=1, keepdim=True), min=0))
        return probability, heatmap, ood


def export_onnx(served: Served, example: torch.Tensor, out: Path, doc: str) -> None:
    import onnx

    torch.onnx.export(
        served, (example,), str(out), opset_version=17, input_names=["image"],
        output_names=["probability", "heatmap", "ood_score"],
        dynamic_axes={"image": {0: "N"}, "probability": {0: "N"}, "heatmap": {0: "N"}, "ood_score": {0: "N"}},
        do_constant_folding=True,
    )
    g = onnx.load(str(out))
    fixed = {"probability": (1,), "heatmap": (1, HEATMAP, HEATMAP), "ood_score": (1,), "image": (1, SIZE, SIZE)}
    for o in list(g.graph.output) + list(g.graph.input):
        dims = o.type.tensor_type.shape.dim
        for d, v in zip(dims[1:], fixed[o.name]):
            d.ClearField("dim_param")
            d.dim_value = v
    g.doc_string = doc
    onnx.checker.check_model(g, full_check=True)
    onnx.save(g, str(out))


def run_predict(args: list[str]) -> dict:
    """`npx tsx train/predict.ts …` (onnxruntime-node, the serving runtime) from the repository root."""
    cmd = ["npx", "--no-install", "tsx", str(HERE / "predict.ts"), *args]
    env = dict(os.environ, ONNXRUNTIME_NODE_INSTALL="skip")
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        sys.exit(f"predict.ts failed ({r.returncode}):\n{r.stderr}")
    return json.loads(r.stdout)


def sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def border_mask(size: int, frac: float) -> torch.Tensor:
    """1 inside the outer frame of width round(frac*size), 0 in the centre."""
    k = round(frac * size)
    m = torch.ones(size, size)
    m[k:size - k, k:size - k] = 0
    return m
