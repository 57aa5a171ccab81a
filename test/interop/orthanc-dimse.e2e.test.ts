import fs from 'node:fs';
import { parseDicom } from 'dicom-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/api-role.ts';
import { withFreshUids } from '../support/dicom-builder.ts';
import { startOrthanc, type Orthanc } from '../support/orthanc.ts';
import { files } from '../support/shared-data.ts';

/**
 * A PACS speaking DIMSE to Lantern: a real Orthanc (Debian's) whose modality `lantern` is
 * Lantern's SCP, calling as ORTHANC — the AE title Lantern maps to a user (nobody is
 * anonymous). C-ECHO, C-STORE and C-FIND are Orthanc's own SCU; dcmtk's echoscu, storescu
 * and findscu are tested beside the SCP (api/dimse).
 */
describe('Orthanc → Lantern over DIMSE', () => {
  let api: TestApi;
  let orthanc: Orthanc;

  beforeAll(async () => {
    orthanc = await startOrthanc({ aet: 'ORTHANC' });
    api = await startTestApi({
      dimse: { host: '127.0.0.1', port: 0, aeTitle: 'LANTERN', peers: [{ aeTitle: 'ORTHANC', username: 'tester' }], maxPduLength: 65536, maxAssociations: 4, idleTimeoutSeconds: 60 },
    });
    await orthanc.knowLantern({ scp: { aet: api.dimse!.aeTitle, host: api.dimse!.host, port: api.dimse!.port } });
  });

  afterAll(async () => {
    await api?.stop();
    await orthanc?.stop();
  });

  it('when Orthanc echoes Lantern (C-ECHO), then the association is accepted and answered', async () => {
    await expect(orthanc.rest('POST', '/modalities/lantern/echo', {})).resolves.toEqual({});
  });

  it('when Orthanc sends a chest film to Lantern (C-STORE), then Lantern lists it in its study with the same UIDs', async () => {
    const image = withFreshUids(fs.readFileSync(files.chestJ2k), 21);
    const { ID } = await orthanc.upload(image);
    const sent = await orthanc.rest<{ FailedInstancesCount: number; InstancesCount: number }>('POST', '/modalities/lantern/store', { Resources: [ID], Synchronous: true });
    expect(sent).toMatchObject({ FailedInstancesCount: 0, InstancesCount: 1 });

    const studyUid = parseDicom(image).string('x0020000d')!;
    const { status, body } = await api.client.study(studyUid);
    expect(status).toBe(200);
    expect(body.instances.map((i) => i.sopInstanceUid)).toEqual([parseDicom(image).string('x00080018')]);
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
      expect((await api.client.study(parseDicom(image).string('x0020000d')!)).status).toBe(404);
    } finally {
      await stranger.stop();
    }
  });
});
