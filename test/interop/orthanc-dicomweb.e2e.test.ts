import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDicom } from 'dicom-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/api-role.ts';
import { withFreshUids } from '../support/dicom-builder.ts';
import { startOrthanc, type Orthanc } from '../support/orthanc.ts';
import { files, sharedData } from '../support/shared-data.ts';

/**
 * A hospital's PACS and Lantern on one network: a real Orthanc (Debian's, with its DICOMweb
 * plugin) that knows Lantern as the DICOMweb server `lantern` with a bearer token, as it
 * would be configured in a deployment. Every step is Orthanc's own REST call; what Orthanc
 * reports and what Lantern lists are both checked.
 */

/** A real Comprehensive SR (pydicom's test file), to travel in a study beside an image. */
const srFile = path.join(sharedData, 'dicom/pydicom-testfiles/test_files/test-SR.dcm');

const tag = (bytes: Uint8Array, t: string) => parseDicom(bytes).string(t)!;

/** The Pixel Data element's value (every fragment when encapsulated), as stored. */
function pixelData(bytes: Uint8Array): Uint8Array {
  const element = parseDicom(bytes).elements.x7fe00010;
  if (!element) throw new Error('no Pixel Data');
  const start = element.dataOffset;
  const end = element.length === 0xffffffff || element.length === undefined
    ? (element.fragments!.at(-1)!.position + element.fragments!.at(-1)!.length)
    : start + element.length;
  return bytes.subarray(start, end);
}

/**
 * The SR as an instance of `study` (its patient's ID and name, new series and instance UIDs),
 * rewritten by dcmtk's dcmodify as a modality's tools would.
 */
function srInStudy(dir: string, study: { uid: string; patientId: string; patientName: string }): Uint8Array {
  const file = path.join(dir, `sr-${study.uid}.dcm`);
  fs.copyFileSync(srFile, file);
  execFileSync('dcmodify', ['-nb', '-gse', '-gin', '-m', `(0020,000d)=${study.uid}`, '-i', `(0010,0020)=${study.patientId}`, '-m', `(0010,0010)=${study.patientName}`, file]);
  return fs.readFileSync(file);
}

describe('Orthanc ↔ Lantern over DICOMweb', () => {
  let api: TestApi;
  let orthanc: Orthanc;
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-interop-'));
    api = await startTestApi();
    orthanc = await startOrthanc();
    await orthanc.knowLantern({ dicomweb: { url: `${api.url}/dicomweb/`, token: api.token } });
  });

  afterAll(async () => {
    await orthanc?.stop();
    await api?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when Orthanc pushes a study holding a chest film and an SR (STOW-RS), then its job ends Success with both instances and Lantern lists both', async () => {
    const image = withFreshUids(fs.readFileSync(files.chestJ2k), 11);
    const study = { uid: tag(image, 'x0020000d'), patientId: tag(image, 'x00100020'), patientName: tag(image, 'x00100010') };
    const sr = srInStudy(dir, study);
    const stored = [await orthanc.upload(image), await orthanc.upload(sr)];
    expect(stored[1].ParentStudy, 'Orthanc files the SR in the image\'s study').toBe(stored[0].ParentStudy);

    const { ID } = await orthanc.rest<{ ID: string }>('POST', '/dicom-web/servers/lantern/stow', { Resources: [stored[0].ParentStudy], Synchronous: false });
    const job = await orthanc.job(ID);
    expect(job.State, JSON.stringify(job)).toBe('Success');
    expect(job.Content.InstancesCount).toBe('2');

    const { status, body } = await api.client.study(study.uid);
    expect(status).toBe(200);
    expect(body.instances.map((i) => i.sopInstanceUid).sort()).toEqual([tag(image, 'x00080018'), tag(sr, 'x00080018')].sort());
  });

  it('when Orthanc queries Lantern (QIDO-RS studies, series, instances), then it finds the study, its series and its instance with their UIDs', async () => {
    const { studyInstanceUid, sopInstanceUid } = await api.addStudy(files.chestJ2k);
    // Orthanc's /qido hands back each answer's attributes by tag, with its own dictionary's name and the value as text.
    type Answer = Record<string, { Name: string; Value?: string }>;
    const qido = (uri: string, args: Record<string, string> = {}) =>
      orthanc.rest<Answer[]>('POST', '/dicom-web/servers/lantern/qido', { Uri: uri, Arguments: args });

    const studies = await qido('/studies', { StudyInstanceUID: studyInstanceUid });
    expect(studies.map((s) => s['0020000D'].Value)).toEqual([studyInstanceUid]);
    expect(studies[0]['00080061'].Value, 'ModalitiesInStudy').toBe('CR');
    expect(studies[0]['00100010'].Value, 'PatientName').toBe('CompressedSamples^RG1');

    const series = await qido(`/studies/${studyInstanceUid}/series`);
    expect(series).toHaveLength(1);
    expect(series[0]['00080060'].Value).toBe('CR');
    const seriesUid = series[0]['0020000E'].Value!;

    const instances = await qido(`/studies/${studyInstanceUid}/series/${seriesUid}/instances`);
    expect(instances.map((i) => i['00080018'].Value)).toEqual([sopInstanceUid]);
    expect(instances[0]['00080016'].Value, 'SOP Class: CR').toBe('1.2.840.10008.5.1.4.1.1.1');
  });

  it('when Orthanc retrieves a study from Lantern (WADO-RS), then the instance appears in Orthanc with its SOP Instance UID and byte-identical pixel data', async () => {
    // A study Lantern holds and Orthanc does not (fresh UIDs; the pixel data is the file's, byte for byte).
    const { studyInstanceUid: studyUid, sopInstanceUid: sopUid } = await api.addStudy(files.crJ2k1760);

    await orthanc.rest('POST', '/dicom-web/servers/lantern/retrieve', { Resources: [{ Study: studyUid }] });
    const found = await orthanc.rest<{ ID: string; Type: string }[]>('POST', '/tools/lookup', new TextEncoder().encode(sopUid));
    const instance = found.find((f) => f.Type === 'Instance');
    expect(instance, `Orthanc holds instance ${sopUid}`).toBeDefined();
    const received = await orthanc.raw(`/instances/${instance!.ID}/file`);
    expect(tag(received, 'x00080018')).toBe(sopUid);
    expect(Buffer.from(pixelData(received)).equals(Buffer.from(pixelData(fs.readFileSync(files.crJ2k1760)))), 'pixel data byte-identical').toBe(true);
  });
});
