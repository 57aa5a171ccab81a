import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitPart10 } from '../../dicom/dimse/part10.ts';
import { pushInstances } from '../../dicom/dimse/scu.ts';
import { STATUS } from '../../dicom/dimse/status.ts';
import { corruptedLength, deepNesting, manyElements } from '../../dicom/hostile-files.ts';
import { parseDicom } from '../../dicom/parse.ts';
import { createBlobStore } from '../../store/blobs.ts';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';
import { dcmtk, startStorescp, type Storescp } from '../../test/support/dcmtk.ts';
import { buildPart10, withFreshUids } from '../../test/support/dicom-builder.ts';
import { sharedData } from '../../test/support/shared-data.ts';

/**
 * Lantern's DIMSE SCP as a modality, a PACS and a stranger meet it: dcmtk's echoscu, storescu
 * and findscu, Lantern's own SCU playing a hostile sender, and dcmtk's bit-preserving storescp
 * as the oracle of what storescu put on the wire.
 */

const MAX_UPLOAD_BYTES = 34 * 1024 * 1024;
let api: TestApi;
let dir: string;
let oracle: Storescp;

const ct = (name: string) => path.join(sharedData, 'dicom/cornerstone-wadoloader/testImages', name);
/** Each file with the storescu option that proposes its transfer syntax (storescu proposes uncompressed ones by default). */
const SENT: { name: string; file: string; propose: string[] }[] = [
  { name: 'CT explicit VR LE', file: ct('CTImage.dcm_LittleEndianExplicitTransferSyntax_1.2.840.10008.1.2.1.dcm'), propose: [] },
  { name: 'CT implicit VR LE', file: ct('CTImage.dcm'), propose: ['-xi'] },
  { name: 'CT JPEG baseline', file: ct('CTImage.dcm_JPEGProcess1TransferSyntax_1.2.840.10008.1.2.4.50.dcm'), propose: ['-xy'] },
  { name: 'CT RLE', file: ct('CTImage.dcm_RLELosslessTransferSyntax_1.2.840.10008.1.2.5.dcm'), propose: ['-xr'] },
  { name: 'CT JPEG 2000 lossless', file: ct('CTImage.dcm_JPEG2000LosslessOnlyTransferSyntax_1.2.840.10008.1.2.4.90.dcm'), propose: ['-xv'] },
  { name: 'chest CR JPEG 2000 (RG1)', file: path.join(sharedData, 'dicom/pydicom-data/files/RG1_J2KI.dcm'), propose: ['-xw'] },
  { name: 'CR JPEG 2000 (RG3)', file: path.join(sharedData, 'dicom/pydicom-data/files/RG3_J2KI.dcm'), propose: ['-xw'] },
  { name: 'CT JPEG lossless', file: ct('CTImage.dcm_JPEGProcess14SV1TransferSyntax_1.2.840.10008.1.2.4.70.dcm'), propose: ['-xs'] },
];

/** What each sent file became: its path with fresh UIDs, and its identity. */
const sent: { name: string; path: string; propose: string[]; sopInstanceUid: string; studyInstanceUid: string; patientId: string; studyDate?: string }[] = [];

const scp = () => ['127.0.0.1', String(api.dimse!.port)];
const asModality = ['-aet', 'MODALITY', '-aec', 'LANTERN'];

async function storedFile(sopInstanceUid: string): Promise<Uint8Array | undefined> {
  const { rows } = await api.store.db.query<{ blob_sha256: string }>('select blob_sha256 from instances where sop_instance_uid = $1', [sopInstanceUid]);
  return rows[0] && createBlobStore(api.config.blobDir).get(rows[0].blob_sha256);
}

/** dcmtk's lines about responses and their statuses. */
const responseLines = (output: string) => output.split('\n').filter((line) => /Response|Status|Error Comment/i.test(line)).join(' | ');

