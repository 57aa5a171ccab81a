/**
 * Import directions the layout promises (../shared/DESIGN.md): run-time code never imports
 * offline tooling, layers import only downward (roles/ wires them all), and the contract
 * depends on nothing but zod. Read from the sources, so a
 * wrong import fails here before it ships.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../config.ts';

const RUNTIME = ['roles', 'api', 'pipeline', 'queue', 'inference', 'store', 'dicom', 'cli', 'contract'];

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(relative);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [relative] : [];
  });
}

const importsOf = (file: string) =>
  [...fs.readFileSync(path.join(repoRoot, file), 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'([^']+)'/g)].map((m) => m[1]);

describe('import directions', () => {
  it('when run-time code imports, then never from tools/, benchmarks/ or test/', () => {
    const offending = RUNTIME.flatMap(sources).flatMap((file) =>
      importsOf(file).filter((target) => /(^|\/)(tools|benchmarks|test)\//.test(path.posix.join(path.posix.dirname(file), target))).map((target) => `${file} → ${target}`));
    expect(offending).toEqual([]);
  });

  it('when a layer imports, then only downward: roles → api → pipeline → queue / inference / store → dicom / contract', () => {
    const above: Record<string, string[]> = {
      api: ['roles'],
      pipeline: ['roles', 'api'],
      queue: ['roles', 'api', 'pipeline', 'inference', 'store', 'dicom'],
      inference: ['roles', 'api', 'pipeline', 'queue', 'store'],
      store: ['roles', 'api', 'pipeline', 'queue', 'inference', 'dicom'],
      dicom: ['roles', 'api', 'pipeline', 'queue', 'inference', 'store'],
    };
    const offending = Object.entries(above).flatMap(([layer, forbidden]) => sources(layer).flatMap((file) =>
      importsOf(file)
        .map((target) => path.posix.join(path.posix.dirname(file), target))
        .filter((resolved) => forbidden.some((top) => resolved.startsWith(`${top}/`)))
        .map((resolved) => `${file} → ${resolved}`)));
    expect(offending).toEqual([]);
  });

  it('when the contract imports, then only zod and itself', () => {
    const offending = sources('contract').flatMap((file) => importsOf(file).filter((target) => target !== 'zod' && !target.startsWith('./')).map((target) => `${file} → ${target}`));
    expect(offending).toEqual([]);
  });
});
