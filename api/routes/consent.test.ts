/**
 * Consent, told as the clinic lives it, against the API role with a real redis and PGlite and
 * real radiographs: a patient who refused AI is still stored and read, with no job queued and
 * a notice where findings would be; a grant brings AI back for new images; an opt-in site
 * needs a grant; a refusal while jobs wait stops their findings; sharing outside the site
 * leaves refused patients out of a de-identified export. Every change is audited with the
 * signed-in user as actor; a clinician of another site neither reads nor changes it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportDeidentified } from '../../cli/export.ts';
import type { PatientConsent } from '../../contract/consent.ts';
import { parseDicom } from '../../dicom/parse.ts';
import { redisConnection } from '../../queue/connection.ts';
import { READ_ASSIST_QUEUE, RESULTS_QUEUE } from '../../queue/jobs.ts';
import { finding } from '../../store/test-fixtures.ts';
import { ALL_SITES } from '../../store/store.ts';
import type { apiClient } from '../../test/support/api-client.ts';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';
import { waitFor } from '../../test/support/stack.ts';
import { withFreshUids, withPatientId } from '../../test/support/dicom-builder.ts';
import { files } from '../../test/support/shared-data.ts';

type Client = ReturnType<typeof apiClient>;
type ErrorBody = { error: { code: string; details?: { field: string }[] } };

let api: TestApi;
let mainDoctor: Client;
let townshipDoctor: Client;
let queue: Queue;
let results: Queue;
let connection: ReturnType<typeof redisConnection>;
let uploads = 0;

const post = <T>(by: Client, url: string, body: unknown) => by.json<T>(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const record = (by: Client, body: Record<string, unknown>) => post<PatientConsent & ErrorBody>(by, '/v1/consent', body);
const lookup = (by: Client, body: Record<string, unknown>) => post<PatientConsent & ErrorBody>(by, '/v1/consent/lookup', body);

/** A real CR (JPEG 2000) as a new study of patient `patientId` (4 characters, as the file's own), uploaded by `by`. */
async function upload(patientId: string, by: Client) {
  const { status, body } = await by.stow([withPatientId(withFreshUids(fs.readFileSync(files.chestJ2k), 700 + ++uploads), patientId)]);
  expect(status).toBe(200);
  // Each test starts from a study where nothing more happens by itself: the answers ingest holds (no worker runs here) are written.
  await api.answeredAtIngest(body.stored![0].sopInstanceUid);
  return body.stored![0];
}

/** The read-assist jobs redis holds for an instance. */
const jobsFor = async (sopInstanceUid: string) => (await queue.getJobs(['prioritized', 'waiting', 'delayed', 'active'])).filter((j) => j.data.sopInstanceUid === sopInstanceUid);

const auditOf = (action: string) => api.client.audit(`?action=${action}&limit=500`);

beforeAll(async () => {
  api = await startTestApi();
  expect((await post(api.client, '/v1/sites', { id: 'township-b', name: 'Township B clinic', level: 'township', parentId: 'main' })).status).toBe(201);
  mainDoctor = (await api.signIn('dr-wang', ['radiologist'])).client;
  townshipDoctor = (await api.signIn('dr-zhao', ['grassroots-doctor'], ['township-b'])).client;
  connection = redisConnection(api.config.redisUrl);
  queue = new Queue(READ_ASSIST_QUEUE, { connection, prefix: api.config.queuePrefix });
  results = new Queue(RESULTS_QUEUE, { connection, prefix: api.config.queuePrefix });
}, 120_000);
afterAll(async () => {
  await queue?.close();
  await results?.close();
  await connection?.quit();
  await api?.stop();
});

