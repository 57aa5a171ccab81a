#!/usr/bin/python3
"""Build model.onnx for a Cox-type published risk equation from train/coefficients.json.

Run with Debian's Python (it has python3-onnx), naming the model folder:
    /usr/bin/python3 models/tools/build_cox_equation.py models/pce-ascvd

What it does, in order:
  1. reads ../model.json (the card: feature order, enum encodings, explanation terms) and
     coefficients.json (every number with its source), and checks they agree;
  2. writes the cholesterol mmol/L -> mg/dL factor from coefficients.json into the card's
     `units`, so the factor a request is converted with is the one the coefficients cite;
  3. builds the graph with onnx.helper (opset 17): input `features` float32 [N, K];
     outputs `risk` float32 [N, 1] and `contributions` float32 [N, T];
  4. evaluates every case in ../evaluation/worked-examples.json with an independent
     float64 numpy implementation of the same coefficients and refuses to write anything
     if one misses its full-precision value by more than its tolerance;
  5. writes ../model.onnx, the new weights.sha256 and the worked-example results
     (validation.checked) into ../model.json.

Graph: every equation is evaluated for every row (the inputs are cast to float64 first, so
the large, nearly cancelling log terms lose nothing), then the equation selected by the
row's enum codes (`when` in coefficients.json) is picked with Where. A row that matches
no equation gets NaN rather than a silently wrong equation.
  term_t         = product of its factors: ln(feature), flag (0/1) or not(flag) = 1 - flag
  contribution_t = coefficient_t * term_t (0 when the selected equation lacks the term)
  risk           = 1 - s10 ^ exp(sum_t contribution_t - meanSum)

One builder serves models/pce-ascvd, models/framingham-cvd-2008 and models/china-par;
everything model-specific is in each folder's train/coefficients.json and model.json.
"""
from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

if len(sys.argv) != 2:
    sys.exit('usage: /usr/bin/python3 models/tools/build_cox_equation.py <model folder>')
MODEL_DIR = Path(sys.argv[1]).resolve()
HERE = MODEL_DIR / 'train'
OPSET = 17


def load() -> tuple[dict, dict]:
    card = json.loads((MODEL_DIR / 'model.json').read_text(encoding='utf8'))
    coef = json.loads((HERE / 'coefficients.json').read_text(encoding='utf8'))
    return card, coef


def check_agreement(card: dict, coef: dict) -> None:
    names = [f['name'] for f in card['features']]
    if names != coef['features']:
        sys.exit(f'card features {names} differ from coefficients.json features {coef["features"]}')
    terms = [t['name'] for t in card['explanation']['terms']]
    if terms != [t['name'] for t in coef['terms']]:
        sys.exit(f'card explanation terms {terms} differ from coefficients.json terms')
    if card['id'] != coef['model']:
        sys.exit(f'card id {card["id"]} differs from coefficients.json model {coef["model"]}')
    by_name = {f['name']: f for f in card['features']}
    for term in coef['terms']:
        for factor in term['factors']:
            kind, feature = factor.split(':')
            if kind not in ('ln', 'flag', 'not') or feature not in by_name:
                sys.exit(f'term {term["name"]}: bad factor {factor}')
    known_terms = {t['name'] for t in coef['terms']}
    for eq in coef['equations']:
        for t in eq['coefficients']:
            if t not in known_terms:
                sys.exit(f'equation {eq["id"]} uses unknown term {t}')
        for feature, values in eq['when'].items():
            enc = by_name[feature].get('encoding') or {}
            for v in values:
                if v not in enc:
                    sys.exit(f'equation {eq["id"]}: {feature}={v} has no encoding in the card')
        if not 0 < eq['s10']['value'] < 1:
            sys.exit(f'equation {eq["id"]}: s10 must be in (0, 1)')


def sync_units(card: dict, coef: dict) -> None:
    """The card's mmol/L factor is the one the coefficients file cites (single source)."""
    factor = coef.get('units', {}).get('cholesterolMmolPerLToMgPerDl', {}).get('value')
    if factor is None:
        return
    for f in card['features']:
        if f['name'] in ('totalCholesterol', 'hdlCholesterol'):
            f['units'] = {'mg/dL': {'factor': 1}, 'mmol/L': {'factor': factor}}


class Graph:
    def __init__(self) -> None:
        self.nodes: list = []
        self.inits: list = []
        self.consts: dict = {}
        self.n = 0

    def name(self, hint: str) -> str:
        self.n += 1
        return f'{hint}_{self.n}'

    def op(self, op_type: str, inputs: list[str], hint: str, **attrs) -> str:
        out = self.name(hint)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def const(self, value: float, dtype=TensorProto.DOUBLE) -> str:
        key = (repr(value), dtype)
        if key not in self.consts:
            name = f'c{len(self.consts)}'
            self.inits.append(helper.make_tensor(name, dtype, [], [value]))
            self.consts[key] = name
        return self.consts[key]


