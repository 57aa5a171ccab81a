import { Hono } from 'hono';
import {
  auditEventSearch, diagnosticReportSearch, fhirReadParams, fhirReadQuery, imagingStudySearch, observationSearch, patientSearch, riskAssessmentSearch, type FhirToken,
} from '../../contract/fhir.ts';
import { isRiskModel, isScoreModel } from '../../inference/registry.ts';
import type { StudyFilter } from '../../store/fhir-reads.ts';
import type { StudyDetail } from '../../store/types.ts';
import { NotFoundError } from '../../store/store.ts';
import { ACCESS } from '../access.ts';
import type { Authenticated } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { dicomwebRoot } from '../dicomweb-answer.ts';
import { auditPatientRead, auditStudyRead } from '../read-audit.ts';
import { mount } from '../route.ts';
import { capabilityStatement } from './capability.ts';
import { fhirAnswer, fhirBase, mountFhir, negotiate, offsetLinks, operationOutcome, OUTCOME_MEDIA, searchBundle, type Resource } from './http.ts';
import {
  auditEvent, decisionObservation, device, deviceId, deviceOfModel, diagnosticReport, DICOMWEB_ENDPOINTS, endpoint, findingObservation, imagingStudy,
  patient, readerFindingObservation, reviewObservationId, riskAssessment, type DeviceLink,
} from './resources.ts';

/** Instances one ImagingStudy lists at most (a CT may have thousands; QIDO-RS pages them all). */
const INSTANCES_LISTED = 1000;

/**
 * The FHIR R4 facade: read and search over what Lantern holds, presented by resources.ts.
 * Reads of patient data are audited as the study view's are; a user sees only its sites'
 * patients and studies, and another site's are "not found". Errors are OperationOutcomes.
 * One function past 80 lines, as every route file is: each interaction is one declaration
 * next to the others, sharing the reads (studies, patients, deviceLink) defined at its top.
 */
