"""The card (model.json) of models/diabetes-pima: the words live here, every number comes
from train.py's fit and test evaluation. Imported by train.py; not run on its own."""
from __future__ import annotations

MMOL_TO_MGDL_GLUCOSE = 18.016  # mg/dL per mmol/L for glucose (molar mass 180.16 g/mol)

# CSV column -> card feature (everything the selection could have chosen).
FEATURES = {
    "npreg": {
        "name": "pregnancies", "display": "Number of pregnancies", "displayZh": "怀孕次数", "kind": "number",
        "unit": "count", "accept": [0, 30],
        "help": "Times pregnant (live births and other pregnancies).",
    },
    "glu": {
        "name": "glucose2hOgtt", "display": "Plasma glucose, 2 h after a 75 g oral glucose load (OGTT)",
        "displayZh": "血糖（口服葡萄糖耐量试验 2 小时）", "kind": "number",
        "unit": "mg/dL", "units": {"mg/dL": {"factor": 1}, "mmol/L": {"factor": MMOL_TO_MGDL_GLUCOSE}},
        "accept": [20, 800],
        "help": "The 2-hour value of an oral glucose tolerance test (plasma glucose 2 h after the glucose drink), "
                "NOT a fasting or random glucose and not HbA1c. mg/dL or mmol/L (1 mmol/L = 18.016 mg/dL). "
                "A 2-hour value >= 200 mg/dL (11.1 mmol/L) already meets the WHO/ADA diagnostic threshold for "
                "diabetes: confirm the diagnosis instead of estimating a risk (such values are also outside the "
                "training range and are flagged).",
    },
    "bp": {
        "name": "diastolicBp", "display": "Diastolic blood pressure", "displayZh": "舒张压", "kind": "number",
        "unit": "mmHg", "accept": [20, 160],
    },
    "skin": {
        "name": "tricepsSkinfold", "display": "Triceps skinfold thickness", "displayZh": "皮褶厚度（肱三头肌）", "kind": "number",
        "unit": "mm", "units": {"mm": {"factor": 1}, "cm": {"factor": 10}}, "accept": [2, 120],
    },
    "bmi": {
        "name": "bmi", "display": "Body-mass index", "displayZh": "体重指数（BMI）", "kind": "number",
        "unit": "kg/m2", "accept": [10, 90], "help": "Weight in kg divided by height in m squared.",
    },
    "ped": {
        "name": "diabetesPedigree", "display": "Diabetes pedigree function", "displayZh": "糖尿病家系函数", "kind": "number",
        "unit": "score", "accept": [0, 3],
        "help": "Smith et al. 1988's family-history score (relatives with diabetes, weighted by kinship and age at onset).",
    },
    "age": {
        "name": "age", "display": "Age", "displayZh": "年龄", "kind": "number",
        "unit": "years", "accept": [10, 120],
    },
}

SEX = {
    "name": "sex", "display": "Sex", "displayZh": "性别", "kind": "enum",
    "values": ["female", "male"], "validatedValues": ["female"], "encoding": {"female": 0, "male": 1},
    "required": False, "default": "female",
    "help": "The model was derived on women only (Pima Indian women aged 21 or more). Give the sex so that an answer "
            "for a man is flagged as outside the validated population; it does not change the risk (the graph gives it "
            "weight 0). When omitted, female is assumed.",
}


def r4(v: float) -> float:
    return round(float(v), 4)