/** The Study Instance UIDs findscu printed, one per Pending response. */
const foundStudies = (output: string) => [...output.matchAll(/\(0020,000d\) UI \[([^\]]*)\]/g)].map((m) => m[1].replace(/[\0 ]+$/, '')).sort();

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-scp-'));
  api = await startTestApi({
    maxUploadBytes: MAX_UPLOAD_BYTES,
    dimse: {
      host: '127.0.0.1', port: 0, aeTitle: 'LANTERN', maxPduLength: 65536, maxAssociations: 4, idleTimeoutSeconds: 30,
      peers: [
        { aeTitle: 'MODALITY', username: 'ct-room' },
        { aeTitle: 'RESEARCH', username: 'model-bot' },
        { aeTitle: 'NORTH', username: 'north-clinic' },
        { aeTitle: 'GHOST', username: 'nobody-by-this-name' },
        { aeTitle: 'FARAWAY', username: 'ct-room', address: '10.9.9.9' },
      ],
    },
  });
  await api.store.createSite({ id: 'north', name: 'North clinic', level: 'township' }, 'test');
  await api.signIn('ct-room', ['consultant']);
  await api.signIn('model-bot', ['model-team']);
  await api.signIn('north-clinic', ['consultant'], ['north']);
  oracle = await startStorescp(path.join(dir, 'oracle'), { aeTitle: 'ORACLE', acceptAll: true });
  SENT.forEach(({ name, file, propose }, i) => {
    const bytes = withFreshUids(fs.readFileSync(file), 7000 + i);
    const meta = parseDicom(bytes).meta;
    const out = path.join(dir, `${i}.dcm`);
    fs.writeFileSync(out, bytes);
    sent.push({ name, path: out, propose, sopInstanceUid: meta.sopInstanceUid, studyInstanceUid: meta.studyInstanceUid, patientId: meta.patientId!, studyDate: meta.studyDate });
  });
});

