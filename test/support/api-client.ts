import fs from 'node:fs';
import { stowBody } from '../../cli/ingest.ts';
import type { Finding, WorklistItem } from '../../store/types.ts';
import { conformanceChecker, type ConformanceChecker } from './openapi-conformance.ts';
import { waitFor } from './stack.ts';

/**
 * Thin typed calls to a running Lantern, as an outside client makes them (with `token`, as
 * that bearer token's user). Every JSON answer is checked against the server's own OpenAPI
 * document (openapi-conformance.ts).
 */
export function apiClient(baseUrl: string, token?: string) {
  let checker: Promise<ConformanceChecker> | undefined;
  const json = async <T>(path: string, init?: RequestInit): Promise<{ status: number; body: T }> => {
    const url = new URL(path, baseUrl);
    const headers = new Headers(init?.headers);
    if (token && !headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
    const response = await fetch(url, { ...init, headers });
    const body = await response.json() as T;
    checker ??= fetch(new URL('/openapi.json', baseUrl)).then(async (r) => conformanceChecker(await r.json()));
    (await checker).check(init?.method ?? 'GET', url.pathname, response.status, body);
    return { status: response.status, body };
  };
  return {
    json,
    stow(paths: string[] | Uint8Array[]) {
      const bytes = paths.map((p) => (typeof p === 'string' ? fs.readFileSync(p) : p));
      const { body, contentType } = stowBody(bytes);
      // Lantern's own answer ({ stored, failed }), as its CLI asks; the DICOM JSON answer is tested in api/routes/stow.test.ts.
      return json<StowResponse>('/dicomweb/studies', { method: 'POST', headers: { 'content-type': contentType, accept: 'application/json' }, body: new Uint8Array(body) });
    },
    worklist: async () => (await json<{ items: WorklistItem[] }>('/v1/worklist')).body.items,
    study: (uid: string) => json<StudyResponse>(`/v1/studies/${uid}`),
    review: (findingId: string, body: Record<string, unknown>) =>
      json<{ review?: { id: string }; error?: ApiErrorBody }>(`/v1/findings/${findingId}/review`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    audit: async (query = '') => (await json<{ items: AuditItem[] }>(`/v1/audit${query}`)).body.items,
    verify: async () => (await json<{ intact: boolean; checked: number; firstBrokenSeq?: number }>('/v1/audit/verify')).body,
    /** Waits until the study is no longer waiting for AI, and returns its worklist row. */
    settled(studyInstanceUid: string, timeoutMs = 60_000) {
      return waitFor(async () => {
        const row = (await this.worklist()).find((i) => i.studyInstanceUid === studyInstanceUid);
        return row && row.status !== 'pending' ? row : undefined;
      }, `study ${studyInstanceUid} to leave "pending"`, timeoutMs);
    },
  };
}

export interface ApiErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

export interface StowResponse {
  stored?: { studyInstanceUid: string; seriesInstanceUid: string; sopInstanceUid: string; sopClassUid: string; status: 'stored' | 'duplicate' }[];
  failed?: { part: number; code: string; message: string }[];
  error?: ApiErrorBody;
}

export interface StudyResponse {
  study: WorklistItem;
  instances: { sopInstanceUid: string; seriesInstanceUid: string; framesUrl: string; image: Record<string, number | string> }[];
  findings: Finding[];
  reviews: { decision: string; reasonCode?: string; reviewer: string }[];
  errors: { code: string; message: string }[];
}

export interface AuditItem {
  seq: number;
  actor: string;
  action: string;
  entityType: string;
  entityId: string;
  payload: Record<string, unknown>;
}
