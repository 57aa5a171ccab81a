import fs from 'node:fs';
import { parseDicom } from 'dicom-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/api-role.ts';
import { withFreshUids } from '../support/dicom-builder.ts';
import { startOrthanc, type Orthanc } from '../support/orthanc.ts';
import { files } from '../support/shared-data.ts';
import { srInStudyOf } from '../support/sr-in-study.ts';

/**
 * A hospital's PACS and Lantern on one network: a real Orthanc (Debian's 1.10, with its
 * DICOMweb plugin 1.7) that knows Lantern as the DICOMweb server `lantern` with a bearer token
 * and as the modality `lantern` (Lantern's SCP, which maps Orthanc's AE title ORTHANC to a
 * user: nobody is anonymous), as a deployment would configure it. Every step is Orthanc's own
 * REST call; what Orthanc reports and what Lantern then holds are both checked. One Orthanc
 * and one Lantern for the file. dcmtk's echoscu, storescu and findscu are tested beside the
 * SCP (api/dimse/scp.test.ts); Lantern's SR reaching Orthanc in test/ai-results-sr.e2e.test.ts.
 */

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

let api: TestApi;
let orthanc: Orthanc;

beforeAll(async () => {
  orthanc = await startOrthanc({ aet: 'ORTHANC' });
  api = await startTestApi({
    dimse: { host: '127.0.0.1', port: 0, aeTitle: 'LANTERN', peers: [{ aeTitle: 'ORTHANC', username: 'tester' }], maxPduLength: 65536, maxAssociations: 4, idleTimeoutSeconds: 60 },
  });
  await orthanc.knowLantern({
    dicomweb: { url: `${api.url}/dicomweb/`, token: api.token },
    scp: { aet: api.dimse!.aeTitle, host: api.dimse!.host, port: api.dimse!.port },
  });
});

afterAll(async () => {
  await api?.stop();
  await orthanc?.stop();
});

