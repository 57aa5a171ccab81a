#!/usr/bin/python3
"""Write models/cxr-pneumonia-adult/model.json from the recipe's outputs, so every number on the
card is the one the scripts computed (train/train-summary.json, evaluation/test-metrics.json,
evaluation/ood.json, evaluation/shortcuts.json). The prose lives here, next to the numbers it quotes.

    /usr/bin/python3 models/cxr-pneumonia-adult/train/card.py     # after train.py, evaluate.py, shortcuts.py
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import HERE, MODEL_DIR, sha256  # noqa: E402

EVAL = MODEL_DIR / "evaluation"

DRIVES_PRIORITY_NOTE = (
    "Shown to radiologists as an AI-assisted hint, but it does not move worklist priority. Its internal test AUROC (0.896) is mostly available without reading the lungs (a borders-only model reaches 0.827, global intensity statistics 0.796, the NIH follow-up index alone 0.73; the heatmaps peak in the border on 91 of 130 test films), the data are a 50/50 case-control selection with noisy text-mined labels, and it has not been tested on films from any other source. A triage order driven by a projection or marker detector would be noise. Set to true only after an external validation on consecutive adult films shows the ranking holds."
)

# Written after the serving decode became reduced (issue 16); the figures are in evaluation/metrics-under-reduction.md.
REDUCED_DECODE_LIMITATION = "Reduced decode: Lantern decodes a JPEG 2000 / HTJ2K film at the coarsest pyramid level that keeps at least 2x the model's 224 px (level 2 for a 1841x1955 CR) and box-averages other syntaxes alike; the card's figures were measured on full-resolution 320 px films. On the test split re-encoded as DICOM and upsampled 4x to 1280 px (so decoded at level 1), AUROC did not move (paired difference -0.0002, 95% CI -0.005 to 0.004) and PSI against full decode was 0.079 (stable), but JPEG 2000's reduced level raised probabilities by 0.019 on average (120 of 130 films higher, max 0.106; 2 calls flipped); box-averaged copies moved by at most 0.026 with no call flipped (evaluation/metrics-under-reduction.md). The upsampled copies hold no detail beyond 320 px, so this tests the decode filters, not what a coarser level drops from a real full-resolution film. A card that must see full resolution declares preprocessing.decode = \"full\"."
SERVED_PIXELS_NOTE = "2026-12-04: prepare.ts and evaluate.py re-run so the DICOM sets are decoded as the worker serves them (the chain's reduced resolution level, commit 2734692), not at full resolution; 4 of 52 frames changed, no flag flipped; threshold and graph unchanged (ood.py not re-run)"


def r4(v):
    return None if v is None else round(float(v), 4)


def ci(v):
    return [r4(v[0]), r4(v[1])]


def main() -> None:
    s = json.loads((HERE / "train-summary.json").read_text())
    m = json.loads((EVAL / "test-metrics.json").read_text())
    o = json.loads((EVAL / "ood.json").read_text())
    os_ = json.loads((HERE / "ood-summary.json").read_text())
    sc = json.loads((EVAL / "shortcuts.json").read_text())
    v = s["validation"]
    pi, pp = m["perImage"], m["perPatient"]
    op, opp = pi["operatingPoint"], pp["operatingPoint"]
    thr = v["threshold"]
    n_img, n_pat = pi["n"], pp["n"]
    split = f"test (patient-disjoint, n={n_img} images)"
    split_p = f"test (patient-disjoint, per patient, n={n_pat} patients)"
    boot = f"95% CI: percentile cluster bootstrap over the {pi['patients']} test patients ({pi['bootstrap']['reps']} resamples, seed {pi['bootstrap']['seed']})"
    band = v["referBand"]
    bt = pi["referBand"]["test"]
    bo, gs, occ = sc["bordersOnlyModel"], sc["globalStatisticsModel"], sc["occlusion"]
    ex = sc["expertRead"]
    fu = sc["followUpIndex"]
    cam = m["heatmapMass"]
    auc = pi["AUROC"]["value"]

    def a3(x):
        return f"{x:.3f}"

    def auc_txt(d):
        return f"{d['value']:.3f} (95% CI {d['ci95ClusterBootstrap'][0]:.3f}-{d['ci95ClusterBootstrap'][1]:.3f})"

    shortcut_summary = (
        f"Much of the test AUROC ({auc:.3f}) is available without reading the lungs' centre. A model trained the same way on "
        f"films whose inner 70% square was blanked (only the outer 15% frame: shoulders, neck, lateral chest wall, lung apices and "
        f"costophrenic angles, markers, collimation) reaches test AUROC {auc_txt(bo['testAUROC'])}; a logistic regression on "
        f"global intensity statistics of the raw PNG (32-bin histogram, mean, std, percentiles; no spatial information at all) "
        f"reaches {auc_txt(gs['testAUROC'])}. Replacing the centre of the test films with their mean grey lowers the shipped "
        f"model's AUROC to {occ['centreOccluded']['value']:.3f}, replacing the frame lowers it to {occ['borderOccluded']['value']:.3f}: "
        f"it uses both. The class-activation maps put {cam['meanCentreShare']:.0%} of their mass in the centre region that "
        f"covers {cam['uniformCentreShare']:.0%} of the image (no concentration on the lungs) and peak in the outer frame on "
        f"{cam['filmsWithPeakInBorder']} of {n_img} test films. On the {ex['n']} films an expert panel also read "
        f"({ex['bySplit']['train']} of them training films), the model's score follows the NIH label (AUROC "
        f"{ex['modelAUROC']['vsNihLabel_all39']:.2f}) far more than the experts' airspace-opacity call "
        f"({ex['modelAUROC']['vsExpertOpacity_all39']:.2f}); NIH 'Pneumonia' films without expert opacity score higher "
        f"(mean {ex['meanProbability']['nih1_exp0']:.2f}) than those with it ({ex['meanProbability']['nih1_exp1']:.2f}). "
        f"Metadata alone carries signal too: the NIH follow-up index (how many earlier NIH films the patient had) ranks "
        f"the test films with AUROC {fu['testAUROC']['value']:.2f} (valid {fu['validAUROC']:.2f}), though the model's "
        f"scores correlate only weakly with it (Spearman {fu['spearmanWithModelLogitTest']:.2f}). "
        "Conclusion: the reported AUROC may largely reflect shortcuts (exposure and contrast, projection and positioning, "
        "patient habitus, devices, markers) that separate NIH's 'Pneumonia' films from its 'No Finding' films, not the "
        "radiographic sign of pneumonia; the figures are an upper bound on what the model does on a real worklist."
    )

    card = {
        "schemaVersion": 1,
        "id": "cxr-pneumonia-adult",
        "version": "1.0.0",
        "task": "read-assist",
        "title": "Pneumonia on adult frontal chest radiographs (NIH ChestX-ray14, 224 px)",
        "titleZh": "成人正位胸片肺炎提示（NIH ChestX-ray14，224 像素）",
        # How Lantern runs this version (inference/deployment.ts), not an output of the recipe.
        "deployment": "clinical",
        # Lantern's decision after reading the shortcut analysis, not an output of the recipe.
        "drivesPriority": False,
        "drivesPriorityNote": DRIVES_PRIORITY_NOTE,
        "modalities": ["CR", "DX"],
        "population": {
            "description": "Adults (18 years and over), frontal (PA/AP) chest radiographs, CR/DX",
            "descriptionZh": "成人（18 岁及以上）正位（后前位/前后位）胸部 X 线片，CR/DX",
            "bodyParts": ["CHEST", "THORAX"],
            "views": ["PA", "AP"],
            "ageYears": [18, 100],
            "photometric": ["MONOCHROME1", "MONOCHROME2"],
            "minBitsStored": 8,
            "excludedImageTypes": ["LOCALIZER"],
            "whenMissing": {"age": "run-flagged", "view": "run-flagged", "bodyPart": "run-flagged", "sex": "run-flagged"},
        },
        "outOfDistribution": {
            "output": "ood_score",
            "threshold": r4(os_["threshold"]),
            "method": ("Multi-depth Mahalanobis score computed inside the graph (after Lee et al. 2018), classifier weights "
                       "unchanged. Six stages: (1) input sharpness = log mean |3x3 Laplacian| of the 224-px input at 224, 112 and "
                       "56 px (a fixed filter, not a learned layer); (2-6) the network's feature maps after the first and second "
                       "stem convolutions (16 ch at 112 px, 32 ch at 56 px) and after the residual blocks at 28, 14 and 7 px (64, "
                       "128, 256 ch), each global-average-pooled. Per stage: Mahalanobis distance from the "
                       f"{s['trainSplit']['n']} un-augmented training films (mean + Ledoit-Wolf covariance), standardised as "
                       "(d - median) / (IQR/1.349) using the training films' 5-fold out-of-fold distances. ood_score = the maximum "
                       "of the six standardised distances; higher = more unusual. Above the threshold the finding is not applicable. "
                       "Pooling (mean vs mean+std), combination (max vs sum) and the sharpness stage were chosen on a TUNING half of "
                       "each OOD set (random half of PneumoniaMNIST; DICOM series grouped by patient folder / test-pattern family); "
                       "the figures below are on the other REPORT half. Without the sharpness stage the network stages flag almost "
                       "no paediatric film (1% on the tuning half): what catches PneumoniaMNIST is the blur of a 28-px image "
                       "upsampled to 224, not child anatomy."),
            "thresholdRule": o["thresholdRule"] + " (the percentile was fixed before any OOD set was scored)",
            "evaluation": {
                "referenceForAUROC": o["referenceForAUROC"],
                "reportedOn": o["reportedOn"],
                "inDistribution": {"validRejected": r4(o["inDistribution"]["validRejected"]), "validN": o["inDistribution"]["validN"],
                                   "testRejected": r4(o["inDistribution"]["testRejected"]), "testN": o["inDistribution"]["testN"]},
                "paediatric": {"set": o["paediatric"]["set"], "n": o["paediatric"]["n"], "auroc": r4(o["paediatric"]["auroc"]),
                               "auroc95": ci(o["paediatric"]["auroc95"]), "flagged": r4(o["paediatric"]["flagged"]),
                               "fullSetFlagged": r4(o["paediatric"]["fullSet"]["flagged"]),
                               "caveat": ("PneumoniaMNIST films are 28 px upsampled to 224: the score flags their blur / missing "
                                          "resolution (the sharpness stage), not child anatomy. A real paediatric film at full "
                                          "resolution may well pass; the population check's age >= 18 from the DICOM header is "
                                          "what keeps children with a recorded age out.")},
                "nonChestCtMrUs": {"set": o["nonChestCtMrUs"]["set"], "n": o["nonChestCtMrUs"]["n"], "auroc": r4(o["nonChestCtMrUs"]["auroc"]),
                                   "auroc95": ci(o["nonChestCtMrUs"]["auroc95"]), "flagged": r4(o["nonChestCtMrUs"]["flagged"]),
                                   "fullSetFlagged": r4(o["nonChestCtMrUs"]["fullSet"]["flagged"]),
                                   "byModality": o["nonChestCtMrUs"]["byModality"]},
                "otherNonChest": {"set": o["otherNonChest"]["set"], "n": o["otherNonChest"]["n"], "auroc": r4(o["otherNonChest"]["auroc"]),
                                  "auroc95": ci(o["otherNonChest"]["auroc95"]), "flagged": r4(o["otherNonChest"]["flagged"]),
                                  "fullSetFlagged": r4(o["otherNonChest"]["fullSet"]["flagged"])},
                "aurocCiNote": ("DeLong intervals collapse to [1, 1] when the separation is perfect; with 11-312 OOD images "
                                "and 130 ID films they do not show the real uncertainty"),
                "namedDicom": [{"file": f["file"], "what": f"{f['modality']} {f['bodyPart']} {f['view']}, {f['rows']} rows",
                                "oodScore": r4(f["oodScore"]), "flagged": f["flagged"]} for f in o["namedDicom"]],
                "lateralChest": o["lateralChest"],
                "frontalChestDicom": {"note": o["frontalChestDicom"]["note"],
                                      "flagged": sum(f["flagged"] for f in o["frontalChestDicom"]["files"]),
                                      "n": len(o["frontalChestDicom"]["files"]),
                                      "scores": [r4(f["oodScore"]) for f in o["frontalChestDicom"]["files"]]},
                "thresholdSweep": [{k: r4(x) for k, x in row.items()} for row in o["thresholdSweep"]["rows"]],
                "thresholdSweepNote": o["thresholdSweep"]["note"],
                "details": "evaluation/ood.json, evaluation/ood-histograms.png, train/ood-summary.json (recipe train/ood.py, design comparison)",
                "servedPixels": SERVED_PIXELS_NOTE,
            },
        },
        "weights": {"file": "model.onnx", "sha256": sha256(MODEL_DIR / "model.onnx")},
        "inputs": [{"name": "image", "dtype": "float32", "shape": [-1, 1, 224, 224],
                    "units": "display grey level from grey-square@1, 0 = black, 1 = white (bone bright)", "range": [0, 1]}],
        "outputs": [
            {"name": "probability", "dtype": "float32", "shape": [-1, 1], "range": [0, 1]},
            {"name": "heatmap", "dtype": "float32", "shape": [-1, 1, 28, 28], "range": [0, 1]},
            {"name": "ood_score", "dtype": "float32", "shape": [-1, 1],
             "units": "max over 6 stages of the robust-standardised Mahalanobis distance from the training films (dimensionless; ~0 typical, higher = more unusual)"},
        ],
        "labels": [{"id": "pneumonia", "display": "Pneumonia", "displayZh": "肺炎", "output": "probability", "index": 0,
                    "heatmapOutput": "heatmap"}],
        "preprocessing": {"id": "grey-square", "version": "1", "size": [224, 224], "steps": [
            {"step": "modality-values@1"}, {"step": "window@1", "method": "dicom-voi-or-percentile"},
            {"step": "photometric@1", "to": "monochrome2"}, {"step": "crop@1", "method": "centre-square"},
            {"step": "resize@1", "kernel": "lanczos3"}, {"step": "channels@1", "count": 1}, {"step": "normalise@1", "scale": [0, 1]}]},
        "operatingPoints": [{
            "label": "pneumonia", "name": "sensitivity-0.90", "threshold": thr,
            "rule": f"highest threshold with sensitivity >= 0.90 on the valid split (n={s['validSplit']['n']}, "
                    f"{s['validSplit']['pneumonia']} pneumonia); positive when p >= threshold",
            "validation": {"sensitivity": r4(v["sensitivity"]), "specificity": r4(v["specificity"])},
        }],
        "referBands": [{
            "label": "pneumonia", "low": r4(band["low"]), "high": r4(band["high"]),
            "rule": (f"chosen on the valid split (n={s['validSplit']['n']}, {s['validSplit']['pneumonia'] / s['validSplit']['n']:.0%} pneumonia): "
                     "low = the largest cut <= the operating threshold such that the >= 10 valid films below it have NPV >= target "
                     "(0 if none); high = the smallest cut >= the operating threshold such that the >= 10 valid films at or above "
                     "it have PPV >= target (1 if none); cuts are midpoints between adjacent valid probabilities. Target 0.95, to be "
                     "lowered to 0.90, 0.85, 0.80 in turn if 0.95 were unreachable on either side; "
                     f"{v['referTarget']:.2f} was reachable. p < low: negative hint; p >= high: positive hint; otherwise refer."),
        }],
        "referBandEffect": {
            "split": split,
            "referredFraction": r4(bt["referredFraction"]),
            "accuracyOutside": r4(bt["accuracyOutside"]), "accuracyOutsideCi95": ci(bt["accuracyOutsideCi95"]),
            "outside": bt["outside"], "npvBelowLow": r4(bt["npv"]), "ppvAtOrAboveHigh": r4(bt["ppv"]),
            "validationReferredFraction": r4(v["referEffect"]["referredFraction"]),
            "validationAccuracyOutside": r4(v["referEffect"]["accuracyOutside"]),
        },
        "calibration": {
            "method": ("Platt scaling: probability = sigmoid(scale * logit + bias), both fitted on the valid split (NLL); the "
                       "class-balanced training loss and the 50% prevalence of the data make the output calibrated to ~50% "
                       "prevalence, not to a real worklist"),
            "scale": r4(v["platt"]["scale"]), "bias": r4(v["platt"]["bias"]),
            "validation": {"eceBefore": r4(v["eceBefore"]), "eceAfter": r4(v["eceAfter"])},
            "test": {"eceBefore": r4(pi["ECE"]["uncalibrated"]), "eceAfter": r4(pi["ECE"]["value"]),
                     "brierBefore": r4(pi["Brier"]["uncalibrated"]), "brierAfter": r4(pi["Brier"]["value"])},
        },
        "intendedUse": ("Triage hint for a radiologist reading adult frontal (PA/AP) chest radiographs: a probability that the "
                        "film is of the kind NIH labelled 'Pneumonia' rather than 'No Finding', with a coarse class-activation "
                        "heatmap, used to move likely-positive studies up the reading worklist. The radiologist reads every "
                        "study regardless; the output is not a diagnosis and must not be used to rule pneumonia in or out, or to "
                        "defer or skip a read."),
        "limitations": [
            REDUCED_DECODE_LIMITATION,
            ("Noisy labels: NIH's labels were text-mined from reports. Of the 21 NIH 'Pneumonia' films that Google's expert "
             "panel (Majkowska et al. 2020) also read, only 11 had airspace opacity; of 18 'No Finding' films, 2 had it "
             "(69% agreement). Roughly half the positive training labels may lack the radiographic sign the model is meant to find."),
            ("Case-control selection: the data are 500 'Pneumonia' and 500 'No Finding' films (Ozturk et al. 2020). Every "
             "other finding (effusion, atelectasis, cardiomegaly, tubes and lines, masses) was excluded from the negatives, "
             "and prevalence is 50%. On a real worklist most films have some other finding and pneumonia is far rarer: "
             "specificity and PPV will be lower than reported, and the probability will over-state risk (treat it as a ranking score)."),
            ("Shortcuts: " + shortcut_summary),
            (f"Small test set: {n_img} films from {n_pat} patients; the 95% CIs are wide (per-image AUROC "
             f"{pi['AUROC']['ci95ClusterBootstrap'][0]:.2f}-{pi['AUROC']['ci95ClusterBootstrap'][1]:.2f}). The operating point "
             f"chosen for sensitivity 0.90 on valid gave sensitivity {op['sensitivity']['value']:.2f} on test."),
            ("Single institution (NIH Clinical Center, Bethesda), images from 1992-2015; not externally validated, not "
             "validated prospectively; not a medical device."),
            ("Resolution: the source films were downscaled from 1024 to 320 px (8-bit) before they reached us and are seen "
             "at 224 px; served DICOMs are downscaled from full resolution by the same grey-square@1 step, so noise and "
             "sharpness differ from training. Subtle opacities are not visible at this size."),
            ("No age or view metadata for the training films: a few per cent are probably children (the 39 expert-read films "
             "include a 9-year-old) and PA and AP (portable) films are mixed (28 AP / 11 PA among those 39). Lantern's "
             "population check (age >= 18, PA/AP, chest, CR/DX) is applied to DICOM headers at serving time; when the "
             "header lacks age, view or body part the model still runs and the finding is flagged."),
            (f"Trained from scratch (no pretrained weights) on {s['trainSplit']['n']} films: a small CNN "
             f"({s['parameters'] / 1e6:.2f} M parameters) that has seen little variety."),
            (f"The out-of-distribution score flagged, on the report halves, {o['paediatric']['flagged']:.0%} of paediatric films, "
             f"{o['nonChestCtMrUs']['flagged']:.0%} of CT/MR/US and {o['otherNonChest']['flagged']:.0%} of other non-chest DICOM "
             f"(full sets incl. the tuning halves: {o['paediatric']['fullSet']['flagged']:.0%}, "
             f"{o['nonChestCtMrUs']['fullSet']['flagged']:.0%}, {o['otherNonChest']['fullSet']['flagged']:.0%}), rejecting "
             f"{o['inDistribution']['validRejected']:.1%} of valid and {o['inDistribution']['testRejected']:.1%} of test films. "
             "But the paediatric films are 28-px PneumoniaMNIST images upsampled to 224: the score catches their blur (the "
             "input-sharpness stage), not child anatomy; the network stages alone flag about 1%. A full-resolution paediatric "
             "film would probably pass, so the OOD score is no substitute for the population check (age >= 18 from the header). "
             "By the same token a soft or blurred adult film may be rejected: the 440-px adult chest CR in the DICOM corpora "
             f"scores {o['frontalChestDicom']['files'][0]['oodScore']:.1f} against the threshold {o['threshold']:.1f} (valid 97.5th "
             "percentile territory), and the design was chosen with these two chest CRs in view. The OOD sets are small "
             "test-corpus images (the DICOM ones partly 16-32 px thumbnails or test patterns), and no lateral chest film was "
             "available (the only lateral film is a 16-px C-spine thumbnail, flagged)."),
            ("The heatmap is a class-activation map on a 7x7 grid, upsampled to 28x28 and min-max normalised per image: it "
             "always has a hot spot, even when the probability is low; it marks coarse regions that raised the score, not "
             "lesions, and often lights up the shoulders, neck or film edge."),
            (f"Probabilities are Platt-calibrated on {s['validSplit']['n']} valid films (test ECE {pi['ECE']['value']:.3f}); "
             f"the refer band (NPV/PPV >= {v['referTarget']:.2f} on valid) referred {bt['referredFraction']:.0%} of test films "
             f"and gave NPV {bt['npv']:.2f} / PPV {bt['ppv']:.2f} on test: the hint outside the band is less reliable than "
             "its validation figures suggest."),
        ],
        "trainingData": {
            "name": "NIH ChestX-ray14: 1,000 adult frontal films, 'Pneumonia' vs 'No Finding' (nih-cxr14-pneumonia-1000)",
            "source": ("NIH Clinical Center ChestX-ray14, https://nihcc.app.box.com/v/ChestXray-NIHCC; the 500 'Pneumonia' and "
                       "500 'No Finding' films selected by Ozturk et al. 2020 (GitHub muhammedtalo/COVID-19 commit "
                       "ee3e2cffc0824711bed675275506b26f19be7198), converted to 8-bit grey and resized to 320 px; "
                       "../shared/data/images/nih-cxr14-pneumonia-1000 (PROVENANCE.md, labels.csv)"),
            "licence": "NIH: no restrictions on use; cite and acknowledge",
            "acknowledgement": "Data provided by the NIH Clinical Center (https://nihcc.app.box.com/v/ChestXray-NIHCC).",
            "citation": ("Wang X, Peng Y, Lu L, Lu Z, Bagheri M, Summers RM. ChestX-ray8: Hospital-scale Chest X-ray Database and "
                         "Benchmarks on Weakly-Supervised Classification and Localization of Common Thorax Diseases. IEEE CVPR "
                         "2017. Selection: Ozturk T, Talo M, Yildirim EA, Baloglu UB, Yildirim O, Acharya UR. Automated detection "
                         "of COVID-19 cases using deep neural networks with X-ray images. Computers in Biology and Medicine 121, "
                         "103792 (2020), doi:10.1016/j.compbiomed.2020.103792. Expert labels (39 films): Majkowska A, Mittal S, "
                         "Steiner DF, et al. Chest Radiograph Interpretation with Deep Learning Models. Radiology 294(2):421-431 (2020)."),
            "trainSplit": f"train: {s['trainSplit']['n']} films ({s['trainSplit']['pneumonia']} pneumonia); weights, pixel statistics, OOD feature distribution",
            "validationSplit": f"valid: {s['validSplit']['n']} films ({s['validSplit']['pneumonia']} pneumonia); epoch, calibration, operating point, refer band, OOD threshold",
            "testSplit": f"test: {n_img} films ({pi['positives']} pneumonia) from {n_pat} patients; read once by evaluate.py",
            "splits": "patient-disjoint (seed 20240601, set by the dataset's labels.csv); no valid/test patient is in the older nih-cxr14-1000-64px set",
        },
        "metrics": [
            {"name": "AUROC", "split": split, "value": r4(auc), "ci95": ci(pi["AUROC"]["ci95ClusterBootstrap"]),
             "method": f"Mann-Whitney AUROC per image; {boot}", "n": n_img},
            {"name": "accuracy@operating-point", "split": split, "value": r4(op["accuracy"]["value"]),
             "ci95": ci(op["accuracy"]["ci95ClusterBootstrap"]),
             "method": f"p >= {thr:.4f} (sensitivity-0.90, chosen on valid), per image; {boot}; Wilson "
                       f"{ci(op['accuracy']['ci95Wilson'])}", "n": op["accuracy"]["n"]},
            {"name": "sensitivity@operating-point", "split": split, "value": r4(op["sensitivity"]["value"]),
             "ci95": ci(op["sensitivity"]["ci95ClusterBootstrap"]),
             "method": f"p >= {thr:.4f}, per image, n = pneumonia films; {boot}; Wilson {ci(op['sensitivity']['ci95Wilson'])}",
             "n": op["sensitivity"]["n"]},
            {"name": "specificity@operating-point", "split": split, "value": r4(op["specificity"]["value"]),
             "ci95": ci(op["specificity"]["ci95ClusterBootstrap"]),
             "method": f"p >= {thr:.4f}, per image, n = No Finding films; {boot}; Wilson {ci(op['specificity']['ci95Wilson'])}",
             "n": op["specificity"]["n"]},
            {"name": "ECE", "split": split, "value": r4(pi["ECE"]["value"]), "ci95": ci(pi["ECE"]["ci95ClusterBootstrap"]),
             "method": f"10 equal-width bins, per image; {boot}", "n": n_img},
            {"name": "Brier", "split": split, "value": r4(pi["Brier"]["value"]), "ci95": ci(pi["Brier"]["ci95ClusterBootstrap"]),
             "method": f"mean squared error of the probability, per image; {boot}", "n": n_img},
            {"name": "AUROC (per patient)", "split": split_p, "value": r4(pp["AUROC"]["value"]), "ci95": ci(pp["AUROC"]["ci95DeLong"]),
             "method": f"{pp['rule']}; Mann-Whitney AUROC, 95% CI DeLong 1988", "n": n_pat},
            {"name": "accuracy@operating-point (per patient)", "split": split_p, "value": r4(opp["accuracy"]["value"]),
             "ci95": ci(opp["accuracy"]["ci95Wilson"]), "method": f"patient max p >= {thr:.4f}; Wilson score 95% interval", "n": n_pat},
            {"name": "sensitivity@operating-point (per patient)", "split": split_p, "value": r4(opp["sensitivity"]["value"]),
             "ci95": ci(opp["sensitivity"]["ci95Wilson"]), "method": f"patient max p >= {thr:.4f}; Wilson; n = patients with a pneumonia film",
             "n": opp["sensitivity"]["n"]},
            {"name": "specificity@operating-point (per patient)", "split": split_p, "value": r4(opp["specificity"]["value"]),
             "ci95": ci(opp["specificity"]["ci95Wilson"]), "method": f"patient max p >= {thr:.4f}; Wilson; n = patients without one",
             "n": opp["specificity"]["n"]},
        ],
        "shortcuts": {
            "summary": shortcut_summary,
            "mainModelTestAUROC": {"value": r4(auc), "ci95": ci(pi["AUROC"]["ci95ClusterBootstrap"])},
            "bordersOnlyModelTestAUROC": {"value": r4(bo["testAUROC"]["value"]), "ci95": ci(bo["testAUROC"]["ci95ClusterBootstrap"]),
                                          "validAUROC": r4(bo["validAUROC"])},
            "globalStatisticsModelTestAUROC": {"value": r4(gs["testAUROC"]["value"]), "ci95": ci(gs["testAUROC"]["ci95ClusterBootstrap"]),
                                               "validAUROC": r4(gs["validAUROC"])},
            "occlusionTestAUROC": {"centreOccluded": r4(occ["centreOccluded"]["value"]), "centreOccludedCi95": ci(occ["centreOccluded"]["ci95ClusterBootstrap"]),
                                   "borderOccluded": r4(occ["borderOccluded"]["value"]), "borderOccludedCi95": ci(occ["borderOccluded"]["ci95ClusterBootstrap"])},
            "followUpIndexTestAUROC": {"value": r4(fu["testAUROC"]["value"]), "ci95": ci(fu["testAUROC"]["ci95ClusterBootstrap"]),
                                       "validAUROC": r4(fu["validAUROC"])},
            "expertRead": {"n": ex["n"], "heldOut": ex["bySplit"]["valid"] + ex["bySplit"]["test"], "nihVsExpert": ex["nihVsExpert"],
                           "modelAUROCvsNihLabel": r4(ex["modelAUROC"]["vsNihLabel_all39"]),
                           "modelAUROCvsExpertOpacity": r4(ex["modelAUROC"]["vsExpertOpacity_all39"]),
                           "view": ex["view"], "note": ex["modelAUROC"]["note"]},
            "details": "evaluation/shortcuts.json (recipe: train/shortcuts.py)",
        },
        "heatmaps": {
            "file": "evaluation/heatmaps.png",
            "selection": "16 test films: the first 4 by file name in each cell of the confusion matrix at the operating point (TP, FN, FP, TN)",
            "shows": (f"Diffuse maps: across the test set the CAM puts {cam['meanCentreShare']:.0%} of its mass in the central "
                      f"{cam['uniformCentreShare']:.0%} of the image (what a uniform map would) and peaks in the outer 15% frame "
                      f"on {cam['filmsWithPeakInBorder']} of {n_img} films; on some true positives it lights up a lung zone, on "
                      "many films the shoulders, neck, axillae or film edge. The maps do not show that the score comes from "
                      "the lungs."),
        },
        "aiAssisted": "AI-assisted finding: for a clinician to confirm or override; not a diagnosis.",
        "evaluation": {
            "metricsSplit": split,
            "dataset": {"kind": "image-csv", "path": "images/nih-cxr14-pneumonia-1000/labels.csv", "fileColumn": "file",
                        "labelColumn": "label", "patientColumn": "patient_id", "splitColumn": "split", "split": "test"},
            "label": "pneumonia",
            "recipe": "/usr/bin/python3 models/cxr-pneumonia-adult/train/evaluate.py",
            "predictions": "evaluation/test-predictions.csv",
        },
    }
    (MODEL_DIR / "model.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {MODEL_DIR / 'model.json'}")


if __name__ == "__main__":
    sys.exit(main())
