"""What the grey-image read-assist recipes (models/pneumonia-cxr, models/nih-cxr-abnormal) share:
a VGG-style CNN ending in global average pooling + one linear unit (so the class-activation
map is exact), its augmentation steps, the served ensemble graph (calibrated probability + CAM
heatmap), its ONNX export, and the validation report of train-summary.json. The training loop's
pieces are in cnn_training.py (shared with cxr-pneumonia-adult too).

Debian python3 with python3-torch / python3-onnx; imported by each train/train.py after it
puts models/tools on sys.path. Each recipe keeps what is specific to it: data loading, the
hyperparameters, how members are trained and selected, and how the output is calibrated.

Every function draws from the random generators in the order the recipes always did, so a
re-run of a recipe gives the weights it gave before these were shared.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score

import evaluation_stats as es


def conv_bn(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class Net(nn.Module):
    """VGG-style CNN: `stages` stages of two conv-BN-ReLU (width, 2x, 4x, ...) with a 2x2 max pool
    between stages, then global average pooling + one linear unit.

    GAP followed by a linear layer is what makes the class-activation map exact:
    logit = b + sum_k w_k * mean(F_k), so CAM = sum_k w_k * F_k on the last feature grid.
    """

    def __init__(self, width: int, dropout: float, stages: int):
        super().__init__()
        layers: list[nn.Module] = []
        cin = 1
        for s in range(stages):
            cout = width * 2 ** s
            layers += [*conv_bn(cin, cout), *conv_bn(cout, cout)]
            if s < stages - 1:
                layers.append(nn.MaxPool2d(2))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(cin, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x already normalised
        f = self.features(x)
        return self.fc(self.dropout(f.mean(dim=(2, 3))))


def uniform(n: int, g: torch.Generator):
    """u(lo, hi): n uniform draws from g in [lo, hi)."""
    return lambda lo, hi: torch.rand(n, generator=g) * (hi - lo) + lo


def random_affine(x: torch.Tensor, g: torch.Generator, a: argparse.Namespace, size: int) -> torch.Tensor:
    """One affine warp per image: rotation (a.rotate degrees), zoom (a.zoom), shift (a.shift pixels).

    No horizontal flips: situs (heart on the left) is anatomy, not nuisance.
    """
    n = x.shape[0]
    u = uniform(n, g)
    ang = u(-a.rotate, a.rotate) * math.pi / 180
    scale = u(1 - a.zoom, 1 + a.zoom)
    tx = u(-a.shift, a.shift) * 2 / size  # pixels -> normalised coords
    ty = u(-a.shift, a.shift) * 2 / size
    cos, sin = torch.cos(ang) / scale, torch.sin(ang) / scale
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def contrast_brightness(x: torch.Tensor, g: torch.Generator, a: argparse.Namespace) -> torch.Tensor:
    """Contrast about each image's mean (a.contrast), then a brightness shift (a.brightness), clamped to [0,1]."""
    n = x.shape[0]
    u = uniform(n, g)
    contrast = u(1 - a.contrast, 1 + a.contrast).view(n, 1, 1, 1)
    bright = u(-a.brightness, a.brightness).view(n, 1, 1, 1)
    mean = x.mean(dim=(2, 3), keepdim=True)
    return ((x - mean) * contrast + mean + bright).clamp(0, 1)


@torch.no_grad()
def logits_of(model: nn.Module, x: torch.Tensor, mean: float, std: float, batch: int) -> np.ndarray:
    model.eval()
    out = [model((x[i:i + batch] - mean) / std) for i in range(0, len(x), batch)]
    return torch.cat(out).squeeze(1).double().numpy()


