import { Hono } from 'hono';
import { cdsDiscovery, cdsFeedback, cdsFeedbackAnswer, cdsRequest, cdsResponse, type CdsRequest, type CdsResponse, type CdsService } from '../../contract/cds-hooks.ts';
import { PrefetchMissingError, type HookCall } from '../../pipeline/cds-hooks/hook-call.ts';
import { ORDER_SELECT_SERVICE, orderSelect } from '../../pipeline/cds-hooks/order-select.ts';
import { PATIENT_VIEW_SERVICE, patientView } from '../../pipeline/cds-hooks/patient-view.ts';
import { NotFoundError } from '../../store/store.ts';
import type { Authenticated } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { auditStudyRead } from '../read-audit.ts';
import { mount } from '../route.ts';
import { ACCESS } from '../access.ts';

/**
 * CDS Hooks 2.0: `GET /cds-services` (discovery), `POST /cds-services/{id}` for each service
 * and `POST /cds-services/{id}/feedback`. The caller is an EHR signing each call with a JWT of a
 * configured CDS client (api/cds-hooks/clients.ts), or anyone with a Lantern bearer token and a
 * clinical role; either way the audited actor is that account, and the EHR's `context.userId`
 * is recorded as a claim, never as the actor. An unknown service id is not routed: a JSON 404.
 */

/** A service: its discovery entry and how it answers a call. */
interface Service {
  service: CdsService;
  answer(deps: ApiDeps, call: HookCall): Promise<{ response: CdsResponse; studies: string[] }>;
}

const SERVICES: Service[] = [{ service: PATIENT_VIEW_SERVICE, answer: patientView }, { service: ORDER_SELECT_SERVICE, answer: orderSelect }];

/** What the audit records of the caller besides the account: the client's JWT claims. */
const clientOf = (auth: Authenticated) => (auth.cdsClient ? { ...auth.cdsClient } : undefined);

export function cdsHooksRoutes(deps: ApiDeps) {
  const app = new Hono();
  mount(app, {
    method: 'get', path: '/cds-services', operationId: 'cdsDiscovery', access: ACCESS.calculate, tag: 'CDS Hooks',
    summary: 'CDS Hooks 2.0 discovery: the services Lantern offers, their hooks and prefetch templates',
    description: 'Protected like every route: CDS Hooks 2.0 has the client send its JWT on discovery too.',
    responses: { 200: { description: 'The services.', json: cdsDiscovery } },
  }, (c) => c.json(cdsDiscovery.parse({ services: SERVICES.map((s) => s.service) })));

  for (const { service, answer } of SERVICES) {
    mount(app, {
      method: 'post', path: `/cds-services/${service.id}`, operationId: `cds-${service.id}`, access: ACCESS.calculate, tag: 'CDS Hooks',
      summary: `CDS Hooks ${service.hook}: ${service.title}`,
      description: `${service.description} Cards remembered for feedback and audited (\`cds.cards-issued\`); the patient's studies shown are audited as reads.`,
      body: cdsRequest,
      responses: { 200: { description: 'The cards (an empty list when there is nothing to say).', json: cdsResponse } },
      errors: {
        412: 'PREFETCH_MISSING: a prefetch key Lantern needs was not sent (Lantern does not query fhirServer).',
        422: 'VALIDATION_FAILED: not a CDS Hooks request, the wrong hook, or a prefetched Patient that is not context.patientId.',
        503: 'AUDIT_UNAVAILABLE: the cards could not be recorded; none are answered.',
      },
    }, async (c, { body, auth }) => {
      const { response, studies } = await answer(deps, {
        request: body as CdsRequest, actor: auth.user.username, sites: auth.scope, origin: new URL(c.req.url).origin, client: clientOf(auth),
      }).catch((error: unknown) => {
        throw error instanceof PrefetchMissingError ? new ApiError(412, error.code, error.message) : error;
      });
      for (const study of studies) auditStudyRead(deps, auth, study, 'view');
      return c.json(response);
    });

    mount(app, {
      method: 'post', path: `/cds-services/${service.id}/feedback`, operationId: `cds-${service.id}-feedback`, access: ACCESS.calculate, tag: 'CDS Hooks',
      summary: `CDS Hooks feedback on ${service.id}'s cards: accepted (with the suggestions taken) or overridden (with a coded reason)`,
      description: 'Recorded once per card and outcome (the same feedback again changes nothing), audited as `cds.feedback`, and counted in `GET /v1/agreement` as source `cds-hooks`.',
      body: cdsFeedback,
      responses: { 200: { description: 'How many entries were new.', json: cdsFeedbackAnswer } },
      errors: { 404: 'CDS_CARD_UNKNOWN: a card this service did not issue to one of your sites; nothing was recorded.', 422: 'VALIDATION_FAILED: not CDS Hooks feedback.' },
    }, async (c, { body, auth }) => {
      const entries = body.feedback.map((f) => ({
        card: f.card, outcome: f.outcome, outcomeTimestamp: f.outcomeTimestamp,
        ...(f.overrideReason?.reason ? { reason: f.overrideReason.reason } : {}),
        ...(f.overrideReason?.userComment ? { userComment: f.overrideReason.userComment } : {}),
        ...(f.acceptedSuggestions ? { acceptedSuggestions: f.acceptedSuggestions } : {}),
      }));
      const counts = await deps.store.recordCdsFeedback(service.id, entries, auth.user.username, auth.scope, clientOf(auth)).catch((error: unknown) => {
        throw error instanceof NotFoundError ? new ApiError(404, 'CDS_CARD_UNKNOWN', error.message) : error;
      });
      return c.json(counts);
    });
  }
  return app;
}
