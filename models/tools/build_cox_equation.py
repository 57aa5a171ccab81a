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

Graph: every equation is evaluated for every row in whole-matrix operations (the inputs
are cast to float64 first, so the large, nearly cancelling log terms lose nothing), then
the equation selected by the row's enum codes (`when` in coefficients.json) is picked
with Where. A row that matches no equation gets NaN rather than a silently wrong equation.
  term_t         = product of its factors: ln(feature), flag (0/1) or not(flag) = 1 - flag
  contribution_t = coefficient_t * term_t (0 when the selected equation lacks the term)
  risk           = 1 - s10 ^ exp(sum_t contribution_t - meanSum)

One builder serves models/pce-ascvd, models/framingham-cvd-2008 and models/china-par;
everything model-specific is in each folder's train/coefficients.json and model.json.
"""
from __future__ import annotations

import hashlib
import itertools
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

    def op(self, op_type: str, inputs: list[str], out: str, **attrs) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def tensor(self, name: str, values, dtype=TensorProto.DOUBLE) -> str:
        array = np.asarray(values)
        self.inits.append(helper.make_tensor(name, dtype, list(array.shape), array.flatten().tolist()))
        return name


def equation_selector(card: dict, coef: dict) -> tuple[list[float], list[float], list[int]]:
    """A row's enum codes as one number (key = sum of code * base^j over the enum features),
    every key some equation covers, and that equation. Keys no equation covers are left
    out: those rows get NaN. Refuses equations whose conditions overlap."""
    enums = [f for f in card['features'] if f['kind'] == 'enum']
    encoding = {f['name']: f['encoding'] for f in enums}
    base = 1 + max((max(f['encoding'].values()) for f in enums), default=0)
    weights = [float(base ** enums.index(f)) if f in enums else 0.0 for f in card['features']]
    keys: list[float] = []
    chosen: list[int] = []
    for codes in itertools.product(*(sorted(set(f['encoding'].values())) for f in enums)):
        by_feature = {f['name']: c for f, c in zip(enums, codes)}
        hits = [e for e, eq in enumerate(coef['equations'])
                if all(by_feature[feat] in [encoding[feat][v] for v in vals] for feat, vals in eq['when'].items())]
        if len(hits) > 1:
            sys.exit(f'equations {[coef["equations"][e]["id"] for e in hits]} both match {by_feature}')
        if hits:
            keys.append(float(sum(c * base ** j for j, c in enumerate(codes))))
            chosen.append(hits[0])
    return weights, keys, chosen


def build_graph(card: dict, coef: dict) -> onnx.ModelProto:
    """Every equation for every row at once, in whole-matrix operations: about 35 nodes
    however many terms and equations (onnxruntime costs ~1.5 µs per node; the first
    graphs, a node per term and equation, had 104 for the PCE and took 0.22 ms a run)."""
    features = [f['name'] for f in card['features']]
    k, terms, equations = len(features), coef['terms'], coef['equations']
    enum_weights, keys, chosen_equation = equation_selector(card, coef)
    g = Graph()
    axis1 = g.tensor('axis_1', [1], TensorProto.INT64)
    axis2 = g.tensor('axis_2', [2], TensorProto.INT64)
    zero, one, half, nan = g.tensor('zero', 0.0), g.tensor('one', 1.0), g.tensor('half', 0.5), g.tensor('nan', float('nan'))

    x = g.op('Cast', ['features'], 'x', to=TensorProto.DOUBLE)
    key = g.op('MatMul', [x, g.tensor('enum_weights', [[w] for w in enum_weights])], 'code_key')

    # Factor columns [ln x | x | 1 - x | 1]; a term is the product of up to `width` of them (1 pads).
    ones = g.op('ConstantOfShape', [g.op('Shape', [key], 'row_shape')], 'ones', value=helper.make_tensor('one_value', TensorProto.DOUBLE, [1], [1.0]))
    not_x = g.op('Sub', [one, x], 'not_x')
    factors = g.op('Concat', [g.op('Log', [x], 'ln_x'), x, not_x, ones], 'factors', axis=1)
    offset = {'ln': 0, 'flag': k, 'not': 2 * k}
    width = max(len(t['factors']) for t in terms)
    picks = [[offset[spec.split(':')[0]] + features.index(spec.split(':')[1]) for spec in t['factors']] + [3 * k] * (width - len(t['factors']))
             for t in terms]
    term_values = None
    for slot in range(width):
        column = g.op('Gather', [factors, g.tensor(f'factor_pick_{slot}', [p[slot] for p in picks], TensorProto.INT64)], f'factor_{slot}', axis=1)
        term_values = column if term_values is None else g.op('Mul', [term_values, column], f'term_product_{slot}')

    # every[n, e, t] = coefficient[e, t] * term[n, t] (0 where equation e lacks term t).
    coefficients = [[float(eq['coefficients'][t['name']]['value']) if t['name'] in eq['coefficients'] else 0.0 for t in terms] for eq in equations]
    every = g.op('Mul', [g.op('Unsqueeze', [term_values, axis1], 'terms_by_row'), g.tensor('coefficients', coefficients)], 'contributions_every_equation')
    linear = g.op('Sub', [g.op('ReduceSum', [every, axis2], 'sum_every_equation', keepdims=0),
                          g.tensor('mean_sums', [float(eq['meanSum']['value']) for eq in equations])], 'linear_predictor')
    log_survival = g.op('Mul', [g.op('Exp', [linear], 'hazard_ratio'), g.tensor('log_s10', [math.log(eq['s10']['value']) for eq in equations])], 'log_survival')
    risk_every = g.op('Sub', [one, g.op('Exp', [log_survival], 'survival')], 'risk_every_equation')

    # The row's equation, one-hot: key → covered combination → equation. Where (not a
    # product) picks it, so another equation's overflow can never leak in as inf * 0.
    is_key = g.op('Cast', [g.op('Equal', [key, g.tensor('covered_keys', keys)], 'is_key')], 'is_key_f64', to=TensorProto.DOUBLE)
    one_hot = g.op('MatMul', [is_key, g.tensor('key_equation', [[1.0 if c == e else 0.0 for e in range(len(equations))] for c in chosen_equation])], 'equation_one_hot')
    chosen = g.op('Greater', [one_hot, half], 'equation_chosen')
    risk = g.op('ReduceSum', [g.op('Where', [chosen, risk_every, zero], 'risk_chosen_only'), axis1], 'risk_chosen', keepdims=1)
    contributions = g.op('ReduceSum', [g.op('Where', [g.op('Unsqueeze', [chosen, axis2], 'chosen_by_term'), every, zero], 'contributions_chosen_only'), axis1],
                         'contributions_chosen', keepdims=0)
    matched = g.op('Greater', [g.op('ReduceSum', [one_hot, axis1], 'equations_matched', keepdims=1), half], 'row_matched')
    g.op('Cast', [g.op('Where', [matched, risk, nan], 'risk_f64')], 'risk', to=TensorProto.FLOAT)
    g.op('Cast', [g.op('Where', [matched, contributions, nan], 'contributions_f64')], 'contributions', to=TensorProto.FLOAT)

    t = len(terms)
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
