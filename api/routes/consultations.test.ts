/**
 * The consultation routes against the API role (real redis-server and PGlite, real radiographs):
 * a township doctor asks the county that reads for the township; the county's radiologist sees
 * it in the queue, opens and answers it; the asker hears the answer on the event stream; the
 * report prints the exchange; a bad request is refused with a specific 4xx and nothing stored;
 * a user of neither site finds nothing; the site's policy is read by its clinicians, set by
 * admins, and routes an override of the AI to the county on its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Consultation, ConsultationPolicy } from '../../contract/consultations.ts';
import type { apiClient } from '../../test/support/api-client.ts';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';
import { connectEvents } from '../../test/support/event-stream.ts';
import { waitFor } from '../../test/support/stack.ts';

type Client = ReturnType<typeof apiClient>;
type ErrorBody = { error: { code: string; message: string; details?: { field: string }[] } };
type Answer = Consultation & ErrorBody;

let api: TestApi;
const users = {} as Record<'township' | 'county' | 'other', { client: Client; token: string }>;

const send = <T = Answer>(by: Client, method: string, url: string, body?: unknown) =>
  by.json<T>(url, { method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
const ask = (body: Record<string, unknown>, by = users.township.client) =>
  send(by, 'POST', '/v1/consultations', { toSiteId: 'county-c', question: 'Consolidation at the right base?', urgency: 'urgent', patientConsented: true, ...body });
const answer = (id: string, by = users.county.client) =>
  send(by, 'POST', `/v1/consultations/${id}/opinion`, { impression: 'Right lower lobe pneumonia', recommendation: 'treat-locally', urgency: 'urgent', text: 'Amoxicillin; review in 48 h.' });
const caseCount = async () => Number((await api.store.db.query<{ n: number }>('select count(*)::int as n from consultations')).rows[0].n);
const auditOf = async (entityId: string) => (await api.client.audit(`?entityId=${entityId}&limit=50`)).reverse();

beforeAll(async () => {
  api = await startTestApi();
  for (const site of [
    { id: 'county-c', name: 'County C hospital', level: 'county' },
    { id: 'town-t', name: 'Township T clinic', level: 'township', parentId: 'county-c' },
    { id: 'town-x', name: 'Township X clinic', level: 'township', parentId: 'county-c' },
  ]) expect((await send(api.client, 'POST', '/v1/sites', site)).status).toBe(201);
  // The county reads for township T, not for X.
  expect((await send(api.client, 'PUT', '/v1/sites/county-c/reads-for', { readsFor: ['town-t'] })).status).toBe(200);
  users.township = await api.signIn('dr-zhao', ['grassroots-doctor'], ['town-t']);
  users.county = await api.signIn('dr-wang', ['radiologist'], ['county-c']);
  users.other = await api.signIn('dr-sun', ['grassroots-doctor'], ['town-x']);
}, 120_000);
afterAll(async () => api?.stop());

describe('a consultation from a township to the county', () => {
  it('when the township doctor asks about a film and the county answers, then each step is the signed-in user\'s, audited, and the asker hears the answer live', async () => {
    const { studyInstanceUid } = await api.addStudy(undefined, users.township.client);
    const asked = await ask({ subject: { kind: 'study', studyInstanceUid } });
    expect(asked.status).toBe(201);
    expect(asked.body).toMatchObject({ fromSiteId: 'town-t', toSiteId: 'county-c', askedBy: 'dr-zhao', status: 'open', origin: 'asked' });
    const id = asked.body.id;

    const queue = await users.county.client.json<{ items: Consultation[] }>('/v1/consultations?box=queue&status=open,in-review');
    expect(queue.status).toBe(200);
    expect(queue.body.items.map((c) => c.id)).toContain(id);
    expect((await users.township.client.json<{ items: Consultation[] }>('/v1/consultations?box=asked')).body.items.map((c) => c.id)).toContain(id);
    // The county reads for the township, but did not ask: the case is in its queue only.
    expect((await users.county.client.json<{ items: Consultation[] }>('/v1/consultations?box=asked')).body.items.map((c) => c.id)).not.toContain(id);

    const stream = await connectEvents(api.url, { authorization: `Bearer ${users.township.token}` });
    try {
      expect(await stream.next()).toEqual({ comment: 'connected' });
      expect((await send(users.township.client, 'POST', `/v1/consultations/${id}/open`)).status).toBe(403);
      const opened = await send(users.county.client, 'POST', `/v1/consultations/${id}/open`);
      expect(opened.body).toMatchObject({ status: 'in-review', openedBy: 'dr-wang' });
      const answered = await answer(id);
      expect(answered.status).toBe(200);
      expect(answered.body.opinion).toMatchObject({ recommendation: 'treat-locally', answeredBy: 'dr-wang' });
      const events = [];
      while (events.length < 2) {
        const message = await stream.next();
        if (message.event === 'consultation') events.push(JSON.parse(message.data!));
      }
      expect(events).toEqual([{ type: 'consultation', id, change: 'opened' }, { type: 'consultation', id, change: 'answered' }]);
    } finally {
      stream.close();
    }
    const again = await answer(id);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('CONSULTATION_ANSWERED');
    expect((await users.township.client.json<Answer>(`/v1/consultations/${id}`)).body.opinion?.impression).toBe('Right lower lobe pneumonia');
    expect((await auditOf(id)).map((a) => [a.action, a.actor])).toEqual([
      ['consultation.asked', 'dr-zhao'], ['consultation.opened', 'dr-wang'], ['consultation.answered', 'dr-wang'],
    ]);
    // Each read of the case is a read of patient data, recorded under the reader's account.
    await api.store.flushReadAudits();
    const reads = (await api.client.audit('?action=consultation.viewed&limit=100')).filter((a) => a.entityId === id);
    expect(reads.map((a) => a.actor).sort()).toEqual(['dr-wang', 'dr-zhao']);
    expect(reads[0].payload).toMatchObject({ studies: [studyInstanceUid] });
  });

  it('when a request breaks a rule, then a specific 4xx comes back and no case is stored', async () => {
    const before = await caseCount();
    const { studyInstanceUid: foreignStudy } = await api.addStudy(undefined, users.other.client);
    const vitals = { subject: { kind: 'vitals', patientId: 'P-7' } };
    const refused = [
      await ask({ ...vitals, patientConsented: undefined }),
      await ask({ ...vitals, patientConsented: false }),
      await ask({ ...vitals, toSiteId: 'town-x' }),
      await ask({ subject: { kind: 'study', studyInstanceUid: foreignStudy } }),
      await ask({ ...vitals, fromSiteId: 'county-c' }),
      await ask({ ...vitals, urgency: 'whenever' }),
      await ask(vitals, users.other.client),
    ];
    expect(refused.map((r) => [r.status, r.body.error.code])).toEqual([
      [422, 'VALIDATION_FAILED'], [422, 'VALIDATION_FAILED'], [422, 'NOT_A_READING_SITE'], [404, 'NOT_FOUND'], [422, 'NOT_YOUR_SITE'], [422, 'VALIDATION_FAILED'], [422, 'NOT_A_READING_SITE'],
    ]);
    expect(refused[0].body.error.details).toEqual([expect.objectContaining({ field: 'patientConsented' })]);
    expect(refused[2].body.error.message).toMatch(/town-x does not read for site town-t/);
    expect(await caseCount()).toBe(before);
  });

  it('when the case is about a patient\'s home vital signs, then it is triaged by their latest NEWS2; without readings it has no level', async () => {
    const at = new Date(Date.now() - 10 * 60_000).toISOString();
    // NEWS2 8 (RR 25 → 3, SpO2 93 → 2, pulse 115 → 2, T 38.5 → 1): high clinical risk.
    const sick = [
      { parameter: 'respiratoryRate', value: 25, unit: '/min', at }, { parameter: 'spo2', value: 93, unit: '%', at },
      { parameter: 'supplementalOxygen', value: false, at }, { parameter: 'systolicBp', value: 125, unit: 'mmHg', at },
      { parameter: 'pulse', value: 115, unit: '/min', at }, { parameter: 'consciousness', value: 'alert', at },
      { parameter: 'temperature', value: 38.5, unit: '°C', at },
    ];
    const posted = await send<{ patientKey: string }>(users.township.client, 'POST', '/v1/vitals', { patientId: 'HOME-9', deviceId: 'watch-9', observations: sick });
    expect(posted.status).toBe(200);
    const measured = await ask({ subject: { kind: 'vitals', patientId: 'HOME-9' } });
    expect(measured.status).toBe(201);
    expect(['I', 'II']).toContain(measured.body.triageLevel);
    // The case names the patient by the key the vitals store gave (SQL), computed here in the store's code.
    expect(measured.body.patientKey).toBe(posted.body.patientKey);
    const unmeasured = await ask({ subject: { kind: 'vitals', patientId: 'HOME-10' } });
    expect(unmeasured.body.triageLevel).toBeUndefined();
  });

  it('when a user of neither site names a case, then it does not exist for them; the asker may withdraw, the county may not', async () => {
    const { body: { id } } = await ask({ subject: { kind: 'vitals', patientId: 'P-8' } });
    expect((await users.other.client.json<Answer>(`/v1/consultations/${id}`)).status).toBe(404);
    expect((await send(users.other.client, 'POST', `/v1/consultations/${id}/withdraw`)).status).toBe(404);
    expect((await users.other.client.json<{ items: Consultation[] }>('/v1/consultations?box=queue')).body.items).toEqual([]);
    expect((await send(users.county.client, 'POST', `/v1/consultations/${id}/withdraw`)).body.error.code).toBe('NOT_THE_ASKING_SITE');
    expect((await send(users.township.client, 'POST', `/v1/consultations/${id}/withdraw`)).body).toMatchObject({ status: 'withdrawn', withdrawnBy: 'dr-zhao' });
    expect((await answer(id)).body.error.code).toBe('CONSULTATION_WITHDRAWN');
    expect((await api.client.json('/v1/consultations/not-a-uuid')).status).toBe(422);
  });

  it('when the report is asked for, then one self-contained HTML document holds the exchange in the language asked, escaped, and the export is audited', async () => {
    const { studyInstanceUid, sopInstanceUid } = await api.addStudy(undefined, users.township.client);
    await api.addFinding(sopInstanceUid, { probability: 0.93 });
    const { body: { id } } = await ask({ subject: { kind: 'study', studyInstanceUid }, question: 'Is this <b>pneumonia</b> & should I refer?' });
    await answer(id);
    const report = async (lang: string) => fetch(`${api.url}/v1/consultations/${id}/report?lang=${lang}`, { headers: { authorization: `Bearer ${users.township.token}` } });
    const zh = await report('zh');
    expect(zh.status).toBe(200);
    expect(zh.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await zh.text();
    expect(html).toContain('<html lang="zh-CN">');
    expect(html).toContain('Is this &lt;b&gt;pneumonia&lt;/b&gt; &amp; should I refer?');
    expect(html).not.toContain('<b>pneumonia</b>');
    expect(html).toMatch(/远程会诊报告/);
    expect(html).toMatch(/Township T clinic \(乡镇\)/);
    expect(html).toMatch(/County C hospital \(县\)/);
    expect(html).toContain('0.93');
    expect(html).toMatch(/AI 辅助/);
    expect(html).toMatch(/本地治疗/);
    expect(html).toMatch(/@media print/);
    // The page's own <style> carries this answer's CSP nonce, so a browser applies it.
    const nonce = /style-src [^;]*'nonce-([^']+)'/.exec(zh.headers.get('content-security-policy') ?? '')?.[1];
    expect(nonce).toBeTruthy();
    expect(html).toContain(`<style nonce="${nonce}">`);
    expect(html).not.toMatch(/<script|<link|src=|href="http/);
    expect((await report('fr')).status).toBe(422);
    expect((await fetch(`${api.url}/v1/consultations/${id}/report`, { headers: { authorization: `Bearer ${users.other.token}` } })).status).toBe(404);
    const exported = (await auditOf(id)).filter((a) => a.action === 'consultation.report-exported');
    expect(exported).toEqual([expect.objectContaining({ actor: 'dr-zhao', payload: expect.objectContaining({ lang: 'zh', studyInstanceUid }) })]);
  });
});

describe('a site\'s consultation policy', () => {
  const policy: ConsultationPolicy = { routeToSiteId: 'county-c', routeOnDisagreement: true, routeOnLowConfidence: false, slaMinutes: { emergency: 20, urgent: 90, routine: 1440 } };

  it('when an admin sets it, then it is audited with before and after; clinicians of the site read it, others do not; a route to a site that does not read for it is refused', async () => {
    expect((await send(users.township.client, 'PUT', '/v1/sites/town-t/consultation-policy', policy)).status).toBe(403);
    expect((await send(api.client, 'PUT', '/v1/sites/town-x/consultation-policy', policy)).body.error.details).toEqual([expect.objectContaining({ field: 'routeToSiteId' })]);
    expect((await send(api.client, 'PUT', '/v1/sites/nowhere/consultation-policy', policy)).status).toBe(404);
    const set = await send<ConsultationPolicy>(api.client, 'PUT', '/v1/sites/town-t/consultation-policy', policy);
    expect(set).toEqual({ status: 200, body: policy });
    expect((await users.township.client.json<ConsultationPolicy>('/v1/sites/town-t/consultation-policy')).body).toEqual(policy);
    expect((await users.other.client.json('/v1/sites/town-t/consultation-policy')).status).toBe(404);
    const [record] = await api.client.audit('?entityId=town-t&action=consultation.policy-set');
    expect(record).toMatchObject({ actor: 'tester', payload: { before: { routeOnDisagreement: false }, after: { routeToSiteId: 'county-c', routeOnDisagreement: true } } });
  });

  it('when a township reader overrides the AI, then the county gets one case for the study, however often the decision is sent', async () => {
    await send(api.client, 'PUT', '/v1/sites/town-t/consultation-policy', policy);
    const { studyInstanceUid, sopInstanceUid } = await api.addStudy(undefined, users.township.client);
    const finding = await api.addFinding(sopInstanceUid, { probability: 0.88 });
    for (let i = 0; i < 2; i++) expect((await users.township.client.review(finding.id, { decision: 'override', reasonCode: 'false-positive' })).status).toBe(201);
    const routed = await waitFor(async () => {
      const { body } = await users.county.client.json<{ items: Consultation[] }>('/v1/consultations?box=queue');
      const found = body.items.filter((c) => c.subject.kind === 'study' && c.subject.studyInstanceUid === studyInstanceUid);
      return found.length ? found : undefined;
    }, 'the routed case');
    expect(routed).toHaveLength(1);
    expect(routed[0]).toMatchObject({ origin: 'ai-reader-disagreement', askedBy: 'policy:town-t', fromSiteId: 'town-t', toSiteId: 'county-c', status: 'open' });
    expect(routed[0].question).toMatch(/dr-zhao overrode it/);
  });

  it('when the policy routes low confidence and no model can read a township film, then the county gets one case for it; a film the AI read confidently routes nothing', async () => {
    await send(api.client, 'PUT', '/v1/sites/town-t/consultation-policy', { ...policy, routeOnDisagreement: false, routeOnLowConfidence: true });
    const casesOf = async (study: string) => (await users.county.client.json<{ items: Consultation[] }>('/v1/consultations?box=queue')).body.items
      .filter((c) => c.subject.kind === 'study' && c.subject.studyInstanceUid === study);
    const unread = await api.addStudy(undefined, users.township.client);
    const outside = { code: 'BODY_PART_OUTSIDE', text: 'not a chest film', textZh: '非胸部影像' };
    await api.addFinding(unread.sopInstanceUid, { probability: 0, notApplicable: outside });
    await api.addFinding(unread.sopInstanceUid, { probability: 0, notApplicable: outside });
    const [routed, ...more] = await casesOf(unread.studyInstanceUid);
    expect(more).toEqual([]);
    expect(routed).toMatchObject({ origin: 'ai-low-confidence', askedBy: 'policy:town-t', urgency: 'routine' });
    // Every model declined it: the children's model at ingest, as the film records no patient age (pipeline/ingest.ts),
    // the others in addFinding, each with its own reason. The question gives one of them.
    expect(routed.question).toMatch(/not applicable \((patient age not recorded|not a chest film|declined in this test)\)/);
    expect(routed.question).toMatch(/不适用（(未记录患者年龄|非胸部影像|本测试中不适用)）/);
    // Read by the model that reads this film (the adult model: the children's model declined it at ingest, no age recorded).
    const read = await api.addStudy(undefined, users.township.client);
    await api.addFinding(read.sopInstanceUid, { probability: 0.95, model: 'cxr-pneumonia-adult' });
    expect(await casesOf(read.studyInstanceUid)).toEqual([]);
  });
});
