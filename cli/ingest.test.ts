import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../test/support/api-role.ts';
import { files } from '../test/support/shared-data.ts';
import { ingestPaths } from './ingest.ts';

/** `lantern ingest` against the API role: each file's outcome as the STOW-RS answer gives it. */
describe('lantern ingest', () => {
  let api: TestApi;
  let folder: string;

  beforeAll(async () => {
    api = await startTestApi();
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-ingest-'));
    for (const [name, file] of [['film.dcm', files.chestRaw], ['report.dcm', files.report], ['truncated.dcm', files.truncated]]) {
      fs.copyFileSync(file, path.join(folder, name));
    }
  }, 120_000);
  afterAll(async () => {
    await api?.stop();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it('when a folder of a film, a report and a truncated file is ingested twice, then the film and report are stored then held, and the truncated file is rejected with Lantern\'s reason', async () => {
    const byName = (reports: Awaited<ReturnType<typeof ingestPaths>>) => [...reports].sort((a, b) => a.file.localeCompare(b.file));
    const first = byName(await ingestPaths(api.url, api.token, [folder]));
    expect(first.map((r) => [path.basename(r.file), r.status])).toEqual([['film.dcm', 'stored'], ['report.dcm', 'stored'], ['truncated.dcm', 'rejected']]);
    expect(first[2].detail).toMatch(/^TRUNCATED_DICOM: Truncated DICOM/);
    expect(first[0].detail).toMatch(/^study [0-9.]+$/);
    const second = byName(await ingestPaths(api.url, api.token, [folder]));
    expect(second.map((r) => r.status)).toEqual(['duplicate', 'duplicate', 'rejected']);
  });
});
