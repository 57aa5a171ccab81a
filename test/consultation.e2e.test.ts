/**
 * Remote consultation across two sites, end to end against `lantern start` (real redis-server,
 * PGlite, API, a worker running the bundled ONNX models): an admin builds county C and township
 * T and lets C read for T; a township doctor uploads a real chest radiograph and asks C about
 * it; C's radiologist finds it in the queue (ordered by triage level), opens and answers it; the
 * asker's event stream hears the answer; the audit trail holds each step under the signed-in
 * accounts; the SLA clock is the answering site's. Bad requests are refused with specific
 * 4xx and store nothing. Then T's policy routes a reader's override of the AI to C — once.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONSULTATION_SLA_MINUTES, type Consultation } from '../contract/consultations.ts';
import { apiClient, type AuditItem } from './support/api-client.ts';
import { withFreshUids } from './support/dicom-builder.ts';
import { connectEvents } from './support/event-stream.ts';
import { files } from './support/shared-data.ts';
import { newUser, type SignedIn } from './support/sign-in.ts';
import { startStack, waitFor, type Stack } from './support/stack.ts';

type Client = ReturnType<typeof apiClient>;
type Answer = Consultation & { error: { code: string; message: string; details?: { field: string }[] } };

describe('a township asks the county: a consultation round trip', () => {
  let stack: Stack;
  let admin: Client;
  const people = {} as Record<'township' | 'county', SignedIn & { client: Client }>;
  let studyInstanceUid: string;
  let countyStudy: string;

  const send = <T = Answer>(by: Client, method: string, url: string, body?: unknown) =>
    by.json<T>(url, { method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const ask = (body: Record<string, unknown>) =>
    send(people.township.client, 'POST', '/v1/consultations', { toSiteId: 'county-c', question: '咳嗽发热三天，右下肺阴影？Cough and fever for 3 days: right lower zone shadow?', urgency: 'urgent', patientConsented: true, ...body });
  const queue = async () => (await people.county.client.json<{ items: Consultation[] }>('/v1/consultations?box=queue')).body.items;
  const asked = async () => (await people.township.client.json<{ items: Consultation[] }>('/v1/consultations?box=asked')).body.items;
  const consultationAudit = async () => (await admin.audit('?limit=1000')).filter((a) => a.action.startsWith('consultation.'));
  async function upload(by: Client, n: number) {
    const { status, body } = await by.stow([withFreshUids(fs.readFileSync(files.chestJ2k), 14_000 + n)]);
    expect(status).toBe(200);
    return body.stored![0].studyInstanceUid;
  }

  beforeAll(async () => {
    stack = await startStack({ workers: 1 });
    admin = apiClient(stack.baseUrl, stack.token);
    for (const site of [
      { id: 'county-c', name: '县医院 County C hospital', level: 'county' },
      { id: 'town-t', name: '乡镇卫生院 Township T clinic', level: 'township', parentId: 'county-c' },
      { id: 'city-d', name: 'City D hospital', level: 'city' },
    ]) expect((await send(admin, 'POST', '/v1/sites', site)).status).toBe(201);
    expect((await send(admin, 'PUT', '/v1/sites/county-c/reads-for', { readsFor: ['town-t'] })).status).toBe(200);
    for (const [who, user] of [
      ['township', { username: 'dr-zhao', displayName: '赵医生', roles: ['grassroots-doctor'], sites: ['town-t'] }],
      ['county', { username: 'dr-wang', displayName: '王医生', roles: ['radiologist'], sites: ['county-c'] }],
    ] as const) {
      const signedIn = await newUser(stack.baseUrl, stack.token, { ...user, roles: [...user.roles], sites: [...user.sites] });
      people[who] = { ...signedIn, client: apiClient(stack.baseUrl, signedIn.token) };
    }
    studyInstanceUid = await upload(people.township.client, 1);
    countyStudy = await upload(people.county.client, 2);
    await people.township.client.settled(studyInstanceUid, 120_000);
  }, 240_000);
  afterAll(async () => stack?.stop());

  it('when a request breaks a rule, then a specific 4xx comes back and nothing is stored', async () => {
    const recordsBefore = (await consultationAudit()).length;
    const refused = [
      await ask({ subject: { kind: 'study', studyInstanceUid }, patientConsented: undefined }),
      await ask({ subject: { kind: 'study', studyInstanceUid }, toSiteId: 'city-d' }),
      await ask({ subject: { kind: 'study', studyInstanceUid: countyStudy } }),
      await ask({ subject: { kind: 'study', studyInstanceUid }, fromSiteId: 'county-c' }),
    ];
    expect(refused.map((r) => `${r.status} ${r.body.error.code}`)).toEqual(['422 VALIDATION_FAILED', '422 NOT_A_READING_SITE', '404 NOT_FOUND', '422 NOT_YOUR_SITE']);
    expect(refused[0].body.error.details).toEqual([expect.objectContaining({ field: 'patientConsented' })]);
    expect(refused[1].body.error.message).toContain('city-d does not read for site town-t');
    expect(await asked()).toEqual([]);
    expect(await queue()).toEqual([]);
    expect((await consultationAudit()).length).toBe(recordsBefore);
  });

  it('when the township doctor asks and the county radiologist opens and answers, then the queue is ordered, the SLA is the county\'s, the asker hears the answer live and every step is audited under its account', async () => {
    const stream = await connectEvents(stack.baseUrl, people.township.authorization);
    try {
      expect(await stream.next()).toEqual({ comment: 'connected' });
      // A question about a patient's home readings (no triage level yet), asked first…
      const vitals = await ask({ subject: { kind: 'vitals', patientId: 'T-0042' }, urgency: 'routine', question: 'SpO2 93% at home this morning.' });
      expect(vitals.status).toBe(201);
      // …then one about the film, which carries the study's triage level.
      const film = await ask({ subject: { kind: 'study', studyInstanceUid } });
      expect(film.status).toBe(201);
      const { body: study } = await people.township.client.study(studyInstanceUid);
      expect(film.body.triageLevel).toBe((study.study.triage as { level?: string } | undefined)?.level);
      expect(film.body.triageLevel).toMatch(/^(I|II|III|IV)$/);
      expect(film.body).toMatchObject({ fromSiteId: 'town-t', toSiteId: 'county-c', askedBy: 'dr-zhao', status: 'open', urgency: 'urgent' });
      expect(film.body.sla).toMatchObject({ targetMinutes: DEFAULT_CONSULTATION_SLA_MINUTES.urgent, breached: false });
      expect(Date.parse(film.body.sla.dueAt) - Date.parse(film.body.askedAt)).toBe(DEFAULT_CONSULTATION_SLA_MINUTES.urgent * 60_000);

      // The county's queue: the film (a known level) before the vitals question (level unknown), though asked later.
      expect((await queue()).map((c) => c.id)).toEqual([film.body.id, vitals.body.id]);
      const id = film.body.id;
      const opened = await send(people.county.client, 'POST', `/v1/consultations/${id}/open`);
      expect(opened.body).toMatchObject({ status: 'in-review', openedBy: 'dr-wang' });
      const answered = await send(people.county.client, 'POST', `/v1/consultations/${id}/opinion`, {
        impression: '右下肺炎 Right lower lobe pneumonia', recommendation: 'treat-locally', urgency: 'urgent', text: 'Oral amoxicillin; repeat film if no better in 48 h.',
      });
      expect(answered.status).toBe(200);
      expect(answered.body).toMatchObject({ status: 'answered', opinion: { recommendation: 'treat-locally', answeredBy: 'dr-wang' }, sla: { breached: false } });

      let event: { id: string; change: string } | undefined;
      while (event?.id !== id || event.change !== 'answered') {
        const message = await stream.next(15_000);
        if (message.event === 'consultation') event = JSON.parse(message.data!);
      }
      expect(event).toEqual({ type: 'consultation', id, change: 'answered' });
      // What the asker's page re-fetches on that event.
      expect((await people.township.client.json<Answer>(`/v1/consultations/${id}`)).body.opinion?.impression).toBe('右下肺炎 Right lower lobe pneumonia');

      const again = await send(people.county.client, 'POST', `/v1/consultations/${id}/opinion`, { impression: 'changed my mind', recommendation: 'refer', urgency: 'emergency' });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('CONSULTATION_ANSWERED');
      expect((await people.township.client.json<Answer>(`/v1/consultations/${id}`)).body.opinion?.recommendation).toBe('treat-locally');

      const steps = (await admin.audit(`?entityId=${id}&limit=50`)).reverse();
      expect(steps.map((a: AuditItem) => [a.action, a.actor])).toEqual([
        ['consultation.asked', 'dr-zhao'], ['consultation.opened', 'dr-wang'], ['consultation.answered', 'dr-wang'],
      ]);
      expect(steps[0].payload).toMatchObject({ patientConsented: true, fromSiteId: 'town-t', toSiteId: 'county-c', subject: { kind: 'study', studyInstanceUid } });
      expect(steps[2].payload).toMatchObject({ recommendation: 'treat-locally', slaBreached: false });
      expect((await admin.verify()).intact).toBe(true);
    } finally {
      stream.close();
    }
  });

  it('when township T\'s policy routes disagreement to C and a T doctor overrides an AI finding, then C gets exactly one case, however often the decision is sent', async () => {
    const policy = { routeToSiteId: 'county-c', routeOnDisagreement: true, routeOnLowConfidence: false };
    expect((await send(admin, 'PUT', '/v1/sites/town-t/consultation-policy', policy)).status).toBe(200);
    const { body: study } = await people.township.client.study(studyInstanceUid);
    const finding = study.findings.find((f) => f.probability !== null)!;
    for (let i = 0; i < 2; i++) expect((await people.township.client.review(finding.id, { decision: 'override', reasonCode: 'false-positive' })).status).toBe(201);
    const routed = await waitFor(async () => {
      const found = (await queue()).filter((c) => c.origin === 'ai-reader-disagreement');
      return found.length ? found : undefined;
    }, 'the routed case in the county\'s queue');
    expect(routed).toHaveLength(1);
    expect(routed[0]).toMatchObject({ askedBy: 'policy:town-t', fromSiteId: 'town-t', toSiteId: 'county-c', subject: { kind: 'study', studyInstanceUid }, status: 'open' });
    expect(routed[0].question).toContain(finding.display);
    expect(routed[0].question).toMatch(/dr-zhao overrode it \(false-positive\)/);
    const [record] = await admin.audit(`?entityId=${routed[0].id}&limit=5`);
    expect(record).toMatchObject({ action: 'consultation.asked', actor: 'policy:town-t', payload: { origin: 'ai-reader-disagreement', because: { findingId: finding.id, reviewer: 'dr-zhao' } } });
  });
});
