import { z } from 'zod';
import { REVIEW_REASONS } from './reading.ts';

/**
 * CDS Hooks 2.0 (https://cds-hooks.hl7.org/2.0/), written from the specification's tables:
 * discovery, the service request, the card response and feedback. Strict where the
 * specification says what a field is (REQUIRED fields, allowed values, the 140-character
 * summary, no empty strings, arrays or objects: "JSON elements SHALL NOT be empty"), open
 * (`extension`, unknown hook context) where it leaves room. Lantern parses what it receives
 * and checks what it answers with these same schemas; the tests check every answer with them.
 */

/** "JSON attribute values SHALL NOT be null or empty": a string that is not `""`. */
const text = z.string().min(1);
const url = z.url();
/** Reserved by the specification for implementation-specific additions: a JSON object. */
const extension = z.record(z.string(), z.unknown()).optional();

/** A FHIR Coding as CDS Hooks uses it: `code` and `system` required, `display` required in overrideReasons. */
export const cdsCoding = z.object({ code: text, system: text, display: text.optional() });

/** One service of the discovery document. */
export const cdsService = z.object({
  hook: text,
  title: text.optional(),
  description: text,
  id: text,
  /** Prefetch key → FHIR read or search template with `{{context.*}}` tokens. */
  prefetch: z.record(z.string(), text).refine((p) => Object.keys(p).length > 0, 'an empty prefetch object is omitted, not sent').optional(),
  /** Human-readable notes on what the CDS Client must agree to (2.0: e.g. SMART scopes, licences). */
  usageRequirements: text.optional(),
  extension,
}).meta({ id: 'CdsService' });

/** `GET /cds-services`. */
export const cdsDiscovery = z.object({ services: z.array(cdsService) }).meta({ id: 'CdsDiscovery' });

/** `fhirAuthorization` of a service request: an OAuth 2.0 bearer token for the client's FHIR server. */
const fhirAuthorization = z.object({
  access_token: text,
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
  scope: text,
  subject: text,
}).passthrough();

/**
 * A hook call (`POST /cds-services/{id}`). `context` is hook-specific; `prefetch` values are
 * FHIR resources or `null` ("no data"); a key that is absent was not satisfied.
 */
export const cdsRequest = z.object({
  hook: text,
  hookInstance: z.uuid(),
  fhirServer: url.optional(),
  fhirAuthorization: fhirAuthorization.optional(),
  context: z.record(z.string(), z.unknown()),
  prefetch: z.record(z.string(), z.union([z.record(z.string(), z.unknown()), z.null()])).optional(),
  extension,
}).refine((r) => !r.fhirAuthorization || r.fhirServer, { message: 'fhirServer is REQUIRED when fhirAuthorization is given', path: ['fhirServer'] });

/** Where a card's guidance comes from. */
export const cdsSource = z.object({
  label: text,
  url: url.optional(),
  icon: url.optional(),
  topic: cdsCoding.optional(),
}).strict();

/** A suggested change: `create` carries the new resource, `delete` names it. */
export const cdsAction = z.object({
  type: z.enum(['create', 'update', 'delete']),
  description: text,
  resource: z.record(z.string(), z.unknown()).optional(),
  resourceId: text.optional(),
}).strict().refine((a) => a.type === 'delete' || a.resource, { message: 'a create or update action carries the resource', path: ['resource'] });

export const cdsSuggestion = z.object({
  label: text,
  uuid: z.uuid().optional(),
  isRecommended: z.boolean().optional(),
  actions: z.array(cdsAction).min(1).optional(),
}).strict();

export const cdsLink = z.object({
  label: text,
  url,
  type: z.enum(['absolute', 'smart']),
  appContext: text.optional(),
}).strict().refine((l) => l.type === 'smart' || l.appContext === undefined, { message: 'appContext is only for smart links', path: ['appContext'] });

export const cdsCard = z.object({
  uuid: z.uuid().optional(),
  /** "One-sentence, <140-character summary". */
  summary: text.max(139),
  /** GitHub Flavored Markdown. */
  detail: text.optional(),
  indicator: z.enum(['info', 'warning', 'critical']),
  source: cdsSource,
  suggestions: z.array(cdsSuggestion).min(1).optional(),
  selectionBehavior: z.enum(['at-most-one', 'any']).optional(),
  overrideReasons: z.array(cdsCoding.required({ display: true })).min(1).optional(),
  links: z.array(cdsLink).min(1).optional(),
  extension,
}).strict().refine((c) => !c.suggestions || c.selectionBehavior, { message: 'selectionBehavior MUST be given with suggestions', path: ['selectionBehavior'] })
  .meta({ id: 'CdsCard' });

