/**
 * A shadow model on live traffic, end to end: `lantern start` (real redis-server, PGlite, one
 * worker running ONNX) with the shipped models plus a shadow copy of cxr-pneumonia-adult — its
 * card as version 9.0.0, `deployment: shadow`, the same ONNX — in a temporary models folder. A
 * real adult chest CR goes in over STOW-RS; both versions read it in the same worker. The shadow
 * run's findings are stored with their provenance (seen through the audit trail, a model-team
 * read), and no clinician-facing route shows them: worklist, study view, its instances (no SR of
 * the shadow run), a review of one, FHIR DiagnosticReport and Observation (search and read),
 * triage. At start each model version's deployment is audited (`model.deployment-changed`, actor
 * `system:registry`); a restart with the copy's card made canary audits the change.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelProvenance } from '../contract/findings.ts';
import { findingsSrUid } from '../dicom/sr/ai-results-sr.ts';
import { apiClient, type AuditItem } from './support/api-client.ts';
import { editCard, shippedModels, shippedModelsWith } from './support/models-folder.ts';
import { files } from './support/shared-data.ts';
import { startStack, waitFor, type Stack } from './support/stack.ts';

const SHADOW = { id: 'cxr-pneumonia-adult', version: '9.0.0' };
const SHADOW_KEY = `${SHADOW.id}@${SHADOW.version}`;

describe('a shadow model on live traffic', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-shadow-e2e-'));
  // The shadow copy of cxr-pneumonia-adult points at the same ONNX.
  const models = shippedModelsWith([{ from: path.join(shippedModels, SHADOW.id), folder: `${SHADOW.id}-next`, edit: (card) => { card.version = SHADOW.version; card.deployment = 'shadow'; } }]);
  let stack: Stack;
  let api: ReturnType<typeof apiClient>;
  let studyUid: string;
  let sourceUid: string;
  let shadowFindings: AuditItem[];

  beforeAll(async () => {
    stack = await startStack({ workers: 1, dataDir, env: { LANTERN_MODELS_DIR: models } });
    api = apiClient(stack.baseUrl, stack.token);
    const { body } = await api.stow([files.chestJ2k]);
    [{ studyInstanceUid: studyUid, sopInstanceUid: sourceUid }] = body.stored!;
    await api.settled(studyUid);
    // The shadow job runs after the clinical ones (lower priority): wait for its findings to be stored.
    shadowFindings = await waitFor(async () => {
      const created = (await api.audit('?action=finding.created&limit=200')).filter((a) => (a.payload as { model: { version: string } }).model.version === SHADOW.version);
      return created.length > 0 ? created : undefined;
    }, 'the shadow run\'s findings', 90_000);
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(models, { recursive: true, force: true });
  });

  it('when the shadow version reads the film in the same worker, then its findings are stored with full provenance, audited as the model and marked shadow', async () => {
    const [clinical] = (await api.study(studyUid)).body.findings.filter((f) => f.model.id === SHADOW.id);
    expect(shadowFindings.map((a) => a.actor)).toEqual(shadowFindings.map(() => `model:${SHADOW_KEY}`));
    for (const record of shadowFindings) {
      const payload = record.payload as Record<string, any>;
      expect(payload).toMatchObject({ sopInstanceUid: sourceUid, deployment: 'shadow', model: { ...SHADOW, weightsSha256: clinical.model.weightsSha256, preprocessing: clinical.model.preprocessing } });
      // The same graph on the same image: the shadow copy's probability is the clinical version's.
      expect(payload.probability).toBeCloseTo(clinical.probability!, 6);
    }
  });

  it('when a clinician opens every route that shows AI findings, then each shows the clinical models\' findings and nothing of the shadow run', async () => {
    const shadowIds = shadowFindings.map((a) => a.entityId);
    const clinicalModels = ['cxr-pneumonia-adult@1.0.0', 'pneumonia-cxr@1.1.0'];
    const study = (await api.study(studyUid)).body;
    expect([...new Set(study.findings.map((f) => `${f.model.id}@${f.model.version}`))].sort()).toEqual(clinicalModels);
    // Each clinical model's preliminary SR is an instance of the study; the shadow run has none.
    await waitFor(async () => ((await api.study(studyUid)).body.instances.filter((i) => i.sopInstanceUid !== sourceUid).length === 2 ? true : undefined), 'the two clinical SRs');
    const clinicalSr = findingsSrUid(sourceUid, study.findings.find((f) => f.model.id === SHADOW.id)!.model);
    const fhir = async (url: string) => fetch(new URL(url, stack.baseUrl), { headers: { authorization: `Bearer ${stack.token}`, accept: 'application/fhir+json' } }).then(async (r) => ({ status: r.status, text: await r.text() }));
    const clinicianRoutes: Record<string, () => Promise<string>> = {
      'GET /v1/worklist': async () => JSON.stringify((await api.worklist()).find((i) => i.studyInstanceUid === studyUid)),
      'GET /v1/studies/{uid}': async () => JSON.stringify((await api.study(studyUid)).body),
      'GET /v1/studies/{uid}/instances': async () => JSON.stringify((await api.json(`/v1/studies/${studyUid}/instances`)).body),
      'GET /fhir/DiagnosticReport?_id': async () => (await fhir(`/fhir/DiagnosticReport?_id=${studyUid}`)).text,
      'GET /fhir/DiagnosticReport/{uid}': async () => (await fhir(`/fhir/DiagnosticReport/${studyUid}`)).text,
      'GET /fhir/Observation?derived-from': async () => (await fhir(`/fhir/Observation?derived-from=ImagingStudy/${studyUid}`)).text,
    };
    for (const [route, read] of Object.entries(clinicianRoutes)) {
      const text = await read();
      // Each shows the clinical models' work (a clinical finding, or for the instances its SR), so an empty answer cannot pass.
      expect(study.findings.some((f) => text.includes(f.id)) || text.includes(clinicalSr), `${route}: ${text.slice(0, 200)}`).toBe(true);
      expect(shadowIds.filter((id) => text.includes(id)), route).toEqual([]);
      expect(text.includes(SHADOW.version), route).toBe(false);
      expect(text.includes(findingsSrUid(sourceUid, (shadowFindings[0].payload as { model: ModelProvenance }).model)), route).toBe(false);
    }
    // A shadow finding cannot be read or reviewed by its id.
    expect((await fhir(`/fhir/Observation/${shadowIds[0]}`)).status).toBe(404);
    const review = await api.review(shadowIds[0], { decision: 'accept' });
    expect(review.status).toBe(404);
    // Triage: the study's reasons name no shadow finding.
    expect(study.study.why ?? '').not.toContain(SHADOW.version);
  });

  it('when Lantern started, then each model version\'s deployment was audited by the registry; a restart with the copy made canary audits the change, before and after', async () => {
    const first = await api.audit('?action=model.deployment-changed&limit=50');
    expect(first.map((a) => a.actor)).toEqual(first.map(() => 'system:registry'));
    const shadow = first.find((a) => a.entityId === SHADOW_KEY)!;
    expect(shadow.payload).toMatchObject({ before: null, after: { deployment: 'shadow' }, cardSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(first.find((a) => a.entityId === 'cxr-pneumonia-adult@1.0.0')!.payload).toMatchObject({ after: { deployment: 'clinical' } });

    await stack.stop();
    editCard(path.join(models, `${SHADOW.id}-next`), (card) => { card.deployment = 'canary'; card.canary = { share: 0.05, sites: ['main'] }; });
    // The API audits the change as it starts; no film is read after the restart, so no worker.
    stack = await startStack({ workers: 0, dataDir, env: { LANTERN_MODELS_DIR: models } });
    api = apiClient(stack.baseUrl, stack.token);
    const after = (await api.audit('?action=model.deployment-changed&limit=50')).filter((a) => a.seq > Math.max(...first.map((f) => f.seq)));
    expect(after.map((a) => a.entityId)).toEqual([SHADOW_KEY]);
    expect(after[0].payload).toMatchObject({
      before: { deployment: 'shadow' }, after: { deployment: 'canary', canary: { share: 0.05, sites: ['main'] } },
      previousCardSha256: (shadow.payload as { cardSha256: string }).cardSha256,
    });
    expect((after[0].payload as { cardSha256: string }).cardSha256).not.toBe((shadow.payload as { cardSha256: string }).cardSha256);
  }, 120_000);
});
