import type { Context, Hono } from 'hono';
import type { z } from 'zod';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ApiError, toApiError } from '../errors.ts';
import { mount, type RouteInput, type RouteSpec } from '../route.ts';

/**
 * How the FHIR facade speaks HTTP (FHIR R4 §3.1 RESTful API): JSON only, as
 * `application/fhir+json`; every error an OperationOutcome with the fitting status; searches
 * answered as `searchset` Bundles with a total and paging links.
 */

export const FHIR_JSON = 'application/fhir+json';
/** How every error of a FHIR route is documented in the OpenAPI document. */
export const OUTCOME_MEDIA = { type: FHIR_JSON, schema: { type: 'object', required: ['resourceType', 'issue'], properties: { resourceType: { const: 'OperationOutcome' } } } };
export type Resource = { resourceType: string; id?: string } & Record<string, unknown>;

/** `_format` values and Accept media types that mean the JSON Lantern writes. */
const JSON_FORMATS = new Set(['json', 'application/json', 'application/fhir+json', 'application/json+fhir', 'text/json']);
const ANY = new Set(['*/*', 'application/*']);

/**
 * 406 unless the client can read JSON: `_format` decides when given (FHIR lets it override
 * Accept); otherwise an Accept naming only other types (`application/fhir+xml`) is refused.
 */
export function negotiate(c: Context, format: string | undefined): void {
  if (format !== undefined) {
    if (!JSON_FORMATS.has(format.split(';')[0].trim().toLowerCase())) throw notAcceptable(`_format=${format}`);
    return;
  }
  const accept = c.req.header('accept');
  if (!accept) return;
  const types = accept.split(',').map((part) => part.split(';')[0].trim().toLowerCase()).filter(Boolean);
  if (!types.some((type) => JSON_FORMATS.has(type) || ANY.has(type))) throw notAcceptable(`Accept: ${accept.slice(0, 100)}`);
}

const notAcceptable = (asked: string) => new ApiError(406, 'FORMAT_NOT_SUPPORTED', `${asked}: this server answers FHIR in JSON only (application/fhir+json); XML and RDF are not written`);

/** A FHIR resource as the answer. `_pretty=true` indents it. */
export function fhirAnswer(c: Context, resource: Resource, status: ContentfulStatusCode = 200): Response {
  const pretty = c.req.query('_pretty') === 'true';
  return c.body(JSON.stringify(resource, null, pretty ? 2 : undefined), status, { 'content-type': `${FHIR_JSON}; charset=utf-8` });
}

/** OperationOutcome.issue.code for an HTTP status (the IssueType value set). */
const ISSUE_TYPE: Record<number, string> = {
  400: 'invalid', 401: 'login', 403: 'forbidden', 404: 'not-found', 406: 'not-supported', 409: 'conflict', 413: 'too-costly', 422: 'invalid', 429: 'throttled', 503: 'transient',
};

/**
 * Any error as an OperationOutcome, with Lantern's error code as the issue's coded detail.
 * A search or read whose parameters are invalid is a 400 in FHIR (422 is for a resource a
 * client sends), so the contract's 422 becomes 400 here.
 */
export function operationOutcome(c: Context, error: unknown): Response {
  const apiError = toApiError(error);
  const status = apiError.status === 422 && c.req.method === 'GET' ? 400 : apiError.status;
  const details = Array.isArray(apiError.details) ? apiError.details as { field?: string; message?: string }[] : [];
  const issue = (diagnostics: string, expression?: string) => ({
    severity: status >= 500 ? 'fatal' : 'error',
    code: ISSUE_TYPE[status] ?? 'exception',
    details: { coding: [{ system: 'urn:lantern:error-code', code: apiError.code }], text: apiError.message },
    diagnostics,
    ...(expression && { expression: [expression] }),
  });
  const issues = details.length ? details.map((d) => issue(`${d.field ?? ''}: ${d.message ?? ''}`, d.field)) : [issue(apiError.message)];
  const response = fhirAnswer(c, { resourceType: 'OperationOutcome', issue: issues }, status);
  if (status === 401) response.headers.set('www-authenticate', 'Bearer realm="lantern"');
  return response;
}

/** Unknown paths under `/fhir`: an OperationOutcome, never the viewer's page or Lantern's error JSON. */
export const fhirNoRoute = (c: Context) => operationOutcome(c, new ApiError(404, 'NOT_FOUND', `no FHIR interaction ${c.req.method} ${c.req.path}; GET /fhir/metadata lists what this server supports`));

/** The service base (`…/fhir`) as the client reached it: fullUrls and links are absolute. */
export const fhirBase = (c: Context) => `${new URL(c.req.url).origin}/fhir`;

interface SearchPage {
  resources: Resource[];
  total: number;
  /** Query parameters of the next page, absent on the last. */
  next?: Record<string, string>;
  previous?: Record<string, string>;
}

/** A `searchset` Bundle: each match with its fullUrl, the total, and self/next/previous links. */
export function searchBundle(c: Context, page: SearchPage): Resource {
  const base = fhirBase(c);
  const link = (relation: string, params: Record<string, string>) => {
    const url = new URL(`${new URL(c.req.url).origin}${c.req.path}`);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    return { relation, url: url.toString() };
  };
  const asked = Object.fromEntries(new URL(c.req.url).searchParams);
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: page.total,
    link: [
      link('self', asked),
      ...(page.next ? [link('next', { ...asked, ...page.next })] : []),
      ...(page.previous ? [link('previous', { ...asked, ...page.previous })] : []),
    ],
    entry: page.resources.map((resource) => ({ fullUrl: `${base}/${resource.resourceType}/${resource.id}`, resource, search: { mode: 'match' } })),
  };
}

/** Next and previous `_offset` of an offset-paged search. */
export function offsetLinks(offset: number, count: number, total: number): Pick<SearchPage, 'next' | 'previous'> {
  return {
    ...(offset + count < total && { next: { _offset: String(offset + count), _count: String(count) } }),
    ...(offset > 0 && { previous: { _offset: String(Math.max(0, offset - count)), _count: String(count) } }),
  };
}

type Schema = z.ZodType | undefined;
type Access = RouteSpec['access'];
type FormatQuery = { _format?: string } | undefined;

/**
 * `mount` for a FHIR interaction: declared like every route (access, schemas, OpenAPI), the
 * format negotiated before any work, and the handler's resource answered as FHIR JSON. The
 * feature app's error handler (`operationOutcome`) turns every failure into an OperationOutcome.
 */
export function mountFhir<P extends Schema, Q extends Schema, A extends Access>(
  app: Hono,
  spec: Omit<RouteSpec<P, Q, undefined, A>, 'method' | 'tag' | 'responses'> & { answers: string },
  handler: (c: Context, input: RouteInput<P, Q, undefined, A>) => Promise<Resource> | Resource,
): void {
  const { answers, ...route } = spec;
  mount(app, {
    ...route,
    method: 'get',
    tag: 'fhir',
    responses: { 200: { description: answers, media: { type: FHIR_JSON, schema: { type: 'object', required: ['resourceType'] } } } },
    errors: { 400: 'A parameter is invalid or not supported.', 406: 'Only JSON is written.', ...route.errors },
    errorMedia: OUTCOME_MEDIA,
  }, async (c, input) => {
    negotiate(c, (input.query as FormatQuery)?._format);
    return fhirAnswer(c, await handler(c, input));
  });
}
