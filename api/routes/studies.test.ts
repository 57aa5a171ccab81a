import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InstancePage, SeriesSummary } from '../../contract/studies.ts';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';
import { buildSeriesImage } from '../../test/support/dicom-builder.ts';

/** Images of the large study, over two series, uploaded over STOW-RS as a modality would. */
const IMAGES = 1100;
const STUDY = '1.2.826.0.1.3680043.10.1.77.1';

type Detail = { series: SeriesSummary[]; instances: InstancePage['instances']; instancesAfter?: string; study: { status: string } };
type Failure = { error: { code: string; details?: { field: string }[] } };

describe('a study of more images than one answer holds', () => {
  let api: TestApi;
  const sop = (n: number) => `${STUDY}.${n <= 700 ? 1 : 2}.${n}`;

  beforeAll(async () => {
    api = await startTestApi();
    for (let from = 1; from <= IMAGES; from += 100) {
      const batch = Array.from({ length: 100 }, (_, i) => from + i).map((n) =>
        buildSeriesImage({ study: STUDY, series: `${STUDY}.${n <= 700 ? 1 : 2}`, sop: sop(n), seriesNumber: n <= 700 ? 1 : 2 }));
      const { status, body } = await api.client.stow(batch);
      expect(status).toBe(200);
      expect(body.stored).toHaveLength(100);
    }
  }, 300_000);
  afterAll(() => api?.stop());

  it('when the study is opened, then the answer holds its series with their counts and the first 500 images, and says where the rest are', async () => {
    const { status, body } = await api.client.json<Detail>(`/v1/studies/${STUDY}`);
    expect(status).toBe(200);
    expect(body.series.map((s) => [s.seriesNumber, s.modality, s.instances, s.queued, s.failed])).toEqual([[1, 'CT', 700, 0, 0], [2, 'CT', 400, 0, 0]]);
    expect(body.instances).toHaveLength(500);
    expect(body.instancesAfter).toEqual(expect.any(String));
    // No model reads a CT: nothing waits, and the study is a human's to read.
    expect(body.study.status).toBe('ready');
  });

  it('when the pages are followed, then every image comes once and the last page says it is the last', async () => {
    const first = (await api.client.json<Detail>(`/v1/studies/${STUDY}`)).body;
    const seen = first.instances.map((i) => i.sopInstanceUid);
    const sizes: number[] = [];
    for (let after = first.instancesAfter; after;) {
      const { status, body } = await api.client.json<InstancePage>(`/v1/studies/${STUDY}/instances?after=${encodeURIComponent(after)}&limit=400`);
      expect(status).toBe(200);
      sizes.push(body.instances.length);
      seen.push(...body.instances.map((i) => i.sopInstanceUid));
      after = body.after;
    }
    expect(sizes).toEqual([400, 200]);
    expect(new Set(seen)).toEqual(new Set(Array.from({ length: IMAGES }, (_, i) => sop(i + 1))));
    expect(seen).toHaveLength(IMAGES);
  });

  it('when a page is asked with a cursor the server never gave, a limit out of range, or for an unknown study, then it is refused by name', async () => {
    const forged = await api.client.json<Failure>(`/v1/studies/${STUDY}/instances?after=${Buffer.from('["yesterday","x"]').toString('base64url')}`);
    expect(forged.status).toBe(422);
    expect(forged.body.error.details?.[0].field).toBe('after');
    const tooMany = await api.client.json<Failure>(`/v1/studies/${STUDY}/instances?limit=5000`);
    expect(tooMany.status).toBe(422);
    const unknown = await api.client.json<Failure>('/v1/studies/1.2.3.999/instances');
    expect(unknown.status).toBe(404);
  });

  it('when the worklist is filtered by the study\'s modality, then it is found through its series', async () => {
    const { body } = await api.client.json<{ items: { studyInstanceUid: string; status: string }[] }>('/v1/worklist?modality=CT');
    expect(body.items.find((i) => i.studyInstanceUid === STUDY)).toMatchObject({ status: 'ready' });
  });
});
