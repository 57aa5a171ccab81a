/**
 * The store's writes on the image hot path alone, over PGlite served in its own process (what
 * `lantern start` runs): N films recorded (recordInstance, each a new study awaiting one model),
 * then each film's findings (recordFindings, one finding with a 28×28 heatmap, as the adult model
 * hands back), each call timed: the summary of each (benchmarks/stats.ts), as one JSON line. Arms alternate between checkouts.
 *
 *   npx tsx tools/hot-path/persist-bench.ts [films=200] [label]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

if (process.argv[2] === 'serve') {
  const { servePglite } = await import('../../store/pglite-server.ts');
  const served = await servePglite(process.argv[3]);
  console.log(served.url);
} else {
  const { openDatabase } = await import('../../store/db.ts');
  const { migrate } = await import('../../store/migrate.ts');
  const { createStore } = await import('../../store/store.ts');
  const { finding, newInstance } = await import('../../store/test-fixtures.ts');
  const { summarise } = await import('../../benchmarks/stats.ts');
  const films = Number(process.argv[2] ?? 200);
  const label = process.argv[3] ?? '';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'persist-bench-'));
  const server = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'serve', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve) => server.stdout!.once('data', (chunk) => resolve(String(chunk).trim())));
  const db = await openDatabase({ databaseUrl: url, poolMax: 1, namedStatements: true });
  try {
    await migrate(db);
    const store = createStore(db, { prioritise: (s) => ({ priority: s.findings.length, why: 'bench', whyZh: 'bench', detail: { level: 'IV' } }) });
    const modelKey = `${finding('x').model.id}@${finding('x').model.version}`;
    const heatmap = { width: 28, height: 28, data: Array.from({ length: 784 }, (_, i) => Math.abs(Math.sin(i)) ** 3), region: { left: 0, top: 0, size: 2048 } };
    const instances = Array.from({ length: films }, () => newInstance({ pendingModels: [modelKey] }));
    const received: number[] = [];
    for (const film of instances) {
      const started = performance.now();
      await store.recordInstance(film, 'bench');
      received.push(performance.now() - started);
    }
    const times: number[] = [];
    for (const film of instances) {
      const started = performance.now();
      await store.recordFindings(film.sopInstanceUid, [{ ...finding(film.sopInstanceUid, 0.7), heatmap }], `model:${modelKey}`);
      times.push(performance.now() - started);
    }
    // The first calls warm the session and the statement plans: left out.
    const figures = (all: number[]) => summarise(all.slice(Math.min(20, films / 4)));
    console.log(JSON.stringify({ label, films, recordFindings: figures(times), recordInstance: figures(received), load: os.loadavg()[0].toFixed(2) }));
    await store.close();
  } finally {
    await db.close().catch(() => undefined);
    server.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
