/**
 * Encoding the real findings SR (RG1_J2KI with the adult pneumonia model's finding, region and
 * a not-applicable finding: what every CR study writes twice) as a Part 10 file: dcmjs 0.51's
 * writer against the lean encoder (dicom/sr/part10-writer.ts), both from the same naturalised
 * data set and both including dcmjs's denaturalising, as writePart10 does. The arms alternate
 * in one process (which goes first flips every round); each round times `batch` calls of each
 * one by one. Also the lean encoder alone (data set already denaturalised). Checks the bytes
 * are equal before timing.
 *
 *   npx tsx tools/hot-path/sr-encode-bench.ts [rounds=40] [batch=25]
 */
import fs from 'node:fs';
import os from 'node:os';
import { summarise, ratio } from '../../benchmarks/stats.ts';
import { fileMetaOf, writePart10, writePart10WithDcmjs } from '../../dicom/sr/dcmjs-io.ts';
import { measurementReport } from '../../dicom/sr/measurement-report.ts';
import { encodePart10, type DenaturalisedDataset } from '../../dicom/sr/part10-writer.ts';
import { sourceImage } from '../../dicom/sr/source-attributes.ts';
import { declined, findingsReport, pneumonia } from '../../dicom/sr/test-reports.ts';
import { files } from '../../test/support/shared-data.ts';

const rounds = Number(process.argv[2] ?? 40);
const batch = Number(process.argv[3] ?? 25);

const dataset = measurementReport(findingsReport(sourceImage(new Uint8Array(fs.readFileSync(files.chestJ2k))), [pneumonia, declined]));
const reference = writePart10WithDcmjs(dataset);
const meta = fileMetaOf(dataset);
const lean = writePart10(dataset).bytes;
if (!Buffer.from(lean).equals(Buffer.from(reference.bytes))) throw new Error('the lean encoder\'s bytes differ from dcmjs\'s');

const arms: Record<string, () => unknown> = {
  dcmjs: () => writePart10WithDcmjs(dataset),
  lean: () => writePart10(dataset),
  'lean, encode only': () => encodePart10(reference.written as DenaturalisedDataset, meta),
};
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(arms).map((name) => [name, []]));
const names = Object.keys(arms);
for (const name of names) for (let i = 0; i < 50; i++) arms[name]();

for (let round = 0; round < rounds; round++) {
  for (const name of round % 2 ? [...names].reverse() : names) {
    for (let i = 0; i < batch; i++) {
      const start = process.hrtime.bigint();
      arms[name]();
      samples[name].push(Number(process.hrtime.bigint() - start));
    }
  }
}

const summaries = Object.fromEntries(names.map((name) => [name, summarise(samples[name])]));
console.log(`findings SR: ${lean.byteLength} bytes; ${rounds} rounds × ${batch} calls per arm, alternating; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const name of names) {
  const s = summaries[name];
  console.log(`${name.padEnd(18)} ns/op p50 ${Math.round(s.p50).toLocaleString('en').padStart(11)}  p95 ${Math.round(s.p95).toLocaleString('en').padStart(11)}  mean ${Math.round(s.mean).toLocaleString('en').padStart(11)}`);
}
console.log(`dcmjs ÷ lean: p50 ${ratio(summaries.dcmjs.p50, summaries.lean.p50)}×, p95 ${ratio(summaries.dcmjs.p95, summaries.lean.p95)}×`);