describe('Orthanc ↔ Lantern over DICOMweb', () => {
  it('when Orthanc pushes a study holding a chest film and an SR (STOW-RS), then its job ends Success with both instances and Lantern lists both', async () => {
    const image = withFreshUids(fs.readFileSync(files.chestJ2k), 11);
    const study = { uid: tag(image, 'x0020000d') };
    const sr = srInStudyOf(image);
    const stored = [await orthanc.upload(image), await orthanc.upload(sr)];
    expect(stored[1].ParentStudy, 'Orthanc files the SR in the image\'s study').toBe(stored[0].ParentStudy);

    const { ID } = await orthanc.rest<{ ID: string }>('POST', '/dicom-web/servers/lantern/stow', { Resources: [stored[0].ParentStudy], Synchronous: false });
    const job = await orthanc.job(ID);
    expect(job.State, JSON.stringify(job)).toBe('Success');
    expect(job.Content.InstancesCount).toBe('2');

    // And the AI results SR of the children's model, answered at ingest (no age recorded).
    const aiSrs = await api.answeredAtIngest(tag(image, 'x00080018'));
    expect(aiSrs).toHaveLength(1);
    const { status, body } = await api.client.study(study.uid);
    expect(status).toBe(200);
    expect(body.instances.map((i) => i.sopInstanceUid).sort()).toEqual([tag(image, 'x00080018'), tag(sr, 'x00080018'), ...aiSrs].sort());
  });

  it('when Orthanc queries Lantern (QIDO-RS studies, series, instances) and reads the series metadata (WADO-RS), then it finds the study, its series and its instance with their UIDs and the image described', async () => {
    const { studyInstanceUid, sopInstanceUid } = await api.addStudy(files.chestJ2k);
    // Orthanc's /qido hands back each answer's attributes by tag, with its own dictionary's name and the value as text.
    type Answer = Record<string, { Name: string; Value?: string }>;
    const qido = (uri: string, args: Record<string, string> = {}) =>
      orthanc.rest<Answer[]>('POST', '/dicom-web/servers/lantern/qido', { Uri: uri, Arguments: args });

    const studies = await qido('/studies', { StudyInstanceUID: studyInstanceUid });
    expect(studies.map((s) => s['0020000D'].Value)).toEqual([studyInstanceUid]);
    expect(studies[0]['00080061'].Value, 'ModalitiesInStudy').toBe('CR');
    expect(studies[0]['00100010'].Value, 'PatientName').toBe('CompressedSamples^RG1');

    // The film's series, and the AI results series (the SR of the model answered at ingest; addStudy waited for it).
    const all = await qido(`/studies/${studyInstanceUid}/series`);
    expect(all.map((s) => s['00080060'].Value).sort()).toEqual(['CR', 'SR']);
    const series = all.filter((s) => s['00080060'].Value === 'CR');
    const seriesUid = series[0]['0020000E'].Value!;

    const instances = await qido(`/studies/${studyInstanceUid}/series/${seriesUid}/instances`);
    expect(instances.map((i) => i['00080018'].Value)).toEqual([sopInstanceUid]);
    expect(instances[0]['00080016'].Value, 'SOP Class: CR').toBe('1.2.840.10008.5.1.4.1.1.1');

    // WADO-RS metadata through Orthanc's generic GET: the instance described, its pixels by reference.
    const metadata = await orthanc.rest<Record<string, { Value?: unknown[]; BulkDataURI?: string }>[]>('POST', '/dicom-web/servers/lantern/get', { Uri: `/studies/${studyInstanceUid}/series/${seriesUid}/metadata` });
    expect(metadata.map((m) => m['00080018'].Value?.[0])).toEqual([sopInstanceUid]);
    expect([metadata[0]['00280010'].Value?.[0], metadata[0]['00280011'].Value?.[0]], 'Rows, Columns').toEqual([1955, 1841]);
    expect(metadata[0]['7FE00010'].BulkDataURI, 'Pixel Data by reference').toMatch(new RegExp(`/instances/${sopInstanceUid}`));
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

describe('Orthanc → Lantern over DIMSE', () => {
  it('when Orthanc echoes Lantern (C-ECHO), then the association is accepted and answered', async () => {
    await expect(orthanc.rest('POST', '/modalities/lantern/echo', {})).resolves.toEqual({});
  });

  it('when Orthanc sends a chest film to Lantern (C-STORE), then Lantern lists it in its study with the same UIDs', async () => {
    const image = withFreshUids(fs.readFileSync(files.chestJ2k), 21);
    const { ID } = await orthanc.upload(image);
    const sent = await orthanc.rest<{ FailedInstancesCount: number; InstancesCount: number }>('POST', '/modalities/lantern/store', { Resources: [ID], Synchronous: true });
    expect(sent).toMatchObject({ FailedInstancesCount: 0, InstancesCount: 1 });

    const studyUid = tag(image, 'x0020000d');
    // And the AI results SR of the children's model, answered at ingest (no age recorded).
    const aiSrs = await api.answeredAtIngest(tag(image, 'x00080018'));
    const { status, body } = await api.client.study(studyUid);
    expect(status).toBe(200);
    expect(body.instances.filter((i) => i.image !== undefined).map((i) => i.sopInstanceUid)).toEqual([tag(image, 'x00080018')]);
    expect(body.instances.filter((i) => i.image === undefined).map((i) => i.sopInstanceUid)).toEqual(aiSrs);
    expect(aiSrs).toHaveLength(1);
  });

  it('when Orthanc looks for a patient\'s studies on Lantern (C-FIND, study level), then it finds the study Lantern holds', async () => {
    const { studyInstanceUid } = await api.addStudy(files.chestJ2k);
    const query = await orthanc.rest<{ ID: string }>('POST', '/modalities/lantern/query', { Level: 'Study', Query: { PatientID: '9RG1', StudyInstanceUID: studyInstanceUid } });
    const answers = await orthanc.rest<Record<string, string>[]>('GET', `/queries/${query.ID}/answers?expand&simplify`);
    expect(answers.map((a) => a.StudyInstanceUID)).toEqual([studyInstanceUid]);
  });

  it('when an AE title Lantern does not know calls, then the association is rejected and nothing is stored', async () => {
    const stranger = await startOrthanc({ aet: 'STRANGER' });
    try {
      await stranger.knowLantern({ scp: { aet: api.dimse!.aeTitle, host: api.dimse!.host, port: api.dimse!.port } });
      await expect(stranger.rest('POST', '/modalities/lantern/echo', {})).rejects.toThrow(/DUL Association Rejected/);
      const image = withFreshUids(fs.readFileSync(files.chestJ2k), 22);
      const { ID } = await stranger.upload(image);
      await expect(stranger.rest('POST', '/modalities/lantern/store', { Resources: [ID], Synchronous: true })).rejects.toThrow(/DUL Association Rejected/);
      expect((await api.client.study(tag(image, 'x0020000d'))).status).toBe(404);
    } finally {
      await stranger.stop();
    }
  });
});
