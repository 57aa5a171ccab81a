import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStorescp, type Storescp } from '../../test/support/dcmtk.ts';
import { withFreshUids } from '../../test/support/dicom-builder.ts';
import { sharedData } from '../../test/support/shared-data.ts';
import { splitPart10 } from './part10.ts';
import { DimsePushError, pushInstances } from './scu.ts';

const ct = (name: string) => path.join(sharedData, 'dicom/cornerstone-wadoloader/testImages', name);
const sources = {
  implicit: ct('CTImage.dcm'),
  explicit: ct('CTImage.dcm_LittleEndianExplicitTransferSyntax_1.2.840.10008.1.2.1.dcm'),
  jpeg: ct('CTImage.dcm_JPEGProcess1TransferSyntax_1.2.840.10008.1.2.4.50.dcm'),
  rle: ct('CTImage.dcm_RLELosslessTransferSyntax_1.2.840.10008.1.2.5.dcm'),
};
// Each its own instance, so dcmtk's storescp (which names files by SOP Instance UID) keeps them apart.
const files = Object.fromEntries(Object.entries(sources).map(([key, file], i) => [key, withFreshUids(fs.readFileSync(file), 900 + i)])) as Record<keyof typeof sources, Uint8Array>;

let dir: string;
let acceptAll: Storescp;
let uncompressedOnly: Storescp;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-scu-'));
  [acceptAll, uncompressedOnly] = await Promise.all([
    startStorescp(path.join(dir, 'all'), { aeTitle: 'PACS', acceptAll: true }),
    startStorescp(path.join(dir, 'plain'), { aeTitle: 'PLAIN' }),
  ]);
});

afterAll(async () => {
  await Promise.all([acceptAll?.stop(), uncompressedOnly?.stop()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The data set storescp wrote for this instance (its `-B` file), beside the one we sent. */
function receivedDataSet(scp: Storescp, sopInstanceUid: string): Uint8Array | undefined {
  const file = scp.received().find((name) => name.endsWith(sopInstanceUid));
  return file ? splitPart10(fs.readFileSync(file)).dataSet : undefined;
}

describe('pushInstances (C-STORE SCU) to dcmtk storescp', () => {
  it('when Lantern pushes objects in four transfer syntaxes, then each is stored and its data set arrives byte for byte as stored', async () => {
    const sent = Object.values(files);
    const results = await pushInstances({ calledAe: 'PACS', host: '127.0.0.1', port: acceptAll.port, callingAe: 'LANTERN' }, sent);
    expect(results.map((r) => r.status)).toEqual([0, 0, 0, 0]);
    for (const file of sent) {
      const { sopInstanceUid, dataSet } = splitPart10(file);
      expect(Buffer.compare(Buffer.from(receivedDataSet(acceptAll, sopInstanceUid)!), Buffer.from(dataSet))).toBe(0);
    }
  });

  it('when the peer accepts only uncompressed syntaxes, then the compressed objects are reported unsent and never converted, the others stored', async () => {
    const results = await pushInstances({ calledAe: 'PLAIN', host: '127.0.0.1', port: uncompressedOnly.port, callingAe: 'LANTERN' },
      [files.implicit, files.jpeg, files.explicit, files.rle]);
    expect(results.map((r) => r.status)).toEqual([0, undefined, 0, undefined]);
    expect(results[1].comment).toMatch(/accepted none of its transfer syntaxes/);
    expect(receivedDataSet(uncompressedOnly, splitPart10(files.jpeg).sopInstanceUid)).toBeUndefined();
    const implicit = splitPart10(files.implicit);
    expect(Buffer.compare(Buffer.from(receivedDataSet(uncompressedOnly, implicit.sopInstanceUid)!), Buffer.from(implicit.dataSet))).toBe(0);
  });

  it('when nobody listens, then the push fails as a whole with a DimsePushError; a file that is not Part 10 is refused before any connection', async () => {
    await expect(pushInstances({ calledAe: 'PACS', host: '127.0.0.1', port: 1, callingAe: 'LANTERN' }, [files.explicit]))
      .rejects.toThrow(DimsePushError);
    await expect(pushInstances({ calledAe: 'PACS', host: '127.0.0.1', port: acceptAll.port, callingAe: 'LANTERN' }, [new Uint8Array(200)]))
      .rejects.toThrow(/Part 10/);
  });
});