def card(summary: dict, m: dict, names: list[str], ranges: dict, split: str) -> dict:
    features = []
    for n in names:
        f = dict(FEATURES[n])
        f["validated"] = ranges[n]
        features.append(f)
    features.append(SEX)
    cal = summary["calibration"]
    sel = summary["selection"]
    n = m["counts"]["n"]
    th = m["thresholds"]
    term_names = [FEATURES[c]["name"] for c in names]
    display = {FEATURES[c]["name"]: FEATURES[c] for c in names}

    def metric(name: str, value: float, ci: list[float], method: str, count: int = n) -> dict:
        return {"name": name, "split": split, "value": r4(value), "ci95": [r4(ci[0]), r4(ci[1])], "method": method, "n": count}

    def prop(key: str, t: str, what: str) -> dict:
        x = th[t][key]
        return metric(f"{key}@{t}", x["value"], x["ci95"], f"risk >= {t} counted positive ({what}); Wilson score 95% interval; n = {'diabetes' if key == 'sensitivity' else 'no-diabetes'} rows", x["n"])

    coef_lines = ", ".join(f"{FEATURES[c]['name']} {b:+.3f}/SD (per unit {u:+.4f})"
                           for c, b, u in zip(names, cal["coefficientsStandardised"], cal["coefficientsPerUnit"]))
    return {
        "schemaVersion": 1,
        "id": "diabetes-pima",
        "version": "1.0.0",
        "task": "risk",
        "title": "Diabetes risk (logistic regression, Pima Indians Diabetes data)",
        "titleZh": "糖尿病风险（逻辑回归，皮马印第安人糖尿病数据）",
        "outcome": "Diabetes by WHO criteria as labelled in the NIDDK Pima Indian study (the MASS `type` column). "
                   "Smith et al. 1988 describe the label as diabetes diagnosed within 5 years of the examination; "
                   "MASS documents it as tested for diabetes by WHO criteria. The time frame is not precise.",
        "horizon": "as labelled in the source study (diabetes at or within about 5 years of the examination)",
        "population": "Women of Pima Indian heritage aged 21 or more, living near Phoenix, Arizona, USA, examined by the "
                      "NIDDK in the 1960s-1980s. NOT validated for men, for children, for pregnant women, or for any other "
                      "population or ethnicity (including Chinese primary care): answers for them are extrapolations.",
        "intendedUse": "A teaching and benchmark-grade estimate of the probability of diabetes for an adult woman from a "
                       "2-hour OGTT glucose, BMI and age, with the reasons, to support (never replace) a clinician's "
                       "judgement about follow-up testing. It is not a diagnostic test and not a screening tool "
                       "validated for clinical use.",
        "limitations": [
            "Single population: 532 Pima Indian women (200 train, 332 test) from one community in Arizona. Diabetes "
            "prevalence in this cohort (about 33%) is far higher than in most populations, so absolute risks will be "
            "too high elsewhere even if the ranking holds. Not validated for men, other ethnicities (including Chinese "
            "patients), children or pregnancy.",
            "Old and small: examinations from the 1960s-1980s; only 68 diabetes cases in the 200-row training split, so "
            "coefficients are imprecise and the test CIs are wide.",
            "Missing values: the Ripley/MASS version keeps only complete cases (rows with an impossible zero for glucose, "
            "blood pressure, skinfold or BMI were dropped, and serum insulin was removed). Women with missing "
            "measurements may differ systematically; the model needs every input and cannot handle a missing one.",
            "Incorporation bias: the 2-hour OGTT glucose is itself a diagnostic criterion for diabetes, so part of the "
            "discrimination is the label re-read from its own test. A 2-hour glucose >= 200 mg/dL (11.1 mmol/L) is "
            "already diagnostic and lies outside the training range (max 199 mg/dL).",
            "Needs an OGTT: fasting glucose, random glucose or HbA1c are different measurements and must not be entered "
            "as the 2-hour value.",
            "Outcome definition: the label's time frame (diabetes at, or within about 5 years of, the examination) is "
            "not documented precisely in the sources.",
            "Contributions are relative to the training-set mean woman (about 32 years old, BMI 32, 2-hour glucose "
            "124 mg/dL), not to a healthy reference; a negative contribution means lower than that cohort's average.",
            "Risk bands (<10% low, 10-30% moderate, >=30% high) are Lantern's own choice for display, not thresholds "
            "from any guideline.",
            "Evaluated once on the fixed Ripley test split (same cohort, same era): no external or prospective "
            "validation. Not a medical device.",
        ],
        "aiAssisted": "AI-assisted risk estimate: for a clinician to interpret; not a diagnosis.",
        "weights": {"file": "model.onnx", "sha256": summary["weights"]["sha256"]},
        "features": features,
        "inputs": [{"name": "features", "dtype": "float32", "shape": [-1, len(features)],
                    "units": "card feature order, canonical units; sex encoded female 0 / male 1"}],
        "outputs": [
            {"name": "risk", "dtype": "float32", "shape": [-1, 1], "range": [0, 1]},
            {"name": "contributions", "dtype": "float32", "shape": [-1, len(term_names)]},
        ],
        "explanation": {
            "kind": "log-odds",
            "terms": [{"name": t, "display": display[t]["display"], "displayZh": display[t]["displayZh"]} for t in term_names],
            "note": "Each contribution is coefficient x standardised value ((value - training mean) / training SD) on the "
                    "log-odds scale, so contributions are relative to the training mean (the average woman of the training "
                    "split contributes 0 on every term). log-odds(risk) = intercept " + f"{cal['intercept']:+.4f}" +
                    " + sum of contributions. Sex is not a term: it only flags answers outside the validated population.",
        },
        "bands": [
            {"label": "low", "display": "Low (<10%)", "displayZh": "低风险（<10%）", "below": 0.10},
            {"label": "moderate", "display": "Moderate (10-30%)", "displayZh": "中等风险（10%–30%）", "below": 0.30},
            {"label": "high", "display": "High (>=30%)", "displayZh": "高风险（≥30%）"},
        ],
        "bandsSource": "Lantern's own display bands (<10%, 10-30%, >=30%), chosen for readability; not taken from any guideline.",
        # What the triage policy may read (inference/triage-policy/facts.ts): the risk joins pool "risk" (risk.max).
        "triageFacts": [
            {"name": "risk", "from": "risk", "pool": "risk",
             "meaning": "risk of diabetes (Pima logistic model) (probability 0–1); in pool risk, so the policy's risk.max is the highest chronic risk given",
             "meaningZh": "糖尿病风险（概率0–1）"},
            {"name": "band", "from": "band", "meaning": "risk band, lowest first: low, moderate, high"},
        ],
        "triageMention": {"text": "diabetes-pima {risk} ({band})"},
        "calibration": {
            "method": cal["method"] + "; fitted on 20x repeated 10-fold CV predictions of the train split only",
            "a": r4(cal["a"]), "b": r4(cal["b"]),
            "cvEceBefore": r4(cal["cvEceBefore"]), "cvEceAfter": r4(cal["cvEceAfter"]),
            "test": {"ece": r4(m["ECE"]["value"]), "slope": r4(m["calibration"]["slope"]["value"]),
                     "intercept": r4(m["calibration"]["intercept"]["value"]),
                     "meanRisk": r4(m["meanRisk"]), "observedPrevalence": r4(m["observedPrevalence"])},
        },
        "model": {
            "kind": "logistic regression, L2-penalised (C=%g on standardised inputs), then logistic recalibration" % summary["fit"]["C"],
            "selection": f"{sel['cv']}; rule: {sel['rule']}. Best CV log loss: {sel['best']['featureSet']} C={sel['best']['C']:g} "
                         f"({sel['best']['cvLogLoss']:.4f} +/- {sel['best']['cvLogLossSe']:.4f}); chosen: {sel['chosen']['featureSet']} "
                         f"C={sel['chosen']['C']:g} ({sel['chosen']['cvLogLoss']:.4f}). See evaluation/cv-selection.json.",
            "coefficients": coef_lines,
            "intercept": r4(cal["intercept"]),
        },
        "source": {
            "name": "Pima Indians Diabetes data, Ripley (1996) fixed split as distributed in R package MASS 7.3-58.2 (Pima.tr / Pima.te)",
            "licence": "MASS package GPL-2 | GPL-3; data from the NIDDK study as documented in MASS (UCI lists the data under CC BY 4.0)",
            "citation": "Smith JW, Everhart JE, Dickson WC, Knowler WC, Johannes RS. Using the ADAP learning algorithm to forecast "
                        "the onset of diabetes mellitus. Proc Annu Symp Comput Appl Med Care 1988:261-265. Ripley BD. Pattern "
                        "Recognition and Neural Networks. Cambridge University Press, 1996. Venables WN, Ripley BD. Modern "
                        "Applied Statistics with S, 4th ed. Springer, 2002.",
            "location": "../shared/data/tabular/pima/ (see PROVENANCE-mass.md)",
            "trainSplit": "Pima.tr: 200 women (68 diabetes / 132 not); model selection, fit and calibration",
            "testSplit": "Pima.te: 332 women (109 diabetes / 223 not); evaluated once, for the metrics below",
        },
        "metrics": [
            metric("AUROC", m["AUROC"]["value"], m["AUROC"]["ci95"], "Mann-Whitney AUROC; 95% CI from DeLong 1988 variance"),
            metric("Brier", m["Brier"]["value"], m["Brier"]["ci95"], m["Brier"]["method"]),
            metric("ECE", m["ECE"]["value"], m["ECE"]["ci95"], m["ECE"]["method"]),
            metric("calibration slope", m["calibration"]["slope"]["value"], m["calibration"]["slope"]["ci95"], m["calibration"]["slope"]["method"]),
            metric("calibration intercept", m["calibration"]["intercept"]["value"], m["calibration"]["intercept"]["ci95"], m["calibration"]["intercept"]["method"]),
            prop("sensitivity", "0.3", "high band"),
            prop("specificity", "0.3", "high band"),
            prop("sensitivity", "0.1", "moderate or high band"),
            prop("specificity", "0.1", "moderate or high band"),
        ],
        "evaluation": {
            "metricsSplit": split,
            "dataset": {
                "kind": "csv",
                "path": "tabular/pima/Pima.te.csv",
                "label": {"column": "type", "positive": "Yes", "negative": "No"},
                "columns": {FEATURES[c]["name"]: c for c in names},
                "constants": {"sex": "female"},
            },
            "recipe": "/usr/bin/python3 models/diabetes-pima/train/train.py",
        },
    }
