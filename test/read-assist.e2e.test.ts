/**
 * The first user story, end to end against `lantern start` (real redis-server, PGlite,
 * API, a worker process running the bundled ONNX model): a chest radiograph goes in over
 * STOW-RS, a prioritised AI finding comes out, a clinician reviews it, and the audit
 * chain records it all and detects tampering.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decisionSrUid } from '../dicom/sr/ai-results-sr.ts';
import { openDatabase } from '../store/db.ts';
import { apiClient } from './support/api-client.ts';
import { buildCr } from './support/dicom-builder.ts';
import { files } from './support/shared-data.ts';
import { startStack, waitFor, type Stack } from './support/stack.ts';

describe('a chest radiograph goes in; a prioritised, reviewed, audited AI finding comes out', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-e2e-'));
  let stack: Stack;
  let api: ReturnType<typeof apiClient>;
  let models: { id: string; version: string; weightsSha256: string }[];

  beforeAll(async () => {
    stack = await startStack({ workers: 1, dataDir });
    api = apiClient(stack.baseUrl, stack.token);
    models = (await api.json<{ models: typeof models }>('/health')).body.models;
  });
  afterAll(async () => {
    await stack?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('when two real adult chest CRs arrive in one STOW-RS request, then the adult model answers on each with full provenance, the paediatric model says why it does not, and the worklist is in priority order', async () => {
    const { status, body } = await api.stow([files.chestJ2k, files.chestRaw]);
    expect(status).toBe(200);
    expect(body.stored?.map((s) => s.status)).toEqual(['stored', 'stored']);

    const declinedBecause: string[] = [];
    for (const stored of body.stored!) {
      const row = await api.settled(stored.studyInstanceUid);
      expect(row.status).toBe('ready');
      expect(row.findings.map((f) => f.model.id).sort()).toEqual(['cxr-pneumonia-adult', 'pneumonia-cxr']);
      const finding = row.findings.find((f) => f.model.id === 'cxr-pneumonia-adult')!;
      expect(finding.label).toBe('pneumonia');
      expect(finding.probability).toBeGreaterThanOrEqual(0);
      expect(finding.probability).toBeLessThanOrEqual(1);
      expect(finding.positive).toBe(finding.probability! >= finding.operatingPoint.threshold);
      expect(finding.applicability?.applicable).toBe(true);
      expect(finding.aiAssisted).toMatch(/AI-assisted/);
      const model = models.find((m) => m.id === finding.model.id)!;
      expect(finding.model).toMatchObject({ version: model.version, weightsSha256: model.weightsSha256, preprocessing: 'grey-square@1' });
      expect(finding.timingMs.inference).toBeGreaterThan(0);
      expect(finding.heatmap?.data.length).toBe(finding.heatmap!.width * finding.heatmap!.height);

      const declined = row.findings.find((f) => f.model.id === 'pneumonia-cxr')!;
      expect(declined).toMatchObject({ probability: null, positive: false, applicability: { applicable: false } });
      declinedBecause.push(declined.applicability!.reason!.text);
      // The adult model may not drive priority (its card says why): the study is ordered by what else is known.
      expect(row.priority).toBe(0);
    }
    expect(declinedBecause).toEqual(['patient age 64 y outside 1–5 y', 'patient age not recorded']);
    const worklist = await api.worklist();
    const priorities = worklist.map((i) => i.priority);
    expect(priorities).toEqual([...priorities].sort((a, b) => b - a));
  });

  it('when a study is opened, then its instance, decoded frame and findings are there', async () => {
    const [row] = await api.worklist();
    const { status, body } = await api.study(row.studyInstanceUid);
    expect(status).toBe(200);
    const [instance] = body.instances;
    const frame = await fetch(new URL(`${instance.framesUrl}/1`, stack.baseUrl), { headers: stack.authorization });
    expect(frame.status).toBe(200);
    const bytes = new Uint8Array(await frame.arrayBuffer());
    const rows = Number(frame.headers.get('x-rows'));
    const columns = Number(frame.headers.get('x-columns'));
    expect(rows).toBe(instance.image.rows);
    expect(bytes.length).toBe(rows * columns * Number(frame.headers.get('x-bits-allocated')) / 8);
    expect(body.findings).toHaveLength(2);
    expect((await fetch(new URL(`${instance.framesUrl}/2`, stack.baseUrl), { headers: stack.authorization })).status).toBe(404);
  });

  it('when the same instance is uploaded again, then it is a duplicate: one instance, one finding, one set of audit records', async () => {
    const { body } = await api.stow([files.chestRaw]);
    expect(body.stored?.[0].status).toBe('duplicate');
    const sop = body.stored![0].sopInstanceUid;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const study = (await api.study(body.stored![0].studyInstanceUid)).body;
    // One image; the study's other instances are the AI results SRs Lantern added (objects without an image).
    expect(study.instances.filter((i) => i.image)).toHaveLength(1);
    expect(study.findings).toHaveLength(2);
    expect((await api.audit(`?entityId=${sop}`)).map((a) => a.action)).toEqual(['instance.received']);
    for (const finding of study.findings) expect((await api.audit(`?entityId=${finding.id}`)).map((a) => a.action)).toEqual(['finding.created']);
  });

  it('when a clinician overrides a finding, then a coded reason is required, and the decision is stored and audited with who, what and why', async () => {
    const [row] = await api.worklist();
    const finding = row.findings[0];
    const missingReason = await api.review(finding.id, { decision: 'override' });
    expect(missingReason.status).toBe(422);
    expect(missingReason.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'reasonCode' }] });

    const saved = await api.review(finding.id, { decision: 'override', reasonCode: 'false-positive', comment: 'old scarring' });
    expect(saved.status).toBe(201);
    const study = (await api.study(row.studyInstanceUid)).body;
    expect(study.findings[0].review).toMatchObject({ decision: 'override', reasonCode: 'false-positive' });
    const [latest] = await api.audit(`?entityId=${finding.id}`);
    expect(latest).toMatchObject({ action: 'finding.override', actor: 'admin', payload: { reasonCode: 'false-positive', comment: 'old scarring' } });
    // The decision's DICOM SR joins the study (pipeline/ai-results-sr.ts), audited as the clinician too.
    const sr = decisionSrUid(saved.body.review!.id);
    await waitFor(async () => ((await api.study(row.studyInstanceUid)).body.instances.some((i) => i.sopInstanceUid === sr) ? true : undefined), 'the decision SR');
    expect((await api.audit(`?entityId=${sr}`)).map((a) => [a.action, a.actor])).toEqual([['instance.received', 'admin']]);
  });

  it('when input is not a usable image, then a specific 4xx comes back and nothing is stored', async () => {
    const before = { worklist: (await api.worklist()).length, audit: (await api.audit('?limit=1000')).length };
    const cases: [string, Uint8Array, string][] = [
      ['a PNG, not DICOM', new Uint8Array(Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')), 'INVALID_DICOM'],
      ['a truncated file', fs.readFileSync(files.truncated), 'TRUNCATED_DICOM'],
    ];
    for (const [what, bytes, code] of cases) {
      const { status, body } = await api.stow([bytes]);
      // PS3.18: a request none of whose instances is stored is a 409.
      expect(status, what).toBe(409);
      expect(body.error?.code, what).toBe(code);
      expect(body.error?.message, what).toBeTruthy();
    }
    const wrongType = await fetch(new URL('/dicomweb/studies', stack.baseUrl), { method: 'POST', headers: { 'content-type': 'application/json', ...stack.authorization }, body: '{}' });
    expect(wrongType.status).toBe(415);
    expect((await wrongType.json()).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect((await api.worklist()).length).toBe(before.worklist);
    expect((await api.audit('?limit=1000')).length).toBe(before.audit);
  });

  it('when a valid DICOM has pixels that cannot be decoded, then it is stored, its job fails visibly with a typed error, and the worker keeps working', async () => {
    const image = { rows: 64, columns: 64, bitsAllocated: 8, bitsStored: 8, pixelRepresentation: 0, photometricInterpretation: 'MONOCHROME2' };
    const notAJpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xdb, 0x00, 0x43, 1, 2, 3, 4]);
    const broken = buildCr(`1.2.826.0.1.3680043.10.${Date.now()}`, '1.2.840.10008.1.2.4.50', image, [notAJpeg]);
    const { status, body } = await api.stow([broken]);
    expect(status).toBe(200);
    const row = await api.settled(body.stored![0].studyInstanceUid);
    expect(row.status).toBe('failed');
    expect(row.errors[0].code).toMatch(/PIXEL_DECODE_FAILED|INVALID_PIXEL_DATA/);
    expect(row.why).toMatch(/could not read/);
    const instance = await api.study(row.studyInstanceUid);
    // The one image; the paediatric model declined it (no age), and its "not applicable" SR is the study's other instance.
    expect(instance.body.instances.filter((i) => i.image)).toHaveLength(1);

    const ct = await api.stow([files.ct]);
    expect(ct.status).toBe(200);
    expect((await api.settled(ct.body.stored![0].studyInstanceUid)).why).toMatch(/no AI model applies/);
    const { body: health } = await api.json<{ status: string }>('/health');
    expect(health.status).toBe('ok');
  });

  it('when the audit chain is verified, then it is intact; after a row is edited in the database, verify names that row', async () => {
    const intact = await api.verify();
    expect(intact.intact).toBe(true);
    expect(intact.checked).toBeGreaterThanOrEqual(5);

    await stack.stop();
    const db = await openDatabase({ pgliteDir: path.join(dataDir, 'pglite') });
    await db.query(`update audit set payload = replace(payload, 'false-positive', 'true-positive') where action = 'finding.override'`);
    const tampered = Number((await db.query<{ seq: string }>(`select seq from audit where action = 'finding.override'`)).rows[0].seq);
    await db.close();

    stack = await startStack({ workers: 1, dataDir });
    api = apiClient(stack.baseUrl, stack.token);
    expect(await api.verify()).toEqual({ intact: false, checked: tampered - 1, firstBrokenSeq: tampered });
  });
});
