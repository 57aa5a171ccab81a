import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../config.ts';
import { FHIR_PAGE } from '../../contract/fhir.ts';
import type { Resource } from './http.ts';

/**
 * `GET /fhir/metadata`: what this server really does, for a client to read before it asks.
 * Written next to the routes' search parameters (routes.ts) and kept honest by the test, which
 * calls every interaction and search parameter listed here.
 */

type Param = [name: string, type: 'token' | 'reference' | 'number', documentation: string];

const paging: Param[] = [
  ['_count', 'number', `results per page, 1–${FHIR_PAGE.max} (default ${FHIR_PAGE.default})`],
];
const offset: Param = ['_offset', 'number', `where the page starts (at most ${FHIR_PAGE.maxOffset}); the Bundle's next/previous links carry it`];
const byId: Param = ['_id', 'token', 'the logical id'];
const byPatient = (what: string): Param[] => [['patient', 'reference', `${what} of the patient (Patient/<id> or <id>)`], ['subject', 'reference', 'the same as patient']];

/** Each resource type: its interactions and search parameters, and what it presents. */
export const SUPPORTED: { type: string; search: Param[] | undefined; documentation: string }[] = [
  { type: 'Patient', search: [byId, ['identifier', 'token', 'Patient ID: <system>|<value> (system urn:lantern:site:<site>:patient-id) or the bare value at any of your sites'], ...paging, offset],
    documentation: 'Built from the studies\' patient data: one Patient per site and Patient ID, at the user\'s sites only.' },
  { type: 'ImagingStudy', search: [byId, ['identifier', 'token', 'urn:dicom:uid|urn:oid:<Study Instance UID>, or an accession number'], ...byPatient('studies'), ...paging, offset],
    documentation: 'Studies received, their series and instances (SOP class); endpoint: Lantern\'s DICOMweb services.' },
  { type: 'Endpoint', search: [], documentation: 'The DICOMweb services at /dicomweb: WADO-RS, QIDO-RS, STOW-RS.' },
  { type: 'DiagnosticReport', search: [byId, ...byPatient('AI analyses'), ...paging, offset],
    documentation: 'One per study some model has read: the AI analysis, preliminary until a clinician decided every finding; results are the findings and the decisions as Observations.' },
  { type: 'Observation', search: [...byPatient('AI findings'), ['derived-from', 'reference', 'AI findings made on this ImagingStudy (ImagingStudy/<Study Instance UID>)'], ...paging, offset],
    documentation: 'An AI finding (code SNOMED CT where one exists, probability, interpretation, device = the model) or, read by id review-<n>, a clinician\'s decision on one; a search lists the AI findings.' },
  { type: 'Device', search: [], documentation: 'The models loaded: name, version, SHA-256 of the weights.' },
  { type: 'RiskAssessment', search: [byId, ...paging, offset], documentation: 'The risk and score calculations the signed-in clinician asked for (POST /v1/risk/{modelId}); probabilityDecimal, band, inputs as basis, the model as performer.' },
  { type: 'AuditEvent', search: [byId, ['subtype', 'token', 'Lantern\'s action name, e.g. study.viewed'], ...paging, ['before', 'number', 'paging cursor: records older than this seq (the next link carries it)']],
    documentation: 'The hash-chained audit trail, read-only, newest first: for administrators.' },
];

const software = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };

export function capabilityStatement(base: string, oidcIssuer: string | undefined): Resource {
  return {
    resourceType: 'CapabilityStatement',
    id: 'lantern',
    url: `${base}/metadata`,
    name: 'LanternFhirFacade',
    title: 'Lantern FHIR R4 facade',
    status: 'active',
    date: '2026-12-03',
    publisher: 'Lantern',
    description: 'FHIR R4 view of Lantern\'s studies, AI findings with their clinicians\' decisions, risk calculations and audit trail (read-only), and the door for home vital signs (batch/transaction). Every AI output is AI-assisted: for a clinician to confirm or override.',
    kind: 'instance',
    software: { name: 'Lantern', version: software.version },
    implementation: { description: 'Lantern FHIR R4 facade (JSON only)', url: base },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [{
      mode: 'server',
      security: {
        cors: false,
        service: [{
          ...(oidcIssuer && { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'OAuth', display: 'OAuth' }] }),
          text: 'Bearer token',
        }],
        description: 'Every interaction but this statement needs `Authorization: Bearer <token>`: a Lantern API token (POST /v1/tokens)'
          + (oidcIssuer ? `, or a JWT access token of the OpenID Connect provider ${oidcIssuer} for this API` : '')
          + ', or a signed-in browser session. SMART on FHIR (launch contexts, scopes) is not offered. The user\'s roles decide which resources it reads, and its sites which patients and studies exist for it.',
      },
      // The one write: home vital signs (api/fhir/vitals.ts), all or nothing even as a batch.
      interaction: ['batch', 'transaction'].map((code) => ({
        code,
        documentation: 'POST [base] with a Bundle of vital-signs Observations (home and wearable readings, LOINC and UCUM) and the Patients they name; stored whole or not at all. See docs/network.md "Home vital signs".',
      })),
      resource: SUPPORTED.map(({ type, search, documentation }) => ({
        type,
        documentation,
        interaction: [{ code: 'read' }, ...(search ? [{ code: 'search-type' }] : [])],
        ...(search?.length && { searchParam: search.map(([name, kind, doc]) => ({ name, type: kind, documentation: doc })) }),
      })),
    }],
  };
}
