/**
 * The coded concept of each finding label Lantern's models (and readers) report, for what
 * leaves Lantern in a standard: FHIR Observation.code, DICOM SR concept names. SNOMED CT
 * where a concept exists; otherwise a local scheme, declared once here (FHIR system URI and
 * DICOM coding scheme designator), so a receiver can tell a local code from a standard one.
 * One table, shared by every writer, so FHIR and SR never code the same finding differently.
 */

export interface FindingCoding {
  /** FHIR `Coding.system`. */
  system: string;
  /** DICOM Coding Scheme Designator (0008,0102) of the same scheme. */
  designator: string;
  code: string;
  display: string;
}

export const SNOMED_CT = { system: 'http://snomed.info/sct', designator: 'SCT' } as const;
/** Labels no standard concept fits (e.g. "abnormal, any of 14 NIH findings"): coded by label id. */
export const LANTERN_LABELS = { system: 'urn:lantern:finding-label', designator: '99LANTERN' } as const;

/** Label id → SNOMED CT concept (International Edition), by the label ids the model cards and READER_FINDING_LABELS use. */
const SNOMED_BY_LABEL: Record<string, { code: string; display: string }> = {
  pneumonia: { code: '233604007', display: 'Pneumonia' },
  pneumothorax: { code: '36118008', display: 'Pneumothorax' },
  cardiomegaly: { code: '8186001', display: 'Cardiomegaly' },
  effusion: { code: '60046008', display: 'Pleural effusion' },
  fracture: { code: '125605004', display: 'Fracture of bone' },
};

/** The coding of a finding label: SNOMED CT when the table has it, else the local scheme with the label's own display. */
export function findingCoding(label: string, display: string): FindingCoding {
  const snomed = SNOMED_BY_LABEL[label];
  return snomed ? { ...SNOMED_CT, ...snomed } : { ...LANTERN_LABELS, code: label, display };
}
