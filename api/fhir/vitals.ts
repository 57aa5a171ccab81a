import { Hono } from 'hono';
import { MAX_VITAL_OBSERVATIONS } from '../../contract/vitals.ts';
import { readVitalsBundle } from '../../pipeline/vitals/fhir-bundle.ts';
import { news2Model, vitalFeatures } from '../../pipeline/vitals/observations.ts';
import { ACCESS } from '../access.ts';
import { ApiError } from '../errors.ts';
import type { ApiDeps } from '../deps.ts';
import { mount } from '../route.ts';
import { filingSite } from '../routes/vitals.ts';
import { receiveVitals } from '../vitals-ingest.ts';
import { fhirAnswer, negotiate, operationOutcome, OUTCOME_MEDIA, type Resource } from './http.ts';

/**
 * `POST /fhir`: a FHIR R4 batch or transaction Bundle (or a collection) of vital-signs
 * Observations, the FHIR door of home vital signs (api/vitals-ingest.ts does the rest). Stored
 * whole or not at all — a batch too, stricter than FHIR asks of a batch, so a device never has
 * half a series stored and has to find out which half. A bad entry answers an OperationOutcome
 * naming it (`Bundle.entry[i]…`) and why; a good Bundle a batch-response or transaction-response
 * with one entry per entry sent: `201 Created` when a reading of it was new, `200 OK` when all
 * were already held.
 */
export function fhirVitalsRoutes(deps: ApiDeps) {
  const app = new Hono();
  app.onError((error, c) => operationOutcome(c, error));
  mount(app, {
    method: 'post', path: '/fhir', operationId: 'fhirVitalsBundle', access: ACCESS.ingest, tag: 'fhir',
    summary: 'FHIR batch/transaction: a Bundle of vital-signs Observations (home and wearable readings)',
    description: `Observations in category vital-signs, LOINC-coded (respiratory rate, SpO2, heart rate, blood pressure panel or systolic, body temperature, ACVPU, inspired oxygen), UCUM units, subject by Patient identifier. At most ${MAX_VITAL_OBSERVATIONS} entries. All or nothing. See docs/network.md "Home vital signs".`,
    rawBody: { description: 'A FHIR Bundle (batch, transaction or collection).', mediaTypes: ['application/fhir+json', 'application/json'], schema: { type: 'object', required: ['resourceType', 'type', 'entry'] } },
    responses: { 200: { description: 'A batch-response or transaction-response Bundle.', media: { type: 'application/fhir+json', schema: { type: 'object', required: ['resourceType', 'type', 'entry'] } } } },
    errors: { 400: 'The body is not JSON.', 403: 'A patient filed at a site that is not the caller\'s.', 406: 'Only JSON is written.', 422: 'An entry is refused; the OperationOutcome names it and why. Nothing is stored.' },
    errorMedia: OUTCOME_MEDIA,
  }, async (c, { auth }) => {
    negotiate(c, c.req.query('_format'));
    const bundle = await c.req.json().catch(() => {
      throw new ApiError(400, 'INVALID_JSON', 'the body is not JSON (a FHIR Bundle in application/fhir+json)');
    });
    const model = news2Model(deps.registry);
    const read = readVitalsBundle(bundle, vitalFeatures(model), filingSite(auth, undefined), auth.user.sites);
    const { stored } = await receiveVitals(deps, auth, read.patients);
    // Which readings of each Observation entry were new, in the order the entries gave them.
    const newReadings = new Map<number, boolean>();
    let next = 0;
    const order = read.patients.flatMap((p) => p.readings.map((r) => r.field));
    for (const field of order) {
      const index = Number(/entry\[(\d+)\]/.exec(field)![1]);
      newReadings.set(index, (newReadings.get(index) ?? false) || stored[next++]);
    }
    const response: Resource = {
      resourceType: 'Bundle',
      type: read.type === 'transaction' ? 'transaction-response' : 'batch-response',
      entry: read.entries.map((e) => ({ response: { status: e.kind === 'Observation' && newReadings.get(e.index) ? '201 Created' : '200 OK' } })),
    };
    return fhirAnswer(c, response);
  });
  return app;
}
