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
import sys
from pathlib import Path

import numpy as np

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
    sg = oo.add_ood(source, 2, 128, f"{NPZ}:train_images", f"{NPZ}:val_images", DOC, "official validation (524)", tmp)
    s_val = sg.valid_scores

    # threshold on val; figures
    thr = float(np.percentile(s_val, PERCENTILE))
    s_test = oo.scores(sg.path, f"{NPZ}:test_images", tmp)
    s_pm_served = oo.scores(sg.path, str(CACHE / "pmnist28.npy"), tmp)
    nih_rows = list(csv.DictReader(open(CACHE / "nih.csv")))
    s_nih_all = oo.scores(sg.path, str(CACHE / "nih28.npy"), tmp)
    test_idx = [i for i, r in enumerate(nih_rows) if r["split"] == "test"]
    s_nih = s_nih_all[test_idx]
    dcm = oo.dicom_figures(CACHE / "dicom.csv", CACHE / "dicom28.npy", sg.path, s_test, thr, 28, tmp)
    ref = "official PneumoniaMNIST test split (624, uint8/255, as the evaluation harness feeds it)"
    result = {
        **oo.result_head("pneumonia-cxr",
                         "Mahalanobis distance of the pooled penultimate features (the two ensemble members' global-average-pooled "
                         "last conv features, concatenated, 256-d) from the PneumoniaMNIST train split (3,882 films, uint8/255): mean + "
                         "Ledoit-Wolf-shrunk covariance",
                         sg, thr, PERCENTILE, "official validation split", s_test, s_pm_served,
                         "the same 624 test films as PNG -> preprocessImageFile(buffer, 'grey-square@1', [28, 28]) "
                         "(percentile window + lanczos3 resize of a 28 px image): what a served paediatric film looks like"),
        "referenceForAUROC": ref,
        "adultNihTest": oo.detection(s_test, s_nih, thr, "adult NIH ChestX-ray14 test split (130 films of nih-cxr14-pneumonia-1000), "
                                                         "preprocessImageFile(file, 'grey-square@1', [28, 28])"),
        **dcm,
    }
    return sg.path, result


def main() -> None:
    oo.run_recipe(MODEL, [CACHE / n for n in ("nih28.npy", "dicom28.npy", "pmnist28.npy", "nih.csv", "dicom.csv")],
                  "npx tsx models/cxr-pneumonia-adult/train/prepare.ts",
                  "restore the original graph first (git show d2feeb6~:models/pneumonia-cxr/model.onnx)", build,
                  ("adultNihTest", "nonChestCtMrUs", "otherNonChest"))


if __name__ == "__main__":
    sys.exit(main())
