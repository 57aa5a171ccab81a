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
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.covariance import LedoitWolf

HERE = Path(__file__).resolve().parent
MODEL_DIR = HERE.parent
REPO = MODEL_DIR.parent.parent
NPZ = REPO.parent / "shared" / "data" / "images" / "pneumoniamnist" / "pneumoniamnist_varun19424.npz"
CACHE = REPO / "var" / "train-cache" / "cxr-pneumonia-adult"
RUNNER = REPO / "models" / "cxr-pneumonia-adult" / "train" / "run-onnx.ts"
MODEL = MODEL_DIR / "model.onnx"
PERCENTILE = 99.0
Z95 = 1.959963984540054


def run(model: Path, inp: str, outputs: list[str], tmp: Path) -> dict[str, np.ndarray]:
    out_dir = Path(tempfile.mkdtemp(dir=tmp))
    env = dict(os.environ, ONNXRUNTIME_NODE_INSTALL="skip")
    r = subprocess.run(["npx", "--no-install", "tsx", str(RUNNER), str(model), inp, str(out_dir), *outputs],
                       cwd=REPO, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"run-onnx.ts failed:\n{r.stderr}")
    return {o: np.load(out_dir / f"{o.replace('/', '_')}.npy") for o in outputs}


def pooled_names(g: onnx.GraphProto) -> list[str]:
    """The members' GAP outputs: ReduceMean over (2,3) whose result feeds a member's fc Gemm."""
    gemm_inputs = {n.input[0] for n in g.node if n.op_type == "Gemm"}
    names = [n.output[0] for n in g.node if n.op_type == "ReduceMean" and n.output[0] in gemm_inputs]
    assert len(names) == 2, names
    return names


def delong(y, s):
    pos, neg = s[y == 1], s[y == 0]
    psi = (pos[:, None] > neg[None, :]).astype(float) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(1), psi.mean(0)
    auc = float(v10.mean())
    se = float(np.sqrt(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg)))
    return auc, [max(0.0, auc - Z95 * se), min(1.0, auc + Z95 * se)]


def detection(id_scores, ood_scores, thr, what):
    y = np.r_[np.zeros(len(id_scores)), np.ones(len(ood_scores))]
    auc, ci = delong(y, np.r_[id_scores, ood_scores])
    return {"set": what, "n": len(ood_scores), "auroc": auc, "auroc95DeLong": ci,
            "flagged": float((ood_scores > thr).mean()), "flaggedCount": int((ood_scores > thr).sum()),
            "scoreMedian": float(np.median(ood_scores))}


