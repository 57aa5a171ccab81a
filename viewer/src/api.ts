/**
 * Typed client for Lantern's HTTP API (docs/api.md). The viewer is served by the API
 * itself, so every call is same-origin and relative to the page: the app keeps working
 * when a reverse proxy mounts Lantern under a path prefix. One file (about 340 lines)
 * because the session's CSRF token and the error handling are shared by every call; the
 * wire shapes themselves are the contract's.
 */

// Wire shapes that are the contract's (server and viewer are type-checked against them).
export type { Applicability, ApplicabilityNote, Decision, Finding, Heatmap, Review } from '../../contract/findings.ts';
export type { CodedTerm as ReaderFindingLabel, CodedTerm as ReviewReason, ReaderFinding, ReaderFindingRequest, Region, ReviewRequest } from '../../contract/reading.ts';
import type { Review } from '../../contract/findings.ts';
import type { ConsentLookupRequest, ConsentRecordRequest, PatientConsent } from '../../contract/consent.ts';
export type { ConsentPurpose, PatientConsent } from '../../contract/consent.ts';
import type { CodedTerm, ReaderFinding, ReaderFindingRequest, ReviewRequest } from '../../contract/reading.ts';
export type {
  ImageAttributes, InstanceError as StudyError, PriorityBand, Sla, StudyChangeKind as StudyChange, StudyDetail, StudyInstance as Instance, StudyStatus,
  StudySummary, TriageResult as Triage, TriageLevel, TriageReason, WorklistItem,
} from '../../contract/studies.ts';
import type { ImageAttributes, InstancePage, PriorityBand, StudyChangeKind as StudyChange, StudyDetail, StudyInstance as Instance, StudyStatus, WorklistItem } from '../../contract/studies.ts';
export type { Agreement, AgreementGroup, AgreementQuery } from '../../contract/agreement.ts';
import type { Agreement, AgreementGroup, AgreementQuery } from '../../contract/agreement.ts';
export type { AuditRecord, AuditVerification } from '../../contract/audit.ts';
import type { AuditRecord, AuditVerification } from '../../contract/audit.ts';
export type { FieldIssue } from '../../contract/errors.ts';
export type { Session, SignInOptions, User } from '../../contract/identity.ts';
import type { Session, SignInOptions } from '../../contract/identity.ts';
import type { Site } from '../../contract/sites.ts';
export type { Site } from '../../contract/sites.ts';
export type { ModelReference, RangeWarning, RiskAnswer, ScoreAnswer, ScoreNotApplicable, TriageAnswer } from '../../contract/calculations.ts';
import type { TriageAnswer } from '../../contract/calculations.ts';
import type { ConsultationEvent } from '../../contract/consultations.ts';
export type { Band as ModelBand, CardMetric as ModelMetric } from '../../contract/models.ts';
import type { ModelDescription } from '../../contract/models.ts';

/** One override reason of an agreement group, with its share of the group's overrides. */
export type OverrideReasonCount = AgreementGroup['overrideReasons'][number];

/**
 * What `subscribeToEvents` delivers: a change the server announced, or a tick of the polling
 * fallback while the event stream is down (nothing specific is known: re-fetch what is shown).
 */
export type LiveUpdate = { type: 'study'; studyInstanceUid: string; change: StudyChange } | { type: 'poll' };

/** Worklist filters; each is "any of" and all are optional. */
export interface WorklistFilters {
  status?: StudyStatus[];
  modality?: string[];
  /** Bands as in format.ts priorityBand: urgent ≥75, high ≥50, routine ≥25, low <25. */
  priority?: PriorityBand[];
  /** Sites (ids), each the user reads: its own or one they read for. */
  site?: string[];
}

