#!/usr/bin/python3
"""Add an in-graph out-of-distribution score `ood_score` [N,1] to models/pneumonia-cxr/model.onnx
by graph surgery (no retraining: the network's weights are untouched).

    npx tsx models/cxr-pneumonia-adult/train/prepare.ts      # the 28 px adult NIH / DICOM / paediatric arrays
    /usr/bin/python3 models/pneumonia-cxr/train/add_ood.py

ood_score = Mahalanobis distance of the pooled penultimate features (the two ensemble members'
global-average-pooled last conv features, the same maps the CAM uses, concatenated: 2 x 128 = 256)
from their distribution on the PneumoniaMNIST train split (3,882 films, fed as the evaluation
harness feeds them: uint8 / 255): mean + Ledoit-Wolf-shrunk covariance. Higher = more unusual.
The threshold is the 99th percentile (numpy linear interpolation) of ood_score on the official
validation split (524 films).

The graph runs in onnxruntime-node (Debian's Python has no onnxruntime) through
models/cxr-pneumonia-adult/train/run-onnx.ts. model.onnx is replaced only when the new graph's
`probability` and `heatmap` outputs equal the old graph's on the validation split (max |diff|
<= 1e-6), and its ood_score matches the numpy computation.

Writes models/pneumonia-cxr/model.onnx (if the check passes) and models/pneumonia-cxr/evaluation/ood.json.
The graph surgery, the runner call and the detection figures are shared with
models/nih-cxr-abnormal/train/add_ood.py in models/tools/onnx_ood.py.
"""
from __future__ import annotations

import csv
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from sklearn.covariance import LedoitWolf

HERE = Path(__file__).resolve().parent
MODEL_DIR = HERE.parent
REPO = MODEL_DIR.parent.parent
# Recipes run as scripts, not as a package: put models/tools on the path to share the OOD head.
sys.path.insert(0, str(REPO / "models" / "tools"))
import onnx_ood as oo  # noqa: E402

NPZ = REPO.parent / "shared" / "data" / "images" / "pneumoniamnist" / "pneumoniamnist_varun19424.npz"
CACHE = REPO / "var" / "train-cache" / "cxr-pneumonia-adult"
MODEL = MODEL_DIR / "model.onnx"
PERCENTILE = 99.0
DOC = (" ood_score: Mahalanobis distance of the members' pooled last-conv features "
       "from the PneumoniaMNIST train split (Ledoit-Wolf covariance); higher = more unusual.")