afterAll(async () => {
  await oracle?.stop();
  await api?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('DIMSE SCP: who may associate', () => {
  it('when a configured AE echoes, then C-ECHO succeeds', async () => {
    expect((await dcmtk('echoscu', [...asModality, ...scp()])).code).toBe(0);
  });

  it('when the calling AE is unknown, names no existing user, or calls from another address than configured, then the association is rejected: calling AE not recognised', async () => {
    for (const callingAe of ['STRANGER', 'GHOST', 'FARAWAY']) {
      const run = await dcmtk('echoscu', ['-aet', callingAe, '-aec', 'LANTERN', ...scp()]);
      expect(run.code, callingAe).not.toBe(0);
      expect(run.output, callingAe).toMatch(/Rejected Permanent[\s\S]*Calling AE Title Not Recognized/);
    }
  });
});

describe('DIMSE SCP: C-STORE through the ingest path', () => {
  it('when storescu sends uncompressed and compressed images, then each is stored with its data set byte for byte what storescu put on the wire (storescp -B)', async () => {
    const asInTheFile: string[] = [];
    for (const file of sent) {
      const toLantern = await dcmtk('storescu', ['-v', ...file.propose, ...asModality, ...scp(), file.path]);
      expect(toLantern.output, file.name).toMatch(/Received Store Response \(Success\)/);
      const toOracle = await dcmtk('storescu', [...file.propose, '-aet', 'MODALITY', '-aec', 'ORACLE', '127.0.0.1', String(oracle.port), file.path]);
      expect(toOracle.code, file.name).toBe(0);
      const stored = await storedFile(file.sopInstanceUid);
      expect(stored, file.name).toBeDefined();
      const lantern = splitPart10(stored!);
      const onTheWire = splitPart10(fs.readFileSync(oracle.received().find((f) => f.endsWith(file.sopInstanceUid))!));
      const original = splitPart10(fs.readFileSync(file.path));
      expect(lantern.transferSyntaxUid, file.name).toBe(original.transferSyntaxUid);
      expect(Buffer.compare(Buffer.from(lantern.dataSet), Buffer.from(onTheWire.dataSet)), `${file.name}: as sent`).toBe(0);
      if (Buffer.compare(Buffer.from(lantern.dataSet), Buffer.from(original.dataSet)) === 0) asInTheFile.push(file.name);
    }
    // dcmtk re-writes some files as it sends them (group lengths recalculated, sequence lengths made explicit);
    // the others arrive exactly as the file holds them.
    expect(asInTheFile).toEqual(expect.arrayContaining(['CT explicit VR LE', 'CT implicit VR LE', 'CT JPEG baseline', 'CT RLE']));
    const audited = await api.store.db.query<{ actor: string }>("select distinct actor from audit where action = 'instance.received'");
    expect(audited.rows.map((r) => r.actor)).toContain('ct-room');
  });

  it('when a chest film arrives twice, then it is one instance, queued for the chest models as over STOW-RS', async () => {
    const rg1 = sent.find((f) => f.name.includes('RG1'))!;
    const again = await dcmtk('storescu', ['-v', ...rg1.propose, ...asModality, ...scp(), rg1.path]);
    expect(again.output).toMatch(/Received Store Response \(Success\)/);
    const { rows } = await api.store.db.query<{ pending_models: string[] }>('select pending_models from instances where sop_instance_uid = $1', [rg1.sopInstanceUid]);
    expect(rows).toHaveLength(1);
    expect(rows[0].pending_models.length).toBeGreaterThan(0);
  });

  it('when a Comprehensive SR arrives by C-STORE, then it is stored as sent and queued for no model', async () => {
    const report = withFreshUids(fs.readFileSync(path.join(sharedData, 'dicom/pydicom-testfiles/test_files/test-SR.dcm')), 8101);
    const file = path.join(dir, 'report.dcm');
    fs.writeFileSync(file, report);
    const run = await dcmtk('storescu', ['-v', ...asModality, ...scp(), file]);
    expect(run.output).toMatch(/Received Store Response \(Success\)/);
    const { sopInstanceUid, dataSet } = splitPart10(report);
    expect(Buffer.compare(Buffer.from(splitPart10((await storedFile(sopInstanceUid))!).dataSet), Buffer.from(dataSet))).toBe(0);
    const { rows } = await api.store.db.query<{ pending_models: string[] }>('select pending_models from instances where sop_instance_uid = $1', [sopInstanceUid]);
    expect(rows[0].pending_models).toEqual([]);
  });

  it('when a hostile or inconsistent data set arrives, then it is answered with its failure status, nothing is stored and the SCP goes on', async () => {
    const mismatch = buildPart10('1.2.840.10008.1.2.1', '1.2.840.10008.5.1.4.1.1.2', '1.2.826.0.1.3680043.10.1.4242', [
      { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.7' },
      { tag: 0x00080018, vr: 'UI', value: '1.2.826.0.1.3680043.10.1.4242' },
      { tag: 0x0020000d, vr: 'UI', value: '1.2.826.0.1.3680043.10.1.4242.1' },
      { tag: 0x0020000e, vr: 'UI', value: '1.2.826.0.1.3680043.10.1.4242.2' },
    ]);
    const hostile = [corruptedLength('1.2.826.0.1.3680043.10.1.4243', 0x7ffffff0), deepNesting('1.2.826.0.1.3680043.10.1.4244', 100),
      manyElements('1.2.826.0.1.3680043.10.1.4245', 300_000), mismatch];
    const results = await pushInstances({ calledAe: 'LANTERN', host: '127.0.0.1', port: api.dimse!.port, callingAe: 'MODALITY' }, hostile);
    expect(results.map((r) => r.status), JSON.stringify(results)).toEqual([STATUS.cannotUnderstand, STATUS.outOfResources, STATUS.outOfResources, STATUS.dataSetDoesNotMatchSopClass]);
    expect(results[0].comment).toMatch(/TRUNCATED|INVALID/);
    for (const file of hostile) expect(await storedFile(splitPart10(file).sopInstanceUid)).toBeUndefined();
    expect((await dcmtk('echoscu', [...asModality, ...scp()])).code).toBe(0);
  });

  it('when an instance is larger than LANTERN_MAX_UPLOAD_BYTES, then 0xA700 and nothing stored', async () => {
    const big = bigImage('1.2.826.0.1.3680043.10.1.5151', MAX_UPLOAD_BYTES + 1024);
    const file = path.join(dir, 'too-big.dcm');
    fs.writeFileSync(file, big);
    const run = await dcmtk('storescu', ['-v', ...asModality, ...scp(), file]);
    expect(run.output).toMatch(/Received Store Response \(Refused: OutOfResources\)/);
    expect(await storedFile('1.2.826.0.1.3680043.10.1.5151.3')).toBeUndefined();
  });

  it('when the AE\'s user may not send images, or the study is filed under another site, then 0x0124 (not authorised) and nothing stored', async () => {
    const research = await dcmtk('storescu', ['-v', '-aet', 'RESEARCH', '-aec', 'LANTERN', ...scp(), sent[0].path]);
    expect(responseLines(research.output)).toMatch(/Received Store Response .*0x0?124/i);
    const bytes = withFreshUids(fs.readFileSync(sent[0].path), 4321, { studyInstanceUid: sent[0].studyInstanceUid });
    const results = await pushInstances({ calledAe: 'LANTERN', host: '127.0.0.1', port: api.dimse!.port, callingAe: 'NORTH' }, [bytes]);
    expect(results[0].status).toBe(STATUS.notAuthorized);
    expect(await storedFile(splitPart10(bytes).sopInstanceUid)).toBeUndefined();
  });

  it('while a large C-STORE runs, then the API goes on answering /health', async () => {
    const file = path.join(dir, 'large.dcm');
    fs.writeFileSync(file, bigImage('1.2.826.0.1.3680043.10.1.6161', 32 * 1024 * 1024));
    let storing = true;
    const store = dcmtk('storescu', ['-v', ...asModality, ...scp(), file]).finally(() => { storing = false; });
    const answers: number[] = [];
    while (storing) {
      answers.push((await fetch(`${api.url}/health`)).status);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await store).output).toMatch(/Received Store Response \(Success\)/);
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.every((status) => status === 200)).toBe(true);
    expect(await storedFile('1.2.826.0.1.3680043.10.1.6161.3')).toBeDefined();
  });
});

describe('DIMSE SCP: C-FIND at STUDY level (Study Root), matched like QIDO-RS', () => {
  const find = (callingAe: string, keys: string[]) =>
    dcmtk('findscu', ['-v', '-S', '-aet', callingAe, '-aec', 'LANTERN', '-k', 'QueryRetrieveLevel=STUDY', '-k', 'StudyInstanceUID', '-k', 'PatientName', ...keys.flatMap((k) => ['-k', k]), ...scp()]);
  const studiesOf = (predicate: (file: (typeof sent)[number]) => boolean) => [...new Set(sent.filter(predicate).map((f) => f.studyInstanceUid))].sort();

  it('when findscu matches on PatientID, a PatientName wildcard or a StudyDate range, then exactly the matching studies come back', async () => {
    const rg1 = sent.find((f) => f.name.includes('RG1'))!;
    expect(foundStudies((await find('MODALITY', [`PatientID=${rg1.patientId}`])).output)).toEqual([rg1.studyInstanceUid]);
    expect(foundStudies((await find('MODALITY', ['PatientName=compressedsamples*'])).output)).toEqual(studiesOf((f) => /RG[13]/.test(f.name)));
    expect(foundStudies((await find('MODALITY', ['StudyDate=20000101-20021231'])).output)).toEqual(studiesOf((f) => f.name.startsWith('CT')));
    const answer = (await find('MODALITY', [`PatientID=${rg1.patientId}`, 'StudyDate'])).output;
    expect(answer).toMatch(/\(0008,0020\) DA \[20040826\]/);
    expect(answer).toMatch(/\(0010,0010\) PN \[CompressedSamples\^RG1 ?\]/);
  });

  it('when findscu asks the Patient Root model at STUDY level, then it matches the same way', async () => {
    const rg1 = sent.find((f) => f.name.includes('RG1'))!;
    const run = await dcmtk('findscu', ['-v', '-P', ...asModality, '-k', 'QueryRetrieveLevel=STUDY', '-k', `PatientID=${rg1.patientId}`, '-k', 'StudyInstanceUID', ...scp()]);
    expect(foundStudies(run.output)).toEqual([rg1.studyInstanceUid]);
  });

  it('when the AE\'s user may not read patient data, or belongs to another site, then nothing of these studies is answered', async () => {
    const research = await find('RESEARCH', ['PatientName=*']);
    expect(foundStudies(research.output)).toEqual([]);
    expect(responseLines(research.output)).toMatch(/Final Find Response .*0x0?124/i);
    expect(foundStudies((await find('NORTH', ['PatientName=*'])).output)).toEqual([]);
  });

  it('when the AE\'s user\'s site reads for the studies\' site, then C-FIND answers them as to their own site\'s AE (the account\'s scope), and no more once it does not', async () => {
    const everything = foundStudies((await find('MODALITY', ['PatientName=*'])).output);
    expect(everything.length).toBeGreaterThan(0);
    await api.store.setSitesReadFor('north', ['main'], 'test');
    try {
      expect(foundStudies((await find('NORTH', ['PatientName=*'])).output)).toEqual(everything);
    } finally {
      await api.store.setSitesReadFor('north', [], 'test');
    }
    expect(foundStudies((await find('NORTH', ['PatientName=*'])).output)).toEqual([]);
  });

  it('when the query asks what the matcher cannot do, then it is refused with a reason instead of answered wrongly', async () => {
    const wildcardId = await find('MODALITY', ['PatientID=9RG*']);
    expect(foundStudies(wildcardId.output)).toEqual([]);
    expect(responseLines(wildcardId.output)).toMatch(/Final Find Response \(Failed/i);
  });

  it('when a C-FIND answers, then the read is audited under the AE\'s user with the studies it showed', async () => {
    const rg1 = sent.find((f) => f.name.includes('RG1'))!;
    await find('MODALITY', [`PatientID=${rg1.patientId}`]);
    await api.store.flushReadAudits();
    const { rows } = await api.store.db.query<{ actor: string; payload: { studies?: string[] } }>("select actor, payload from audit where action = 'dimse.searched'");
    expect(rows.some((r) => r.actor === 'ct-room' && JSON.stringify(r.payload).includes(rg1.studyInstanceUid))).toBe(true);
  });
});

/** An explicit VR little endian secondary capture whose Pixel Data makes the data set about `bytes` long. */
function bigImage(uidRoot: string, bytes: number): Uint8Array {
  const side = Math.ceil(Math.sqrt(bytes / 2));
  const sc = '1.2.840.10008.5.1.4.1.1.7';
  return buildPart10('1.2.840.10008.1.2.1', sc, `${uidRoot}.3`, [
    { tag: 0x00080016, vr: 'UI', value: sc },
    { tag: 0x00080018, vr: 'UI', value: `${uidRoot}.3` },
    { tag: 0x00080060, vr: 'CS', value: 'OT' },
    { tag: 0x0020000d, vr: 'UI', value: `${uidRoot}.1` },
    { tag: 0x0020000e, vr: 'UI', value: `${uidRoot}.2` },
    { tag: 0x00280002, vr: 'US', value: 1 },
    { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: side },
    { tag: 0x00280011, vr: 'US', value: side },
    { tag: 0x00280100, vr: 'US', value: 16 },
    { tag: 0x00280101, vr: 'US', value: 12 },
    { tag: 0x00280102, vr: 'US', value: 11 },
    { tag: 0x00280103, vr: 'US', value: 0 },
    { tag: 0x7fe00010, vr: 'OW', value: new Uint8Array(side * side * 2) },
  ]);
}
