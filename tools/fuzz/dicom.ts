/**
 * `npm run fuzz [-- <count> [<rngBase>]]`: the DICOM mutation campaign (dicom/fuzz.ts) at full
 * size, default 10,000 mutants with frame decoding; prints the counts and exits 1 on any
 * untyped failure, listing the seed, mutation and rng that reproduce it.
 */
import { runFuzz } from '../../dicom/fuzz.ts';
import { fuzzSeeds } from '../../dicom/fuzz-seeds.ts';

const count = Number(process.argv[2] ?? 10_000);
const rngBase = Number(process.argv[3] ?? 1);
const report = await runFuzz(fuzzSeeds(), count, { decode: true, rngBase });
console.log(JSON.stringify({ ...report, slowestMs: Math.round(report.slowestMs), totalMs: Math.round(report.totalMs) }, null, 2));
process.exitCode = report.untyped.length ? 1 : 0;
