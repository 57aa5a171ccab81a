/**
 * Typed client for Lantern's HTTP API (docs/api.md). The viewer is served by the API
 * itself, so every call is same-origin and relative to the page: the app keeps working
 * when a reverse proxy mounts Lantern under a path prefix.
 */

export type StudyStatus = 'pending' | 'ready' | 'reviewed' | 'failed';
export type Decision = 'accept' | 'override';

export interface StudyError {
  sopInstanceUid: string;
  code: string;
  message: string;
}

export interface Review {
  id: string;
  findingId: string;
  decision: Decision;
  reasonCode?: string;
  comment?: string;
  reviewer: string;
  createdAt: string;
}

export interface Finding {
  id: string;
  studyInstanceUid: string;
  sopInstanceUid: string;
  label: string;
  display: string;
  probability: number;
  positive: boolean;
  refer?: boolean;
  operatingPoint: { name: string; threshold: number };
  model: { id: string; version: string; weightsSha256: string; preprocessing: string };
  timingMs: { decode: number; preprocess: number; inference: number; postprocess: number };
  heatmap?: Heatmap;
  aiAssisted: string;
  createdAt: string;
  review: Review | null;
}

/** Row-major activation map. `region` (sent by the API though not yet in docs/api.md) is the
 * square of the original image the model saw; without it the map spans the whole image. */
export interface Heatmap {
  width: number;
  height: number;
  data: number[];
  region?: { left: number; top: number; size: number };
}

export interface StudySummary {
  studyInstanceUid: string;
  patientName?: string;
  patientId?: string;
  modality?: string;
  studyDate?: string;
  studyDescription?: string;
  status: StudyStatus;
  priority: number;
  why: string;
  receivedAt: string;
}

export interface WorklistItem extends StudySummary {
  findings: Finding[];
  errors: StudyError[];
}

export interface ImageAttributes {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  photometricInterpretation: string;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: number;
  numberOfFrames: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  windowCenter?: number;
  windowWidth?: number;
}

export interface Instance {
  sopInstanceUid: string;
  seriesInstanceUid: string;
  modality?: string;
  image: ImageAttributes;
  framesUrl: string;
}

export interface StudyDetail {
  study: StudySummary;
  instances: Instance[];
  findings: Finding[];
  reviews: Review[];
  errors: StudyError[];
}

export interface ReviewReason {
  code: string;
  display: string;
}

export interface AuditRecord {
  seq: number;
  at: string;
  actor: string;
  action: string;
  entityType: string;
  entityId: string;
  payload: unknown;
  prevHash: string;
  hash: string;
}

export interface AuditVerification {
  intact: boolean;
  checked: number;
  firstBrokenSeq?: number;
}

export interface ReviewRequest {
  decision: Decision;
  reasonCode?: string;
  comment?: string;
  reviewer: string;
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
function url(path: string): string {
  return new URL(path.replace(/^\//, ''), document.baseURI).toString();
}

async function request(path: string, init?: RequestInit): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url(path), init);
  } catch (err) {
    throw new ApiError(0, 'NETWORK', `Lantern API unreachable: ${(err as Error).message}`);
  }
  if (res.ok) return res;
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

async function json<T>(path: string, init?: RequestInit): Promise<T> {
  return (await (await request(path, init)).json()) as T;
}

export async function getWorklist(signal?: AbortSignal): Promise<WorklistItem[]> {
  return (await json<{ items: WorklistItem[] }>('/v1/worklist', { signal })).items;
}

export function getStudy(studyInstanceUid: string, signal?: AbortSignal): Promise<StudyDetail> {
  return json<StudyDetail>(`/v1/studies/${encodeURIComponent(studyInstanceUid)}`, { signal });
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
  const layout: FrameLayout = {};
  const header = (name: string, key: keyof FrameLayout) => {
    const v = Number(res.headers.get(name) ?? NaN);
    if (Number.isInteger(v) && v >= 0) layout[key] = v;
  };
  header('x-rows', 'rows');
  header('x-columns', 'columns');
  header('x-bits-allocated', 'bitsAllocated');
  header('x-pixel-representation', 'pixelRepresentation');
  header('x-samples-per-pixel', 'samplesPerPixel');
  return { pixels: await res.arrayBuffer(), layout };
}

let reasonsCache: Promise<ReviewReason[]> | undefined;

/** The coded reasons change with a deployment, not within a session: fetched once. */
export function getReviewReasons(): Promise<ReviewReason[]> {
  reasonsCache ??= json<{ items: ReviewReason[] }>('/v1/review-reasons').then(
    (r) => r.items,
    (err: unknown) => {
      reasonsCache = undefined;
      throw err;
    },
  );
  return reasonsCache;
}

export async function postReview(findingId: string, body: ReviewRequest): Promise<Review> {
  const res = await json<{ review: Review }>(`/v1/findings/${encodeURIComponent(findingId)}/review`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return res.review;
}

export async function getAudit(opts: { limit?: number; before?: number } = {}): Promise<AuditRecord[]> {
  const q = new URLSearchParams({ limit: String(opts.limit ?? 100) });
  if (opts.before !== undefined) q.set('before', String(opts.before));
  return (await json<{ items: AuditRecord[] }>(`/v1/audit?${q}`)).items;
}

export function verifyAudit(): Promise<AuditVerification> {
  return json<AuditVerification>('/v1/audit/verify');
}
