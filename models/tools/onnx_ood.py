"""What the read-assist add_ood.py recipes (models/pneumonia-cxr, models/nih-cxr-abnormal) share:
running a graph in onnxruntime-node, reading the members' pooled penultimate features out of it,
the Mahalanobis head added to the graph by surgery (weights untouched), and the detection figures
(AUROC with a DeLong CI, share flagged above the threshold), the strata of the DICOM sets (also read
by models/cxr-pneumonia-adult's ood.py and evaluate.py), the first fields of ood.json, and the
run-and-install step.

Debian python3 with python3-onnx / numpy; imported by each train/add_ood.py after it puts
models/tools on sys.path. The graph is run by models/cxr-pneumonia-adult/train/run-onnx.ts
(Debian's Python has no onnxruntime).
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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.covariance import LedoitWolf

import evaluation_stats as es

REPO = Path(__file__).resolve().parent.parent.parent
RUNNER = REPO / "models" / "cxr-pneumonia-adult" / "train" / "run-onnx.ts"

HEAD_METHOD = ("computed inside the graph (Concat, Sub, MatMul, Mul, ReduceSum, Max 0, Sqrt); "
               "added by graph surgery, weights unchanged")


def run(model: Path, inp: str, outputs: list[str], tmp: Path) -> dict[str, np.ndarray]:
    """Run `model` with onnxruntime-node over `inp` (`file.npy` or `file.npz:key`, see run-onnx.ts)."""
    out_dir = Path(tempfile.mkdtemp(dir=tmp))
    env = dict(os.environ, ONNXRUNTIME_NODE_INSTALL="skip")
    r = subprocess.run(["npx", "--no-install", "tsx", str(RUNNER), str(model), inp, str(out_dir), *outputs],
                       cwd=REPO, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"run-onnx.ts failed:\n{r.stderr}")
    return {o: np.load(out_dir / f"{o.replace('/', '_')}.npy") for o in outputs}


def pooled_names(g: onnx.GraphProto, members: int) -> list[str]:
    """The members' GAP outputs: ReduceMean over (2,3) whose result feeds a member's fc Gemm."""
    gemm_inputs = {n.input[0] for n in g.node if n.op_type == "Gemm"}
    names = [n.output[0] for n in g.node if n.op_type == "ReduceMean" and n.output[0] in gemm_inputs]
    assert len(names) == members, names
    return names


def save_probe(model: Path, names: list[str], width: int, out: Path) -> Path:
    """A copy of `model` that also outputs the pooled features `names` ([N, width] each)."""
    probe = onnx.load(str(model))
    for nme in names:
        probe.graph.output.append(helper.make_tensor_value_info(nme, TensorProto.FLOAT, ["N", width]))
    onnx.save(probe, str(out))
    return out


def features(probe: Path, names: list[str], inp: str, tmp: Path) -> np.ndarray:
    """The concatenated pooled features of every image of `inp`, float64."""
    o = run(probe, inp, names, tmp)
    return np.concatenate([o[n] for n in names], axis=1).astype(np.float64)


def mahalanobis(f: np.ndarray, mu: np.ndarray, prec: np.ndarray) -> np.ndarray:
    d = f - mu
    return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", d, prec, d), 0))


def add_mahalanobis_head(model: onnx.ModelProto, names: list[str], mu: np.ndarray, prec: np.ndarray,
                         doc_suffix: str) -> onnx.ModelProto:
    """Append ood_score [N,1] = sqrt(max(0, (f - mu) P (f - mu)^T)), f = Concat(names) (in place; returns model).
    mu and P are stored as float32 initializers `ood_mean` [1,D] and `ood_precision` [D,D]."""
    gr = model.graph
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
    model.doc_string = model.doc_string + doc_suffix
    onnx.checker.check_model(model, full_check=True)
    return model


def compare_outputs(old: dict[str, np.ndarray], new: dict[str, np.ndarray], outputs: list[str]) -> dict:
    """Max |diff| of each old output (keys maxAbsDiff<Output>) and whether all are bit-identical."""
    out = {f"maxAbsDiff{o[0].upper()}{o[1:]}": float(np.abs(old[o] - new[o]).max()) for o in outputs}
    out["bitIdentical"] = bool(all(np.array_equal(old[o], new[o]) for o in outputs))
    return out


def detection(id_scores: np.ndarray, ood_scores: np.ndarray, thr: float, what: str) -> dict:
    """AUROC (DeLong CI) of the score separating `ood_scores` from `id_scores`, and the share above thr."""
    y = np.r_[np.zeros(len(id_scores)), np.ones(len(ood_scores))]
    auc, _, ci = es.auroc_ci(y, np.r_[id_scores, ood_scores])
    return {"set": what, "n": len(ood_scores), "auroc": auc, "auroc95DeLong": ci,
            "flagged": float((ood_scores > thr).mean()), "flaggedCount": int((ood_scores > thr).sum()),
            "scoreMedian": float(np.median(ood_scores))}


@dataclass
class Surgery:
    """The new graph (under tmp) and what the recipe reports about it."""
    path: Path
    names: list[str]
    location: np.ndarray
    precision: np.ndarray
    shrinkage: float
    train_scores: np.ndarray
    valid_scores: np.ndarray
    check: dict
    old_sha: str


def add_ood(source: Path, members: int, width: int, train: str, valid: str, doc: str, valid_name: str, tmp: Path) -> Surgery:
    """The Mahalanobis head on `source`'s members' pooled features, fitted (Ledoit-Wolf) on `train`;
    refuses (exits) unless `probability` and `heatmap` are unchanged on `valid` (max |diff| <= 1e-6)
    and the graph's ood_score is what numpy computes (relative difference <= 1e-3)."""
    names = pooled_names(onnx.load(str(source)).graph, members)
    # 1. the features, from the graph itself
    probe = save_probe(source, names, width, tmp / "probe.onnx")
    f_train = features(probe, names, train, tmp)
    f_val = features(probe, names, valid, tmp)
    lw = LedoitWolf().fit(f_train)
    mu, prec = lw.location_, lw.precision_
    # 2. graph surgery: concat -> sub mean -> matmul precision -> mul -> reducesum -> sqrt
    new_path = tmp / "model.onnx"
    onnx.save(add_mahalanobis_head(onnx.load(str(source)), names, mu, prec, doc), str(new_path))
    # 3. the old outputs must be unchanged; ood_score must be what numpy computes
    old_val = run(source, valid, ["probability", "heatmap"], tmp)
    new_val = run(new_path, valid, ["probability", "heatmap", "ood_score"], tmp)
    s_val = new_val["ood_score"][:, 0].astype(np.float64)
    expected = mahalanobis(f_val, mu, prec)
    check = compare_outputs(old_val, new_val, ["probability", "heatmap"])
    check["maxRelDiffOodVsNumpy"] = float((np.abs(s_val - expected) / expected).max())
    check["split"] = valid_name
    print(json.dumps(check))
    if check["maxAbsDiffProbability"] > 1e-6 or check["maxAbsDiffHeatmap"] > 1e-6 or check["maxRelDiffOodVsNumpy"] > 1e-3:
        sys.exit(f"new graph changes the old outputs or mis-computes ood_score: {check}; model.onnx left alone")
    return Surgery(new_path, names, mu, prec, float(lw.shrinkage_), mahalanobis(f_train, mu, prec), s_val, check,
                   hashlib.sha256(source.read_bytes()).hexdigest())


