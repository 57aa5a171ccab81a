import { describe, expect, it } from 'vitest';
import type { DicomJsonDataset } from '../../contract/dicomweb-query.ts';
import { STATUS } from '../../dicom/dimse/status.ts';
import { findAnswer, MAX_FIND_MATCHES, studyQueryOf } from './find.ts';

/** C-FIND identifiers as dcmjs-dimse hands them over (dcmjs names, PN as {Alphabetic}, multi-values as arrays). */
const study = (keys: Record<string, unknown>) => ({ QueryRetrieveLevel: 'STUDY', ...keys });

describe('C-FIND identifier → study query', () => {
  it('when keys carry values, then each becomes the matcher\'s filter; empty and `*` are universal matching', () => {
    expect(studyQueryOf(study({
      PatientName: [{ Alphabetic: 'Doe*' }], PatientID: 'P1', AccessionNumber: '', StudyDescription: '*', StudyDate: '20240101-20241231',
      ModalitiesInStudy: ['CR', 'DX'], StudyInstanceUID: ['1.2.3', '1.2.4'], StudyTime: '',
    }))).toEqual({ query: { patientName: 'Doe*', patientId: 'P1', studyDate: { from: '20240101', to: '20241231' }, modalitiesInStudy: ['CR', 'DX'], studyInstanceUids: ['1.2.3', '1.2.4'] } });
  });

  it('when StudyDate is one date or an open range, then the range says so (PS3.4 C.2.2.2.5)', () => {
    const date = (value: string) => (studyQueryOf(study({ StudyDate: value })) as { query: { studyDate?: unknown } }).query.studyDate;
    expect(date('20240105')).toEqual({ from: '20240105', to: '20240105' });
    expect(date('20240105-')).toEqual({ from: '20240105' });
    expect(date('-20240105')).toEqual({ to: '20240105' });
  });

  it('when the query is at another level, has a malformed date or a wildcard in an ID, then it is refused 0xC000 with the reason', () => {
    for (const identifier of [{ QueryRetrieveLevel: 'SERIES' }, study({ StudyDate: '2024-01-05' }), study({ StudyDate: '-' }), study({ PatientID: 'P*' }), study({ AccessionNumber: 'A?1' })]) {
      const refused = studyQueryOf(identifier);
      expect(refused, JSON.stringify(identifier)).toMatchObject({ refused: { status: STATUS.cannotUnderstand } });
      expect((refused as { refused: { comment: string } }).refused.comment.length).toBeLessThanOrEqual(64);
    }
  });
});

describe('study matches → C-FIND responses', () => {
  const json = (uid: string): DicomJsonDataset => ({
    '0020000D': { vr: 'UI', Value: [uid] }, '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Doe^Jane' }] }, '00100020': { vr: 'LO', Value: ['P1'] },
    '00080020': { vr: 'DA', Value: ['20240105'] }, '00080061': { vr: 'CS', Value: ['CR', 'DX'] }, '00201208': { vr: 'IS', Value: [2] }, '00080030': { vr: 'TM' },
  });

  it('when studies match, then each response holds exactly the keys asked (empty where Lantern has no value), the level and the character set', () => {
    const answer = findAnswer(study({ StudyInstanceUID: '', PatientName: '', ModalitiesInStudy: '', StudyTime: '', ReferringPhysicianName: '' }), [json('1.2.3')]);
    expect(answer.matches).toEqual([{
      StudyInstanceUID: '1.2.3', PatientName: [{ Alphabetic: 'Doe^Jane' }], ModalitiesInStudy: ['CR', 'DX'], StudyTime: '', ReferringPhysicianName: '',
      QueryRetrieveLevel: 'STUDY', SpecificCharacterSet: 'ISO_IR 192',
    }]);
    expect(answer.final).toBeUndefined();
    expect(answer.studies).toEqual(['1.2.3']);
  });

  it(`when more than ${MAX_FIND_MATCHES} studies match, then the first ${MAX_FIND_MATCHES} are answered and the final status is 0xA700`, () => {
    const answer = findAnswer(study({ StudyInstanceUID: '' }), Array.from({ length: MAX_FIND_MATCHES + 1 }, (_, i) => json(`1.2.${i}`)));
    expect(answer.matches).toHaveLength(MAX_FIND_MATCHES);
    expect(answer.final).toMatchObject({ status: STATUS.outOfResources });
  });
});