def build_graph(card: dict, coef: dict) -> onnx.ModelProto:
    features = [f['name'] for f in card['features']]
    by_name = {f['name']: f for f in card['features']}
    k = len(features)
    g = Graph()

    x64 = g.op('Cast', ['features'], 'features_f64', to=TensorProto.DOUBLE)
    g.inits.append(helper.make_tensor('split_sizes', TensorProto.INT64, [k], [1] * k))
    cols = [f'col_{name}' for name in features]
    g.nodes.append(helper.make_node('Split', [x64, 'split_sizes'], cols, name='split_columns', axis=1))
    col = dict(zip(features, cols))

    factor_cache: dict[str, str] = {}

    def factor(spec: str) -> str:
        if spec not in factor_cache:
            kind, feature = spec.split(':')
            if kind == 'ln':
                factor_cache[spec] = g.op('Log', [col[feature]], f'ln_{feature}')
            elif kind == 'flag':
                factor_cache[spec] = col[feature]
            else:
                factor_cache[spec] = g.op('Sub', [g.const(1.0), col[feature]], f'not_{feature}')
        return factor_cache[spec]

    term_value: dict[str, str] = {}
    for term in coef['terms']:
        value = factor(term['factors'][0])
        for spec in term['factors'][1:]:
            value = g.op('Mul', [value, factor(spec)], f'term_{term["name"]}')
        term_value[term['name']] = value

    shape = g.op('Shape', [col[features[0]]], 'row_shape')
    zeros = g.op('ConstantOfShape', [shape], 'zeros', value=helper.make_tensor('zero', TensorProto.DOUBLE, [1], [0.0]))

    selected = []
    for eq in coef['equations']:
        contribs = []
        for term in coef['terms']:
            c = eq['coefficients'].get(term['name'])
            contribs.append(zeros if c is None else g.op('Mul', [term_value[term['name']], g.const(float(c['value']))], f'{eq["id"]}_{term["name"]}'))
        total = g.op('Sum', contribs, f'{eq["id"]}_sum')
        lp = g.op('Sub', [total, g.const(float(eq['meanSum']['value']))], f'{eq["id"]}_lp')
        hazard_ratio = g.op('Exp', [lp], f'{eq["id"]}_hr')
        log_survival = g.op('Mul', [hazard_ratio, g.const(math.log(eq['s10']['value']))], f'{eq["id"]}_log_s')
        survival = g.op('Exp', [log_survival], f'{eq["id"]}_s')
        risk = g.op('Sub', [g.const(1.0), survival], f'{eq["id"]}_risk')
        matrix = g.op('Concat', contribs, f'{eq["id"]}_contributions', axis=1)

        condition = None
        for feature, values in eq['when'].items():
            enc = by_name[feature]['encoding']
            hit = None
            for v in values:
                eq_v = g.op('Equal', [col[feature], g.const(float(enc[v]))], f'{eq["id"]}_{feature}_is_{v}')
                hit = eq_v if hit is None else g.op('Or', [hit, eq_v], f'{eq["id"]}_{feature}_any')
            condition = hit if condition is None else g.op('And', [condition, hit], f'{eq["id"]}_when')
        selected.append((condition, risk, matrix))

    nan = g.const(float('nan'))
    risk_out, contrib_out = nan, nan
    for condition, risk, matrix in reversed(selected):
        risk_out = g.op('Where', [condition, risk, risk_out], 'select_risk')
        contrib_out = g.op('Where', [condition, matrix, contrib_out], 'select_contributions')
    g.nodes.append(helper.make_node('Cast', [risk_out], ['risk'], name='risk_f32', to=TensorProto.FLOAT))
    g.nodes.append(helper.make_node('Cast', [contrib_out], ['contributions'], name='contributions_f32', to=TensorProto.FLOAT))

    t = len(coef['terms'])
    coef_bytes = (HERE / 'coefficients.json').read_bytes()
    graph = helper.make_graph(
        g.nodes, card['id'].replace('-', '_'),
        [helper.make_tensor_value_info('features', TensorProto.FLOAT, ['N', k])],
        [helper.make_tensor_value_info('risk', TensorProto.FLOAT, ['N', 1]),
         helper.make_tensor_value_info('contributions', TensorProto.FLOAT, ['N', t])],
        g.inits,
        doc_string=f'{card["title"]}. features: {", ".join(features)}. contributions: {", ".join(x["name"] for x in coef["terms"])}.',
    )
    model = helper.make_model(graph, producer_name='lantern models/tools/build_cox_equation.py', opset_imports=[helper.make_opsetid('', OPSET)])
    model.ir_version = 8
    model.model_version = int(coef['version'].split('.')[0])
    helper.set_model_props(model, {
        'lantern.model': card['id'],
        'lantern.coefficients.version': coef['version'],
        'lantern.coefficients.sha256': hashlib.sha256(coef_bytes).hexdigest(),
        'lantern.citation': coef['citation'],
    })
    onnx.checker.check_model(model, full_check=True)
    return model


