/**
 * Preload that counts the PostgreSQL statements a Lantern process sends through `pg`, by statement
 * shape (first 90 characters), with the bytes of text + parameters and the round trip's mean time.
 * On SIGUSR2 it writes `queries-<pid>.json` into $QUERY_COUNT_DIR (default the working directory)
 * and starts counting afresh, so a caller can count one phase:
 *
 *   PRELOAD=$PWD/tools/hot-path/count-queries.cjs QUERY_COUNT_DIR=/tmp/q npx tsx tools/hot-path/cpu-split.mts 30 1
 */
const fs = require('node:fs');
const path = require('node:path');
const pg = require('pg');

let counts = new Map();
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function countedQuery(config, values, callback) {
  const text = typeof config === 'string' ? config : config?.text ?? '?';
  const parameters = Array.isArray(values) ? values : config?.values ?? [];
  const shape = text.replace(/\s+/g, ' ').slice(0, 90);
  const entry = counts.get(shape) ?? { n: 0, bytes: 0, ms: 0 };
  counts.set(shape, entry);
  entry.n += 1;
  entry.bytes += text.length + parameters.reduce((sum, value) => sum + (value == null ? 0 : String(typeof value === 'object' && !Buffer.isBuffer(value) ? JSON.stringify(value) : value).length), 0);
  const started = process.hrtime.bigint();
  const answer = query.call(this, config, values, callback);
  answer?.then?.(() => { entry.ms += Number(process.hrtime.bigint() - started) / 1e6; }, () => undefined);
  return answer;
};
process.on('SIGUSR2', () => {
  const rows = [...counts.entries()].sort((a, b) => b[1].n - a[1].n).map(([shape, e]) => ({ shape, ...e }));
  fs.writeFileSync(path.join(process.env.QUERY_COUNT_DIR ?? '.', `queries-${process.pid}.json`), JSON.stringify(rows, null, 1));
  counts = new Map();
});
