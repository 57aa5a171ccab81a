import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding, Review } from '../../store/types.ts';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';
import { REVIEW_REASONS } from '../../contract/reading.ts';

type StudyAnswer = { findings: (Finding & { reviews: Review[] })[]; reviews: Review[]; study: { status: string } };

describe('POST /v1/findings/{id}/review', () => {
  let api: TestApi;
  const lastSeq = async () => (await api.client.audit('?limit=1'))[0]?.seq ?? 0;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => api?.stop());

  it('when the coded reasons are listed, then each has an English and a Chinese text', async () => {
    const { status, body } = await api.client.json<{ items: { code: string; display: string; displayZh: string }[] }>('/v1/review-reasons');
    expect(status).toBe(200);
    expect(body.items.map((r) => r.code)).toEqual(REVIEW_REASONS.map((r) => r.code));
    for (const r of body.items) expect(r.displayZh).toMatch(/[\u4e00-\u9fff]/);
  });

  it('when a decision is amended, then both reviews and both audit records stay, the newer amends the older, and the chain verifies', async () => {
    const { studyInstanceUid, sopInstanceUid } = await api.addStudy();
    const finding = await api.addFinding(sopInstanceUid, { probability: 0.96 });

    const li = await api.signIn('dr-li', ['radiologist']);
    const wang = await api.signIn('dr-wang', ['consultant']);
    const first = await li.client.json<{ review: Review }>(`/v1/findings/${finding.id}/review`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ decision: 'accept' }),
    });
    expect(first.status).toBe(201);
    expect(first.body.review.amends).toBeUndefined();
    const second = await wang.client.json<{ review: Review }>(`/v1/findings/${finding.id}/review`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ decision: 'override', reasonCode: 'false-positive', comment: 'old scarring' }),
    });
    expect(second.status).toBe(201);
    expect(second.body.review).toMatchObject({ decision: 'override', reasonCode: 'false-positive', reviewer: 'dr-wang', amends: first.body.review.id });

    const { body: study } = await api.client.json<StudyAnswer>(`/v1/studies/${studyInstanceUid}`);
    const [shown] = study.findings;
    expect(shown.review).toEqual(second.body.review);
    expect(shown.reviews).toEqual([first.body.review, second.body.review]);
    expect(study.reviews).toEqual([first.body.review, second.body.review]);
    expect(study.study.status).toBe('reviewed');

    const audit = (await api.client.audit(`?entityId=${encodeURIComponent(finding.id)}`)).filter((a) => a.action.startsWith('finding.') && a.action !== 'finding.created');
    expect(audit.map((a) => [a.action, a.actor])).toEqual([['finding.override', 'dr-wang'], ['finding.accept', 'dr-li']]);
    expect(audit[0].payload).toMatchObject({ reviewId: second.body.review.id, amends: first.body.review.id, decision: 'override', reasonCode: 'false-positive' });
    expect(audit[1].payload).toMatchObject({ reviewId: first.body.review.id, amends: null, decision: 'accept' });
    expect(await api.client.verify()).toMatchObject({ intact: true });

    const worklistRow = (await api.client.worklist()).find((i) => i.studyInstanceUid === studyInstanceUid)!;
    expect(worklistRow.findings[0].review).toEqual(second.body.review);
  });

  it('when the model was not applicable to the image, then a decision is refused with 409 and nothing is written', async () => {
    const { studyInstanceUid, sopInstanceUid } = await api.addStudy();
    const reason = { code: 'OUTSIDE_POPULATION_AGE', text: 'patient age 64 y outside 1–5 y', textZh: '患者年龄 64 岁 不在 1–5 岁之内' };
    const finding = await api.addFinding(sopInstanceUid, { probability: 0.9, notApplicable: reason });
    const before = await lastSeq();
    const answer = await api.client.review(finding.id, { decision: 'accept' });
    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({ error: { code: 'FINDING_NOT_APPLICABLE', message: expect.stringContaining('patient age 64 y outside 1–5 y') } });
    expect(await lastSeq()).toBe(before);
    const { body: study } = await api.client.json<StudyAnswer>(`/v1/studies/${studyInstanceUid}`);
    expect(study.findings.find((f) => f.id === finding.id)).toMatchObject({ probability: null, review: null, applicability: { applicable: false, reason } });
    expect(study.study.status).toBe('ready');
  });

  it('when two readers decide the same finding at once, then one amends the other: the reviews form one line', async () => {
    const { studyInstanceUid, sopInstanceUid } = await api.addStudy();
    const finding = await api.addFinding(sopInstanceUid, { probability: 0.5 });
    const readers = await Promise.all(['dr-a', 'dr-b', 'dr-c'].map((name) => api.signIn(name, ['radiologist'])));
    const answers = await Promise.all(readers.map((reader) => reader.client.review(finding.id, { decision: 'accept' })));
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201]);
    const { body } = await api.client.json<StudyAnswer>(`/v1/studies/${studyInstanceUid}`);
    const reviews = body.findings[0].reviews;
    expect(reviews.map((r) => r.amends)).toEqual([undefined, reviews[0].id, reviews[1].id]);
  });

  it.each([
    ['an unknown finding', 'no-such-finding', { decision: 'accept' }, 404, 'NOT_FOUND'],
    ['an override without a reason', undefined, { decision: 'override' }, 422, 'VALIDATION_FAILED'],
    ['an unknown reason', undefined, { decision: 'override', reasonCode: 'bored' }, 422, 'VALIDATION_FAILED'],
    ['reason "other" without a comment', undefined, { decision: 'override', reasonCode: 'other' }, 422, 'VALIDATION_FAILED'],
    // The reviewer is whoever is signed in; a name in the body is not taken.
    ['a reviewer named in the body', undefined, { decision: 'accept', reviewer: 'Dr Li' }, 422, 'VALIDATION_FAILED'],
  ])('when the decision has %s, then it is refused with a code and nothing is written or audited', async (_name, findingId, body, status, code) => {
    const { studyInstanceUid, sopInstanceUid } = await api.addStudy();
    const finding = await api.addFinding(sopInstanceUid, { probability: 0.5 });
    const seq = await lastSeq();
    const answer = await api.client.review(findingId ?? finding.id, body);
    expect(answer.status).toBe(status);
    expect(answer.body.error?.code).toBe(code);
    expect(await lastSeq()).toBe(seq);
    const { body: study } = await api.client.json<StudyAnswer>(`/v1/studies/${studyInstanceUid}`);
    expect(study.reviews).toEqual([]);
    expect(study.findings[0].review).toBeNull();
  });
});