def canonical_row(card: dict, body: dict) -> list[float]:
    """Request body -> canonical feature row (float64), as the runner does it."""
    row = []
    for f in card['features']:
        raw = body[f['name']]
        if f['kind'] == 'boolean':
            row.append(1.0 if raw else 0.0)
        elif f['kind'] == 'enum':
            row.append(float(f['encoding'][raw]))
        elif isinstance(raw, dict):
            row.append(raw['value'] * f['units'][raw['unit']]['factor'])
        else:
            row.append(float(raw))
    return row


def reference_eval(card: dict, coef: dict, row: list[float]) -> tuple[float, float, str]:
    """Independent float64 evaluation: (risk, sum of contributions, equation id)."""
    names = [f['name'] for f in card['features']]
    values = dict(zip(names, row))
    by_name = {f['name']: f for f in card['features']}
    for eq in coef['equations']:
        if all(values[feat] in [by_name[feat]['encoding'][v] for v in vals] for feat, vals in eq['when'].items()):
            total = 0.0
            for term in coef['terms']:
                c = eq['coefficients'].get(term['name'])
                if c is None:
                    continue
                v = 1.0
                for spec in term['factors']:
                    kind, feat = spec.split(':')
                    v *= math.log(values[feat]) if kind == 'ln' else values[feat] if kind == 'flag' else 1.0 - values[feat]
                total += c['value'] * v
            risk = 1.0 - eq['s10']['value'] ** math.exp(total - eq['meanSum']['value'])
            return risk, total, eq['id']
    raise ValueError(f'no equation matches {values}')


def self_check(card: dict, coef: dict) -> tuple[list[str], list[dict]]:
    path = MODEL_DIR / 'evaluation' / 'worked-examples.json'
    if not path.exists():
        return ['no evaluation/worked-examples.json'], []
    failures, checked = [], []
    for case in json.loads(path.read_text(encoding='utf8'))['cases']:
        risk, total, eq_id = reference_eval(card, coef, canonical_row(card, case['input']))
        checked.append({'id': case['id'], 'equation': eq_id, 'riskPercent': round(100 * risk, 4), 'linearSum': round(total, 4),
                        **{k: v for k, v in case.get('expected', {}).items() if k in ('publishedPercent', 'fullPrecisionPercent')}})
        line = f'{case["id"]:<44} {eq_id:<12} sum {total:10.4f} risk {100 * risk:7.3f} %'
        exp = case.get('expected', {})
        if 'fullPrecisionPercent' in exp:
            line += f'  full-precision {exp["fullPrecisionPercent"]}'
            if abs(100 * risk - exp['fullPrecisionPercent']) > 100 * exp.get('fullPrecisionTolerance', 1e-4):
                failures.append(line)
        if 'publishedPercent' in exp:
            line += f'  published {exp["publishedPercent"]} ±{exp.get("publishedTolerancePp", 0.1)}'
            if abs(100 * risk - exp['publishedPercent']) > exp.get('publishedTolerancePp', 0.1) + 1e-9:
                failures.append(line)
        if 'linearSum' in exp and abs(total - exp['linearSum']) > exp.get('linearSumTolerance', 0.005):
            failures.append(line + f'  linear sum {exp["linearSum"]}')
        print(line)
    return failures, checked


def main() -> None:
    card, coef = load()
    check_agreement(card, coef)
    sync_units(card, coef)
    failures, checked = self_check(card, coef)
    if failures:
        sys.exit('worked examples missed (nothing written):\n' + '\n'.join(failures))
    # What this equation gives for each worked example; model.test.ts checks the graph gives the same.
    card.setdefault('validation', {})['checked'] = checked
    model = build_graph(card, coef)
    data = model.SerializeToString()
    (MODEL_DIR / 'model.onnx').write_bytes(data)
    card['weights'] = {'file': 'model.onnx', 'sha256': hashlib.sha256(data).hexdigest()}
    (MODEL_DIR / 'model.json').write_text(json.dumps(card, indent=2, ensure_ascii=False) + '\n', encoding='utf8')
    print(f'wrote model.onnx ({len(data)} bytes), sha256 {card["weights"]["sha256"]}')


if __name__ == '__main__':
    main()
