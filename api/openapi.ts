import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Hono } from 'hono';
import { z } from 'zod';
import { apiErrorBody } from '../contract/errors.ts';
import { repoRoot } from '../config.ts';
import { SESSION_COOKIE } from './auth.ts';
import { componentRef, declaredRoutes, honoPath, mount, type RouteSpec } from './route.ts';

/**
 * `GET /openapi.json`: the OpenAPI 3.1 document, generated from the route declarations
 * (api/route.ts) and the contract's zod schemas — never written by hand, so it cannot
 * drift from what the routes parse and answer. `GET /docs/api`: Swagger UI over it,
 * served from the installed `swagger-ui-dist` (nothing is fetched from the network).
 */

type JsonSchema = Record<string, unknown>;

const COMPONENT_PREFIX = '#/components/schemas/';
const errorRef = componentRef(apiErrorBody);

/** A request-side schema, written out where it is used (input side: before defaults and transforms). */
function inline(schema: z.ZodType): JsonSchema {
  const { $schema: _s, $defs, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  // A component inside (a consultation carries the triage answer the asker saw) is emitted as `#/$defs/…`,
  // which would resolve against the whole document: it is written out in place, on its input side too.
  return $defs ? inlineDefs(json, $defs as Record<string, JsonSchema>) as JsonSchema : json;
}

/** `node` with each `#/$defs/…` reference replaced by its definition (contract schemas hold no cycles). */
function inlineDefs(node: unknown, defs: Record<string, JsonSchema>): unknown {
  if (Array.isArray(node)) return node.map((item) => inlineDefs(item, defs));
  if (!node || typeof node !== 'object') return node;
  const { $ref, ...rest } = node as JsonSchema;
  const inlined = Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, inlineDefs(value, defs)]));
  return typeof $ref === 'string' && $ref.startsWith('#/$defs/') ? { ...inlineDefs(defs[$ref.slice('#/$defs/'.length)], defs) as JsonSchema, ...inlined } : { ...($ref === undefined ? {} : { $ref }), ...inlined };
}

/** Every contract schema with a component id (`.meta({ id })`), as it is answered (output side). */
function components(): Record<string, JsonSchema> {
  const { schemas } = z.toJSONSchema(z.globalRegistry, { io: 'output', unrepresentable: 'any', uri: (id) => `${COMPONENT_PREFIX}${id}` });
  return Object.fromEntries(Object.entries(schemas).map(([id, { $schema: _s, $id: _i, ...schema }]) => [id, schema]));
}

function parameters(spec: RouteSpec): JsonSchema[] {
  const pathNames = [...spec.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => name);
  const pathProps = (spec.params ? inline(spec.params).properties : {}) as Record<string, JsonSchema>;
  const query = spec.query ? inline(spec.query) : { properties: {}, required: [] };
  const required = new Set((query.required ?? []) as string[]);
  return [
    ...pathNames.map((name) => ({ name, in: 'path', required: true, schema: pathProps[name] ?? { type: 'string' } })),
    ...Object.entries(query.properties as Record<string, JsonSchema>).map(([name, { description, ...schema }]) => ({
      name, in: 'query', required: required.has(name), ...(description ? { description } : {}), schema,
    })),
  ];
}

function requestBody(spec: RouteSpec): JsonSchema | undefined {
  if (spec.body) return { required: true, content: { 'application/json': { schema: inline(spec.body) } } };
  if (spec.rawBody) {
    const { description, mediaTypes, schema = {} } = spec.rawBody;
    return { required: true, description, content: Object.fromEntries(mediaTypes.map((type) => [type, { schema }])) };
  }
  return undefined;
}

function responses(spec: RouteSpec): JsonSchema {
  const answers = Object.entries(spec.responses).map(([status, r]) => [status, {
    description: r.description,
    ...(r.headers ? { headers: Object.fromEntries(Object.entries(r.headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }])) } : {}),
    // One answer may come in two media types (STOW-RS: DICOM JSON, or Lantern's JSON on request).
    ...(r.json || r.media ? { content: {
      ...(r.json ? { 'application/json': { schema: componentRef(r.json) } } : {}),
      ...(r.media ? { [r.media.type]: { schema: r.media.schema ?? {} } } : {}),
    } } : {}),
  }]);
  const denied = spec.access === 'public' ? {} : {
    401: 'UNAUTHENTICATED: nobody signed in (or the session ended, or the token is unknown).',
    403: `FORBIDDEN: the user holds none of the roles ${spec.access.join(', ')}; or CSRF_TOKEN_MISSING.`,
  };
  // Errors in the shape the route's standard gives them (FHIR: OperationOutcome), else Lantern's error JSON.
  const errorContent = spec.errorMedia ? { [spec.errorMedia.type]: { schema: spec.errorMedia.schema ?? {} } } : { 'application/json': { schema: errorRef } };
  const errors = Object.entries({ ...denied, ...spec.errors }).map(([status, description]) => [status, { description, content: errorContent }]);
  const fallback = {
    description: spec.errorMedia ? `Any other error (e.g. 500), as ${spec.errorMedia.type}.` : 'Any other error (e.g. 422 for an invalid request, 500): `{ error: { code, message, details? } }`.',
    content: errorContent,
  };
  return { ...Object.fromEntries([...answers, ...errors]), default: fallback };
}

