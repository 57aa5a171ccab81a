import type { Context, Hono } from 'hono';
import type { z } from 'zod';
import type { Role } from '../contract/identity.ts';
import { requireRole, type Authenticated } from './auth.ts';
import { parseBody } from './errors.ts';

/**
 * A route is declared once: its method, path, the contract schemas of what it takes and
 * answers, and a handler that receives the parsed input. `mount` registers the handler on
 * a hono app and keeps the declaration, from which `GET /openapi.json` is generated — so
 * the document lists exactly the routes that exist, with the schemas they really parse.
 */

export interface ResponseSpec {
  description: string;
  /** A JSON answer's contract schema; it must carry a component id (`.meta({ id })`). */
  json?: z.ZodType;
  /** A non-JSON answer: its media type and (optionally) a JSON Schema of its content. */
  media?: { type: string; schema?: Record<string, unknown> };
  headers?: Record<string, string>;
}

/** A body the handler reads itself (a stream, or one whose schema depends on the path), documented here. */
export interface RawBodySpec {
  description: string;
  mediaTypes: string[];
  schema?: Record<string, unknown>;
}

type Schema = z.ZodType | undefined;

type Access = readonly Role[] | 'public';

export interface RouteSpec<P extends Schema = Schema, Q extends Schema = Schema, B extends Schema = Schema, A extends Access = Access> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI template, e.g. `/v1/studies/{studyInstanceUid}`. */
  path: string;
  operationId: string;
  /**
   * Who may call it: the roles (any one suffices), or `public` for the few routes that carry
   * no patient data and must answer before sign-in (health probes, this API's description,
   * signing in). Required, so a new route is born protected by a decision, not by default.
   */
  access: A;
  tag: string;
  summary: string;
  description?: string;
  params?: P;
  query?: Q;
  /** A JSON body, parsed with this schema (invalid → 422 naming each field). */
  body?: B;
  rawBody?: RawBodySpec;
  responses: Record<number, ResponseSpec>;
  /** Error answers this route gives on purpose, by status: what each means here. */
  errors?: Record<number, string>;
  /** Errors leave in this media type instead of Lantern's `{ error }` JSON (FHIR's OperationOutcome): documented so. */
  errorMedia?: { type: string; schema?: Record<string, unknown> };
}

type Output<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteInput<P, Q, B, A extends Access = Access> {
  /** Without a params schema, the path's parameters as strings. */
  params: P extends z.ZodType ? z.output<P> : Record<string, string>;
  query: Output<Q>;
  body: Output<B>;
  /** The signed-in user; none on a public route, which is not asked who calls it. */
  auth: A extends 'public' ? undefined : Authenticated;
}

/** A JSON Schema reference to a contract schema's component in the generated document. */
export function componentRef(schema: z.ZodType): { $ref: string } {
  const id = schema.meta()?.id;
  if (!id) throw new Error('only a schema with a component id (.meta({ id })) can be referenced');
  return { $ref: `#/components/schemas/${id}` };
}

const declared = new WeakMap<Hono, RouteSpec[]>();

/** `{name}` → `:name`, hono's path syntax. */
export const honoPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');

/** Registers `handler` for `spec` on `app`, parsing params, query and JSON body with the spec's schemas first. */
export function mount<P extends Schema = undefined, Q extends Schema = undefined, B extends Schema = undefined, A extends Access = Access>(
  app: Hono,
  spec: RouteSpec<P, Q, B, A>,
  handler: (c: Context, input: RouteInput<P, Q, B, A>) => Response | Promise<Response>,
): void {
  for (const response of Object.values(spec.responses)) if (response.json) componentRef(response.json);
  declared.set(app, [...(declared.get(app) ?? []), spec as unknown as RouteSpec]);
  app.on(spec.method.toUpperCase(), honoPath(spec.path), async (c) => {
    // Who asks is settled before anything of the request is read.
    const access: Access = spec.access;
    const auth = access === 'public' ? undefined : await requireRole(c, access);
    return handler(c, {
      params: (spec.params ? parseBody(spec.params, c.req.param()) : c.req.param()) as RouteInput<P, Q, B>['params'],
      query: (spec.query ? parseBody(spec.query, c.req.query()) : undefined) as Output<Q>,
      body: (spec.body ? parseBody(spec.body, await jsonBody(c)) : undefined) as Output<B>,
      auth: auth as RouteInput<P, Q, B, A>['auth'],
    });
  });
}

/** An unreadable body parses as `undefined`, which every body schema refuses with a 422 on `(body)`. */
async function jsonBody(c: Context): Promise<unknown> {
  return c.req.json().catch(() => undefined);
}

/** The declarations mounted on `app` (one feature's routes). */
export function declaredRoutes(app: Hono): readonly RouteSpec[] {
  return declared.get(app) ?? [];
}
