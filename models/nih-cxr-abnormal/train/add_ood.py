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
import sys
from pathlib import Path

import numpy as np

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
    sg = oo.add_ood(source, MEMBERS, WIDTH, str(CACHE / "nih1000-train.npy"), str(CACHE / "nih1000-valid.npy"), DOC,
                    "NIH1000 valid (200)", tmp)
    s_val = sg.valid_scores

    # threshold on valid; figures
    def score(name: str) -> np.ndarray:
        return oo.scores(sg.path, str(CACHE / name), tmp)

    thr = float(np.percentile(s_val, PERCENTILE))
    s_test = score("nih1000-test.npy")
    s_test_served = score("nih1000-test-served.npy")
    s_pm = score("pmnist64.npy")
    s_adult = score("adultnih64.npy")
    adult = list(csv.DictReader(open(CACHE / "adultnih64.csv")))
    adult_new = np.array([r["patient_in_nih1000_64px"].strip() == "" for r in adult])  # else: the NIH1000 splits they are in
    dcm = oo.dicom_figures(DICOM_CSV, CACHE / "dicom64.npy", sg.path, s_test, thr, 64, tmp)
    served_adult = oo.detection(s_test, s_adult, thr,
                                "adult NIH ChestX-ray14 films (test split of nih-cxr14-pneumonia-1000, full-size PNGs) through "
                                "preprocessImageFile(file, 'grey-square@1', [64, 64]): the card's own population as a served "
                                "film; flagged = false rejections, not detections")
    served_adult["flaggedPatientsNotInNih1000"] = float((s_adult[adult_new] > thr).mean())
    served_adult["nPatientsNotInNih1000"] = int(adult_new.sum())
    result = {
        **oo.result_head("nih-cxr-abnormal",
                         "Mahalanobis distance of the pooled penultimate features (the four ensemble members' global-average-pooled "
                         "last conv features, concatenated, 512-d) from the NIH1000 train split (600 images, sharp greyscale pixel/255 as "
                         "npm run eval feeds them): mean + Ledoit-Wolf-shrunk covariance",
                         sg, thr, PERCENTILE, "NIH1000 valid split", s_test, s_test_served,
                         "the same 200 test PNGs through preprocessImageFile(file, 'grey-square@1', [64, 64]) "
                         "(percentile window + lanczos3 of a 64 px image)",
                         testScoreMedian=float(np.median(s_test))),
        "referenceForAUROC": "NIH1000 test split (200, sharp greyscale pixel/255, as npm run eval feeds it)",
        "paediatricPneumoniaMnistTest": oo.detection(s_test, s_pm, thr,
                                                     "PneumoniaMNIST official test split (624 paediatric 28 px films): PNG -> "
                                                     "preprocessImageFile(buffer, 'grey-square@1', [64, 64]), as served"),
        "nonChestCtMrUs": dcm["nonChestCtMrUs"],
        "otherNonChest": dcm["otherNonChest"],
        "servedAdultNihFilms": served_adult,
        "frontalChestDicom": dcm["frontalChestDicom"],
        "lateralChest": dcm["lateralChest"],
    }
    return sg.path, result


def main() -> None:
    needs = ("nih1000-train.npy", "nih1000-valid.npy", "nih1000-test.npy", "nih1000-test-served.npy", "pmnist64.npy",
             "dicom64.npy", "adultnih64.npy", "adultnih64.csv")
    result = oo.run_recipe(MODEL, [CACHE / n for n in needs], "npx tsx models/nih-cxr-abnormal/train/prepare-ood.ts",
                           "restore the 1.0.0 graph first (sha256 dd049a47…, from git history)", build,
                           ("paediatricPneumoniaMnistTest", "nonChestCtMrUs", "otherNonChest", "servedAdultNihFilms"))
    print("frontalChestDicom", result["frontalChestDicom"])


if __name__ == "__main__":
    sys.exit(main())
