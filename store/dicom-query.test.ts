import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SITE } from '../contract/sites.ts';
import { dicomJsonOf } from '../dicom/dicom-json.ts';
import { parseDicom } from '../dicom/parse.ts';
import { files } from '../test/support/shared-data.ts';
import type { Database } from './db.ts';
import { findInstances, findSeries, findStudies, wildcardPattern } from './dicom-query.ts';
import { databaseBackends, openMigratedStore } from './test-backends.ts';
import { unranked } from './test-fixtures.ts';
import { ALL_SITES, type Store } from './store.ts';
import type { NewInstance } from './types.ts';

/** A real file as ingest would record it, its DICOM JSON computed from its bytes; `site` files a new study. */
function recorded(file: string, site = DEFAULT_SITE): NewInstance {
  const bytes = new Uint8Array(fs.readFileSync(file));
  const parsed = parseDicom(bytes);
  const m = parsed.meta;
  return {
    study: { studyInstanceUid: m.studyInstanceUid, patientId: m.patientId, patientName: m.patientName, patientSex: m.patientSex, studyDate: m.studyDate,
      studyDescription: m.studyDescription, accessionNumber: m.accessionNumber, modality: m.modality },
    seriesInstanceUid: m.seriesInstanceUid, seriesNumber: m.seriesNumber, sopInstanceUid: m.sopInstanceUid, sopClassUid: m.sopClassUid,
    transferSyntaxUid: parsed.transferSyntaxUid, modality: m.modality, blobSha256: 'a'.repeat(64), byteSize: bytes.byteLength, image: m.image,
    pendingModels: [], siteId: site, dicomJson: dicomJsonOf(bytes, parsed.transferSyntaxUid, parsed.hasPart10Header),
  };
}

const uidOf = (d: Record<string, { Value?: unknown[] }>) => d['0020000D'].Value?.[0];

describe('wildcardPattern', () => {
  it('when a name has * and ?, then they become % and _ and LIKE\'s own characters are escaped', () => {
    expect(wildcardPattern('Doe*J?hn')).toBe('doe%j_hn');
    expect(wildcardPattern('50%_off\\')).toBe('50\\%\\_off\\\\');
  });
});

