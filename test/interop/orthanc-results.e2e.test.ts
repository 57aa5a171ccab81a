import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../support/api-client.ts';
import { withFreshUids } from '../support/dicom-builder.ts';
import { startOrthanc, type Orthanc } from '../support/orthanc.ts';
import { files } from '../support/shared-data.ts';
import { startStack, waitFor, type Stack } from '../support/stack.ts';

/**
 * Lantern's AI results reaching the hospital's archive: `lantern start` with a real worker
 * and its models, and a real Orthanc as `LANTERN_RESULTS_DESTINATION` (STOW-RS to Orthanc's
 * DICOMweb server). A chest film goes in; the model's preliminary SR, then the radiologist's
 * verified decision SR, come out in Orthanc, referencing the film.
 */

interface OrthancSeries { ID: string; Instances: string[]; MainDicomTags: Record<string, string> }
type Tags = Record<string, unknown>;

describe('Lantern → Orthanc: AI results as DICOM SR', () => {
  let orthanc: Orthanc;
  let stack: Stack;

  beforeAll(async () => {
    orthanc = await startOrthanc();
    stack = await startStack({ workers: 1, env: { LANTERN_RESULTS_DESTINATION: `dicomweb:${orthanc.url}/dicom-web` } });
  });

  afterAll(async () => {
    await stack?.stop();
    await orthanc?.stop();
  });

  /** The SR instances (their tags) Orthanc holds for a study, once `enough` says they are what the test waits for. */
  const srsInOrthanc = (studyUid: string, enough: (srs: Tags[]) => boolean, what: string) => waitFor(async () => {
    const series = await orthanc.rest<OrthancSeries[]>('POST', '/tools/find', { Level: 'Series', Query: { StudyInstanceUID: studyUid, Modality: 'SR' }, Expand: true });
    const srs = await Promise.all(series.flatMap((s) => s.Instances).map((id) => orthanc.rest<Tags>('GET', `/instances/${id}/tags?simplify`)));
    return enough(srs) ? { series, srs } : undefined;
  }, what, 90_000);

  it('when the model reads a chest film and a radiologist accepts its finding, then Orthanc lists the preliminary SR and the verified decision SR that supersedes it', async () => {
    const client = apiClient(stack.baseUrl, stack.token);
    const image = withFreshUids(fs.readFileSync(files.chestJ2k), 31);
    const stowed = await client.stow([image]);
    expect(stowed.status).toBe(200);
    const { studyInstanceUid: studyUid, sopInstanceUid: imageSop } = stowed.body.stored![0];
    await client.settled(studyUid, 120_000);

    // The model's preliminary document(s), in Lantern's AI results series, naming the film.
    const { series, srs: preliminary } = await srsInOrthanc(studyUid, (srs) => srs.length > 0, 'the preliminary SR in Orthanc');
    expect(series).toHaveLength(1);
    expect(series[0].MainDicomTags.SeriesDescription).toMatch(/AI/);
    for (const sr of preliminary) {
      expect(sr.VerificationFlag).toBe('UNVERIFIED');
      expect(sr.PreliminaryFlag).toBe('PRELIMINARY');
      expect(JSON.stringify(sr.CurrentRequestedProcedureEvidenceSequence), 'the SR names the film it reports on').toContain(imageSop);
    }
    // What Orthanc received is what Lantern keeps in the study.
    const { body: study } = await client.study(studyUid);
    const kept = new Set(study.instances.map((i) => i.sopInstanceUid));
    for (const sr of preliminary) expect(kept.has(sr.SOPInstanceUID as string), `Lantern keeps ${String(sr.SOPInstanceUID)}`).toBe(true);

    const finding = study.findings.find((f) => f.applicability?.applicable !== false) ?? study.findings[0];
    expect((await client.review(finding.id, { decision: 'accept' })).status).toBe(201);
    const { srs } = await srsInOrthanc(studyUid, (all) => all.some((sr) => sr.VerificationFlag === 'VERIFIED'), 'the decision SR in Orthanc');
    const verified = srs.filter((sr) => sr.VerificationFlag === 'VERIFIED');
    expect(verified).toHaveLength(1);
    const predecessors = JSON.stringify(verified[0].PredecessorDocumentsSequence);
    expect(srs.some((sr) => sr !== verified[0] && predecessors.includes(sr.SOPInstanceUID as string)), 'the decision SR names the preliminary one it supersedes').toBe(true);
  });
});
