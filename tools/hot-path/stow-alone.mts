/**
 * STOW-RS of RG1_J2KI with nothing beside it: `lantern start` with no workers, one upload at a
 * time, the stack let go quiet between them — is the upload's own tail there without a decode
 * beside it? Prints p50/p95/p99 of the request.
 *
 *   npx tsx tools/hot-path/stow-alone.mts [uploads=100] [workers=0]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { studyCopies } from '../../benchmarks/figures/pipeline.ts';
import { summarise } from '../../benchmarks/stats.ts';
import { apiClient } from '../../test/support/api-client.ts';
import { files } from '../../test/support/shared-data.ts';
import { startStack } from '../../test/support/stack.ts';

const uploads = Number(process.argv[2] ?? 100);
const workers = Number(process.argv[3] ?? 0);
const stack = await startStack({ workers, env: { LANTERN_RATE_LIMIT: '0' } });
try {
  const api = apiClient(stack.baseUrl, stack.token);
  const times: number[] = [];
  for (const bytes of studyCopies(files.chestJ2k, uploads + 5, 2_000_000)) {
    const start = performance.now();
    const { status } = await api.stow([bytes]);
    if (status !== 200) throw new Error(`upload failed with ${status}`);
    times.push(performance.now() - start);
    await sleep(100);
  }
  console.log('STOW-RS alone (ms)', summarise(times.slice(5)));
} finally {
  await stack.stop();
}