export function openApiDocument(specs: readonly RouteSpec[], version: string): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const spec of specs) {
    const body = requestBody(spec);
    const params = parameters(spec);
    (paths[spec.path] ??= {})[spec.method] = {
      operationId: spec.operationId,
      tags: [spec.tag],
      summary: spec.summary,
      ...(spec.description ? { description: spec.description } : {}),
      ...(params.length ? { parameters: params } : {}),
      ...(body ? { requestBody: body } : {}),
      responses: responses(spec),
      // Public operations need nobody; the rest a bearer token or the session cookie, and one of `x-roles`.
      security: spec.access === 'public' ? [] : [{ bearer: [] }, { session: [] }],
      ...(spec.access === 'public' ? {} : { 'x-roles': spec.access }),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Lantern API',
      version,
      description: 'AI clinical decision support and imaging triage. Every AI output is AI-assisted: for a clinician to confirm or override. Generated from the route declarations and contract schemas; semantics and examples: docs/api.md.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    tags: [...new Set(specs.map((s) => s.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: components(),
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'A token from `POST /v1/tokens` (programs, DICOMweb clients), or, when configured, a JWT access token of the hospital\'s OpenID Connect provider for this API\'s audience.' },
        session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'The browser session from `POST /v1/session`; state-changing requests also send `X-CSRF-Token`.' },
      },
    },
  };
}

const require = createRequire(import.meta.url);
const swaggerUiDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
/** Starts Swagger UI; a file of its own, because the CSP (api/security.ts) runs no inline script. */
const REFERENCE_SCRIPT = `SwaggerUIBundle({ url: new URL('../openapi.json', location.href).href, dom_id: '#reference', validatorUrl: null, deepLinking: true });\n`;
const ASSETS = {
  'swagger-ui.css': { type: 'text/css; charset=utf-8', body: () => fs.readFileSync(path.join(swaggerUiDir, 'swagger-ui.css')) },
  'swagger-ui-bundle.js': { type: 'text/javascript; charset=utf-8', body: () => fs.readFileSync(path.join(swaggerUiDir, 'swagger-ui-bundle.js')) },
  'reference.js': { type: 'text/javascript; charset=utf-8', body: () => REFERENCE_SCRIPT },
} as const;

/** Relative URLs only, so the page works under a reverse proxy's path prefix like the viewer does. */
const REFERENCE_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Lantern API reference</title>
<link rel="stylesheet" href="api/swagger-ui.css"></head>
<body><div id="reference"></div>
<script src="api/swagger-ui-bundle.js"></script>
<!-- api/reference.js starts SwaggerUIBundle over ../openapi.json: a file, as the CSP runs no inline script -->
<script src="api/reference.js"></script>
</body></html>`;

const version = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

/** Routes registered on `app` without a declaration: they would be missing from the document. */
export function undeclaredRoutes(app: Hono, specs: readonly RouteSpec[]): string[] {
  const declared = new Set(specs.map((s) => `${s.method.toUpperCase()} ${honoPath(s.path)}`));
  return app.routes.filter((r) => r.method !== 'ALL' && !declared.has(`${r.method} ${r.path}`)).map((r) => `${r.method} ${r.path}`);
}

/** The document over `specs` (every other route of the app) and its reference page. */
export function openApiRoutes(specs: readonly RouteSpec[]) {
  const app = new Hono();
  let document: JsonSchema | undefined;
  mount(app, {
    method: 'get', path: '/openapi.json', operationId: 'getOpenApi', access: 'public', tag: 'meta', summary: 'This OpenAPI 3.1 document',
    responses: { 200: { description: 'The document.', media: { type: 'application/json' } } },
  }, (c) => c.json(document ??= openApiDocument([...specs, ...declaredHere], version)));
  mount(app, {
    method: 'get', path: '/docs/api', operationId: 'getApiReference', access: 'public', tag: 'meta', summary: 'A browsable reference of this API (Swagger UI)',
    responses: { 200: { description: 'An HTML page.', media: { type: 'text/html' } } },
  }, (c) => c.html(REFERENCE_PAGE));
  mount(app, {
    method: 'get', path: '/docs/api/{asset}', operationId: 'getApiReferenceAsset', access: 'public', tag: 'meta', summary: 'The reference page\'s scripts and stylesheet',
    params: z.object({ asset: z.enum(Object.keys(ASSETS) as (keyof typeof ASSETS)[]) }),
    responses: { 200: { description: 'The file: Swagger UI\'s from the installed swagger-ui-dist, or the script that starts it.', media: { type: 'text/javascript' } } },
  }, (c, { params }) => c.body(ASSETS[params.asset].body(), 200, {
    'content-type': ASSETS[params.asset].type, 'cache-control': 'public, max-age=86400',
  }));
  const declaredHere = declaredRoutes(app);
  return app;
}
