/**
 * `npm run bench:large-study`: one study of 10,000 images (issue 12: about 8,700 in one
 * study exhausted the database's heap, each image costing more than the last). Ingests
 * small generated CT images (no model reads a CT, so the cost measured is Lantern's and its
 * database's, not inference) over STOW-RS into a running `lantern start`, and reports the
 * per-image cost for each window of 1,000 — median and p95, the first window against the
 * last — and the database process's resident memory as the study grows, with an SVG plot.
 *
 *   npm run bench:large-study                                  10,000 images, embedded PGlite
 *   npm run bench:large-study -- --instances 3000 --batch 20
 *   npm run bench:large-study -- --database-url postgres://…  PostgreSQL (a database of its own: it is written to)
 *
 * Writes large-study.json, large-study.md and large-study.svg to benchmarks/results/<date>/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { repoRoot } from '../config.ts';
import { apiClient } from '../test/support/api-client.ts';
import { buildSeriesImage } from '../test/support/dicom-builder.ts';
import { startStack, type Stack } from '../test/support/stack.ts';
import { progressBar } from './progress.ts';
import { ratio, summarise, type Summary } from './stats.ts';

const WINDOW = 1000;
/** Study Instance UID root for this run (the run's start time keeps runs apart). */
const root = `1.2.826.0.1.3680043.10.1.88.${Date.now()}`;

interface Window {
  /** Images stored when the window ended. */
  upTo: number;
  /** Milliseconds per image, from each request's time divided by its images. */
  perImageMs: Summary;
  /** The database process's resident memory at the window's end (PGlite only). */
  databaseRssMiB?: number;
}

/** The `lantern db` process `lantern start` forked (absent when the stack uses PostgreSQL). */
function databasePid(stack: Stack): number | undefined {
  for (const entry of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (ppid === stack.process.pid && argv.includes('db')) return Number(entry);
    } catch {
      // The process ended while it was read.
    }
  }
  return undefined;
}

/** Resident and peak resident memory of a process, MiB. */
function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)![1]);
  return { rss: Math.round(kib('VmRSS') / 1024), peak: Math.round(kib('VmHWM') / 1024) };
}

/** Ingests `instances` images of one study (10 series) in STOW requests of `batch`; per-image cost per window. */
export async function measureLargeStudy(stack: Stack, instances: number, batch: number) {
  const api = apiClient(stack.baseUrl, stack.token);
  const study = `${root}.1`;
  const pid = databasePid(stack);
  const perSeries = Math.ceil(instances / 10);
  const image = (n: number) => {
    const series = Math.ceil(n / perSeries);
    return buildSeriesImage({ study, series: `${study}.${series}`, sop: `${study}.${series}.${n}`, seriesNumber: series });
  };
  const windows: Window[] = [];
  let samples: number[] = [];
  const bar = progressBar('one study, image by image', instances);
  for (let from = 1; from <= instances; from += batch) {
    const parts = Array.from({ length: Math.min(batch, instances - from + 1) }, (_, i) => image(from + i));
    const start = performance.now();
    const { status, body } = await api.stow(parts);
    const elapsed = performance.now() - start;
    if (status !== 200 || body.stored?.length !== parts.length) throw new Error(`upload of ${from}… failed: ${status} ${JSON.stringify(body).slice(0, 300)}`);
    samples.push(elapsed / parts.length);
    const upTo = from + parts.length - 1;
    if (upTo % WINDOW === 0 || upTo === instances) {
      windows.push({ upTo, perImageMs: summarise(samples), ...(pid && { databaseRssMiB: memoryMiB(pid).rss }) });
      samples = [];
    }
    bar.tick(upTo);
  }
  bar.done();
  // The answer a reader asks for at the end, bounded whatever the study's size (asked twice: the first also loads the client's OpenAPI check).
  const open = () => api.json<{ instances: unknown[]; series: { instances: number }[] }>(`/v1/studies/${study}`);
  await open();
  const t0 = performance.now();
  const { status, body } = await open();
  const studyAnswerMs = performance.now() - t0;
  if (status !== 200 || body.series.reduce((n, s) => n + s.instances, 0) !== instances) throw new Error(`the study answer does not count ${instances} images`);
  return { windows, databasePeakMiB: pid ? memoryMiB(pid).peak : undefined, studyAnswer: { ms: Math.round(studyAnswerMs), instancesListed: body.instances.length } };
}

