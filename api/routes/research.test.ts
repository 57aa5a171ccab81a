/**
 * Story: a model team reads studies de-identified. Real radiographs from ../shared/data (and
 * one made here with a full set of identifiers) are uploaded with their own UIDs, a
 * radiologist decides on an AI finding with a comment naming the patient; the model-team
 * user lists and opens them and reads a frame: nothing identifying of the real studies
 * appears anywhere in what it gets, pseudonyms are the same at every call, its reads are
 * audited, and it still gets 403 on the identified routes. Whoever also holds a clinical
 * role (what an admin grants) reads the identified study too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeidentifyContext, deidentify } from '../../dicom/deidentify/index.ts';
import { parseDicom } from '../../dicom/parse.ts';
import { readText } from '../../dicom/deidentify/values.ts';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';
import { buildCr } from '../../test/support/dicom-builder.ts';
import { files } from '../../test/support/shared-data.ts';

interface Summary { pseudonymousUid: string; patient: string; studyDate?: string; receivedAt: string; findings: number; decided: number }
interface Detail {
  study: Summary;
  instances: { sopInstanceUid: string; seriesInstanceUid: string; framesUrl: string; image?: { rows: number; bitsAllocated: number } }[];
  findings: { sopInstanceUid: string; model: { id: string; weightsSha256: string }; decisions: { decision: string; reader: string; reasonCode?: string }[] }[];
}

/** Attributes PS3.15 calls identifying that a test can look for as text: names, IDs, dates, UIDs, institution. */
const IDENTIFYING = {
  x00100010: 'PatientName', x00100020: 'PatientID', x00100030: 'PatientBirthDate', x00080050: 'AccessionNumber',
  x00080020: 'StudyDate', x00080021: 'SeriesDate', x00080022: 'AcquisitionDate', x00080023: 'ContentDate', x00200010: 'StudyID',
  x0020000d: 'StudyInstanceUID', x0020000e: 'SeriesInstanceUID', x00080018: 'SOPInstanceUID', x00080080: 'InstitutionName',
  x00080090: 'ReferringPhysicianName', x00081030: 'StudyDescription',
};

const IDENTIFIED = buildCr('1.2.826.0.1.3680043.8.498.7731', '1.2.840.10008.1.2.1', {
  rows: 8, columns: 8, bitsAllocated: 16, bitsStored: 12, pixelRepresentation: 0, photometricInterpretation: 'MONOCHROME2',
}, new Uint8Array(128), [
  { tag: 0x00100010, vr: 'PN', value: 'Doe^Jane^Q' }, { tag: 0x00100020, vr: 'LO', value: 'PID-4711-X' },
  { tag: 0x00100030, vr: 'DA', value: '19610203' }, { tag: 0x00080050, vr: 'SH', value: 'ACC-99123' },
  { tag: 0x00080020, vr: 'DA', value: '20240115' }, { tag: 0x00080080, vr: 'LO', value: 'St Elsewhere Hospital' },
  { tag: 0x00081030, vr: 'LO', value: 'Chest PA for Jane Doe' },
]);
const BURNED_IN = buildCr('1.2.826.0.1.3680043.8.498.7732', '1.2.840.10008.1.2.1', {
  rows: 8, columns: 8, bitsAllocated: 8, bitsStored: 8, pixelRepresentation: 0, photometricInterpretation: 'MONOCHROME2',
}, new Uint8Array(64), [{ tag: 0x00280301, vr: 'CS', value: 'YES' }, { tag: 0x00100010, vr: 'PN', value: 'Roe^Richard' }]);