/** The answer to a hook call: cards (an empty array when there is nothing to say) and optional system actions. */
export const cdsResponse = z.object({
  cards: z.array(cdsCard),
  systemActions: z.array(cdsAction).min(1).optional(),
}).strict().meta({ id: 'CdsResponse' });

/** One user's action on a card: accepted (with the suggestions taken) or overridden (with an optional coded reason). */
export const cdsFeedbackEntry = z.object({
  card: text.max(100),
  outcome: z.enum(['accepted', 'overridden']),
  acceptedSuggestions: z.array(z.object({ id: text }).strict()).min(1).optional(),
  overrideReason: z.object({ reason: cdsCoding.optional(), userComment: text.max(2000).optional() }).strict()
    .refine((o) => o.reason || o.userComment, 'an overrideReason carries a reason, a userComment or both').optional(),
  outcomeTimestamp: z.iso.datetime({ offset: true }),
}).strict()
  .refine((f) => f.outcome !== 'accepted' || f.acceptedSuggestions, { message: 'acceptedSuggestions is required for an accepted outcome', path: ['acceptedSuggestions'] })
  .refine((f) => f.outcome !== 'accepted' || !f.overrideReason, { message: 'an accepted card has no overrideReason', path: ['overrideReason'] });

/** `POST /cds-services/{id}/feedback`; bounded so one call cannot carry an unbounded batch. */
export const cdsFeedback = z.object({ feedback: z.array(cdsFeedbackEntry).min(1).max(100) }).strict();

/** What Lantern answers to feedback (the specification defines only the status): how many entries were new. */
export const cdsFeedbackAnswer = z.object({
  recorded: z.number().int(),
  /** Entries already recorded (the same card and outcome sent again): nothing changed for them. */
  alreadyRecorded: z.number().int(),
}).meta({ id: 'CdsFeedbackAnswer' });

/** Code systems of what Lantern codes itself (URNs: they name, they do not resolve). */
export const LANTERN_CODE_SYSTEMS = {
  overrideReason: 'urn:lantern:cds-hooks:override-reason',
  topic: 'urn:lantern:cds-hooks:topic',
  model: 'urn:lantern:model',
} as const;

const reviewReason = (code: 'false-positive' | 'clinical-context' | 'other') => REVIEW_REASONS.find((r) => r.code === code)!;

/**
 * The coded reasons a clinician may give for overriding a card: a reader's reasons where they
 * mean the same (so the agreement dashboard counts them alike), and two a chart-side user has.
 */
export const CDS_OVERRIDE_REASONS = [
  reviewReason('false-positive'),
  reviewReason('clinical-context'),
  { code: 'data-outdated', display: 'The observations it used are out of date', displayZh: '所用的观察数据已过时' },
  { code: 'already-addressed', display: 'Already known and being acted on', displayZh: '已知晓并正在处理' },
  reviewReason('other'),
] as const;

/** `patient-view` context (hook definition 1.0): the user and the patient whose chart opened. */
export const patientViewContext = z.object({ userId: text, patientId: text, encounterId: text.optional() }).passthrough();

/**
 * `order-select` context (hook definition 1.0): the orders being written, as a Bundle of FHIR
 * resources, and which of them the user has just selected (`ServiceRequest/<id>` references).
 */
export const orderSelectContext = z.object({
  userId: text,
  patientId: text,
  encounterId: text.optional(),
  selections: z.array(text).min(1).max(100),
  draftOrders: z.object({ resourceType: z.literal('Bundle'), entry: z.array(z.object({ resource: z.record(z.string(), z.unknown()) }).passthrough()).max(200).optional() }).passthrough(),
}).passthrough();

export type CdsService = z.infer<typeof cdsService>;
export type CdsRequest = z.infer<typeof cdsRequest>;
export type CdsCard = z.infer<typeof cdsCard>;
export type CdsResponse = z.infer<typeof cdsResponse>;
export type CdsCoding = z.infer<typeof cdsCoding>;
export type CdsFeedbackEntry = z.infer<typeof cdsFeedbackEntry>;
