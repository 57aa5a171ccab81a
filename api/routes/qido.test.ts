/**
 * QIDO-RS against the API role in this process, over HTTP: the shapes OHIF's study and series
 * lists read, the matching it sends, errors, site isolation — and the real `dicomweb-client`
 * package (OHIF's DICOMweb client) searching studies, series and instances.
 */
import fs from 'node:fs';
import { api as dicomweb } from 'dicomweb-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';
import { withFreshUids } from '../../test/support/dicom-builder.ts';
import { fetchXhr } from '../../test/support/fetch-xhr.ts';
import { files } from '../../test/support/shared-data.ts';

type Dataset = Record<string, { vr: string; Value?: unknown[] }>;
const first = (d: Dataset, tag: string) => d[tag]?.Value?.[0];

describe('QIDO-RS', () => {
  let api: TestApi;
  let ct: string;
  let chest: string;
  let elsewhere: string;
  /** The AI results SRs stored in the chest study: the children's model is answered at ingest, the film recording no age. */
  let chestAiSrs: string[];

  const qido = async (path: string, headers: Record<string, string> = api.authorization) => {
    const response = await fetch(`${api.url}${path}`, { headers });
    return { status: response.status, type: response.headers.get('content-type'), warning: response.headers.get('warning'), body: await response.json() as Dataset[] & { error?: { code: string } } };
  };

  beforeAll(async () => {
    api = await startTestApi();
    const stored = (await api.client.stow([files.ct, files.chestJ2k])).body.stored!;
    [ct, chest] = stored.map((s) => s.studyInstanceUid);
    // No model reads CT; the chest film's header rules out the children's model, answered at ingest with its SR.
    const [ctAiSrs, chestSrs] = await Promise.all(stored.map((s) => api.answeredAtIngest(s.sopInstanceUid)));
    expect(ctAiSrs).toEqual([]);
    chestAiSrs = chestSrs;
    expect(chestAiSrs).toHaveLength(1);
    await api.store.createSite({ id: 'north', name: 'North', level: 'village' }, 'test');
    const north = await api.signIn('north-reader', ['radiologist'], ['north']);
    const north1 = (await north.client.stow([withFreshUids(fs.readFileSync(files.chestRaw), 901)])).body.stored![0];
    elsewhere = north1.studyInstanceUid;
    await api.answeredAtIngest(north1.sopInstanceUid);
  }, 120_000);
  afterAll(() => api?.stop());

  it('when studies are searched with no key, then the user\'s sites\' studies come as DICOM JSON with what OHIF\'s study list reads', async () => {
    const { status, type, body } = await qido('/dicomweb/studies');
    expect(status).toBe(200);
    expect(type).toBe('application/dicom+json');
    expect(body.map((d) => first(d, '0020000D'))).toEqual([chest, ct]);
    const [rg1] = body;
    expect(rg1['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'CompressedSamples^RG1' }] });
    for (const tag of ['00080020', '00080030', '00080050', '00080061', '00080090', '00100020', '00100030', '00100040', '00200010', '00201206', '00201208', '00081030']) {
      expect(rg1, tag).toHaveProperty(tag);
    }
    expect(first(rg1, '00081190')).toBe(`${api.url}/dicomweb/studies/${chest}`);
    // Number of Study Related Instances: the film and the AI results SR of the model answered at ingest.
    expect(rg1['00201208']).toEqual({ vr: 'IS', Value: [1 + chestAiSrs.length] });
  });

  it('when OHIF\'s keys come by keyword or by tag, with wildcards, ranges and lists, then only matching studies come back', async () => {
    const uids = async (query: string) => (await qido(`/dicomweb/studies?${query}`)).body.map((d) => first(d, '0020000D'));
    expect(await uids('PatientName=*samples*&fuzzymatching=true')).toEqual([chest]);
    expect(await uids('00100020=2178309')).toEqual([ct]);
    expect(await uids('StudyDate=20040101-')).toEqual([chest]);
    expect(await uids('StudyDate=-20031231')).toEqual([ct]);
    expect(await uids('ModalitiesInStudy=CT,MR')).toEqual([ct]);
    expect(await uids(`StudyInstanceUID=${ct}&StudyInstanceUID=${chest}`)).toEqual([chest, ct]);
    expect(await uids('AccessionNumber=nothing-like-it')).toEqual([]);
    expect(await uids('limit=1&offset=1')).toEqual([ct]);
  });

  it('when a study of another site matches, then it is not listed', async () => {
    expect((await qido(`/dicomweb/studies?StudyInstanceUID=${elsewhere}`)).body).toEqual([]);
    expect((await qido(`/dicomweb/studies/${elsewhere}/series`)).status).toBe(404);
  });

  it('when a key Lantern does not match on is sent, then it is ignored and named in a Warning header', async () => {
    const { status, warning, body } = await qido('/dicomweb/studies?PatientWeight=70&00101010=040Y');
    expect(status).toBe(200);
    expect(body).toHaveLength(2);
    expect(warning).toMatch(/^299 lantern ".*PatientWeight, 00101010/);
  });

  it('when a value is malformed or the limit too large, then it is a 422 naming the key, and nobody unauthenticated is answered', async () => {
    for (const query of ['StudyDate=2004', 'StudyInstanceUID=1.02.3', 'limit=0', 'limit=abc', 'includefield=NoSuchKeyword']) {
      const { status, body } = await qido(`/dicomweb/studies?${query}`);
      expect(status, query).toBe(422);
      expect((body as unknown as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED');
    }
    expect((await qido('/dicomweb/studies', {})).status).toBe(401);
    expect((await qido('/dicomweb/studies', { ...api.authorization, accept: 'application/dicom+xml' })).status).toBe(406);
  });

  it('when the limit is over the maximum, then the maximum is answered and a Warning says so', async () => {
    const { status, warning, body } = await qido('/dicomweb/studies?limit=100000');
    expect(status).toBe(200);
    expect(body).toHaveLength(2);
    expect(warning).toMatch(/limit 100000 exceeds the maximum of 1000/);
  });

  it('when series and instances are searched, then they carry what OHIF\'s series list and instance list read', async () => {
    const { body: [series] } = await qido(`/dicomweb/studies/${ct}/series`);
    expect(first(series, '00080060')).toBe('CT');
    expect(first(series, '0008103E')).toBe('HELICAL CHEST');
    expect(series['00201209']).toEqual({ vr: 'IS', Value: [1] });
    const seriesUid = first(series, '0020000E');
    const { body: [instance] } = await qido(`/dicomweb/studies/${ct}/series/${seriesUid}/instances`);
    expect(first(instance, '00080016')).toBe('1.2.840.10008.5.1.4.1.1.2');
    expect(first(instance, '00280010')).toBe(512);
    expect(first(instance, '00081190')).toBe(`${api.url}/dicomweb/studies/${ct}/series/${seriesUid}/instances/${first(instance, '00080018')}`);
    expect((await qido(`/dicomweb/studies/${ct}/instances?Modality=CT&SOPClassUID=1.2.840.10008.5.1.4.1.1.2`)).body).toHaveLength(1);
    expect((await qido(`/dicomweb/series?Modality=CR`)).body.map((d) => first(d, '0020000D'))).toEqual([chest]);
  });

  it('when searches are answered, then the user\'s reading is in the audit trail under their name', async () => {
    await qido(`/dicomweb/studies?StudyInstanceUID=${ct}`);
    await api.store.flushReadAudits();
    const records = await api.client.audit('?action=dicomweb.searched');
    expect(records.some((r) => r.actor === 'tester')).toBe(true);
  });

  describe('with the dicomweb-client package (OHIF\'s DICOMweb client)', () => {
    const client = () => new dicomweb.DICOMwebClient({ url: `${api.url}/dicomweb`, headers: api.authorization, singlepart: false });
    /** The client's typings are looser and stricter than its code (no `request`, which it reads to use a given XMLHttpRequest, here one carried by fetch). */
    const viaFetch = (options: object) => ({ ...options, request: { instance: fetchXhr() } }) as never;

    it('when it searches for studies, series and instances, then it reads Lantern\'s answers', async () => {
      const studies = await client().searchForStudies(viaFetch({ queryParams: { PatientID: '9RG1' } })) as Dataset[];
      expect(studies.map((d) => first(d, '0020000D'))).toEqual([chest]);
      const series = await client().searchForSeries(viaFetch({ studyInstanceUID: chest })) as Dataset[];
      // The film's series, and the AI results series holding the SR of the model answered at ingest.
      expect(series.map((d) => first(d, '00080060')).sort()).toEqual(['CR', 'SR']);
      const seriesOf = (modality: string) => String(first(series.find((d) => first(d, '00080060') === modality)!, '0020000E'));
      const instances = await client().searchForInstances(viaFetch({ studyInstanceUID: chest, seriesInstanceUID: seriesOf('CR') })) as Dataset[];
      expect(instances).toHaveLength(1);
      const srs = await client().searchForInstances(viaFetch({ studyInstanceUID: chest, seriesInstanceUID: seriesOf('SR') })) as Dataset[];
      expect(srs.map((d) => first(d, '00080018'))).toEqual(chestAiSrs);
      expect(await client().searchForStudies(viaFetch({ queryParams: { PatientName: 'nobody*' } }))).toEqual([]);
    });
  });
});