/** Every identifying value of a file, as stored text and, for dates, also as ISO (YYYY-MM-DD). */
function identifiersOf(bytes: Uint8Array): string[] {
  const { dataSet } = parseDicom(bytes);
  return Object.keys(IDENTIFYING).flatMap((tag) => {
    const element = dataSet.elements[tag];
    if (!element) return [];
    const text = readText(dataSet.byteArray.subarray(element.dataOffset, element.dataOffset + element.length));
    const values = text.split('\\').map((v) => v.trim()).filter((v) => v.length >= 4);
    return values.flatMap((v) => (/^\d{8}$/.test(v) ? [v, `${v.slice(0, 4)}-${v.slice(4, 6)}-${v.slice(6)}`] : [v, ...v.split('^').filter((p) => p.length >= 4)]));
  });
}

describe('de-identified studies for model teams', () => {
  let api: TestApi;
  let team: Awaited<ReturnType<TestApi['signIn']>>;
  const uploads = [fs.readFileSync(files.chestJ2k), fs.readFileSync(files.crJ2k1760), fs.readFileSync(files.chestRaw), IDENTIFIED, BURNED_IN].map((b) => new Uint8Array(b));
  const identifiers = new Set(uploads.flatMap(identifiersOf));
  const stored: { studyInstanceUid: string; sopInstanceUid: string }[] = [];
  let aiSrs = 0;

  const list = async () => (await team.client.json<{ items: Summary[] }>('/v1/research/studies')).body.items;
  const detail = (uid: string) => team.client.json<Detail>(`/v1/research/studies/${uid}`);
  /** A study's film (each holds one, beside the AI results SRs of the models answered at ingest). */
  const filmOf = (d: Detail) => d.instances.find((i) => i.image !== undefined)!;
  const leaks = (json: unknown) => [...identifiers].filter((value) => JSON.stringify(json).includes(value));

  beforeAll(async () => {
    api = await startTestApi();
    // Sharing outside the site is opt-in by default (consent.test.ts tells that story); this clinic's patients agreed to it by policy.
    const policy = await api.client.json('/v1/sites/main/consent-policy', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ purpose: 'sharing', mode: 'opt-out' }) });
    expect(policy.status).toBe(200);
    const { status, body } = await api.client.stow(uploads);
    expect(status).toBe(200);
    expect(body.failed).toEqual([]);
    stored.push(...body.stored!);
    // None of these films records an age the children's model covers: it is answered at ingest (another model too, where
    // the header rules it out), each answer's AI results SR stored in the study.
    for (const { sopInstanceUid } of stored) {
      const srs = await api.answeredAtIngest(sopInstanceUid);
      expect(srs.length).toBeGreaterThanOrEqual(1);
      aiSrs += srs.length;
    }
    const finding = await api.addFinding(stored[3].sopInstanceUid, { probability: 0.95 });
    const radiologist = await api.signIn('dr.wu', ['radiologist']);
    const review = await radiologist.client.review(finding.id, { decision: 'override', reasonCode: 'false-positive', comment: 'Jane Doe, PID-4711-X: old scarring' });
    expect(review.status).toBe(201);
    team = await api.signIn('ml.chen', ['model-team']);
  });
  afterAll(async () => api?.stop());

  it('when a model-team user lists the studies, then every uploaded one is there and nothing identifying of any appears', async () => {
    expect(identifiers.size).toBeGreaterThan(20);
    expect(identifiers).toContain('Doe^Jane^Q');
    const items = await list();
    expect(items).toHaveLength(5);
    expect(leaks(items)).toEqual([]);
    expect(new Set(items.map((i) => i.pseudonymousUid)).size).toBe(5);
    for (const item of items) expect(item.pseudonymousUid).toMatch(/^2\.25\.\d+$/);
  });

  it('when it opens each study, then findings keep their model provenance, the decision its code with a pseudonymous reader, and nothing identifying appears', async () => {
    for (const item of await list()) {
      const { status, body } = await detail(item.pseudonymousUid);
      expect(status).toBe(200);
      expect(leaks(body)).toEqual([]);
      expect(JSON.stringify(body)).not.toMatch(/dr\.wu|old scarring|Jane|Elsewhere/);
    }
    const decided = (await list()).find((i) => i.decided === 1)!;
    const { body } = await detail(decided.pseudonymousUid);
    const withDecision = body.findings.find((f) => f.decisions.length === 1)!;
    expect(withDecision.model).toMatchObject({ id: 'pneumonia-cxr', weightsSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(withDecision.decisions[0]).toMatchObject({ decision: 'override', reasonCode: 'false-positive', reader: expect.stringMatching(/^READER-[0-9A-F]{12}$/) });
    expect(withDecision.sopInstanceUid).toBe(filmOf(body).sopInstanceUid);
    // The made-up study's date 2024-01-15 moved by the patient's whole-day offset, one to ten years back.
    const shiftedDays = (Date.parse('2024-01-15') - Date.parse(`${body.study.studyDate!.slice(0, 4)}-${body.study.studyDate!.slice(4, 6)}-${body.study.studyDate!.slice(6)}`)) / 86_400_000;
    expect(shiftedDays).toBeGreaterThanOrEqual(366);
    expect(shiftedDays).toBeLessThanOrEqual(3652);
  });

  it('when it asks again, then pseudonyms, shifted dates and reader names are the same', async () => {
    const first = await list();
    expect(await list()).toEqual(first);
    const uid = first.find((i) => i.decided === 1)!.pseudonymousUid;
    expect((await detail(uid)).body).toEqual((await detail(uid)).body);
  });

  it('when it reads a frame, then it gets the pixels the clinical route serves; an image with burned-in text is refused (409)', async () => {
    const bodies = await Promise.all((await list()).map(async (i) => (await detail(i.pseudonymousUid)).body));
    // Each study: its film, and the AI results SRs of the models answered at ingest, which have no image; the identified
    // study also the SR of dr.wu's decision (written before the review's answer).
    for (const d of bodies) expect(d.instances.filter((i) => i.image !== undefined)).toHaveLength(1);
    expect(bodies.flatMap((d) => d.instances.filter((i) => i.image === undefined))).toHaveLength(aiSrs + 1);
    const identified = bodies.find((d) => d.findings.some((f) => f.decisions.length > 0))!;
    const frame = await fetch(new URL(`${filmOf(identified).framesUrl}/1`, api.url), { headers: { authorization: `Bearer ${team.token}` } });
    expect(frame.status).toBe(200);
    const clinical = await fetch(new URL(`/dicomweb/studies/${stored[3].studyInstanceUid}/series/1.2.826.0.1.3680043.8.498.7731.2/instances/${stored[3].sopInstanceUid}/frames/1`, api.url), { headers: api.authorization });
    expect(Buffer.from(await frame.arrayBuffer())).toEqual(Buffer.from(await clinical.arrayBuffer()));

    const burned = bodies.find((d) => filmOf(d).image?.bitsAllocated === 8 && filmOf(d).image?.rows === 8)!;
    const refused = await team.client.json<{ error: { code: string } }>(`${filmOf(burned).framesUrl}/1`);
    expect(refused).toMatchObject({ status: 409, body: { error: { code: 'BURNED_IN_ANNOTATION' } } });
    expect((await team.client.json(`/v1/research/studies/${identified.study.pseudonymousUid}/instances/2.25.1/frames/1`)).status).toBe(404);
    expect((await team.client.json('/v1/research/studies/2.25.12345/instances/2.25.1/frames/1')).status).toBe(404);
  });

  it('when it asks for a pseudonym no study has, or something that is not a UID, then 404 and 422', async () => {
    expect((await detail('2.25.12345')).status).toBe(404);
    expect((await detail(stored[0].studyInstanceUid)).status).toBe(404);
    expect((await detail('not-a-uid')).status).toBe(422);
  });

  it('when it asks for the identified study, its frames or the worklist, then 403; once an admin grants it a clinical role, it reads both', async () => {
    expect((await team.client.study(stored[3].studyInstanceUid)).status).toBe(403);
    expect((await team.client.json('/v1/worklist')).status).toBe(403);
    const granted = await api.signIn('ml.zhang', ['model-team']);
    expect((await granted.client.study(stored[3].studyInstanceUid)).status).toBe(403);
    const grant = await api.client.json('/v1/users/ml.zhang', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ roles: ['model-team', 'radiologist'] }) });
    expect(grant.status).toBe(200);
    expect((await granted.client.study(stored[3].studyInstanceUid)).status).toBe(200);
    expect((await granted.client.json('/v1/research/studies')).status).toBe(200);
    const clinician = await api.signIn('dr.li', ['radiologist']);
    expect((await clinician.client.json('/v1/research/studies')).status).toBe(403);
  });

  it('when a model-team user of another site asks, then it lists none of these studies, and naming one is 404', async () => {
    const site = { id: 'township-b', name: 'Township B clinic', level: 'township', parentId: 'main' };
    expect((await api.client.json('/v1/sites', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(site) })).status).toBe(201);
    const elsewhere = await api.signIn('ml.wang', ['model-team'], ['township-b']);
    expect((await elsewhere.client.json<{ items: Summary[] }>('/v1/research/studies')).body.items).toEqual([]);
    const [one] = await list();
    const { body } = await detail(one.pseudonymousUid);
    expect((await elsewhere.client.json(`/v1/research/studies/${one.pseudonymousUid}`)).status).toBe(404);
    expect((await elsewhere.client.json(`${body.instances[0].framesUrl}/1`)).status).toBe(404);
  });

  it('when its reads are flushed, then the trail names the model-team user, the real studies and what was read de-identified', async () => {
    await api.store.flushReadAudits();
    const viewed = (await api.client.audit('?action=study.viewed')).filter((r) => r.actor === 'ml.chen');
    expect(new Set(viewed.map((r) => r.entityId))).toEqual(new Set(stored.map((s) => s.studyInstanceUid)));
    expect(viewed.every((r) => Object.keys(r.payload.reads as object).every((k) => k.startsWith('deidentified-')))).toBe(true);
    expect(viewed.find((r) => r.entityId === stored[3].studyInstanceUid)!.payload.reads).toMatchObject({ 'deidentified-frames': 1 });
    const [listed] = (await api.client.audit('?action=research.listed')).filter((r) => r.actor === 'ml.chen');
    expect(listed.payload.studies).toEqual(stored.map((s) => s.studyInstanceUid).sort());
    expect(await api.client.verify()).toMatchObject({ intact: true });
  });

  it('when the installation\'s key is given to the de-identifier (as lantern export --key-file does), then its DICOM carries the UIDs, patient and date the routes show; a study never listed is found by that pseudonym', async () => {
    const key = new Uint8Array(fs.readFileSync(path.join(api.config.dataDir, 'research', 'deidentify.key')));
    const context = createDeidentifyContext({ key });
    const exported = deidentify(IDENTIFIED, { context });
    const { status, body } = await detail(exported.studyInstanceUid);
    expect(status).toBe(200);
    expect(body.study.patient).toBe(exported.patientPseudonym);
    expect(body.instances[0]).toMatchObject({ sopInstanceUid: exported.sopInstanceUid, seriesInstanceUid: exported.seriesInstanceUid });
    expect(body.study.studyDate).toBe(parseDicom(exported.bytes).dataSet.string('x00080020'));

    const late = buildCr('1.2.826.0.1.3680043.8.498.7733', '1.2.840.10008.1.2.1', {
      rows: 8, columns: 8, bitsAllocated: 8, bitsStored: 8, pixelRepresentation: 0, photometricInterpretation: 'MONOCHROME2',
    }, new Uint8Array(64), [{ tag: 0x00100020, vr: 'LO', value: 'PID-LATE-1' }]);
    expect((await api.client.stow([late])).status).toBe(200);
    expect((await detail(deidentify(late, { context }).studyInstanceUid)).status).toBe(200);
  });
});