def build(source: Path, tmp: Path) -> tuple[Path, dict]:
    """The new graph (written under tmp) from the original graph `source`, and the figures."""
    original = onnx.load(str(source))
    old_sha = hashlib.sha256(source.read_bytes()).hexdigest()
    names = oo.pooled_names(original.graph, 2)
    # 1. the features, from the graph itself
    probe = oo.save_probe(source, names, 128, tmp / "probe.onnx")
    f_train = oo.features(probe, names, f"{NPZ}:train_images", tmp)
    f_val = oo.features(probe, names, f"{NPZ}:val_images", tmp)
    lw = LedoitWolf().fit(f_train)
    mu, prec = lw.location_, lw.precision_

    def maha(f):
        return oo.mahalanobis(f, mu, prec)

    # 2. graph surgery: concat -> sub mean -> matmul precision -> mul -> reducesum -> sqrt
    g = oo.add_mahalanobis_head(onnx.load(str(source)), names, mu, prec, DOC)
    new_path = tmp / "model.onnx"
    onnx.save(g, str(new_path))

    # 3. the old outputs must be unchanged; ood_score must be what numpy computes
    old_val = oo.run(source, f"{NPZ}:val_images", ["probability", "heatmap"], tmp)
    new_val = oo.run(new_path, f"{NPZ}:val_images", ["probability", "heatmap", "ood_score"], tmp)
    s_val = new_val["ood_score"][:, 0].astype(np.float64)
    check = oo.compare_outputs(old_val, new_val, ["probability", "heatmap"])
    check["maxRelDiffOodVsNumpy"] = float((np.abs(s_val - maha(f_val)) / maha(f_val)).max())
    check["split"] = "official validation (524)"
    print(json.dumps(check))
    if check["maxAbsDiffProbability"] > 1e-6 or check["maxAbsDiffHeatmap"] > 1e-6 or check["maxRelDiffOodVsNumpy"] > 1e-3:
        sys.exit(f"new graph changes the old outputs or mis-computes ood_score: {check}; model.onnx left alone")

    # 4. threshold on val; figures
    def score(inp: str) -> np.ndarray:
        return oo.run(new_path, inp, ["ood_score"], tmp)["ood_score"][:, 0].astype(np.float64)

    thr = float(np.percentile(s_val, PERCENTILE))
    s_test = score(f"{NPZ}:test_images")
    s_pm_served = score(str(CACHE / "pmnist28.npy"))
    nih_rows = list(csv.DictReader(open(CACHE / "nih.csv")))
    s_nih_all = score(str(CACHE / "nih28.npy"))
    test_idx = [i for i, r in enumerate(nih_rows) if r["split"] == "test"]
    s_nih = s_nih_all[test_idx]
    dicom = list(csv.DictReader(open(CACHE / "dicom.csv")))
    s_dcm = score(str(CACHE / "dicom28.npy"))
    mod = np.array([d["modality"] for d in dicom])
    part = np.array([d["body_part"].upper() for d in dicom])
    view = np.array([d["view_position"].upper() for d in dicom])
    cmu = np.isin(mod, ["CT", "MR", "US"])
    chest = np.isin(mod, ["CR", "DX"]) & (part == "CHEST") & np.isin(view, ["PA", "AP"])
    other = ~cmu & ~chest
    ref = "official PneumoniaMNIST test split (624, uint8/255, as the evaluation harness feeds it)"
    result = {
        "model": "pneumonia-cxr",
        "output": "ood_score",
        "method": "Mahalanobis distance of the pooled penultimate features (the two ensemble members' global-average-pooled "
                  "last conv features, concatenated, 256-d) from the PneumoniaMNIST train split (3,882 films, uint8/255): mean + "
                  "Ledoit-Wolf-shrunk covariance; " + oo.HEAD_METHOD,
        "threshold": thr,
        "thresholdRule": f"{PERCENTILE:g}th percentile (numpy linear interpolation) of ood_score on the official validation split (n={len(s_val)})",
        "ledoitWolfShrinkage": float(lw.shrinkage_),
        "weightsSha256Before": old_sha,
        "check": check,
        "inDistribution": {
            "validRejected": float((s_val > thr).mean()), "validN": len(s_val),
            "testRejected": float((s_test > thr).mean()), "testRejectedCount": int((s_test > thr).sum()), "testN": len(s_test),
            "testThroughServingPreprocessingRejected": float((s_pm_served > thr).mean()),
            "testThroughServingPreprocessingNote": "the same 624 test films as PNG -> preprocessImageFile(buffer, 'grey-square@1', [28, 28]) "
                                                   "(percentile window + lanczos3 resize of a 28 px image): what a served paediatric film looks like",
            "trainScoreMedian": float(np.median(maha(f_train))), "validScoreMedian": float(np.median(s_val)),
        },
        "referenceForAUROC": ref,
        "adultNihTest": oo.detection(s_test, s_nih, thr, "adult NIH ChestX-ray14 test split (130 films of nih-cxr14-pneumonia-1000), "
                                                         "preprocessImageFile(file, 'grey-square@1', [28, 28])"),
        "nonChestCtMrUs": oo.detection(s_test, s_dcm[cmu], thr, "CT/MR/US greyscale DICOM frames, one per series, parseDicom -> decodeFrame "
                                                                 "-> grey-square@1 at 28 px"),
        "otherNonChest": oo.detection(s_test, s_dcm[other], thr, "other decodable greyscale DICOM frames that are not frontal chest films "
                                                                  "(OT test patterns, XA, MG, NM, CR extremity/C-spine/dental)"),
        "frontalChestDicom": [{"file": dicom[i]["file"], "oodScore": float(s_dcm[i]), "flagged": bool(s_dcm[i] > thr)}
                              for i in np.flatnonzero(chest)],
        "lateralChest": "none exists in ../shared/data (every DICOM searched for View Position LL/RL/LATERAL; only a lateral C-spine)",
    }
    return new_path, result


def main() -> None:
    for need in ("nih28.npy", "dicom28.npy", "pmnist28.npy", "nih.csv", "dicom.csv"):
        if not (CACHE / need).exists():
            sys.exit(f"{CACHE / need} missing: run `npx tsx models/cxr-pneumonia-adult/train/prepare.ts` first")
    if any(o.name == "ood_score" for o in onnx.load(str(MODEL)).graph.output):
        sys.exit("model.onnx already has ood_score; restore the original graph first (git show d2feeb6~:models/pneumonia-cxr/model.onnx)")
    tmp = Path(tempfile.mkdtemp(prefix="pneumonia-cxr-ood-"))
    try:
        new_path, result = build(MODEL, tmp)
        shutil.copyfile(new_path, MODEL)
        result["weightsSha256"] = hashlib.sha256(MODEL.read_bytes()).hexdigest()
        (MODEL_DIR / "evaluation").mkdir(exist_ok=True)
        (MODEL_DIR / "evaluation" / "ood.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps({k: result[k] for k in ("threshold", "weightsSha256", "inDistribution")}, indent=1))
        for k in ("adultNihTest", "nonChestCtMrUs", "otherNonChest"):
            print(k, {kk: result[k][kk] for kk in ("n", "auroc", "auroc95DeLong", "flagged")})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
