import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelComparison, PromotionChecklist } from '../../contract/model-comparison.ts';
import { finding } from '../../store/test-fixtures.ts';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';

type Refusal = { error: { code: string; details?: { field: string }[] } };

/**
 * Two models of the label pneumonia (pneumonia-cxr 1.1.0 and cxr-pneumonia-adult 1.0.0) on
 * three uploaded studies: T1 both positive, accepted; T2 only pneumonia-cxr positive,
 * overridden as a false positive; T3 only cxr-pneumonia-adult positive, undecided.
 */
describe('GET /v1/model-comparison and /v1/model-comparison/promotion', () => {
  let api: TestApi;
  let team: TestApi['client'];
  let doctor: TestApi['client'];
  const uids: string[] = [];
  const a = 'pneumonia-cxr@1.1.0';
  const b = 'cxr-pneumonia-adult@1.0.0';

  beforeAll(async () => {
    api = await startTestApi();
    team = (await api.signIn('ml.chen', ['model-team'])).client;
    doctor = (await api.signIn('dr.zhao', ['grassroots-doctor'])).client;
    const calls: [number, number][] = [[0.9, 0.9], [0.8, 0.2], [0.2, 0.9]];
    for (const [pa, pb] of calls) {
      const study = await api.addStudy();
      uids.push(study.studyInstanceUid);
      const sop = study.sopInstanceUid;
      const base = finding(sop);
      await api.store.recordFindings(sop, [{ ...finding(sop, pa), id: `a-${sop}`, model: { ...base.model, id: 'pneumonia-cxr', version: '1.1.0' } }], 'worker');
      await api.store.recordFindings(sop, [{ ...finding(sop, pb), id: `b-${sop}`, model: { ...base.model, id: 'cxr-pneumonia-adult', version: '1.0.0' } }], 'worker');
      if (uids.length === 1) expect((await api.client.review(`a-${sop}`, { decision: 'accept' })).status).toBe(201);
      if (uids.length === 2) expect((await api.client.review(`a-${sop}`, { decision: 'override', reasonCode: 'false-positive' })).status).toBe(201);
    }
  });
  afterAll(async () => api?.stop());

  it('when a model-team member compares the two, then the table, agreement with readers and pseudonymous disagreements come back', async () => {
    const { status, body } = await team.json<ModelComparison>(`/v1/model-comparison?a=${a}&b=${b}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ label: 'pneumonia', studies: 3, bothAnswered: 3, bothPositive: 1, bothNegative: 0, onlyAPositive: 1, onlyBPositive: 1 });
    expect(body.a).toMatchObject({ modelId: 'pneumonia-cxr', modelVersion: '1.1.0', notApplicableRate: 0, readerAgreement: { k: 1, n: 2 } });
    expect(body.b).toMatchObject({ modelId: 'cxr-pneumonia-adult', readerAgreement: { k: 2, n: 2 } });
    expect(body.disagreements.map((d) => [d.aPositive, d.bPositive, d.readerSaysPositive])).toEqual([[false, true, null], [true, false, false]]);
    const text = JSON.stringify(body);
    for (const uid of uids) expect(text).not.toContain(uid);
    // Sharing outside the site is opt-in by default: no link. Once the site's patients agree by policy, the link opens the de-identified study.
    expect(body.disagreements.map((d) => d.researchUrl)).toEqual([null, null]);
    expect((await api.client.json('/v1/sites/main/consent-policy', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ purpose: 'sharing', mode: 'opt-out' }) })).status).toBe(200);
    const linked = (await team.json<ModelComparison>(`/v1/model-comparison?a=${a}&b=${b}`)).body.disagreements[1];
    expect(linked.pseudonymousStudyUid).toBe(body.disagreements[1].pseudonymousStudyUid);
    const opened = await team.json<{ study: { pseudonymousUid: string } }>(linked.researchUrl!);
    expect(opened.status).toBe(200);
    expect(opened.body.study.pseudonymousUid).toBe(body.disagreements[1].pseudonymousStudyUid);
  });

  it('when the models that may be compared are listed, then both appear with their findings, shadow runs counted', async () => {
    const { status, body } = await team.json<{ items: { modelId: string; modelVersion: string; label: string; findings: number; shadowFindings: number; displayZh: string }[] }>('/v1/model-comparison/models');
    expect(status).toBe(200);
    expect(body.items.filter((m) => m.label === 'pneumonia').map((m) => [`${m.modelId}@${m.modelVersion}`, m.findings, m.shadowFindings, m.displayZh]))
      .toEqual([[b, 3, 0, '肺炎'], [a, 3, 0, '肺炎']]);
    expect((await doctor.json('/v1/model-comparison/models')).status).toBe(403);
  });

  it('when asked as CSV, then the summary and one row per disagreement download', async () => {
    const response = await fetch(new URL(`/v1/model-comparison?a=${a}&b=${b}&format=csv`, api.url), { headers: api.authorization });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await response.text()).replace(/^\uFEFF/, '').trimEnd().split('\r\n');
    expect(lines[1]).toMatch(/^pneumonia,pneumonia-cxr@1\.1\.0,cxr-pneumonia-adult@1\.0\.0,3,3,1,0,1,1,/);
    expect(lines[3]).toBe('pseudonymousStudyUid,aPositive,bPositive,readerSaysPositive,decidedAt');
    expect(lines.slice(4).map((l) => l.split(',').slice(1, 4).join(','))).toEqual(['false,true,', 'true,false,false']);
  });

  it('when the promotion checklist is asked for, then every item says pass or fail, the criteria are stated, and there is no way to promote but a card change', async () => {
    const { status, body } = await team.json<PromotionChecklist>(`/v1/model-comparison/promotion?candidate=${b}&incumbent=${a}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ label: 'pneumonia', decidedCases: 2, readerPositives: 1, criteria: { minDecidedCases: 100, minReaderPositives: 20 } });
    expect(body.difference!.value).toBeCloseTo(0.5, 12);
    expect(body.checks.map((c) => [c.id, c.pass])).toEqual([['decided-cases', false], ['reader-agreement', true], ['latency', true], ['not-applicable', true]]);
    expect(body.checks.every((c) => c.statement && c.statementZh)).toBe(true);
    expect(body.howToPromote).toMatch(/card/);
  });

  it('when a grassroots doctor asks, then 403 on both', async () => {
    expect((await doctor.json(`/v1/model-comparison?a=${a}&b=${b}`)).status).toBe(403);
    expect((await doctor.json(`/v1/model-comparison/promotion?candidate=${b}&incumbent=${a}`)).status).toBe(403);
  });

  it.each([
    [`?a=${a}&b=${a}`, 'b'],
    [`?a=pneumonia-cxr&b=${b}`, 'a'],
    [`?a=${a}&b=nih-cxr-abnormal@1.1.0`, 'label'],
    [`?a=${a}&b=${b}&label=abnormal`, 'label'],
    [`?a=${a}&b=${b}&format=xlsx`, 'format'],
    [`?a=${a}&b=${b}&from=2026-11-22&to=2026-11-21`, 'to'],
    [`?a=${a}&b=${b}&site=nowhere`, 'site'],
  ])('when the query is bad (%s), then 422 names %s', async (query, field) => {
    const { status, body } = await team.json<Refusal>(`/v1/model-comparison${query}`);
    expect(status).toBe(422);
    expect(body.error.details?.map((d) => d.field)).toContain(field);
  });
});
