/**
 * `npm run bench:latency`: the latency promise under a flood (issue 15). A real `lantern start`
 * (API, one worker, Redis, PGlite) is flooded with level IV studies while level II studies arrive
 * at a steady rate; each level's time to AI result is reported as p50/p95 against its target, WITH
 * the degradation ladder and WITHOUT it (LANTERN_DEGRADATION=off), as a table and an SVG plot, and
 * the ladder's steps as /ready reported them. The promise's clock is the read-assist job's enqueue
 * to its last clinical model's finish (BullMQ's stamps); the table also splits the time from the
 * STOW request's start into upload → queued, queue wait and work, and counts the films of the other
 * level that started while one waited (the queue's order, machine-independent: a level II film
 * should see at most the one job already running).
 *
 * Targets are the triage-policy card's, scaled from minutes to seconds × `--scale` (default 1:
 * II 5 s, IV 60 s) in a copy of the card, so that a run of a minute or two means what an hour
 * would: the queue's behaviour is the same, only the clock is shorter. The ladder's hold is 3 s.
 *
 *   npm run bench:latency                         300 level IV (4 requests of 10 in flight) + 40 level II (one every 500 ms)
 *   npm run bench:latency -- --flood 1200 --urgent 80 --senders 1    a longer flood, one request at a time
 *   npm run bench:latency -- --shadow             shadow mode's cost to one worker at saturation
 *                                                 (benchmarks/shadow-cost.ts; batches of --flood films, default 60; --rounds, default 5)
 *   npm run bench:latency -- --smoke              small, ladder only: the steps' order (test)
 *
 * Writes latency-promise.json, .md and .svg to benchmarks/results/<date>/ (--shadow: shadow-cost.json and .md).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import sharp from 'sharp';
import { repoRoot } from '../config.ts';
import { READ_ASSIST_QUEUE, readAssistJobId } from '../queue/jobs.ts';
import { apiClient } from '../test/support/api-client.ts';
import { buildCr } from '../test/support/dicom-builder.ts';
import { editCard, shippedModelsWith } from '../test/support/models-folder.ts';
import { sharedData } from '../test/support/shared-data.ts';
import { startStack, waitFor } from '../test/support/stack.ts';
import { writeShadowCost } from './shadow-cost.ts';
import { summarise, type Summary } from './stats.ts';

const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const SIDE = 256;
/** NEWS2 8 (high): makes a study level II under the shipped policy (api/routes/worklist.test.ts's "sick"). */
const SICK = { respiratoryRate: 22, spo2: 94, spo2Scale: '1', supplementalOxygen: true, systolicBp: { value: 105, unit: 'mmHg' }, pulse: 105, consciousness: 'alert', temperature: { value: 38.4, unit: '°C' } };

/**
 * Where one level's films spent their time, in seconds: `upload` from the STOW request's start to its
 * first job in the queue (parse, store), `queueWait` from there to its first job's start, `work` from
 * that start to its last clinical model's finish (the other model's wait included).
 */
export interface Stages { upload: Summary; queueWait: Summary; work: Summary }

export interface RunResult {
  ladder: boolean;
  /** `seconds`: enqueue → last model's finish (the promise's clock); `fromUpload`: the STOW request's start → the same. */
  levels: { level: 'II' | 'IV'; targetSeconds: number; n: number; seconds: Summary; fromUpload: Summary; stages: Stages; otherLevelStartedWhileWaiting: Summary; withinTarget: number }[];
  /** The degradation steps /ready reported, each change once, in order, with seconds since the run began. */
  steps: { atSeconds: number; step: number; name: string }[];
  /** The queue.degradation audit records, in order. */
  audited: string[];
}

/** A copy of the shipped models whose triage card's AI targets are `scale` × its minutes, in seconds. */
function scaledModels(scale: number): string {
  const dir = shippedModelsWith();
  editCard(path.join(dir, 'triage-policy'), (card) => {
    for (const level of card.policy.levels) level.aiResultTargetMinutes = (level.aiResultTargetMinutes * scale) / 60;
  });
  return dir;
}

/** Real chest films (the adult pneumonia model answers on them) as CRs with fresh UIDs. */
async function filmPixels(count: number): Promise<Uint8Array[]> {
  const folder = path.join(sharedData, 'images', 'nih-cxr14-pneumonia-1000');
  const names = fs.readFileSync(path.join(folder, 'labels.csv'), 'utf8').trim().split('\n').slice(1, 1 + count).map((line) => line.split(',')[0]);
  return Promise.all(names.map(async (name) => new Uint8Array(await sharp(path.join(folder, name)).greyscale().resize(SIDE, SIDE, { fit: 'fill' }).raw().toBuffer())));
}
const cr = (uidRoot: string, pixels: Uint8Array) =>
  buildCr(uidRoot, EXPLICIT_LE, { rows: SIDE, columns: SIDE, bitsAllocated: 8, bitsStored: 8, pixelRepresentation: 0, photometricInterpretation: 'MONOCHROME2' }, pixels,
    [{ tag: 0x00180015, vr: 'CS', value: 'CHEST' }, { tag: 0x00185101, vr: 'CS', value: 'PA' }, { tag: 0x00101010, vr: 'AS', value: '050Y' }]);

