#!/usr/bin/python3
"""Add an in-graph out-of-distribution score `ood_score` [N,1] to models/nih-cxr-abnormal/model.onnx
by graph surgery (no retraining: the network's weights are untouched).

    npx tsx models/cxr-pneumonia-adult/train/prepare.ts      # once: the DICOM frame list (dicom.csv, dicom28.npy)
    npx tsx models/nih-cxr-abnormal/train/prepare-ood.ts     # the 64 px arrays (var/train-cache/nih-cxr-abnormal-ood)
    /usr/bin/python3 models/nih-cxr-abnormal/train/add_ood.py

ood_score = Mahalanobis distance of the pooled penultimate features (the four ensemble members'
global-average-pooled last conv features, the maps the CAM uses, concatenated: 4 x 128 = 512)
from their distribution on the NIH1000 train split (600 images, fed exactly as `npm run eval`
feeds an image-folder set: sharp greyscale, pixel / 255): mean + Ledoit-Wolf-shrunk covariance.
Higher = more unusual. The threshold is the 99th percentile (numpy linear interpolation) of
ood_score on the NIH1000 valid split (200 images). The test split is only scored.

The graph runs in onnxruntime-node through models/cxr-pneumonia-adult/train/run-onnx.ts; the
surgery, the runner call and the detection figures are models/tools/onnx_ood.py (shared with
models/pneumonia-cxr/train/add_ood.py). model.onnx is replaced only when the new graph's
`probability` and `heatmap` equal the old graph's on the valid split (max |diff| <= 1e-6) and its
ood_score matches the numpy computation.

Writes models/nih-cxr-abnormal/model.onnx (if the check passes) and evaluation/ood.json. The card
(model.json: version, sha256, outputs, outOfDistribution) is edited by hand from ood.json.
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

CACHE = REPO / "var" / "train-cache" / "nih-cxr-abnormal-ood"
DICOM_CSV = REPO / "var" / "train-cache" / "cxr-pneumonia-adult" / "dicom.csv"
MODEL = MODEL_DIR / "model.onnx"
PERCENTILE = 99.0
MEMBERS, WIDTH = 4, 128
DOC = (" ood_score: Mahalanobis distance of the four members' pooled last-conv features "
       "from the NIH1000 train split (Ledoit-Wolf covariance); higher = more unusual.")


def build(source: Path, tmp: Path) -> tuple[Path, dict]:
    """The new graph (written under tmp) from the original graph `source`, and the figures."""
    original = onnx.load(str(source))
    old_sha = hashlib.sha256(source.read_bytes()).hexdigest()
    names = oo.pooled_names(original.graph, MEMBERS)
    # 1. the features, from the graph itself
    probe = oo.save_probe(source, names, WIDTH, tmp / "probe.onnx")
    f_train = oo.features(probe, names, str(CACHE / "nih1000-train.npy"), tmp)
    f_val = oo.features(probe, names, str(CACHE / "nih1000-valid.npy"), tmp)
    lw = LedoitWolf().fit(f_train)
    mu, prec = lw.location_, lw.precision_

    def maha(f):
        return oo.mahalanobis(f, mu, prec)

    # 2. graph surgery
    g = oo.add_mahalanobis_head(onnx.load(str(source)), names, mu, prec, DOC)
    new_path = tmp / "model.onnx"
    onnx.save(g, str(new_path))

    # 3. the old outputs must be unchanged; ood_score must be what numpy computes
    valid = str(CACHE / "nih1000-valid.npy")
    old_val = oo.run(source, valid, ["probability", "heatmap"], tmp)
    new_val = oo.run(new_path, valid, ["probability", "heatmap", "ood_score"], tmp)
    s_val = new_val["ood_score"][:, 0].astype(np.float64)
    check = oo.compare_outputs(old_val, new_val, ["probability", "heatmap"])
    check["maxRelDiffOodVsNumpy"] = float((np.abs(s_val - maha(f_val)) / maha(f_val)).max())
    check["split"] = "NIH1000 valid (200)"
    print(json.dumps(check))
    if check["maxAbsDiffProbability"] > 1e-6 or check["maxAbsDiffHeatmap"] > 1e-6 or check["maxRelDiffOodVsNumpy"] > 1e-3:
        sys.exit(f"new graph changes the old outputs or mis-computes ood_score: {check}; model.onnx left alone")

    # 4. threshold on valid; figures
    def score(name: str) -> np.ndarray:
        return oo.run(new_path, str(CACHE / name), ["ood_score"], tmp)["ood_score"][:, 0].astype(np.float64)

    thr = float(np.percentile(s_val, PERCENTILE))
    s_test = score("nih1000-test.npy")
    s_test_served = score("nih1000-test-served.npy")
    s_pm = score("pmnist64.npy")
    s_adult = score("adultnih64.npy")
    adult = list(csv.DictReader(open(CACHE / "adultnih64.csv")))
    adult_new = np.array([r["patient_in_nih1000_64px"].strip() == "" for r in adult])  # else: the NIH1000 splits they are in
    dicom = list(csv.DictReader(open(DICOM_CSV)))
    s_dcm = score("dicom64.npy")
    mod = np.array([d["modality"] for d in dicom])
    part = np.array([d["body_part"].upper() for d in dicom])
    view = np.array([d["view_position"].upper() for d in dicom])
    cmu = np.isin(mod, ["CT", "MR", "US"])
    chest = np.isin(mod, ["CR", "DX"]) & (part == "CHEST") & np.isin(view, ["PA", "AP"])
    other = ~cmu & ~chest
    served_adult = oo.detection(s_test, s_adult, thr,
                                "adult NIH ChestX-ray14 films (test split of nih-cxr14-pneumonia-1000, full-size PNGs) through "
                                "preprocessImageFile(file, 'grey-square@1', [64, 64]): the card's own population as a served "
                                "film; flagged = false rejections, not detections")
    served_adult["flaggedPatientsNotInNih1000"] = float((s_adult[adult_new] > thr).mean())
    served_adult["nPatientsNotInNih1000"] = int(adult_new.sum())
    result = {
        "model": "nih-cxr-abnormal",
        "output": "ood_score",
        "method": "Mahalanobis distance of the pooled penultimate features (the four ensemble members' global-average-pooled "
                  "last conv features, concatenated, 512-d) from the NIH1000 train split (600 images, sharp greyscale pixel/255 as "
                  "npm run eval feeds them): mean + Ledoit-Wolf-shrunk covariance; " + oo.HEAD_METHOD,
        "threshold": thr,
        "thresholdRule": f"{PERCENTILE:g}th percentile (numpy linear interpolation) of ood_score on the NIH1000 valid split (n={len(s_val)})",
        "ledoitWolfShrinkage": float(lw.shrinkage_),
        "weightsSha256Before": old_sha,
        "check": check,
        "inDistribution": {
            "validRejected": float((s_val > thr).mean()), "validN": len(s_val),
            "testRejected": float((s_test > thr).mean()), "testRejectedCount": int((s_test > thr).sum()), "testN": len(s_test),
            "testThroughServingPreprocessingRejected": float((s_test_served > thr).mean()),
            "testThroughServingPreprocessingNote": "the same 200 test PNGs through preprocessImageFile(file, 'grey-square@1', [64, 64]) "
                                                   "(percentile window + lanczos3 of a 64 px image)",
            "trainScoreMedian": float(np.median(maha(f_train))), "validScoreMedian": float(np.median(s_val)),
            "testScoreMedian": float(np.median(s_test)),
        },
        "referenceForAUROC": "NIH1000 test split (200, sharp greyscale pixel/255, as npm run eval feeds it)",
        "paediatricPneumoniaMnistTest": oo.detection(s_test, s_pm, thr,
                                                     "PneumoniaMNIST official test split (624 paediatric 28 px films): PNG -> "
                                                     "preprocessImageFile(buffer, 'grey-square@1', [64, 64]), as served"),
        "nonChestCtMrUs": oo.detection(s_test, s_dcm[cmu], thr, "CT/MR/US greyscale DICOM frames, one per series, parseDicom -> "
                                                                 "decodeFrame -> grey-square@1 at 64 px"),
        "otherNonChest": oo.detection(s_test, s_dcm[other], thr, "other decodable greyscale DICOM frames that are not frontal chest "
                                                                  "films (OT test patterns, XA, MG, NM, CR extremity/C-spine/dental)"),
        "servedAdultNihFilms": served_adult,
        "frontalChestDicom": [{"file": dicom[i]["file"], "oodScore": float(s_dcm[i]), "flagged": bool(s_dcm[i] > thr)}
                              for i in np.flatnonzero(chest)],
        "lateralChest": "none exists in ../shared/data (every DICOM searched for View Position LL/RL/LATERAL; only a lateral C-spine)",
    }
    return new_path, result


def main() -> None:
    for need in ("nih1000-train.npy", "nih1000-valid.npy", "nih1000-test.npy", "nih1000-test-served.npy", "pmnist64.npy",
                 "dicom64.npy", "adultnih64.npy", "adultnih64.csv"):
        if not (CACHE / need).exists():
            sys.exit(f"{CACHE / need} missing: run `npx tsx models/nih-cxr-abnormal/train/prepare-ood.ts` first")
    if any(o.name == "ood_score" for o in onnx.load(str(MODEL)).graph.output):
        sys.exit("model.onnx already has ood_score; restore the 1.0.0 graph first (sha256 dd049a47…, from git history)")
    tmp = Path(tempfile.mkdtemp(prefix="nih-cxr-abnormal-ood-"))
    try:
        new_path, result = build(MODEL, tmp)
        shutil.copyfile(new_path, MODEL)
        result["weightsSha256"] = hashlib.sha256(MODEL.read_bytes()).hexdigest()
        (MODEL_DIR / "evaluation").mkdir(exist_ok=True)
        (MODEL_DIR / "evaluation" / "ood.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps({k: result[k] for k in ("threshold", "weightsSha256", "inDistribution")}, indent=1))
        for k in ("paediatricPneumoniaMnistTest", "nonChestCtMrUs", "otherNonChest", "servedAdultNihFilms"):
            print(k, {kk: result[k][kk] for kk in ("n", "auroc", "auroc95DeLong", "flagged")})
        print("frontalChestDicom", result["frontalChestDicom"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
