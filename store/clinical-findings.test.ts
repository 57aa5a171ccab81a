import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../config.ts';

/**
 * The reads of `findings` that may see a shadow run's findings: model teams' (live comparison,
 * drift), each of which says which version it shows. Every other read names CLINICAL_FINDINGS;
 * a new read of the table fails here until it is one or the other.
 */
const MODEL_TEAM_READS = ['store/model-comparison.ts', 'store/model-drift.ts', 'store/clinical-findings.ts', 'store/deployments.ts'];

const sources = (dir: string): string[] => fs.readdirSync(path.join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) => {
  const rel = path.join(dir, entry.name);
  if (entry.isDirectory()) return entry.name === 'migrations' ? [] : sources(rel);
  return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [rel] : [];
});

describe('clinician reads of findings', () => {
  it('when the store, pipeline and API read the findings table, then every read outside the model-team reads goes through CLINICAL_FINDINGS', () => {
    const direct = ['store', 'pipeline', 'api', 'inference', 'roles'].flatMap(sources)
      .filter((file) => !MODEL_TEAM_READS.includes(file))
      .flatMap((file) => fs.readFileSync(path.join(repoRoot, file), 'utf8').split('\n')
        .map((line, i) => ({ where: `${file}:${i + 1}`, line }))
        .filter(({ line }) => /\b(from|join)\s+findings\b/i.test(line)));
    expect(direct.map((d) => `${d.where}: ${d.line.trim()}`)).toEqual([]);
  });
});