export interface RunOptions {
  ladder: boolean;
  flood: number;
  urgent: number;
  everyMs: number;
  /** Flood requests in flight at once. */
  senders: number;
  scale: number;
  log?: (line: string) => void;
}

/** One run on a fresh stack: the flood, the steady level II arrivals, then waiting for every result. */
export async function runOnce(options: RunOptions): Promise<RunResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const modelsDir = scaledModels(options.scale);
  const stack = await startStack({ workers: 1, env: {
    LANTERN_MODELS_DIR: modelsDir, LANTERN_RATE_LIMIT: '0', LANTERN_DEGRADATION: options.ladder ? 'on' : 'off',
    LANTERN_DEGRADATION_CHECK_MS: '250', LANTERN_DEGRADATION_HOLD_S: '3',
  } });
  const queue = new Queue(READ_ASSIST_QUEUE, { connection: { url: stack.redisUrl }, prefix: 'lantern' });
  try {
    const api = apiClient(stack.baseUrl, stack.token);
    const root = `1.2.826.0.1.3680043.10.1.89.${Date.now()}`;
    const pixels = await filmPixels(Math.min(200, options.flood + options.urgent));
    const started = Date.now();
    const steps: RunResult['steps'] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const ready = await fetch(new URL('/ready', stack.baseUrl)).then((r) => r.json() as Promise<{ degradation: { step: number; name: string } }>).catch(() => undefined);
        if (ready && steps.at(-1)?.step !== ready.degradation.step) {
          steps.push({ atSeconds: (Date.now() - started) / 1000, step: ready.degradation.step, name: ready.degradation.name });
          log(`  [${((Date.now() - started) / 1000).toFixed(1)} s] degradation step ${ready.degradation.step} ${ready.degradation.name}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    // Level II studies exist before the flood: a first film each, made level II by the ED's NEWS2 (8, high),
    // so the measured film sent into the study during the flood is queued at level II on arrival.
    const urgentRoots = Array.from({ length: options.urgent }, (_, i) => `${root}.2${String(i).padStart(4, '0')}`);
    for (const [i, studyRoot] of urgentRoots.entries()) {
      const [first] = (await api.stow([cr(`${studyRoot}0`, pixels[i % pixels.length])])).body.stored ?? [];
      if (!first) throw new Error('a level II set-up film was refused');
      // Checked: until 2026-12-04 a refused unit (422) went unnoticed and the "level II" studies stayed at a new study's level.
      const triaged = await api.json<{ triage?: { level: string } }>('/v1/triage', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ studyInstanceUid: first.studyInstanceUid, scores: { news2: SICK } }) });
      if (triaged.status !== 200 || triaged.body.triage?.level !== 'II') throw new Error(`the set-up study was not made level II: ${triaged.status} ${JSON.stringify(triaged.body)}`);
    }
    await waitFor(async () => ((await queue.getJobCountByTypes('prioritized', 'waiting', 'active', 'delayed')) === 0 ? true : undefined), 'the set-up films to be read', 300_000);
    log(`${options.ladder ? 'WITH' : 'WITHOUT'} the ladder: flooding ${options.flood} level IV films, a level II film every ${options.everyMs} ms (${options.urgent})`);
    const sent: { level: 'II' | 'IV'; sop: string; sentAt: number }[] = [];
    // `senders` requests of 10 films in flight at once, as a PACS pushing on several associations:
    // one at a time, ingest is slower than one worker on an idle machine and no queue ever forms.
    let nextFilm = 0;
    const flood = Promise.all(Array.from({ length: options.senders }, async () => {
      while (nextFilm < options.flood) {
        const i = nextFilm;
        nextFilm += 10;
        const batch = Array.from({ length: Math.min(10, options.flood - i) }, (_, j) => cr(`${root}.4${i + j}`, pixels[(i + j) % pixels.length]));
        const sentAt = Date.now();
        const answer = await api.stow(batch);
        for (const s of answer.body.stored ?? []) sent.push({ level: 'IV', sop: s.sopInstanceUid, sentAt });
        if (i % 50 === 0) log(`  flood ${i + batch.length}/${options.flood}`);
      }
    }));
    for (let i = 0; i < options.urgent; i++) {
      await new Promise((r) => setTimeout(r, options.everyMs));
      // A second film of the set-up study: built under a UID root of the same length, its Study Instance UID then set to the study's.
      const film = Buffer.from(cr(`${urgentRoots[i]}1`, pixels[(i + 7) % pixels.length]));
      const intoStudy = new Uint8Array(Buffer.from(film.toString('latin1').replace(`${urgentRoots[i]}1.1`, `${urgentRoots[i]}0.1`), 'latin1'));
      const sentAt = Date.now();
      const [stored] = (await api.stow([intoStudy])).body.stored ?? [];
      if (!stored) throw new Error('a level II film was refused');
      sent.push({ level: 'II', sop: stored.sopInstanceUid, sentAt });
    }
    await flood;
    log(`  all sent; waiting for the queue to drain`);
    await waitFor(async () => ((await queue.getJobCountByTypes('prioritized', 'waiting', 'active', 'delayed')) === 0 ? true : undefined), 'the queue to drain', 900_000);
    // Recovery: the ladder steps down after its hold once the queue is quiet.
    if (options.ladder) await waitFor(async () => (steps.at(-1)?.step === 0 ? true : undefined), 'the ladder to recover', 60_000).catch(() => log('  ladder did not recover within 60 s'));
    watching = false;
    await watch;

    const modelKeys = (await api.json<{ models: { id: string; version: string; task: string }[] }>('/health')).body.models
      .filter((m) => m.task === 'read-assist').map((m) => `${m.id}@${m.version}`);
    // Each film's clock: its upload, its first job queued and started, its last clinical model finished (BullMQ's own stamps).
    const timeline = async (film: (typeof sent)[number]) => {
      const jobs = (await Promise.all(modelKeys.map((k) => queue.getJob(readAssistJobId(film.sop, k))))).filter((j) => j?.finishedOn && j.data.deployment !== 'shadow').map((j) => j!);
      if (!jobs.length) return undefined;
      const queued = Math.min(...jobs.map((j) => j.timestamp));
      const started = Math.min(...jobs.map((j) => j.processedOn!));
      const finished = Math.max(...jobs.map((j) => j.finishedOn!));
      return { ...film, queued, started, finished };
    };
    const films = (await Promise.all(sent.map(timeline))).filter((f) => f !== undefined);
    const targets = JSON.parse(fs.readFileSync(path.join(modelsDir, 'triage-policy', 'model.json'), 'utf8')).policy.levels as { level: string; aiResultTargetMinutes: number }[];
    const levels = (['II', 'IV'] as const).map((level) => {
      const mine = films.filter((f) => f.level === level);
      const of = (span: (f: (typeof mine)[number]) => number) => summarise(mine.map((f) => span(f) / 1000));
      const targetSeconds = targets.find((t) => t.level === level)!.aiResultTargetMinutes * 60;
      const seconds = mine.map((f) => (f.finished - f.queued) / 1000);
      return {
        level, targetSeconds, n: mine.length, seconds: summarise(seconds), fromUpload: of((f) => f.finished - f.sentAt),
        stages: { upload: of((f) => f.queued - f.sentAt), queueWait: of((f) => f.started - f.queued), work: of((f) => f.finished - f.started) },
        // Whether the queue's order held: a level II film should wait for the one job running when it came, not for level IV work queued before it.
        otherLevelStartedWhileWaiting: summarise(mine.map((f) => films.filter((o) => o.level !== level && o.started > f.queued && o.started < f.started).length)),
        withinTarget: seconds.filter((s) => s <= targetSeconds).length / Math.max(1, seconds.length),
      };
    });
    const audited = (await api.audit('?action=queue.degradation&limit=100')).map((a) => `${(a.payload as { from: string }).from}->${(a.payload as { to: string }).to}`).reverse();
    return { ladder: options.ladder, levels, steps, audited };
  } finally {
    await queue.close();
    await stack.stop();
    fs.rmSync(modelsDir, { recursive: true, force: true });
  }
}

const pair = (v: Summary, digits = 2) => `${v.p50.toFixed(digits)} / ${v.p95.toFixed(digits)}`;

/** Each level's promise clock, and where its films' time went (p50 / p95 in seconds). */
function table(runs: RunResult[]): string {
  const lines = [
    '| ladder | level | target (s) | n | enqueue → result | upload → result | upload → queued | queue wait | work | films of the other level started during its wait (p50 / max) | within target |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const run of runs) for (const l of run.levels) {
    lines.push(`| ${run.ladder ? 'with' : 'without'} | ${l.level} | ${l.targetSeconds} | ${l.n} | ${pair(l.seconds)} | ${pair(l.fromUpload)} | ${pair(l.stages.upload)} | ${pair(l.stages.queueWait)} | ${pair(l.stages.work)} | ${l.otherLevelStartedWhileWaiting.p50} / ${l.otherLevelStartedWhileWaiting.max} | ${(l.withinTarget * 100).toFixed(0)} % |`);
  }
  return lines.join('\n');
}

/** Bars of p50 and p95 per level and run, against each level's target (a line). */
function svg(runs: RunResult[]): string {
  const bars = runs.flatMap((run) => run.levels.map((l) => ({ label: `${l.level} ${run.ladder ? 'with' : 'without'}`, ...l })));
  const max = Math.max(...bars.flatMap((b) => [b.seconds.p95, b.targetSeconds])) * 1.1;
  const [w, h, left, bottom] = [640, 320, 60, 40];
  const x = (i: number) => left + 20 + i * ((w - left - 20) / bars.length);
  const y = (v: number) => h - bottom - (v / max) * (h - bottom - 20);
  const parts = bars.map((b, i) => [
    `<rect x="${x(i)}" y="${y(b.seconds.p95)}" width="28" height="${y(0) - y(b.seconds.p95)}" fill="#f4a582"><title>p95 ${b.seconds.p95.toFixed(2)} s</title></rect>`,
    `<rect x="${x(i) + 30}" y="${y(b.seconds.p50)}" width="28" height="${y(0) - y(b.seconds.p50)}" fill="#4393c3"><title>p50 ${b.seconds.p50.toFixed(2)} s</title></rect>`,
    `<line x1="${x(i) - 4}" x2="${x(i) + 62}" y1="${y(b.targetSeconds)}" y2="${y(b.targetSeconds)}" stroke="#b2182b" stroke-dasharray="4 2"/>`,
    `<text x="${x(i) + 29}" y="${h - bottom + 16}" font-size="11" text-anchor="middle">${b.label}</text>`,
  ].join(''));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif">
<text x="${left}" y="14" font-size="13">Upload → AI result under a level IV flood: p95 (orange), p50 (blue), target (red dashes), seconds</text>
<line x1="${left}" x2="${left}" y1="20" y2="${y(0)}" stroke="#333"/><line x1="${left}" x2="${w}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>
${[0, 0.25, 0.5, 0.75, 1].map((f) => `<text x="${left - 6}" y="${y(f * max) + 4}" font-size="10" text-anchor="end">${(f * max).toFixed(1)}</text>`).join('')}
${parts.join('\n')}
</svg>`;
}

async function main() {
  const { values } = parseArgs({ options: {
    smoke: { type: 'boolean', default: false }, shadow: { type: 'boolean', default: false }, rounds: { type: 'string' }, senders: { type: 'string' },
    flood: { type: 'string' }, urgent: { type: 'string' }, every: { type: 'string' }, scale: { type: 'string' },
  } });
  const smoke = values.smoke!;
  const common = {
    flood: Number(values.flood ?? (smoke ? 60 : 300)), urgent: Number(values.urgent ?? (smoke ? 6 : 40)),
    everyMs: Number(values.every ?? (smoke ? 300 : 500)), scale: Number(values.scale ?? (smoke ? 0.02 : 1)), senders: Number(values.senders ?? 4),
  };
  if (smoke) {
    const run = await runOnce({ ...common, ladder: true });
    console.log(`SMOKE ${JSON.stringify({ steps: run.steps.map((s) => s.step), audited: run.audited })}`);
    return;
  }
  if (values.shadow) {
    const batch = Number(values.flood ?? 60);
    const films = (await filmPixels(batch)).map((pixels, i) => cr(`1.2.826.0.1.3680043.10.1.91.${Date.now()}.${i}`, pixels));
    await writeShadowCost(films, { batch, rounds: Number(values.rounds ?? 5) });
    return;
  }
  const dir = path.join(repoRoot, 'benchmarks', 'results', new Date().toISOString().slice(0, 10));
  fs.mkdirSync(dir, { recursive: true });
  const runs = [await runOnce({ ...common, ladder: false }), await runOnce({ ...common, ladder: true })];
  const setting = `${common.flood} level IV films flooded (${common.senders} requests of 10 in flight), ${common.urgent} level II films one every ${common.everyMs} ms; targets = the card's minutes as seconds × ${common.scale}; one worker, this machine (${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)} at the end).`;
  const md = `# Latency promise under a level IV flood\n\n\`npm run bench:latency\`: ${setting}\n\n${table(runs)}\n\nSteps with the ladder: ${runs[1].steps.map((s) => `${s.name}@${s.atSeconds.toFixed(1)}s`).join(' → ')}\n`;
  fs.writeFileSync(path.join(dir, 'latency-promise.json'), JSON.stringify({ options: common, runs }, null, 2));
  fs.writeFileSync(path.join(dir, 'latency-promise.md'), md);
  fs.writeFileSync(path.join(dir, 'latency-promise.svg'), svg(runs));
  console.log(`\n${md}\nwritten to ${path.relative(repoRoot, dir)}/latency-promise.{json,md,svg}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  main().catch((error) => { console.error(error); process.exit(1); });
}