/** Per-image p50 and p95 by window (left axis) and the database's memory (right axis). */
export function largeStudySvg(title: string, windows: Window[]): string {
  const W = 760;
  const H = 360;
  const M = { left: 60, right: 70, top: 40, bottom: 50 };
  const maxX = windows.at(-1)!.upTo;
  const maxMs = Math.max(...windows.map((w) => w.perImageMs.p95)) * 1.1;
  const mem = windows.map((w) => w.databaseRssMiB).filter((v): v is number => v !== undefined);
  const maxMiB = Math.max(1, ...mem) * 1.1;
  const x = (v: number) => M.left + (v / maxX) * (W - M.left - M.right);
  const yMs = (v: number) => H - M.bottom - (v / maxMs) * (H - M.top - M.bottom);
  const yMiB = (v: number) => H - M.bottom - (v / maxMiB) * (H - M.top - M.bottom);
  const line = (points: [number, number][], colour: string, dash = '') =>
    `<polyline fill="none" stroke="${colour}" stroke-width="2" stroke-dasharray="${dash}" points="${points.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ')}"/>`;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="13">${title.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const ms = (maxMs * i) / 5;
    out.push(`<line x1="${M.left}" y1="${yMs(ms)}" x2="${W - M.right}" y2="${yMs(ms)}" stroke="#eee"/>`,
      `<text x="${M.left - 6}" y="${yMs(ms) + 4}" text-anchor="end">${ms.toFixed(1)}</text>`);
    if (mem.length) out.push(`<text x="${W - M.right + 6}" y="${yMiB((maxMiB * i) / 5) + 4}" fill="#2ca02c">${Math.round((maxMiB * i) / 5)}</text>`);
  }
  for (const w of windows) out.push(`<text x="${x(w.upTo)}" y="${H - M.bottom + 14}" text-anchor="middle">${w.upTo}</text>`);
  out.push(
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 10}" text-anchor="middle">images stored in the study</text>`,
    `<text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" text-anchor="middle">ms per image (window of ${WINDOW})</text>`,
    line(windows.map((w) => [x(w.upTo), yMs(w.perImageMs.p50)]), '#1f77b4'),
    line(windows.map((w) => [x(w.upTo), yMs(w.perImageMs.p95)]), '#ff7f0e', '4 3'),
    `<text x="${M.left + 8}" y="${M.top + 4}" fill="#1f77b4">p50</text>`,
    `<text x="${M.left + 40}" y="${M.top + 4}" fill="#ff7f0e">p95</text>`,
  );
  if (mem.length) {
    out.push(line(windows.map((w) => [x(w.upTo), yMiB(w.databaseRssMiB!)]), '#2ca02c', '1 3'),
      `<text x="${M.left + 72}" y="${M.top + 4}" fill="#2ca02c">database RSS (MiB, right)</text>`);
  }
  out.push('</svg>');
  return out.join('\n');
}

async function main() {
  const { values } = parseArgs({
    options: {
      instances: { type: 'string', default: '10000' },
      batch: { type: 'string', default: '20' },
      'database-url': { type: 'string' },
      out: { type: 'string', default: path.join(repoRoot, 'benchmarks', 'results', new Date().toISOString().slice(0, 10)) },
    },
  });
  const instances = Number(values.instances);
  const batch = Number(values.batch);
  const databaseUrl = values['database-url'];
  const database = databaseUrl ? 'PostgreSQL' : 'PGlite (lantern db)';
  // The rate limit would meter this one client's hundreds of uploads; no model reads a CT, so no worker is busy.
  const stack = await startStack({ workers: 1, env: { LANTERN_RATE_LIMIT: '0', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) } });
  let result;
  try {
    result = await measureLargeStudy(stack, instances, batch);
  } finally {
    await stack.stop();
  }
  const [first, last] = [result.windows[0], result.windows.at(-1)!];
  const report = {
    database, instances, batch, ...result,
    lastOverFirst: { p50: ratio(last.perImageMs.p50, first.perImageMs.p50), p95: ratio(last.perImageMs.p95, first.perImageMs.p95) },
  };
  fs.mkdirSync(values.out, { recursive: true });
  const name = databaseUrl ? 'large-study-postgres' : 'large-study';
  fs.writeFileSync(path.join(values.out, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(path.join(values.out, `${name}.svg`), largeStudySvg(`${instances} images into one study, ${database}: cost per image as it grows`, result.windows));
  const md = [
    `# One study of ${instances} images (${database})`, '',
    `STOW-RS requests of ${batch} generated 8×8 CT images into a running \`lantern start\`; ms per image = request time ÷ images.`, '',
    '| images stored | p50 ms/image | p95 ms/image | database RSS MiB |', '|---|---|---|---|',
    ...result.windows.map((w) => `| ${w.upTo} | ${w.perImageMs.p50.toFixed(2)} | ${w.perImageMs.p95.toFixed(2)} | ${w.databaseRssMiB ?? '—'} |`), '',
    `Last window ÷ first: p50 ${report.lastOverFirst.p50}, p95 ${report.lastOverFirst.p95}. Database peak RSS: ${result.databasePeakMiB ?? '— (not this process)'} MiB.`,
    `The study answer at the end: ${result.studyAnswer.ms} ms, ${result.studyAnswer.instancesListed} images listed (the rest paged).`, '',
    `![per-image cost](${name}.svg)`, '',
  ].join('\n');
  fs.writeFileSync(path.join(values.out, `${name}.md`), md);
  console.log(md);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(repoRoot, 'benchmarks', 'large-study.ts')) await main();
