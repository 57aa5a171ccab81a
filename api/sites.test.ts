/**
 * Sites scope what a user reaches: every operation that names a study, an image or a
 * finding × a user of the object's own site and a user of another site. For the other
 * site the object does not exist (404) and nothing changes; the operations come from the
 * OpenAPI document, so a new route that names a patient object must join the table below.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDicom } from '../dicom/parse.ts';
import type { apiClient } from '../test/support/api-client.ts';
import { startTestApi, type TestApi } from '../test/support/api-role.ts';
import { withFreshUids } from '../test/support/dicom-builder.ts';
import { files } from '../test/support/shared-data.ts';

type Client = ReturnType<typeof apiClient>;
type Document = { paths: Record<string, Record<string, { operationId: string }>> };

/** Path parameters that name a patient object; an operation with one of them must be in `BODIES`. */
const OBJECT_PARAMS = ['studyInstanceUid', 'study', 'series', 'instance', 'findingId'];

/** A STOW-RS body (sent as application/dicom): one new image of the study named. */
class DicomBody {
  constructor(readonly bytes: Uint8Array) {}
}
let copies = 9_100;

/** A valid body for each operation that names a patient object (GETs: none), as its own site's user would send it. */
const BODIES: Record<string, unknown | ((o: Objects) => unknown)> = {
  getStudy: undefined,
  getStudyInstances: undefined,
  getFrame: undefined,
  searchForSeries: undefined,
  searchForStudyInstances: undefined,
  searchForInstances: undefined,
  retrieveStudyMetadata: undefined,
  retrieveSeriesMetadata: undefined,
  retrieveInstanceMetadata: undefined,
  retrieveStudy: undefined,
  retrieveSeries: undefined,
  retrieveInstance: undefined,
  retrieveBulkData: undefined,
  retrieveInstanceRendered: undefined,
  retrieveFrameRendered: undefined,
  reviewFinding: { decision: 'accept' },
  addReaderFinding: { label: 'pneumonia' },
  studyHomeVitals: undefined,
  storeStudyInstances: (o: Objects) => new DicomBody(withFreshUids(fs.readFileSync(files.chestRaw), ++copies, { studyInstanceUid: o.studyInstanceUid })),
};
const bodyFor = (operationId: string, o: Objects) => {
  const body = BODIES[operationId];
  return typeof body === 'function' ? body(o) : body;
};

/**
 * Operations that name a patient object but are not site-scoped, and why: the audit trail
 * (and a study's accountability bundle from it) is the installation administrators', who
 * answer for the whole service.
 */
const NETWORK_WIDE = ['auditBundle'];

interface SiteUser {
  reader: Client;
  token: string;
  /** A study of the user's own site, its image and a finding on it. */
  objects: Objects;
}

interface Objects {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  findingId: string;
}

