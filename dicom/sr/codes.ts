/**
 * The coded concepts Lantern's AI results SR uses (PS3.16), and the one local coding scheme
 * it declares for what no standard vocabulary names: the model's probability and operating
 * point, the clinician's decision and its reasons, and labels without a SNOMED CT concept
 * (the same designator contract/finding-codes.ts gives them).
 */
import { findingCoding, LANTERN_LABELS } from '../../contract/finding-codes.ts';

export interface Code {
  /** Written as Code Value (0008,0100), or Long Code Value (0008,0119) past its 16 characters. */
  value: string;
  scheme: string;
  meaning: string;
}

const code = (value: string, scheme: string, meaning: string): Code => ({ value, scheme, meaning });

/**
 * Lantern's private coding scheme: a "99" designator as PS3.3 §8.2 reserves for local
 * schemes, declared in the SR's Coding Scheme Identification Sequence (0008,0110).
 */
export const LOCAL_SCHEME = {
  designator: LANTERN_LABELS.designator,
  name: 'Lantern AI results local codes',
  responsibleOrganization: 'Lantern project',
} as const;

const local = (value: string, meaning: string) => code(value, LOCAL_SCHEME.designator, meaning);

export const CODES = {
  imagingMeasurementReport: code('126000', 'DCM', 'Imaging Measurement Report'),
  language: code('121049', 'DCM', 'Language of Content Item and Descendants'),
  englishUs: code('en-US', 'RFC5646', 'English (United States)'),
  observerType: code('121005', 'DCM', 'Observer Type'),
  device: code('121007', 'DCM', 'Device'),
  person: code('121006', 'DCM', 'Person'),
  deviceObserverUid: code('121012', 'DCM', 'Device Observer UID'),
  deviceObserverName: code('121013', 'DCM', 'Device Observer Name'),
  deviceObserverManufacturer: code('121014', 'DCM', 'Device Observer Manufacturer'),
  deviceObserverModelName: code('121015', 'DCM', 'Device Observer Model Name'),
  personObserverName: code('121008', 'DCM', 'Person Observer Name'),
  personObserverLoginName: code('128774', 'DCM', "Person Observer's Login Name"),
  procedureReported: code('121058', 'DCM', 'Procedure reported'),
  radiographicImaging: code('363680008', 'SCT', 'Radiographic imaging procedure'),
  imagingProcedure: code('363679005', 'SCT', 'Imaging'),
  imageLibrary: code('111028', 'DCM', 'Image Library'),
  imageLibraryGroup: code('126200', 'DCM', 'Image Library Group'),
  imagingMeasurements: code('126010', 'DCM', 'Imaging Measurements'),
  qualitativeEvaluations: code('C0034375', 'UMLS', 'Qualitative Evaluations'),
  measurementGroup: code('125007', 'DCM', 'Measurement Group'),
  trackingIdentifier: code('112039', 'DCM', 'Tracking Identifier'),
  trackingUid: code('112040', 'DCM', 'Tracking Unique Identifier'),
  finding: code('121071', 'DCM', 'Finding'),
  imageRegion: code('111030', 'DCM', 'Image Region'),
  algorithmName: code('111001', 'DCM', 'Algorithm Name'),
  algorithmVersion: code('111003', 'DCM', 'Algorithm Version'),
  algorithmParameters: code('111002', 'DCM', 'Algorithm Parameters'),
  presence: code('705057003', 'SCT', 'Presence'),
  present: code('52101004', 'SCT', 'Present'),
  absent: code('272519000', 'SCT', 'Absent'),
  undetermined: code('373068000', 'SCT', 'Undetermined'),
  notApplicable: code('385432009', 'SCT', 'Not applicable'),
  comment: code('121106', 'DCM', 'Comment'),
  noUnits: code('1', 'UCUM', 'no units'),
  probability: local('ai-probability', 'AI model probability'),
  operatingPoint: local('operating-point', 'Operating point threshold'),
  decision: local('decision', 'Clinician decision on AI finding'),
  accepted: local('accepted', 'Accepted by clinician'),
  overridden: local('overridden', 'Overridden by clinician'),
  overrideReason: local('override-reason', 'Override reason'),
} as const;

/** What a model's label means, coded as FHIR and every other writer codes it (contract/finding-codes.ts). */
export function findingCode(label: string, display: string): Code {
  const coding = findingCoding(label, display);
  return code(coding.code, coding.designator, coding.display.slice(0, 64));
}

/** Reason codes of an override, from the API's vocabulary (contract/reading.ts), coded locally. */
export function reasonCode(reason: string, display: string): Code {
  return local(reason, display.slice(0, 64));
}
