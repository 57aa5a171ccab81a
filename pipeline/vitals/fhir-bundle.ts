import { MAX_VITAL_OBSERVATIONS, VITAL_PARAMETERS, type VitalParameter } from '../../contract/vitals.ts';
import { InputValidationError } from '../../inference/features.ts';
import type { FeatureSpec } from '../../inference/model-card.ts';
import { observationReadings, whenOf } from '../cds-hooks/fhir-inputs.ts';
import { UNNAMED_DEVICE, type RawReading } from './observations.ts';

/**
 * A FHIR R4 Bundle of vital-signs Observations (batch, transaction or collection) read into raw
 * readings per patient. The codes and UCUM units are read by the same table the CDS Hooks
 * service reads a prefetch with (pipeline/cds-hooks/fhir-inputs.ts `observationReadings`); the
 * NEWS2 card then converts and checks each value (observations.ts).
 *
 * What is refused, each naming the entry (`Bundle.entry[i]…`): a resource other than an
 * Observation or a Patient; an Observation not in category vital-signs, without an effective
 * time, without a subject Lantern can file (a Patient identifier, directly or through a Patient
 * entry's fullUrl), with a status other than final/amended/corrected/preliminary, or carrying no
 * vital sign Lantern reads; a unit or answer code the table does not read.
 */

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

export const BUNDLE_TYPES = ['batch', 'transaction', 'collection'] as const;
export type IngestBundleType = typeof BUNDLE_TYPES[number];

const VITAL_SIGNS_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category|vital-signs';
const USABLE_STATUS = new Set(['final', 'amended', 'corrected', 'preliminary']);
/** The identifier system Lantern's own Patient resources carry (api/fhir/resources.ts): the site is in it. */
const SITE_PATIENT_SYSTEM = /^urn:lantern:site:([a-z0-9][a-z0-9-]{0,62}):patient-id$/;

export interface BundleEntryRole {
  /** Index in `Bundle.entry`. */
  index: number;
  kind: 'Observation' | 'Patient';
  /** Readings taken from it (0 for a Patient). */
  readings: number;
}

export interface BundleReadings {
  type: IngestBundleType;
  /** Per patient (site, Patient ID): its raw readings. */
  patients: { siteId: string; patientId: string; readings: RawReading[] }[];
  entries: BundleEntryRole[];
}

/**
 * Reads the Bundle. `defaultSite` files a patient whose identifier names no site; `ownSites`
 * are the sites the caller may file under. Throws InputValidationError naming every bad entry.
 */