describe('sites: own and foreign objects', () => {
  let api: TestApi;
  let main: SiteUser;
  let township: SiteUser;
  let operations: { method: string; path: string; operationId: string }[];

  async function objectsOf(by: Client): Promise<Objects> {
    const { studyInstanceUid, sopInstanceUid } = await api.addStudy(files.chestRaw, by);
    const finding = await api.addFinding(sopInstanceUid, { probability: 0.97 });
    const { body } = await by.study(studyInstanceUid);
    return { studyInstanceUid, sopInstanceUid, seriesInstanceUid: body.instances[0].seriesInstanceUid, findingId: finding.id };
  }

  beforeAll(async () => {
    api = await startTestApi();
    expect((await api.client.json('/v1/sites', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'township-a', name: 'Township A clinic', level: 'township', parentId: 'main' }) })).status).toBe(201);
    const mainReader = await api.signIn('reader-main', ['radiologist']);
    const townshipReader = await api.signIn('reader-township', ['grassroots-doctor', 'radiologist'], ['township-a']);
    main = { reader: mainReader.client, token: mainReader.token, objects: await objectsOf(mainReader.client) };
    township = { reader: townshipReader.client, token: townshipReader.token, objects: await objectsOf(townshipReader.client) };
    const document = await (await fetch(`${api.url}/openapi.json`)).json() as Document;
    operations = Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), path, operationId: op.operationId })))
      .filter((o) => OBJECT_PARAMS.some((p) => o.path.includes(`{${p}}`)) && !NETWORK_WIDE.includes(o.operationId));
  }, 120_000);
  afterAll(() => api?.stop());

  const fill = (path: string, o: Objects) => path
    .replace('{studyInstanceUid}', o.studyInstanceUid).replace('{study}', o.studyInstanceUid)
    .replace('{series}', o.seriesInstanceUid).replace('{instance}', o.sopInstanceUid).replace('{frame}', '1').replace('{findingId}', o.findingId)
    .replace('{path}', '7FE00010');

  async function call(as: SiteUser, method: string, path: string, body: unknown): Promise<number> {
    const dicom = body instanceof DicomBody;
    const response = await fetch(new URL(path, api.url), {
      method,
      headers: { authorization: `Bearer ${as.token}`, 'content-type': dicom ? 'application/dicom' : 'application/json' },
      ...(body === undefined ? {} : { body: dicom ? body.bytes as BodyInit : JSON.stringify(body) }),
    });
    await response.arrayBuffer();
    return response.status;
  }

  it('then every operation naming a patient object is in the table', () => {
    expect(operations.map((o) => o.operationId).sort()).toEqual(Object.keys(BODIES).sort());
  });

  it('when a user of another site names the object, then it does not exist for them (404) and nothing is written; its own site\'s user gets through', async () => {
    const auditBefore = (await api.client.audit('?limit=500')).length;
    const outcomes = [];
    for (const o of operations) {
      outcomes.push({ operation: o.operationId, status: await call(main, o.method, fill(o.path, township.objects), bodyFor(o.operationId, township.objects)) });
    }
    expect(outcomes.filter((r) => r.status !== 404)).toEqual([]);
    expect((await api.client.audit('?limit=500')).length).toBe(auditBefore);
    for (const o of operations) {
      const status = await call(township, o.method, fill(o.path, township.objects), bodyFor(o.operationId, township.objects));
      expect({ operation: o.operationId, status }).toEqual({ operation: o.operationId, status: expect.toSatisfy((s: number) => s >= 200 && s < 300) });
    }
  });

  it('when a user of another site posts a triage naming the study, then 404 and the study keeps its priority', async () => {
    const before = (await township.reader.study(township.objects.studyInstanceUid)).body.study.priority;
    const triage = await main.reader.json<{ error?: { code: string } }>('/v1/triage', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ studyInstanceUid: township.objects.studyInstanceUid }),
    });
    expect(triage.status).toBe(404);
    expect((await township.reader.study(township.objects.studyInstanceUid)).body.study.priority).toBe(before);
  });

  it('then each worklist holds only its own site\'s studies, each naming its site', async () => {
    const mainList = await main.reader.worklist();
    const townshipList = await township.reader.worklist();
    expect(mainList.map((s) => s.studyInstanceUid)).toContain(main.objects.studyInstanceUid);
    expect(mainList.map((s) => s.studyInstanceUid)).not.toContain(township.objects.studyInstanceUid);
    expect(townshipList.map((s) => s.studyInstanceUid)).toEqual([township.objects.studyInstanceUid]);
    expect(townshipList[0]).toMatchObject({ siteId: 'township-a' });
  });

  it('when studies of both sites change, then a reader\'s event stream tells only of its own site\'s', async () => {
    const controller = new AbortController();
    const response = await fetch(new URL('/v1/events', api.url), { headers: { authorization: `Bearer ${main.token}` }, signal: controller.signal });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    try {
      let text = '';
      while (!text.includes(': connected')) text += (await reader.read()).value;
      await township.reader.review(township.objects.findingId, { decision: 'accept' });
      await main.reader.review(main.objects.findingId, { decision: 'accept' });
      while (!/event: study\ndata: .*\n\n/.test(text)) text += (await reader.read()).value;
      const studies = [...text.matchAll(/data: (.*)\n/g)].map((m) => (JSON.parse(m[1]) as { studyInstanceUid: string }).studyInstanceUid);
      expect(studies).not.toContain(township.objects.studyInstanceUid);
      expect(studies).toContain(main.objects.studyInstanceUid);
    } finally {
      controller.abort();
    }
  });

  it('when a user sends an image into a study another site holds, then that part is refused and nothing is stored', async () => {
    const foreignStudy = withFreshUids(fs.readFileSync(files.chestRaw), 9_001, { studyInstanceUid: township.objects.studyInstanceUid });
    const { status, body } = await main.reader.stow([foreignStudy]);
    // PS3.18: a request none of whose instances is stored is a 409.
    expect(status).toBe(409);
    expect(body.error?.code).toBe('STUDY_OF_ANOTHER_SITE');
    // The study also receives Lantern's own AI results SRs meanwhile: the refused image is looked for, not counted.
    const refused = parseDicom(foreignStudy).meta.sopInstanceUid;
    expect((await township.reader.study(township.objects.studyInstanceUid)).body.instances.map((i) => i.sopInstanceUid)).not.toContain(refused);
  });

  it('when an admin adds a user to a site that does not exist, then 422 naming the field', async () => {
    const { status, body } = await api.client.json<{ error: { code: string; details: { field: string }[] } }>('/v1/users', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'nobody-site', displayName: 'X', roles: ['radiologist'], sites: ['atlantis'], password: 'a long enough password' }),
    });
    expect(status).toBe(422);
    expect(body.error.details[0].field).toBe('sites');
  });
});