class Served(nn.Module):
    """Ensemble of GAP CNNs -> (calibrated probability, CAM heatmap), all in one graph.

    Averaging member logits is still 'GAP + linear' over the concatenated feature maps,
    so the averaged CAM is the exact CAM of the averaged logit. probability =
    sigmoid(mean logit / temperature + bias); the bias is stored under `bias_name` (the graph
    initialiser evaluate.py looks up).
    """

    def __init__(self, members: list[Net], mean: float, std: float, temperature: float, bias: float,
                 size: int, bias_name: str):
        super().__init__()
        self.size = size
        self.bias_name = bias_name
        self.members = nn.ModuleList(members)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
        self.register_buffer("temperature", torch.tensor(temperature, dtype=torch.float32))
        self.register_buffer(bias_name, torch.tensor(bias, dtype=torch.float32))

    def forward(self, image: torch.Tensor):
        x = (image - self.mean) / self.std
        logit, cam = 0, 0
        for m in self.members:
            f = m.features(x)                                   # [N,C,g,g]
            w = m.fc.weight.view(1, -1, 1, 1)                    # [1,C,1,1]
            cam = cam + (f * w).sum(dim=1, keepdim=True)         # [N,1,g,g]
            logit = logit + m.fc(f.mean(dim=(2, 3)))             # [N,1]
        k = float(len(self.members))
        logit, cam = logit / k, cam / k
        probability = torch.sigmoid(logit / self.temperature + getattr(self, self.bias_name))
        cam = F.interpolate(cam, size=(self.size, self.size), mode="bilinear", align_corners=False)
        cam = torch.relu(cam)
        peak = cam.amax(dim=(2, 3), keepdim=True)
        heatmap = cam / torch.clamp(peak, min=1e-6)              # all-zero CAM stays all-zero
        return probability, heatmap


def validation_report(served: Served, members: list[Net], xva: torch.Tensor, yv: np.ndarray, zv: np.ndarray,
                      mean: float, std: float, batch: int, calibration: dict, sensitivity_target: float) -> dict:
    """The `validation` block of train-summary.json: the served graph on the validation split, with
    the operating threshold (highest t with sensitivity >= target) chosen there. `zv` are the mean
    member logits; `calibration` ({name: value}) is reported after the member AUROCs."""
    with torch.no_grad():
        pv, hv = served(xva)
    pv = pv.squeeze(1).double().numpy()
    thr = es.operating_threshold(pv, yv, sensitivity_target)
    pred = pv >= thr
    return {
        "AUROC": float(roc_auc_score(yv, zv)),
        "memberAUROC": [float(roc_auc_score(yv, logits_of(m, xva, mean, std, batch))) for m in members],
        **calibration,
        "eceBefore": es.ece(1 / (1 + np.exp(-zv)), yv),
        "eceAfter": es.ece(pv, yv),
        "threshold": thr,
        "sensitivity": float(pred[yv == 1].mean()),
        "specificity": float((~pred[yv == 0]).mean()),
        "accuracyAt0.5": float(((pv >= 0.5) == (yv == 1)).mean()),
        "heatmapRange": [float(hv.min()), float(hv.max())],
    }


def export_onnx(served: Served, example: torch.Tensor, out: Path, doc: str) -> None:
    """model.onnx: input `image` [N,1,S,S], outputs `probability` [N,1] and `heatmap` [N,1,S,S]
    (static dims pinned: the exporter leaves them symbolic), with a doc string; checked."""
    import onnx

    out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        served, (example,), str(out), opset_version=17, input_names=["image"],
        output_names=["probability", "heatmap"],
        dynamic_axes={"image": {0: "N"}, "probability": {0: "N"}, "heatmap": {0: "N"}},
        do_constant_folding=True,
    )
    g = onnx.load(str(out))
    for o in g.graph.output:
        if o.name == "heatmap":
            dims = o.type.tensor_type.shape.dim
            for d, v in zip(dims[1:], (1, served.size, served.size)):
                d.ClearField("dim_param")
                d.dim_value = v
    g.doc_string = doc
    onnx.checker.check_model(g, full_check=True)
    onnx.save(g, str(out))


def write_summary(a: argparse.Namespace, command: str, not_args: tuple[str, ...], data: str, mean: float, std: float,
                  val: dict, curves: list, t_start: float) -> None:
    """train-summary.json (a.summary): command, hyperparameters, data, pixel statistics, validation, curves."""
    summary = {
        "command": command,
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items() if k not in not_args},
        "data": data,
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
