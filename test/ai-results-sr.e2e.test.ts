/**
 * AI results leave Lantern as DICOM SR, end to end: `lantern start` (real redis-server,
 * PGlite, a worker running the bundled ONNX models) with a real Orthanc as the hospital's
 * archive (LANTERN_RESULTS_DESTINATION). A real adult chest CR goes in over STOW-RS; each
 * model's findings come back as a preliminary SR in the study — the probability the model
 * gave, its weights' hash, present or absent as its operating point says, or not applicable
 * with the reason — and the same bytes reach Orthanc. A clinician's review through the API
 * becomes a verified SR naming the preliminary one. Every SR passes dsrdump and dciodvfy; QIDO-RS
 * lists their series and WADO-RS describes them.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../contract/findings.ts';
import { decisionSrUid, findingsSrUid } from '../dicom/sr/ai-results-sr.ts';
import { apiClient } from './support/api-client.ts';
import { startOrthanc, type Orthanc } from './support/orthanc.ts';
import { files } from './support/shared-data.ts';
import { startStack, waitFor, type Stack } from './support/stack.ts';

describe('AI results as DICOM SR from a real model run, in the study and at the archive', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-sr-e2e-'));
  let orthanc: Orthanc;
  let stack: Stack;
  let api: ReturnType<typeof apiClient>;
  let studyUid: string;
  let sourceUid: string;
  let findings: Finding[];

  /** The SR as Orthanc holds it (pushed by Lantern), once it is there. */
  const fromArchive = (sopInstanceUid: string) => waitFor(async () => {
    const found = await orthanc.rest<string[]>('POST', '/tools/find', { Level: 'Instance', Query: { SOPInstanceUID: sopInstanceUid } });
    return found.length === 1 ? orthanc.raw(`/instances/${found[0]}/file`) : undefined;
  }, `SR ${sopInstanceUid} at the archive`, 60_000);
  const check = (bytes: Uint8Array) => {
    const file = path.join(dataDir, `${Math.random().toString(36).slice(2)}.dcm`);
    fs.writeFileSync(file, bytes);
    const dump = spawnSync('dsrdump', ['+Pc', '+Pl', file], { encoding: 'utf8' });
    const iod = spawnSync('dciodvfy', [file], { encoding: 'utf8' });
    return { tree: dump.stdout, dumpErrors: dump.stderr.split('\n').filter((l) => /^[EF]:/.test(l)), iodErrors: `${iod.stdout}\n${iod.stderr}`.split('\n').filter((l) => l.startsWith('Error')) };
  };

  beforeAll(async () => {
    orthanc = await startOrthanc();
    stack = await startStack({ workers: 1, dataDir, env: { LANTERN_RESULTS_DESTINATION: `dicomweb:${orthanc.url}/dicom-web` } });
    api = apiClient(stack.baseUrl, stack.token);
    const { body } = await api.stow([files.chestJ2k]);
    [{ studyInstanceUid: studyUid, sopInstanceUid: sourceUid }] = body.stored!;
    await api.settled(studyUid);
    findings = (await api.study(studyUid)).body.findings;
  }, 150_000);
  afterAll(async () => {
    await stack?.stop();
    await orthanc?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('when the models have answered, then each one\'s preliminary SR is an instance of the study, audited as the model, and at the archive says what the model said', async () => {
    const models = (await api.json<{ models: { id: string; version: string; weightsSha256: string }[] }>('/health')).body.models;
    expect(findings.map((f) => f.model.id).sort()).toEqual(['cxr-pneumonia-adult', 'pneumonia-cxr']);
    const priority = (await api.study(studyUid)).body.study.priority;
    for (const finding of findings) {
      const uid = findingsSrUid(sourceUid, finding.model);
      const instance = await waitFor(async () => (await api.study(studyUid)).body.instances.find((i) => i.sopInstanceUid === uid), `SR of ${finding.model.id} in the study`);
      expect(instance.image).toBeUndefined();
      expect((await api.audit(`?entityId=${uid}`)).map((a) => [a.action, a.actor])).toEqual([['instance.received', `model:${finding.model.id}@${finding.model.version}`]]);
      const { tree, dumpErrors, iodErrors } = check(await fromArchive(uid));
      expect(dumpErrors).toEqual([]);
      expect(iodErrors).toEqual([]);
      expect(tree).toMatch(/Preliminary Flag +: PRELIMINARY/);
      const model = models.find((m) => m.id === finding.model.id)!;
      expect(tree).toContain(`<has concept mod TEXT:(111002,DCM,"Algorithm Parameters")="weightsSha256=${model.weightsSha256}">`);
      expect(tree).toContain('<contains CODE:(121071,DCM,"Finding")=(233604007,SCT,"Pneumonia")>');
      if (finding.probability === null) {
        expect(tree).toContain('=(385432009,SCT,"Not applicable")>');
        expect(tree).toContain(`="Not applicable: ${finding.applicability!.reason!.text}">`);
      } else {
        expect(tree).toContain(`<contains NUM:(ai-probability,99LANTERN,"AI model probability")="${Number(finding.probability.toFixed(6))}" (1,UCUM,"no units")>`);
        expect(tree).toContain(`<contains NUM:(operating-point,99LANTERN,"Operating point threshold")="${Number(finding.operatingPoint.threshold.toFixed(6))}"`);
        const presence = finding.refer ? 'Undetermined' : finding.positive ? 'Present' : 'Absent';
        expect(tree).toMatch(new RegExp(`<contains CODE:\\(705057003,SCT,"Presence"\\)=\\([0-9]+,SCT,"${presence}"\\)>`));
        // The adult model's heatmap points at its hot region on the film.
        expect(tree).toMatch(/<contains SCOORD:\(111030,DCM,"Image Region"\)=\(POLYLINE,/);
      }
    }
    expect((await api.study(studyUid)).body.study.priority).toBe(priority);

    // QIDO-RS lists the AI results series; WADO-RS describes each SR from its stored bytes.
    const dicomweb = (route: string) => fetch(new URL(route, stack.baseUrl), { headers: { ...stack.authorization, accept: 'application/dicom+json' } })
      .then(async (r) => ({ status: r.status, body: await r.json() as Record<string, { Value?: unknown[] }>[] }));
    const series = await dicomweb(`/dicomweb/studies/${studyUid}/series`);
    expect(series.status).toBe(200);
    const aiSeries = series.body.find((s) => s['0008103E']?.Value?.[0] === 'Lantern AI results (AI-assisted, not a diagnosis)')!;
    expect(aiSeries['00080060'].Value).toEqual(['SR']);
    const seriesUid = String(aiSeries['0020000E'].Value![0]);
    for (const finding of findings) {
      const metadata = await dicomweb(`/dicomweb/studies/${studyUid}/series/${seriesUid}/instances/${findingsSrUid(sourceUid, finding.model)}/metadata`);
      expect(metadata.status).toBe(200);
      expect(metadata.body[0]['00080016'].Value).toEqual(['1.2.840.10008.5.1.4.1.1.88.33']);
      expect(metadata.body[0]['0040A491'].Value).toEqual(['PARTIAL']);
    }
  });

  it('when a clinician accepts the adult model\'s finding, then a verified SR records the decision by that clinician, names the preliminary SR, and reaches the archive', async () => {
    const finding = findings.find((f) => f.model.id === 'cxr-pneumonia-adult')!;
    const { status, body } = await api.review(finding.id, { decision: 'accept' });
    expect(status).toBe(201);
    const uid = decisionSrUid(body.review!.id);
    await waitFor(async () => (await api.study(studyUid)).body.instances.find((i) => i.sopInstanceUid === uid), 'the decision SR in the study');
    expect((await api.audit(`?entityId=${uid}`)).map((a) => [a.action, a.actor])).toEqual([['instance.received', 'admin']]);
    const bytes = await fromArchive(uid);
    const { tree, dumpErrors, iodErrors } = check(bytes);
    expect(dumpErrors).toEqual([]);
    expect(iodErrors).toEqual([]);
    expect(tree).toMatch(/Preliminary Flag +: FINAL\n.*Completion Flag +: COMPLETE\n.*Predecessor Docs +: 1\n.*Verification Flag +: VERIFIED\n.*Verifying Observers : .*, Administrator\^, Lantern site main/);
    expect(tree).toContain('<contains CODE:(decision,99LANTERN,"Clinician decision on AI finding")=(accepted,99LANTERN,"Accepted by clinician")>');
    expect(Buffer.from(bytes).includes(findingsSrUid(sourceUid, finding.model))).toBe(true);
  });
});
