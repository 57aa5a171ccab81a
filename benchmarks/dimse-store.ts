/**
 * `npx tsx benchmarks/dimse-store.ts [count]`: the same real CT images (530 KB, explicit VR
 * little endian, fresh UIDs each) filed into one in-process API role three times — by dcmtk's
 * storescu over DIMSE in one association (which parses and re-writes each file itself, on the
 * same cores), by Lantern's own SCU (bytes as they are), and by one STOW-RS request — and the
 * ratios per instance, in one run (each includes the off-thread parse, the blob write and the
 * database rows). Also /health's latency while storescu's transfer runs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pushInstances } from '../dicom/dimse/scu.ts';
import { startTestApi } from '../test/support/api-role.ts';
import { dcmtk } from '../test/support/dcmtk.ts';
import { withFreshUids } from '../test/support/dicom-builder.ts';
import { sharedData } from '../test/support/shared-data.ts';
import { quantile } from './stats.ts';

const count = Number(process.argv[2] ?? 40);
const source = fs.readFileSync(path.join(sharedData, 'dicom/cornerstone-wadoloader/testImages/CTImage.dcm_LittleEndianExplicitTransferSyntax_1.2.840.10008.1.2.1.dcm'));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-dimse-bench-'));
const api = await startTestApi({
  dimse: { host: '127.0.0.1', port: 0, aeTitle: 'LANTERN', maxPduLength: 65536, maxAssociations: 4, idleTimeoutSeconds: 60, peers: [{ aeTitle: 'BENCH', username: 'tester' }] },
});
try {
  const viaDimse = Array.from({ length: count }, (_, i) => {
    const file = path.join(dir, `${i}.dcm`);
    fs.writeFileSync(file, withFreshUids(source, 10_000 + i));
    return file;
  });
  const viaStow = Array.from({ length: count }, (_, i) => withFreshUids(source, 20_000 + i));
  const viaScu = Array.from({ length: count }, (_, i) => withFreshUids(source, 40_000 + i));
  // One of each first, so neither side pays for its parsing thread's start.
  const warm = path.join(dir, 'warm.dcm');
  fs.writeFileSync(warm, withFreshUids(source, 9_999));
  await dcmtk('storescu', ['-aet', 'BENCH', '-aec', 'LANTERN', '127.0.0.1', String(api.dimse!.port), warm]);
  await api.client.stow([withFreshUids(source, 30_000)]);

  const health: number[] = [];
  let storing = true;
  const dimseStart = performance.now();
  const run = dcmtk('storescu', ['-aet', 'BENCH', '-aec', 'LANTERN', '127.0.0.1', String(api.dimse!.port), ...viaDimse], 600_000).finally(() => { storing = false; });
  while (storing) {
    const asked = performance.now();
    await fetch(`${api.url}/health`);
    health.push(performance.now() - asked);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const dimseMs = performance.now() - dimseStart;
  if ((await run).code !== 0) throw new Error('storescu failed');

  const scuStart = performance.now();
  const pushed = await pushInstances({ calledAe: 'LANTERN', host: '127.0.0.1', port: api.dimse!.port, callingAe: 'BENCH' }, viaScu);
  const scuMs = performance.now() - scuStart;
  if (pushed.some((r) => r.status !== 0)) throw new Error('a push failed');

  const stowStart = performance.now();
  const { status } = await api.client.stow(viaStow);
  const stowMs = performance.now() - stowStart;
  if (status !== 200) throw new Error(`STOW answered ${status}`);

  console.log(JSON.stringify({
    instances: count,
    instanceBytes: source.length,
    storescuMsPerInstance: +(dimseMs / count).toFixed(2),
    lanternScuMsPerInstance: +(scuMs / count).toFixed(2),
    stowMsPerInstance: +(stowMs / count).toFixed(2),
    storescuOverStow: +(dimseMs / stowMs).toFixed(3),
    lanternScuOverStow: +(scuMs / stowMs).toFixed(3),
    healthDuringDimse: { answers: health.length, p50Ms: +quantile(health, 0.5).toFixed(1), p99Ms: +quantile(health, 0.99).toFixed(1) },
  }, null, 2));
} finally {
  await api.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}

