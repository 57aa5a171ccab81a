/**
 * The DIMSE SCP as a newcomer turns it on: `lantern start` with LANTERN_DIMSE_PORT and a peer,
 * the banner saying where it listens, a modality's storescu filing a chest film that the API
 * then serves, and Ctrl-C closing the port with everything else.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDicom } from '../dicom/parse.ts';
import { apiClient } from './support/api-client.ts';
import { dcmtk } from './support/dcmtk.ts';
import { withFreshUids } from './support/dicom-builder.ts';
import { files } from './support/shared-data.ts';
import { startStack, waitFor } from './support/stack.ts';

describe('lantern start with the DIMSE SCP', () => {
  it('when LANTERN_DIMSE_PORT and a peer are set, then the banner names the SCP, storescu files a film the API serves, and stopping closes the port', async () => {
    const stack = await startStack({ workers: 0, env: { LANTERN_DIMSE_PORT: '0', LANTERN_DIMSE_PEERS: 'CT1=admin' } });
    const film = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-dimse-start-')), 'film.dcm');
    let port: string;
    try {
      const listening = /DIMSE SCP LANTERN@127\.0\.0\.1:(\d+)/.exec(stack.output());
      expect(listening, stack.output()).not.toBeNull();
      port = listening![1];
      expect((await dcmtk('echoscu', ['-aet', 'CT1', '-aec', 'LANTERN', '127.0.0.1', port])).code).toBe(0);
      const bytes = withFreshUids(fs.readFileSync(files.chestJ2k), 31);
      fs.writeFileSync(film, bytes);
      const stored = await dcmtk('storescu', ['-v', '-xw', '-aet', 'CT1', '-aec', 'LANTERN', '127.0.0.1', port, film]);
      expect(stored.output).toMatch(/Received Store Response \(Success\)/);
      const { meta } = parseDicom(bytes);
      const { status, body } = await apiClient(stack.baseUrl, stack.token).study(meta.studyInstanceUid);
      expect(status).toBe(200);
      // The film, and the AI results SR of the children's model, answered at ingest (no age recorded) a moment later.
      const client = apiClient(stack.baseUrl, stack.token);
      const instances = await waitFor(async () => {
        const listed = (await client.study(meta.studyInstanceUid)).body.instances;
        return listed.length === 2 ? listed : undefined;
      }, 'the AI results SR', 30_000);
      expect(instances.filter((i) => i.image !== undefined).map((i) => i.sopInstanceUid)).toEqual([meta.sopInstanceUid]);
      expect(instances.filter((i) => i.image === undefined)).toHaveLength(1);
    } finally {
      await stack.stop();
      fs.rmSync(path.dirname(film), { recursive: true, force: true });
    }
    const afterStop = await dcmtk('echoscu', ['-aet', 'CT1', '-aec', 'LANTERN', '127.0.0.1', port!]);
    expect(afterStop.code).not.toBe(0);
  });
});
