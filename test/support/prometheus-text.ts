/**
 * A strict parser of Prometheus' text exposition format 0.0.4
 * (prometheus.io/docs/instrumenting/exposition_formats), for tests of GET /metrics. Written
 * here because the npm parser that installs (parse-prometheus-text-format 1.1) accepts a family
 * declared twice and a series repeated, and drops the labels, `_sum` and `_count` of a labelled
 * histogram. This one throws, naming the line, on anything a Prometheus server would refuse
 * or that the format forbids: a bad name, label or value, a second HELP or TYPE, a TYPE after
 * samples, a family split in two, a duplicate series, a histogram without `+Inf`, with
 * decreasing buckets or a `_count` that is not the `+Inf` bucket, a negative counter.
 */
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
export interface Sample { name: string; labels: Record<string, string>; value: number }
export interface Family { name: string; type: MetricType; help?: string; samples: Sample[] }

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Record<MetricType, string[]> = { counter: [''], gauge: [''], untyped: [''], histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'] };

export class ExpositionError extends Error {}

/** A sample's value as Go's ParseFloat reads it (the format's rule): Inf and NaN in any case, as prom-client writes "Nan". */
function parseValue(text: string, line: string): number {
  if (/^\+?inf(inity)?$/i.test(text)) return Infinity;
  if (/^-inf(inity)?$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new ExpositionError(`not a number "${text}" in: ${line}`);
  return Number(text);
}

/** `name{a="x",b="y"} value [timestamp]`, label values unescaped (\\, \", \n). */
function parseSample(line: string): Sample {
  const name = /^[^{\s]+/.exec(line)?.[0] ?? '';
  if (!METRIC_NAME.test(name)) throw new ExpositionError(`bad metric name in: ${line}`);
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      const label = /^[^=]*/.exec(line.slice(i))![0];
      if (!LABEL_NAME.test(label) || line[i + label.length] !== '=' || line[i + label.length + 1] !== '"') throw new ExpositionError(`bad label at ${i} in: ${line}`);
      if (label in labels) throw new ExpositionError(`label ${label} twice in: ${line}`);
      i += label.length + 2;
      let value = '';
      for (; line[i] !== '"'; i++) {
        if (i >= line.length) throw new ExpositionError(`unterminated label value in: ${line}`);
        if (line[i] === '\\') {
          const escaped = { '\\': '\\', '"': '"', n: '\n' }[line[++i]];
          if (escaped === undefined) throw new ExpositionError(`bad escape in: ${line}`);
          value += escaped;
        } else value += line[i];
      }
      labels[label] = value;
      i++;
      if (line[i] === ',') i++;
      else if (line[i] !== '}') throw new ExpositionError(`expected , or } at ${i} in: ${line}`);
    }
    i++;
  }
  if (line[i] !== ' ') throw new ExpositionError(`expected a space before the value in: ${line}`);
  const [value, timestamp, ...rest] = line.slice(i + 1).split(' ');
  if (rest.length || (timestamp !== undefined && !/^-?\d+$/.test(timestamp))) throw new ExpositionError(`trailing text in: ${line}`);
  return { name, labels, value: parseValue(value, line) };
}

const seriesKey = (s: Sample) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`;

function checkHistogram(family: Family): void {
  const series = new Map<string, { buckets: [number, number][]; count?: number }>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (s.name.endsWith('_bucket')) {
      if (le === undefined) throw new ExpositionError(`${family.name}: a bucket without le`);
      entry.buckets.push([parseValue(le, s.name), s.value]);
    } else if (s.name.endsWith('_count')) entry.count = s.value;
  }
  for (const [key, { buckets, count }] of series) {
    const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
    if (sorted.at(-1)?.[0] !== Infinity) throw new ExpositionError(`${family.name}${key}: no +Inf bucket`);
    if (sorted.some(([, v], i) => i > 0 && v < sorted[i - 1][1])) throw new ExpositionError(`${family.name}${key}: buckets decrease`);
    if (count !== sorted.at(-1)![1]) throw new ExpositionError(`${family.name}${key}: _count ${count} is not the +Inf bucket ${sorted.at(-1)![1]}`);
  }
}

export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  const typed = new Set<string>();
  let current: Family | undefined;
  const familyOf = (sampleName: string) => {
    const owner = [...families.values()].find((f) => SUFFIXES[f.type].some((suffix) => `${f.name}${suffix}` === sampleName));
    return owner ?? families.get(sampleName);
  };
  const open = (name: string, line: string) => {
    const existing = families.get(name);
    if (existing && existing !== current) throw new ExpositionError(`family ${name} appears again after another one: ${line}`);
    if (!existing) families.set(name, current = { name, type: 'untyped', samples: [] });
    return families.get(name)!;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
    if (meta) {
      const [, kind, name, rest = ''] = meta;
      if (!METRIC_NAME.test(name)) throw new ExpositionError(`bad metric name in: ${line}`);
      const family = open(name, line);
      if (kind === 'HELP') {
        if (family.help !== undefined) throw new ExpositionError(`second HELP: ${line}`);
        family.help = rest;
      } else {
        if (typed.has(name) || family.samples.length) throw new ExpositionError(`TYPE twice or after samples: ${line}`);
        if (!TYPES.has(rest as MetricType)) throw new ExpositionError(`unknown type: ${line}`);
        family.type = rest as MetricType;
        typed.add(name);
      }
      continue;
    }
    if (line.startsWith('#')) continue;
    const sample = parseSample(line);
    const family = familyOf(sample.name) ?? open(sample.name, line);
    if (family !== current) throw new ExpositionError(`family ${family.name} appears again after another one: ${line}`);
    const key = seriesKey(sample);
    if (seen.has(key)) throw new ExpositionError(`duplicate series: ${line}`);
    seen.add(key);
    if (family.type === 'counter' && !(sample.value >= 0)) throw new ExpositionError(`negative counter: ${line}`);
    family.samples.push(sample);
  }
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

/** The samples of `name` (a family's or a histogram's `_count`, `_bucket`, `_sum`) whose labels include `labels`. */
export function samples(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): Sample[] {
  return [...families.values()].flatMap((f) => f.samples)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The one sample of `name` with exactly these labels (others allowed), or 0 when there is none: a counter not yet incremented. */
export function valueOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const found = samples(families, name, labels);
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value ?? 0;
}
