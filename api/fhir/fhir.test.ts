/**
 * The FHIR R4 facade as a FHIR client meets it: a real chest radiograph goes in over
 * STOW-RS, a worker runs the real ONNX models on it, a radiologist decides a finding, a
 * clinician computes a risk — and all of it is read back as FHIR (CapabilityStatement,
 * Patient, ImagingStudy + Endpoint, DiagnosticReport, Observation, Device, RiskAssessment,
 * AuditEvent). Every FHIR answer received, errors included, must pass both FHIR.js and the
 * HL7 R4 JSON schema (test/support/fhir-validation.ts). Real redis-server, PGlite, models.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.ts';
import { startWorkerRole, type WorkerRole } from '../../roles/worker.ts';
import { apiClient } from '../../test/support/api-client.ts';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';
import { fhirProblems } from '../../test/support/fhir-validation.ts';
import { files } from '../../test/support/shared-data.ts';

/** A FHIR resource as received: read by path in assertions, its shape checked by the two validators. */
type Json = Record<string, any>;

interface FhirAnswer {
  status: number;
  type: string;
  body: Json;
  headers: Headers;
}

describe('FHIR R4: studies, AI results, risk and audit as FHIR resources', () => {
  let api: TestApi;
  let worker: WorkerRole;
  let reader: { token: string };
  let farReader: { token: string };
  let doctor: { token: string };
  let study: { studyInstanceUid: string; sopInstanceUid: string };

  /** GET a FHIR URL as `token`; every JSON answer is checked by both validators before the test looks at it. */
  async function fhir(path: string, token?: string, headers: Record<string, string> = {}): Promise<FhirAnswer> {
    const response = await fetch(new URL(path, api.url), { headers: { ...(token && { authorization: `Bearer ${token}` }), ...headers } });
    const type = response.headers.get('content-type') ?? '';
    const text = await response.text();
    const body = type.includes('json') ? JSON.parse(text) as Json : { text };
    if (type.includes('json')) expect(fhirProblems(body), `${path} → ${body.resourceType}`).toEqual([]);
    return { status: response.status, type, body, headers: response.headers };
  }
  /** Follows a fullUrl or link as given (absolute). */
  const follow = (url: string, token: string) => fhir(new URL(url).pathname + new URL(url).search, token);

  beforeAll(async () => {
    api = await startTestApi();
    expect((await api.client.json('/v1/sites', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'township-b', name: 'Township B clinic', level: 'township', parentId: 'main' }) })).status).toBe(201);
    reader = await api.signIn('dr-fhir', ['radiologist']);
    farReader = await api.signIn('dr-far', ['radiologist'], ['township-b']);
    doctor = await api.signIn('dr-risk', ['grassroots-doctor']);
    worker = await startWorkerRole({
      ...loadConfig({}, { redisUrl: api.config.redisUrl, blobDir: api.config.blobDir, dataDir: api.config.dataDir, workerNice: 0, shutdownGraceSeconds: 1 }),
      redisUrl: api.config.redisUrl,
    });
    // A real adult chest CR with a Patient ID (JPEG 2000), read by the real models.
    study = await api.addStudy(files.chestJ2k);
    await api.client.settled(study.studyInstanceUid, 240_000);
  }, 300_000);
  afterAll(async () => {
    await worker?.stop();
    await api?.stop();
  });

  it('when a client reads /fhir/metadata without signing in, then a CapabilityStatement for R4 4.0.1 in JSON lists every resource this server reads and searches', async () => {
    const { status, type, body } = await fhir('/fhir/metadata');
    expect(status).toBe(200);
    expect(type).toMatch(/^application\/fhir\+json/);
    expect(body).toMatchObject({ resourceType: 'CapabilityStatement', fhirVersion: '4.0.1', format: ['json'], kind: 'instance', status: 'active' });
    const rest = body.rest[0];
    expect(rest.security.description).toMatch(/Bearer/);
    expect(rest.resource.map((r: Json) => r.type).sort()).toEqual(['AuditEvent', 'Device', 'DiagnosticReport', 'Endpoint', 'ImagingStudy', 'Observation', 'Patient', 'RiskAssessment']);
    // What the statement claims is what answers: every search-type it lists, with each search parameter it names, is served.
    const admin = api.token;
    for (const resource of rest.resource as Json[]) {
      if (!resource.interaction.some((i: Json) => i.code === 'search-type')) continue;
      const answer = await fhir(`/fhir/${resource.type}`, admin);
      expect({ type: resource.type, status: answer.status, resourceType: answer.body.resourceType }).toEqual({ type: resource.type, status: 200, resourceType: 'Bundle' });
      for (const param of (resource.searchParam ?? []) as Json[]) {
        const value = { number: '1', token: 'x', reference: 'x' }[param.type as string]!;
        const searched = await fhir(`/fhir/${resource.type}?${param.name}=${encodeURIComponent(value)}`, admin);
        expect({ search: `${resource.type}?${param.name}`, status: searched.status }).toEqual({ search: `${resource.type}?${param.name}`, status: 200 });
      }
    }
  });

  it('when a reader reads the study as an ImagingStudy, then it names the patient, its DICOMweb endpoints and every series and instance with SOP class', async () => {
    const { status, body } = await fhir(`/fhir/ImagingStudy/${study.studyInstanceUid}`, reader.token);
    expect(status).toBe(200);
    const { body: detail } = await api.client.study(study.studyInstanceUid);
    expect(body).toMatchObject({
      resourceType: 'ImagingStudy', id: study.studyInstanceUid, status: 'available',
      identifier: [
        { system: 'urn:dicom:uid', value: `urn:oid:${study.studyInstanceUid}` },
        { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN' }] }, value: detail.study.accessionNumber },
      ],
      endpoint: [{ reference: 'Endpoint/dicomweb-wado-rs' }, { reference: 'Endpoint/dicomweb-qido-rs' }, { reference: 'Endpoint/dicomweb-stow-rs' }],
    });
    // The film's series, and any Lantern added since (its AI results as DICOM SR), each counted.
    expect(body.modality).toContainEqual({ system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CR' });
    expect(body.numberOfSeries).toBe(body.series.length);
    expect(body.numberOfInstances).toBe(body.series.reduce((sum: number, s: Json) => sum + s.numberOfInstances, 0));
    expect(body.subject.reference).toMatch(/^Patient\/[0-9a-f]{40}$/);
    // dcmtk reads the numbers from the film itself.
    const number = (tag: string) => Number(/\[(\d+)\]/.exec(execFileSync('dcmdump', ['+P', tag, files.chestJ2k], { encoding: 'utf8' }))![1]);
    expect(body.series).toContainEqual(expect.objectContaining({
      uid: detail.instances[0].seriesInstanceUid, number: number('0020,0011'), modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CR' }, numberOfInstances: 1,
      // CR Image Storage
      instance: [{ uid: study.sopInstanceUid, number: number('0020,0013'), sopClass: { system: 'urn:ietf:rfc:3986', code: 'urn:oid:1.2.840.10008.5.1.4.1.1.1' } }],
    }));

    const wado = await fhir('/fhir/Endpoint/dicomweb-wado-rs', reader.token);
    expect(wado.body).toMatchObject({ resourceType: 'Endpoint', status: 'active', address: `${api.url}/dicomweb`, connectionType: { code: 'dicom-wado-rs' } });
    const endpoints = await fhir('/fhir/Endpoint', reader.token);
    expect(endpoints.body.entry.map((e: Json) => e.resource.connectionType.code)).toEqual(['dicom-wado-rs', 'dicom-qido-rs', 'dicom-stow-rs']);

    const patient = await fhir(`/fhir/${body.subject.reference}`, reader.token);
    expect(patient.body).toMatchObject({ resourceType: 'Patient', identifier: [{ system: 'urn:lantern:site:main:patient-id', value: detail.study.patientId }] });
  });

  it('when a client searches studies by patient and by Study Instance UID, then searchset Bundles with the total, self links and absolute fullUrls find it', async () => {
    const { body: image } = await fhir(`/fhir/ImagingStudy/${study.studyInstanceUid}`, reader.token);
    const patientId = image.subject.reference.slice('Patient/'.length);
    for (const query of [`patient=${patientId}`, `subject=Patient/${patientId}`, `identifier=${encodeURIComponent(`urn:dicom:uid|urn:oid:${study.studyInstanceUid}`)}`]) {
      const { status, body } = await fhir(`/fhir/ImagingStudy?${query}`, reader.token);
      expect(status).toBe(200);
      expect(body).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 1 });
      const self = new URL(body.link[0].url);
      expect([body.link[0].relation, `${self.origin}${self.pathname}`, [...self.searchParams]]).toEqual(['self', `${api.url}/fhir/ImagingStudy`, [...new URLSearchParams(query)]]);
      expect(body.entry).toEqual([expect.objectContaining({ fullUrl: `${api.url}/fhir/ImagingStudy/${study.studyInstanceUid}`, search: { mode: 'match' } })]);
    }
    const other = await fhir(`/fhir/ImagingStudy?identifier=${encodeURIComponent('http://example.org/other|x')}`, reader.token);
    expect(other.body).toMatchObject({ total: 0 });
  });

  it('when several studies match, then _count pages them: next and previous links walk every match once', async () => {
    const more = [await api.addStudy(files.chestRaw), await api.addStudy(files.chestRaw)];
    const seen: string[] = [];
    let page = await fhir('/fhir/ImagingStudy?_count=1', reader.token);
    expect(page.body.total).toBeGreaterThanOrEqual(3);
    for (;;) {
      seen.push(...page.body.entry.map((e: Json) => e.resource.id));
      const next = page.body.link.find((l: Json) => l.relation === 'next');
      if (!next) break;
      page = await follow(next.url, reader.token);
      expect(page.body.link.some((l: Json) => l.relation === 'previous')).toBe(true);
    }
    expect(seen).toHaveLength(page.body.total);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining([study.studyInstanceUid, ...more.map((m) => m.studyInstanceUid)]));
  });

  it('when the models have read the film, then a preliminary DiagnosticReport lists one AI-tagged Observation per finding, each made by its model as a Device with the weights SHA-256', async () => {
    const { status, body: report } = await fhir(`/fhir/DiagnosticReport/${study.studyInstanceUid}`, reader.token);
    expect(status).toBe(200);
    const { body: detail } = await api.client.study(study.studyInstanceUid);
    const claims = detail.findings.filter((f) => f.probability !== null);
    expect(claims.length).toBeGreaterThan(0);
    expect(report).toMatchObject({
      resourceType: 'DiagnosticReport', status: 'preliminary',
      code: { coding: [{ system: 'http://loinc.org', code: '18748-4' }] },
      imagingStudy: [{ reference: `ImagingStudy/${study.studyInstanceUid}` }],
      meta: { tag: [expect.objectContaining({ code: 'AIAST' })] },
    });
    expect(report.conclusion).toMatch(/AI-assisted/);
    expect(report.result.map((r: Json) => r.reference).sort()).toEqual(detail.findings.map((f) => `Observation/${f.id}`).sort());

    const searched = await fhir(`/fhir/Observation?derived-from=ImagingStudy/${study.studyInstanceUid}`, reader.token);
    expect(searched.body.entry.map((e: Json) => e.resource.id).sort()).toEqual(detail.findings.map((f) => f.id).sort());
    const byPatient = await fhir(`/fhir/Observation?${new URLSearchParams({ patient: report.subject.reference })}`, reader.token);
    expect(byPatient.body.entry.map((e: Json) => e.resource.id)).toEqual(expect.arrayContaining(detail.findings.map((f) => f.id)));

    for (const finding of detail.findings) {
      const { body: observation } = await fhir(`/fhir/Observation/${finding.id}`, reader.token);
      expect(observation).toMatchObject({
        resourceType: 'Observation', id: finding.id, status: finding.probability === null ? 'final' : 'preliminary',
        derivedFrom: [{ reference: `ImagingStudy/${study.studyInstanceUid}` }], subject: report.subject,
        meta: { tag: [expect.objectContaining({ code: 'AIAST' })] },
      });
      if (finding.label === 'pneumonia') expect(observation.code.coding[0]).toMatchObject({ system: 'http://snomed.info/sct', code: '233604007' });
      if (finding.probability === null) expect(observation.dataAbsentReason.coding[0].code).toBe('not-applicable');
      else expect(observation.valueQuantity).toEqual({ value: finding.probability, unit: 'probability', system: 'http://unitsofmeasure.org', code: '1' });
      expect(observation.interpretation?.[0].coding[0].code ?? 'none').toBe(finding.probability === null ? 'none' : finding.refer ? 'IND' : finding.positive ? 'POS' : 'NEG');

      const { status: deviceStatus, body: device } = await fhir(`/fhir/${observation.device.reference}`, reader.token);
      expect(deviceStatus).toBe(200);
      expect(device.identifier).toEqual(expect.arrayContaining([
        { system: 'urn:lantern:model', value: `${finding.model.id}@${finding.model.version}` },
        expect.objectContaining({ system: 'urn:lantern:model-sha256', value: finding.model.weightsSha256 }),
      ]));
      expect(device.version).toEqual(expect.arrayContaining([{ type: { text: 'model version' }, value: finding.model.version }]));
    }
  });

  it('when a radiologist accepts one finding and amends it to an override, then the Observations and the report follow: final, then amended, with the decisions as Observations by that clinician', async () => {
    const { body: detail } = await api.client.study(study.studyInstanceUid);
    const claims = detail.findings.filter((f) => f.probability !== null);
    const radiologist = apiClient(api.url, reader.token);
    for (const finding of claims) expect((await radiologist.review(finding.id, { decision: 'accept' })).status).toBe(201);
    const [first] = claims;
    let report = (await fhir(`/fhir/DiagnosticReport/${study.studyInstanceUid}`, reader.token)).body;
    expect(report.status).toBe('final');
    expect((await fhir(`/fhir/Observation/${first.id}`, reader.token)).body.status).toBe('final');

    const amended = await radiologist.review(first.id, { decision: 'override', reasonCode: 'false-positive', comment: 'old scarring' });
    expect(amended.status).toBe(201);
    report = (await fhir(`/fhir/DiagnosticReport/${study.studyInstanceUid}`, reader.token)).body;
    expect(report.status).toBe('amended');
    expect((await fhir(`/fhir/Observation/${first.id}`, reader.token)).body.status).toBe('amended');
    const decision = (await fhir(`/fhir/Observation/review-${amended.body.review!.id}`, reader.token)).body;
    expect(decision).toMatchObject({
      resourceType: 'Observation', status: 'final', performer: [{ display: 'dr-fhir' }],
      valueCodeableConcept: { coding: [{ code: 'override' }, { system: 'urn:lantern:review-reason', code: 'false-positive' }] },
      note: [{ text: 'old scarring' }],
    });
    expect(decision.derivedFrom.map((d: Json) => d.reference)).toEqual([`Observation/${first.id}`, expect.stringMatching(/^Observation\/review-\d+$/)]);
    expect(report.result.map((r: Json) => r.reference)).toContain(`Observation/review-${amended.body.review!.id}`);

    // A finding the AI did not report, added by the reader: in the report, coded, made by that clinician.
    const added = await radiologist.json<{ readerFinding: { id: string } }>(`/v1/studies/${study.studyInstanceUid}/reader-findings`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ label: 'effusion', comment: 'small left effusion' }),
    });
    expect(added.status).toBe(201);
    report = (await fhir(`/fhir/DiagnosticReport/${study.studyInstanceUid}`, reader.token)).body;
    expect(report.result.map((r: Json) => r.reference)).toContain(`Observation/reader-finding-${added.body.readerFinding.id}`);
    expect((await fhir(`/fhir/Observation/reader-finding-${added.body.readerFinding.id}`, reader.token)).body).toMatchObject({
      status: 'final', code: { coding: [{ system: 'http://snomed.info/sct', code: '60046008' }] }, performer: [{ display: 'dr-fhir' }],
      interpretation: [{ coding: [{ code: 'POS' }] }], note: [{ text: 'small left effusion' }],
    });

    const byPatient = await fhir(`/fhir/DiagnosticReport?${new URLSearchParams({ patient: report.subject.reference })}`, reader.token);
    expect(byPatient.body.entry.map((e: Json) => e.resource.id)).toContain(study.studyInstanceUid);
  });

  it('when a clinician computes a risk, then it reads back as their RiskAssessment (probability, band, inputs as basis, the model as performer); nobody else sees it', async () => {
    const answer = await fetch(new URL('/v1/risk/pce-ascvd', api.url), {
      method: 'POST', headers: { authorization: `Bearer ${doctor.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ age: 55, sex: 'male', race: 'white', totalCholesterol: { value: 213, unit: 'mg/dL' }, hdlCholesterol: { value: 50, unit: 'mg/dL' }, systolicBp: 120, onBpTreatment: false, smoker: false, diabetes: false }),
    });
    expect(answer.status).toBe(200);
    const risk = await answer.json() as { risk: number; band: { label: string }; model: { id: string; version: string; sha256: string } };

    const { body: bundle } = await fhir('/fhir/RiskAssessment', doctor.token);
    expect(bundle.total).toBe(1);
    const assessment = bundle.entry[0].resource;
    expect(assessment).toMatchObject({
      resourceType: 'RiskAssessment', status: 'final',
      prediction: [{ probabilityDecimal: risk.risk, qualitativeRisk: { text: risk.band.label } }],
      performer: { reference: `Device/${risk.model.id}-${risk.model.version}` },
      method: { coding: [{ code: `${risk.model.id}@${risk.model.version}` }] },
    });
    expect(assessment.basis.length).toBe(9);
    const systolic = assessment.contained.find((o: Json) => o.code.coding[0].code === 'systolicBp');
    expect(systolic.valueQuantity).toMatchObject({ value: 120, unit: 'mmHg' });
    const device = await fhir(`/fhir/${assessment.performer.reference}`, doctor.token);
    expect(device.body.identifier).toEqual(expect.arrayContaining([expect.objectContaining({ value: risk.model.sha256 })]));
    expect((await fhir(`/fhir/RiskAssessment/${assessment.id}`, doctor.token)).body.id).toBe(assessment.id);

    const colleague = await api.signIn('dr-colleague', ['grassroots-doctor']);
    expect((await fhir('/fhir/RiskAssessment', colleague.token)).body.total).toBe(0);
    expect((await fhir(`/fhir/RiskAssessment/${assessment.id}`, colleague.token)).status).toBe(404);
  });

  it('when an administrator reads the audit trail as AuditEvents, then every record is there once across the pages, newest first, with its place in the chain', async () => {
    const records = await api.client.audit('?limit=1000');
    const seen: Json[] = [];
    let page = await fhir('/fhir/AuditEvent?_count=7', api.token);
    expect(page.body.total).toBeGreaterThanOrEqual(records.length);
    for (;;) {
      seen.push(...page.body.entry.map((e: Json) => e.resource));
      const next = page.body.link.find((l: Json) => l.relation === 'next');
      if (!next) break;
      page = await follow(next.url, api.token);
    }
    const seqs = seen.map((e) => Number(e.id));
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual(expect.arrayContaining(records.map((r) => r.seq)));
    const review = records.find((r) => r.action === 'finding.override')!;
    const event = seen.find((e) => e.id === String(review.seq))!;
    expect(event).toMatchObject({
      resourceType: 'AuditEvent', action: 'U', subtype: [{ code: 'finding.override' }],
      agent: [{ name: 'dr-fhir', requestor: true }],
      entity: [{ what: { identifier: { value: review.entityId } } }],
    });
    const byAction = await fhir('/fhir/AuditEvent?subtype=finding.override', api.token);
    expect(byAction.body.entry.map((e: Json) => e.resource.subtype[0].code)).toEqual(expect.arrayContaining(['finding.override']));
    expect(new Set(byAction.body.entry.map((e: Json) => e.resource.subtype[0].code))).toEqual(new Set(['finding.override']));

    const denied = await fhir('/fhir/AuditEvent', reader.token);
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'forbidden' }] });
  });

  it('when a reader reads patient data over FHIR, then the reads are audited under the reader\'s name', async () => {
    await api.store.flushReadAudits();
    const { body: image } = await fhir(`/fhir/ImagingStudy/${study.studyInstanceUid}`, reader.token);
    await fhir(`/fhir/${image.subject.reference}`, reader.token);
    await api.store.flushReadAudits();
    const viewed = await api.client.audit(`?action=study.viewed&entityId=${study.studyInstanceUid}`);
    expect(viewed.map((r) => r.actor)).toContain('dr-fhir');
    const patient = await api.client.audit(`?action=patient.viewed&entityId=${image.subject.reference.slice('Patient/'.length)}`);
    expect(patient[0]).toMatchObject({ actor: 'dr-fhir', payload: expect.objectContaining({ studies: expect.arrayContaining([study.studyInstanceUid]) }) });
  });

  it('when a user of another site names the study, its patient or its findings, then none exists for them (404 OperationOutcome) and searches find nothing', async () => {
    const { body: image } = await fhir(`/fhir/ImagingStudy/${study.studyInstanceUid}`, reader.token);
    const { body: detail } = await api.client.study(study.studyInstanceUid);
    for (const path of [`/fhir/ImagingStudy/${study.studyInstanceUid}`, `/fhir/DiagnosticReport/${study.studyInstanceUid}`, `/fhir/${image.subject.reference}`, `/fhir/Observation/${detail.findings[0].id}`]) {
      const answer = await fhir(path, farReader.token);
      expect({ path, status: answer.status, type: answer.body.resourceType }).toEqual({ path, status: 404, type: 'OperationOutcome' });
    }
    expect((await fhir(`/fhir/ImagingStudy?${new URLSearchParams({ patient: image.subject.reference })}`, farReader.token)).body.total).toBe(0);
    expect((await fhir(`/fhir/Patient?identifier=${encodeURIComponent(detail.study.patientId!)}`, farReader.token)).body.total).toBe(0);
    expect((await fhir(`/fhir/Patient?identifier=${encodeURIComponent(detail.study.patientId!)}`, reader.token)).body.total).toBeGreaterThanOrEqual(1);
  });

  it.each([
    ['an unknown path', '/fhir/unknown', 'token', {}, 404, 'not-found'],
    ['an unknown resource id', '/fhir/ImagingStudy/1.2.3.4', 'token', {}, 404, 'not-found'],
    ['no credentials', '/fhir/Patient', undefined, {}, 401, 'login'],
    ['_format=xml', '/fhir/metadata?_format=xml', undefined, {}, 406, 'not-supported'],
    ['Accept: application/fhir+xml only', '/fhir/Patient', 'token', { accept: 'application/fhir+xml' }, 406, 'not-supported'],
    ['_count above the bound', '/fhir/ImagingStudy?_count=5000', 'token', {}, 400, 'invalid'],
    ['a search parameter not supported', '/fhir/ImagingStudy?modality=CR', 'token', {}, 400, 'invalid'],
    ['an id FHIR does not allow', '/fhir/Patient/not_an_id!', 'token', {}, 400, 'invalid'],
  ])('when a client sends %s, then an OperationOutcome (never HTML, never Lantern\'s error JSON) with the right status, and nothing is written', async (_what, path, who, headers, status, code) => {
    await api.store.flushReadAudits();
    const before = (await api.client.audit('?limit=1'))[0].seq;
    const answer = await fhir(path, who && reader.token, headers as Record<string, string>);
    expect(answer.status).toBe(status);
    expect(answer.type).toMatch(/^application\/fhir\+json/);
    expect(answer.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [expect.objectContaining({ severity: 'error', code })] });
    if (status === 401) expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
    await api.store.flushReadAudits();
    expect((await api.client.audit('?limit=1'))[0].seq).toBe(before);
  });

  it('then the OpenAPI document lists every FHIR interaction with its answers and errors as application/fhir+json', async () => {
    const document = await (await fetch(new URL('/openapi.json', api.url))).json() as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>> };
    const fhirPaths = Object.entries(document.paths).filter(([path]) => path.startsWith('/fhir'));
    expect(fhirPaths.length).toBeGreaterThanOrEqual(15);
    const types = fhirPaths.flatMap(([path, methods]) => Object.values(methods).flatMap((op) => Object.entries(op.responses).map(([status, r]) => `${path} ${status} ${Object.keys(r.content ?? {}).join(',')}`)));
    expect(types.filter((t) => !t.endsWith(' application/fhir+json'))).toEqual([]);
  });

  it('when JSON is asked for by _format or Accept, then it is answered as application/fhir+json', async () => {
    for (const [query, accept] of [['?_format=json', undefined], ['?_format=application/fhir%2Bjson', undefined], ['', 'application/json'], ['', 'application/fhir+json;q=0.9, application/fhir+xml']]) {
      const answer = await fhir(`/fhir/metadata${query}`, undefined, accept ? { accept } : {});
      expect({ query, accept, status: answer.status, type: answer.type }).toEqual({ query, accept, status: 200, type: 'application/fhir+json; charset=utf-8' });
    }
  });
});
