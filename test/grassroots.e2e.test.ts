/**
 * The grassroots doctor's short path, against `lantern start`: a form goes in, a
 * calibrated risk comes back at once with its band, the reasons, the model's
 * provenance and any validated-range warning; bad input gets one error per field; every
 * answer is audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from './support/api-client.ts';
import { newUser, type SignedIn } from './support/sign-in.ts';
import { startStack, waitFor, type Stack } from './support/stack.ts';

interface RiskAnswer {
  risk: number;
  band: { label: string };
  contributions: { term: string; value: number }[];
  warnings: { feature: string; code: string; message: string }[];
  model: { id: string; version: string; sha256: string };
  aiAssisted: string;
  error?: { code: string; details: { field: string; message: string }[] };
}

describe('risk for a grassroots doctor', () => {
  let stack: Stack;
  let api: ReturnType<typeof apiClient>;
  /** The village doctors asking, each signed in with their own account. */
  const doctors: Record<'wang' | 'li', SignedIn> = {} as never;
  const post = (model: string, body: unknown, doctor: 'wang' | 'li' = 'wang') =>
    apiClient(stack.baseUrl, doctors[doctor].token).json<RiskAnswer>(`/v1/risk/${model}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    stack = await startStack({ workers: 0 });
    api = apiClient(stack.baseUrl, stack.token);
    doctors.wang = await newUser(stack.baseUrl, stack.token, { username: 'dr-wang', displayName: 'Dr Wang', roles: ['grassroots-doctor'] });
    doctors.li = await newUser(stack.baseUrl, stack.token, { username: 'dr-li', displayName: '李医生', roles: ['grassroots-doctor'] });
  });
  afterAll(async () => stack?.stop());

  it('when a woman\'s OGTT, BMI and age are sent, then a calibrated diabetes risk comes back with band, reasons and provenance, and is audited', async () => {
    const { status, body } = await post('diabetes-pima', { glucose2hOgtt: { value: 8.3, unit: 'mmol/L' }, bmi: 33, age: 45 });
    expect(status).toBe(200);
    expect(body.risk).toBeGreaterThan(0);
    expect(body.risk).toBeLessThan(1);
    expect(['low', 'moderate', 'high']).toContain(body.band.label);
    expect(body.contributions.map((c) => c.term).length).toBeGreaterThanOrEqual(3);
    expect(body.warnings).toEqual([]);
    expect(body.aiAssisted).toBeTruthy();
    const { body: card } = await api.json<{ version: string; sha256: string; inputSchema: { required: string[] } }>('/v1/models/diabetes-pima');
    expect(body.model).toMatchObject({ id: 'diabetes-pima', version: card.version, sha256: card.sha256 });
    expect(card.inputSchema.required).toEqual(expect.arrayContaining(['glucose2hOgtt', 'bmi', 'age']));
    // Calculation audits are group-committed just after the answer.
    const audit = await waitFor(async () => (await api.audit('?entityId=diabetes-pima@' + card.version))[0], 'the calculation audit');
    expect(audit).toMatchObject({ action: 'risk.calculated', actor: 'dr-wang', payload: { result: { band: body.band.label } } });
  });

  it('when the doctor\'s display name is Chinese, then the audit records her account, never a name the request sends', async () => {
    const { status } = await post('qsofa', { respiratoryRate: 24, systolicBp: { value: 95, unit: 'mmHg' }, gcs: 14 }, 'li');
    expect(status).toBe(200);
    const audit = await waitFor(async () => (await api.audit('?limit=1000')).find((a) => a.action === 'score.calculated' && a.actor === 'dr-li'), 'the calculation audit under 李医生\'s account');
    expect(audit.entityId).toMatch(/^qsofa@/);
  });

  it('when glucose is sent in mg/dL or mmol/L, then the answer is the same', async () => {
    const mmol = (await post('diabetes-pima', { glucose2hOgtt: { value: 8.3, unit: 'mmol/L' }, bmi: 33, age: 45 })).body.risk;
    const mg = (await post('diabetes-pima', { glucose2hOgtt: { value: 8.3 * 18.016, unit: 'mg/dL' }, bmi: 33, age: 45 })).body.risk;
    expect(mg).toBeCloseTo(mmol, 6);
  });

  it('when an input lies outside the validated population, then the answer says so instead of extrapolating silently', async () => {
    const { body } = await post('diabetes-pima', { glucose2hOgtt: { value: 150, unit: 'mg/dL' }, bmi: 30, age: 45, sex: 'male' });
    expect(body.warnings.map((w) => w.code)).toContain('OUTSIDE_VALIDATED_POPULATION');
  });

  it('when inputs are wrong, then 422 names each field and nothing is audited', async () => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const before = (await api.audit('?limit=1000')).length;
    const { status, body } = await post('diabetes-pima', { glucose2hOgtt: 150, bmi: -3, age: 'old', shoeSize: 44 });
    expect(status).toBe(422);
    expect(body.error!.code).toBe('VALIDATION_FAILED');
    expect(body.error!.details.map((d) => d.field).sort()).toEqual(['age', 'bmi', 'glucose2hOgtt', 'shoeSize']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await api.audit('?limit=1000')).length).toBe(before);
  });

  it('when the model does not exist or is not a risk model, then 404 says so', async () => {
    expect((await post('no-such-model', {})).status).toBe(404);
    expect((await post('pneumonia-cxr', {})).status).toBe(404);
  });
});
