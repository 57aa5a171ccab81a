#!/usr/bin/python3
"""Replace the OOD head of cxr-pneumonia-adult's model.onnx with a multi-depth score, without retraining.

    /usr/bin/python3 models/cxr-pneumonia-adult/train/ood.py      # after train.py (reads var/.../model.pt)

The classifier weights (var/train-cache/cxr-pneumonia-adult/model.pt, written by train.py) and the Platt
calibration (train-summary.json) are reused unchanged, so `probability` and `heatmap` are the same graph;
the script checks them against the previous model.onnx (kept as var/.../model-single-layer-ood.onnx).

Score (in the spirit of Lee et al. 2018, Mahalanobis at several depths):
  stage "sharpness": log mean |3x3 Laplacian| of the input image at 224, 112 and 56 px (3 numbers; a fixed
                     filter, not a learned layer: sees blur / resolution / noise)
  stages s2, s5, s7, s8, s9: the network's feature map after the first stem conv (16 ch, 112 px), the second
                     stem conv (32 ch, 56 px), the 28-px blocks (64 ch), 14 px (128 ch), 7 px (256 ch), each
                     global-average-pooled.
  Per stage: Mahalanobis distance from the 712 training films (mean + Ledoit-Wolf covariance), standardised
  as z = (d - median) / (IQR / 1.349) with the median and IQR of the training films' 5-fold out-of-fold
  distances (in-sample distances of the deep stages are optimistic). ood_score = max over stages of z.
  Threshold: the 99th percentile of ood_score on the 158 in-distribution valid films.

Design choice (pooling, combination, the sharpness stage) was made on the TUNING halves of the OOD sets
(PneumoniaMNIST test split: 312 of 624 films drawn at random, seed 20240611; DICOM: series grouped by patient
folder / test-pattern family, half the images of each stratum) and the ID train/valid films; evaluate.py
reports on the other (REPORT) halves. The comparison is recomputed here and written to ood-summary.json.

Writes model.onnx, train/ood-summary.json.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.covariance import LedoitWolf
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (CACHE, HERE, MODEL_DIR, CalibratedCam, Net, export_onnx, load_cached, load_nih, read_csv,  # noqa: E402
                    run_predict, sha256, split_of)
from onnx_ood import dicom_strata  # noqa: E402  (models/tools, on the path since common)

SEED = 20240611
PERCENTILE = 99.0
STAGES = [2, 5, 7, 8, 9]           # indices into Net.features (after ReLU of stem conv 1 / 2, blocks at 28, 14, 7 px)
LAPLACE = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]).view(1, 1, 3, 3)
SHARP_SCALES = 3
SHARP_EPS = 1e-4
OLD = CACHE / "model-single-layer-ood.onnx"
CHOSEN = {"pool": "mean", "combine": "max", "sharpness": True}


def sharpness(image: torch.Tensor) -> torch.Tensor:
    """[N,1,H,W] in [0,1] -> [N,3] log mean |Laplacian| at full, 1/2 and 1/4 resolution."""
    out, h = [], image
    for _ in range(SHARP_SCALES):
        out.append(torch.log(F.conv2d(h, LAPLACE.to(h.dtype)).abs().mean(dim=(2, 3)) + SHARP_EPS))
        h = F.avg_pool2d(h, 2)
    return torch.cat(out, 1)


def pool(f: torch.Tensor, how: str) -> torch.Tensor:
    m = f.mean(dim=(2, 3))
    if how == "mean":
        return m
    s = torch.sqrt(torch.clamp(((f - m[..., None, None]) ** 2).mean(dim=(2, 3)), min=0))
    return torch.cat([m, s], 1)


@torch.no_grad()
def stage_features(net: Net, x: torch.Tensor, mean: float, std: float, how: str, batch: int = 32) -> dict:
    """{'sharpness': [N,3], 2: [N,C2], ...} float64, from exactly the operations the served graph does."""
    out: dict = {k: [] for k in ["sharpness", *STAGES]}
    for i in range(0, len(x), batch):
        xb = x[i:i + batch]
        out["sharpness"].append(sharpness(xb))
        h = (xb - mean) / std
        for j, m in enumerate(net.features):
            h = m(h)
            if j in STAGES:
                out[j].append(pool(h, how))
    return {k: torch.cat(v).double().numpy() for k, v in out.items()}


def maha(loc, prec, f):
    d = f - loc
    return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", d, prec, d), 0))


def fit_stage(tr: np.ndarray) -> dict:
    oof = np.zeros(len(tr))
    for a, b in KFold(5, shuffle=True, random_state=SEED).split(tr):
        lw = LedoitWolf().fit(tr[a])
        oof[b] = maha(lw.location_, lw.precision_, tr[b])
    lw = LedoitWolf().fit(tr)
    q1, med, q3 = np.percentile(oof, [25, 50, 75])
    return {"loc": lw.location_, "prec": lw.precision_, "median": float(med), "spread": float((q3 - q1) / 1.349),
            "shrinkage": float(lw.shrinkage_), "dim": tr.shape[1], "inSampleMedian": float(np.median(maha(lw.location_, lw.precision_, tr)))}


def z_scores(fits: dict, feats: dict) -> np.ndarray:
    return np.array([(maha(fits[k]["loc"], fits[k]["prec"], feats[k]) - fits[k]["median"]) / fits[k]["spread"] for k in fits]).T


def ood_split() -> dict:
    """Tuning / report halves. PneumoniaMNIST has no patient id: a random half of the films (seed).
    DICOM: images grouped (dicomdirtests patient folder, the fo-dicom charset test-pattern family, else the file),
    groups in random order assigned to the tuning half until it holds about half of each stratum."""
    rng = np.random.default_rng(SEED)
    n_pm = len(read_csv(CACHE / "pmnist.csv"))
    pm_tune = np.zeros(n_pm, bool)
    pm_tune[rng.permutation(n_pm)[:n_pm // 2]] = True
    dicom = read_csv(CACHE / "dicom.csv")
    strata = dicom_strata(dicom)

    def group(f):
        p = f.split("/")
        if "dicomdirtests" in p:
            return "/".join(p[:p.index("dicomdirtests") + 2])
        if "charset" in p:
            return "/".join(p[:p.index("charset") + 1])
        return f
    dc_tune = np.zeros(len(dicom), bool)
    for name in ("nonChestCtMrUs", "otherNonChest"):
        idx = np.flatnonzero(strata[name])
        groups = sorted({group(dicom[i]["file"]) for i in idx})
        n, half = 0, len(idx) / 2
        for k in rng.permutation(len(groups)):
            members = [i for i in idx if group(dicom[i]["file"]) == groups[k]]
            if n < half - len(members) / 2:
                dc_tune[members] = True
                n += len(members)
    return {"pmTune": pm_tune, "dicomTune": dc_tune, "groupOf": [group(d["file"]) for d in dicom]}


class ServedMultiOOD(CalibratedCam):
    """image [N,1,224,224] in [0,1] -> probability [N,1], heatmap [N,1,28,28] (both exactly as common.Served),
    ood_score [N,1] = max over stages of the standardised Mahalanobis distance."""

    def __init__(self, net: Net, mean: float, std: float, scale: float, bias: float, fits: dict):
        super().__init__(net, mean, std, scale, bias)
        self.keys = list(fits)
        for i, k in enumerate(self.keys):
            f = fits[k]
            self.register_buffer(f"ood{i}_mean", torch.tensor(f["loc"], dtype=torch.float32).view(1, -1))
            self.register_buffer(f"ood{i}_precision", torch.tensor(f["prec"], dtype=torch.float32))
            self.register_buffer(f"ood{i}_median", torch.tensor(f["median"], dtype=torch.float32))
            self.register_buffer(f"ood{i}_spread", torch.tensor(f["spread"], dtype=torch.float32))

    def _z(self, i: int, v: torch.Tensor) -> torch.Tensor:
        d = v - getattr(self, f"ood{i}_mean")
        dist = torch.sqrt(torch.clamp(((d @ getattr(self, f"ood{i}_precision")) * d).sum(dim=1, keepdim=True), min=0))
        return (dist - getattr(self, f"ood{i}_median")) / getattr(self, f"ood{i}_spread")

    def forward(self, image):
        h = self.normalise(image)
        pooled_stage = {"sharpness": sharpness(image)}
        for j, m in enumerate(self.net.features):
            h = m(h)
            if j in STAGES:
                pooled_stage[j] = pool(h, CHOSEN["pool"])
        probability, heatmap, _ = self.classify(h)                     # h: the last feature map [N,C,7,7]
        z = torch.cat([self._z(i, pooled_stage[k]) for i, k in enumerate(self.keys)], 1)
        ood = z.amax(dim=1, keepdim=True)
        return probability, heatmap, ood


def flagged_auc(id_s, s, thr):
    y = np.r_[np.zeros(len(id_s)), np.ones(len(s))]
    return {"flagged": round(float((s > thr).mean()), 4), "aurocVsValid": round(float(roc_auc_score(y, np.r_[id_s, s])), 4)}


def compare_designs(net, mean, std, xtr, xva, xpm, xdc, split, strata) -> list[dict]:
    """The design comparison on the tuning halves (ID reference: valid). Nothing from the report halves."""
    rows = []
    for how in ("mean", "mean+std"):
        fe = {n: stage_features(net, x, mean, std, how) for n, x in (("train", xtr), ("valid", xva), ("pm", xpm), ("dicom", xdc))}
        for sharp in (False, True):
            keys = (["sharpness"] if sharp else []) + STAGES
            fits = {k: fit_stage(fe["train"][k]) for k in keys}
            z = {n: z_scores(fits, {k: fe[n][k] for k in keys}) for n in fe}
            for comb in ("max", "sum"):
                sc = {n: (v.max(1) if comb == "max" else v.sum(1)) for n, v in z.items()}
                thr = float(np.percentile(sc["valid"], PERCENTILE))
                rows.append({"pool": how, "sharpnessStage": sharp, "combine": comb, "thresholdValid99": round(thr, 3),
                             "tuneHalf": {"paediatric": flagged_auc(sc["valid"], sc["pm"][split["pmTune"]], thr),
                                          "nonChestCtMrUs": flagged_auc(sc["valid"], sc["dicom"][split["dicomTune"] & strata["nonChestCtMrUs"]], thr),
                                          "otherNonChest": flagged_auc(sc["valid"], sc["dicom"][split["dicomTune"] & strata["otherNonChest"]], thr)},
                             "frontalChestCrMinusThreshold": [round(float(v - thr), 3) for v in sc["dicom"][strata["frontalChest"]]]})
                print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    torch.set_num_threads(2)
    t0 = time.time()
    summary = json.loads((HERE / "train-summary.json").read_text())
    platt = summary["validation"]["platt"]
    ck = torch.load(CACHE / "model.pt")
    net = Net(dropout=ck["dropout"], extra=ck["extra"])
    net.load_state_dict(ck["state"])
    net.eval()
    mean, std = ck["mean"], ck["std"]
    x, rows = load_nih()
    xtr, _, _ = split_of(x, rows, "train")
    xva, _, _ = split_of(x, rows, "valid")
    xpm, xdc = load_cached("pmnist224"), load_cached("dicom224")
    dicom = read_csv(CACHE / "dicom.csv")
    strata = dicom_strata(dicom)
    split = ood_split()

    comparison = compare_designs(net, mean, std, xtr, xva, xpm, xdc, split, strata)

    keys = (["sharpness"] if CHOSEN["sharpness"] else []) + STAGES
    ftr = stage_features(net, xtr, mean, std, CHOSEN["pool"])
    fits = {k: fit_stage(ftr[k]) for k in keys}
    served = ServedMultiOOD(net, mean, std, platt["scale"], platt["bias"], fits).eval()
    if not OLD.exists():
        sys.exit(f"{OLD} missing: copy the single-layer model.onnx exported by train.py there before running ood.py")
    out = MODEL_DIR / "model.onnx"
    export_onnx(served, xva[:2], out,
                "Lantern cxr-pneumonia-adult: P(pneumonia) (Platt-calibrated on valid), CAM heatmap and a multi-depth "
                "out-of-distribution score (max of standardised Mahalanobis distances: input sharpness and five network "
                "stages), from a CNN trained from scratch on 712 adult NIH ChestX-ray14 films at 224 px. "
                "AI-assisted; not a diagnosis.")

    # parity: new graph vs the previous model.onnx (probability, heatmap) and vs torch (ood_score), onnxruntime-node
    new = run_predict([str(out), "--nih", "valid", "--heatmap"])
    old = run_predict([str(OLD), "--nih", "valid", "--heatmap"])
    with torch.no_grad():
        _, _, ot = served(xva)
    ov = np.array(new["ood_score"])
    parity = {"maxAbsDiffProbabilityVsPrevious": float(np.abs(np.array(new["probability"]) - np.array(old["probability"])).max()),
              "maxAbsDiffHeatmapVsPrevious": float(np.abs(np.array(new["heatmap"]) - np.array(old["heatmap"])).max()),
              "maxAbsDiffOodScoreVsTorch": float(np.abs(ov - ot[:, 0].double().numpy()).max()),
              "previousSha256": sha256(OLD),
              "what": "onnxruntime-node on the 158 valid films prepared by preprocessImageFile; previous = the single-layer-OOD model.onnx exported by train.py"}
    print(json.dumps(parity), flush=True)
    assert parity["maxAbsDiffProbabilityVsPrevious"] <= 1e-6 and parity["maxAbsDiffHeatmapVsPrevious"] <= 1e-6, parity
    assert parity["maxAbsDiffOodScoreVsTorch"] < 1e-3, parity

    thr = float(np.percentile(ov, PERCENTILE))
    fva = stage_features(net, xva, mean, std, CHOSEN["pool"])
    zva = z_scores(fits, fva)
    res = {
        "command": "/usr/bin/python3 models/cxr-pneumonia-adult/train/ood.py",
        "method": CHOSEN,
        "stages": [{"stage": str(k), "what": ("log mean |Laplacian| at 224/112/56 px of the input" if k == "sharpness" else
                                           f"features[{k}] ({type(net.features[k]).__name__}), {CHOSEN['pool']}-pooled"),
                    "dim": fits[k]["dim"], "ledoitWolfShrinkage": fits[k]["shrinkage"], "oofMedian": fits[k]["median"],
                    "oofSpread": fits[k]["spread"], "inSampleMedian": fits[k]["inSampleMedian"],
                    "validArgmaxShare": float(np.mean(np.argmax(zva, 1) == i))} for i, k in enumerate(keys)],
        "threshold": thr,
        "thresholdRule": f"{PERCENTILE:g}th percentile (numpy linear interpolation) of ood_score over the {len(ov)} in-distribution valid films",
        "validRejected": float((ov > thr).mean()),
        "validScoreRange": [float(ov.min()), float(np.median(ov)), float(ov.max())],
        "split": {"seed": SEED,
                  "paediatricTune": np.flatnonzero(split["pmTune"]).tolist(),
                  "dicomTune": [dicom[i]["file"] for i in np.flatnonzero(split["dicomTune"])],
                  "rule": ood_split.__doc__.strip()},
        "designComparison": {"note": "computed on the TUNING halves only (ID reference for AUROC: valid); the chosen row is "
                             f"{CHOSEN}. The frontal chest CR column (score minus threshold, the two real adult PA chest CRs "
                             "in the DICOM corpora) was looked at when choosing, so those two files are not an independent check.",
                             "rows": comparison},
        "onnxParity": parity,
        "sha256": sha256(out),
        "seconds": round(time.time() - t0, 1),
    }
    (HERE / "ood-summary.json").write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps({k: res[k] for k in ("threshold", "validRejected", "sha256", "seconds")}))


if __name__ == "__main__":
    sys.exit(main())