describe.each(databaseBackends({ inMemory: false }))('DICOM query matching on $name', (backend) => {
  let db: Database;
  let store: Store;
  let close: (() => Promise<void>) | undefined;
  const ct = recorded(files.ct);
  const chest = recorded(files.chestJ2k);
  const raw = recorded(files.chestRaw);

  beforeAll(async () => {
    ({ db, store, close } = await openMigratedStore(backend, { prioritise: unranked }));
    await db.query(`insert into sites (id, name, level) values ('north', 'North', 'village') on conflict do nothing`);
    for (const instance of [ct, chest]) await store.recordInstance(instance, 'test');
    await store.recordInstance({ ...raw, siteId: 'north' }, 'test');
  });
  afterAll(() => close?.());

  const all = { limit: 100, offset: 0 };

  it('when studies are asked with no key, then each study of the caller\'s sites comes with the attributes QIDO requires, newest first', async () => {
    const studies = await findStudies(db, all, [DEFAULT_SITE]);
    expect(studies.map(uidOf)).toEqual([chest.study.studyInstanceUid, ct.study.studyInstanceUid]);
    const [rg1] = studies;
    expect(rg1['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'CompressedSamples^RG1' }] });
    expect(rg1['00100020']).toEqual({ vr: 'LO', Value: ['9RG1'] });
    expect(rg1['00080020']).toEqual({ vr: 'DA', Value: ['20040826'] });
    expect(rg1['00080030']).toEqual({ vr: 'TM', Value: ['185059'] });
    expect(rg1['00080090']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'ward' }] });
    expect(rg1['00080061']).toEqual({ vr: 'CS', Value: ['CR'] });
    expect(rg1['00201206']).toEqual({ vr: 'IS', Value: [1] });
    expect(rg1['00201208']).toEqual({ vr: 'IS', Value: [1] });
    expect(rg1['00100030']).toEqual({ vr: 'DA', Value: ['19400305'] });
    // Empty in the file: present without a Value.
    expect(studies[1]['00100040']).toEqual({ vr: 'CS' });
  });

  it('when PatientName has wildcards in another case, then it matches case-insensitively; without them it must match whole', async () => {
    expect((await findStudies(db, { ...all, patientName: '*samples^rg?' }, ALL_SITES)).map(uidOf)).toEqual([chest.study.studyInstanceUid]);
    expect((await findStudies(db, { ...all, patientName: 'mister^ct' }, ALL_SITES)).map(uidOf)).toEqual([ct.study.studyInstanceUid]);
    expect(await findStudies(db, { ...all, patientName: 'mister' }, ALL_SITES)).toEqual([]);
  });

  it('when PatientID, AccessionNumber, dates, modalities or UIDs are given, then only studies matching all of them come back', async () => {
    const uids = async (q: Partial<Parameters<typeof findStudies>[1]>) => (await findStudies(db, { ...all, ...q }, ALL_SITES)).map(uidOf);
    expect(await uids({ patientId: '2178309' })).toEqual([ct.study.studyInstanceUid]);
    expect(await uids({ accessionNumber: 'exam Number' })).toEqual([chest.study.studyInstanceUid]);
    expect(await uids({ studyDate: { from: '20040101', to: '20041231' } })).toEqual([chest.study.studyInstanceUid]);
    expect(await uids({ studyDate: { to: '20031231' } })).toEqual(expect.arrayContaining([ct.study.studyInstanceUid]));
    expect(await uids({ studyDate: { to: '20031231' } })).not.toContain(chest.study.studyInstanceUid);
    expect(await uids({ modalitiesInStudy: ['CT', 'MR'] })).toEqual([ct.study.studyInstanceUid]);
    expect(await uids({ studyInstanceUids: [ct.study.studyInstanceUid, raw.study.studyInstanceUid] })).toEqual(expect.arrayContaining([ct.study.studyInstanceUid, raw.study.studyInstanceUid]));
    expect(await uids({ patientId: '2178309', modalitiesInStudy: ['CR'] })).toEqual([]);
  });

  it('when another site\'s study matches, then a user of this site does not see it', async () => {
    expect((await findStudies(db, { ...all, studyInstanceUids: [raw.study.studyInstanceUid] }, [DEFAULT_SITE]))).toEqual([]);
    expect((await findStudies(db, { ...all, studyInstanceUids: [raw.study.studyInstanceUid] }, ['north'])).map(uidOf)).toEqual([raw.study.studyInstanceUid]);
  });

  it('when limit and offset page the answer, then the pages do not overlap', async () => {
    const first = await findStudies(db, { limit: 1, offset: 0 }, ALL_SITES);
    const second = await findStudies(db, { limit: 1, offset: 1 }, ALL_SITES);
    expect(first).toHaveLength(1);
    expect(second).toHaveLength(1);
    expect(uidOf(first[0])).not.toBe(uidOf(second[0]));
  });

  it('when includefield names an attribute, then it comes from the study\'s instance', async () => {
    const [study] = await findStudies(db, { ...all, patientId: '9RG1', includeFields: ['00081040'] }, ALL_SITES);
    expect(study['00081040']).toEqual({ vr: 'LO', Value: ['Our Department'] });
  });

  it('when series and instances of a study are asked, then they carry the attributes OHIF lists them by', async () => {
    const [series] = await findSeries(db, { ...all, studyInstanceUid: ct.study.studyInstanceUid }, ALL_SITES);
    expect(series['0020000E']).toEqual({ vr: 'UI', Value: [ct.seriesInstanceUid] });
    expect(series['00080060']).toEqual({ vr: 'CS', Value: ['CT'] });
    expect(series['0008103E']).toEqual({ vr: 'LO', Value: ['HELICAL CHEST'] });
    expect(series['00201209']).toEqual({ vr: 'IS', Value: [1] });
    const [instance] = await findInstances(db, { ...all, studyInstanceUid: ct.study.studyInstanceUid, seriesInstanceUid: ct.seriesInstanceUid }, ALL_SITES);
    expect(instance['00080018']).toEqual({ vr: 'UI', Value: [ct.sopInstanceUid] });
    expect(instance['00280010']).toEqual({ vr: 'US', Value: [512] });
    expect(await findSeries(db, { ...all, studyInstanceUid: raw.study.studyInstanceUid }, [DEFAULT_SITE])).toEqual([]);
  });
});