def main() -> None:
    for need in ("nih28.npy", "dicom28.npy", "pmnist28.npy", "nih.csv", "dicom.csv"):
        if not (CACHE / need).exists():
            sys.exit(f"{CACHE / need} missing: run `npx tsx models/cxr-pneumonia-adult/train/prepare.ts` first")
    original = onnx.load(str(MODEL))
    old_sha = hashlib.sha256(MODEL.read_bytes()).hexdigest()
    if any(o.name == "ood_score" for o in original.graph.output):
        sys.exit("model.onnx already has ood_score; restore the original graph first (git show HEAD~:models/pneumonia-cxr/model.onnx)")
    names = pooled_names(original.graph)
    tmp = Path(tempfile.mkdtemp(prefix="pneumonia-cxr-ood-"))
    try:
        # 1. the features, from the graph itself
        probe = onnx.load(str(MODEL))
        for nme in names:
            probe.graph.output.append(helper.make_tensor_value_info(nme, TensorProto.FLOAT, ["N", 128]))
        probe_path = tmp / "probe.onnx"
        onnx.save(probe, str(probe_path))

        def features(inp: str) -> np.ndarray:
            o = run(probe_path, inp, names, tmp)
            return np.concatenate([o[n] for n in names], axis=1).astype(np.float64)

        f_train = features(f"{NPZ}:train_images")
        f_val = features(f"{NPZ}:val_images")
        f_test = features(f"{NPZ}:test_images")
        lw = LedoitWolf().fit(f_train)
        mu, prec = lw.location_, lw.precision_

        def maha(f):
            d = f - mu
            return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", d, prec, d), 0))

        # 2. graph surgery: concat -> sub mean -> matmul precision -> mul -> reducesum -> sqrt
        g = onnx.load(str(MODEL))
        gr = g.graph
        gr.initializer.extend([
            numpy_helper.from_array(mu.astype(np.float32).reshape(1, -1), "ood_mean"),
            numpy_helper.from_array(prec.astype(np.float32), "ood_precision"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "ood_axes"),
            numpy_helper.from_array(np.array(0.0, dtype=np.float32), "ood_zero"),
        ])
        gr.node.extend([
            helper.make_node("Concat", names, ["/ood/features"], axis=1, name="/ood/Concat"),
            helper.make_node("Sub", ["/ood/features", "ood_mean"], ["/ood/centred"], name="/ood/Sub"),
            helper.make_node("MatMul", ["/ood/centred", "ood_precision"], ["/ood/projected"], name="/ood/MatMul"),
            helper.make_node("Mul", ["/ood/projected", "/ood/centred"], ["/ood/terms"], name="/ood/Mul"),
            helper.make_node("ReduceSum", ["/ood/terms", "ood_axes"], ["/ood/squared"], keepdims=1, name="/ood/ReduceSum"),
            helper.make_node("Max", ["/ood/squared", "ood_zero"], ["/ood/clamped"], name="/ood/Max"),
            helper.make_node("Sqrt", ["/ood/clamped"], ["ood_score"], name="/ood/Sqrt"),
        ])
        gr.output.append(helper.make_tensor_value_info("ood_score", TensorProto.FLOAT, ["N", 1]))
        g.doc_string = original.doc_string + (" ood_score: Mahalanobis distance of the members' pooled last-conv features "
                                               "from the PneumoniaMNIST train split (Ledoit-Wolf covariance); higher = more unusual.")
        onnx.checker.check_model(g, full_check=True)
        new_path = tmp / "model.onnx"
        onnx.save(g, str(new_path))

        # 3. the old outputs must be unchanged; ood_score must be what numpy computes
        old_val = run(MODEL, f"{NPZ}:val_images", ["probability", "heatmap"], tmp)
        new_val = run(new_path, f"{NPZ}:val_images", ["probability", "heatmap", "ood_score"], tmp)
        diff_p = float(np.abs(old_val["probability"] - new_val["probability"]).max())
        diff_h = float(np.abs(old_val["heatmap"] - new_val["heatmap"]).max())
        s_val = new_val["ood_score"][:, 0].astype(np.float64)
        diff_o = float((np.abs(s_val - maha(f_val)) / maha(f_val)).max())
        check = {"maxAbsDiffProbability": diff_p, "maxAbsDiffHeatmap": diff_h,
                 "bitIdentical": bool(np.array_equal(old_val["probability"], new_val["probability"]) and
                                      np.array_equal(old_val["heatmap"], new_val["heatmap"])),
                 "maxRelDiffOodVsNumpy": diff_o, "split": "official validation (524)"}
        print(json.dumps(check))
        if diff_p > 1e-6 or diff_h > 1e-6 or diff_o > 1e-3:
            sys.exit(f"new graph changes the old outputs or mis-computes ood_score: {check}; model.onnx left alone")

        # 4. threshold on val; figures
        thr = float(np.percentile(s_val, PERCENTILE))
        s_test = run(new_path, f"{NPZ}:test_images", ["ood_score"], tmp)["ood_score"][:, 0].astype(np.float64)
        s_pm_served = run(new_path, str(CACHE / "pmnist28.npy"), ["ood_score"], tmp)["ood_score"][:, 0].astype(np.float64)
        nih_rows = list(csv.DictReader(open(CACHE / "nih.csv")))
        s_nih_all = run(new_path, str(CACHE / "nih28.npy"), ["ood_score"], tmp)["ood_score"][:, 0].astype(np.float64)
        test_idx = [i for i, r in enumerate(nih_rows) if r["split"] == "test"]
        s_nih = s_nih_all[test_idx]
        dicom = list(csv.DictReader(open(CACHE / "dicom.csv")))
        s_dcm = run(new_path, str(CACHE / "dicom28.npy"), ["ood_score"], tmp)["ood_score"][:, 0].astype(np.float64)
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
                      "Ledoit-Wolf-shrunk covariance; computed inside the graph (Concat, Sub, MatMul, Mul, ReduceSum, Max 0, Sqrt); "
                      "added by graph surgery, weights unchanged",
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
            "adultNihTest": detection(s_test, s_nih, thr, "adult NIH ChestX-ray14 test split (130 films of nih-cxr14-pneumonia-1000), "
                                                          "preprocessImageFile(file, 'grey-square@1', [28, 28])"),
            "nonChestCtMrUs": detection(s_test, s_dcm[cmu], thr, "CT/MR/US greyscale DICOM frames, one per series, parseDicom -> decodeFrame "
                                                                  "-> grey-square@1 at 28 px"),
            "otherNonChest": detection(s_test, s_dcm[other], thr, "other decodable greyscale DICOM frames that are not frontal chest films "
                                                                   "(OT test patterns, XA, MG, NM, CR extremity/C-spine/dental)"),
            "frontalChestDicom": [{"file": dicom[i]["file"], "oodScore": float(s_dcm[i]), "flagged": bool(s_dcm[i] > thr)}
                                  for i in np.flatnonzero(chest)],
            "lateralChest": "none exists in ../shared/data (every DICOM searched for View Position LL/RL/LATERAL; only a lateral C-spine)",
        }
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