export function fhirRoutes(deps: ApiDeps) {
  const app = new Hono();
  app.onError((error, c) => operationOutcome(c, error));
  const notFound = (type: string, id: string) => new NotFoundError(`${type}/${id} is not known here`);

  /** A model's Device: a reference when loaded here, else contained in the output that names it. */
  const deviceLink: DeviceLink = (model) => {
    const loaded = deps.registry.models.find((m) => m.card.id === model.id && m.card.version === model.version);
    if (loaded) return { reference: `Device/${deviceId(model)}`, display: loaded.card.title };
    return { reference: '#model', contained: { ...device(model, 'inactive'), id: 'model' } };
  };

  /** The studies a filter and page select, each presented by `present` and its read audited. */
  async function studies(auth: Authenticated, filter: Omit<StudyFilter, 'scope'>, page: { count: number; offset: number }, kind: 'ImagingStudy' | 'DiagnosticReport') {
    const found = await deps.store.fhirStudies({ ...filter, scope: auth.scope, withFindings: kind === 'DiagnosticReport' }, page);
    const resources: Resource[] = [];
    for (const ref of found.studies) {
      const detail = await deps.store.getStudy(ref.studyInstanceUid, auth.scope);
      auditStudyRead(deps, auth, ref.studyInstanceUid, 'view');
      resources.push(kind === 'ImagingStudy'
        ? imagingStudy(detail, ref.patientFhirId, await deps.store.imagingStudyParts(ref.studyInstanceUid, INSTANCES_LISTED))
        : diagnosticReport(detail, ref.patientFhirId));
    }
    return { total: found.total, resources };
  }

  async function readStudy(auth: Authenticated, id: string, kind: 'ImagingStudy' | 'DiagnosticReport') {
    const { resources: [resource] } = await studies(auth, { studyInstanceUid: id }, { count: 1, offset: 0 }, kind);
    if (!resource) throw notFound(kind, id);
    return resource;
  }

  async function patients(auth: Authenticated, filter: { fhirId?: string; identifier?: FhirToken }, page: { count: number; offset: number }) {
    const system = filter.identifier?.system || undefined;
    const site = system === undefined ? undefined : /^urn:lantern:site:(.+):patient-id$/.exec(system)?.[1];
    // An identifier of another system names no patient Lantern knows.
    if (system !== undefined && site === undefined) return { total: 0, resources: [] };
    const found = await deps.store.fhirPatients({ scope: auth.scope, fhirId: filter.fhirId, patientId: filter.identifier?.code, siteId: site }, page);
    for (const p of found.patients) auditPatientRead(deps, auth, p.fhirId, p.studies);
    return { total: found.total, resources: found.patients.map(patient) };
  }

  mount(app, {
    method: 'get', path: '/fhir/metadata', operationId: 'fhirCapabilities', access: 'public', tag: 'fhir',
    summary: 'FHIR CapabilityStatement: R4 (4.0.1), JSON, the resources, interactions and search parameters supported, and the security accepted',
    description: 'Public, as FHIR clients read it before they authenticate; it holds no patient data.',
    query: fhirReadQuery,
    responses: { 200: { description: 'The CapabilityStatement.', media: { type: 'application/fhir+json', schema: { type: 'object', required: ['resourceType'] } } } },
    errors: { 406: 'Only JSON is written.' },
    errorMedia: OUTCOME_MEDIA,
  }, (c, { query }) => {
    negotiate(c, query._format);
    return fhirAnswer(c, capabilityStatement(fhirBase(c), deps.config.oidc?.issuer));
  });

  mountFhir(app, {
    path: '/fhir/Patient', operationId: 'fhirSearchPatient', access: ACCESS.patientData, summary: 'Search patients (by identifier): a searchset Bundle',
    description: 'Patients are built from the studies\' patient data at the user\'s sites. Each patient returned is an audited read.', query: patientSearch, answers: 'A searchset Bundle of Patient.',
  }, async (c, { query, auth }) => {
    const page = { count: query._count, offset: query._offset };
    const found = await patients(auth, { fhirId: query._id, identifier: query.identifier }, page);
    return searchBundle(c, { ...found, ...offsetLinks(page.offset, page.count, found.total) });
  });
  mountFhir(app, {
    path: '/fhir/Patient/{id}', operationId: 'fhirReadPatient', access: ACCESS.patientData, summary: 'Read a patient',
    params: fhirReadParams, query: fhirReadQuery, answers: 'The Patient.', errors: { 404: 'no such patient at the user\'s sites.' },
  }, async (c, { params, auth }) => {
    const { resources: [found] } = await patients(auth, { fhirId: params.id }, { count: 1, offset: 0 });
    if (!found) throw notFound('Patient', params.id);
    return found;
  });

  mountFhir(app, {
    path: '/fhir/ImagingStudy', operationId: 'fhirSearchImagingStudy', access: ACCESS.patientData, summary: 'Search imaging studies (by patient, Study Instance UID or accession number)',
    query: imagingStudySearch, answers: 'A searchset Bundle of ImagingStudy.',
  }, async (c, { query, auth }) => {
    const page = { count: query._count, offset: query._offset };
    const byIdentifier = identifierFilter(query.identifier);
    // An identifier of another system names no study Lantern holds.
    if (!byIdentifier) return searchBundle(c, { total: 0, resources: [] });
    if (query._id && byIdentifier.studyInstanceUid && query._id !== byIdentifier.studyInstanceUid) return searchBundle(c, { total: 0, resources: [] });
    const found = await studies(auth, { studyInstanceUid: query._id, ...byIdentifier, patientFhirId: query.patient ?? query.subject }, page, 'ImagingStudy');
    return searchBundle(c, { ...found, ...offsetLinks(page.offset, page.count, found.total) });
  });
  mountFhir(app, {
    path: '/fhir/ImagingStudy/{id}', operationId: 'fhirReadImagingStudy', access: ACCESS.patientData, summary: 'Read an imaging study (id: its Study Instance UID)',
    params: fhirReadParams, query: fhirReadQuery, answers: 'The ImagingStudy.', errors: { 404: 'no such study at the user\'s sites.' },
  }, (c, { params, auth }) => readStudy(auth, params.id, 'ImagingStudy'));

  mountFhir(app, {
    path: '/fhir/Endpoint', operationId: 'fhirSearchEndpoint', access: ACCESS.anyone, summary: 'The DICOMweb endpoints', query: fhirReadQuery, answers: 'A searchset Bundle of Endpoint.',
  }, (c) => searchBundle(c, { total: DICOMWEB_ENDPOINTS.length, resources: DICOMWEB_ENDPOINTS.map((e) => endpoint(e, dicomwebRoot(c))) }));
  mountFhir(app, {
    path: '/fhir/Endpoint/{id}', operationId: 'fhirReadEndpoint', access: ACCESS.anyone, summary: 'A DICOMweb endpoint (dicomweb-wado-rs, dicomweb-qido-rs, dicomweb-stow-rs)',
    params: fhirReadParams, query: fhirReadQuery, answers: 'The Endpoint.', errors: { 404: 'no such endpoint.' },
  }, (c, { params }) => {
    const found = DICOMWEB_ENDPOINTS.find((e) => e.id === params.id);
    if (!found) throw notFound('Endpoint', params.id);
    return endpoint(found, dicomwebRoot(c));
  });

  mountFhir(app, {
    path: '/fhir/DiagnosticReport', operationId: 'fhirSearchDiagnosticReport', access: ACCESS.patientData, summary: 'Search the AI analyses of studies (by patient)',
    query: diagnosticReportSearch, answers: 'A searchset Bundle of DiagnosticReport.',
  }, async (c, { query, auth }) => {
    const page = { count: query._count, offset: query._offset };
    const found = await studies(auth, { studyInstanceUid: query._id, patientFhirId: query.patient ?? query.subject }, page, 'DiagnosticReport');
    return searchBundle(c, { ...found, ...offsetLinks(page.offset, page.count, found.total) });
  });
  mountFhir(app, {
    path: '/fhir/DiagnosticReport/{id}', operationId: 'fhirReadDiagnosticReport', access: ACCESS.patientData, summary: 'A study\'s AI analysis (id: the Study Instance UID)',
    params: fhirReadParams, query: fhirReadQuery, answers: 'The DiagnosticReport.', errors: { 404: 'no such study at the user\'s sites, or no model has read it.' },
  }, (c, { params, auth }) => readStudy(auth, params.id, 'DiagnosticReport'));

  mountFhir(app, {
    path: '/fhir/Observation', operationId: 'fhirSearchObservation', access: ACCESS.patientData, summary: 'Search AI findings (by patient, or by the ImagingStudy they were made on), newest first',
    description: 'Lists the AI findings; the clinicians\' decisions on them are in each DiagnosticReport\'s result.', query: observationSearch, answers: 'A searchset Bundle of Observation.',
  }, async (c, { query, auth }) => {
    const page = { count: query._count, offset: query._offset };
    const found = await deps.store.fhirFindings({ scope: auth.scope, studyInstanceUid: query['derived-from'], patientFhirId: query.patient ?? query.subject }, page);
    const details = new Map<string, StudyDetail>();
    const resources: Resource[] = [];
    for (const ref of found.findings) {
      if (!details.has(ref.studyInstanceUid)) {
        details.set(ref.studyInstanceUid, await deps.store.getStudy(ref.studyInstanceUid, auth.scope));
        auditStudyRead(deps, auth, ref.studyInstanceUid, 'view');
      }
      const detail = details.get(ref.studyInstanceUid)!;
      resources.push(findingObservation(detail.findings.find((f) => f.id === ref.findingId)!, ref.patientFhirId, detail.study, deviceLink));
    }
    return searchBundle(c, { total: found.total, resources, ...offsetLinks(page.offset, page.count, found.total) });
  });
  mountFhir(app, {
    path: '/fhir/Observation/{id}', operationId: 'fhirReadObservation', access: ACCESS.patientData, summary: 'An AI finding, a clinician\'s decision on one (id review-<n>), or a finding a clinician added (id reader-finding-<n>)',
    params: fhirReadParams, query: fhirReadQuery, answers: 'The Observation.', errors: { 404: 'no such finding or decision at the user\'s sites.' },
  }, async (c, { params, auth }) => {
    const reviewId = /^review-(\d{1,15})$/.exec(params.id)?.[1];
    const readerFindingId = /^reader-finding-(\d{1,15})$/.exec(params.id)?.[1];
    const of = reviewId ? { reviewId: Number(reviewId) } : readerFindingId ? { readerFindingId: Number(readerFindingId) } : { findingId: params.id };
    const { studyInstanceUid, findingId } = await deps.store.studyOfFinding(of, auth.scope);
    const detail = await deps.store.getStudy(studyInstanceUid, auth.scope);
    const { studies: [ref] } = await deps.store.fhirStudies({ scope: auth.scope, studyInstanceUid }, { count: 1, offset: 0 });
    auditStudyRead(deps, auth, studyInstanceUid, 'view');
    if (readerFindingId) return readerFindingObservation(detail.readerFindings.find((r) => r.id === findingId)!, ref?.patientFhirId, detail.study);
    const finding = detail.findings.find((f) => f.id === findingId)!;
    if (!reviewId) return findingObservation(finding, ref?.patientFhirId, detail.study, deviceLink);
    const review = finding.reviews!.find((r) => reviewObservationId(r) === params.id)!;
    return decisionObservation(review, finding, ref?.patientFhirId, detail.study);
  });

  mountFhir(app, {
    path: '/fhir/Device', operationId: 'fhirSearchDevice', access: ACCESS.anyone, summary: 'The models loaded, as Devices', query: fhirReadQuery, answers: 'A searchset Bundle of Device.',
  }, (c) => searchBundle(c, { total: deps.registry.models.length, resources: deps.registry.models.map((m) => deviceOfModel(m, deps.registry.shown(m.card.id) === m)) }));
  mountFhir(app, {
    path: '/fhir/Device/{id}', operationId: 'fhirReadDevice', access: ACCESS.anyone, summary: 'A model as a Device (id: <model id>-<version>)',
    params: fhirReadParams, query: fhirReadQuery, answers: 'The Device.', errors: { 404: 'no such model loaded.' },
  }, (c, { params }) => {
    const model = deps.registry.models.find((m) => deviceId(m.card) === params.id);
    if (!model) throw notFound('Device', params.id);
    return deviceOfModel(model, deps.registry.shown(model.card.id) === model);
  });

  /** The outcome a calculation predicts, from its model's card when it is loaded. */
  const outcomeOf = (modelId: string) => {
    const model = deps.registry.latest(modelId);
    return model && (isRiskModel(model) || isScoreModel(model)) ? model.card.outcome : undefined;
  };
  mountFhir(app, {
    path: '/fhir/RiskAssessment', operationId: 'fhirSearchRiskAssessment', access: ACCESS.calculate, summary: 'The risk and score calculations the signed-in clinician asked for, newest first',
    description: 'Calculations carry no patient: a clinician reads their own.', query: riskAssessmentSearch, answers: 'A searchset Bundle of RiskAssessment.',
  }, async (c, { query, auth }) => {
    const seq = query._id === undefined ? undefined : calculationSeq(query._id);
    const page = { count: query._count, offset: query._offset };
    const found = seq === null ? { total: 0, records: [] } : await deps.store.calculationRecords({ actor: auth.user.username, seq }, page);
    const resources = found.records.map((r) => riskAssessment(r, deviceLink, outcomeOf((r.payload.model as { id: string }).id)));
    return searchBundle(c, { total: found.total, resources, ...offsetLinks(page.offset, page.count, found.total) });
  });
  mountFhir(app, {
    path: '/fhir/RiskAssessment/{id}', operationId: 'fhirReadRiskAssessment', access: ACCESS.calculate, summary: 'One of the signed-in clinician\'s calculations (id: calculation-<seq>)',
    params: fhirReadParams, query: fhirReadQuery, answers: 'The RiskAssessment.', errors: { 404: 'no such calculation of this user.' },
  }, async (c, { params, auth }) => {
    const seq = calculationSeq(params.id);
    const { records: [record] } = seq === null ? { records: [] } : await deps.store.calculationRecords({ actor: auth.user.username, seq }, { count: 1, offset: 0 });
    if (!record) throw notFound('RiskAssessment', params.id);
    return riskAssessment(record, deviceLink, outcomeOf((record.payload.model as { id: string }).id));
  });

  mountFhir(app, {
    path: '/fhir/AuditEvent', operationId: 'fhirSearchAuditEvent', access: ACCESS.admin, summary: 'The audit trail as AuditEvents, newest first',
    description: 'Read-only; page with the next link (its `before` cursor).', query: auditEventSearch, answers: 'A searchset Bundle of AuditEvent.',
  }, async (c, { query }) => {
    const seq = query._id === undefined ? undefined : /^\d{1,15}$/.test(query._id) ? Number(query._id) : 0;
    const found = await deps.store.auditRecords({ action: query.subtype?.code, seq, beforeSeq: query.before }, query._count + 1);
    const shown = found.records.slice(0, query._count);
    const more = found.records.length > query._count;
    return searchBundle(c, { total: found.total, resources: shown.map(auditEvent), ...(more && { next: { before: String(shown.at(-1)!.seq), _count: String(query._count) } }) });
  });
  mountFhir(app, {
    path: '/fhir/AuditEvent/{id}', operationId: 'fhirReadAuditEvent', access: ACCESS.admin, summary: 'One record of the audit trail (id: its seq)',
    params: fhirReadParams, query: fhirReadQuery, answers: 'The AuditEvent.', errors: { 404: 'no such record.' },
  }, async (c, { params }) => {
    const seq = /^\d{1,15}$/.test(params.id) ? Number(params.id) : 0;
    const { records: [record] } = await deps.store.auditRecords({ seq }, 1);
    if (!record) throw notFound('AuditEvent', params.id);
    return auditEvent(record);
  });
  return app;
}

/**
 * An ImagingStudy identifier as a filter: `urn:dicom:uid|urn:oid:<uid>` (or `urn:oid:<uid>`
 * without a system) names a Study Instance UID, a bare value an accession number; null when
 * the token's system is one no study identifier here has.
 */
function identifierFilter(token: FhirToken | undefined): { studyInstanceUid?: string; accessionNumber?: string } | null {
  if (!token) return {};
  const system = token.system || undefined;
  const uid = token.code.startsWith('urn:oid:') ? token.code.slice('urn:oid:'.length) : undefined;
  if (system === 'urn:dicom:uid') return uid ? { studyInstanceUid: uid } : null;
  if (system !== undefined) return null;
  return uid ? { studyInstanceUid: uid } : { accessionNumber: token.code };
}

/** `calculation-<seq>` → seq; null for an id that names no calculation. */
function calculationSeq(id: string): number | null {
  const seq = /^calculation-(\d{1,15})$/.exec(id)?.[1];
  return seq ? Number(seq) : null;
}