export function readVitalsBundle(bundle: unknown, features: Map<VitalParameter, FeatureSpec>, defaultSite: string, ownSites: readonly string[]): BundleReadings {
  const refuse = (field: string, message: string): never => { throw new InputValidationError([{ field, message }]); };
  if (!isObject(bundle) || bundle.resourceType !== 'Bundle') return refuse('Bundle', 'expected a FHIR Bundle (resourceType "Bundle")');
  const type = bundle.type as IngestBundleType;
  if (!BUNDLE_TYPES.includes(type)) return refuse('Bundle.type', `${JSON.stringify(bundle.type)}: Lantern takes a Bundle of type ${BUNDLE_TYPES.join(', ')} of vital-signs Observations`);
  if (!Array.isArray(bundle.entry) || bundle.entry.length === 0) return refuse('Bundle.entry', 'the Bundle has no entries');
  if (bundle.entry.length > MAX_VITAL_OBSERVATIONS) return refuse('Bundle.entry', `${bundle.entry.length} entries; at most ${MAX_VITAL_OBSERVATIONS} per request`);

  const issues: { field: string; message: string }[] = [];
  const patientsByUrl = new Map<string, Json>();
  (bundle.entry as unknown[]).forEach((e) => {
    if (isObject(e) && isObject(e.resource) && e.resource.resourceType === 'Patient' && typeof e.fullUrl === 'string') patientsByUrl.set(e.fullUrl, e.resource);
  });

  const byPatient = new Map<string, { siteId: string; patientId: string; readings: RawReading[] }>();
  const entries: BundleEntryRole[] = [];
  (bundle.entry as unknown[]).forEach((e, index) => {
    const field = `Bundle.entry[${index}]`;
    const resource = isObject(e) ? e.resource : undefined;
    if (!isObject(resource)) return void issues.push({ field, message: 'an entry without a resource' });
    const request = isObject(e) && isObject(e.request) ? e.request : undefined;
    if (type !== 'collection' && request?.method !== undefined && request.method !== 'POST' && resource.resourceType === 'Observation') {
      return void issues.push({ field: `${field}.request.method`, message: `${String(request.method)}: Observations are created (POST); Lantern does not update or delete readings` });
    }
    if (resource.resourceType === 'Patient') return void entries.push({ index, kind: 'Patient', readings: 0 });
    if (resource.resourceType !== 'Observation') return void issues.push({ field: `${field}.resource`, message: `a ${String(resource.resourceType)}: this Bundle may hold vital-signs Observations and the Patients they name` });

    const where = `${field}.resource`;
    const problems: string[] = [];
    if (!USABLE_STATUS.has(String(resource.status))) problems.push(`status ${JSON.stringify(resource.status)} is not one of ${[...USABLE_STATUS].join(', ')}`);
    const categories = (Array.isArray(resource.category) ? resource.category : []).flatMap((c: Json) => (Array.isArray(c?.coding) ? c.coding : []).map((x: Json) => `${x?.system}|${x?.code}`));
    if (!categories.includes(VITAL_SIGNS_CATEGORY)) problems.push('not in category vital-signs (the FHIR vital-signs profile)');
    const at = whenOf(resource);
    if (!at) problems.push('no effectiveDateTime (when it was measured)');
    const subject = subjectOf(resource.subject, patientsByUrl, defaultSite, ownSites);
    if ('problem' in subject) problems.push(subject.problem);
    if (problems.length || 'problem' in subject) return void issues.push(...problems.map((message) => ({ field: where, message })));

    const deviceId = deviceOf(resource.device);
    const readings: RawReading[] = [];
    for (const reading of observationReadings(resource)) {
      const parameter = reading.feature as VitalParameter;
      if (!VITAL_PARAMETERS.includes(parameter)) continue;
      if ('problem' in reading) {
        issues.push({ field: where, message: reading.problem });
        continue;
      }
      const feature = features.get(parameter)!;
      const accepted = Object.keys(feature.units ?? {});
      const unit = feature.kind === 'number' ? reading.value.units?.find((u) => accepted.includes(u)) ?? reading.value.ucum : undefined;
      readings.push({ parameter, value: reading.value.value, unit, at, deviceId, source: 'fhir', field: where });
    }
    if (!readings.length && !issues.some((i) => i.field === where)) {
      issues.push({ field: where, message: 'carries no vital sign Lantern reads: respiratory rate 9279-1, SpO2 59408-5/2708-6, heart rate 8867-4, systolic BP 8480-6 (alone or in the 85354-9 panel), temperature 8310-5, ACVPU 67775-7, inspired oxygen 3151-8/3150-0 (LOINC)' });
    }
    const key = `${subject.siteId}\u0000${subject.patientId}`;
    const patient = byPatient.get(key) ?? { siteId: subject.siteId, patientId: subject.patientId, readings: [] };
    patient.readings.push(...readings);
    byPatient.set(key, patient);
    entries.push({ index, kind: 'Observation', readings: readings.length });
  });
  if (issues.length) throw new InputValidationError(issues);
  return { type, patients: [...byPatient.values()], entries };
}

/** The (site, Patient ID) an Observation's subject names: an identifier, or a Patient entry's identifier by fullUrl. */
function subjectOf(subject: unknown, patientsByUrl: Map<string, Json>, defaultSite: string, ownSites: readonly string[]): { siteId: string; patientId: string } | { problem: string } {
  if (!isObject(subject)) return { problem: 'no subject: name the patient by subject.identifier or a Patient entry\'s fullUrl' };
  let identifier = isObject(subject.identifier) ? subject.identifier : undefined;
  if (!identifier && typeof subject.reference === 'string') {
    const patient = patientsByUrl.get(subject.reference);
    if (!patient) return { problem: `subject ${subject.reference} is not a Patient entry of this Bundle; Lantern does not look patients up by reference` };
    identifier = (Array.isArray(patient.identifier) ? patient.identifier : []).find(isObject);
  }
  const value = typeof identifier?.value === 'string' ? identifier.value.trim() : '';
  if (!value || value.length > 64) return { problem: 'the subject has no Patient identifier value (1–64 characters)' };
  const system = typeof identifier?.system === 'string' ? identifier.system : undefined;
  if (system === undefined) return { siteId: defaultSite, patientId: value };
  const site = SITE_PATIENT_SYSTEM.exec(system)?.[1];
  if (!site) return { problem: `identifier system ${system} is not one Lantern files patients by: leave it out (your site's Patient ID) or use urn:lantern:site:<site>:patient-id` };
  if (!ownSites.includes(site)) return { problem: `site ${site} is not one of your sites; readings are filed only at your own sites` };
  return { siteId: site, patientId: value };
}

/** The device's identifier value, else its display, else none. */
function deviceOf(device: unknown): string {
  if (!isObject(device)) return UNNAMED_DEVICE;
  const id = isObject(device.identifier) && typeof device.identifier.value === 'string' ? device.identifier.value : typeof device.display === 'string' ? device.display : UNNAMED_DEVICE;
  return id.trim().slice(0, 128);
}