def scores(model: Path, inp: str, tmp: Path) -> np.ndarray:
    """The graph's ood_score for every image of `inp`, float64."""
    return run(model, inp, ["ood_score"], tmp)["ood_score"][:, 0].astype(np.float64)


def dicom_strata(dicom: list[dict]) -> dict[str, np.ndarray]:
    """The strata of prepare.ts's dicom.csv rows every OOD evaluation reports: `nonChestCtMrUs` (CT, MR,
    US), `frontalChest` (CR/DX, body part CHEST, view PA/AP: in distribution for an adult chest model)
    and `otherNonChest` (everything else), boolean masks; with the `modality`, `bodyPart` and `view`
    (upper-cased) columns they were read from."""
    mod = np.array([d["modality"] for d in dicom])
    part = np.array([d["body_part"].upper() for d in dicom])
    view = np.array([d["view_position"].upper() for d in dicom])
    cmu = np.isin(mod, ["CT", "MR", "US"])
    chest = np.isin(mod, ["CR", "DX"]) & (part == "CHEST") & np.isin(view, ["PA", "AP"])
    return {"modality": mod, "bodyPart": part, "view": view,
            "nonChestCtMrUs": cmu, "frontalChest": chest, "otherNonChest": ~cmu & ~chest}


def dicom_figures(dicom_csv: Path, dicom_npy: Path, model: Path, id_scores: np.ndarray, thr: float, px: int, tmp: Path) -> dict:
    """The shared DICOM sets (models/cxr-pneumonia-adult/train/prepare.ts's dicom.csv, one frame per
    series, prepared at `px`): CT/MR/US, other non-chest images, and each frontal chest film's score."""
    dicom = list(csv.DictReader(open(dicom_csv)))
    s_dcm = scores(model, str(dicom_npy), tmp)
    strata = dicom_strata(dicom)
    cmu, chest, other = strata["nonChestCtMrUs"], strata["frontalChest"], strata["otherNonChest"]
    return {
        "nonChestCtMrUs": detection(id_scores, s_dcm[cmu], thr, "CT/MR/US greyscale DICOM frames, one per series, parseDicom -> "
                                                               f"decodeFrame -> grey-square@1 at {px} px"),
        "otherNonChest": detection(id_scores, s_dcm[other], thr, "other decodable greyscale DICOM frames that are not frontal chest "
                                                                "films (OT test patterns, XA, MG, NM, CR extremity/C-spine/dental)"),
        "frontalChestDicom": [{"file": dicom[i]["file"], "oodScore": float(s_dcm[i]), "flagged": bool(s_dcm[i] > thr)}
                              for i in np.flatnonzero(chest)],
        "lateralChest": "none exists in ../shared/data (every DICOM searched for View Position LL/RL/LATERAL; only a lateral C-spine)",
    }


