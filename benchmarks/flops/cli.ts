/**
 * Achieved GFLOP/s of ResNet-50 (v1, 1×3×224×224, FP32) in onnxruntime-node vs. this
 * machine's measured GEMM peak and the FMA roofline.
 *
 *   npx tsx benchmarks/flops/cli.ts [--budget-ms 60000] [--threads N] [--model resnet50|tiny] [--json out.json] [--rebuild]
 *
 * Prints a table; --json also writes the full FlopsResult.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { measureFlops } from './measure.ts';
import { ensureModels } from './models.ts';
import type { FlopsModel, FlopsResult } from './result.ts';

const { values } = parseArgs({
  options: {
    'budget-ms': { type: 'string', default: '60000' },
    threads: { type: 'string' },
    model: { type: 'string', default: 'resnet50' },
    json: { type: 'string' },
    rebuild: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
  },
});

if (values.model !== 'resnet50' && values.model !== 'tiny') throw new Error(`--model must be resnet50 or tiny, not ${values.model}`);
if (values.rebuild) ensureModels(undefined, true);

const result = await measureFlops({
  budgetMs: Number(values['budget-ms']),
  threads: values.threads !== undefined ? Number(values.threads) : undefined,
  model: values.model as FlopsModel,
  onProgress: values.quiet ? undefined : (msg) => console.error(`  ${msg}`),
});

printTable(result);
if (values.json) fs.writeFileSync(values.json, JSON.stringify(result, null, 2) + '\n');

function printTable(r: FlopsResult) {
  const f = (x: number, d = 1) => x.toFixed(d);
  const rows: [string, string][] = [
    ['model', `${r.model.name} (${r.model.variant}), input ${r.model.inputShape.join('×')}`],
    ['GFLOP / inference', `${f(r.model.gflop, 3)} (2·MACs of Conv+Gemm; +${f(r.model.otherGflop, 3)} bias/ReLU/Add/pool not counted)`],
    ['latency median / p95', `${f(r.latency.medianMs)} / ${f(r.latency.p95Ms)} ms (${r.latency.runs} runs)`],
    ['achieved', `${f(r.achievedGflopsPerSec)} GFLOP/s`],
    ['GEMM peak (onnxruntime)', `${f(r.gemm.peakGflopsPerSec)} GFLOP/s (MatMul ${r.gemm.n}³, ${r.gemm.threads} thread(s), median ${f(r.gemm.latency.medianMs, 2)} ms)`],
    ['FMA roofline', `${f(r.roofline.gflopsPerSec)} GFLOP/s = ${r.roofline.cores} cores × ${r.roofline.flopsPerCycle} FLOP/cycle × ${f(r.roofline.clockMHz, 0)} MHz`],
    ['  FLOP/cycle basis', r.roofline.flopsPerCycleBasis],
    ['  clock source', r.roofline.clockSource],
    ['achieved ÷ GEMM peak', `${f(r.ratios.ofMeasuredPeak, 3)} (goal ≥ ${r.goal.ofMeasuredPeak}: ${r.goal.met ? 'met' : 'NOT met'})`],
    ['achieved ÷ roofline', f(r.ratios.ofRoofline, 3)],
    ['GEMM peak ÷ roofline', f(r.ratios.gemmOfRoofline, 3)],
    ['session options', JSON.stringify(r.sessionOptions)],
    ['onnxruntime / load avg', `${r.onnxruntimeVersion} / ${r.loadAverage.map((x) => x.toFixed(2)).join(' ')}`],
    ['elapsed', `${f(r.elapsedMs / 1000)} s of ${f(r.budgetMs / 1000)} s budget`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  console.log(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n'));
  console.log('\nvariants (model, phase 1):');
  console.log('  threads  spinning  median ms  p95 ms  runs  GFLOP/s');
  for (const v of r.variants) console.log(`  ${String(v.threads).padStart(7)}  ${String(v.spinning).padStart(8)}  ${f(v.medianMs).padStart(9)}  ${f(v.p95Ms).padStart(6)}  ${String(v.runs).padStart(4)}  ${f(v.gflopsPerSec).padStart(7)}`);
  console.log('paired phase (alternating bursts; headline numbers come from here):');
  console.log('  threads  model ms med/p95   GFLOP/s   GEMM N  GEMM ms  GFLOP/s  model÷GEMM');
  for (const p of r.paired) console.log(`  ${String(p.threads).padStart(7)}  ${(f(p.model.medianMs) + '/' + f(p.model.p95Ms)).padStart(15)}  ${f(p.modelGflopsPerSec).padStart(8)}  ${String(p.gemmN).padStart(7)}  ${f(p.gemm.medianMs, 2).padStart(7)}  ${f(p.gemmGflopsPerSec).padStart(7)}  ${f(p.modelGflopsPerSec / p.gemmGflopsPerSec, 3).padStart(10)}`);
  console.log(`  other processes: ${f(r.otherLoad.otherCores, 2)} cores busy, steal ${f(r.otherLoad.stealCores, 2)}, over ${f(r.otherLoad.seconds)} s`);
  console.log('GEMM (explored):');
  console.log('     N  threads  median ms  runs  GFLOP/s');
  for (const g of r.gemm.explored) console.log(`  ${String(g.n).padStart(4)}  ${String(g.threads).padStart(7)}  ${f(g.medianMs, 2).padStart(9)}  ${String(g.runs).padStart(4)}  ${f(g.gflopsPerSec).padStart(7)}`);
  console.log('limits:');
  for (const l of r.limits) console.log(`  - ${l}`);
}