describe('consent to AI processing', () => {
  it('when a patient has refused AI, then their image is stored and readable, no job is queued, and the worklist and study say why in both languages', async () => {
    const refused = await record(mainDoctor, { patientId: 'PR01', purpose: 'ai-processing', decision: 'refused', note: 'signed form 2026-12-02' });
    expect(refused.status).toBe(200);
    expect(refused.body.purposes.find((p) => p.purpose === 'ai-processing')).toMatchObject({ allowed: false, withheld: 'patient-refused', policy: 'opt-out', decision: { decision: 'refused', recordedBy: 'dr-wang' } });

    const stored = await upload('PR01', mainDoctor);
    expect(stored.status).toBe('stored');
    expect(await jobsFor(stored.sopInstanceUid)).toEqual([]);
    const { body: view } = await mainDoctor.study(stored.studyInstanceUid);
    expect(view.instances).toHaveLength(1);
    expect(view.findings).toEqual([]);
    expect(view.study.status).toBe('ready');
    expect(view.study.aiWithheld).toMatchObject({ code: 'patient-refused', instances: 1, reason: expect.stringMatching(/^AI not run: the patient declined/) });
    expect(view.study.aiWithheld!.reasonZh).toMatch(/患者拒绝/);
    const row = (await mainDoctor.worklist()).find((s) => s.studyInstanceUid === stored.studyInstanceUid);
    expect(row).toMatchObject({ status: 'ready', aiWithheld: { code: 'patient-refused' } });
    const [received] = (await auditOf('instance.received')).filter((r) => r.entityId === stored.sopInstanceUid);
    expect(received.payload).toMatchObject({ pendingModels: [], aiWithheld: 'patient-refused' });
  });

  it('when a patient without a decision sends an image to an opt-out site, then AI is queued as before', async () => {
    const stored = await upload('PN02', mainDoctor);
    expect((await jobsFor(stored.sopInstanceUid)).length).toBeGreaterThan(0);
    expect((await mainDoctor.study(stored.studyInstanceUid)).body.study).toMatchObject({ status: 'pending' });
    expect((await mainDoctor.study(stored.studyInstanceUid)).body.study.aiWithheld).toBeUndefined();
  });

  it('when the patient later grants AI, then new images are analysed and the earlier study keeps its notice (it is not re-run)', async () => {
    const before = await upload('PG03', mainDoctor);
    expect((await record(mainDoctor, { patientId: 'PG03', purpose: 'ai-processing', decision: 'refused' })).status).toBe(200);
    const earlier = await upload('PG03', mainDoctor);
    expect((await record(mainDoctor, { patientId: 'PG03', purpose: 'ai-processing', decision: 'granted' })).status).toBe(200);
    const later = await upload('PG03', mainDoctor);
    expect((await jobsFor(later.sopInstanceUid)).length).toBeGreaterThan(0);
    expect(await jobsFor(earlier.sopInstanceUid)).toEqual([]);
    expect((await mainDoctor.study(earlier.studyInstanceUid)).body.study.aiWithheld?.code).toBe('patient-refused');
    expect((await mainDoctor.study(later.studyInstanceUid)).body.study.aiWithheld).toBeUndefined();
    // The first image was waiting when the refusal came: it was settled as withheld then.
    expect((await mainDoctor.study(before.studyInstanceUid)).body.study).toMatchObject({ status: 'ready', aiWithheld: { code: 'patient-refused' } });
  });

  it('when the refusal comes while the jobs wait, then they leave the queue, the study leaves "pending" at once, and what a job already running hands back is dropped, audited', async () => {
    const stored = await upload('PW04', mainDoctor);
    // Before the refusal, ingest answered the children's model from the header (no age recorded): its "not applicable"
    // findings and their SR are recorded, as a worker's answer that came before the refusal would be; they stay.
    await api.answeredAtIngest(stored.sopInstanceUid);
    const atIngest = (await mainDoctor.study(stored.studyInstanceUid)).body.findings;
    expect(atIngest.length).toBeGreaterThan(0);
    expect(atIngest.every((f) => f.model.id === 'pneumonia-cxr' && f.applicability?.applicable === false)).toBe(true);
    expect((await mainDoctor.study(stored.studyInstanceUid)).body.study.status).toBe('pending');
    const [taken] = await jobsFor(stored.sopInstanceUid);
    expect(taken).toBeDefined();
    expect((await record(mainDoctor, { patientId: 'PW04', purpose: 'ai-processing', decision: 'refused' })).status).toBe(200);
    expect(await jobsFor(stored.sopInstanceUid)).toEqual([]);
    expect((await mainDoctor.study(stored.studyInstanceUid)).body.study).toMatchObject({ status: 'ready', aiWithheld: { code: 'patient-refused' } });
    const [recorded] = (await auditOf('consent.recorded')).filter((r) => r.entityId === 'main:PW04');
    expect(recorded).toMatchObject({ actor: 'dr-wang', payload: { stoppedInstances: [stored.sopInstanceUid] } });

    // A worker had already taken one job: its answer reaches the API's real results consumer after the refusal.
    const [id, version] = taken.data.modelKey.split('@');
    const made = finding(stored.sopInstanceUid, 0.97);
    await results.add('findings', { kind: 'findings', sopInstanceUid: stored.sopInstanceUid, modelKey: taken.data.modelKey, findings: [{ ...made, model: { ...made.model, id, version } }] });
    const dropped = await waitFor(async () => {
      const records = (await auditOf('ai.withheld')).filter((r) => r.entityId === stored.sopInstanceUid);
      return records.length > 0 ? records : undefined;
    }, 'the results consumer to persist the answer', 20_000);
    expect(dropped).toEqual([expect.objectContaining({ actor: `model:${taken.data.modelKey}`, payload: { model: taken.data.modelKey, reason: 'patient-refused', findingsDropped: true } })]);
    const { body: view } = await mainDoctor.study(stored.studyInstanceUid);
    expect(view.findings).toEqual(atIngest);
    expect(view.study.status).toBe('ready');
    // Only the findings answered at ingest, before the refusal, were created; none of the job's.
    expect((await auditOf('finding.created')).filter((r) => r.payload.sopInstanceUid === stored.sopInstanceUid).map((r) => [r.entityId, r.actor]).sort())
      .toEqual(atIngest.map((f) => [f.id, `model:${f.model.id}@${f.model.version}`]).sort());
  });

  it('when a site makes AI opt-in, then a patient without a grant gets no AI (images already waiting included); with a grant, AI runs', async () => {
    const waiting = await upload('PO05', townshipDoctor);
    expect((await townshipDoctor.study(waiting.studyInstanceUid)).body.study.status).toBe('pending');
    expect((await jobsFor(waiting.sopInstanceUid)).length).toBeGreaterThan(0);
    const policy = await post<{ purposes: { purpose: string; mode: string; updatedBy?: string }[] }>(api.client, '/v1/sites/township-b/consent-policy', { purpose: 'ai-processing', mode: 'opt-in' });
    expect(policy.status).toBe(200);
    expect(policy.body.purposes).toContainEqual({ purpose: 'ai-processing', mode: 'opt-in', updatedBy: 'tester', updatedAt: expect.any(String) });
    expect((await townshipDoctor.study(waiting.studyInstanceUid)).body.study).toMatchObject({ status: 'ready', aiWithheld: { code: 'no-consent-recorded' } });
    expect(await jobsFor(waiting.sopInstanceUid)).toEqual([]);

    const without = await upload('PO06', townshipDoctor);
    expect(await jobsFor(without.sopInstanceUid)).toEqual([]);
    const notice = (await townshipDoctor.study(without.studyInstanceUid)).body.study.aiWithheld!;
    expect(notice.reason).toMatch(/only with the patient's consent/);
    expect(notice.reasonZh).toMatch(/同意/);

    expect((await record(townshipDoctor, { patientId: 'PO07', purpose: 'ai-processing', decision: 'granted' })).status).toBe(200);
    const granted = await upload('PO07', townshipDoctor);
    expect((await jobsFor(granted.sopInstanceUid)).length).toBeGreaterThan(0);

    const [set] = (await auditOf('consent.policy-set')).filter((r) => r.entityId === 'township-b');
    expect(set).toMatchObject({ actor: 'tester', payload: { purpose: 'ai-processing', mode: 'opt-in', before: 'opt-out', stoppedInstances: [waiting.sopInstanceUid] } });
    // The main site's policy did not move.
    expect((await mainDoctor.json<{ purposes: { purpose: string; mode: string }[] }>('/v1/sites/main/consent-policy')).body.purposes)
      .toEqual([{ purpose: 'ai-processing', mode: 'opt-out' }, { purpose: 'sharing', mode: 'opt-in' }]);
  });
});

describe('who may read and change consent', () => {
  it('when a clinician of another site names a patient of this one, then the site does not exist for them and nothing changes', async () => {
    const auditBefore = (await api.client.audit('?limit=500')).length;
    const foreign = await record(townshipDoctor, { siteId: 'main', patientId: 'PR01', purpose: 'ai-processing', decision: 'granted' });
    expect(foreign.status).toBe(404);
    expect((await lookup(townshipDoctor, { siteId: 'main', patientId: 'PR01' })).status).toBe(404);
    expect((await api.client.audit('?limit=500')).length).toBe(auditBefore);
    const own = await lookup(mainDoctor, { patientId: 'PR01' });
    expect(own.body.purposes.find((p) => p.purpose === 'ai-processing')).toMatchObject({ allowed: false, decision: { decision: 'refused' } });
    // Its own site's patient of the same ID is another person: no decision there.
    expect((await lookup(townshipDoctor, { patientId: 'PR01' })).body.purposes.find((p) => p.purpose === 'ai-processing')).toMatchObject({ allowed: false, withheld: 'no-consent-recorded', policy: 'opt-in' });
  });

  it('when a clinician sets a site policy, then 403; an admin naming an unknown site gets 404', async () => {
    expect((await post(mainDoctor, '/v1/sites/main/consent-policy', { purpose: 'sharing', mode: 'opt-out' })).status).toBe(403);
    expect((await post(api.client, '/v1/sites/atlantis/consent-policy', { purpose: 'sharing', mode: 'opt-out' })).status).toBe(404);
    expect((await auditOf('consent.policy-set')).filter((r) => r.entityId !== 'township-b')).toEqual([]);
  });

  it.each([
    ['an unknown purpose', { patientId: 'PB08', purpose: 'marketing', decision: 'refused' }, 'purpose'],
    ['no patient ID', { purpose: 'ai-processing', decision: 'refused' }, 'patientId'],
    ['a blank patient ID', { patientId: '   ', purpose: 'ai-processing', decision: 'refused' }, 'patientId'],
    ['an unknown decision', { patientId: 'PB08', purpose: 'ai-processing', decision: 'maybe' }, 'decision'],
    ['an unknown field', { patientId: 'PB08', purpose: 'ai-processing', decision: 'refused', reviewer: 'someone-else' }, ''],
  ])('when the body has %s, then 422 naming it and nothing is recorded', async (_case, body, field) => {
    const auditBefore = (await api.client.audit('?limit=500')).length;
    const answer = await record(mainDoctor, body);
    expect(answer.status).toBe(422);
    expect(JSON.stringify(answer.body.error.details)).toContain(field);
    expect((await api.client.audit('?limit=500')).length).toBe(auditBefore);
    expect((await lookup(mainDoctor, { patientId: 'PB08' })).body.purposes.every((p) => p.decision === undefined)).toBe(true);
  });

  it('when a patient ID or note holds a NUL, then 422 and nothing is recorded', async () => {
    const auditBefore = (await api.client.audit('?limit=500')).length;
    for (const body of [{ patientId: 'PB\u000008', purpose: 'ai-processing', decision: 'refused' }, { patientId: 'PB08', purpose: 'ai-processing', decision: 'refused', note: 'a\u0000b' }]) {
      expect((await record(mainDoctor, body)).status).toBe(422);
    }
    expect((await api.client.audit('?limit=500')).length).toBe(auditBefore);
    expect((await lookup(mainDoctor, { patientId: 'PB08' })).body.purposes.every((p) => p.decision === undefined)).toBe(true);
  });
});

describe('sharing outside the site', () => {
  it('when a de-identified export is made, then only patients whose sharing is allowed are in it, and the others are counted', async () => {
    const shared = await upload('PS09', mainDoctor);
    const refusedSharing = await upload('PS10', mainDoctor);
    const undecided = await upload('PS11', mainDoctor);
    // Each film's study holds its AI results SR too (the children's model, answered at ingest: no age recorded).
    for (const { sopInstanceUid } of [shared, refusedSharing, undecided]) expect(await api.answeredAtIngest(sopInstanceUid)).toHaveLength(1);
    expect((await record(mainDoctor, { patientId: 'PS09', purpose: 'sharing', decision: 'granted' })).status).toBe(200);
    expect((await record(mainDoctor, { patientId: 'PS10', purpose: 'sharing', decision: 'refused' })).status).toBe(200);

    const out = path.join(api.config.dataDir, 'export');
    const manifest = exportDeidentified({
      blobDir: api.config.blobDir, out, studies: [shared, refusedSharing, undecided].map((s) => s.studyInstanceUid),
      burnedInAnnotation: 'flag', retainLongitudinalModifiedDates: true, sharing: await api.store.sharingDecisions(ALL_SITES),
    });
    // Per instance: the shared patient's film and AI results SR are exported, the others' two each counted.
    expect(manifest.instances).toHaveLength(2);
    expect(manifest.withheld).toEqual({ 'patient-refused': 2, 'no-consent-recorded': 2 });
    const exported = manifest.instances.map((i) => parseDicom(new Uint8Array(fs.readFileSync(path.join(out, i.path)))));
    expect(exported.map((e) => e.meta.modality).sort()).toEqual(['CR', 'SR']);
    exported.forEach((e, i) => expect(e.meta.patientId).toBe(manifest.instances[i].patient));
    expect(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')).not.toMatch(/PS1[01]/);
  });

  it('when a model team lists de-identified studies, then only patients who may be shared are there, the others counted; a withdrawal takes a study out at once', async () => {
    const team = (await api.signIn('ml-sun', ['model-team'])).client;
    type List = { items: { pseudonymousUid: string }[]; withheldByConsent: number };
    const studies = await api.store.getWorklist({ sites: ['main'] }, 1000);
    const shareable = studies.filter((s) => s.patientId === 'PS09');
    const before = await team.json<List>('/v1/research/studies?limit=200');
    expect(before.status).toBe(200);
    expect(before.body.items).toHaveLength(shareable.length);
    expect(before.body.withheldByConsent).toBe(studies.length - shareable.length);

    const [{ pseudonymousUid }] = before.body.items;
    expect((await team.json(`/v1/research/studies/${pseudonymousUid}`)).status).toBe(200);
    expect((await record(mainDoctor, { patientId: 'PS09', purpose: 'sharing', decision: 'refused' })).status).toBe(200);
    const after = await team.json<List>('/v1/research/studies?limit=200');
    expect(after.body).toEqual({ items: [], withheldByConsent: studies.length });
    expect((await team.json(`/v1/research/studies/${pseudonymousUid}`)).status).toBe(404);
  });
});