def result_head(model_id: str, method: str, sg: Surgery, thr: float, percentile: float, valid_split: str,
                test_scores: np.ndarray, served_scores: np.ndarray, served_note: str, **in_distribution) -> dict:
    """The first fields of every ood.json: what the score is, its threshold and the rule that chose it
    on validation, the fit and the surgery check, and the in-distribution rejections (valid, test, and
    the test images through the serving preprocessing, `served_note` saying how), then
    `in_distribution`'s extra fields."""
    s_val = sg.valid_scores
    return {
        "model": model_id,
        "output": "ood_score",
        "method": method + "; " + HEAD_METHOD,
        "threshold": thr,
        "thresholdRule": f"{percentile:g}th percentile (numpy linear interpolation) of ood_score on the {valid_split} (n={len(s_val)})",
        "ledoitWolfShrinkage": sg.shrinkage,
        "weightsSha256Before": sg.old_sha,
        "check": sg.check,
        "inDistribution": {
            "validRejected": float((s_val > thr).mean()), "validN": len(s_val),
            "testRejected": float((test_scores > thr).mean()), "testRejectedCount": int((test_scores > thr).sum()),
            "testN": len(test_scores),
            "testThroughServingPreprocessingRejected": float((served_scores > thr).mean()),
            "testThroughServingPreprocessingNote": served_note,
            "trainScoreMedian": float(np.median(sg.train_scores)), "validScoreMedian": float(np.median(s_val)),
            **in_distribution,
        },
    }


def run_recipe(model: Path, needs: list[Path], prepare: str, restore: str, build, report: tuple[str, ...]) -> dict:
    """What every add_ood.py does when run: refuse unless the arrays `needs` exist (else: run `prepare`)
    and `model` has no ood_score yet (`restore` says how to get its graph back), build(model, tmp) ->
    (new graph, ood.json fields), install both, print the `report` sets' figures. Returns the result."""
    for need in needs:
        if not need.exists():
            sys.exit(f"{need} missing: run `{prepare}` first")
    if any(o.name == "ood_score" for o in onnx.load(str(model)).graph.output):
        sys.exit(f"model.onnx already has ood_score; {restore}")
    tmp = Path(tempfile.mkdtemp(prefix=f"{model.parent.name}-ood-"))
    try:
        new_path, result = build(model, tmp)
        install(new_path, model, result)
        for k in report:
            print(k, {kk: result[k][kk] for kk in ("n", "auroc", "auroc95DeLong", "flagged")})
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def install(new_path: Path, model: Path, result: dict) -> dict:
    """Replace `model` with the checked graph and write <model dir>/evaluation/ood.json with its sha256."""
    shutil.copyfile(new_path, model)
    result["weightsSha256"] = hashlib.sha256(model.read_bytes()).hexdigest()
    (model.parent / "evaluation").mkdir(exist_ok=True)
    (model.parent / "evaluation" / "ood.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("threshold", "weightsSha256", "inDistribution")}, indent=1))
    return result