/** An API answer that was not 2xx; `code` is the machine-readable reason when the body had one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** `/v1/x` and `v1/x` both resolve against the page, never against the host root. */
export function url(path: string): string {
  return new URL(path.replace(/^\//, ''), document.baseURI).toString();
}

/** The session's CSRF token, sent with every state-changing request (the cookie alone is not enough). */
let csrfToken: string | undefined;

/** Fired on `window` when an answer says nobody is signed in any more (the session ended or expired). */
export const SIGNED_OUT_EVENT = 'lantern:signed-out';

async function request(path: string, init?: RequestInit): Promise<Response> {
  let res: Response;
  const headers = new Headers(init?.headers);
  if (init?.method && init.method !== 'GET' && csrfToken) headers.set('x-csrf-token', csrfToken);
  try {
    res = await fetch(url(path), { ...init, headers });
  } catch (err) {
    throw new ApiError(0, 'NETWORK', `Lantern API unreachable: ${(err as Error).message}`);
  }
  if (res.ok) return res;
  if (res.status === 401 && path !== '/v1/session') window.dispatchEvent(new Event(SIGNED_OUT_EVENT));
  let code = `HTTP_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  let details: unknown;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string; details?: unknown } };
    if (body.error?.code) code = body.error.code;
    if (body.error?.message) message = body.error.message;
    details = body.error?.details;
  } catch {
    // Not JSON (a proxy's HTML error page, say): the status line is all we have.
  }
  throw new ApiError(res.status, code, message, details);
}

/** A JSON answer of the API; feature modules (e.g. consultations/api.ts) build their calls on it. */
export async function json<T>(path: string, init?: RequestInit): Promise<T> {
  return (await (await request(path, init)).json()) as T;
}

export function query(params: Record<string, string | string[] | undefined>): string {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    const text = Array.isArray(value) ? value.join(',') : value;
    if (text) q.set(key, text);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export async function getWorklist(signal?: AbortSignal, filters: WorklistFilters = {}): Promise<WorklistItem[]> {
  const q = query({ status: filters.status, modality: filters.modality, priority: filters.priority, site: filters.site });
  return (await json<{ items: WorklistItem[] }>(`/v1/worklist${q}`, { signal })).items;
}

/** The sites of this Lantern (names for ids). */
export async function getSites(): Promise<Site[]> {
  return (await json<{ items: Site[] }>('/v1/sites')).items;
}

export function getStudy(studyInstanceUid: string, signal?: AbortSignal): Promise<StudyDetail> {
  return json<StudyDetail>(`/v1/studies/${encodeURIComponent(studyInstanceUid)}`, { signal });
}

/** The page of a study's instances after `after` (the study's `instancesAfter`, then each page's `after`). */
export function getStudyInstances(studyInstanceUid: string, after: string, signal?: AbortSignal): Promise<InstancePage> {
  return json<InstancePage>(`/v1/studies/${encodeURIComponent(studyInstanceUid)}/instances${query({ after })}`, { signal });
}

/** How the bytes of one decoded frame are laid out, as the frame's own response headers say. */
export type FrameLayout = Partial<
  Pick<ImageAttributes, 'rows' | 'columns' | 'bitsAllocated' | 'pixelRepresentation' | 'samplesPerPixel'>
>;

export interface Frame {
  pixels: ArrayBuffer;
  /** Trust this over the instance's attributes: a decoder may deliver another depth than the header declared. */
  layout: FrameLayout;
}

/** Frame `n` (from 1): stored values, little-endian, 8- or 16-bit as the `X-…` headers say. */
export async function getFrame(instance: Instance, n: number, signal?: AbortSignal): Promise<Frame> {
  const res = await request(`${instance.framesUrl}/${n}`, {
    signal,
    headers: { accept: 'application/octet-stream' },
  });
  const header = (name: string) => {
    const v = Number(res.headers.get(name) ?? NaN);
    return Number.isInteger(v) && v >= 0 ? v : undefined;
  };
  const pixelRepresentation = header('x-pixel-representation');
  const layout: FrameLayout = {
    rows: header('x-rows'),
    columns: header('x-columns'),
    bitsAllocated: header('x-bits-allocated'),
    pixelRepresentation: pixelRepresentation === 0 || pixelRepresentation === 1 ? pixelRepresentation : undefined,
    samplesPerPixel: header('x-samples-per-pixel'),
  };
  // An absent header must not hide the instance's own attribute when the two are spread together.
  for (const key of Object.keys(layout) as (keyof FrameLayout)[]) if (layout[key] === undefined) delete layout[key];
  return { pixels: await res.arrayBuffer(), layout };
}

/**
 * Frame `n` (from 1) as the server renders it (WADO-RS rendered, PS3.18 §10.4.1.1.3): an 8-bit
 * JPEG in the object's own window, fitted inside `box` (device pixels). The server decodes only
 * the resolution the box needs, so this arrives long before the full frame: the viewer's first look.
 */
export async function getRenderedFrame(instance: Instance, n: number, box: { width: number; height: number }, signal?: AbortSignal): Promise<Blob> {
  const res = await request(`${instance.framesUrl}/${n}/rendered?viewport=${box.width},${box.height}`, { signal, headers: { accept: 'image/jpeg' } });
  return res.blob();
}

/**
 * What changes with a deployment, not within a session (review reasons, labels, model
 * cards), fetched once per key; a failed fetch is forgotten so the next call retries.
 */
function fetchedOnce<T>(load: (key: string) => Promise<T>): (key?: string) => Promise<T> {
  const cache = new Map<string, Promise<T>>();
  return (key = '') => {
    let value = cache.get(key);
    if (!value) {
      value = load(key);
      value.catch(() => cache.delete(key));
      cache.set(key, value);
    }
    return value;
  };
}

const listOf = <T>(path: string) => () => json<{ items: T[] }>(path).then((r) => r.items);

export const getReviewReasons: () => Promise<CodedTerm[]> = fetchedOnce(listOf<CodedTerm>('/v1/review-reasons'));

export async function postReview(findingId: string, body: ReviewRequest): Promise<Review> {
  const res = await json<{ review: Review }>(`/v1/findings/${encodeURIComponent(findingId)}/review`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return res.review;
}

/** A patient's consent at a site; the Patient ID travels in the body (these are POSTs), never in a URL. */
export function lookupConsent(body: ConsentLookupRequest): Promise<PatientConsent> {
  return json<PatientConsent>('/v1/consent/lookup', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

export function recordConsent(body: ConsentRecordRequest): Promise<PatientConsent> {
  return json<PatientConsent>('/v1/consent', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

export async function getAudit(opts: { limit?: number; before?: number } = {}): Promise<AuditRecord[]> {
  const q = new URLSearchParams({ limit: String(opts.limit ?? 100) });
  if (opts.before !== undefined) q.set('before', String(opts.before));
  return (await json<{ items: AuditRecord[] }>(`/v1/audit?${q}`)).items;
}

export function verifyAudit(): Promise<AuditVerification> {
  return json<AuditVerification>('/v1/audit/verify');
}

export async function postReaderFinding(studyInstanceUid: string, body: ReaderFindingRequest): Promise<ReaderFinding> {
  const res = await json<{ readerFinding: ReaderFinding }>(`/v1/studies/${encodeURIComponent(studyInstanceUid)}/reader-findings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return res.readerFinding;
}

export const getReaderFindingLabels: () => Promise<CodedTerm[]> = fetchedOnce(listOf<CodedTerm>('/v1/reader-finding-labels'));

export function getAgreement(q: AgreementQuery = {}, signal?: AbortSignal): Promise<Agreement> {
  return json<Agreement>(`/v1/agreement${query({ ...q })}`, { signal });
}

/** For a download link: the same groups as getAgreement, one CSV row each. */
export function agreementCsvUrl(q: AgreementQuery = {}): string {
  return url(`/v1/agreement.csv${query({ ...q })}`);
}

/** While the event stream is down, re-fetch this often. */
const POLL_FALLBACK_MS = 10_000;

/**
 * Live updates: `GET /v1/events` (Server-Sent Events, event `study`). While the stream is
 * down (EventSource keeps reconnecting by itself), `onEvent` gets a `poll` tick every 10 s,
 * and one more when the stream is back, for what was missed meanwhile. Debouncing the
 * re-fetch is the caller's (debounce.ts; bursts of events are common). Returns the unsubscribe.
 */
export function subscribeToEvents(onEvent: (update: LiveUpdate) => void): () => void {
  return listen('study', (data: { studyInstanceUid: string; change: StudyChange }) => ({ type: 'study' as const, studyInstanceUid: data.studyInstanceUid, change: data.change }), onEvent);
}

/** A consultation case that changed (`consultation` events of `GET /v1/events`), or the polling fallback's tick. */
export type ConsultationUpdate = ConsultationEvent | { type: 'poll' };

/** Live updates of consultation cases, on the same stream and with the same fallback as subscribeToEvents. */
export function subscribeToConsultationEvents(onEvent: (update: ConsultationUpdate) => void): () => void {
  return listen('consultation', (data: ConsultationEvent) => data, onEvent);
}

/** One kind of server event, read by `read`, with the 10 s polling fallback while the stream is down. */
function listen<D, U>(event: string, read: (data: D) => U, onEvent: (update: U | { type: 'poll' }) => void): () => void {
  let poller: ReturnType<typeof setInterval> | undefined;
  const startPolling = () => {
    poller ??= setInterval(() => onEvent({ type: 'poll' }), POLL_FALLBACK_MS);
  };
  const source = typeof EventSource === 'function' ? new EventSource(url('/v1/events')) : undefined;
  if (!source) {
    startPolling();
  } else {
    source.addEventListener(event, (e) => {
      try {
        onEvent(read(JSON.parse((e as MessageEvent<string>).data) as D));
      } catch {
        // A malformed event is not worth breaking the screen for; the next one will do.
      }
    });
    source.addEventListener('error', startPolling);
    // The server ends the stream when the sign-in behind it ends, saying so first: ask to sign in instead of reconnecting into a 401.
    source.addEventListener('signed-out', () => {
      source.close();
      window.dispatchEvent(new Event(SIGNED_OUT_EVENT));
    });
    source.addEventListener('open', () => {
      if (poller === undefined) return;
      clearInterval(poller);
      poller = undefined;
      onEvent({ type: 'poll' });
    });
  }
  return () => {
    source?.close();
    clearInterval(poller);
    poller = undefined;
  };
}

/** One calculator input as `GET /v1/models` documents it: JSON Schema generated from the model card. */
export interface InputProperty {
  title: string;
  'x-title-zh'?: string;
  description?: string;
  type?: 'boolean' | 'object';
  /** An enum input's values. */
  enum?: string[];
  'x-validated-values'?: string[];
  /** A number accepted in several units: `{ value, unit }` only. */
  properties?: { value: unknown; unit: { enum: string[] } };
  /** A number with one unit: bare, or `{ value, unit }`. */
  oneOf?: [{ type: 'number' }, { properties: { unit: { enum: string[] } } }];
  'x-canonical-unit'?: string;
  /** Outside it (canonical unit) the API answers 422. */
  'x-accepted-range'?: [number, number];
  /** Outside it the API answers with an OUTSIDE_VALIDATED_RANGE warning. */
  'x-validated-range'?: [number, number];
}

export interface InputSchema {
  required: string[];
  properties: Record<string, InputProperty>;
}

/** Model id → that model's inputs, `{ value, unit }` for quantities. */
export type ModelInputs = Record<string, Record<string, unknown>>;

/** Every registered model's card. */
export const getModels: () => Promise<ModelCard[]> = fetchedOnce(listOf<ModelCard>('/v1/models'));

/**
 * `POST /v1/triage` for a patient without a study: every score and risk whose inputs are
 * given, fused into a level and priority; audited as the signed-in user.
 */
export function postTriage(body: { scores: ModelInputs; risks: ModelInputs }): Promise<TriageAnswer> {
  return json<TriageAnswer>('/v1/triage', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** Who is signed in, or undefined; remembers the session's CSRF token. */
export async function getSession(): Promise<Session | undefined> {
  try {
    const session = await json<Session>('/v1/session');
    csrfToken = session.csrfToken;
    return session;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return undefined;
    throw err;
  }
}

/** How one may sign in here, asked before anyone is: local accounts, and the hospital's identity provider when one is configured. */
export function getSignInOptions(): Promise<SignInOptions> {
  return json<SignInOptions>('/v1/session/options');
}

/** Where a sign-in with the identity provider starts; the browser leaves the page and comes back to `returnTo` (a path of this site) signed in. */
export function providerSignInUrl(start: string, returnTo: string): string {
  return `${url(start)}?${new URLSearchParams({ returnTo })}`;
}

export async function signIn(username: string, password: string): Promise<Session> {
  const session = await json<Session>('/v1/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  csrfToken = session.csrfToken;
  return session;
}

export async function signOut(): Promise<void> {
  await request('/v1/session', { method: 'DELETE' });
  csrfToken = undefined;
}

/** A model's card as `GET /v1/models/:id` describes it, its calculator inputs read as the viewer uses them. */
export type ModelCard = Omit<ModelDescription, 'inputSchema'> & { inputSchema?: InputSchema };

/** One model's card, with its input schema and calibration statement. */
/** One version of a model's card (as a finding's provenance names it), fetched once per `id@version` (a model id has no '@'). */
const modelVersion = fetchedOnce((key) => {
  const at = key.indexOf('@');
  return json<ModelCard>(`/v1/models/${encodeURIComponent(key.slice(0, at))}?${new URLSearchParams({ version: key.slice(at + 1) })}`);
});
export const getModel = (modelId: string, version: string): Promise<ModelCard> => modelVersion(`${modelId}@${version}`);
